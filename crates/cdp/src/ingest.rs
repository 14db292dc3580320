//! `cdp ingest`: JSONL backfills (`--input`) into the lake.

use anyhow::{bail, Context, Result};
use cdp_config::PipelineConfig;

use crate::cli::IngestArgs;

pub async fn run(args: IngestArgs, config: &PipelineConfig) -> Result<()> {
    if args.kafka.is_some() || args.input.is_empty() {
        bail!("cdp ingest from Kafka: not implemented yet (issue: Kafka consumers); pass --input KIND=PATH");
    }
    let inputs = args
        .input
        .iter()
        .map(|spec| cdp_ingest::InputSpec::parse(spec, config))
        .collect::<Result<Vec<_>, _>>()?;
    let lake = cdp_lake::Lake::open(&args.lake).context("opening the lake")?;
    let report = cdp_ingest::ingest_files(&lake, config, inputs)
        .await
        .context("ingest failed")?;
    print!("{}", report.to_table());
    println!(
        "report: {}ingest_reports/{}.json",
        lake.url(),
        report.run_id
    );
    if !report.balanced {
        bail!(
            "the ingest report does not balance: received != accepted + duplicates + dead-lettered"
        );
    }
    Ok(())
}
