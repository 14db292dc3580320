//! The `dlq` table: every rejected record with its raw bytes, source,
//! provenance and a reason a person can act on (contract §2).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, Int32Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use cdp_model::Provenance;
use rustc_hash::FxHashMap;

use crate::dedup::{dead_letter_key, KeyIndex, RecordKey};
use crate::error::{LakeError, Result};
use crate::partition::dead_letters_dir;
use crate::root::Lake;
use crate::schema::{dead_letters_schema, DEAD_LETTERS_TABLE};
use crate::{parquet_io, report::now_micros};

/// One rejected record.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub source: String,
    pub raw: Vec<u8>,
    pub reason: String,
    /// The field at fault, when one is.
    pub field: Option<String>,
    pub provenance: Provenance,
}

/// Dead letters of one source, waiting to be written.
#[derive(Default)]
struct Pending {
    letters: Vec<DeadLetter>,
    keys: Vec<RecordKey>,
}

/// Buffers dead letters per source and writes them as `dlq/source=…/` files.
/// A record rejected before (same source and provenance) is not stored again.
pub struct DeadLetterWriter {
    lake: Lake,
    run_id: String,
    index: KeyIndex,
    pending: FxHashMap<String, Pending>,
    files_written: u64,
    max_buffered: usize,
    buffered: usize,
}

impl DeadLetterWriter {
    pub async fn open(lake: Lake, run_id: &str) -> Result<Self> {
        let index = KeyIndex::load(&lake, DEAD_LETTERS_TABLE).await?;
        Ok(Self {
            lake,
            run_id: run_id.to_string(),
            index,
            pending: FxHashMap::default(),
            files_written: 0,
            max_buffered: 100_000,
            buffered: 0,
        })
    }

    /// Queues a dead letter; it is durable after the next `flush`.
    pub async fn push(&mut self, letter: DeadLetter) -> Result<()> {
        let p = &letter.provenance;
        let key = dead_letter_key(&letter.source, &p.origin, p.partition, p.offset);
        if !self.index.insert(key) {
            return Ok(());
        }
        let pending = self.pending.entry(letter.source.clone()).or_default();
        pending.keys.push(key);
        pending.letters.push(letter);
        self.buffered += 1;
        if self.buffered >= self.max_buffered {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes every queued dead letter.
    pub async fn flush(&mut self) -> Result<()> {
        let mut sources: Vec<String> = self.pending.keys().cloned().collect();
        sources.sort();
        for source in sources {
            let pending = self.pending.remove(&source).unwrap_or_default();
            if pending.letters.is_empty() {
                continue;
            }
            let path = format!(
                "{}/part-{}-{:05}.parquet",
                dead_letters_dir(&source),
                self.run_id,
                self.files_written
            );
            let batch = dead_letters_batch(&pending.letters)?;
            let bytes = parquet_io::encode(&path, dead_letters_schema(), &[batch])?;
            self.lake.put(&path, bytes).await?;
            KeyIndex::persist(&self.lake, &path, &pending.keys).await?;
            self.files_written += 1;
        }
        self.buffered = 0;
        Ok(())
    }
}

pub(crate) fn dead_letters_batch(letters: &[DeadLetter]) -> Result<RecordBatch> {
    let mut source = StringBuilder::new();
    let mut raw = BinaryBuilder::new();
    let mut reason = StringBuilder::new();
    let mut field = StringBuilder::new();
    let mut origin = StringBuilder::new();
    let mut partition = Int32Builder::new();
    let mut offset = Int64Builder::new();
    let mut received_at = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let now = now_micros();
    for l in letters {
        source.append_value(&l.source);
        raw.append_value(&l.raw);
        reason.append_value(&l.reason);
        field.append_option(l.field.as_deref());
        origin.append_value(&l.provenance.origin);
        partition.append_option(l.provenance.partition);
        offset.append_value(l.provenance.offset);
        received_at.append_value(now);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(source.finish()),
        Arc::new(raw.finish()),
        Arc::new(reason.finish()),
        Arc::new(field.finish()),
        Arc::new(origin.finish()),
        Arc::new(partition.finish()),
        Arc::new(offset.finish()),
        Arc::new(received_at.finish()),
    ];
    RecordBatch::try_new(dead_letters_schema(), columns).map_err(|source| LakeError::Arrow {
        table: DEAD_LETTERS_TABLE,
        source,
    })
}
