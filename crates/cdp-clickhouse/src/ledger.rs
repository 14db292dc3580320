//! The load log (`_cdp_load_log`): what each load changed, kept in
//! ClickHouse itself, next to the data it describes.
//!
//! Every publishing step (attach or replace a month, swap a table) is
//! written `pending` just before it and `done` just after. A load killed in
//! between leaves a `pending` line; the next load looks at the table to see
//! whether the step happened — every row a load writes carries its
//! `_load_version`, and the line holds the row counts before and after — and
//! writes `done` or `aborted`. The files a month or table holds are then the
//! fold of its `done` steps.

use std::collections::{BTreeMap, BTreeSet};

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use crate::error::ClickHouseError;
use crate::server::{quote_string, Server};
use crate::tables::LOAD_LOG_TABLE;

/// What a publishing step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// New files' rows attached to a month.
    Append,
    /// A month rebuilt and replaced whole.
    Replace,
    /// A month emptied (every file it held vanished from the lake).
    Drop,
    /// A whole table swapped.
    Swap,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Append => "append",
            Action::Replace => "replace",
            Action::Drop => "drop",
            Action::Swap => "swap",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "append" => Action::Append,
            "replace" => Action::Replace,
            "drop" => Action::Drop,
            "swap" => Action::Swap,
            _ => return None,
        })
    }
}

/// One line of the log, as stored (column order of 001_load_log.sql).
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
pub struct LogLine {
    pub load_version: u64,
    pub table_name: String,
    pub month: u32,
    pub action: String,
    pub state: String,
    pub files: Vec<String>,
    pub rows_before: u64,
    pub rows_after: u64,
    /// DateTime: seconds since 1970.
    pub recorded_at: u32,
}

/// One publishing step and where it ended.
#[derive(Debug, Clone)]
pub struct Step {
    pub load_version: u64,
    pub month: u32,
    pub action: Action,
    pub files: Vec<String>,
    pub rows_before: u64,
    pub rows_after: u64,
    pub state: StepState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    Pending,
    Done,
    Aborted,
}

/// The log of one table.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    steps: Vec<Step>,
}

impl Ledger {
    pub async fn read(server: &Server, table: &str) -> Result<Self, ClickHouseError> {
        let lines: Vec<LogLine> = server
            .fetch_all(&format!(
                "SELECT load_version, table_name, month, action, state, files, rows_before, rows_after, \
                 toUInt32(recorded_at) FROM {LOAD_LOG_TABLE} WHERE table_name = {} ORDER BY load_version, month",
                quote_string(table)
            ))
            .await?;
        Self::from_lines(table, lines)
    }

    pub fn from_lines(table: &str, lines: Vec<LogLine>) -> Result<Self, ClickHouseError> {
        let mut steps: BTreeMap<(u64, u32), Step> = BTreeMap::new();
        for line in lines {
            let action = Action::parse(&line.action).ok_or_else(|| ClickHouseError::State {
                table: table.to_string(),
                reason: format!("unknown action {:?} in {LOAD_LOG_TABLE}", line.action),
            })?;
            let state = match line.state.as_str() {
                "pending" => StepState::Pending,
                "done" => StepState::Done,
                "aborted" => StepState::Aborted,
                other => {
                    return Err(ClickHouseError::State {
                        table: table.to_string(),
                        reason: format!("unknown state {other:?} in {LOAD_LOG_TABLE}"),
                    })
                }
            };
            let step = steps
                .entry((line.load_version, line.month))
                .or_insert(Step {
                    load_version: line.load_version,
                    month: line.month,
                    action,
                    files: line.files.clone(),
                    rows_before: line.rows_before,
                    rows_after: line.rows_after,
                    state,
                });
            // done / aborted settle a pending step, whatever order they were read in.
            if state != StepState::Pending {
                step.state = state;
            }
        }
        Ok(Self {
            steps: steps.into_values().collect(),
        })
    }

    /// Steps a killed load left unsettled.
    pub fn pending(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.state == StepState::Pending)
    }

    /// The files `month` (0: the whole table) holds: its done steps folded
    /// in load order.
    pub fn loaded_files(&self, month: u32) -> BTreeSet<String> {
        let mut files = BTreeSet::new();
        for step in self
            .steps
            .iter()
            .filter(|s| s.month == month && s.state == StepState::Done)
        {
            match step.action {
                Action::Append => files.extend(step.files.iter().cloned()),
                Action::Replace | Action::Drop | Action::Swap => {
                    files = step.files.iter().cloned().collect();
                }
            }
        }
        files
    }

    /// Months with files loaded.
    pub fn months(&self) -> BTreeSet<u32> {
        self.steps
            .iter()
            .filter(|s| s.state == StepState::Done)
            .map(|s| s.month)
            .filter(|&m| !self.loaded_files(m).is_empty())
            .collect()
    }
}

/// Appends one line to the log.
pub async fn record(server: &Server, table: &str, step: &Step) -> Result<(), ClickHouseError> {
    let state = match step.state {
        StepState::Pending => "pending",
        StepState::Done => "done",
        StepState::Aborted => "aborted",
    };
    let line = LogLine {
        load_version: step.load_version,
        table_name: table.to_string(),
        month: step.month,
        action: step.action.as_str().to_string(),
        state: state.to_string(),
        files: step.files.clone(),
        rows_before: step.rows_before,
        rows_after: step.rows_after,
        recorded_at: chrono::Utc::now().timestamp() as u32,
    };
    let what = format!("INSERT INTO {LOAD_LOG_TABLE} ({table}, {state})");
    // A duplicated line is harmless (steps are keyed by version and month).
    crate::retry::retrying(&server.settings, &what, || async {
        let attempt = async {
            let mut insert = server.client.insert::<LogLine>(LOAD_LOG_TABLE).await?;
            insert.write(&line).await?;
            insert.end().await
        };
        attempt
            .await
            .map_err(|e| ClickHouseError::external(&server.config, &what, e))
    })
    .await
}

/// The largest version any load used, 0 for none.
pub async fn last_version(server: &Server) -> Result<u64, ClickHouseError> {
    server
        .fetch_u64(&format!("SELECT max(load_version) FROM {LOAD_LOG_TABLE}"))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(version: u64, month: u32, action: &str, state: &str, files: &[&str]) -> LogLine {
        LogLine {
            load_version: version,
            table_name: "t".into(),
            month,
            action: action.into(),
            state: state.into(),
            files: files.iter().map(|f| f.to_string()).collect(),
            rows_before: 0,
            rows_after: 0,
            recorded_at: 0,
        }
    }

    #[test]
    fn done_steps_fold_and_pending_or_aborted_ones_do_not() {
        let ledger = Ledger::from_lines(
            "t",
            vec![
                line(1, 202601, "append", "pending", &["a"]),
                line(1, 202601, "append", "done", &["a"]),
                line(2, 202601, "append", "pending", &["b"]),
                line(2, 202601, "append", "done", &["b"]),
                line(3, 202601, "replace", "pending", &["b", "c"]),
                line(3, 202601, "replace", "done", &["b", "c"]),
                line(4, 202601, "append", "pending", &["d"]),
                line(4, 202601, "append", "aborted", &["d"]),
                line(5, 202602, "append", "pending", &["x"]),
            ],
        )
        .unwrap();
        assert_eq!(
            ledger.loaded_files(202601),
            ["b", "c"].map(String::from).into()
        );
        assert!(ledger.loaded_files(202602).is_empty());
        let pending: Vec<_> = ledger
            .pending()
            .map(|s| (s.load_version, s.month))
            .collect();
        assert_eq!(pending, [(5, 202602)]);
        assert_eq!(ledger.months(), [202601].into());
    }

    #[test]
    fn a_dropped_month_holds_nothing() {
        let ledger = Ledger::from_lines(
            "t",
            vec![
                line(1, 202601, "append", "done", &["a"]),
                line(2, 202601, "drop", "done", &[]),
            ],
        )
        .unwrap();
        assert!(ledger.loaded_files(202601).is_empty());
        assert!(ledger.months().is_empty());
    }
}
