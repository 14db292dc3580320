//! Integration tests of cdp-serve: a fixture lake, the server on a real
//! loopback socket, a real HTTP client; the change feed against the real
//! broker (`CDP_TEST_KAFKA_BROKERS`, started by `make test`).

mod audience_export_tests;
mod auth_tests;
mod build_swap_tests;
mod change_feed_tests;
mod json_schema;
mod lookup_tests;
mod no_personal_data_in_logs_tests;
mod openapi_tests;
mod segment_paging_tests;
mod support;
