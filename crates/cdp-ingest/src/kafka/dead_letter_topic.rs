//! The dead-letter topic: every message that cannot be normalised is also
//! produced there, as received, with the reason and its origin in headers,
//! so that the team owning the source can consume and fix it.
//!
//! At least once: after a crash a dead letter may be produced again (the
//! `dlq` table in the lake holds each exactly once). A topic that refuses
//! messages never blocks a partition; the failure is logged and counted.

use std::time::Duration;

use cdp_config::KafkaConfig;
use cdp_lake::DeadLetter;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

use super::client::producer_config;
use super::metrics::DEAD_LETTER_TOPIC_ERRORS;
use crate::error::{IngestError, Result};

/// Header names of a dead-letter message.
pub const HEADER_REASON: &str = "cdp.reason";
pub const HEADER_FIELD: &str = "cdp.field";
pub const HEADER_SOURCE: &str = "cdp.source";
pub const HEADER_TOPIC: &str = "cdp.origin.topic";
pub const HEADER_PARTITION: &str = "cdp.origin.partition";
pub const HEADER_OFFSET: &str = "cdp.origin.offset";

pub struct DeadLetterTopic {
    topic: String,
    producer: ThreadedProducer<DefaultProducerContext>,
}

impl DeadLetterTopic {
    pub fn new(topic: &str, brokers: &str, kafka: &KafkaConfig) -> Result<Self> {
        let producer = producer_config(brokers, kafka, &[("acks", "all"), ("linger.ms", "50")])?
            .create()
            .map_err(|source| IngestError::Kafka {
                what: format!("creating the dead-letter producer for {topic}"),
                source,
            })?;
        Ok(Self {
            topic: topic.to_string(),
            producer,
        })
    }

    /// Queues `letter` for the topic; waits only while librdkafka's queue is full.
    pub fn send(&self, letter: &DeadLetter) {
        let partition = letter.provenance.partition.unwrap_or(-1).to_string();
        let offset = letter.provenance.offset.to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: HEADER_REASON,
                value: Some(letter.reason.as_str()),
            })
            .insert(Header {
                key: HEADER_FIELD,
                value: letter.field.as_deref(),
            })
            .insert(Header {
                key: HEADER_SOURCE,
                value: Some(letter.source.as_str()),
            })
            .insert(Header {
                key: HEADER_TOPIC,
                value: Some(letter.provenance.origin.as_str()),
            })
            .insert(Header {
                key: HEADER_PARTITION,
                value: Some(partition.as_str()),
            })
            .insert(Header {
                key: HEADER_OFFSET,
                value: Some(offset.as_str()),
            });
        let mut record = BaseRecord::<(), [u8]>::to(&self.topic)
            .payload(letter.raw.as_slice())
            .headers(headers);
        loop {
            match self.producer.send(record) {
                Ok(()) => return,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((e, _)) => {
                    metrics::counter!(DEAD_LETTER_TOPIC_ERRORS).increment(1);
                    tracing::error!(topic = %self.topic, error = %e, origin = %letter.provenance,
                        "the dead-letter topic refused a message; it is in the dlq table");
                    return;
                }
            }
        }
    }

    /// Waits until every queued dead letter is delivered (before the offsets
    /// that produced them are committed).
    pub fn flush(&self) {
        if let Err(e) = self.producer.flush(Duration::from_secs(30)) {
            metrics::counter!(DEAD_LETTER_TOPIC_ERRORS).increment(1);
            tracing::error!(topic = %self.topic, error = %e,
                "dead letters not confirmed by the dead-letter topic; they are in the dlq table");
        }
    }
}
