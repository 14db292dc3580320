use std::path::PathBuf;

/// A config that cannot be used, naming the field (or variable) at fault.
/// Always the operator's input: nothing here talks to another system.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("bad pipeline config: `{field}`: {reason}")]
    Field { field: String, reason: String },

    #[error("cannot read config file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ConfigError {
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Field {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = ConfigError> = std::result::Result<T, E>;
