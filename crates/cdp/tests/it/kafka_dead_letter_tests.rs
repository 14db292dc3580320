//! Messages that cannot be normalised go to the dead-letter topic, with the
//! reason and their origin in headers, as well as to the dlq table — and the
//! Prometheus endpoint reports what ingest is doing while it runs.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use arrow::array::AsArray;
use arrow::datatypes::{Int32Type, Int64Type};
use cdp_ingest::kafka::{HEADER_OFFSET, HEADER_PARTITION, HEADER_REASON, HEADER_TOPIC};
use cdp_lake::parquet_io;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message};

use crate::support::{brokers, scenario, wait_with_timeout};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scrape(port: u16) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).ok()?;
    Some(body)
}

/// The sum of a metric's samples (every label set).
fn metric_total(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_reach_the_topic_with_reasons_and_metrics_are_served() {
    let s = scenario("dlq").await;
    let port = free_port();
    let mut child = s.spawn_ingest_with_env(
        "run",
        5,
        &[("CDP__KAFKA__METRICS_LISTEN", format!("127.0.0.1:{port}"))],
    );
    // While it runs, /metrics counts what it reads.
    let deadline = Instant::now() + Duration::from_secs(90);
    let metrics = loop {
        if let Some(text) = scrape(port) {
            if metric_total(&text, "cdp_ingest_records_received_total") > 0.0 {
                break text;
            }
        }
        assert!(Instant::now() < deadline, "no metrics\n{}", s.log("run"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for name in [
        "cdp_ingest_records_received_total",
        "cdp_ingest_records_accepted_total",
        "cdp_ingest_flush_seconds",
        "cdp_ingest_file_bytes",
        "cdp_ingest_files_written_total",
    ] {
        assert!(
            metrics.contains(name),
            "{name} missing from /metrics:\n{metrics}"
        );
    }
    assert!(
        metrics.contains("topic=\""),
        "per-partition labels: {metrics}"
    );
    let status = wait_with_timeout(&mut child, Duration::from_secs(300)).expect("ingest ends");
    assert!(status.success(), "{status}\n{}", s.log("run"));
    s.assert_exactly_once().await;

    // Every dead letter of the lake is on the topic, with its reason.
    let lake = s.lake();
    let mut in_lake = BTreeSet::new();
    for file in lake.list("dlq").await.unwrap() {
        let bytes = lake.get(&file).await.unwrap();
        let columns = [
            "provenance_origin",
            "provenance_partition",
            "provenance_offset",
        ];
        for b in parquet_io::decode(&file, bytes, Some(&columns)).unwrap() {
            let origin = b.column(0).as_string::<i32>();
            let partition = b.column(1).as_primitive::<Int32Type>();
            let offset = b.column(2).as_primitive::<Int64Type>();
            for i in 0..b.num_rows() {
                in_lake.insert((
                    origin.value(i).to_string(),
                    partition.value(i),
                    offset.value(i),
                ));
            }
        }
    }
    let dlq_topic = s.config().kafka.dead_letter_topic;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", format!("{}-reader", s.group))
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .create()
        .unwrap();
    consumer.subscribe(&[&dlq_topic]).unwrap();
    let mut on_topic = BTreeSet::new();
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_secs(10) {
        let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        quiet_since = Instant::now();
        let headers = m.headers().expect("dead letters carry headers");
        let header = |name: &str| {
            headers
                .iter()
                .find(|h| h.key == name)
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_else(|| panic!("header {name} missing"))
        };
        assert!(!header(HEADER_REASON).is_empty());
        on_topic.insert((
            header(HEADER_TOPIC),
            header(HEADER_PARTITION).parse::<i32>().unwrap(),
            header(HEADER_OFFSET).parse::<i64>().unwrap(),
        ));
    }
    // Other tests ingest the same world into their own lakes and produce
    // their dead letters to the same topic: same messages, same origins.
    assert!(!in_lake.is_empty());
    assert_eq!(on_topic, in_lake, "dead-letter topic vs the dlq table");
}
