//! Exactly once through crashes: `cdp ingest` killed with SIGKILL at random
//! moments — alone, or as one of two consumers of a group — and restarted;
//! the lake ends with every accepted event once and the counts balance.

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use crate::support::{kill_9, scenario, wait_with_timeout, SESSION_EXPIRY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_three_times_then_restart_stores_everything_once() {
    let s = scenario("crash").await;
    assert!(s.total_messages() >= 200_000, "{}", s.total_messages());
    let mut rng = rand::rngs::StdRng::seed_from_u64(s.total_messages());
    let mut killed_at = Vec::new();
    for round in 0..3 {
        let label = format!("run{round}");
        let before = s.durable_messages().await;
        let mut child = s.spawn_ingest(&label, 30);
        // Let it get going, then pull the plug at a random moment after its
        // first new flush.
        s.wait_for_progress(before + 1, Duration::from_secs(90))
            .await;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..1500))).await;
        kill_9(&mut child);
        killed_at.push(s.durable_messages().await);
        tokio::time::sleep(SESSION_EXPIRY).await;
    }
    assert!(
        killed_at[0] < s.total_messages(),
        "the first kill came after everything was durable: it tested nothing ({killed_at:?})"
    );
    let mut last = s.spawn_ingest("final", 8);
    let status = wait_with_timeout(&mut last, Duration::from_secs(300))
        .unwrap_or_else(|| panic!("final run did not end\n{}", s.log("final")));
    assert!(status.success(), "final run: {status}\n{}", s.log("final"));
    s.assert_exactly_once().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_one_killed_mid_stream_store_everything_once() {
    let s = scenario("pair").await;
    let mut a = s.spawn_ingest("a", 20);
    let mut b = s.spawn_ingest("b", 20);
    // Both in the group and consuming, then A dies mid-stream while B goes on.
    s.wait_for_progress(1, Duration::from_secs(90)).await;
    // The second member's join rebalances the group: kill A only once it
    // owns partitions, or the test would not kill a consumer mid-stream.
    let joined = Instant::now();
    while !["a", "b"]
        .iter()
        .all(|label| s.log(label).contains("partitions assigned"))
    {
        assert!(
            joined.elapsed() < Duration::from_secs(90),
            "the pair never shared the partitions
a:
{}
b:
{}",
            s.log("a"),
            s.log("b")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    kill_9(&mut a);
    let at_kill = s.durable_messages().await;
    assert!(at_kill < s.total_messages(), "A was killed after the end");
    // A replacement for A, as an orchestrator would start: the group
    // rebalances and whoever gets A's partitions resumes them from the lake.
    // (With Kafka, B alone takes them over once A's session expires; tansu
    // 0.6 keeps the dead member's partitions until a member joins.)
    tokio::time::sleep(SESSION_EXPIRY).await;
    let mut a2 = s.spawn_ingest("a2", 20);
    for (label, child) in [("b", &mut b), ("a2", &mut a2)] {
        let status = wait_with_timeout(child, Duration::from_secs(300))
            .unwrap_or_else(|| panic!("{label} did not end\n{}", s.log(label)));
        assert!(status.success(), "{label}: {status}\n{}", s.log(label));
    }
    for label in ["a", "b"] {
        assert!(
            s.log(label).contains("partitions assigned"),
            "{label} never had partitions:\n{}",
            s.log(label)
        );
    }
    s.assert_exactly_once().await;
}
