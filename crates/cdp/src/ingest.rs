//! `cdp ingest`: JSONL backfills (`--input`) or Kafka consumers into the lake.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use cdp_config::PipelineConfig;
use cdp_ingest::kafka::{ingest_kafka, KafkaIngestSummary, KafkaRun};

use crate::cli::IngestArgs;

pub async fn run(args: IngestArgs, config: &PipelineConfig) -> Result<()> {
    let lake = cdp_lake::Lake::open(&args.lake).context("opening the lake")?;
    if args.input.is_empty() {
        let Some(brokers) = args.kafka.or_else(|| config.kafka.brokers.clone()) else {
            bail!("nothing to ingest: pass --input KIND=PATH (files), or --kafka BROKERS (or kafka.brokers in --config)");
        };
        let run = KafkaRun {
            brokers,
            group: args.group.unwrap_or_else(|| config.kafka.group.clone()),
            until_idle: args.until_idle.map(Duration::from_secs),
        };
        let summary = ingest_kafka(&lake, config, &run, crate::shutdown::on_signal())
            .await
            .context("Kafka ingest failed")?;
        print_kafka_summary(&summary);
        return Ok(());
    }
    let inputs = args
        .input
        .iter()
        .map(|spec| cdp_ingest::InputSpec::parse(spec, config))
        .collect::<Result<Vec<_>, _>>()?;
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

pub fn print_kafka_summary(summary: &KafkaIngestSummary) {
    let received: u64 = summary.report.sources.iter().map(|s| s.received).sum();
    println!(
        "stopped: {:?}; this run consumed {received} messages in {:.2}s (first message to all durable, {:.0}/s):",
        summary.stop,
        summary.busy.as_secs_f64(),
        received as f64 / summary.busy.as_secs_f64().max(1e-9)
    );
    print!("{}", summary.report.to_table());
    let mut totals = summary.report.clone();
    totals.sources = summary.lake_totals.clone();
    println!("the lake holds from Kafka, over every run:");
    print!("{}", totals.to_table());
}
