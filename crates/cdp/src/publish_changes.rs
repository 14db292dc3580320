//! `cdp publish-changes`: the change feed of the current build to Kafka.

use anyhow::{Context, Result};
use cdp_config::PipelineConfig;
use cdp_serve::changes::{publish, PublishTarget};

use crate::cli::PublishChangesArgs;

pub async fn run(args: PublishChangesArgs, config: &PipelineConfig) -> Result<()> {
    let lake = cdp_lake::Lake::open(&args.lake)?;
    let brokers = args
        .brokers
        .or_else(|| config.kafka.brokers.clone())
        .context("pass --brokers, or set kafka.brokers in --config")?;
    let target = PublishTarget {
        brokers,
        topic: args
            .topic
            .unwrap_or_else(|| config.serve.change_topic.clone()),
        kafka: config.kafka.clone(),
    };
    let summary = publish(&lake, &target, &config.serve.change_ignore_columns).await?;
    if summary.already_published {
        println!(
            "build {} was published already: nothing sent",
            summary.build_id
        );
    } else {
        println!(
            "build {} (previous {}): {} added, {} changed, {} removed, {} merges, {} splits → {} messages on {}",
            summary.build_id,
            summary.previous_build_id.as_deref().unwrap_or("none"),
            summary.added,
            summary.changed,
            summary.removed,
            summary.merges,
            summary.splits,
            summary.messages,
            target.topic
        );
    }
    Ok(())
}
