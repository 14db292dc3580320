//! Integration tests of the `cdp` binary as operators run it: real processes
//! against the real broker and ClickHouse (`CDP_TEST_KAFKA_BROKERS`,
//! `CDP_TEST_CLICKHOUSE_URL`, set by `make test`), killed and signalled the
//! way deploys and crashes do.

mod kafka_crash_tests;
mod kafka_dead_letter_tests;
mod kafka_shutdown_tests;
mod load_cli_tests;
mod support;
