//! The crate's error type for configuration faults (junk-list extras, mapped
//! sources). Per-message faults are `Rejection`s, not errors: they are data.

/// A configuration fault, naming the input that caused it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("junk-list entry {entry:?}: unknown identifier type {id_type:?}")]
    JunkUnknownType { entry: String, id_type: String },
    #[error("junk-list entry {entry:?} is empty")]
    JunkEmpty { entry: String },
    #[error("mapped source {source_name:?}: `{field}`: {problem}")]
    Mapping {
        source_name: String,
        field: String,
        problem: String,
    },
}
