//! librdkafka client settings: ours, then whatever the config passes through
//! (security, SASL, TLS, tuning), secrets from the environment.

use std::time::Duration;

use cdp_config::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::ClientConfig;

use crate::error::{IngestError, Result};

/// A client's settings: `defaults`, then the config's `properties` (secrets
/// from the environment), then the role's own properties — so an operator's
/// setting always wins over ours.
fn client_config<'a>(
    brokers: &str,
    kafka: &KafkaConfig,
    defaults: &[(&str, &str)],
    role: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Result<ClientConfig> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("client.id", "cdp")
        // librdkafka logs through the client context at these levels only.
        .set("log_level", "4");
    for (key, value) in defaults {
        config.set(*key, *value);
    }
    for (key, value) in kafka.client_properties(|var| std::env::var(var).ok())? {
        config.set(key, value);
    }
    for (key, value) in role {
        config.set(key, value);
    }
    Ok(config)
}

/// A producer (dead-letter topic, `cdp produce`) with our `defaults` under
/// the operator's settings.
pub fn producer_config(
    brokers: &str,
    kafka: &KafkaConfig,
    defaults: &[(&str, &str)],
) -> Result<ClientConfig> {
    client_config(brokers, kafka, defaults, &kafka.producer_properties)
}

/// An admin or metadata client.
pub fn admin_config(brokers: &str, kafka: &KafkaConfig) -> Result<ClientConfig> {
    client_config(brokers, kafka, &[], [])
}

/// The ingest consumer: offsets are stored and committed only by us, once the
/// lake holds the data; lag statistics every 5 s unless configured.
pub fn consumer_config(brokers: &str, group: &str, kafka: &KafkaConfig) -> Result<ClientConfig> {
    let defaults = [
        ("auto.offset.reset", "earliest"),
        ("statistics.interval.ms", "5000"),
    ];
    let mut config = client_config(brokers, kafka, &defaults, &kafka.consumer_properties)?;
    // Never the operator's (validation refuses them in the config).
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false");
    Ok(config)
}

/// Fails with a clear error unless every topic exists on the brokers.
pub fn check_topics<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    brokers: &str,
    topics: &[&str],
) -> Result<()> {
    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(15))
        .map_err(|source| IngestError::Kafka {
            what: format!("reading topic metadata from {brokers}"),
            source,
        })?;
    let existing: std::collections::BTreeSet<&str> = metadata
        .topics()
        .iter()
        .filter(|t| t.error().is_none() && !t.partitions().is_empty())
        .map(|t| t.name())
        .collect();
    let missing: Vec<&str> = topics
        .iter()
        .copied()
        .filter(|t| !existing.contains(t))
        .collect();
    if !missing.is_empty() {
        return Err(IngestError::MissingTopics {
            brokers: brokers.to_string(),
            topics: missing.join(", "),
        });
    }
    Ok(())
}

pub(crate) fn log_line(level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
    use rdkafka::config::RDKafkaLogLevel::*;
    match level {
        Emerg | Alert | Critical | Error => {
            tracing::error!(facility = fac, "librdkafka: {message}")
        }
        Warning => tracing::warn!(facility = fac, "librdkafka: {message}"),
        Notice | Info => tracing::info!(facility = fac, "librdkafka: {message}"),
        Debug => tracing::debug!(facility = fac, "librdkafka: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passed_through_properties_apply_but_never_our_commit_settings() {
        let mut kafka = KafkaConfig::default();
        kafka
            .consumer_properties
            .insert("auto.offset.reset".into(), "latest".into());
        kafka
            .properties
            .insert("security.protocol".into(), "SASL_SSL".into());
        let c = consumer_config("b:9092", "g", &kafka).unwrap();
        assert_eq!(c.get("auto.offset.reset"), Some("latest"));
        assert_eq!(c.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(c.get("enable.auto.commit"), Some("false"));
        assert_eq!(c.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(c.get("group.id"), Some("g"));
        assert_eq!(c.get("bootstrap.servers"), Some("b:9092"));
    }
}
