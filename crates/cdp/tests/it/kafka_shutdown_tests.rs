//! SIGTERM during ingest: everything read is flushed and committed, the
//! process exits 0 within 10 s, and a restart finishes with nothing lost.

use std::time::{Duration, Instant};

use cdp_lake::offsets::PartitionManifest;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset};

use crate::support::{brokers, scenario, terminate, wait_with_timeout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_flushes_commits_and_exits_zero_within_ten_seconds() {
    let s = scenario("sigterm").await;
    let mut child = s.spawn_ingest("run", 60);
    s.wait_for_progress(1, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let signalled = Instant::now();
    terminate(&child);
    let status = wait_with_timeout(&mut child, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no exit within 10 s of SIGTERM\n{}", s.log("run")));
    assert!(status.success(), "{status}\n{}", s.log("run"));
    assert!(signalled.elapsed() < Duration::from_secs(10));

    // What was read is durable and committed: the group's committed offset
    // of every partition equals the lake's manifest.
    let manifests = PartitionManifest::load_all(&s.lake()).await.unwrap();
    assert!(!manifests.is_empty());
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", &s.group)
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    for m in &manifests {
        tpl.add_partition(&m.topic, m.partition);
    }
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap();
    for m in &manifests {
        let offset = committed
            .find_partition(&m.topic, m.partition)
            .unwrap()
            .offset();
        assert_eq!(
            offset,
            Offset::Offset(m.next_offset),
            "{}/{}: committed offset vs the lake",
            m.topic,
            m.partition
        );
    }
    drop(consumer);

    let mut again = s.spawn_ingest("again", 8);
    let status = wait_with_timeout(&mut again, Duration::from_secs(300)).expect("restart ends");
    assert!(status.success(), "{status}\n{}", s.log("again"));
    s.assert_exactly_once().await;
}
