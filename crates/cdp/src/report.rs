//! `cdp report`: one self-contained HTML file with charts of the lake.

use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::ReportArgs;
use crate::progress;

pub async fn run(args: ReportArgs) -> Result<()> {
    let lake = cdp_lake::Lake::open(&args.lake).context("opening the lake")?;
    let report = write_report(&lake, &args.out).await?;
    print_summary(&report, &args.out);
    Ok(())
}

/// Renders the lake's report into `out` with a progress bar; shared with
/// `cdp demo`.
pub async fn write_report(lake: &cdp_lake::Lake, out: &Path) -> Result<cdp_report::Report> {
    let bar = progress::steps("report", cdp_report::queries::ALL.len());
    cdp_report::write(lake, out, &mut |done, _, query| bar.step(done, query))
        .await
        .context("cdp report failed")
}

pub fn print_summary(report: &cdp_report::Report, out: &Path) {
    println!(
        "report of build {} (as of {}): {} charts → {}",
        report.build_id,
        report.as_of,
        report.charts.len(),
        out.display()
    );
    for (chart, why) in &report.empty_charts {
        println!("  {chart}: empty, {why}");
    }
}
