//! The change feed: after a build, what changed for marketing tools —
//! profiles added, changed and removed (by one_id), and the identity merges
//! and splits behind them — as JSON messages on a Kafka topic (default
//! `cdp.profile_updates`; `schemas/profile_update.schema.json`), keyed by
//! one_id so that one person's messages stay in order on one partition.
//!
//! **Compared with what was last published, not with the previous build's
//! files**: `cdp build` deletes the previous build's files once the new
//! manifest is in place, so the feed keeps its own record
//! (`change_feed/state.json` and a digest per profile in
//! `change_feed/digests-<build_id>.parquet`, 16 bytes per profile). A
//! profile changed when the digest of its columns (less
//! `[serve] change_ignore_columns`, which move with the as-of day alone) and
//! its tags changed; LTV predictions drift every day and are carried in the
//! messages, not compared. Merges and splits are those of the
//! `identity_merges` runs after the last published build's identity run, up
//! to the current build's (read from its identity_map file names).
//!
//! At least once: the record is written only after the brokers acknowledged
//! every message, so a failed publish is repeated whole by the next one.
//! Consumers deduplicate by (`build.build_id`, `kind`, `one_id`). The first
//! publish of a lake has nothing to compare with: every profile is
//! `profile_added` (a consumer's initial load).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use bytes::Bytes;
use cdp_config::KafkaConfig;
use cdp_lake::Lake;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Result, ServeError};
use crate::manifest::{self, run_id_of, BuildManifest, IDENTITY_MERGES};
use crate::row_json::write_str;
use crate::snapshot::{one_id, Snapshot};

/// The feed's record of what it last published.
pub const STATE: &str = "change_feed/state.json";
const DIGESTS_DIR: &str = "change_feed";
/// Kafka header naming a message's `kind`.
pub const HEADER_KIND: &str = "cdp.kind";

/// What was last published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedState {
    pub build_id: String,
    pub as_of: String,
    /// The identity run of that build (`None`: it listed no identity_map).
    pub identity_run_id: Option<String>,
    /// `change_feed/digests-<build_id>.parquet`.
    pub digests: String,
    pub topic: String,
    pub published_at: String,
    pub messages: u64,
}

/// A merge (`from` absorbed into `to`) or a split (`to` carved out of
/// `from`), as `identity_merges` records it.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityChange {
    pub kind: IdentityChangeKind,
    pub from_key: i64,
    pub to_key: i64,
    pub run_id: String,
    pub recorded_at: Option<String>,
    pub reason: Option<String>,
    /// The identifier types of the edge (merges); never their values.
    pub edge_types: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityChangeKind {
    Merge,
    Split,
}

/// Counts of one publication.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChangeSummary {
    pub build_id: String,
    pub previous_build_id: Option<String>,
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    pub merges: usize,
    pub splits: usize,
    pub messages: u64,
    /// The build had been published already: nothing was sent.
    pub already_published: bool,
}

/// What changed between the last published build and the current one.
pub struct ChangeSet {
    build: Arc<Snapshot>,
    previous: Option<FeedState>,
    digests: Vec<(i64, i64)>,
    pub added: Vec<i64>,
    pub changed: Vec<i64>,
    /// Removed one_keys and the one_key they were merged into, if they were.
    pub removed: Vec<(i64, Option<i64>)>,
    pub identity: Vec<IdentityChange>,
    published_at: String,
}

/// The changes of the current build since the last publication; `None`
/// when the current build is the one last published.
pub async fn changes(lake: &Lake, ignore_columns: &[String]) -> Result<Option<ChangeSet>> {
    let (manifest, _) = manifest::read_current(lake)
        .await?
        .ok_or_else(|| ServeError::NoBuild(manifest::BUILD_MANIFEST.into()))?;
    let previous = read_state(lake).await?;
    if previous
        .as_ref()
        .is_some_and(|p| p.build_id == manifest.build_id)
    {
        return Ok(None);
    }
    let previous_digests = match &previous {
        Some(p) => read_digests(lake, &p.digests).await?,
        None => Vec::new(),
    };
    let identity = identity_changes(
        lake,
        previous.as_ref().and_then(|p| p.identity_run_id.as_deref()),
        manifest.identity_run_id().as_deref(),
    )
    .await?;
    let build = Snapshot::load_with(lake, manifest, false).await?;
    let digests = {
        let build = build.clone();
        let ignore = ignore_columns.to_vec();
        tokio::task::spawn_blocking(move || profile_digests(&build, &ignore))
            .await
            .map_err(|e| ServeError::Internal(format!("digest task: {e}")))?
    };
    let merged_into: HashMap<i64, i64> = identity
        .iter()
        .filter(|c| c.kind == IdentityChangeKind::Merge)
        .map(|c| (c.from_key, c.to_key))
        .collect();
    let (mut added, mut changed, mut removed) = (Vec::new(), Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < previous_digests.len() || j < digests.len() {
        match (previous_digests.get(i), digests.get(j)) {
            (Some(&(pk, pd)), Some(&(ck, cd))) if pk == ck => {
                if pd != cd {
                    changed.push(ck);
                }
                i += 1;
                j += 1;
            }
            (Some(&(pk, _)), Some(&(ck, _))) if pk < ck => {
                removed.push((pk, merged_into.get(&pk).copied()));
                i += 1;
            }
            (Some(&(pk, _)), None) => {
                removed.push((pk, merged_into.get(&pk).copied()));
                i += 1;
            }
            (_, Some(&(ck, _))) => {
                added.push(ck);
                j += 1;
            }
            (None, None) => unreachable!("loop condition"),
        }
    }
    Ok(Some(ChangeSet {
        build,
        previous,
        digests,
        added,
        changed,
        removed,
        identity,
        published_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }))
}

/// `(one_key, digest)` of every profile, sorted by one_key.
fn profile_digests(build: &Snapshot, ignore: &[String]) -> Vec<(i64, i64)> {
    let mask: Vec<bool> = build
        .profiles
        .column_names()
        .map(|c| !ignore.iter().any(|i| i == c))
        .collect();
    let mut buf = Vec::with_capacity(1024);
    (0..build.profiles.len())
        .map(|row| {
            buf.clear();
            build.profiles.write_row_masked(&mut buf, row, Some(&mask));
            buf.push(0x1e);
            build.tags.write_row(&mut buf, Some(row));
            let hash = Sha256::digest(&buf);
            let digest = i64::from_le_bytes(hash[..8].try_into().expect("8 bytes"));
            (build.profiles.key(row), digest)
        })
        .collect()
}

impl ChangeSet {
    pub fn build_id(&self) -> &str {
        &self.build.manifest.build_id
    }

    pub fn summary(&self) -> ChangeSummary {
        let count = |k| self.identity.iter().filter(|c| c.kind == k).count();
        ChangeSummary {
            build_id: self.build_id().to_string(),
            previous_build_id: self.previous.as_ref().map(|p| p.build_id.clone()),
            added: self.added.len(),
            changed: self.changed.len(),
            removed: self.removed.len(),
            merges: count(IdentityChangeKind::Merge),
            splits: count(IdentityChangeKind::Split),
            messages: (self.added.len()
                + self.changed.len()
                + self.removed.len()
                + self.identity.len()) as u64,
            already_published: false,
        }
    }

    /// Renders every message — identity changes first (consumers re-key
    /// before they see the profiles), then removals, additions, changes —
    /// and hands each to `emit` as (key, kind, JSON).
    pub fn for_each_message(
        &self,
        mut emit: impl FnMut(&str, &str, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut buf = Vec::with_capacity(4096);
        let b = &self.build;
        let head = |buf: &mut Vec<u8>, kind: &str, key: i64| {
            buf.clear();
            buf.extend_from_slice(b"{\"kind\":");
            write_str(buf, kind);
            buf.extend_from_slice(b",\"published_at\":");
            write_str(buf, &self.published_at);
            buf.extend_from_slice(b",\"one_id\":");
            write_str(buf, &one_id(key));
            buf.extend_from_slice(
                format!(",\"one_key\":{key},\"build\":{{\"build_id\":").as_bytes(),
            );
            write_str(buf, &b.manifest.build_id);
            buf.extend_from_slice(b",\"as_of\":");
            write_str(buf, &b.manifest.as_of);
            buf.push(b'}');
        };
        let opt_str = |buf: &mut Vec<u8>, v: Option<&str>| match v {
            Some(v) => write_str(buf, v),
            None => buf.extend_from_slice(b"null"),
        };
        for c in &self.identity {
            let (kind, other) = match c.kind {
                IdentityChangeKind::Merge => ("identity_merge", "survivor"),
                IdentityChangeKind::Split => ("identity_split", "new"),
            };
            head(&mut buf, kind, c.from_key);
            buf.extend_from_slice(format!(",\"{other}_one_id\":").as_bytes());
            write_str(&mut buf, &one_id(c.to_key));
            buf.extend_from_slice(
                format!(",\"{other}_one_key\":{},\"identity_run_id\":", c.to_key).as_bytes(),
            );
            write_str(&mut buf, &c.run_id);
            buf.extend_from_slice(b",\"recorded_at\":");
            opt_str(&mut buf, c.recorded_at.as_deref());
            buf.extend_from_slice(b",\"reason\":");
            opt_str(&mut buf, c.reason.as_deref());
            buf.extend_from_slice(b",\"edge_types\":");
            buf.extend_from_slice(&serde_json::to_vec(&c.edge_types).expect("JSON"));
            buf.push(b'}');
            emit(&one_id(c.from_key), kind, &buf)?;
        }
        for &(key, merged_into) in &self.removed {
            head(&mut buf, "profile_removed", key);
            buf.extend_from_slice(b",\"merged_into\":");
            opt_str(&mut buf, merged_into.map(one_id).as_deref());
            buf.push(b'}');
            emit(&one_id(key), "profile_removed", &buf)?;
        }
        for (kind, keys) in [
            ("profile_added", &self.added),
            ("profile_changed", &self.changed),
        ] {
            for &key in keys {
                head(&mut buf, kind, key);
                // The person document of the API, less its one_id, one_key
                // and build (in the head already).
                let mut person = Vec::with_capacity(2048);
                b.write_person(&mut person, key, None);
                let body_start =
                    find(&person, b",\"profile\":").expect("write_person writes profile");
                buf.extend_from_slice(&person[body_start..]);
                emit(&one_id(key), kind, &buf)?;
            }
        }
        Ok(())
    }

    /// Records this build as published: its digests, then the state (the
    /// commit point), then the previous digests file is deleted.
    pub async fn commit(&self, lake: &Lake, topic: &str, messages: u64) -> Result<FeedState> {
        let build_id = self.build_id();
        let digests = format!("{DIGESTS_DIR}/digests-{build_id}.parquet");
        let schema = Arc::new(Schema::new(vec![
            Field::new("one_key", DataType::Int64, false),
            Field::new("digest", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values(
                    self.digests.iter().map(|d| d.0),
                )),
                Arc::new(Int64Array::from_iter_values(
                    self.digests.iter().map(|d| d.1),
                )),
            ],
        )
        .map_err(|e| ServeError::Internal(format!("digest batch: {e}")))?;
        lake.put(
            &digests,
            cdp_lake::parquet_io::encode(&digests, schema, &[batch])?,
        )
        .await?;
        let state = FeedState {
            build_id: build_id.to_string(),
            as_of: self.build.manifest.as_of.clone(),
            identity_run_id: self.build.manifest.identity_run_id(),
            digests,
            topic: topic.to_string(),
            published_at: self.published_at.clone(),
            messages,
        };
        let json =
            serde_json::to_vec_pretty(&state).map_err(|e| ServeError::Internal(e.to_string()))?;
        lake.put(STATE, Bytes::from(json)).await?;
        if let Some(p) = &self.previous {
            if p.digests != state.digests {
                lake.delete(&p.digests).await?;
            }
        }
        Ok(state)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub async fn read_state(lake: &Lake) -> Result<Option<FeedState>> {
    let Some(bytes) = lake.get_opt(STATE).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| ServeError::Manifest {
            path: STATE.into(),
            reason: format!("not a change feed state: {e}"),
        })
}

async fn read_digests(lake: &Lake, file: &str) -> Result<Vec<(i64, i64)>> {
    let manifest = BuildManifest {
        build_id: "change_feed".into(),
        as_of: String::new(),
        ltv_time_unit: None,
        finished_at: None,
        tables: BTreeMap::from([("digests".to_string(), vec![file.to_string()])]),
    };
    let mut out = Vec::new();
    for (file, batch) in manifest::read_table(lake, &manifest, "digests", None).await? {
        let column = |name| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<Int64Type>())
                .ok_or_else(|| ServeError::Manifest {
                    path: file.clone(),
                    reason: format!("no Int64 column {name}"),
                })
        };
        let (keys, digests) = (column("one_key")?, column("digest")?);
        out.extend(
            keys.values()
                .iter()
                .copied()
                .zip(digests.values().iter().copied()),
        );
    }
    out.sort_unstable();
    Ok(out)
}

/// Merges and splits of the `identity_merges` runs in `(after, up_to]`
/// (either bound open when `None`), in run order.
pub async fn identity_changes(
    lake: &Lake,
    after: Option<&str>,
    up_to: Option<&str>,
) -> Result<Vec<IdentityChange>> {
    let files: Vec<String> = lake
        .list(IDENTITY_MERGES)
        .await?
        .into_iter()
        .filter(|f| match run_id_of(f) {
            Some(run) => after.is_none_or(|a| run > a) && up_to.is_none_or(|u| run <= u),
            None => false,
        })
        .collect();
    let manifest = BuildManifest {
        build_id: "identity_merges".into(),
        as_of: String::new(),
        ltv_time_unit: None,
        finished_at: None,
        tables: BTreeMap::from([(IDENTITY_MERGES.to_string(), files)]),
    };
    let mut out = Vec::new();
    for (file, batch) in manifest::read_table(lake, &manifest, IDENTITY_MERGES, None).await? {
        let run_id = run_id_of(&file).unwrap_or_default().to_string();
        let text = |name: &str| -> Option<arrow::array::ArrayRef> {
            batch
                .column_by_name(name)
                .and_then(|c| arrow::compute::cast(c, &DataType::Utf8).ok())
        };
        let key = |name: &'static str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<Int64Type>())
                .ok_or_else(|| {
                    ServeError::table("identity_merges", &file, format!("no Int64 column {name}"))
                })
        };
        let (from, to) = (key("from_one_key")?, key("to_one_key")?);
        let kind = Some(
            text("kind")
                .ok_or_else(|| ServeError::table("identity_merges", &file, "no column kind"))?,
        );
        let reason = text("reason");
        let a_type = text("a_type");
        let b_type = text("b_type");
        let recorded_at = batch.column_by_name("recorded_at").cloned();
        let value = |a: &Option<arrow::array::ArrayRef>, row: usize| -> Option<String> {
            let a = a.as_ref()?.as_string::<i32>();
            a.is_valid(row).then(|| a.value(row).to_string())
        };
        for row in 0..batch.num_rows() {
            let kind = match value(&kind, row).as_deref() {
                Some("merge") => IdentityChangeKind::Merge,
                Some("split") => IdentityChangeKind::Split,
                _ => continue,
            };
            if from.is_null(row) || to.is_null(row) {
                continue;
            }
            let recorded_at = recorded_at.as_ref().and_then(|c| {
                let mut out = Vec::new();
                crate::row_json::write_value(&mut out, c.as_ref(), row);
                serde_json::from_slice::<Option<String>>(&out)
                    .ok()
                    .flatten()
            });
            out.push(IdentityChange {
                kind,
                from_key: from.value(row),
                to_key: to.value(row),
                run_id: run_id.clone(),
                recorded_at,
                reason: value(&reason, row),
                edge_types: [value(&a_type, row), value(&b_type, row)]
                    .into_iter()
                    .flatten()
                    .collect(),
            });
        }
    }
    Ok(out)
}

/// Counts what the brokers refused: librdkafka reports deliveries only to
/// this callback.
#[derive(Default)]
struct DeliveryCheck {
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for DeliveryCheck {}

impl ProducerContext for DeliveryCheck {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            self.first_error
                .lock()
                .expect("lock")
                .get_or_insert_with(|| e.to_string());
        }
    }
}

/// Where to publish.
#[derive(Debug, Clone)]
pub struct PublishTarget {
    pub brokers: String,
    pub topic: String,
    /// `[kafka]`: its properties and secrets apply to the producer.
    pub kafka: KafkaConfig,
}

fn produce(changes: &ChangeSet, target: &PublishTarget) -> Result<u64> {
    let defaults = [
        ("acks", "all"),
        ("linger.ms", "20"),
        ("queue.buffering.max.messages", "200000"),
    ];
    let producer: ThreadedProducer<DeliveryCheck> =
        cdp_ingest::kafka::producer_config(&target.brokers, &target.kafka, &defaults)?
            .create_with_context(DeliveryCheck::default())
            .map_err(|source| ServeError::Kafka {
                what: format!("creating a producer for {}", target.brokers),
                source,
            })?;
    let mut sent = 0u64;
    changes.for_each_message(|key, kind, payload| {
        let headers = OwnedHeaders::new().insert(Header {
            key: HEADER_KIND,
            value: Some(kind),
        });
        let mut record = BaseRecord::to(&target.topic)
            .key(key)
            .payload(payload)
            .headers(headers);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err((source, _)) => {
                    return Err(ServeError::Kafka {
                        what: format!("producing a {kind} message to {}", target.topic),
                        source,
                    })
                }
            }
        }
        sent += 1;
        Ok(())
    })?;
    producer
        .flush(Duration::from_secs(120))
        .map_err(|source| ServeError::Kafka {
            what: format!("waiting for {} to acknowledge every change", target.brokers),
            source,
        })?;
    let check = producer.context();
    let failed = check.failed.load(Ordering::Relaxed);
    if failed > 0 {
        return Err(ServeError::Delivery {
            brokers: target.brokers.clone(),
            failed,
            first: check
                .first_error
                .lock()
                .expect("lock")
                .clone()
                .unwrap_or_default(),
        });
    }
    Ok(sent)
}

/// Publishes the changes of the current build since the last publication
/// to `target.topic`, then records the build as published. Call it after
/// each `cdp build` (or run `cdp publish-changes`); a build already
/// published is not sent again.
pub async fn publish(
    lake: &Lake,
    target: &PublishTarget,
    ignore_columns: &[String],
) -> Result<ChangeSummary> {
    let started = Instant::now();
    let Some(changes) = changes(lake, ignore_columns).await? else {
        let state = read_state(lake).await?;
        return Ok(ChangeSummary {
            build_id: state.map(|s| s.build_id).unwrap_or_default(),
            already_published: true,
            ..Default::default()
        });
    };
    let changes = Arc::new(changes);
    let sent = {
        let changes = changes.clone();
        let target = target.clone();
        tokio::task::spawn_blocking(move || produce(&changes, &target))
            .await
            .map_err(|e| ServeError::Internal(format!("producer task: {e}")))??
    };
    changes.commit(lake, &target.topic, sent).await?;
    let summary = changes.summary();
    tracing::info!(
        build_id = %summary.build_id,
        previous = ?summary.previous_build_id,
        added = summary.added,
        changed = summary.changed,
        removed = summary.removed,
        merges = summary.merges,
        splits = summary.splits,
        messages = sent,
        topic = %target.topic,
        seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
        "change feed published"
    );
    Ok(summary)
}
