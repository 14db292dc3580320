//! `[kafka]`: the consumer group that ingests the source topics (contract §5),
//! the dead-letter topic, file rolling and the metrics endpoint.
//!
//! ```toml
//! [kafka]
//! brokers = "kafka-1:9092,kafka-2:9092"
//! group = "cdp-ingest"
//! dead_letter_topic = "cdp.dlq"
//! metrics_listen = "0.0.0.0:9464"
//!
//! [kafka.topics]            # topic → source (a reference source or a mapped_source name)
//! "shop.tracking" = "online"
//!
//! [kafka.properties]        # any librdkafka property, passed through as is
//! "security.protocol" = "SASL_SSL"
//! "sasl.mechanisms" = "SCRAM-SHA-512"
//! "sasl.username" = "cdp"
//!
//! [kafka.properties_from_env]   # secrets: property ← environment variable
//! "sasl.password" = "CDP_KAFKA_PASSWORD"
//!
//! [kafka.consumer_properties]   # librdkafka properties of the consumer only
//! "session.timeout.ms" = "10000"
//!
//! [kafka.producer_properties]   # … of the producers only (dead letters, `cdp produce`)
//! "compression.type" = "lz4"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{ConfigError, Result};

/// The reference topics and the source each carries (contract §1).
pub const DEFAULT_TOPICS: [(&str, &str); 4] = [
    ("cdp.online", "online"),
    ("cdp.offline", "offline"),
    ("cdp.ad", "ad"),
    ("cdp.transaction", "transaction"),
];

/// librdkafka properties the consumer sets itself: what was processed is
/// decided by the lake, never by librdkafka's automatic commits.
const RESERVED_PROPERTIES: [&str; 4] = [
    "enable.auto.commit",
    "enable.auto.offset.store",
    "group.id",
    "bootstrap.servers",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers; `--kafka` on the command line overrides it.
    pub brokers: Option<String>,
    /// Consumer group; `--group` overrides it.
    pub group: String,
    /// Topic → source name. Empty means the four reference topics.
    pub topics: BTreeMap<String, String>,
    /// Where messages that cannot be normalised are also produced (with the
    /// reason in headers); empty to produce none.
    pub dead_letter_topic: String,
    /// Any librdkafka property (`security.protocol`, `sasl.*`, `ssl.*`, …).
    pub properties: BTreeMap<String, String>,
    /// librdkafka property → name of the environment variable holding its
    /// value, so that secrets stay out of files.
    pub properties_from_env: BTreeMap<String, String>,
    /// librdkafka properties of the ingest consumer only (`session.timeout.ms`,
    /// `fetch.*`, `auto.offset.reset`, …); producers would warn about them.
    pub consumer_properties: BTreeMap<String, String>,
    /// librdkafka properties of the producers only (the dead-letter topic,
    /// `cdp produce`): `linger.ms`, `batch.num.messages`, `compression.type`, …
    pub producer_properties: BTreeMap<String, String>,
    pub roll: RollConfig,
    /// Prometheus `/metrics` listen address; none when absent.
    pub metrics_listen: Option<String>,
    /// Worker threads normalising and writing (0: one per core).
    pub workers: usize,
    /// Messages read but waiting for a busy worker at which consumption
    /// pauses (it resumes at half): memory against throughput.
    pub pause_at_waiting_messages: usize,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: None,
            group: "cdp-ingest".into(),
            topics: BTreeMap::new(),
            dead_letter_topic: "cdp.dlq".into(),
            properties: BTreeMap::new(),
            properties_from_env: BTreeMap::new(),
            consumer_properties: BTreeMap::new(),
            producer_properties: BTreeMap::new(),
            roll: RollConfig::default(),
            metrics_listen: None,
            workers: 0,
            pause_at_waiting_messages: 8192,
        }
    }
}

/// When a Kafka partition's buffered records become a durable file (and
/// their offsets are committed): whichever limit is reached first.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RollConfig {
    pub max_records: usize,
    pub max_mib: usize,
    pub max_age_secs: u64,
}

impl Default for RollConfig {
    fn default() -> Self {
        Self {
            max_records: 500_000,
            max_mib: 128,
            max_age_secs: 60,
        }
    }
}

impl KafkaConfig {
    /// Topic → source, the reference topics when none are configured.
    pub fn topic_sources(&self) -> BTreeMap<String, String> {
        if self.topics.is_empty() {
            DEFAULT_TOPICS
                .iter()
                .map(|(t, s)| (t.to_string(), s.to_string()))
                .collect()
        } else {
            self.topics.clone()
        }
    }

    /// The librdkafka properties to set, secrets read from the environment
    /// through `lookup` (the process environment in production).
    pub fn client_properties(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<BTreeMap<String, String>> {
        let mut props = self.properties.clone();
        for (property, var) in &self.properties_from_env {
            let value = lookup(var).ok_or_else(|| {
                ConfigError::field(
                    format!("kafka.properties_from_env.\"{property}\""),
                    format!("environment variable {var} is not set"),
                )
            })?;
            props.insert(property.clone(), value);
        }
        Ok(props)
    }

    /// Checks what types alone cannot; `is_source` says whether a source
    /// name exists (reference or mapped).
    pub fn validate(&self, is_source: impl Fn(&str) -> bool) -> Result<()> {
        if self.group.trim().is_empty() {
            return Err(ConfigError::field("kafka.group", "must not be empty"));
        }
        for (topic, source) in &self.topics {
            if topic.trim().is_empty() {
                return Err(ConfigError::field("kafka.topics", "a topic name is empty"));
            }
            if !is_source(source) {
                return Err(ConfigError::field(
                    format!("kafka.topics.\"{topic}\""),
                    format!(
                        "unknown source {source:?}: expected online, offline, ad, transaction or a mapped_source name"
                    ),
                ));
            }
        }
        for property in self
            .properties
            .keys()
            .chain(self.properties_from_env.keys())
            .chain(self.consumer_properties.keys())
            .chain(self.producer_properties.keys())
        {
            if RESERVED_PROPERTIES.contains(&property.as_str()) {
                return Err(ConfigError::field(
                    format!("kafka.properties.\"{property}\""),
                    "set by cdp itself (brokers and group have their own settings; offsets are committed only once the lake holds the data)",
                ));
            }
        }
        if self.pause_at_waiting_messages < 2 {
            return Err(ConfigError::field(
                "kafka.pause_at_waiting_messages",
                "must be at least 2",
            ));
        }
        if self.roll.max_records == 0 {
            return Err(ConfigError::field("kafka.roll.max_records", "must be > 0"));
        }
        if self.roll.max_mib == 0 {
            return Err(ConfigError::field("kafka.roll.max_mib", "must be > 0"));
        }
        if self.roll.max_age_secs == 0 {
            return Err(ConfigError::field("kafka.roll.max_age_secs", "must be > 0"));
        }
        if let Some(addr) = &self.metrics_listen {
            addr.parse::<std::net::SocketAddr>().map_err(|e| {
                ConfigError::field("kafka.metrics_listen", format!("{addr:?}: {e}"))
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_reference_topics() {
        let c = KafkaConfig::default();
        let topics = c.topic_sources();
        assert_eq!(topics.len(), 4);
        assert_eq!(topics["cdp.transaction"], "transaction");
        assert!(c.validate(|_| true).is_ok());
    }

    #[test]
    fn secrets_come_from_the_environment_and_a_missing_one_is_named() {
        let mut c = KafkaConfig::default();
        c.properties
            .insert("security.protocol".into(), "SASL_SSL".into());
        c.properties_from_env
            .insert("sasl.password".into(), "PW_VAR".into());
        let props = c
            .client_properties(|v| (v == "PW_VAR").then(|| "s3cret".to_string()))
            .unwrap();
        assert_eq!(props["sasl.password"], "s3cret");
        assert_eq!(props["security.protocol"], "SASL_SSL");
        let err = c.client_properties(|_| None).unwrap_err().to_string();
        assert!(
            err.contains("PW_VAR") && err.contains("sasl.password"),
            "{err}"
        );
    }

    #[test]
    fn reserved_properties_unknown_sources_and_zero_limits_are_refused() {
        let mut c = KafkaConfig::default();
        c.properties
            .insert("enable.auto.commit".into(), "true".into());
        assert!(c
            .validate(|_| true)
            .unwrap_err()
            .to_string()
            .contains("enable.auto.commit"));

        let mut c = KafkaConfig::default();
        c.topics.insert("t".into(), "pos".into());
        let err = c.validate(|s| s != "pos").unwrap_err().to_string();
        assert!(err.contains("kafka.topics.\"t\""), "{err}");

        let mut c = KafkaConfig::default();
        c.roll.max_age_secs = 0;
        assert!(c
            .validate(|_| true)
            .unwrap_err()
            .to_string()
            .contains("kafka.roll.max_age_secs"));

        let c = KafkaConfig {
            metrics_listen: Some("nowhere".into()),
            ..KafkaConfig::default()
        };
        assert!(c
            .validate(|_| true)
            .unwrap_err()
            .to_string()
            .contains("kafka.metrics_listen"));
    }
}
