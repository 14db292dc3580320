//! Shared helpers for the Kafka integration tests: where the broker is,
//! names no other run uses, client configs, topic creation.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::FutureProducer;
use rdkafka::ClientConfig;

/// The broker list under test, from `CDP_TEST_KAFKA_BROKERS`.
pub fn brokers() -> String {
    match std::env::var("CDP_TEST_KAFKA_BROKERS") {
        Ok(b) if !b.trim().is_empty() => b,
        _ => panic!(
            "CDP_TEST_KAFKA_BROKERS is not set: run `make test`, which starts a local Kafka-compatible \
             broker (deploy/local/kafka.sh) and sets it; or point it at your own Kafka, e.g. \
             CDP_TEST_KAFKA_BROKERS=127.0.0.1:19092"
        ),
    }
}

/// `prefix` plus a random suffix: topics and groups never collide between
/// tests, runs, or machines sharing a broker.
pub fn unique_name(prefix: &str) -> String {
    use rand::Rng;
    let suffix: u64 = rand::thread_rng().gen();
    format!("{prefix}-{}-{suffix:016x}", std::process::id())
}

/// Settings for every client of the tests.
fn base_config() -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers())
        .set("client.id", "cdp-ingest-it")
        .set("log_level", "4");
    config
}

pub fn producer() -> FutureProducer {
    base_config()
        .set("acks", "all")
        .set("enable.idempotence", "false")
        .set("message.timeout.ms", "30000")
        .create()
        .expect("create producer")
}

/// A consumer in `group` with manual commits, reading from the start when
/// the group has no committed offset. The short session/poll timeouts make a
/// group (re)join take seconds instead of the default ~25 s.
pub fn consumer(group: &str) -> StreamConsumer {
    base_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("max.poll.interval.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        .create()
        .expect("create consumer")
}

/// Creates `topic` with `partitions` partitions (replication 1) through the
/// Kafka admin API, then waits until its metadata shows every partition.
pub async fn create_topic(topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> =
        base_config().create().expect("create admin client");
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    let results = admin
        .create_topics([&new_topic], &opts)
        .await
        .expect("CreateTopics request");
    for result in results {
        result.unwrap_or_else(|(name, code)| panic!("create topic {name}: {code}"));
    }

    // Metadata propagates asynchronously on multi-broker clusters.
    let probe = consumer(&unique_name("cdp-it-metadata"));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let found = probe
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .ok()
            .and_then(|md| {
                md.topics()
                    .iter()
                    .find(|t| t.name() == topic && t.error().is_none())
                    .map(|t| t.partitions().len())
            });
        if found == Some(partitions as usize) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "topic {topic} not visible with {partitions} partitions after 30 s (saw {found:?})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
