//! Writes accepted events into Hive partitions `events/source=…/dt=…/`,
//! refusing redeliveries of events the lake already holds.
//!
//! Events arrive in chunks ([`EventChunk`], built by the ingest workers) or
//! one by one; each chunk stays one Arrow batch (a *segment*) and every
//! partition holds references to its rows, so that an event is copied once,
//! into its file. Input need not be ordered by time (a backfill exported per
//! customer touches every day in every chunk): when the segments outgrow the
//! memory budget, every partition's rows are gathered and spilled to a local
//! temp file, and each partition is written as one sorted file at the end,
//! or as soon as it reaches the row limit. Few large files serve DuckDB and
//! ClickHouse readers better than many small ones, and cost less to write.

use std::collections::VecDeque;
use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::compute::{concat_batches, interleave_record_batch};
use arrow::datatypes::TimestampMicrosecondType;
use cdp_model::{CanonicalEvent, EventView};
use rustc_hash::FxHashMap;

use crate::dedup::{event_key, keys_of_batch, KeyIndex};
use crate::error::{LakeError, Result};
use crate::event_batch::RowOrigin;
use crate::event_chunk::{day_number, EventChunk, EventChunkBuilder, RowPartition, MICROS_PER_DAY};
use crate::parquet_io;
use crate::partition::{day_of, events_dir};
use crate::root::Lake;
use crate::schema::{events_schema, EVENTS_TABLE};
use crate::spill::{SpillFile, SpillRef};

/// Files encoded and written beside the sink at once: bounds the memory of
/// finished batches waiting for a core.
const MAX_FILES_IN_FLIGHT: usize = 2;
/// Events offered one by one are sealed into a segment at this many rows.
const STAGING_ROWS: usize = 8192;

/// What became of an offered event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    Accepted,
    /// The lake already holds (or this run already took) an event with the
    /// same source and id.
    Duplicate,
}

/// What became of a chunk's events, per source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkOffers {
    pub source: Arc<str>,
    pub accepted: u64,
    pub duplicates: u64,
}

/// When buffered events are written out.
#[derive(Debug, Clone)]
pub struct EventWriterOptions {
    /// Spill buffered events to a local temp file once this much is held.
    pub max_buffered_bytes: usize,
    /// Roll a partition's file at this many rows.
    pub max_rows_per_file: usize,
    /// Where spill files go; the system temp folder when `None`.
    pub spill_dir: Option<std::path::PathBuf>,
}

impl Default for EventWriterOptions {
    fn default() -> Self {
        Self {
            max_buffered_bytes: 512 * 1024 * 1024,
            max_rows_per_file: 1_000_000,
            spill_dir: None,
        }
    }
}

/// Rows `start..end` of a segment.
#[derive(Debug, Clone, Copy)]
struct Run {
    segment: u64,
    start: u32,
    end: u32,
}

/// A chunk's batch while partitions refer to its rows.
struct Segment {
    batch: RecordBatch,
    bytes: usize,
    /// Runs referring to it.
    refs: usize,
}

/// The events of one `(source, dt)` partition not yet in a file.
struct Partition {
    source: Arc<str>,
    day: i64,
    live: Vec<Run>,
    spilled: Vec<SpillRef>,
    rows: usize,
}

pub struct EventWriter {
    lake: Lake,
    run_id: String,
    index: KeyIndex,
    options: EventWriterOptions,
    /// Events offered one by one, to become segment `staging_id`.
    staging: EventChunkBuilder,
    staging_id: u64,
    staging_refs: usize,
    segments: FxHashMap<u64, Segment>,
    next_segment: u64,
    segment_bytes: usize,
    partitions: Vec<Partition>,
    /// Partition of each source and day number.
    partition_ids: FxHashMap<Arc<str>, FxHashMap<i64, usize>>,
    spill: Option<SpillFile>,
    files_written: u64,
    spills: u64,
    /// Files being encoded and written; all are durable after `flush`.
    in_flight: VecDeque<tokio::task::JoinHandle<Result<()>>>,
}

impl EventWriter {
    /// Opens the writer, loading the keys of every event already in the lake.
    pub async fn open(lake: Lake, run_id: &str, options: EventWriterOptions) -> Result<Self> {
        let index = KeyIndex::load(&lake, EVENTS_TABLE).await?;
        tracing::debug!(known_events = index.len(), "loaded the events dedup index");
        Ok(Self {
            lake,
            run_id: run_id.to_string(),
            index,
            options,
            staging: EventChunkBuilder::default(),
            staging_id: 0,
            staging_refs: 0,
            segments: FxHashMap::default(),
            next_segment: 1,
            segment_bytes: 0,
            partitions: Vec::new(),
            partition_ids: FxHashMap::default(),
            spill: None,
            files_written: 0,
            spills: 0,
            in_flight: Default::default(),
        })
    }

    pub fn files_written(&self) -> u64 {
        self.files_written
    }

    /// Makes room in the dedup index for `additional` more events, so that
    /// it is not rebuilt as it grows (a backfill knows roughly how many).
    pub fn reserve(&mut self, additional: usize) {
        self.index.reserve(additional);
    }

    /// How often buffered events were spilled to disk.
    pub fn spills(&self) -> u64 {
        self.spills
    }

    /// Takes an event unless it is a redelivery; it is durable after a flush.
    pub async fn offer(&mut self, event: &CanonicalEvent) -> Result<Offer> {
        self.offer_view(&event.view(), (&event.provenance).into())
            .await
    }

    /// Takes a normalised event read at `at` unless it is a redelivery; it
    /// is durable after a flush. The per-message path (Kafka consumers).
    pub async fn offer_view(&mut self, event: &EventView<'_>, at: RowOrigin<'_>) -> Result<Offer> {
        let key = event_key(event.source, &event.event_id);
        if !self.index.insert(key) {
            return Ok(Offer::Duplicate);
        }
        let partition = self.partition_id(event.source, day_number(event.event_time_us));
        if self.staging_id == 0 {
            self.staging_id = self.next_segment;
            self.next_segment += 1;
        }
        let row = self.staging.len() as u32;
        self.staging.append_keyed(event, at, key);
        self.add_row(partition, self.staging_id, row);
        if self.partitions[partition].rows >= self.options.max_rows_per_file {
            self.write_partition(partition).await?;
        }
        if self.staging.len() >= STAGING_ROWS {
            self.seal_staging()?;
        }
        self.spill_if_over_budget()?;
        Ok(Offer::Accepted)
    }

    /// Takes a chunk's events in input order, refusing redeliveries (also
    /// within the chunk: the first one wins). The batch path (file
    /// backfills, where workers normalise chunks in parallel).
    pub async fn offer_chunk(&mut self, chunk: EventChunk) -> Result<Vec<ChunkOffers>> {
        let segment = self.next_segment;
        self.next_segment += 1;
        let mut offers: Vec<ChunkOffers> = chunk
            .sources
            .iter()
            .map(|s| ChunkOffers {
                source: s.clone(),
                accepted: 0,
                duplicates: 0,
            })
            .collect();
        // The segment is registered first, holding one reference of its
        // own, so that a partition reaching its row limit mid-chunk can be
        // written at once without the segment going away.
        let bytes = chunk.batch.get_array_memory_size();
        self.segment_bytes += bytes;
        self.segments.insert(
            segment,
            Segment {
                batch: chunk.batch,
                bytes,
                refs: 1,
            },
        );
        // Rows of one chunk mostly share a few partitions: look each up once.
        let mut ids: FxHashMap<RowPartition, usize> = FxHashMap::default();
        for (input, (key, rp)) in chunk.keys.iter().zip(&chunk.partitions).enumerate() {
            let offer = &mut offers[rp.source as usize];
            if !self.index.insert(*key) {
                offer.duplicates += 1;
                continue;
            }
            offer.accepted += 1;
            let partition = match ids.get(rp) {
                Some(p) => *p,
                None => {
                    let p = self.partition_id(&chunk.sources[rp.source as usize], rp.day.into());
                    ids.insert(*rp, p);
                    p
                }
            };
            self.add_row(partition, segment, chunk.rows[input]);
            if self.partitions[partition].rows >= self.options.max_rows_per_file {
                self.write_partition(partition).await?;
            }
        }
        self.release(&[Run {
            segment,
            start: 0,
            end: 0,
        }]);
        self.spill_if_over_budget()?;
        Ok(offers)
    }

    /// Writes every buffered event; returns when all files are durable.
    pub async fn flush(&mut self) -> Result<()> {
        let mut order: Vec<usize> = (0..self.partitions.len())
            .filter(|p| self.partitions[*p].rows > 0)
            .collect();
        order.sort_by(|a, b| {
            let (a, b) = (&self.partitions[*a], &self.partitions[*b]);
            (&a.source, a.day).cmp(&(&b.source, b.day))
        });
        for p in order {
            self.write_partition(p).await?;
        }
        while !self.in_flight.is_empty() {
            self.await_oldest().await?;
        }
        // Every spilled row is in a file now.
        self.spill = None;
        Ok(())
    }

    fn partition_id(&mut self, source: &str, day: i64) -> usize {
        if let Some(p) = self
            .partition_ids
            .get(source)
            .and_then(|days| days.get(&day))
        {
            return *p;
        }
        let source: Arc<str> = Arc::from(source);
        self.partitions.push(Partition {
            source: source.clone(),
            day,
            live: Vec::new(),
            spilled: Vec::new(),
            rows: 0,
        });
        let id = self.partitions.len() - 1;
        self.partition_ids
            .entry(source)
            .or_default()
            .insert(day, id);
        id
    }

    /// Adds a segment's row to a partition, extending its last run when the
    /// row follows it.
    fn add_row(&mut self, partition: usize, segment: u64, row: u32) {
        let p = &mut self.partitions[partition];
        p.rows += 1;
        if let Some(run) = p.live.last_mut() {
            if run.segment == segment && run.end == row {
                run.end += 1;
                return;
            }
        }
        p.live.push(Run {
            segment,
            start: row,
            end: row + 1,
        });
        if segment == self.staging_id {
            self.staging_refs += 1;
        } else if let Some(s) = self.segments.get_mut(&segment) {
            s.refs += 1;
        }
    }

    /// Turns the events offered one by one into a segment.
    fn seal_staging(&mut self) -> Result<()> {
        if self.staging.is_empty() {
            return Ok(());
        }
        let batch = self.staging.finish_in_order()?;
        let bytes = batch.get_array_memory_size();
        self.segment_bytes += bytes;
        self.segments.insert(
            self.staging_id,
            Segment {
                batch,
                bytes,
                refs: self.staging_refs,
            },
        );
        self.staging_id = 0;
        self.staging_refs = 0;
        Ok(())
    }

    fn spill_if_over_budget(&mut self) -> Result<()> {
        if self.segment_bytes + self.staging.approx_bytes() <= self.options.max_buffered_bytes {
            return Ok(());
        }
        self.seal_staging()?;
        if self.spill.is_none() {
            self.spill = Some(SpillFile::create(self.options.spill_dir.as_deref())?);
        }
        let spill = self.spill.as_mut().expect("spill file created above");
        let mut rows = 0;
        for p in &mut self.partitions {
            if p.live.is_empty() {
                continue;
            }
            let slices = slices(&self.segments, &p.live);
            let batch = concat_batches(&events_schema(), &slices).map_err(arrow_err)?;
            rows += batch.num_rows();
            p.spilled.push(spill.append(&batch)?);
            p.live.clear();
        }
        self.segments.clear();
        self.segment_bytes = 0;
        self.spills += 1;
        tracing::debug!(rows, spill_bytes = spill.len(), "spilled buffered events");
        Ok(())
    }

    /// Drops runs' references to their segments.
    fn release(&mut self, runs: &[Run]) {
        for r in runs {
            if let Some(s) = self.segments.get_mut(&r.segment) {
                s.refs -= 1;
                if s.refs == 0 {
                    self.segment_bytes -= s.bytes;
                    self.segments.remove(&r.segment);
                }
            }
        }
    }

    /// Writes one partition's events as one file, sorted, beside the sink.
    async fn write_partition(&mut self, partition: usize) -> Result<()> {
        let staging = self.staging_id;
        if self.partitions[partition]
            .live
            .iter()
            .any(|r| r.segment == staging)
        {
            self.seal_staging()?;
        }
        let p = &mut self.partitions[partition];
        if p.rows == 0 {
            return Ok(());
        }
        let live = std::mem::take(&mut p.live);
        let spilled = std::mem::take(&mut p.spilled);
        p.rows = 0;
        let dt = day_of(p.day * MICROS_PER_DAY);
        let path = format!(
            "{}/part-{}-{:05}.parquet",
            events_dir(&p.source, &dt),
            self.run_id,
            self.files_written
        );
        // Whole segments and row numbers: slicing them per run would
        // allocate every column again for each of a partition's many runs.
        let mut batches = Vec::new();
        let mut indices = Vec::with_capacity(live.iter().map(|r| (r.end - r.start) as usize).sum());
        let mut position: FxHashMap<u64, usize> = FxHashMap::default();
        for r in &live {
            let b = *position.entry(r.segment).or_insert_with(|| {
                batches.push(self.segments[&r.segment].batch.clone());
                batches.len() - 1
            });
            indices.extend((r.start..r.end).map(|row| (b, row as usize)));
        }
        self.release(&live);
        let spill = self.spill.as_ref().map(SpillFile::reader);
        let lake = self.lake.clone();
        self.in_flight.push_back(tokio::spawn(async move {
            let encode_path = path.clone();
            let (bytes, keys) = tokio::task::spawn_blocking(move || {
                // Spilled rows join the live ones as further input batches.
                for s in &spilled {
                    let reader = spill.as_ref().expect("a spill file for spilled rows");
                    let batch = reader.read(s)?;
                    let b = batches.len();
                    indices.extend((0..batch.num_rows()).map(|row| (b, row)));
                    batches.push(batch);
                }
                let batch = sorted_by_time(&batches, &mut indices)?;
                drop(batches);
                let keys = keys_of_batch(&encode_path, EVENTS_TABLE, &batch)?;
                let bytes = parquet_io::encode_events(&encode_path, &[batch])?;
                Ok::<_, LakeError>((bytes, keys))
            })
            .await
            .map_err(|e| LakeError::Task(e.to_string()))??;
            let size = bytes.len();
            lake.put(&path, bytes).await?;
            KeyIndex::persist(&lake, &path, &keys).await?;
            tracing::debug!(file = %path, rows = keys.len(), bytes = size, "events file written");
            Ok(())
        }));
        self.files_written += 1;
        while self.in_flight.len() > MAX_FILES_IN_FLIGHT {
            self.await_oldest().await?;
        }
        Ok(())
    }

    async fn await_oldest(&mut self) -> Result<()> {
        match self.in_flight.pop_front() {
            Some(write) => write.await.map_err(|e| LakeError::Task(e.to_string()))?,
            None => Ok(()),
        }
    }
}

fn arrow_err(source: arrow::error::ArrowError) -> LakeError {
    LakeError::Arrow {
        table: EVENTS_TABLE,
        source,
    }
}

/// The rows of `runs` as zero-copy slices of their segments.
fn slices(segments: &FxHashMap<u64, Segment>, runs: &[Run]) -> Vec<RecordBatch> {
    runs.iter()
        .map(|r| {
            segments[&r.segment]
                .batch
                .slice(r.start as usize, (r.end - r.start) as usize)
        })
        .collect()
}

/// The rows at `indices` in one batch ordered by (event_time, event_id):
/// readers prune row groups by time, and the same input always gives the
/// same file. The sort is stable, so even equal keys keep a deterministic
/// order.
pub(crate) fn sorted_by_time(
    batches: &[RecordBatch],
    indices: &mut [(usize, usize)],
) -> Result<RecordBatch> {
    let column =
        |b: &RecordBatch, name: &str| b.column_by_name(name).expect("events column").clone();
    let times: Vec<_> = batches
        .iter()
        .map(|b| {
            column(b, "event_time")
                .as_primitive::<TimestampMicrosecondType>()
                .clone()
        })
        .collect();
    let ids: Vec<_> = batches
        .iter()
        .map(|b| column(b, "event_id").as_string::<i32>().clone())
        .collect();
    indices.sort_by(|a, b| {
        times[a.0]
            .value(a.1)
            .cmp(&times[b.0].value(b.1))
            .then_with(|| ids[a.0].value(a.1).cmp(ids[b.0].value(b.1)))
    });
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    interleave_record_batch(&refs, indices).map_err(arrow_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;
    use cdp_model::Provenance;

    fn event(id: &str, t: i64) -> CanonicalEvent {
        CanonicalEvent::new(
            id.into(),
            "online".into(),
            "page_view".into(),
            t,
            Provenance::file_line("f", 1),
        )
    }

    #[tokio::test]
    async fn duplicates_are_refused_within_and_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let day = 1_795_219_199_000_000;
        let mut w = EventWriter::open(lake.clone(), "run1", EventWriterOptions::default())
            .await
            .unwrap();
        assert_eq!(w.offer(&event("a", day)).await.unwrap(), Offer::Accepted);
        assert_eq!(w.offer(&event("a", day)).await.unwrap(), Offer::Duplicate);
        assert_eq!(
            w.offer(&event("b", day + 3_600_000_000)).await.unwrap(),
            Offer::Accepted
        );
        w.flush().await.unwrap();
        assert_eq!(
            lake.list("events").await.unwrap().len(),
            2,
            "one file per day"
        );

        let mut again = EventWriter::open(lake.clone(), "run2", EventWriterOptions::default())
            .await
            .unwrap();
        assert_eq!(
            again.offer(&event("a", day)).await.unwrap(),
            Offer::Duplicate
        );
        assert_eq!(
            again.offer(&event("c", day)).await.unwrap(),
            Offer::Accepted
        );
    }

    #[tokio::test]
    async fn a_lost_key_file_is_rebuilt_from_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let mut w = EventWriter::open(lake.clone(), "run1", EventWriterOptions::default())
            .await
            .unwrap();
        w.offer(&event("a", 0)).await.unwrap();
        w.flush().await.unwrap();
        let data = lake.list("events").await.unwrap().remove(0);
        lake.delete(&crate::dedup::key_file_for(&data))
            .await
            .unwrap();

        let mut again = EventWriter::open(lake.clone(), "run2", EventWriterOptions::default())
            .await
            .unwrap();
        assert_eq!(again.offer(&event("a", 0)).await.unwrap(), Offer::Duplicate);
    }

    #[tokio::test]
    async fn partitions_roll_at_the_row_limit() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let options = EventWriterOptions {
            max_rows_per_file: 2,
            ..Default::default()
        };
        let mut w = EventWriter::open(lake.clone(), "r", options).await.unwrap();
        for i in 0..5 {
            w.offer(&event(&format!("e{i}"), 0)).await.unwrap();
        }
        w.flush().await.unwrap();
        assert_eq!(w.files_written(), 3);
    }

    /// A chunk of `ids` (event id, hour of 2026-11-20) read from lines 1…
    fn chunk(ids: &[(&str, i64)], origin: &str) -> EventChunk {
        let mut b = EventChunkBuilder::default();
        for (i, (id, hour)) in ids.iter().enumerate() {
            let e = event(id, 1_795_132_800_000_000 + hour * 3_600_000_000);
            let at = RowOrigin {
                origin,
                partition: None,
                offset: i as i64 + 1,
            };
            b.append(&e.view(), at);
        }
        b.finish().unwrap()
    }

    /// (event_id, provenance_offset) of every row of every events file, in
    /// file order, and the files' names.
    async fn rows(lake: &Lake) -> (Vec<(String, i64)>, Vec<String>) {
        let files = lake.list("events").await.unwrap();
        let mut out = Vec::new();
        for f in &files {
            for b in parquet_io::decode(f, lake.get(f).await.unwrap(), None).unwrap() {
                let ids = b.column_by_name("event_id").unwrap().as_string::<i32>();
                let off = b
                    .column_by_name("provenance_offset")
                    .unwrap()
                    .as_primitive::<arrow::datatypes::Int64Type>();
                out.extend((0..b.num_rows()).map(|i| (ids.value(i).to_string(), off.value(i))));
            }
        }
        (out, files)
    }

    #[tokio::test]
    async fn chunks_are_deduplicated_in_order_first_copy_wins() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let mut w = EventWriter::open(lake.clone(), "r", EventWriterOptions::default())
            .await
            .unwrap();
        let offers = w
            .offer_chunk(chunk(&[("b", 2), ("a", 1), ("b", 3)], "f"))
            .await
            .unwrap();
        assert_eq!((offers[0].accepted, offers[0].duplicates), (2, 1));
        assert_eq!(&*offers[0].source, "online");
        // One by one and in chunks share the index.
        assert_eq!(w.offer(&event("a", 0)).await.unwrap(), Offer::Duplicate);
        let offers = w
            .offer_chunk(chunk(&[("c", 0), ("a", 5)], "g"))
            .await
            .unwrap();
        assert_eq!((offers[0].accepted, offers[0].duplicates), (1, 1));
        w.flush().await.unwrap();
        let (rows, files) = rows(&lake).await;
        assert_eq!(files.len(), 1, "one day, one file");
        // Sorted by time; `b` is the copy from line 1 at 02:00.
        assert_eq!(rows, [("c".into(), 1), ("a".into(), 2), ("b".into(), 1)]);
    }

    #[tokio::test]
    async fn over_budget_rows_spill_and_each_partition_is_still_one_sorted_file() {
        let dir = tempfile::tempdir().unwrap();
        let spill_dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let options = EventWriterOptions {
            max_buffered_bytes: 1,
            spill_dir: Some(spill_dir.path().to_path_buf()),
            ..Default::default()
        };
        let mut w = EventWriter::open(lake.clone(), "r", options).await.unwrap();
        // Three days in every chunk, times descending: like a backfill
        // exported per customer.
        for c in 0..4 {
            let ids: Vec<(String, i64)> = (0..6)
                .map(|i| (format!("e{c}-{i}"), 60 - (c * 6 + i) as i64))
                .collect();
            let ids: Vec<(&str, i64)> = ids.iter().map(|(s, h)| (s.as_str(), *h)).collect();
            w.offer_chunk(chunk(&ids, "f")).await.unwrap();
        }
        w.offer(&event("late", 0)).await.unwrap();
        assert!(w.spills() >= 4, "{}", w.spills());
        assert!(std::fs::read_dir(spill_dir.path()).unwrap().count() > 0);
        w.flush().await.unwrap();
        assert_eq!(
            std::fs::read_dir(spill_dir.path()).unwrap().count(),
            0,
            "spill removed"
        );
        let (rows, files) = rows(&lake).await;
        assert_eq!(files.len(), 3, "{files:?}");
        assert_eq!(w.files_written(), 3);
        assert_eq!(rows.len(), 25);
        let mut expected: Vec<String> = (0..4)
            .flat_map(|c| (0..6).map(move |i| format!("e{c}-{i}")))
            .rev()
            .collect();
        expected.insert(0, "late".into());
        let got: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        assert_eq!(got, expected, "each file sorted by time");
    }

    #[tokio::test]
    async fn the_same_input_gives_the_same_files() {
        let mut bytes = Vec::new();
        for budget in [1, 1 << 30] {
            let dir = tempfile::tempdir().unwrap();
            let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
            let options = EventWriterOptions {
                max_buffered_bytes: budget,
                ..Default::default()
            };
            let mut w = EventWriter::open(lake.clone(), "r", options).await.unwrap();
            for c in 0..3 {
                let ids: Vec<(String, i64)> = (0..50)
                    .map(|i| (format!("x{}", (i * 7 + c) % 60), i % 40))
                    .collect();
                let ids: Vec<(&str, i64)> = ids.iter().map(|(s, h)| (s.as_str(), *h)).collect();
                w.offer_chunk(chunk(&ids, "f")).await.unwrap();
            }
            w.flush().await.unwrap();
            let mut files = Vec::new();
            for f in lake.list("events").await.unwrap() {
                files.push((f.clone(), lake.get(&f).await.unwrap()));
            }
            bytes.push(files);
        }
        assert_eq!(bytes[0].len(), 2);
        assert_eq!(bytes[0], bytes[1], "spilled or not, byte for byte");
    }
}
