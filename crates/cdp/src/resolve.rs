//! `cdp resolve`: the identity graph over the lake's events.

use anyhow::{Context, Result};
use cdp_config::PipelineConfig;

use crate::cli::LakeArgs;

pub async fn run(args: LakeArgs, config: &PipelineConfig) -> Result<()> {
    let lake = cdp_lake::Lake::open(&args.lake).context("opening the lake")?;
    let summary = crate::progress::spin(
        "resolve",
        cdp_identity::resolve(&lake, &config.identity_config()),
    )
    .await
    .context("resolve failed")?;
    println!("{summary}");
    println!(
        "summary: {}identity/runs/{}.json; tables: identity_map/ resolved_events/ identity_merges/ identity_conflicts/",
        lake.url(),
        summary.run_id
    );
    Ok(())
}
