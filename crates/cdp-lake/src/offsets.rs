//! How far the lake holds each Kafka partition: the offsets manifest.
//!
//! One small JSON object per topic-partition, `_offsets/<topic>/<partition>.json`,
//! written (atomically) after the data files of a flush are durable. It is the
//! commit point of a flush: a consumer resumes from `next_offset` whatever
//! Kafka's committed offsets say, and a data file of the partition starting
//! at or after `next_offset` is left over from a crash and is deleted before
//! consuming again. Its counts are cumulative, so that `received = accepted +
//! duplicates + dead-lettered` holds over every run, crashes included.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::report::SourceReport;
use crate::root::Lake;

pub const OFFSETS_DIR: &str = "_offsets";

/// What the lake holds of one topic-partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionManifest {
    pub topic: String,
    pub partition: i32,
    /// Offset of the next message to read: every message before it is in
    /// the lake, was a duplicate, or is a dead letter.
    pub next_offset: i64,
    /// Cumulative counts of the messages before `next_offset`.
    pub counts: SourceReport,
    /// Data files written for this partition (events and dead letters).
    pub files: u64,
    pub updated_at: String,
}

impl PartitionManifest {
    /// Nothing of the partition is in the lake yet.
    pub fn empty(topic: &str, partition: i32, source: &str) -> Self {
        Self {
            topic: topic.to_string(),
            partition,
            next_offset: 0,
            counts: SourceReport::new(source),
            files: 0,
            updated_at: String::new(),
        }
    }

    fn path(topic: &str, partition: i32) -> String {
        format!("{OFFSETS_DIR}/{topic}/{partition}.json")
    }

    /// The manifest of a partition, `None` when the lake holds nothing of it.
    pub async fn load(lake: &Lake, topic: &str, partition: i32) -> Result<Option<Self>> {
        match lake.get_opt(&Self::path(topic, partition)).await? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Every manifest in the lake, sorted by topic and partition.
    pub async fn load_all(lake: &Lake) -> Result<Vec<Self>> {
        let mut all = Vec::new();
        for path in lake.list(OFFSETS_DIR).await? {
            if path.ends_with(".json") {
                all.push(serde_json::from_slice::<Self>(&lake.get(&path).await?)?);
            }
        }
        all.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        Ok(all)
    }

    /// Makes the manifest durable: the commit point of a flush.
    pub async fn store(&mut self, lake: &Lake) -> Result<()> {
        self.updated_at = chrono::Utc::now().to_rfc3339();
        lake.put(
            &Self::path(&self.topic, self.partition),
            serde_json::to_vec_pretty(self)?.into(),
        )
        .await
    }
}

/// Name of a data file holding messages `first..=last` of a partition: the
/// same messages always give the same name, and a leftover is recognisable.
pub fn stream_file_name(topic: &str, partition: i32, first: i64, last: i64) -> String {
    format!("kafka-{topic}-{partition}-{first:020}-{last:020}.parquet")
}

/// The topic, partition and offset range of a data file written from Kafka
/// (any folder), `None` for other files.
pub fn parse_stream_file(path: &str) -> Option<(&str, i32, i64, i64)> {
    let name = path.rsplit('/').next()?;
    let rest = name.strip_prefix("kafka-")?.strip_suffix(".parquet")?;
    // The topic may itself contain '-': read the numbers from the end.
    let mut parts = rest.rsplitn(4, '-');
    let last = parts.next()?.parse().ok()?;
    let first = parts.next()?.parse().ok()?;
    let partition = parts.next()?.parse().ok()?;
    let topic = parts.next()?;
    Some((topic, partition, first, last))
}

/// Per source, the cumulative counts of every partition the lake holds.
pub fn totals_by_source(manifests: &[PartitionManifest]) -> Vec<SourceReport> {
    let mut by_source: std::collections::BTreeMap<&str, SourceReport> = Default::default();
    for m in manifests {
        let total = by_source
            .entry(&m.counts.source)
            .or_insert_with(|| SourceReport::new(&m.counts.source));
        total.received += m.counts.received;
        total.accepted += m.counts.accepted;
        total.duplicates += m.counts.duplicates;
        total.dead_lettered += m.counts.dead_lettered;
    }
    by_source.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_file_names_round_trip_with_dashes_in_the_topic() {
        let name = stream_file_name("shop-orders.v2", 11, 0, 4_999);
        assert_eq!(
            name,
            "kafka-shop-orders.v2-11-00000000000000000000-00000000000000004999.parquet"
        );
        let path = format!("events/source=transaction/dt=2026-11-20/{name}");
        assert_eq!(
            parse_stream_file(&path),
            Some(("shop-orders.v2", 11, 0, 4_999))
        );
        assert_eq!(
            parse_stream_file("events/source=a/dt=b/part-x-00001.parquet"),
            None
        );
    }

    #[tokio::test]
    async fn manifests_round_trip_and_sum_per_source() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(PartitionManifest::load(&lake, "t", 0).await.unwrap(), None);
        for (p, received) in [(0, 10), (1, 5)] {
            let mut m = PartitionManifest::empty("cdp.ad", p, "ad");
            m.next_offset = received as i64;
            m.counts.received = received;
            m.counts.accepted = received - 1;
            m.counts.dead_lettered = 1;
            m.store(&lake).await.unwrap();
        }
        let back = PartitionManifest::load(&lake, "cdp.ad", 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back.next_offset, 5);
        let all = PartitionManifest::load_all(&lake).await.unwrap();
        let totals = totals_by_source(&all);
        assert_eq!(totals.len(), 1);
        assert_eq!(
            (
                totals[0].received,
                totals[0].accepted,
                totals[0].dead_lettered
            ),
            (15, 13, 2)
        );
        assert!(totals[0].balances());
    }
}
