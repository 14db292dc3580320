//! `cdp build`: profiles, tags and LTV as of the end of a day (UTC).

use anyhow::{Context, Result};
use cdp_config::PipelineConfig;

use crate::cli::BuildArgs;

pub async fn run(args: BuildArgs, config: &PipelineConfig) -> Result<()> {
    let as_of = chrono::NaiveDate::parse_from_str(&args.as_of, "%Y-%m-%d")
        .with_context(|| format!("--as-of {:?} is not a day YYYY-MM-DD", args.as_of))?;
    let lake = cdp_lake::Lake::open(&args.lake).context("opening the lake")?;
    let request = cdp_jobs::BuildRequest {
        as_of,
        ltv_time_unit: args
            .ltv_time_unit
            .parse::<cdp_ltv::TimeUnit>()
            .context("--ltv-time-unit")?,
        skip_ltv: args.skip_ltv,
        emit_sql: args.emit_sql,
    };
    let report = crate::progress::spin("build", cdp_jobs::build(&lake, config, &request))
        .await
        .context("cdp build failed")?;
    print_report(&report);
    println!(
        "build {}: {}builds/current.json",
        report.manifest.build_id,
        lake.url()
    );
    Ok(())
}

/// The summary `cdp build` and `cdp demo` print.
pub fn print_report(report: &cdp_jobs::BuildReport) {
    let timings: Vec<String> = report
        .timings
        .iter()
        .map(|(stage, s)| format!("{stage} {s:.2}s"))
        .collect();
    println!(
        "as of {}: {} profiles, {} tags from {} resolved_events files ({})",
        report.manifest.as_of,
        report.profiles,
        report.tags,
        report.resolved_event_files,
        timings.join(", ")
    );
    println!("tag coverage:");
    print!("{}", report.coverage_table());
    println!("ltv:");
    print!("{}", report.ltv_table());
}
