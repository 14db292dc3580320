use std::path::PathBuf;

/// Errors of the lake. Each names the file or table it concerns and whose
/// fault it is: the lake's storage (external system), the data found in it
/// (bad input), or this crate (our bug).
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("lake root {root:?} is not usable: {reason}")]
    BadRoot { root: String, reason: String },

    #[error("cannot create lake folder {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("object store failed on {location}: {source}")]
    Store {
        location: String,
        source: object_store::Error,
    },

    #[error("cannot encode Parquet for {location}: {source} (our bug)")]
    Encode {
        location: String,
        source: parquet::errors::ParquetError,
    },

    #[error("cannot build an Arrow batch for {table}: {source} (our bug)")]
    Arrow {
        table: &'static str,
        source: arrow::error::ArrowError,
    },

    #[error(
        "cannot read Parquet file {location}: {source} (the file is damaged or not written by cdp)"
    )]
    Decode {
        location: String,
        source: parquet::errors::ParquetError,
    },

    #[error("file {location} has no usable column {column:?}: {reason}")]
    BadColumn {
        location: String,
        column: &'static str,
        reason: String,
    },

    #[error(
        "cannot copy column {column} of {location} as it is: {reason} (the file is damaged or not written by this cdp version)"
    )]
    ColumnLayout {
        location: String,
        column: String,
        reason: String,
    },

    #[error("cannot spill buffered events to {path}: {source} (local disk)")]
    Spill {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("a background file write failed to run: {0} (our bug)")]
    Task(String),

    #[error("cannot encode the ingest report: {0} (our bug)")]
    Report(#[from] serde_json::Error),
}

pub type Result<T, E = LakeError> = std::result::Result<T, E>;
