/// Errors of serving, exporting and publishing changes. Each names the file,
/// table or system it concerns and whose fault it is: the lake's contents
/// (bad input from the stages before), an external system, the operator's
/// arguments, or this crate (our bug). None quotes an identifier value.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] cdp_config::ConfigError),

    #[error("the lake failed: {0}")]
    Lake(#[from] cdp_lake::LakeError),

    #[error("{path}: {reason} (written by another stage; see docs/architecture.md, \"builds\")")]
    Manifest { path: String, reason: String },

    #[error("no build to read: {0} does not exist yet (run `cdp build`)")]
    NoBuild(String),

    #[error("table {table} ({file}): {reason} (schemas/lake_tables.md)")]
    Table {
        table: &'static str,
        file: String,
        reason: String,
    },

    #[error("bad argument {arg}: {reason}")]
    Argument { arg: &'static str, reason: String },

    #[error("cannot write {path}: {source}")]
    Output {
        path: String,
        source: std::io::Error,
    },

    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },

    #[error("Kafka: {what}: {source}")]
    Kafka {
        what: String,
        source: rdkafka::error::KafkaError,
    },

    #[error("{brokers} refused {failed} change messages (first error: {first})")]
    Delivery {
        brokers: String,
        failed: u64,
        first: String,
    },

    #[error(transparent)]
    Ingest(#[from] cdp_ingest::IngestError),

    #[error("internal error: {0} (our bug)")]
    Internal(String),
}

impl ServeError {
    pub(crate) fn table(table: &'static str, file: &str, reason: impl Into<String>) -> Self {
        Self::Table {
            table,
            file: file.to_string(),
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = ServeError> = std::result::Result<T, E>;
