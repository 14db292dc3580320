//! The benchmark's floor: a bare rdkafka consumer that joins a fresh group,
//! reads the given topics from the beginning and only counts messages.
//!
//! cargo run --release -p cdp-ingest --example kafka_count -- BROKERS EXPECTED TOPIC...
//!
//! Prints one line: messages, seconds from the first message to the last,
//! messages per second.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [brokers, expected, topics @ ..] = args.as_slice() else {
        eprintln!("usage: kafka_count BROKERS EXPECTED TOPIC...");
        std::process::exit(2);
    };
    let expected: u64 = expected.parse().expect("EXPECTED is a number");
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("kafka-count-{}", std::process::id()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .create()
        .expect("consumer");
    let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics).expect("subscribe");
    let (mut count, mut bytes, mut first, mut last) = (0u64, 0u64, None, Instant::now());
    let deadline = Instant::now() + Duration::from_secs(1800);
    let mut report = Instant::now();
    while count < expected && Instant::now() < deadline {
        if report.elapsed() > Duration::from_secs(10) {
            eprintln!("kafka_count: {count} of {expected}");
            report = Instant::now();
        }
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            bytes += m.payload_len() as u64;
            count += 1;
            last = Instant::now();
            first.get_or_insert(last);
        }
    }
    let seconds = first.map_or(0.0, |f| (last - f).as_secs_f64());
    println!(
        "messages {count} bytes {bytes} seconds {seconds:.3} rate {:.0}",
        count as f64 / seconds.max(1e-9)
    );
}
