//! The Parquet lake: every table of the contract (§4) under one root, a local
//! folder or an object-store URL.
//!
//! Files only ever appear whole: each is encoded in memory and `put` in one
//! call, which the local store turns into a temp file plus rename and object
//! stores make atomic by nature.

pub mod dead_letters;
pub mod dedup;
pub mod error;
pub mod event_batch;
pub mod event_chunk;
pub mod event_writer;
pub mod offsets;
pub mod parquet_io;
pub mod partition;
pub mod report;
pub mod root;
pub mod schema;
mod spill;
pub mod staged_file;
pub mod stream_writer;

pub use dead_letters::{DeadLetter, DeadLetterWriter};
pub use dedup::KeyIndex;
pub use error::LakeError;
pub use event_batch::RowOrigin;
pub use event_chunk::{EventChunk, EventChunkBuilder};
pub use event_writer::{ChunkOffers, EventWriter};
pub use report::{IngestReport, SourceReport};
pub use root::Lake;
pub use stream_writer::{SharedIndexes, StreamPartition};
