//! `cdp load`: every lake table into ClickHouse for BI analysts.

use anyhow::{Context, Result};
use cdp_clickhouse::{ClickHouseConfig, LoadOptions, LoadReport, Server};
use cdp_config::PipelineConfig;

use crate::cli::LoadArgs;

pub async fn run(args: LoadArgs, config: &PipelineConfig) -> Result<()> {
    let report = load_lake(
        &args.lake,
        &args.clickhouse,
        args.database.as_deref(),
        args.full_reload,
        config,
    )
    .await?;
    print_report(&report);
    Ok(())
}

/// Loads `lake` into the ClickHouse at `url` (credentials from the
/// environment); shared with `cdp demo --clickhouse`.
pub async fn load_lake(
    lake: &str,
    url: &str,
    database: Option<&str>,
    full_reload: bool,
    config: &PipelineConfig,
) -> Result<LoadReport> {
    let database = database.unwrap_or(&config.clickhouse.database);
    let target = ClickHouseConfig::from_url_and_env(url).with_database(database);
    target
        .validate()
        .context("checking --clickhouse and --database")?;
    let lake = cdp_lake::Lake::open(lake).with_context(|| format!("opening the lake {lake}"))?;
    let server = Server::connect(&target, &config.clickhouse)
        .await
        .with_context(|| format!("connecting to ClickHouse at {url}"))?;
    crate::progress::spin(
        "load",
        cdp_clickhouse::load(&server, &lake, &LoadOptions { full_reload }),
    )
    .await
    .with_context(|| {
        format!(
            "loading {} into ClickHouse database `{database}` at {url}",
            lake.url()
        )
    })
}

pub fn print_report(report: &LoadReport) {
    println!(
        "loaded into ClickHouse {} database `{}` (load version {}) in {:.1}s",
        report.server_version,
        report.database,
        report.load_version,
        report.elapsed_ms as f64 / 1e3
    );
    if !report.migrations_applied.is_empty() {
        println!(
            "migrations applied: {}",
            report.migrations_applied.join(", ")
        );
    }
    for line in &report.settled {
        println!("settled an interrupted load: {line}");
    }
    print!("{}", report.to_table());
    for t in &report.tables {
        if !t.ignored_columns.is_empty() {
            println!(
                "note: {}: lake columns without a ClickHouse column, not loaded: {}",
                t.table,
                t.ignored_columns.join(", ")
            );
        }
    }
}
