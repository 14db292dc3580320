//! `cdp load`: every table of the lake into ClickHouse, as `tables.rs` maps
//! them. Analysts never see a half-loaded table:
//!
//! - month-partitioned tables (resolved_events): the rows of files not
//!   loaded yet are written to a staging twin, then attached to their month
//!   (`ATTACH PARTITION … FROM`); a month whose loaded files were rewritten
//!   in the lake is rebuilt in the staging twin (the rows it keeps copied
//!   inside ClickHouse, the rewritten partitions read again) and replaces
//!   the month (`REPLACE PARTITION … FROM`). Each is atomic per month.
//! - other tables: written whole to a staging twin, then swapped in with one
//!   `RENAME TABLE t TO old, stage TO t` (18.16 has no EXCHANGE TABLES).
//!
//! What is loaded is tracked in ClickHouse (`_cdp_load_log`, see
//! `ledger.rs`), not in the lake: it describes that server's tables, the
//! loader may only read the lake, and two servers fed from one lake each
//! keep their own state.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use cdp_lake::Lake;
use tracing::{info, info_span, warn, Instrument};

use crate::error::ClickHouseError;
use crate::lake_files::{by_month, current_files, partition_of};
use crate::ledger::{self, Action, Ledger, Step, StepState};
use crate::quote_ident;
use crate::server::{quote_string, Idempotent, Server};
use crate::stream::{stream_files, Streamed};
use crate::tables::{
    retired_table, staging_table, LoadMode, TableSpec, LOAD_VERSION_COLUMN, TABLES,
};

/// The column month partitions are computed from (`PARTITION BY toYYYYMM(…)`).
const MONTH_TIME_COLUMN: &str = "event_time";

/// Test hook for crash tests: `CDP_LOAD_HALT_AT=before_publish:TABLE:FILE`
/// (or `after_publish:…`) makes the load create FILE and wait, until killed,
/// at that point of its first publishing step of TABLE.
pub const HALT_ENV: &str = "CDP_LOAD_HALT_AT";

/// What the caller may ask of a load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Reload every table and month from the lake, as if nothing were loaded.
    pub full_reload: bool,
}

/// What a load did, per table.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub database: String,
    pub server_version: String,
    /// The `_load_version` of every row this load wrote.
    pub load_version: u64,
    pub migrations_applied: Vec<String>,
    /// Steps a killed load had left pending, and how they were settled.
    pub settled: Vec<String>,
    pub tables: Vec<TableReport>,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone)]
pub struct TableReport {
    pub table: String,
    pub provisional: bool,
    pub outcome: Outcome,
    /// Lake files read by this load.
    pub files_loaded: usize,
    /// Rows read from the lake and written by this load.
    pub rows_loaded: u64,
    /// RowBinary bytes sent for them (before compression).
    pub bytes_sent: u64,
    /// Rows of the table after the load.
    pub rows_in_table: u64,
    /// Month partitions this load changed, with how.
    pub months: Vec<(u32, Action)>,
    /// Lake columns the table has no column for.
    pub ignored_columns: Vec<String>,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not in the lake yet (e.g. no build ran); the table is left as it is.
    NotInLake,
    /// Every file is already loaded.
    Unchanged,
    Loaded,
}

impl LoadReport {
    /// A table for people: one line per table.
    pub fn to_table(&self) -> String {
        let mut out = format!(
            "{:<16} {:>12} {:>12} {:>7} {:>9}  {}\n",
            "table", "rows loaded", "rows in CH", "files", "seconds", "outcome"
        );
        for t in &self.tables {
            let outcome = match t.outcome {
                Outcome::NotInLake => "not in the lake yet".to_string(),
                Outcome::Unchanged => "unchanged".to_string(),
                Outcome::Loaded if t.months.is_empty() => "swapped".to_string(),
                Outcome::Loaded => {
                    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                    for (_, action) in &t.months {
                        *counts.entry(action.as_str()).or_default() += 1;
                    }
                    let parts: Vec<String> = counts
                        .iter()
                        .map(|(a, n)| format!("{a} {n} month(s)"))
                        .collect();
                    parts.join(", ")
                }
            };
            out.push_str(&format!(
                "{:<16} {:>12} {:>12} {:>7} {:>9.1}  {}{}\n",
                t.table,
                t.rows_loaded,
                t.rows_in_table,
                t.files_loaded,
                t.elapsed_ms as f64 / 1e3,
                outcome,
                if t.provisional {
                    " (provisional columns)"
                } else {
                    ""
                }
            ));
        }
        out
    }
}

/// Loads every table of `lake` into the database of `server`.
pub async fn load(
    server: &Server,
    lake: &Lake,
    options: &LoadOptions,
) -> Result<LoadReport, ClickHouseError> {
    let started = Instant::now();
    let server_version = crate::ping(&server.config).await?;
    let migrations_applied = crate::migrations::apply(server)
        .await?
        .into_iter()
        .map(String::from)
        .collect();
    let mut settled = Vec::new();
    for spec in TABLES {
        settled.extend(settle_pending(server, spec).await?);
        drop_table(server, &staging_table(spec.name)).await?;
        drop_table(server, &retired_table(spec.name)).await?;
    }
    // Strictly increasing, and readable as a time: microseconds since 1970.
    let now_us = chrono::Utc::now().timestamp_micros() as u64;
    let load_version = now_us.max(ledger::last_version(server).await? + 1);
    info!(database = %server.config.database, load_version, "loading");

    let mut halt = Halt::from_env();
    let mut tables = Vec::new();
    for spec in TABLES {
        let span = info_span!("load_table", table = spec.name);
        let report = load_table(server, lake, spec, load_version, options, &mut halt)
            .instrument(span)
            .await?;
        info!(
            table = spec.name,
            rows_loaded = report.rows_loaded,
            rows_in_table = report.rows_in_table,
            files = report.files_loaded,
            outcome = ?report.outcome,
            "table done"
        );
        tables.push(report);
    }
    Ok(LoadReport {
        database: server.config.database.clone(),
        server_version,
        load_version,
        migrations_applied,
        settled,
        tables,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

async fn load_table(
    server: &Server,
    lake: &Lake,
    spec: &TableSpec,
    version: u64,
    options: &LoadOptions,
    halt: &mut Halt,
) -> Result<TableReport, ClickHouseError> {
    let started = Instant::now();
    let mut report = TableReport {
        table: spec.name.to_string(),
        provisional: spec.provisional,
        outcome: Outcome::Unchanged,
        files_loaded: 0,
        rows_loaded: 0,
        bytes_sent: 0,
        rows_in_table: 0,
        months: Vec::new(),
        ignored_columns: Vec::new(),
        elapsed_ms: 0,
    };
    match current_files(lake, spec).await? {
        None => report.outcome = Outcome::NotInLake,
        Some(files) => {
            let ledger = Ledger::read(server, spec.name).await?;
            let mut streamed = Vec::new();
            match spec.mode {
                LoadMode::Swap => {
                    if let Some(s) =
                        swap_table(server, lake, spec, &ledger, files, version, options, halt)
                            .await?
                    {
                        streamed.push(s);
                    }
                }
                LoadMode::ByMonth => {
                    let months = by_month(&files)?;
                    let all: BTreeSet<u32> =
                        months.keys().copied().chain(ledger.months()).collect();
                    for month in all {
                        let current = months.get(&month).cloned().unwrap_or_default();
                        if let Some((action, s)) = load_month(
                            server, lake, spec, &ledger, month, current, version, options, halt,
                        )
                        .await?
                        {
                            report.months.push((month, action));
                            streamed.push(s);
                        }
                    }
                }
            }
            if !streamed.is_empty() {
                report.outcome = Outcome::Loaded;
            }
            let mut ignored = BTreeSet::new();
            for s in streamed {
                report.files_loaded += s.files;
                report.rows_loaded += s.rows;
                report.bytes_sent += s.bytes;
                ignored.extend(s.ignored_columns);
            }
            report.ignored_columns = ignored.into_iter().collect();
        }
    }
    report.rows_in_table = server.count_rows(spec.name, None).await?;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

async fn drop_table(server: &Server, table: &str) -> Result<(), ClickHouseError> {
    server
        .execute(
            &format!("DROP TABLE IF EXISTS {}", quote_ident(table)),
            Idempotent::Yes,
        )
        .await
}

/// `DROP` and `CREATE … AS` the staging twin of `table`.
async fn fresh_stage(server: &Server, table: &str) -> Result<String, ClickHouseError> {
    let stage = staging_table(table);
    drop_table(server, &stage).await?;
    server
        .execute(
            &format!(
                "CREATE TABLE IF NOT EXISTS {} AS {}",
                quote_ident(&stage),
                quote_ident(table)
            ),
            Idempotent::Yes,
        )
        .await?;
    Ok(stage)
}

#[allow(clippy::too_many_arguments)]
async fn swap_table(
    server: &Server,
    lake: &Lake,
    spec: &TableSpec,
    ledger: &Ledger,
    files: Vec<String>,
    version: u64,
    options: &LoadOptions,
    halt: &mut Halt,
) -> Result<Option<Streamed>, ClickHouseError> {
    let current: BTreeSet<String> = files.iter().cloned().collect();
    if !options.full_reload && ledger.loaded_files(0) == current {
        return Ok(None);
    }
    let table = spec.name;
    let stage = fresh_stage(server, table).await?;
    let streamed = stream_files(server, lake, table, &stage, files.clone(), version, 0).await?;
    let rows_after = server.count_rows(&stage, None).await?;
    expect_rows(&stage, rows_after, streamed.rows)?;
    let rows_before = server.count_rows(table, None).await?;
    let mut step = Step {
        load_version: version,
        month: 0,
        action: Action::Swap,
        files,
        rows_before,
        rows_after,
        state: StepState::Pending,
    };
    ledger::record(server, table, &step).await?;
    halt.at(HaltPoint::BeforePublish, table);
    let retired = retired_table(table);
    drop_table(server, &retired).await?;
    server
        .execute(
            &format!(
                "RENAME TABLE {t} TO {old}, {stage} TO {t}",
                t = quote_ident(table),
                old = quote_ident(&retired),
                stage = quote_ident(&stage)
            ),
            Idempotent::No,
        )
        .await?;
    halt.at(HaltPoint::AfterPublish, table);
    step.state = StepState::Done;
    ledger::record(server, table, &step).await?;
    drop_table(server, &retired).await?;
    Ok(Some(streamed))
}

fn month_filter(month: u32) -> String {
    format!("toYYYYMM({MONTH_TIME_COLUMN}) = {month}")
}

#[allow(clippy::too_many_arguments)]
async fn load_month(
    server: &Server,
    lake: &Lake,
    spec: &TableSpec,
    ledger: &Ledger,
    month: u32,
    current: Vec<String>,
    version: u64,
    options: &LoadOptions,
    halt: &mut Halt,
) -> Result<Option<(Action, Streamed)>, ClickHouseError> {
    let table = spec.name;
    let loaded = if options.full_reload {
        BTreeSet::new()
    } else {
        ledger.loaded_files(month)
    };
    let current_set: BTreeSet<String> = current.iter().cloned().collect();
    let vanished: Vec<&String> = loaded.difference(&current_set).collect();
    let new: Vec<String> = current_set.difference(&loaded).cloned().collect();
    // A full reload rebuilds every month, also one already holding exactly these files.
    if !options.full_reload && vanished.is_empty() && new.is_empty() {
        return Ok(None);
    }
    let rows_before = server.count_rows(table, Some(&month_filter(month))).await?;
    let stage = fresh_stage(server, table).await?;
    let append = vanished.is_empty() && !options.full_reload;

    let (to_stream, copied, action, logged_files) = if append {
        (new.clone(), 0, Action::Append, new)
    } else {
        // Lake partitions (source, day) to read again: those that lost a
        // file; on a full reload, all. Rows of the other partitions of the
        // month are copied from the table inside ClickHouse.
        let dirty: BTreeSet<Vec<(String, String)>> = if options.full_reload {
            BTreeSet::new()
        } else {
            vanished.iter().map(|f| partition_of(f)).collect()
        };
        let copied = if options.full_reload || rows_before == 0 {
            0
        } else {
            let keep = keep_condition(&dirty);
            server
                .execute(
                    &format!(
                        "INSERT INTO {} SELECT * FROM {} WHERE {} AND {keep}",
                        quote_ident(&stage),
                        quote_ident(table),
                        month_filter(month)
                    ),
                    Idempotent::No,
                )
                .await?;
            server.count_rows(&stage, None).await?
        };
        let to_stream: Vec<String> = current
            .iter()
            .filter(|f| options.full_reload || dirty.contains(&partition_of(f)) || new.contains(f))
            .cloned()
            .collect();
        let action = if current.is_empty() {
            Action::Drop
        } else {
            Action::Replace
        };
        (to_stream, copied, action, current.clone())
    };
    info!(%table, month, action = action.as_str(), files = to_stream.len(), copied, "staging month");
    let streamed = stream_files(server, lake, table, &stage, to_stream, version, copied).await?;
    let staged = server.count_rows(&stage, None).await?;
    expect_rows(&stage, staged, copied + streamed.rows)?;
    let outside = server
        .count_rows(&stage, Some(&format!("NOT ({})", month_filter(month))))
        .await?;
    if outside > 0 {
        return Err(ClickHouseError::Column {
            table: table.to_string(),
            column: MONTH_TIME_COLUMN.to_string(),
            file: format!("one of {} files of month {month}", streamed.files),
            reason: format!("{outside} row(s) fall outside the month of their dt= folder"),
        });
    }
    let action = if action == Action::Replace && staged == 0 {
        Action::Drop
    } else {
        action
    };
    let rows_after = if append { rows_before + staged } else { staged };
    let mut step = Step {
        load_version: version,
        month,
        action,
        files: logged_files,
        rows_before,
        rows_after,
        state: StepState::Pending,
    };
    if append && staged == 0 {
        // Only empty files: nothing to publish, but they are loaded now.
        step.state = StepState::Done;
        ledger::record(server, table, &step).await?;
        drop_table(server, &stage).await?;
        return Ok(Some((action, streamed)));
    }
    ledger::record(server, table, &step).await?;
    halt.at(HaltPoint::BeforePublish, table);
    let publish = match action {
        Action::Append => format!(
            "ALTER TABLE {} ATTACH PARTITION {month} FROM {}",
            quote_ident(table),
            quote_ident(&stage)
        ),
        Action::Replace => format!(
            "ALTER TABLE {} REPLACE PARTITION {month} FROM {}",
            quote_ident(table),
            quote_ident(&stage)
        ),
        Action::Drop | Action::Swap => {
            format!("ALTER TABLE {} DROP PARTITION {month}", quote_ident(table))
        }
    };
    server.execute(&publish, Idempotent::No).await?;
    halt.at(HaltPoint::AfterPublish, table);
    step.state = StepState::Done;
    ledger::record(server, table, &step).await?;
    drop_table(server, &stage).await?;
    Ok(Some((action, streamed)))
}

/// Rows outside the `dirty` Hive partitions (each a list of `key=value`
/// with `dt` the UTC day of the month column).
fn keep_condition(dirty: &BTreeSet<Vec<(String, String)>>) -> String {
    if dirty.is_empty() {
        return "1".to_string();
    }
    let matches: Vec<String> = dirty
        .iter()
        .map(|partition| {
            let terms: Vec<String> = partition
                .iter()
                .map(|(key, value)| {
                    if key == "dt" {
                        format!(
                            "toDate({MONTH_TIME_COLUMN}) = toDate({})",
                            quote_string(value)
                        )
                    } else {
                        format!("{} = {}", quote_ident(key), quote_string(value))
                    }
                })
                .collect();
            format!("({})", terms.join(" AND "))
        })
        .collect();
    format!("NOT ({})", matches.join(" OR "))
}

fn expect_rows(stage: &str, counted: u64, expected: u64) -> Result<(), ClickHouseError> {
    if counted != expected {
        return Err(ClickHouseError::State {
            table: stage.to_string(),
            reason: format!("staging holds {counted} rows, {expected} were written"),
        });
    }
    Ok(())
}

/// Settles the steps of `spec`'s table that a killed load left pending, by
/// looking at the table: rows of that load's version, or the row count it
/// was to leave, show the step happened.
async fn settle_pending(server: &Server, spec: &TableSpec) -> Result<Vec<String>, ClickHouseError> {
    let ledger = Ledger::read(server, spec.name).await?;
    let mut settled = Vec::new();
    for step in ledger.pending() {
        let scope = match spec.mode {
            LoadMode::ByMonth => Some(month_filter(step.month)),
            LoadMode::Swap => None,
        };
        let versioned = server
            .count_rows(
                spec.name,
                Some(&match &scope {
                    Some(filter) => {
                        format!("{filter} AND {LOAD_VERSION_COLUMN} = {}", step.load_version)
                    }
                    None => format!("{LOAD_VERSION_COLUMN} = {}", step.load_version),
                }),
            )
            .await?;
        let now = server.count_rows(spec.name, scope.as_deref()).await?;
        let happened = versioned > 0
            || (step.rows_after != step.rows_before && now == step.rows_after)
            || (step.rows_after == 0 && step.rows_before == 0);
        let mut settled_step = step.clone();
        settled_step.state = if happened {
            StepState::Done
        } else {
            StepState::Aborted
        };
        ledger::record(server, spec.name, &settled_step).await?;
        let what = format!(
            "{} {} of load {} (month {}): {}",
            spec.name,
            step.action.as_str(),
            step.load_version,
            step.month,
            if happened {
                "had happened; recorded as done"
            } else {
                "had not happened; recorded as aborted"
            }
        );
        warn!("{what}");
        settled.push(what);
    }
    Ok(settled)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HaltPoint {
    BeforePublish,
    AfterPublish,
}

/// The crash-test hook of [`HALT_ENV`]: fires once.
struct Halt(Option<(HaltPoint, String, std::path::PathBuf)>);

impl Halt {
    fn from_env() -> Self {
        let parsed = std::env::var(HALT_ENV).ok().and_then(|v| {
            let mut parts = v.splitn(3, ':');
            let point = match parts.next()? {
                "before_publish" => HaltPoint::BeforePublish,
                "after_publish" => HaltPoint::AfterPublish,
                _ => return None,
            };
            let table = parts.next()?.to_string();
            Some((point, table, std::path::PathBuf::from(parts.next()?)))
        });
        Self(parsed)
    }

    fn at(&mut self, point: HaltPoint, table: &str) {
        if self
            .0
            .as_ref()
            .is_some_and(|(p, t, _)| *p == point && t == table)
        {
            let (_, _, file) = self.0.take().expect("checked");
            warn!(?point, table, file = %file.display(), "{HALT_ENV}: halting here until killed");
            let _ = std::fs::write(&file, b"halted");
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_condition_excludes_exactly_the_dirty_partitions() {
        let dirty: BTreeSet<Vec<(String, String)>> = [vec![
            ("source".to_string(), "online".to_string()),
            ("dt".to_string(), "2026-03-02".to_string()),
        ]]
        .into();
        assert_eq!(
            keep_condition(&dirty),
            "NOT ((`source` = 'online' AND toDate(event_time) = toDate('2026-03-02')))"
        );
        assert_eq!(keep_condition(&BTreeSet::new()), "1");
    }
}
