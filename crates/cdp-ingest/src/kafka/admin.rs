//! Topic administration for demos and tests: production clusters have their
//! topics made by their operators, and `cdp ingest` only checks they exist.

use std::time::Duration;

use cdp_config::KafkaConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use super::client::admin_config;
use crate::error::{IngestError, Result};

fn admin(brokers: &str, kafka: &KafkaConfig) -> Result<AdminClient<DefaultClientContext>> {
    admin_config(brokers, kafka)?
        .create()
        .map_err(|source| IngestError::Kafka {
            what: format!("creating an admin client for {brokers}"),
            source,
        })
}

fn options() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)))
}

/// Creates `topics` (replication 1) unless they exist.
pub async fn create_topics(
    brokers: &str,
    kafka: &KafkaConfig,
    topics: &[&str],
    partitions: i32,
) -> Result<()> {
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
        .collect();
    let results = admin(brokers, kafka)?
        .create_topics(&new, &options())
        .await
        .map_err(|source| IngestError::Kafka {
            what: format!("creating topics on {brokers}"),
            source,
        })?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(IngestError::Kafka {
                    what: format!("creating topic {topic} on {brokers}"),
                    source: rdkafka::error::KafkaError::AdminOp(code),
                })
            }
        }
    }
    Ok(())
}

/// Deletes `topics`; a failure is only logged (cleanup).
pub async fn delete_topics(brokers: &str, kafka: &KafkaConfig, topics: &[&str]) {
    let Ok(client) = admin(brokers, kafka) else {
        return;
    };
    if let Err(e) = client.delete_topics(topics, &options()).await {
        tracing::warn!(error = %e, "deleting demo topics failed");
    }
}
