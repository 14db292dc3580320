use cdp_lake::LakeError;
use datafusion::error::DataFusionError;

/// Errors of `cdp build`. Each names what it concerns (the lake table, the
/// SQL file or tag rule, the build manifest) and whose fault it is.
#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    /// No resolved events to build from: run `cdp resolve` first.
    #[error("the lake {lake} has no resolved_events table: run `cdp resolve --lake …` first")]
    NoResolvedEvents { lake: String },

    #[error("lake: {0}")]
    Lake(#[from] LakeError),

    /// A query of a `.sql` file of ours failed (planning or execution).
    #[error("query {query} failed: {source}")]
    Query {
        query: String,
        source: DataFusionError,
    },

    /// A tag rule of the pipeline config is not a valid boolean expression
    /// over the profile columns (the operator's config).
    #[error(
        "tag rule {group}/{tag}: `{when}` is not a usable condition on profile columns: {reason}"
    )]
    TagRule {
        group: String,
        tag: String,
        when: String,
        reason: String,
    },

    /// An exclusive tag group did not give every one_id exactly one tag (our bug).
    #[error("tag group {group} is exclusive but covers {tagged} of {one_ids} one_ids with {rows} tags (our bug)")]
    Coverage {
        group: String,
        one_ids: u64,
        tagged: u64,
        rows: u64,
    },

    /// A column the build reads has an unexpected type (the input's fault, or ours).
    #[error("{table}.{column}: {reason}")]
    Column {
        table: &'static str,
        column: &'static str,
        reason: String,
    },

    /// `identity/current.json` or `builds/current.json` cannot be read.
    #[error("{path}: {reason}")]
    Manifest { path: String, reason: String },

    /// The LTV models could not be fitted on the purchases (cdp-ltv says
    /// why: no customers, no convergence — too few or too alike customers to
    /// identify the models —, a bad amount).
    #[error("LTV: {0} (`cdp build --skip-ltv` builds profiles and tags alone)")]
    Ltv(#[from] cdp_ltv::LtvError),

    #[error("a background task failed to run: {0} (our bug)")]
    Task(String),
}

impl JobsError {
    pub(crate) fn query(query: impl Into<String>) -> impl FnOnce(DataFusionError) -> Self {
        let query = query.into();
        move |source| Self::Query { query, source }
    }
}

pub type Result<T, E = JobsError> = std::result::Result<T, E>;
