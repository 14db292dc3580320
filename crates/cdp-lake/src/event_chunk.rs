//! Events normalised together — a chunk of a file read by one worker, or
//! messages offered one by one — as one Arrow batch, with each row's dedup
//! key and partition: the unit the events writer takes.

use std::sync::Arc;

use arrow::array::{RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use cdp_model::EventView;

use crate::dedup::{event_key, RecordKey};
use crate::error::{LakeError, Result};
use crate::event_batch::{EventBatchBuilder, RowOrigin};
use crate::schema::EVENTS_TABLE;

pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The UTC day number (days since the epoch) of an event time.
pub(crate) fn day_number(event_time_us: i64) -> i64 {
    event_time_us.div_euclid(MICROS_PER_DAY)
}

/// Which `(source, dt)` partition a row belongs to, within its chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RowPartition {
    /// Index into the chunk's `sources`.
    pub source: u16,
    pub day: i32,
}

/// Normalised events, each with its dedup key and partition. The batch's
/// rows are grouped by partition (input order within each), so that a
/// partition's rows are a few contiguous slices of each chunk; `keys`,
/// `partitions` and `rows` are in input order, in which the writer decides
/// what is a duplicate. Duplicates are still in.
#[derive(Debug)]
pub struct EventChunk {
    pub(crate) batch: RecordBatch,
    pub(crate) keys: Vec<RecordKey>,
    pub(crate) partitions: Vec<RowPartition>,
    /// The batch row of each input row.
    pub(crate) rows: Vec<u32>,
    pub(crate) sources: Vec<Arc<str>>,
}

impl EventChunk {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Builds an [`EventChunk`] from normalised views; one per worker thread.
#[derive(Default)]
pub struct EventChunkBuilder {
    rows: EventBatchBuilder,
    keys: Vec<RecordKey>,
    partitions: Vec<RowPartition>,
    sources: Vec<Arc<str>>,
}

impl EventChunkBuilder {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn approx_bytes(&self) -> usize {
        self.rows.approx_bytes()
    }

    /// Appends a normalised event read at `at`.
    pub fn append(&mut self, e: &EventView<'_>, at: RowOrigin<'_>) {
        let key = event_key(e.source, &e.event_id);
        self.append_keyed(e, at, key);
    }

    pub(crate) fn append_keyed(&mut self, e: &EventView<'_>, at: RowOrigin<'_>, key: RecordKey) {
        let source = match self.sources.iter().position(|s| **s == *e.source) {
            Some(i) => i,
            None => {
                self.sources.push(Arc::from(e.source));
                self.sources.len() - 1
            }
        };
        // Day numbers of real times fit i32 many times over; the normalisers
        // refuse times past the year 2286.
        let day = day_number(e.event_time_us).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
        self.rows.append_view(e, at);
        self.keys.push(key);
        self.partitions.push(RowPartition {
            source: source as u16,
            day,
        });
    }

    /// The chunk of everything appended so far, its rows grouped by
    /// partition; the builder starts empty. Grouping here, on the worker
    /// threads, turns the writer's gathering of a partition's rows from a
    /// row-by-row copy into a copy of slices.
    pub fn finish(&mut self) -> Result<EventChunk> {
        let batch = self.rows.finish()?;
        let partitions = std::mem::take(&mut self.partitions);
        let mut order: Vec<u32> = (0..partitions.len() as u32).collect();
        let grouped = partitions.windows(2).all(|w| w[0] == w[1]);
        let (batch, rows) = if grouped {
            (batch, order)
        } else {
            order.sort_by_key(|r| {
                let p = partitions[*r as usize];
                (p.source, p.day)
            });
            let mut rows = vec![0; order.len()];
            for (to, from) in order.iter().enumerate() {
                rows[*from as usize] = to as u32;
            }
            let indices = UInt32Array::from(order);
            let batch = take_record_batch(&batch, &indices).map_err(|source| LakeError::Arrow {
                table: EVENTS_TABLE,
                source,
            })?;
            (batch, rows)
        };
        Ok(EventChunk {
            batch,
            keys: std::mem::take(&mut self.keys),
            partitions,
            rows,
            sources: std::mem::take(&mut self.sources),
        })
    }

    /// Rows appended so far, in input order, and their partitions: for
    /// events offered one by one, which are not regrouped.
    pub(crate) fn finish_in_order(&mut self) -> Result<RecordBatch> {
        self.keys.clear();
        self.partitions.clear();
        self.sources.clear();
        self.rows.finish()
    }
}
