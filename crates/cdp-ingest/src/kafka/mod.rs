//! Continuous ingestion from Kafka, exactly once into the lake (contract §5).
//!
//! ```text
//!   consumer thread ── poll ──▶ worker 0 … n (one bounded channel each)
//!        ▲  rebalance: open / flush+close partitions      │
//!        └──────────── durable offsets ◀──────────────────┘ flush: files → keys → manifest
//! ```
//!
//! One consumer group over the configured topics. Each partition lives on
//! one worker, which normalises its messages with the same code as file
//! backfills and writes them through a [`cdp_lake::StreamPartition`]: files
//! named after their offset range, then the partition's offsets manifest.
//! A restart (after a crash, a deploy or a rebalance) resumes from the
//! manifest, so nothing is lost or stored twice.
//!
//! Stopping (SIGTERM, `--until-idle`) makes everything read durable,
//! commits, and leaves the group within `consumer::LEAVE_GROUP_TIMEOUT`.

pub mod admin;
mod client;
mod consumer;
mod dead_letter_topic;
pub mod metrics;
pub mod produce;
mod worker;

use std::collections::BTreeMap;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Duration;

use cdp_config::PipelineConfig;
use cdp_lake::offsets::{totals_by_source, PartitionManifest};
use cdp_lake::{IngestReport, Lake, SharedIndexes, SourceReport};
use rdkafka::consumer::{BaseConsumer, Consumer};
use tokio_util::sync::CancellationToken;

pub use client::{admin_config, check_topics, consumer_config, producer_config};
pub use consumer::StopReason;
pub use dead_letter_topic::{
    HEADER_FIELD, HEADER_OFFSET, HEADER_PARTITION, HEADER_REASON, HEADER_SOURCE, HEADER_TOPIC,
};

use crate::error::{IngestError, Result};
use consumer::{leave_group, poll_loop, IngestContext, LEAVE_GROUP_TIMEOUT, WORKER_QUEUE};
use dead_letter_topic::DeadLetterTopic;
use worker::{Command, Worker, WorkerContext};

/// Where and how long to consume.
#[derive(Debug, Clone)]
pub struct KafkaRun {
    pub brokers: String,
    pub group: String,
    /// Stop once nothing arrived for this long and everything is durable.
    pub until_idle: Option<Duration>,
}

/// What a Kafka ingest run did, and what the lake holds of every partition.
#[derive(Debug, Clone)]
pub struct KafkaIngestSummary {
    pub stop: StopReason,
    /// This run's report (also stored in `ingest_reports/`).
    pub report: IngestReport,
    /// Per source, everything the lake holds from Kafka over every run:
    /// the sum of the offsets manifests.
    pub lake_totals: Vec<SourceReport>,
    /// From the first message to the last one, plus the final flush: the
    /// time spent consuming, without the wait for `until_idle`.
    pub busy: Duration,
}

/// Consumes until `cancel` fires (or idle, with `until_idle`), then makes
/// everything durable, commits, and leaves the group.
pub async fn ingest_kafka(
    lake: &Lake,
    config: &PipelineConfig,
    run: &KafkaRun,
    cancel: CancellationToken,
) -> Result<KafkaIngestSummary> {
    let started_at = chrono::Utc::now();
    let run_id = format!("{}-kafka", started_at.format("%Y%m%dT%H%M%S%3fZ"));
    let span = tracing::info_span!("ingest_kafka", run_id = %run_id, group = %run.group);
    let _guard = span.enter();

    let mut topics = Vec::new();
    for (topic, source) in config.kafka.topic_sources() {
        let format = config.format(&source).ok_or_else(|| {
            IngestError::Config(cdp_config::ConfigError::field(
                format!("kafka.topics.\"{topic}\""),
                format!("unknown source {source:?}"),
            ))
        })?;
        topics.push((topic, format));
    }
    let topic_names: Vec<String> = topics.iter().map(|(t, _)| t.clone()).collect();

    // The dedup keys of everything already in the lake, shared by the workers.
    let indexes = Arc::new(SharedIndexes::load(lake).await?);
    let dead_letter_topic = match config.kafka.dead_letter_topic.trim() {
        "" => None,
        topic => Some(DeadLetterTopic::new(topic, &run.brokers, &config.kafka)?),
    };
    if let Some(listen) = &config.kafka.metrics_listen {
        metrics::serve(listen)?;
        tracing::info!(listen = %listen, "serving Prometheus /metrics");
    }

    let worker_count = match config.kafka.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let (durable_tx, durable_rx) = std::sync::mpsc::channel();
    let worker_ctx = Arc::new(WorkerContext {
        lake: lake.clone(),
        runtime: tokio::runtime::Handle::current(),
        indexes,
        normaliser: config.normaliser()?,
        topics: topics.clone(),
        roll: config.kafka.roll.clone(),
        dead_letter_topic,
    });
    let mut senders = Vec::with_capacity(worker_count);
    let mut workers = Vec::with_capacity(worker_count);
    for i in 0..worker_count {
        let (tx, rx) = sync_channel(WORKER_QUEUE);
        let worker = Worker::new(worker_ctx.clone(), durable_tx.clone());
        workers.push(
            std::thread::Builder::new()
                .name(format!("cdp-kafka-worker-{i}"))
                .spawn(move || worker.run(rx))
                .map_err(|e| IngestError::Internal(format!("cannot start a worker thread: {e}")))?,
        );
        senders.push(tx);
    }
    drop(durable_tx);
    // Kept until the consumer has left the group: its rebalance callbacks
    // need the workers until then, and if it cannot leave in time these
    // stop them.
    let worker_stops = senders.clone();

    let consumer: BaseConsumer<IngestContext> =
        consumer_config(&run.brokers, &run.group, &config.kafka)?
            .create_with_context(IngestContext::new(
                topic_names.clone(),
                senders,
                config.kafka.pause_at_waiting_messages,
            ))
            .map_err(|source| IngestError::Kafka {
                what: format!("creating the consumer for {}", run.brokers),
                source,
            })?;
    let until_idle = run.until_idle;
    let loop_cancel = cancel.clone();
    let brokers = run.brokers.clone();
    let dlq_topic = config.kafka.dead_letter_topic.trim().to_string();
    let lake_handle = consumer::LakeHandle {
        lake: lake.clone(),
        runtime: tokio::runtime::Handle::current(),
    };
    // The consumer (and its rebalance callbacks) lives on one blocking thread.
    let consumed = tokio::task::spawn_blocking(move || -> Result<(StopReason, Duration)> {
        let mut required: Vec<&str> = topic_names.iter().map(String::as_str).collect();
        if !dlq_topic.is_empty() {
            required.push(&dlq_topic);
        }
        check_topics(&consumer, &brokers, &required)?;
        let subscribe: Vec<&str> = topic_names.iter().map(String::as_str).collect();
        consumer
            .subscribe(&subscribe)
            .map_err(|source| IngestError::Kafka {
                what: format!("subscribing to {}", subscribe.join(", ")),
                source,
            })?;
        let stop = poll_loop(
            &consumer,
            &durable_rx,
            &loop_cancel,
            until_idle,
            &lake_handle,
        );
        let final_flush = std::time::Instant::now();
        // Whatever stopped the loop, make what was read durable and commit it
        // before leaving the group (unless a worker already failed).
        let flushed = consumer::drain_stash(consumer.context())
            .and_then(|()| consumer.context().flush_all())
            .and_then(|offsets| {
                if offsets.count() > 0 {
                    consumer
                        .commit(&offsets, rdkafka::consumer::CommitMode::Sync)
                        .map_err(|source| IngestError::Kafka {
                            what: "committing the final offsets".into(),
                            source,
                        })?;
                }
                Ok(())
            });
        let busy = consumer
            .context()
            .traffic
            .lock()
            .expect("lock")
            .map_or(Duration::ZERO, |(first, last)| last - first)
            + final_flush.elapsed();
        if !leave_group(consumer, LEAVE_GROUP_TIMEOUT) {
            tracing::warn!(
                timeout_secs = LEAVE_GROUP_TIMEOUT.as_secs(),
                "the group coordinator did not let this member leave in time; ending anyway: \
                 the lake's offsets manifests hold what is durable, and the coordinator drops \
                 the member when its session expires"
            );
            for worker in &worker_stops {
                let _ = worker.send(Command::Stop);
            }
        }
        drop(worker_stops);
        let stop = stop?;
        flushed?;
        Ok((stop, busy))
    })
    .await
    .map_err(|e| IngestError::Internal(format!("the consumer thread panicked: {e}")))?;

    // The consumer is gone, so are the workers' channels: collect them.
    let mut counts: BTreeMap<String, SourceReport> = BTreeMap::new();
    let mut files_written = 0;
    let mut worker_error = None;
    for w in workers {
        match w.join() {
            Ok(Ok(summary)) => {
                files_written += summary.files_written;
                for (source, c) in summary.counts {
                    let total = counts
                        .entry(source.clone())
                        .or_insert_with(|| SourceReport::new(&source));
                    total.received += c.received;
                    total.accepted += c.accepted;
                    total.duplicates += c.duplicates;
                    total.dead_lettered += c.dead_lettered;
                }
            }
            Ok(Err(e)) => worker_error = worker_error.or(Some(e)),
            Err(_) => {
                worker_error = worker_error
                    .or_else(|| Some(IngestError::Internal("a worker thread panicked".into())))
            }
        }
    }
    // A worker's own error explains a consumer-side "worker stopped".
    if let Some(e) = worker_error {
        return Err(e);
    }
    let (stop, busy) = consumed?;

    let sources: Vec<SourceReport> = counts.into_values().collect();
    let report = IngestReport {
        run_id,
        lake: lake.url().to_string(),
        inputs: topics
            .iter()
            .map(|(t, f)| format!("{}=kafka://{}/{t}", f.source_name(), run.brokers))
            .collect(),
        started_at: started_at.to_rfc3339(),
        finished_at: chrono::Utc::now().to_rfc3339(),
        balanced: sources.iter().all(SourceReport::balances),
        sources,
        files_written,
    };
    report.store(lake).await?;
    let lake_totals = totals_by_source(&PartitionManifest::load_all(lake).await?);
    tracing::info!(?stop, files = files_written, "Kafka ingest stopped");
    Ok(KafkaIngestSummary {
        stop,
        report,
        lake_totals,
        busy,
    })
}
