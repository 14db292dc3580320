//! The ingest report: per source, `received = accepted + duplicates +
//! dead-lettered` (contract §2), printed and stored in the lake.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::root::Lake;

pub const REPORTS_DIR: &str = "ingest_reports";

pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceReport {
    pub source: String,
    pub received: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub dead_lettered: u64,
}

impl SourceReport {
    pub fn new(source: &str) -> Self {
        Self {
            source: source.to_string(),
            ..Self::default()
        }
    }

    /// Whether every received record is accounted for.
    pub fn balances(&self) -> bool {
        self.received == self.accepted + self.duplicates + self.dead_lettered
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestReport {
    pub run_id: String,
    pub lake: String,
    /// What was read: files, or Kafka topics.
    pub inputs: Vec<String>,
    pub started_at: String,
    pub finished_at: String,
    /// One entry per source, sorted by source name.
    pub sources: Vec<SourceReport>,
    pub balanced: bool,
    pub files_written: u64,
}

impl IngestReport {
    /// Stores the report as `ingest_reports/<run_id>.json`; returns its path.
    pub async fn store(&self, lake: &Lake) -> Result<String> {
        let path = format!("{REPORTS_DIR}/{}.json", self.run_id);
        lake.put(&path, serde_json::to_vec_pretty(self)?.into())
            .await?;
        Ok(path)
    }

    /// A fixed-width table for people.
    pub fn to_table(&self) -> String {
        let mut out = format!(
            "{:<14} {:>12} {:>12} {:>12} {:>14}  {}\n",
            "source", "received", "accepted", "duplicates", "dead-lettered", "balance"
        );
        for s in &self.sources {
            out.push_str(&format!(
                "{:<14} {:>12} {:>12} {:>12} {:>14}  {}\n",
                s.source,
                s.received,
                s.accepted,
                s.duplicates,
                s.dead_lettered,
                if s.balances() {
                    "ok"
                } else {
                    "DOES NOT BALANCE"
                }
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_balances_only_when_every_record_is_counted() {
        let mut s = SourceReport {
            source: "ad".into(),
            received: 10,
            accepted: 7,
            duplicates: 1,
            dead_lettered: 2,
        };
        assert!(s.balances());
        s.accepted -= 1;
        assert!(!s.balances());
    }
}
