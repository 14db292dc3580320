//! Writes accepted events into Hive partitions `events/source=…/dt=…/`,
//! refusing redeliveries of events the lake already holds.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use arrow::compute::{lexsort_to_indices, take_record_batch, SortColumn};
use cdp_model::CanonicalEvent;

use crate::dedup::{event_key, KeyIndex, RecordKey};
use crate::error::{LakeError, Result};
use crate::event_batch::EventBatchBuilder;
use crate::parquet_io;
use crate::partition::{day_of, events_dir};
use crate::root::Lake;
use crate::schema::{events_schema, EVENTS_TABLE};

pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Files encoded and written beside the sink at once: bounds the memory of
/// finished batches waiting for a core.
const MAX_FILES_IN_FLIGHT: usize = 2;

/// What became of an offered event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    Accepted,
    /// The lake already holds (or this run already took) an event with the
    /// same source and id.
    Duplicate,
}

/// When buffered events are written out.
#[derive(Debug, Clone)]
pub struct EventWriterOptions {
    /// Flush the largest partitions once this much is buffered in all.
    pub max_buffered_bytes: usize,
    /// Roll a partition's file at this many rows.
    pub max_rows_per_file: usize,
}

impl Default for EventWriterOptions {
    fn default() -> Self {
        Self {
            max_buffered_bytes: 512 * 1024 * 1024,
            max_rows_per_file: 1_000_000,
        }
    }
}

#[derive(Default)]
struct PartitionBuffer {
    rows: EventBatchBuilder,
    keys: Vec<RecordKey>,
}

pub struct EventWriter {
    lake: Lake,
    run_id: String,
    index: KeyIndex,
    options: EventWriterOptions,
    /// Keyed by (source, UTC day number since the epoch): no date formatting
    /// per event.
    partitions: BTreeMap<(String, i64), PartitionBuffer>,
    buffered_bytes: usize,
    files_written: u64,
    /// Files being encoded and written; all are durable after `flush`.
    in_flight: std::collections::VecDeque<tokio::task::JoinHandle<Result<()>>>,
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
            partitions: BTreeMap::new(),
            buffered_bytes: 0,
            files_written: 0,
            in_flight: Default::default(),
        })
    }

    pub fn files_written(&self) -> u64 {
        self.files_written
    }

    /// Takes an event unless it is a redelivery; it is durable after a flush.
    pub async fn offer(&mut self, event: &CanonicalEvent) -> Result<Offer> {
        let key = event_key(&event.source, &event.event_id);
        if !self.index.insert(key) {
            return Ok(Offer::Duplicate);
        }
        let partition = (
            event.source.clone(),
            event.event_time_us.div_euclid(MICROS_PER_DAY),
        );
        let buffer = self.partitions.entry(partition.clone()).or_default();
        let before = buffer.rows.approx_bytes();
        buffer.rows.append(event);
        buffer.keys.push(key);
        self.buffered_bytes += buffer.rows.approx_bytes() - before;
        if buffer.rows.len() >= self.options.max_rows_per_file {
            self.flush_partition(&partition).await?;
        } else if self.buffered_bytes > self.options.max_buffered_bytes {
            self.flush_largest(self.options.max_buffered_bytes / 2)
                .await?;
        }
        Ok(Offer::Accepted)
    }

    /// Writes every buffered event.
    pub async fn flush(&mut self) -> Result<()> {
        let partitions: Vec<_> = self.partitions.keys().cloned().collect();
        for p in partitions {
            self.flush_partition(&p).await?;
        }
        while !self.in_flight.is_empty() {
            self.await_oldest().await?;
        }
        Ok(())
    }

    async fn flush_largest(&mut self, target_bytes: usize) -> Result<()> {
        let mut by_size: Vec<_> = self
            .partitions
            .iter()
            .map(|(k, v)| (v.rows.approx_bytes(), k.clone()))
            .collect();
        by_size.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        for (_, partition) in by_size {
            if self.buffered_bytes <= target_bytes {
                break;
            }
            self.flush_partition(&partition).await?;
        }
        Ok(())
    }

    async fn flush_partition(&mut self, partition: &(String, i64)) -> Result<()> {
        let Some(mut buffer) = self.partitions.remove(partition) else {
            return Ok(());
        };
        if buffer.rows.is_empty() {
            return Ok(());
        }
        self.buffered_bytes -= buffer.rows.approx_bytes().min(self.buffered_bytes);
        let (source, day) = partition;
        let dt = day_of(day * MICROS_PER_DAY);
        let path = format!(
            "{}/part-{}-{:05}.parquet",
            events_dir(source, &dt),
            self.run_id,
            self.files_written
        );
        // Sorting, encoding and writing run beside the sink, which goes on
        // taking events: the sink's thread is the bottleneck of an ingest.
        let batch = buffer.rows.finish()?;
        let lake = self.lake.clone();
        let keys = buffer.keys;
        self.in_flight.push_back(tokio::spawn(async move {
            let encode_path = path.clone();
            let bytes = tokio::task::spawn_blocking(move || {
                parquet_io::encode(&encode_path, events_schema(), &[sorted_by_time(batch)?])
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

/// Rows ordered by (event_time, event_id): readers prune row groups by time,
/// and the same input always gives the same file.
pub(crate) fn sorted_by_time(batch: RecordBatch) -> Result<RecordBatch> {
    let arrow_err = |source| LakeError::Arrow {
        table: EVENTS_TABLE,
        source,
    };
    let columns = ["event_time", "event_id"].map(|name| SortColumn {
        values: batch
            .column_by_name(name)
            .expect("events schema column")
            .clone(),
        options: None,
    });
    let indices = lexsort_to_indices(&columns, None).map_err(arrow_err)?;
    take_record_batch(&batch, &indices).map_err(arrow_err)
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
