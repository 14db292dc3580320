//! Where normalised records go: accepted events to the events writer (which
//! refuses redeliveries), rejections to the dead letters, and a count of each
//! per source. File backfills and Kafka consumers share it.

use std::collections::BTreeMap;

use cdp_lake::event_writer::{EventWriterOptions, Offer};
use cdp_lake::{
    DeadLetter, DeadLetterWriter, EventChunk, EventChunkBuilder, EventWriter, Lake, RowOrigin,
    SourceReport,
};
use cdp_model::{CanonicalEvent, Normaliser, Provenance, Scratch, SourceFormat};

use crate::error::Result;

/// The result of normalising one raw record.
#[derive(Debug, Clone)]
// Nearly every outcome is an event: boxing it to shrink the enum would add an
// allocation per record on the hot path.
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    Normalised(CanonicalEvent),
    Rejected(DeadLetter),
}

impl Outcome {
    /// The source the record was read as.
    pub fn source(&self) -> &str {
        match self {
            Self::Normalised(event) => &event.source,
            Self::Rejected(letter) => &letter.source,
        }
    }
}

/// Records normalised together: accepted events as one Arrow
/// chunk (duplicates still in: the sink decides, in order) and dead letters.
#[derive(Debug)]
pub struct NormalisedChunk {
    pub events: EventChunk,
    pub dead_letters: Vec<DeadLetter>,
}

impl NormalisedChunk {
    /// Records in the chunk, accepted or not.
    pub fn len(&self) -> usize {
        self.events.len() + self.dead_letters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Normalises raw records straight into a chunk's column builders, with no
/// owned event in between. One per thread: a file backfill worker, or a
/// Kafka consumer buffering a partition.
pub struct ChunkNormaliser {
    normaliser: Normaliser,
    scratch: Scratch,
    events: EventChunkBuilder,
    dead_letters: Vec<DeadLetter>,
}

impl ChunkNormaliser {
    pub fn new(normaliser: Normaliser) -> Self {
        Self {
            normaliser,
            scratch: Scratch::default(),
            events: EventChunkBuilder::default(),
            dead_letters: Vec::new(),
        }
    }

    /// Records normalised since the last `finish`.
    pub fn len(&self) -> usize {
        self.events.len() + self.dead_letters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rough bytes buffered, to bound a chunk by size.
    pub fn approx_bytes(&self) -> usize {
        self.events.approx_bytes()
    }

    /// Normalises one raw record of `format` read at `at`.
    pub fn push(&mut self, format: &SourceFormat, raw: &[u8], at: RowOrigin<'_>) {
        match self
            .normaliser
            .normalise_view(format, raw, &mut self.scratch)
        {
            Ok(view) => self.events.append(&view, at),
            Err(rejection) => self.dead_letters.push(DeadLetter {
                source: format.source_name().to_string(),
                raw: raw.to_vec(),
                reason: rejection.reason,
                field: rejection.field,
                provenance: Provenance {
                    origin: at.origin.to_string(),
                    partition: at.partition,
                    offset: at.offset,
                },
            }),
        }
    }

    /// Everything normalised so far; starts empty again.
    pub fn finish(&mut self) -> Result<NormalisedChunk> {
        Ok(NormalisedChunk {
            events: self.events.finish()?,
            dead_letters: std::mem::take(&mut self.dead_letters),
        })
    }
}

pub struct LakeSink {
    events: EventWriter,
    dead_letters: DeadLetterWriter,
    counts: BTreeMap<String, SourceReport>,
}

impl LakeSink {
    pub async fn open(lake: &Lake, run_id: &str, options: EventWriterOptions) -> Result<Self> {
        Ok(Self {
            events: EventWriter::open(lake.clone(), run_id, options).await?,
            dead_letters: DeadLetterWriter::open(lake.clone(), run_id).await?,
            counts: BTreeMap::new(),
        })
    }

    /// Makes room for about `events` more events in the dedup index.
    pub fn reserve_events(&mut self, events: usize) {
        self.events.reserve(events);
    }

    /// Makes `source` appear in the report even if nothing arrives for it.
    pub fn expect_source(&mut self, source: &str) {
        self.counts
            .entry(source.to_string())
            .or_insert_with(|| SourceReport::new(source));
    }

    pub async fn record(&mut self, outcome: Outcome) -> Result<()> {
        let source = outcome.source();
        if !self.counts.contains_key(source) {
            self.expect_source(source);
        }
        let counts = self
            .counts
            .get_mut(outcome.source())
            .expect("source counted above");
        counts.received += 1;
        match outcome {
            Outcome::Normalised(event) => match self.events.offer(&event).await? {
                Offer::Accepted => counts.accepted += 1,
                Offer::Duplicate => counts.duplicates += 1,
            },
            Outcome::Rejected(letter) => {
                counts.dead_lettered += 1;
                self.dead_letters.push(letter).await?;
            }
        }
        Ok(())
    }

    /// Records a chunk: its events in row order (the first of two copies
    /// wins, as one by one), then its dead letters.
    pub async fn record_chunk(&mut self, chunk: NormalisedChunk) -> Result<()> {
        for offers in self.events.offer_chunk(chunk.events).await? {
            let counts = self.counts_of(&offers.source);
            counts.received += offers.accepted + offers.duplicates;
            counts.accepted += offers.accepted;
            counts.duplicates += offers.duplicates;
        }
        for letter in chunk.dead_letters {
            let counts = self.counts_of(&letter.source);
            counts.received += 1;
            counts.dead_lettered += 1;
            self.dead_letters.push(letter).await?;
        }
        Ok(())
    }

    fn counts_of(&mut self, source: &str) -> &mut SourceReport {
        if !self.counts.contains_key(source) {
            self.expect_source(source);
        }
        self.counts.get_mut(source).expect("source counted above")
    }

    /// Makes everything recorded so far durable.
    pub async fn flush(&mut self) -> Result<()> {
        self.events.flush().await?;
        self.dead_letters.flush().await?;
        Ok(())
    }

    pub fn counts(&self) -> Vec<SourceReport> {
        self.counts.values().cloned().collect()
    }

    pub fn files_written(&self) -> u64 {
        self.events.files_written()
    }
}
