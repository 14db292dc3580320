//! Integration tests of ingestion: file backfills of a generated world into
//! a real lake (read back by DuckDB), and the Kafka client against a running
//! Kafka (or Kafka-protocol) broker.
//!
//! The Kafka tests need `CDP_TEST_KAFKA_BROKERS` (e.g. `127.0.0.1:19092`): `make test` starts a
//! local broker with `deploy/local/kafka.sh` and sets it.

mod backfill_balance_tests;
mod kafka_resume_tests;
mod support;
