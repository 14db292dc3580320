//! `cdp report`: one self-contained HTML file that shows, after a run,
//! whether the identity graph is healthy and what the customer base looks
//! like: events and dead letters per source, identity (one_ids, identifiers
//! per one_id, largest components, refused merges, merges over time), the
//! lifecycle funnel, acquisition channels, LTV and P(alive), and the coverage
//! of the exclusive tag groups.
//!
//! Every figure is a query of `pipelines/sql/report/` over the lake's tables
//! (the current build's files for the build's tables, see
//! [`lake_tables`]); charts are drawn by plotters as inline SVG. Every
//! figure in a table carries its exact value in `data-value`, every chart a
//! stable `data-chart` id.

pub mod charts;
pub mod error;
pub mod html;
pub mod lake_tables;
pub mod queries;
mod sections;

use std::path::Path;

use cdp_lake::Lake;

pub use error::{ReportError, Result};

/// Threads of the report's DataFusion session: the queries are small.
const THREADS: usize = 2;

/// A rendered report.
#[derive(Debug, Clone)]
pub struct Report {
    pub html: String,
    /// The `data-chart` ids, in page order.
    pub charts: Vec<String>,
    /// Charts drawn empty because the lake lacks their data (id, why).
    pub empty_charts: Vec<(String, String)>,
    pub build_id: String,
    pub as_of: String,
}

/// Renders the report of the lake's current build. `progress(done, total,
/// query)` is called after each query.
pub async fn render(lake: &Lake, progress: &mut dyn FnMut(usize, usize, &str)) -> Result<Report> {
    let build = cdp_jobs::publish::current(lake)
        .await?
        .ok_or_else(|| ReportError::NoBuild {
            lake: lake.url().to_string(),
        })?;
    let ctx = cdp_jobs::session::new_session(lake, THREADS)?;
    let registered = lake_tables::register_all(&ctx, lake, &build).await?;
    let results = sections::Results::run(&ctx, progress).await?;
    sections::render(lake, &build, &registered, &results)
}

/// Renders the report and writes it to `out` (through a temp file beside
/// it, so that a reader never sees half a report).
pub async fn write(
    lake: &Lake,
    out: &Path,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<Report> {
    let report = render(lake, progress).await?;
    let failed = |source| ReportError::Write {
        path: out.display().to_string(),
        source,
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let mut temp = out.as_os_str().to_owned();
    temp.push(".tmp");
    std::fs::write(&temp, &report.html).map_err(failed)?;
    std::fs::rename(&temp, out).map_err(failed)?;
    tracing::info!(out = %out.display(), charts = report.charts.len(), "report written");
    Ok(report)
}
