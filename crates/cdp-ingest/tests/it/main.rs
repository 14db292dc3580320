//! Integration tests against a running Kafka (or Kafka-protocol) broker.
//!
//! Needs `CDP_TEST_KAFKA_BROKERS` (e.g. `127.0.0.1:19092`): `make test` starts a
//! local broker with `deploy/local/kafka.sh` and sets it.

mod kafka_resume_tests;
mod support;
