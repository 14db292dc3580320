//! Workers: threads that own Kafka partitions' buffers, normalise their
//! messages and make them durable.
//!
//! Each assigned partition lives on exactly one worker; the consumer thread
//! sends its messages and commands through one bounded channel per worker,
//! in order, so a command to close a partition arrives after every message
//! of it that was read before.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdp_config::RollConfig;
use cdp_lake::event_writer::Offer;
use cdp_lake::{DeadLetter, Lake, RowOrigin, SharedIndexes, SourceReport, StreamPartition};
use cdp_model::{Normaliser, Provenance, Scratch, SourceFormat};

use super::dead_letter_topic::DeadLetterTopic;
use super::metrics::PartitionMetrics;
use crate::error::{IngestError, Result};

/// A topic-partition: the topic's index in the subscription and the partition.
pub(crate) type PartitionId = (usize, i32);

/// One message, copied out of librdkafka's buffer.
pub(crate) struct Message {
    pub id: PartitionId,
    pub offset: i64,
    pub payload: Option<Vec<u8>>,
}

pub(crate) enum Command {
    Message(Message),
    /// Start consuming a partition; replies with the offset the lake holds
    /// it to (`None`: nothing of it yet).
    Open {
        id: PartitionId,
        reply: SyncSender<Result<Option<i64>>>,
    },
    /// Stop consuming a partition; when `flush`, first make it durable.
    /// Replies with the offset to commit.
    Close {
        id: PartitionId,
        flush: bool,
        reply: SyncSender<Result<Option<i64>>>,
    },
    /// Make every partition durable; replies with the offsets to commit.
    FlushAll {
        reply: SyncSender<Result<Vec<(PartitionId, i64)>>>,
    },
    /// End now, even though the consumer may still hold this worker's
    /// channel (it could not leave the group in time). Whatever is still
    /// buffered is not durable, so not committed: the next owner reads it.
    Stop,
}

/// A flush the consumer thread should commit to Kafka.
pub(crate) struct Durable {
    pub id: PartitionId,
    pub next_offset: i64,
}

/// What every worker shares.
pub(crate) struct WorkerContext {
    pub lake: Lake,
    pub runtime: tokio::runtime::Handle,
    pub indexes: Arc<SharedIndexes>,
    pub normaliser: Normaliser,
    /// Per topic index: the topic name and its source format.
    pub topics: Vec<(String, SourceFormat)>,
    pub roll: RollConfig,
    pub dead_letter_topic: Option<DeadLetterTopic>,
}

struct Assigned {
    stream: StreamPartition,
    metrics: PartitionMetrics,
}

pub(crate) struct Worker {
    ctx: Arc<WorkerContext>,
    partitions: HashMap<PartitionId, Assigned>,
    durable: std::sync::mpsc::Sender<Durable>,
    /// What this worker processed in this run, per source.
    counts: BTreeMap<String, SourceReport>,
    files_written: u64,
    /// Reused by every message: normalising allocates nothing per event.
    scratch: Scratch,
}

/// What a worker did, returned when it stops.
pub(crate) struct WorkerSummary {
    pub counts: BTreeMap<String, SourceReport>,
    pub files_written: u64,
}

impl Worker {
    pub fn new(ctx: Arc<WorkerContext>, durable: std::sync::mpsc::Sender<Durable>) -> Self {
        Self {
            ctx,
            partitions: HashMap::new(),
            durable,
            counts: BTreeMap::new(),
            files_written: 0,
            scratch: Scratch::default(),
        }
    }

    /// Runs until the command channel closes, `Stop`, or the lake fails.
    pub fn run(mut self, commands: Receiver<Command>) -> Result<WorkerSummary> {
        loop {
            match commands.recv_timeout(Duration::from_millis(500)) {
                Ok(Command::Message(m)) => self.on_message(m)?,
                Ok(Command::Open { id, reply }) => {
                    let _ = reply.send(self.open(id));
                }
                Ok(Command::Close { id, flush, reply }) => {
                    let _ = reply.send(self.close(id, flush));
                }
                Ok(Command::FlushAll { reply }) => {
                    let _ = reply.send(self.flush_all());
                }
                Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.roll_aged()?;
        }
        Ok(WorkerSummary {
            counts: self.counts,
            files_written: self.files_written,
        })
    }

    fn open(&mut self, id: PartitionId) -> Result<Option<i64>> {
        let (topic, format) = &self.ctx.topics[id.0];
        let source = format.source_name();
        let stream = self.ctx.runtime.block_on(StreamPartition::open(
            &self.ctx.lake,
            topic,
            id.1,
            source,
            &self.ctx.indexes,
        ))?;
        let durable = stream.durable_offset();
        tracing::info!(topic = %topic, partition = id.1, next_offset = durable,
            "partition assigned; resuming from the lake's offsets manifest");
        self.partitions.insert(
            id,
            Assigned {
                metrics: PartitionMetrics::new(source, topic, id.1),
                stream,
            },
        );
        // No manifest yet: the group's committed offset (or auto.offset.reset) decides.
        Ok((durable > 0).then_some(durable))
    }

    fn close(&mut self, id: PartitionId, flush: bool) -> Result<Option<i64>> {
        if flush {
            self.flush(id)?;
        }
        Ok(self
            .partitions
            .remove(&id)
            .map(|a| a.stream.durable_offset())
            .filter(|_| flush))
    }

    fn flush_all(&mut self) -> Result<Vec<(PartitionId, i64)>> {
        let ids: Vec<PartitionId> = self.partitions.keys().copied().collect();
        let mut offsets = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(next) = self.flush(id)? {
                offsets.push((id, next));
            }
        }
        Ok(offsets)
    }

    /// Makes a partition's buffered messages durable; returns its durable
    /// offset when the lake holds anything of it.
    fn flush(&mut self, id: PartitionId) -> Result<Option<i64>> {
        let Some(assigned) = self.partitions.get_mut(&id) else {
            return Ok(None);
        };
        if assigned.stream.buffered_records() > 0 {
            // Dead letters reach their topic before their offsets count as done.
            if let Some(dlq) = &self.ctx.dead_letter_topic {
                dlq.flush();
            }
            let started = Instant::now();
            let stats = self
                .ctx
                .runtime
                .block_on(assigned.stream.flush(&self.ctx.lake, &self.ctx.indexes))?;
            assigned
                .metrics
                .flush_seconds
                .record(started.elapsed().as_secs_f64());
            assigned.metrics.files.increment(stats.files);
            if stats.files > 0 {
                assigned
                    .metrics
                    .file_bytes
                    .record(stats.bytes as f64 / stats.files as f64);
            }
            self.files_written += stats.files;
            tracing::debug!(topic = %assigned.stream.topic(), partition = id.1,
                records = stats.records, files = stats.files, next_offset = stats.next_offset,
                "partition flushed");
            let _ = self.durable.send(Durable {
                id,
                next_offset: stats.next_offset,
            });
        }
        let durable = assigned.stream.durable_offset();
        Ok((durable > 0).then_some(durable))
    }

    fn roll_aged(&mut self) -> Result<()> {
        let max_age = Duration::from_secs(self.ctx.roll.max_age_secs);
        let aged: Vec<PartitionId> = self
            .partitions
            .iter()
            .filter(|(_, a)| {
                a.stream
                    .first_buffered_at()
                    .is_some_and(|t| t.elapsed() >= max_age)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in aged {
            self.flush(id)?;
        }
        Ok(())
    }

    fn on_message(&mut self, m: Message) -> Result<()> {
        let Some(assigned) = self.partitions.get_mut(&m.id) else {
            // Read before a revocation took effect: not ours any more, and
            // not committed, so its new owner reads it.
            return Ok(());
        };
        let stream = &mut assigned.stream;
        if m.offset < stream.next_offset() {
            return Ok(()); // already in the lake or in the buffer
        }

        let (topic, format) = &self.ctx.topics[m.id.0];
        let counts = self
            .counts
            .entry(stream.source().to_string())
            .or_insert_with(|| SourceReport::new(stream.source()));
        counts.received += 1;
        assigned.metrics.received.increment(1);
        let origin = RowOrigin {
            origin: topic,
            partition: Some(m.id.1),
            offset: m.offset,
        };
        let normalised = match &m.payload {
            Some(raw) if !raw.trim_ascii().is_empty() => self
                .ctx
                .normaliser
                .normalise_view(format, raw.trim_ascii(), &mut self.scratch)
                .map_err(|r| (r.reason, r.field)),
            _ => Err(("empty message: no payload".to_string(), None)),
        };
        match normalised {
            Ok(event) => match stream.record_event(&event, origin, &self.ctx.indexes.events) {
                Offer::Accepted => {
                    counts.accepted += 1;
                    assigned.metrics.accepted.increment(1);
                }
                Offer::Duplicate => {
                    counts.duplicates += 1;
                    assigned.metrics.duplicate.increment(1);
                }
            },
            Err((reason, field)) => {
                counts.dead_lettered += 1;
                assigned.metrics.dead_lettered.increment(1);
                let provenance = Provenance::kafka(topic.as_str(), m.id.1, m.offset);
                tracing::debug!(origin = %provenance, reason = %reason, "dead letter");
                let letter = DeadLetter {
                    source: stream.source().to_string(),
                    raw: m.payload.unwrap_or_default(),
                    reason,
                    field,
                    provenance,
                };
                if let Some(dlq) = &self.ctx.dead_letter_topic {
                    dlq.send(&letter);
                }
                stream.record_dead_letter(m.offset, letter, &self.ctx.indexes.dead_letters);
            }
        }
        let roll = &self.ctx.roll;
        if stream.buffered_records() >= roll.max_records as u64
            || stream.approx_bytes() >= roll.max_mib << 20
        {
            self.flush(m.id)?;
        }
        Ok(())
    }
}

impl From<std::sync::mpsc::RecvError> for IngestError {
    fn from(_: std::sync::mpsc::RecvError) -> Self {
        IngestError::Internal("a Kafka worker thread stopped unexpectedly".into())
    }
}
