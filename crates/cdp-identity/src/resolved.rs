//! `resolved_events/source=…/dt=…/part-<run_id>-<n>.parquet`: every event
//! with the one_key and one_id of its strongest identifier, and the analytic
//! columns of `events`; rows sorted by one_key (events without an
//! identifier last), then event_time, then event_id.
//!
//! A partition is always written whole from its events files: when new
//! events arrive in it, or when a one_key of its rows changed (a merge, a
//! split, an erasure). Partitions nothing touched are left alone. One file
//! per partition keeps the jobs' reads few and sequential.
//!
//! **The rule for an event whose identifiers ended in two one_ids** (an edge
//! was refused): it belongs to the one_id of its strongest identifier, in
//! the priority order of `[identity]` (member_id, unionid, phone, … then
//! devices), ties by the canonical value. An event whose identifiers are all
//! excluded (junk, hot values) has a null one_key, like one without any.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Int64Array, RecordBatch};
use arrow::compute::{
    concat_batches, lexsort_to_indices, take_record_batch, SortColumn, SortOptions,
};
use arrow::datatypes::Int64Type;
use futures::{StreamExt, TryStreamExt};
use rustc_hash::FxHashSet;

use cdp_lake::{parquet_io, Lake};

use crate::error::{IdentityError, Result};
use crate::events_in::{partition_of, IdColumns, Partition};
use crate::nodes::{Nodes, NONE};
use crate::one_id::OneKey;
use crate::rules::Rules;
use crate::run::{REF_NONE, REF_SET};
use crate::sets::Sets;
use crate::tables::{resolved_events_schema, NOT_RESOLVED, RESOLVED_EVENTS};

/// Files written at once beside the reader.
const FILES_IN_FLIGHT: usize = 2;
/// No anchor: every identifier of the set is excluded.
const NO_ANCHOR: u32 = NONE - 1;

/// The one_key of an event: that of its strongest usable identifier.
pub(crate) struct Anchors<'a> {
    pub nodes: &'a Nodes,
    pub sets: &'a Sets,
    pub rules: &'a Rules,
    pub keys: &'a [OneKey],
    /// Anchor of each set, computed on first use.
    cache: Vec<u32>,
}

impl<'a> Anchors<'a> {
    pub fn new(nodes: &'a Nodes, sets: &'a Sets, rules: &'a Rules, keys: &'a [OneKey]) -> Self {
        Self {
            nodes,
            sets,
            rules,
            keys,
            cache: vec![NONE; sets.len()],
        }
    }

    fn best(&self, candidates: impl Iterator<Item = u32>) -> Option<u32> {
        candidates
            .filter(|&n| !self.nodes.is_excluded(n))
            .min_by(|&a, &b| self.nodes.cmp_priority(self.rules, a, b))
    }

    /// The anchor node of a set.
    pub fn anchor_of_set(&mut self, s: u32) -> Option<u32> {
        let cached = self.cache[s as usize];
        if cached == NONE {
            let a = self
                .best(self.sets.members(s).iter().copied())
                .unwrap_or(NO_ANCHOR);
            self.cache[s as usize] = a;
            return (a != NO_ANCHOR).then_some(a);
        }
        (cached != NO_ANCHOR).then_some(cached)
    }

    fn key_of_node(&self, n: u32) -> Option<OneKey> {
        let k = self.keys[n as usize];
        (k != 0).then_some(k)
    }

    /// The key of a row reference from reading the events.
    pub fn key_of_ref(&mut self, r: u32) -> Option<OneKey> {
        match r {
            REF_NONE => None,
            r if r & REF_SET != 0 => self
                .anchor_of_set(r & !REF_SET)
                .and_then(|a| self.key_of_node(a)),
            n => {
                if self.nodes.is_excluded(n) {
                    None
                } else {
                    self.key_of_node(n)
                }
            }
        }
    }

    /// The anchor node of an event's identifiers, looked up by value.
    pub fn anchor_of_ids<'v>(
        &self,
        ids: impl Iterator<Item = (cdp_model::IdType, &'v str)>,
    ) -> Option<u32> {
        self.best(ids.filter_map(|(t, v)| self.nodes.find(t, v)))
    }
}

/// Partitions holding a row whose one_key is in `keys`, among `files`.
pub(crate) async fn partitions_with_keys(
    lake: &Lake,
    files: &[String],
    keys: &FxHashSet<OneKey>,
) -> Result<BTreeSet<Partition>> {
    let mut found = BTreeSet::new();
    if keys.is_empty() {
        return Ok(found);
    }
    let mut scans = futures::stream::iter(files.iter().map(|path| async move {
        let bytes = lake.get(path).await?;
        let p = path.clone();
        let batches =
            tokio::task::spawn_blocking(move || parquet_io::decode(&p, bytes, Some(&["one_key"])))
                .await
                .map_err(|e| IdentityError::Task(e.to_string()))??;
        Ok::<_, IdentityError>((path, batches))
    }))
    .buffered(2);
    while let Some((path, batches)) = scans.try_next().await? {
        let hit = batches.iter().any(|b| {
            b.column(0)
                .as_primitive_opt::<Int64Type>()
                .is_some_and(|k| k.iter().flatten().any(|k| keys.contains(&k)))
        });
        if hit {
            found.insert(partition_of(path));
        }
    }
    Ok(found)
}

/// What rewriting partitions produced.
#[derive(Default)]
pub(crate) struct Rewritten {
    /// New files per partition (empty: the partition has no events left).
    pub files: BTreeMap<Partition, Vec<String>>,
    pub rows: u64,
}

/// Rewrites each partition of `partitions` from its events files `inputs`.
/// `refs` holds the row references of files read in this run.
pub(crate) async fn rewrite_partitions(
    lake: &Lake,
    run_id: &str,
    partitions: &BTreeSet<Partition>,
    inputs: &BTreeMap<Partition, Vec<String>>,
    refs: &rustc_hash::FxHashMap<String, Vec<u32>>,
    anchors: &mut Anchors<'_>,
) -> Result<Rewritten> {
    let mut out = Rewritten::default();
    let total = partitions.len();
    let empty = Vec::new();
    let mut reads = futures::stream::iter(partitions.iter().map(|p| {
        let files = inputs.get(p).unwrap_or(&empty).clone();
        async move {
            let mut decoded = Vec::new();
            for path in files {
                let bytes = lake.get(&path).await?;
                let p2 = path.clone();
                let batches = tokio::task::spawn_blocking(move || {
                    let schema = cdp_lake::schema::events_schema();
                    let columns: Vec<&str> = schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .filter(|n| *n == "identifiers" || !NOT_RESOLVED.contains(n))
                        .collect();
                    parquet_io::decode(&p2, bytes, Some(&columns))
                })
                .await
                .map_err(|e| IdentityError::Task(e.to_string()))??;
                decoded.push((path, batches));
            }
            Ok::<_, IdentityError>((p.clone(), decoded))
        }
    }))
    .buffered(2);
    let mut in_flight: std::collections::VecDeque<tokio::task::JoinHandle<Result<()>>> =
        Default::default();
    let mut done = 0usize;
    while let Some((partition, decoded)) = reads.try_next().await? {
        let mut batches = Vec::new();
        for (path, file_batches) in decoded {
            let file_refs = refs.get(&path);
            let mut row = 0usize;
            for batch in file_batches {
                let keys: Vec<Option<OneKey>> = match file_refs {
                    Some(r) => {
                        let k = r[row..row + batch.num_rows()]
                            .iter()
                            .map(|&r| anchors.key_of_ref(r))
                            .collect();
                        row += batch.num_rows();
                        k
                    }
                    None => {
                        let cols = IdColumns::of(&path, &batch)?;
                        (0..cols.rows())
                            .map(|i| {
                                anchors.anchor_of_ids(cols.row(i)).and_then(|a| {
                                    let k = anchors.keys[a as usize];
                                    (k != 0).then_some(k)
                                })
                            })
                            .collect()
                    }
                };
                batches.push(resolved_batch(&path, &batch, keys)?);
            }
        }
        done += 1;
        if done.is_multiple_of(200) {
            tracing::info!(partitions = done, of = total, "writing resolved_events");
        }
        if batches.is_empty() {
            out.files.insert(partition, Vec::new());
            continue;
        }
        let (source, dt) = &partition;
        let path = format!("{RESOLVED_EVENTS}/source={source}/dt={dt}/part-{run_id}-00000.parquet");
        out.rows += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
        out.files.insert(partition.clone(), vec![path.clone()]);
        let lake = lake.clone();
        in_flight.push_back(tokio::spawn(async move {
            let p = path.clone();
            let bytes = tokio::task::spawn_blocking(move || -> Result<bytes::Bytes> {
                let schema = resolved_events_schema();
                let all = concat_batches(&schema, &batches)
                    .map_err(IdentityError::arrow(RESOLVED_EVENTS))?;
                let sorted = sort_rows(&all)?;
                Ok(parquet_io::encode(&p, schema, &[sorted])?)
            })
            .await
            .map_err(|e| IdentityError::Task(e.to_string()))??;
            lake.put(&path, bytes).await?;
            Ok(())
        }));
        while in_flight.len() >= FILES_IN_FLIGHT {
            if let Some(h) = in_flight.pop_front() {
                h.await.map_err(|e| IdentityError::Task(e.to_string()))??;
            }
        }
    }
    for h in in_flight {
        h.await.map_err(|e| IdentityError::Task(e.to_string()))??;
    }
    Ok(out)
}

/// The resolved rows of one decoded events batch.
fn resolved_batch(
    location: &str,
    batch: &RecordBatch,
    keys: Vec<Option<OneKey>>,
) -> Result<RecordBatch> {
    let schema = resolved_events_schema();
    let mut ids = arrow::array::StringBuilder::with_capacity(keys.len(), keys.len() * 15);
    for k in &keys {
        match k {
            Some(k) => crate::one_id::append_one_id(&mut ids, *k),
            None => ids.append_null(),
        }
    }
    let ids = ids.finish();
    let mut columns: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(keys)), Arc::new(ids)];
    for field in schema.fields().iter().skip(2) {
        let col = batch
            .column_by_name(field.name())
            .ok_or_else(|| IdentityError::BadColumn {
                location: location.to_string(),
                column: "events analytic column",
                reason: format!("{} missing", field.name()),
            })?;
        columns.push(col.clone());
    }
    RecordBatch::try_new(schema, columns).map_err(IdentityError::arrow(RESOLVED_EVENTS))
}

/// one_key ascending with nulls last, then event_time, then event_id.
fn sort_rows(batch: &RecordBatch) -> Result<RecordBatch> {
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .expect("resolved_events column")
            .clone()
    };
    let columns = vec![
        SortColumn {
            values: col("one_key"),
            options: Some(SortOptions {
                descending: false,
                nulls_first: false,
            }),
        },
        SortColumn {
            values: col("event_time"),
            options: None,
        },
        SortColumn {
            values: col("event_id"),
            options: None,
        },
    ];
    let indices =
        lexsort_to_indices(&columns, None).map_err(IdentityError::arrow(RESOLVED_EVENTS))?;
    take_record_batch(batch, &indices).map_err(IdentityError::arrow(RESOLVED_EVENTS))
}
