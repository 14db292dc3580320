//! `cdp generate`: a synthetic private-domain retail world written as the
//! four reference sources (contract §1) with every feed mistake the contract
//! lists, plus its ground truth.
//!
//! Output directory:
//! - `online.jsonl`, `offline.jsonl`, `ad.jsonl`, `transaction.jsonl`: one
//!   JSON object per line, field names as in the contract;
//! - `truth/identifiers.csv` (`person_id,id_type,id_value`): every canonical
//!   identifier (derived hashes included) the pipeline can extract from each
//!   person's *accepted* lines; junk never appears; household tablet ids are
//!   listed under every member who used them; store phones under nobody;
//! - `truth/shared_identifiers.csv` (`id_type,id_value,reason`): tablet ids
//!   (`household_tablet`) and store phones with their hashes (`store_phone`);
//! - `truth/revenue.csv` (`person_id,net_revenue_fen,orders_paid,orders_refunded`)
//!   for every person with an accepted transaction line;
//! - `truth/summary.json`: the [`WorldSummary`]; for every source,
//!   accepted = lines − malformed − duplicates exactly.
//!
//! Deterministic for a seed: every person is simulated from its own
//! generator, persons are processed in fixed blocks, and the blocks' output
//! is concatenated in order, whatever the number of threads. Only
//! `elapsed_ms` in `summary.json` changes between runs.

mod ad;
mod catalog;
mod clock;
mod error;
mod formats;
mod ids;
mod json;
mod life;
mod offline;
mod online;
mod rng;
mod run;
mod sink;
mod transaction;
mod truth;
mod world;

use std::path::Path;

pub use error::GenerateError;

/// The junk values the generator plants (contract §3), for tests elsewhere.
pub use formats::{EMPTY_MD5, JUNK, PLACEHOLDER_MOBILES, ZERO_IDFA};

#[derive(Debug, Clone)]
pub struct WorldConfig {
    pub persons: u64,
    pub seed: u64,
    /// First local (Asia/Shanghai) day of activity.
    pub start_date: chrono::NaiveDate,
    /// Number of days of activity.
    pub days: u32,
}

impl Default for WorldConfig {
    fn default() -> Self {
        Self {
            persons: 50_000,
            seed: 42,
            start_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid date"),
            days: 330,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct WorldSummary {
    pub persons: u64,
    pub seed: u64,
    /// One entry per source, sorted by source name.
    pub sources: Vec<SourceCounts>,
    /// Rows of `truth/identifiers.csv`.
    pub truth_identifiers: u64,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SourceCounts {
    /// `online`, `offline`, `ad` or `transaction`.
    pub source: String,
    /// File name inside the output directory.
    pub path: String,
    pub lines: u64,
    /// Lines the contract's normalisers must dead-letter.
    pub malformed: u64,
    /// Exact re-deliveries of an earlier accepted line.
    pub duplicates: u64,
}

impl SourceCounts {
    /// Lines the pipeline must accept: `lines - malformed - duplicates`.
    pub fn accepted(&self) -> u64 {
        self.lines - self.malformed - self.duplicates
    }
}

/// Writes the world into `out_dir` (created if missing): `online.jsonl`,
/// `offline.jsonl`, `ad.jsonl`, `transaction.jsonl` and `truth/`.
pub fn generate(config: &WorldConfig, out_dir: &Path) -> Result<WorldSummary, GenerateError> {
    run::generate(config, out_dir)
}
