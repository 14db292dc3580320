//! `cdp forget`: erase a person (right to erasure).

use anyhow::{Context, Result};
use cdp_config::PipelineConfig;

use crate::cli::IdentifierArgs;

pub async fn run(args: IdentifierArgs, config: &PipelineConfig) -> Result<()> {
    let (lake, id) = crate::identity::target(&args, config)?;
    let record = cdp_identity::forget(&lake, &config.identity_config(), &id)
        .await
        .context("forget failed")?;
    println!(
        "erased {} ({} identifiers), {} events deleted, {} events stripped of its identifiers, {} events files and {} resolved partitions rewritten",
        record.one_id.as_deref().unwrap_or("an identifier outside every one_id"),
        record.identifiers_erased.values().sum::<u64>(),
        record.events_deleted,
        record.events_stripped,
        record.events_files_rewritten.len(),
        record.resolved_partitions_rewritten
    );
    println!(
        "record (no personal data): {}identity/erasures/{}.json",
        lake.url(),
        record.erasure_id
    );
    println!("{}", record.note);
    Ok(())
}
