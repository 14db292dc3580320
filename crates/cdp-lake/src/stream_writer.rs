//! Writes one Kafka partition into the lake, exactly once.
//!
//! Records are buffered per partition; a flush writes one events file per UTC
//! day present and one dead-letter file, each named after the topic,
//! partition and offset range it holds, then the partition's offsets
//! manifest — the commit point. Opening a partition undoes what a crash left
//! half done: files of the partition from `next_offset` on were never
//! committed and are deleted (their keys forgotten), so that replaying those
//! messages stores them once.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use cdp_model::EventView;

use crate::dead_letters::{dead_letters_batch, DeadLetter};
use crate::dedup::{dead_letter_key, event_key, KeyIndex, RecordKey};
use crate::error::Result;
use crate::event_batch::{EventBatchBuilder, RowOrigin};
use crate::event_chunk::MICROS_PER_DAY;
use crate::event_writer::{sorted_by_time, Offer};
use crate::offsets::{parse_stream_file, stream_file_name, PartitionManifest};
use crate::parquet_io;
use crate::partition::{day_of, dead_letters_dir, events_dir};
use crate::report::SourceReport;
use crate::root::Lake;
use crate::schema::{dead_letters_schema, events_schema, DEAD_LETTERS_TABLE, EVENTS_TABLE};

/// The dedup keys of everything the lake holds, shared by every partition
/// this process consumes.
#[derive(Debug)]
pub struct SharedIndexes {
    pub events: Mutex<KeyIndex>,
    pub dead_letters: Mutex<KeyIndex>,
}

impl SharedIndexes {
    pub async fn load(lake: &Lake) -> Result<Self> {
        Ok(Self {
            events: Mutex::new(KeyIndex::load(lake, EVENTS_TABLE).await?),
            dead_letters: Mutex::new(KeyIndex::load(lake, DEAD_LETTERS_TABLE).await?),
        })
    }
}

/// What one flush wrote.
#[derive(Debug, Clone, Default)]
pub struct FlushStats {
    /// Messages the flush made durable.
    pub records: u64,
    pub files: u64,
    pub bytes: u64,
    /// The partition's new `next_offset`.
    pub next_offset: i64,
}

#[derive(Default)]
struct DayBuffer {
    rows: EventBatchBuilder,
    keys: Vec<RecordKey>,
}

/// One topic-partition's records since its last flush.
pub struct StreamPartition {
    source: String,
    manifest: PartitionManifest,
    days: BTreeMap<i64, DayBuffer>,
    letters: Vec<DeadLetter>,
    letter_keys: Vec<RecordKey>,
    /// Counts since the last flush.
    pending: SourceReport,
    first_offset: Option<i64>,
    last_offset: i64,
    first_buffered_at: Option<Instant>,
    approx_bytes: usize,
}

impl StreamPartition {
    /// Opens a partition for consuming: reads its manifest, deletes files a
    /// crash left uncommitted, and loads the keys of files other consumers
    /// wrote since this process started. Consuming resumes at `next_offset()`.
    #[allow(
        clippy::await_holding_lock,
        reason = "the dedup index lock is held across the lake calls on purpose, see below"
    )]
    pub async fn open(
        lake: &Lake,
        topic: &str,
        partition: i32,
        source: &str,
        indexes: &SharedIndexes,
    ) -> Result<Self> {
        let manifest = PartitionManifest::load(lake, topic, partition)
            .await?
            .unwrap_or_else(|| PartitionManifest::empty(topic, partition, source));
        for (table, index) in [
            (EVENTS_TABLE, &indexes.events),
            (DEAD_LETTERS_TABLE, &indexes.dead_letters),
        ] {
            let files = lake.list(table).await?;
            // Held across the lake calls so no record is inserted between the
            // deletes and the refresh. Callers drive this future with
            // `block_on` on their own worker thread (cdp-ingest's kafka
            // workers), so a waiting thread never starves the holder, and
            // opening a partition is rare.
            let mut index = index.lock().expect("dedup index lock");
            for file in files {
                let Some((t, p, first, _)) = parse_stream_file(&file) else {
                    continue;
                };
                if t == topic && p == partition && first >= manifest.next_offset {
                    tracing::warn!(file = %file, next_offset = manifest.next_offset,
                        "deleting a file a crash left uncommitted; its messages are read again");
                    index.delete_file(lake, &file).await?;
                }
            }
            index.refresh(lake).await?;
        }
        Ok(Self {
            source: source.to_string(),
            pending: SourceReport::new(source),
            manifest,
            days: BTreeMap::new(),
            letters: Vec::new(),
            letter_keys: Vec::new(),
            first_offset: None,
            last_offset: -1,
            first_buffered_at: None,
            approx_bytes: 0,
        })
    }

    pub fn topic(&self) -> &str {
        &self.manifest.topic
    }

    pub fn partition(&self) -> i32 {
        self.manifest.partition
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The offset to consume from: everything before it is durable or buffered.
    pub fn next_offset(&self) -> i64 {
        if self.first_offset.is_some() {
            self.last_offset + 1
        } else {
            self.manifest.next_offset
        }
    }

    /// The offset after the last durable message.
    pub fn durable_offset(&self) -> i64 {
        self.manifest.next_offset
    }

    /// Cumulative counts of what is durable.
    pub fn durable_counts(&self) -> &SourceReport {
        &self.manifest.counts
    }

    /// Messages received since the last flush.
    pub fn buffered_records(&self) -> u64 {
        self.pending.received
    }

    pub fn approx_bytes(&self) -> usize {
        self.approx_bytes
    }

    /// When the oldest buffered message arrived.
    pub fn first_buffered_at(&self) -> Option<Instant> {
        self.first_buffered_at
    }

    fn received(&mut self, offset: i64) {
        self.first_offset.get_or_insert(offset);
        self.first_buffered_at.get_or_insert_with(Instant::now);
        self.last_offset = offset;
        self.pending.received += 1;
    }

    /// Takes the normalised message read at `origin` unless the lake
    /// already holds an event with its source and id.
    pub fn record_event(
        &mut self,
        event: &EventView<'_>,
        origin: RowOrigin<'_>,
        index: &Mutex<KeyIndex>,
    ) -> Offer {
        self.received(origin.offset);
        let key = event_key(event.source, &event.event_id);
        if !index.lock().expect("dedup index lock").insert(key) {
            self.pending.duplicates += 1;
            return Offer::Duplicate;
        }
        self.pending.accepted += 1;
        let day = self
            .days
            .entry(event.event_time_us.div_euclid(MICROS_PER_DAY))
            .or_default();
        let before = day.rows.approx_bytes();
        day.rows.append_view(event, origin);
        day.keys.push(key);
        self.approx_bytes += day.rows.approx_bytes() - before;
        Offer::Accepted
    }

    /// Takes the rejected message at `offset`.
    pub fn record_dead_letter(&mut self, offset: i64, letter: DeadLetter, index: &Mutex<KeyIndex>) {
        self.received(offset);
        self.pending.dead_lettered += 1;
        let p = &letter.provenance;
        let key = dead_letter_key(&letter.source, &p.origin, p.partition, p.offset);
        if index.lock().expect("dedup index lock").insert(key) {
            self.approx_bytes += letter.raw.len() + letter.reason.len() + 64;
            self.letters.push(letter);
            self.letter_keys.push(key);
        }
    }

    /// Makes every buffered message durable: data files, their key files,
    /// then the manifest. On return the caller may commit `next_offset` to
    /// Kafka.
    pub async fn flush(&mut self, lake: &Lake, indexes: &SharedIndexes) -> Result<FlushStats> {
        let Some(first) = self.first_offset else {
            return Ok(FlushStats {
                next_offset: self.manifest.next_offset,
                ..FlushStats::default()
            });
        };
        let last = self.last_offset;
        let name = stream_file_name(&self.manifest.topic, self.manifest.partition, first, last);
        let mut stats = FlushStats {
            records: self.pending.received,
            next_offset: last + 1,
            ..FlushStats::default()
        };
        for (day, mut buffer) in std::mem::take(&mut self.days) {
            let path = format!(
                "{}/{name}",
                events_dir(&self.source, &day_of(day * MICROS_PER_DAY))
            );
            let batch = buffer.rows.finish()?;
            let mut rows: Vec<(usize, usize)> = (0..batch.num_rows()).map(|i| (0, i)).collect();
            let batch = sorted_by_time(&[batch], &mut rows)?;
            let bytes = parquet_io::encode(&path, events_schema(), &[batch])?;
            stats.bytes += bytes.len() as u64;
            lake.put(&path, bytes).await?;
            KeyIndex::persist(lake, &path, &buffer.keys).await?;
            indexes
                .events
                .lock()
                .expect("dedup index lock")
                .add_file(&path);
            stats.files += 1;
        }
        if !self.letters.is_empty() {
            let path = format!("{}/{name}", dead_letters_dir(&self.source));
            let batch = dead_letters_batch(&self.letters)?;
            let bytes = parquet_io::encode(&path, dead_letters_schema(), &[batch])?;
            stats.bytes += bytes.len() as u64;
            lake.put(&path, bytes).await?;
            KeyIndex::persist(lake, &path, &self.letter_keys).await?;
            indexes
                .dead_letters
                .lock()
                .expect("dedup index lock")
                .add_file(&path);
            stats.files += 1;
        }
        let counts = &mut self.manifest.counts;
        counts.received += self.pending.received;
        counts.accepted += self.pending.accepted;
        counts.duplicates += self.pending.duplicates;
        counts.dead_lettered += self.pending.dead_lettered;
        self.manifest.next_offset = last + 1;
        self.manifest.files += stats.files;
        self.manifest.store(lake).await?;

        self.letters.clear();
        self.letter_keys.clear();
        self.pending = SourceReport::new(&self.source);
        self.first_offset = None;
        self.first_buffered_at = None;
        self.approx_bytes = 0;
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdp_model::{CanonicalEvent, Provenance};

    const DAY: i64 = 1_795_219_199_000_000;

    fn event(id: &str, offset: i64, t: i64) -> CanonicalEvent {
        CanonicalEvent::new(
            id.into(),
            "ad".into(),
            "click".into(),
            t,
            Provenance::kafka("cdp.ad", 2, offset),
        )
    }

    fn record(p: &mut StreamPartition, e: &CanonicalEvent, index: &Mutex<KeyIndex>) -> Offer {
        p.record_event(&e.view(), RowOrigin::from(&e.provenance), index)
    }

    fn letter(offset: i64) -> DeadLetter {
        DeadLetter {
            source: "ad".into(),
            raw: b"{oops".to_vec(),
            reason: "not JSON".into(),
            field: None,
            provenance: Provenance::kafka("cdp.ad", 2, offset),
        }
    }

    async fn rows(lake: &Lake, table: &str) -> usize {
        let mut n = 0;
        for f in lake.list(table).await.unwrap() {
            if f.ends_with(".parquet") {
                for b in parquet_io::decode(&f, lake.get(&f).await.unwrap(), None).unwrap() {
                    n += b.num_rows();
                }
            }
        }
        n
    }

    #[tokio::test]
    async fn a_flush_writes_files_named_by_offsets_then_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let indexes = SharedIndexes::load(&lake).await.unwrap();
        let mut p = StreamPartition::open(&lake, "cdp.ad", 2, "ad", &indexes)
            .await
            .unwrap();
        assert_eq!(p.next_offset(), 0);
        record(&mut p, &event("a", 0, DAY), &indexes.events);
        record(&mut p, &event("a", 1, DAY), &indexes.events);
        p.record_dead_letter(2, letter(2), &indexes.dead_letters);
        record(&mut p, &event("b", 3, DAY + 3_600_000_000), &indexes.events);
        assert_eq!(p.next_offset(), 4);
        assert_eq!(p.durable_offset(), 0);
        let stats = p.flush(&lake, &indexes).await.unwrap();
        assert_eq!((stats.records, stats.files, stats.next_offset), (4, 3, 4));
        let files = lake.list("events").await.unwrap();
        assert_eq!(files.len(), 2, "{files:?}");
        assert!(files[0].ends_with(&stream_file_name("cdp.ad", 2, 0, 3)));
        let m = PartitionManifest::load(&lake, "cdp.ad", 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.next_offset, 4);
        assert_eq!(
            (
                m.counts.received,
                m.counts.accepted,
                m.counts.duplicates,
                m.counts.dead_lettered
            ),
            (4, 2, 1, 1)
        );
        assert_eq!(rows(&lake, "events").await, 2);
        assert_eq!(rows(&lake, "dlq").await, 1);
    }

    /// A crash after the data files but before the manifest: reopening
    /// deletes them and forgets their keys, so the replay stores each
    /// message once and counts it once.
    #[tokio::test]
    async fn reopening_after_a_crash_deletes_uncommitted_files_and_replays_once() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let indexes = SharedIndexes::load(&lake).await.unwrap();
        let mut p = StreamPartition::open(&lake, "cdp.ad", 2, "ad", &indexes)
            .await
            .unwrap();
        record(&mut p, &event("a", 0, DAY), &indexes.events);
        p.flush(&lake, &indexes).await.unwrap();
        record(&mut p, &event("b", 1, DAY), &indexes.events);
        p.record_dead_letter(2, letter(2), &indexes.dead_letters);
        p.flush(&lake, &indexes).await.unwrap();
        // Undo the second manifest: as if the process died before writing it.
        let mut m = PartitionManifest::load(&lake, "cdp.ad", 2)
            .await
            .unwrap()
            .unwrap();
        m.next_offset = 1;
        m.counts = SourceReport {
            source: "ad".into(),
            received: 1,
            accepted: 1,
            ..SourceReport::default()
        };
        m.store(&lake).await.unwrap();

        // A new process: fresh indexes, loaded from the lake.
        let indexes = SharedIndexes::load(&lake).await.unwrap();
        let mut p = StreamPartition::open(&lake, "cdp.ad", 2, "ad", &indexes)
            .await
            .unwrap();
        assert_eq!(p.next_offset(), 1);
        assert_eq!(
            rows(&lake, "events").await,
            1,
            "the uncommitted file is gone"
        );
        assert_eq!(rows(&lake, "dlq").await, 0);
        assert_eq!(
            record(&mut p, &event("b", 1, DAY), &indexes.events),
            Offer::Accepted
        );
        p.record_dead_letter(2, letter(2), &indexes.dead_letters);
        p.flush(&lake, &indexes).await.unwrap();
        assert_eq!(rows(&lake, "events").await, 2);
        assert_eq!(rows(&lake, "dlq").await, 1);
        let c = p.durable_counts();
        assert_eq!((c.received, c.accepted, c.dead_lettered), (3, 2, 1));
        assert!(c.balances());
    }
}
