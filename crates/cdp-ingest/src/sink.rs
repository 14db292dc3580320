//! Where normalised records go: accepted events to the events writer (which
//! refuses redeliveries), rejections to the dead letters, and a count of each
//! per source. File backfills and Kafka consumers share it.

use std::collections::BTreeMap;

use cdp_lake::event_writer::{EventWriterOptions, Offer};
use cdp_lake::{DeadLetter, DeadLetterWriter, EventWriter, Lake, SourceReport};
use cdp_model::CanonicalEvent;

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
