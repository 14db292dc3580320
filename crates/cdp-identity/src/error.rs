//! Errors of the identity stage. Each names what it concerns (a lake file, an
//! identifier, a config field) and whose fault it is: the lake's storage or
//! its data (external / bad input), the operator's request, or this crate.

use cdp_lake::LakeError;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Lake(#[from] LakeError),

    #[error("bad identity config: {0}")]
    Config(#[from] cdp_config::ConfigError),

    #[error("file {location} has no usable column {column:?}: {reason} (bad input: not an events file of this pipeline?)")]
    BadColumn {
        location: String,
        column: &'static str,
        reason: String,
    },

    #[error("identity state {location} is damaged: {reason} (delete identity/ and resolve again to rebuild it from the events)")]
    BadState { location: String, reason: String },

    #[error("cannot build an Arrow batch for {table}: {source} (our bug)")]
    Arrow {
        table: &'static str,
        source: arrow::error::ArrowError,
    },

    #[error("{0:?} is not TYPE:VALUE with a known identifier type (e.g. phone:+8613800138000)")]
    BadIdentifier(String),

    #[error(
        "{0} is not in the identity graph (run `cdp resolve` first, or check its canonical form)"
    )]
    UnknownIdentifier(String),

    #[error("truth file {path}: {reason}")]
    Truth { path: String, reason: String },

    #[error("the identity graph outgrew its {what} (over {limit}): split the lake (our limit)")]
    TooLarge { what: &'static str, limit: u64 },

    #[error("a background task failed: {0} (our bug)")]
    Task(String),

    #[error("{0} (our bug)")]
    Bug(String),

    #[error("cannot encode {what}: {source} (our bug)")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
}

impl IdentityError {
    pub(crate) fn arrow(table: &'static str) -> impl Fn(arrow::error::ArrowError) -> Self + Copy {
        move |source| Self::Arrow { table, source }
    }
}

pub type Result<T, E = IdentityError> = std::result::Result<T, E>;
