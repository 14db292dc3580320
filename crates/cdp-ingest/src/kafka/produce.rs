//! `cdp produce`: replays reference files into their topics, for demos,
//! tests and benchmarks.
//!
//! Each message is keyed by the record's natural id (`event_id`,
//! `record_id`, `click_id`, `order_id`; the line's hash when it has none), so
//! a redelivery lands in the same partition as the original — where the
//! consumer recognises it — and an order's status changes stay in order.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::time::{Duration, Instant};

use cdp_config::PipelineConfig;
use cdp_model::{SourceFormat, SourceKind};
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::client::producer_config;
use crate::error::{IngestError, Result};
use crate::files::{open_lines, InputSpec};

/// Counts what the brokers refused: librdkafka reports deliveries only to
/// this callback, so without it a refused message would vanish silently.
#[derive(Default)]
struct DeliveryCheck {
    failed: std::sync::atomic::AtomicU64,
    first_error: std::sync::Mutex<Option<String>>,
}

impl ClientContext for DeliveryCheck {}

impl ProducerContext for DeliveryCheck {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.failed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.first_error
                .lock()
                .expect("lock")
                .get_or_insert_with(|| e.to_string());
        }
    }
}

/// Messages produced per topic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProduceSummary {
    pub messages: BTreeMap<String, u64>,
    pub elapsed: Duration,
}

/// Produces every line of `inputs` to its source's topic; blank lines are
/// skipped, as the file backfill does. Returns once the brokers acknowledged
/// every message.
pub fn produce_files(
    brokers: &str,
    config: &PipelineConfig,
    inputs: &[InputSpec],
) -> Result<ProduceSummary> {
    let started = Instant::now();
    let topic_of: BTreeMap<String, String> = config
        .kafka
        .topic_sources()
        .into_iter()
        .map(|(topic, source)| (source, topic))
        .collect();
    let defaults = [
        ("acks", "all"),
        ("linger.ms", "20"),
        ("batch.num.messages", "10000"),
        ("queue.buffering.max.messages", "200000"),
    ];
    let producer: ThreadedProducer<DeliveryCheck> =
        producer_config(brokers, &config.kafka, &defaults)?
            .create_with_context(DeliveryCheck::default())
            .map_err(|source| IngestError::Kafka {
                what: format!("creating a producer for {brokers}"),
                source,
            })?;
    let mut summary = ProduceSummary::default();
    for input in inputs {
        let source = input.format.source_name();
        let topic = topic_of.get(source).ok_or_else(|| IngestError::InputSpec {
            spec: input.path.display().to_string(),
            reason: format!("no topic carries source {source:?} (see [kafka.topics])"),
        })?;
        let mut lines = open_lines(&input.path)?;
        let mut buf = Vec::with_capacity(4096);
        let mut line_no = 0u64;
        let mut sent = 0u64;
        loop {
            buf.clear();
            let n = lines
                .read_until(b'\n', &mut buf)
                .map_err(|source| IngestError::Input {
                    path: input.path.clone(),
                    line: line_no + 1,
                    source,
                })?;
            if n == 0 {
                break;
            }
            line_no += 1;
            let line = buf.trim_ascii();
            if line.is_empty() {
                continue;
            }
            let key = message_key(&input.format, line);
            let mut record = BaseRecord::to(topic).key(key.as_bytes()).payload(line);
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        record = back;
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err((source, _)) => {
                        return Err(IngestError::Kafka {
                            what: format!(
                                "producing {}:{line_no} to {topic}",
                                input.path.display()
                            ),
                            source,
                        })
                    }
                }
            }
            sent += 1;
        }
        *summary.messages.entry(topic.clone()).or_default() += sent;
    }
    producer
        .flush(Duration::from_secs(120))
        .map_err(|source| IngestError::Kafka {
            what: format!("waiting for {brokers} to acknowledge every message"),
            source,
        })?;
    let check = producer.context();
    let failed = check.failed.load(std::sync::atomic::Ordering::Relaxed);
    if failed > 0 {
        return Err(IngestError::Delivery {
            brokers: brokers.to_string(),
            failed,
            first: check
                .first_error
                .lock()
                .expect("lock")
                .clone()
                .unwrap_or_default(),
        });
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

#[derive(Deserialize)]
struct NaturalIds<'a> {
    #[serde(borrow)]
    event_id: Option<&'a RawValue>,
    #[serde(borrow)]
    record_id: Option<&'a RawValue>,
    #[serde(borrow)]
    click_id: Option<&'a RawValue>,
    #[serde(borrow)]
    order_id: Option<&'a RawValue>,
}

/// The partitioning key of a line: its source's natural id as sent, or a
/// hash of the line (old SDKs send no id; their event id is derived from the
/// bytes too, so a redelivery still gets the same key).
pub fn message_key(format: &SourceFormat, line: &[u8]) -> String {
    let ids: Option<NaturalIds> = serde_json::from_slice(line).ok();
    let natural = ids.and_then(|ids| match format {
        SourceFormat::Reference(SourceKind::Online) => ids.event_id,
        SourceFormat::Reference(SourceKind::Offline) => ids.record_id,
        SourceFormat::Reference(SourceKind::Ad) => ids.click_id,
        SourceFormat::Reference(SourceKind::Transaction) => ids.order_id,
        SourceFormat::Mapped(_) => None,
    });
    match natural {
        Some(raw) if raw.get() != "null" => raw.get().trim_matches('"').to_string(),
        _ => hex_prefix(&Sha256::digest(line)),
    }
}

fn hex_prefix(digest: &[u8]) -> String {
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_natural_ids_or_the_line_hash() {
        let tx = SourceFormat::Reference(SourceKind::Transaction);
        let paid = br#"{"order_id":"O-1","status":"paid"}"#;
        let refunded = br#"{"status":"refunded","order_id":"O-1"}"#;
        assert_eq!(message_key(&tx, paid), "O-1");
        assert_eq!(
            message_key(&tx, refunded),
            "O-1",
            "an order's changes stay in order"
        );
        let online = SourceFormat::Reference(SourceKind::Online);
        let no_id = br#"{"event":"page_view","ts":1}"#;
        assert_eq!(message_key(&online, no_id), message_key(&online, no_id));
        assert_eq!(message_key(&online, no_id).len(), 32);
        assert_eq!(
            message_key(&online, b"not json"),
            message_key(&online, b"not json")
        );
        assert_ne!(
            message_key(&online, b"not json"),
            message_key(&online, b"not json!")
        );
    }
}
