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

    #[error("the lake failed: {0}")]
    Lake(#[from] cdp_lake::LakeError),

    #[error("internal error: {0} (our bug)")]
    Internal(String),
}

pub type Result<T, E = IngestError> = std::result::Result<T, E>;
