use cdp_jobs::JobsError;
use cdp_lake::LakeError;
use datafusion::error::DataFusionError;

/// Errors of `cdp report`. Each names what it concerns (the lake, a report
/// query, the output file) and whose fault it is.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The lake has no build to report on: the operator runs `cdp build` first.
    #[error("the lake {lake} has no builds/current.json: run `cdp resolve` and `cdp build --lake …` first")]
    NoBuild { lake: String },

    #[error("lake: {0}")]
    Lake(#[from] LakeError),

    /// Reading the build manifest or registering the build's tables failed.
    #[error("{0}")]
    Jobs(#[from] JobsError),

    /// A report query (`pipelines/sql/report/*.sql`) failed: the lake's
    /// tables do not have the documented columns, or our bug.
    #[error("report query {query} failed: {source}")]
    Query {
        query: String,
        source: DataFusionError,
    },

    /// A query result lacks a column the report reads (our bug).
    #[error("report query {query}: column {column}: {reason} (our bug)")]
    Column {
        query: &'static str,
        column: &'static str,
        reason: String,
    },

    /// A chart could not be drawn (our bug).
    #[error("chart {chart}: {reason} (our bug)")]
    Chart { chart: String, reason: String },

    /// The report file cannot be written (the operator's path or disk).
    #[error("cannot write the report {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

impl ReportError {
    /// `map_err` helper for a failed query.
    pub fn query(query: impl Into<String>) -> impl FnOnce(DataFusionError) -> Self {
        let query = query.into();
        move |source| Self::Query { query, source }
    }
}

pub type Result<T, E = ReportError> = std::result::Result<T, E>;
