//! `cdp produce`: reference JSONL files into their Kafka topics.

use anyhow::{Context, Result};
use cdp_config::PipelineConfig;

use crate::cli::ProduceArgs;

pub async fn run(args: ProduceArgs, config: &PipelineConfig) -> Result<()> {
    let brokers = args
        .brokers
        .or_else(|| config.kafka.brokers.clone())
        .context("pass --brokers, or set kafka.brokers in --config")?;
    let inputs = args
        .input
        .iter()
        .map(|spec| cdp_ingest::InputSpec::parse(spec, config))
        .collect::<Result<Vec<_>, _>>()?;
    let config = config.clone();
    let summary = tokio::task::spawn_blocking(move || {
        cdp_ingest::kafka::produce::produce_files(&brokers, &config, &inputs)
    })
    .await?
    .context("produce failed")?;
    for (topic, n) in &summary.messages {
        println!("{topic:<24} {n:>12} messages");
    }
    let total: u64 = summary.messages.values().sum();
    println!(
        "{total} messages in {:.1}s ({:.0}/s)",
        summary.elapsed.as_secs_f64(),
        total as f64 / summary.elapsed.as_secs_f64().max(1e-9)
    );
    Ok(())
}
