//! Reads the sources — JSONL files (backfills) or Kafka topics — through the
//! normalisers into the lake, with dead letters and a balanced report.

pub mod config;
pub mod error;
pub mod files;
pub mod layered;
pub mod sink;

pub use config::PipelineConfig;
pub use error::IngestError;
pub use files::{ingest_files, InputSpec};
pub use sink::{LakeSink, Outcome};
