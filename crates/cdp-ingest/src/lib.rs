//! Reads the sources — JSONL files (backfills) or Kafka topics — through the
//! normalisers into the lake, with dead letters and a balanced report.

pub mod error;
pub mod files;
pub mod kafka;
pub mod sink;

pub use cdp_config::PipelineConfig;
pub use error::IngestError;
pub use files::{ingest_files, InputSpec};
pub use sink::{ChunkNormaliser, LakeSink, NormalisedChunk, Outcome};
