use std::path::PathBuf;

/// Errors of ingestion, naming the input and whose fault it is.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Config(#[from] cdp_config::ConfigError),

    #[error("bad --input {spec:?}: {reason}")]
    InputSpec { spec: String, reason: String },

    #[error("cannot read input {path} (line {line}): {source}")]
    Input {
        path: PathBuf,
        line: u64,
        source: std::io::Error,
    },

    #[error("Kafka: {what}: {source}")]
    Kafka {
        what: String,
        source: rdkafka::error::KafkaError,
    },

    #[error("topics missing on {brokers}: {topics} (create them, or set [kafka.topics] / kafka.dead_letter_topic)")]
    MissingTopics { brokers: String, topics: String },

    #[error("{brokers} refused {failed} messages (first error: {first})")]
    Delivery {
        brokers: String,
        failed: u64,
        first: String,
    },

    #[error("metrics endpoint: {0}")]
    Metrics(String),

    #[error("the lake failed: {0}")]
    Lake(#[from] cdp_lake::LakeError),

    #[error("internal error: {0} (our bug)")]
    Internal(String),
}

pub type Result<T, E = IngestError> = std::result::Result<T, E>;
