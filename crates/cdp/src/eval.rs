//! `cdp eval`: identity quality against a generated world's truth.

use anyhow::{bail, Context, Result};
use cdp_config::PipelineConfig;

use crate::cli::EvalArgs;

pub async fn run(args: EvalArgs, config: &PipelineConfig) -> Result<()> {
    let lake = cdp_lake::Lake::open(&args.lake).context("opening the lake")?;
    let report = cdp_identity::eval(&lake, &config.identity_config(), &args.truth)
        .await
        .context("eval failed")?;
    println!("{report}");
    for line in report.over_limits.iter().take(10) {
        println!("    {line}");
    }
    if report.junk_in_map > 0 || !report.over_limits.is_empty() {
        bail!("identity_map holds junk values or one_ids over the limits");
    }
    Ok(())
}
