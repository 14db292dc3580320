//! The one error type of the generator: every variant names the input at
//! fault and whose fault it is (the caller's configuration, or the machine's
//! file system).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The caller asked for a world the generator cannot build.
    #[error("invalid world configuration (caller's fault): {0}")]
    InvalidConfig(String),

    /// The output directory or one of its files could not be created or
    /// written: a permission, disk-space or path problem on this machine.
    #[error("cannot write {path} (file system): {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A worker thread panicked: a bug in the generator itself.
    #[error("generator worker thread panicked (generator bug)")]
    WorkerPanicked,
}

impl GenerateError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
