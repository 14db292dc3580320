//! What a run did, printed by `cdp resolve` and stored as
//! `identity/runs/<run_id>.json` (and in `identity/current.json`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResolveSummary {
    pub run_id: String,
    /// `resolve`, `unbind` or `forget`.
    pub action: String,
    pub events_files_read: u64,
    pub events_read: u64,
    pub events_without_identifier: u64,
    /// Identifiers in identity_map.
    pub identifiers: u64,
    pub new_identifiers: u64,
    /// Identifiers kept out of identity_map, by why (`hot_value`, `junk`, `erased`).
    pub excluded_identifiers: BTreeMap<String, u64>,
    /// Distinct sets of identifiers seen together in an event (the edges).
    pub identifier_sets: u64,
    pub new_identifier_sets: u64,
    /// Components of the graph: one per one_id.
    pub one_ids: u64,
    pub new_one_ids: u64,
    /// One_ids that existed before and were joined this run (recorded in identity_merges).
    pub merges: u64,
    /// One_ids divided this run (recorded in identity_merges).
    pub splits: u64,
    pub largest_one_id: Option<String>,
    pub largest_size: u64,
    /// One_ids by number of identifiers: `1`, `2`, `3-4`, `5-8`, …
    pub size_histogram: Vec<(String, u64)>,
    /// Edges refused this run, by reason (`limit:member_id`, `shared_device`, …).
    pub refused_edges: BTreeMap<String, u64>,
    pub accepted_joins: u64,
    pub hot_values_found: u64,
    pub resolved_partitions_written: u64,
    pub resolved_rows_written: u64,
    /// Heap held by the graph (identifiers, sets, union-find) per identifier.
    pub graph_bytes_per_identifier: u64,
    /// Wall time of each phase: load_state, read_events, graph,
    /// identity_map, resolved_events, lineage, state, publish.
    #[serde(default)]
    pub phases_ms: BTreeMap<String, u64>,
    pub elapsed_ms: u64,
}

/// The histogram bucket of a component size: powers of two.
pub fn size_bucket(size: u64) -> (u32, String) {
    match size {
        0 | 1 => (0, "1".into()),
        2 => (1, "2".into()),
        n => {
            let hi = n.next_power_of_two();
            let lo = hi / 2 + 1;
            (hi.trailing_zeros(), format!("{lo}-{hi}"))
        }
    }
}

impl fmt::Display for ResolveSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "identity {} ({}) in {:.1}s",
            self.run_id,
            self.action,
            self.elapsed_ms as f64 / 1e3
        )?;
        writeln!(
            f,
            "  events read       {:>12}  from {} files ({} without an identifier)",
            self.events_read, self.events_files_read, self.events_without_identifier
        )?;
        writeln!(
            f,
            "  identifiers       {:>12}  ({} new; {} distinct sets seen together, {} new)",
            self.identifiers, self.new_identifiers, self.identifier_sets, self.new_identifier_sets
        )?;
        for (why, n) in &self.excluded_identifiers {
            writeln!(f, "    excluded {why:<9}{n:>12}")?;
        }
        writeln!(
            f,
            "  one_ids           {:>12}  ({} new, {} merges, {} splits recorded)",
            self.one_ids, self.new_one_ids, self.merges, self.splits
        )?;
        if let Some(largest) = &self.largest_one_id {
            writeln!(
                f,
                "  largest one_id    {largest} with {} identifiers",
                self.largest_size
            )?;
        }
        writeln!(f, "  identifiers per one_id:")?;
        for (bucket, n) in &self.size_histogram {
            writeln!(f, "    {bucket:>7} {n:>12}")?;
        }
        let refused: u64 = self.refused_edges.values().sum();
        writeln!(
            f,
            "  edges refused     {refused:>12}  ({} joins accepted)",
            self.accepted_joins
        )?;
        for (why, n) in &self.refused_edges {
            writeln!(f, "    {why:<24}{n:>10}")?;
        }
        writeln!(f, "  hot values found  {:>12}", self.hot_values_found)?;
        writeln!(
            f,
            "  resolved_events   {:>12}  rows written in {} partitions",
            self.resolved_rows_written, self.resolved_partitions_written
        )?;
        writeln!(
            f,
            "  graph memory      {:>12}  bytes per identifier",
            self.graph_bytes_per_identifier
        )?;
        let phases: Vec<String> = self
            .phases_ms
            .iter()
            .map(|(p, ms)| format!("{p} {:.1}s", *ms as f64 / 1e3))
            .collect();
        write!(f, "  phases            {}", phases.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_powers_of_two() {
        assert_eq!(size_bucket(1).1, "1");
        assert_eq!(size_bucket(2).1, "2");
        assert_eq!(size_bucket(3).1, "3-4");
        assert_eq!(size_bucket(4).1, "3-4");
        assert_eq!(size_bucket(5).1, "5-8");
        assert_eq!(size_bucket(50).1, "33-64");
        assert!(size_bucket(4).0 < size_bucket(5).0);
    }
}
