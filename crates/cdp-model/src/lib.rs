//! The canonical event model every source is normalised into, the canonical
//! forms of identifiers, and one normaliser per source format.
//!
//! Everything here is pure (no I/O): the same code serves file backfills and
//! the Kafka consumers.

pub mod error;
pub mod event;
pub mod identifier;
mod junk;
pub mod mapping;
pub mod normalise;
mod phone;
pub mod source;

pub use error::ModelError;
pub use event::{CanonicalEvent, EventView, Identifiers, Provenance, Scratch};
pub use identifier::canonicalise;
pub use identifier::{IdBuffer, IdType, Identifier, JunkList};
pub use mapping::MappedSource;
pub use normalise::{Normaliser, Rejection};
pub use source::{SourceFormat, SourceKind};
