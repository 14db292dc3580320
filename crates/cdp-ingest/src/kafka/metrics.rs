//! Prometheus metrics of Kafka ingestion: names as constants, so dashboards
//! and alerts have one place to look them up.

use std::net::SocketAddr;

use metrics::{Counter, Histogram};

use crate::error::{IngestError, Result};

/// Messages read, per `source`, `topic`, `partition`.
pub const RECORDS_RECEIVED: &str = "cdp_ingest_records_received_total";
/// Messages stored as events.
pub const RECORDS_ACCEPTED: &str = "cdp_ingest_records_accepted_total";
/// Redeliveries of events the lake already holds (counted, not stored).
pub const RECORDS_DUPLICATE: &str = "cdp_ingest_records_duplicate_total";
/// Messages that could not be normalised (dlq table and dead-letter topic).
pub const RECORDS_DEAD_LETTERED: &str = "cdp_ingest_records_dead_lettered_total";
/// High watermark minus the consumer's position, per `topic`, `partition`
/// (from librdkafka's statistics).
pub const CONSUMER_LAG: &str = "cdp_ingest_consumer_lag_messages";
/// Seconds to make one partition's buffered messages durable.
pub const FLUSH_SECONDS: &str = "cdp_ingest_flush_seconds";
/// Bytes of each Parquet file written.
pub const FILE_BYTES: &str = "cdp_ingest_file_bytes";
/// Parquet files written.
pub const FILES_WRITTEN: &str = "cdp_ingest_files_written_total";
/// Dead letters the dead-letter topic did not take (they are in the dlq table).
pub const DEAD_LETTER_TOPIC_ERRORS: &str = "cdp_ingest_dead_letter_topic_errors_total";

/// Serves `/metrics` on `addr` for the life of the process.
pub fn serve(addr: &str) -> Result<()> {
    let addr: SocketAddr = addr.parse().map_err(|e| {
        IngestError::Config(cdp_config::ConfigError::field(
            "kafka.metrics_listen",
            format!("{addr:?}: {e}"),
        ))
    })?;
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .install()
        .map_err(|e| IngestError::Metrics(format!("cannot serve /metrics on {addr}: {e}")))
}

/// The per-partition counters, looked up once when a partition is assigned.
pub(crate) struct PartitionMetrics {
    pub received: Counter,
    pub accepted: Counter,
    pub duplicate: Counter,
    pub dead_lettered: Counter,
    pub flush_seconds: Histogram,
    pub file_bytes: Histogram,
    pub files: Counter,
}

impl PartitionMetrics {
    pub fn new(source: &str, topic: &str, partition: i32) -> Self {
        let labels = [
            ("source", source.to_string()),
            ("topic", topic.to_string()),
            ("partition", partition.to_string()),
        ];
        Self {
            received: metrics::counter!(RECORDS_RECEIVED, &labels),
            accepted: metrics::counter!(RECORDS_ACCEPTED, &labels),
            duplicate: metrics::counter!(RECORDS_DUPLICATE, &labels),
            dead_lettered: metrics::counter!(RECORDS_DEAD_LETTERED, &labels),
            flush_seconds: metrics::histogram!(FLUSH_SECONDS, &labels),
            file_bytes: metrics::histogram!(FILE_BYTES, &labels),
            files: metrics::counter!(FILES_WRITTEN, &labels),
        }
    }
}
