//! `resolved_events/source=…/dt=…/part-<run_id>-<n>.parquet`: every event
//! with the one_key and one_id of its strongest identifier, and the analytic
//! columns of `events`; rows in the order of the partition's events files.
//!
//! A partition is always written whole from its events files: when new
//! events arrive in it, or when a one_key of its rows changed (a merge, a
//! split, an erasure). Partitions nothing touched are left alone. One file
//! per partition keeps the jobs' reads few and sequential. The analytic
//! columns are the events files' own Parquet column chunks, copied without
//! decoding: decoding, sorting and re-encoding every event was the largest
//! cost of a resolve (12 of 25 s at 1M persons), copying costs a memcpy.
//!
//! **The rule for an event whose identifiers ended in two one_ids** (an edge
//! was refused): it belongs to the one_id of its strongest identifier, in
//! the priority order of `[identity]` (member_id, unionid, phone, … then
//! devices), ties by the canonical value. An event whose identifiers are all
//! excluded (junk, hot values) has a null one_key, like one without any.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Int64Array};
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
use crate::tables::{resolved_events_schema, RESOLVED_EVENTS};

/// Files written at once beside the reader.
const FILES_IN_FLIGHT: usize = 2;
/// Partitions read ahead of the key lookups.
const PARTITIONS_READ_AHEAD: usize = 4;
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
    // Each partition is read by a task of its own, so that reading goes on
    // while this one looks keys up (as when reading events in `run`).
    let mut reads = futures::stream::iter(partitions.iter().map(|p| {
        let files = inputs.get(p).unwrap_or(&empty).clone();
        // Only files this run did not read have their identifiers decoded:
        // those read have their rows' references already.
        let decode_ids: Vec<bool> = files.iter().map(|f| !refs.contains_key(f)).collect();
        let (lake, partition) = (lake.clone(), p.clone());
        tokio::spawn(async move {
            let mut read = Vec::with_capacity(files.len());
            for (path, decode_ids) in files.into_iter().zip(decode_ids) {
                let bytes = lake.get(&path).await?;
                let ids = if decode_ids {
                    let (p, b) = (path.clone(), bytes.clone());
                    Some(
                        tokio::task::spawn_blocking(move || {
                            parquet_io::decode_with_dictionaries(
                                &p,
                                b,
                                Some(&["identifiers"]),
                                crate::events_in::DICTIONARY_FIELDS,
                            )
                        })
                        .await
                        .map_err(|e| IdentityError::Task(e.to_string()))??,
                    )
                } else {
                    None
                };
                read.push((path, bytes, ids));
            }
            Ok::<_, IdentityError>((partition, read))
        })
    }))
    .buffered(PARTITIONS_READ_AHEAD)
    .map(|joined| joined.map_err(|e| IdentityError::Task(e.to_string()))?);
    let mut in_flight: std::collections::VecDeque<tokio::task::JoinHandle<Result<()>>> =
        Default::default();
    let mut done = 0usize;
    while let Some((partition, read)) = reads.try_next().await? {
        let mut files = Vec::with_capacity(read.len());
        for (path, bytes, ids) in read {
            let keys: Vec<Option<OneKey>> = match ids {
                None => refs[&path].iter().map(|&r| anchors.key_of_ref(r)).collect(),
                Some(batches) => {
                    let mut keys = Vec::new();
                    for batch in &batches {
                        let cols = IdColumns::of(&path, batch)?;
                        keys.extend((0..cols.rows()).map(|i| {
                            anchors
                                .anchor_of_ids(cols.row(i))
                                .and_then(|a| anchors.key_of_node(a))
                        }));
                    }
                    keys
                }
            };
            files.push((path, bytes, keys));
        }
        done += 1;
        if done.is_multiple_of(200) {
            tracing::info!(partitions = done, of = total, "writing resolved_events");
        }
        if files.is_empty() {
            out.files.insert(partition, Vec::new());
            continue;
        }
        let (source, dt) = &partition;
        let path = format!("{RESOLVED_EVENTS}/source={source}/dt={dt}/part-{run_id}-00000.parquet");
        out.rows += files.iter().map(|f| f.2.len() as u64).sum::<u64>();
        out.files.insert(partition.clone(), vec![path.clone()]);
        let lake = lake.clone();
        in_flight.push_back(tokio::spawn(async move {
            let p = path.clone();
            let bytes = tokio::task::spawn_blocking(move || -> Result<bytes::Bytes> {
                let inputs = files
                    .into_iter()
                    .map(|(location, bytes, keys)| parquet_io::SpliceInput {
                        location,
                        bytes,
                        new_columns: one_id_columns(keys),
                    })
                    .collect();
                Ok(parquet_io::splice(
                    &p,
                    resolved_events_schema(),
                    inputs,
                    &["one_key", "one_id"],
                )?)
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

/// The one_key and one_id columns of rows with `keys`.
fn one_id_columns(keys: Vec<Option<OneKey>>) -> Vec<ArrayRef> {
    let mut ids = arrow::array::StringBuilder::with_capacity(keys.len(), keys.len() * 15);
    for k in &keys {
        match k {
            Some(k) => crate::one_id::append_one_id(&mut ids, *k),
            None => ids.append_null(),
        }
    }
    vec![Arc::new(Int64Array::from(keys)), Arc::new(ids.finish())]
}
