//! A consumer group resumes from its committed offsets: a second consumer in
//! the group gets exactly the messages the first did not commit.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};

use crate::support::{brokers, consumer, create_topic, producer, unique_name};

const PARTITIONS: i32 = 3;
const MESSAGES: usize = 90;
/// How many messages the first consumer processes and commits.
const FIRST_RUN: usize = 40;

/// Receives messages until `done(seen)` holds or `limit` passes; returns
/// (payload, partition, offset) in arrival order.
async fn receive(
    consumer: &StreamConsumer,
    limit: Duration,
    mut done: impl FnMut(&[(String, i32, i64)]) -> bool,
) -> Vec<(String, i32, i64)> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + limit;
    while !done(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, consumer.recv()).await {
            Err(_) => break,
            Ok(Err(e)) => panic!("consumer error: {e}"),
            Ok(Ok(m)) => {
                let payload = String::from_utf8(m.payload().expect("payload").to_vec()).unwrap();
                seen.push((payload, m.partition(), m.offset()));
            }
        }
    }
    seen
}

/// The offsets to commit after processing `messages`: per partition, one past
/// the last processed offset.
fn commit_list(topic: &str, messages: &[(String, i32, i64)]) -> TopicPartitionList {
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    for (_, partition, offset) in messages {
        let e = next.entry(*partition).or_insert(0);
        *e = (*e).max(offset + 1);
    }
    let mut tpl = TopicPartitionList::new();
    for (partition, offset) in next {
        tpl.add_partition_offset(topic, partition, Offset::Offset(offset))
            .unwrap();
    }
    tpl
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_consumer_resumes_from_committed_offsets() {
    eprintln!("broker: {}", brokers());
    let topic = unique_name("cdp-it-resume");
    let group = unique_name("cdp-it-group");
    create_topic(&topic, PARTITIONS).await;

    // Produce MESSAGES messages spread over every partition.
    let producer = producer();
    let mut produced = BTreeSet::new();
    for i in 0..MESSAGES {
        let payload = format!("m{i:04}");
        let key = format!("k{i}");
        let record = FutureRecord::to(&topic)
            .partition((i % PARTITIONS as usize) as i32)
            .key(&key)
            .payload(&payload);
        producer
            .send(record, Duration::from_secs(30))
            .await
            .unwrap_or_else(|(e, _)| panic!("produce {payload}: {e}"));
        produced.insert(payload);
    }
    assert_eq!(produced.len(), MESSAGES);

    // First run: process FIRST_RUN messages, commit exactly those, leave.
    let t0 = Instant::now();
    let first = {
        let consumer = consumer(&group);
        consumer.subscribe(&[&topic]).expect("subscribe");
        let seen = receive(&consumer, Duration::from_secs(60), |s| s.len() >= FIRST_RUN).await;
        assert_eq!(
            seen.len(),
            FIRST_RUN,
            "first consumer got {} of {FIRST_RUN} messages within 60 s",
            seen.len()
        );
        let tpl = commit_list(&topic, &seen);
        consumer
            .commit(&tpl, CommitMode::Sync)
            .expect("commit offsets");
        // The group coordinator has what we committed.
        let committed = consumer
            .committed(Duration::from_secs(10))
            .expect("read committed offsets");
        for elem in tpl.elements() {
            let got = committed
                .find_partition(&topic, elem.partition())
                .map(|e| e.offset());
            assert_eq!(got, Some(elem.offset()), "partition {}", elem.partition());
        }
        consumer.unsubscribe();
        seen
    }; // dropped: closes and leaves the group
    eprintln!("first run: {} messages in {:?}", first.len(), t0.elapsed());

    // Second run: a new consumer in the same group gets exactly the rest.
    let t1 = Instant::now();
    let rest = MESSAGES - FIRST_RUN;
    let second = {
        let consumer = consumer(&group);
        consumer.subscribe(&[&topic]).expect("subscribe");
        let mut seen = receive(&consumer, Duration::from_secs(60), |s| s.len() >= rest).await;
        // Anything beyond the rest (a duplicate) would arrive now.
        seen.extend(receive(&consumer, Duration::from_secs(3), |_| false).await);
        seen
    };
    eprintln!(
        "second run: {} messages in {:?}",
        second.len(),
        t1.elapsed()
    );

    let first_set: BTreeSet<&str> = first.iter().map(|(p, ..)| p.as_str()).collect();
    let second_set: BTreeSet<&str> = second.iter().map(|(p, ..)| p.as_str()).collect();
    assert_eq!(
        first_set.len(),
        first.len(),
        "first run saw a message twice"
    );
    assert_eq!(
        second_set.len(),
        second.len(),
        "second run saw a message twice"
    );
    let both: Vec<&&str> = first_set.intersection(&second_set).collect();
    assert!(
        both.is_empty(),
        "seen in both runs (committed but redelivered): {both:?}"
    );
    let all: BTreeSet<String> = first_set
        .union(&second_set)
        .map(|s| s.to_string())
        .collect();
    let lost: Vec<&String> = produced.difference(&all).collect();
    assert!(lost.is_empty(), "never delivered: {lost:?}");
    assert_eq!(second.len(), rest);
}
