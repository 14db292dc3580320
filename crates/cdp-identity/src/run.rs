//! One run of the stage: load the graph state, read the events files not
//! resolved yet, apply what changed (new sets of identifiers, newly excluded
//! values, unbind rules, erasures), allocate one_keys, and write every
//! output, the manifest last.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use rustc_hash::{FxHashMap, FxHashSet};

use cdp_lake::{parquet_io, Lake};

use crate::components::Components;
use crate::engine::{Conflict, Engine, Merge, Work};
use crate::error::{IdentityError, Result};
use crate::events_in::{list_event_files, partition_of, FileIds, Partition, NO_SET};
use crate::nodes::{flag, Nodes, NONE};
use crate::one_id::OneKey;
use crate::rules::{Refusal, Rules};
use crate::sets::Sets;
use crate::state::{Graph, Manifest, RuleBook};
use crate::summary::{size_bucket, ResolveSummary};
use cdp_model::JunkList;

/// A row of an events file as the graph saw it: a set, a single node, or
/// nothing.
pub(crate) const REF_SET: u32 = 1 << 31;
pub(crate) const REF_NONE: u32 = u32::MAX;

/// Events files read and decoded ahead of interning: enough to keep both
/// cores busy while one interns, few enough to bound the memory held.
const FILES_DECODED_AHEAD: usize = 4;

/// What a run is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Resolve,
    Unbind,
    Forget,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Resolve => "resolve",
            Action::Unbind => "unbind",
            Action::Forget => "forget",
        }
    }
}

/// A one_id divided this run.
#[derive(Debug, Clone)]
pub struct Split {
    pub from: OneKey,
    pub to: OneKey,
    pub reason: String,
    /// The identifier whose change caused it, if one did.
    pub cause: Option<u32>,
}

/// A value found shared by implausibly many people this run.
#[derive(Debug, Clone)]
pub struct HotValue {
    pub node: u32,
    pub id_type: cdp_model::IdType,
    pub distinct: u32,
}

pub struct Run {
    pub(crate) lake: Lake,
    pub(crate) rules: Rules,
    pub(crate) run_id: String,
    pub(crate) started: Instant,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) prev: Option<Manifest>,
    pub(crate) graph: Graph,
    pub(crate) book: RuleBook,
    /// Flags of the stored nodes as loaded.
    pub(crate) stored_flags: Vec<u8>,
    pub(crate) stored_nodes: usize,
    pub(crate) stored_sets: usize,
    /// Sets first seen in this run.
    pub(crate) new_sets: Vec<u32>,
    /// Events files read in this run, and each row's set or node.
    pub(crate) new_files: Vec<String>,
    pub(crate) file_refs: FxHashMap<String, Vec<u32>>,
    /// Events files of the last run that are gone now.
    pub(crate) vanished_files: Vec<String>,
    pub(crate) events_read: u64,
    pub(crate) events_without_identifier: u64,
    pub(crate) hot: Vec<HotValue>,
    /// Wall time of each phase so far.
    pub(crate) phases: BTreeMap<String, u64>,
}

/// What `finish` computed, for the writers.
pub struct Outcome {
    /// one_key of every node now (0: none).
    pub keys: Vec<OneKey>,
    pub conflicts: Vec<Conflict>,
    pub merges: Vec<Merge>,
    pub splits: Vec<Split>,
    /// Keys some node had before and no longer has.
    pub changed_keys: FxHashSet<OneKey>,
    pub refused: BTreeMap<Refusal, u64>,
    pub accepted: u64,
    pub new_one_ids: u64,
    /// The first key of the next run.
    pub next_key: OneKey,
}

fn new_run_id(prev: Option<&Manifest>, now: DateTime<Utc>) -> String {
    let mut id = now.format("%Y%m%dT%H%M%S%3fZ").to_string();
    // Two runs in one millisecond (tests) must still sort after each other.
    if let Some(p) = prev {
        if id <= p.run_id {
            id = format!("{}-1", p.run_id);
        }
    }
    id
}

impl Run {
    /// Loads the state of the last run (if any) and the unbind rules.
    pub async fn start(lake: &Lake, rules: Rules) -> Result<Self> {
        let started = Instant::now();
        let started_at = Utc::now();
        let prev = Manifest::load(lake).await?;
        let graph = match &prev {
            Some(m) => Graph::load(lake, m).await?,
            None => Graph::empty(),
        };
        let book = RuleBook::load(lake).await?;
        let run_id = new_run_id(prev.as_ref(), started_at);
        let mut phases = BTreeMap::new();
        phases.insert(
            "load_state".to_string(),
            started.elapsed().as_millis() as u64,
        );
        tracing::info!(run_id = %run_id, identifiers = graph.nodes.len(), sets = graph.sets.len(), "identity state loaded");
        Ok(Self {
            lake: lake.clone(),
            rules,
            run_id,
            started,
            started_at,
            stored_flags: graph.nodes.flags.clone(),
            stored_nodes: graph.nodes.len(),
            stored_sets: graph.sets.len(),
            prev,
            graph,
            book,
            new_sets: Vec::new(),
            new_files: Vec::new(),
            file_refs: FxHashMap::default(),
            vanished_files: Vec::new(),
            events_read: 0,
            events_without_identifier: 0,
            hot: Vec::new(),
            phases,
        })
    }

    /// Reads every events file not resolved yet into the graph: its
    /// identifiers become nodes, each event's identifiers a set.
    pub async fn read_new_events(&mut self) -> Result<()> {
        let t0 = Instant::now();
        let all = list_event_files(&self.lake).await?;
        let done: BTreeSet<&String> = self
            .prev
            .iter()
            .flat_map(|m| m.resolved_inputs.iter())
            .collect();
        let present: BTreeSet<&String> = all.iter().collect();
        self.vanished_files = done
            .iter()
            .filter(|f| !present.contains(**f))
            .map(|f| (*f).clone())
            .collect();
        let new: Vec<String> = all.iter().filter(|f| !done.contains(f)).cloned().collect();
        let total = new.len();
        tracing::info!(files = total, "reading new events files");
        let lake = self.lake.clone();
        // Each file is read and decoded by a task of its own, so that it
        // goes on while this one interns: futures merely buffered here would
        // only advance while polled, and decoding waited for interning
        // (a third of the phase, measured).
        let mut decoded = futures::stream::iter(new.into_iter().map(|path| {
            let lake = lake.clone();
            tokio::spawn(async move {
                let bytes = lake.get(&path).await?;
                let p = path.clone();
                let ids = tokio::task::spawn_blocking(move || {
                    let batches = parquet_io::decode_with_dictionaries(
                        &p,
                        bytes,
                        Some(&["event_time", "identifiers"]),
                        crate::events_in::DICTIONARY_FIELDS,
                    )?;
                    FileIds::of(&p, &batches)
                })
                .await
                .map_err(|e| IdentityError::Task(e.to_string()))??;
                Ok::<_, IdentityError>((path, ids))
            })
        }))
        .buffered(FILES_DECODED_AHEAD)
        .map(|joined| joined.map_err(|e| IdentityError::Task(e.to_string()))?);
        let mut done_files = 0usize;
        while let Some((path, file)) = decoded.try_next().await? {
            let (refs, without) = intern_file(
                &mut self.graph.nodes,
                &mut self.graph.sets,
                &self.rules.junk,
                &file,
                &mut self.new_sets,
            )?;
            self.events_without_identifier += without;
            self.events_read += refs.len() as u64;
            self.file_refs.insert(path.clone(), refs);
            self.new_files.push(path);
            done_files += 1;
            if done_files.is_multiple_of(200) {
                tracing::info!(
                    files = done_files,
                    of = total,
                    events = self.events_read,
                    "reading events"
                );
            }
        }
        self.phase("read_events", t0);
        Ok(())
    }

    /// Marks what the current rules exclude: junk (when the junk list
    /// changed), unbind rules, hot values. Returns nothing; the nodes'
    /// flags now differ from `stored_flags` where something changed.
    pub(crate) fn apply_exclusions(&mut self) {
        let nodes = &mut self.graph.nodes;
        let junk_changed = self
            .prev
            .as_ref()
            .is_some_and(|m| m.junk_extra != self.rules.junk_extra);
        if junk_changed {
            for n in 0..self.stored_nodes as u32 {
                if nodes.flags(n) & flag::ERASED != 0 {
                    continue;
                }
                let junk = self.rules.junk.is_junk(nodes.id_type(n), &nodes.value(n));
                let f = &mut nodes.flags[n as usize];
                if junk {
                    *f |= flag::JUNK;
                } else {
                    *f &= !flag::JUNK;
                }
            }
        }
        for rule in &self.book.unbind {
            if let Some(t) = crate::events_in::parse_type(&rule.id_type) {
                if let Some(n) = nodes.find(t, &rule.id_value) {
                    nodes.flags[n as usize] |= flag::UNBOUND;
                }
            }
        }
        self.hot = crate::hot::detect(&self.graph.nodes, &self.graph.sets, &self.rules);
        for h in &self.hot {
            self.graph.nodes.flags[h.node as usize] |= flag::HOT;
        }
    }

    /// Applies everything and allocates keys. Reads the run only, so that
    /// other work on the graph goes on beside it.
    pub(crate) fn compute(&self) -> Outcome {
        let nodes = &self.graph.nodes;
        let old_keys = &self.graph.keys;
        let n_nodes = nodes.len();
        let n_old = self.stored_nodes;

        // Keys whose one_id must be rebuilt: an identifier in it changed
        // flags (excluded, unbound, or excluded no more).
        let mut rebuild: BTreeMap<OneKey, Option<(u32, &'static str)>> = BTreeMap::new();
        let mut key_sizes: FxHashMap<OneKey, u32> = FxHashMap::default();
        for &k in &old_keys[..n_old] {
            if k != 0 {
                *key_sizes.entry(k).or_default() += 1;
            }
        }
        #[allow(clippy::needless_range_loop)] // n indexes three arrays
        for n in 0..n_old {
            let relevant = flag::EXCLUDED | flag::UNBOUND;
            let (before, now) = (self.stored_flags[n] & relevant, nodes.flags[n] & relevant);
            if before == now {
                continue;
            }
            let reason = if now & flag::ERASED != 0 {
                "forget"
            } else if now & flag::HOT != 0 && before & flag::HOT == 0 {
                "hot_value"
            } else if now & flag::JUNK != 0 && before & flag::JUNK == 0 {
                "junk"
            } else if now & flag::UNBOUND != 0 && before & flag::UNBOUND == 0 {
                "unbind"
            } else {
                "rule_change"
            };
            let k = old_keys[n];
            if k != 0 && now & flag::ERASED == 0 && key_sizes.get(&k).copied().unwrap_or(0) > 1 {
                rebuild.entry(k).or_insert(Some((n as u32, reason)));
            }
        }

        // The union-find as stored, except the one_ids to rebuild.
        let types: Vec<u8> = (0..n_nodes as u32).map(|n| nodes.type_ix(n)).collect();
        let mut comps = Components::singletons(types);
        let mut rep: FxHashMap<OneKey, u32> = FxHashMap::default();
        for n in 0..n_old as u32 {
            let k = old_keys[n as usize];
            if k == 0 || nodes.is_excluded(n) || rebuild.contains_key(&k) {
                continue;
            }
            match rep.get(&k) {
                None => {
                    rep.insert(k, n);
                    comps.set_key(n, k);
                }
                Some(&r) => {
                    let rr = comps.find(r);
                    if rr != n {
                        comps.union_roots(rr, n);
                    }
                }
            }
        }

        // Replay the sets inside each one_id to rebuild, under today's rules.
        let mut splits = Vec::new();
        let mut next_key = self.graph.next_key;
        if !rebuild.is_empty() {
            let mut work = Vec::new();
            for s in 0..self.graph.sets.len() as u32 {
                let mut groups: BTreeMap<OneKey, Vec<u32>> = BTreeMap::new();
                for &m in self.graph.sets.members(s) {
                    let k = if (m as usize) < n_old {
                        old_keys[m as usize]
                    } else {
                        0
                    };
                    if k != 0 && !nodes.is_excluded(m) && rebuild.contains_key(&k) {
                        groups.entry(k).or_default().push(m);
                    }
                }
                for (_, mut members) in groups {
                    if members.len() >= 2 {
                        crate::engine::sort_members(nodes, &self.rules, &mut members);
                        work.push(Work { set: s, members });
                    }
                }
            }
            work.sort_by_key(|w| (self.graph.sets.first_seen[w.set as usize], w.set));
            let mut replay = Engine::new(nodes, &self.graph.sets, &self.rules, &mut comps);
            replay.apply(&work);
            // The piece holding the oldest identifier keeps the key; the
            // others get new keys, recorded as splits.
            let newly_unbound = |n: u32| {
                nodes.flags(n) & flag::UNBOUND != 0
                    && self.stored_flags[n as usize] & flag::UNBOUND == 0
            };
            let mut members_of: BTreeMap<OneKey, Vec<u32>> = BTreeMap::new();
            for n in 0..n_old as u32 {
                let k = old_keys[n as usize];
                if rebuild.contains_key(&k) && !nodes.is_excluded(n) {
                    members_of.entry(k).or_default().push(n);
                }
            }
            let mut pieces: Vec<(i64, u32, u32, OneKey)> = Vec::new(); // (first_seen, oldest node, root, from)
            for (k, members) in &members_of {
                let mut by_root: BTreeMap<u32, u32> = BTreeMap::new(); // root -> oldest member
                for &n in members {
                    let r = comps.find(n);
                    let e = by_root.entry(r).or_insert(n);
                    if older(nodes, n, *e) {
                        *e = n;
                    }
                }
                let keeper = members
                    .iter()
                    .copied()
                    .filter(|&n| !newly_unbound(n))
                    .min_by(|&a, &b| oldest_order(nodes, a, b))
                    .map(|n| comps.find(n));
                for (&root, &oldest) in &by_root {
                    if Some(root) == keeper {
                        comps.set_key(root, *k);
                    } else {
                        pieces.push((nodes.first_seen[oldest as usize], oldest, root, *k));
                    }
                }
            }
            pieces.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| nodes.cmp_canonical(a.1, b.1)));
            for (_, _, root, from) in pieces {
                comps.set_key(root, next_key);
                let cause = rebuild.get(&from).copied().flatten();
                splits.push(Split {
                    from,
                    to: next_key,
                    reason: cause.map_or("rule_change", |c| c.1).to_string(),
                    cause: cause.map(|c| c.0),
                });
                next_key += 1;
            }
        }

        // Nodes new in this run join as singletons; the new sets are applied.
        let mut work: Vec<Work> = self
            .new_sets
            .iter()
            .map(|&s| Engine::work_of(nodes, &self.rules, &self.graph.sets, s))
            .filter(|w| w.members.len() >= 2)
            .collect();
        work.sort_by_key(|w| (self.graph.sets.first_seen[w.set as usize], w.set));
        let mut engine = Engine::new(nodes, &self.graph.sets, &self.rules, &mut comps);
        engine.apply(&work);
        // A vector per set: gone before the keys are allocated (peak memory).
        drop(work);
        let Engine {
            conflicts,
            merges,
            refused,
            accepted,
            ..
        } = engine;

        // New one_ids, in order of first appearance (ties: the smallest
        // canonical identifier).
        // The oldest identifier of each component without a key, by root:
        // a vector over the nodes takes a third of a map's memory.
        let mut oldest = vec![NONE; n_nodes];
        let mut roots = Vec::new();
        for n in 0..n_nodes as u32 {
            if nodes.is_excluded(n) {
                continue;
            }
            let r = comps.find(n);
            if comps.key(r) != 0 {
                continue;
            }
            let o = &mut oldest[r as usize];
            if *o == NONE {
                *o = n;
                roots.push(r);
            } else if older(nodes, n, *o) {
                *o = n;
            }
        }
        let mut fresh: Vec<(i64, u32, u32)> = roots
            .into_iter()
            .map(|r| {
                let n = oldest[r as usize];
                (nodes.first_seen[n as usize], n, r)
            })
            .collect();
        drop(oldest);
        fresh.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| nodes.cmp_canonical(a.1, b.1)));
        let new_one_ids = fresh.len() as u64 + splits.len() as u64;
        for (_, _, r) in fresh {
            comps.set_key(r, next_key);
            next_key += 1;
        }

        let mut keys = vec![0; n_nodes];
        let mut changed_keys = FxHashSet::default();
        for n in 0..n_nodes as u32 {
            if !nodes.is_excluded(n) {
                keys[n as usize] = comps.key(comps.find_const(n));
            }
            if (n as usize) < n_old {
                let old = old_keys[n as usize];
                if old != 0 && old != keys[n as usize] {
                    changed_keys.insert(old);
                }
            }
        }
        Outcome {
            keys,
            conflicts,
            merges,
            splits,
            changed_keys,
            refused,
            accepted,
            new_one_ids,
            next_key,
        }
    }

    /// The summary of the graph as of `keys`.
    pub(crate) fn summarise(&self, action: Action, outcome: &Outcome) -> ResolveSummary {
        let nodes = &self.graph.nodes;
        let mut sizes: FxHashMap<OneKey, u64> = FxHashMap::default();
        let mut excluded: BTreeMap<String, u64> = BTreeMap::new();
        for (n, &k) in outcome.keys.iter().enumerate() {
            if k != 0 {
                *sizes.entry(k).or_default() += 1;
            } else {
                let f = nodes.flags(n as u32);
                let why = if f & flag::ERASED != 0 {
                    "erased"
                } else if f & flag::HOT != 0 {
                    "hot_value"
                } else {
                    "junk"
                };
                *excluded.entry(why.into()).or_default() += 1;
            }
        }
        let mut hist: BTreeMap<u32, (String, u64)> = BTreeMap::new();
        let mut largest: Option<(u64, OneKey)> = None;
        for (&k, &size) in &sizes {
            let (order, label) = size_bucket(size);
            hist.entry(order).or_insert((label, 0)).1 += 1;
            if largest.is_none_or(|(s, lk)| size > s || (size == s && k < lk)) {
                largest = Some((size, k));
            }
        }
        let identifiers: u64 = sizes.values().sum();
        let heap =
            nodes.heap_bytes() + self.graph.sets.heap_bytes() + self.graph.keys.capacity() * 8;
        ResolveSummary {
            run_id: self.run_id.clone(),
            action: action.as_str().into(),
            events_files_read: self.new_files.len() as u64,
            events_read: self.events_read,
            events_without_identifier: self.events_without_identifier,
            identifiers,
            new_identifiers: (nodes.len() - self.stored_nodes) as u64,
            excluded_identifiers: excluded,
            identifier_sets: self.graph.sets.len() as u64,
            new_identifier_sets: (self.graph.sets.len() - self.stored_sets) as u64,
            one_ids: sizes.len() as u64,
            new_one_ids: outcome.new_one_ids,
            merges: outcome.merges.len() as u64,
            splits: outcome.splits.len() as u64,
            largest_one_id: largest.map(|(_, k)| crate::one_id::one_id(k)),
            largest_size: largest.map_or(0, |(s, _)| s),
            size_histogram: hist.into_values().collect(),
            refused_edges: outcome
                .refused
                .iter()
                .map(|(r, n)| (r.as_string(), *n))
                .collect(),
            accepted_joins: outcome.accepted,
            hot_values_found: self.hot.len() as u64,
            resolved_partitions_written: 0,
            resolved_rows_written: 0,
            graph_bytes_per_identifier: (heap as u64 + (nodes.len() as u64) * 16)
                / (nodes.len().max(1) as u64),
            phases_ms: self.phases.clone(),
            elapsed_ms: 0,
        }
    }

    pub(crate) fn phase(&mut self, name: &str, since: Instant) {
        self.phases
            .insert(name.to_string(), since.elapsed().as_millis() as u64);
    }

    pub(crate) fn partitions_of_new_files(&self) -> BTreeSet<Partition> {
        self.new_files
            .iter()
            .chain(&self.vanished_files)
            .map(|f| partition_of(f))
            .collect()
    }
}

/// Interns the identifiers and sets of one events file into the graph;
/// returns each row's reference (a set, a node, or none) and the number of
/// rows without an identifier. Identifiers, then sets, in order of first
/// occurrence: the node and set ids interning event by event gives.
pub(crate) fn intern_file(
    nodes: &mut Nodes,
    sets: &mut Sets,
    junk: &JunkList,
    file: &FileIds,
    new_sets: &mut Vec<u32>,
) -> Result<(Vec<u32>, u64)> {
    let before = nodes.len() as u32;
    let nodes_of = nodes.intern_packed_distinct(&file.packed, &file.first_seen, &file.last_seen)?;
    for (i, &n) in nodes_of.iter().enumerate() {
        // Identifiers are distinct within a file: a node id past those
        // there were before is new, and checked against the junk list once.
        if n >= before && junk.is_junk(file.id_type(i as u32), file.value(i as u32)) {
            nodes.flags[n as usize] |= flag::JUNK;
        }
    }
    // Sets of two or more nodes go to `sets` all at once; distinct in the
    // file, they are distinct as nodes too (interning is one-to-one).
    let mut set_refs: Vec<u32> = vec![REF_NONE; file.sets()];
    let (mut members, mut ends, mut of_file) = (Vec::new(), Vec::new(), Vec::new());
    let mut ids: Vec<u32> = Vec::with_capacity(16);
    for s in 0..file.sets() as u32 {
        ids.clear();
        ids.extend(file.set(s).iter().map(|&i| nodes_of[i as usize]));
        ids.sort_unstable();
        ids.dedup();
        if ids.len() == 1 {
            set_refs[s as usize] = node_ref(ids[0])?;
        } else {
            members.extend_from_slice(&ids);
            ends.push(members.len() as u32);
            of_file.push(s as usize);
        }
    }
    let pick = |values: &[i64]| -> Vec<i64> { of_file.iter().map(|&s| values[s]).collect() };
    let events: Vec<u32> = of_file.iter().map(|&s| file.set_events[s]).collect();
    let added = sets.add_distinct(
        &members,
        &ends,
        &pick(&file.set_first_seen),
        &pick(&file.set_last_seen),
        &events,
    )?;
    for (&s, (set, new)) in of_file.iter().zip(added) {
        if new {
            new_sets.push(set);
        }
        if set >= REF_SET {
            return Err(IdentityError::TooLarge {
                what: "set ids",
                limit: u64::from(REF_SET),
            });
        }
        set_refs[s] = set | REF_SET;
    }
    let mut without = 0;
    let refs = file
        .row_sets
        .iter()
        .map(|&s| {
            if s == NO_SET {
                without += 1;
                REF_NONE
            } else {
                set_refs[s as usize]
            }
        })
        .collect();
    Ok((refs, without))
}

fn node_ref(n: u32) -> Result<u32> {
    if n >= REF_SET {
        return Err(IdentityError::TooLarge {
            what: "node ids",
            limit: u64::from(REF_SET),
        });
    }
    Ok(n)
}

/// Oldest first: earliest first seen, then the canonical order.
fn oldest_order(nodes: &crate::nodes::Nodes, a: u32, b: u32) -> std::cmp::Ordering {
    nodes.first_seen[a as usize]
        .cmp(&nodes.first_seen[b as usize])
        .then_with(|| nodes.cmp_canonical(a, b))
}

fn older(nodes: &crate::nodes::Nodes, a: u32, b: u32) -> bool {
    oldest_order(nodes, a, b) == std::cmp::Ordering::Less
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::RecordBatch;
    use cdp_lake::event_batch::EventBatchBuilder;
    use cdp_model::{CanonicalEvent, IdType, Identifier, Provenance};

    /// Interning a file deduplicated on the decoding thread gives the graph
    /// (node ids, sets, seen times, event counts) and row references that
    /// interning it event by event gives.
    #[test]
    fn a_file_interned_deduplicated_equals_event_by_event() {
        let phone = (IdType::Phone, "+8613900000001");
        let rows: Vec<(i64, Vec<(IdType, &str)>)> = vec![
            (10, vec![phone, (IdType::Openid, "o1")]),
            (5, vec![(IdType::Openid, "o1"), phone]),
            (7, vec![]),
            (3, vec![(IdType::MemberId, "M1")]),
            (
                20,
                vec![(IdType::Openid, "o2"), phone, (IdType::Openid, "o2")],
            ),
            (
                1,
                vec![(IdType::Phone, "13800000000"), (IdType::MemberId, "M1")],
            ),
            (2, vec![(IdType::MemberId, "M1")]),
            (30, vec![phone, (IdType::Openid, "o1")]),
            // One value under two types: two identifiers, one dictionary key.
            (4, vec![(IdType::MemberId, "o1"), (IdType::Openid, "o1")]),
            (6, vec![(IdType::MemberId, "o1")]),
        ];
        // Two batches: the file's rows continue across them.
        let batches: Vec<RecordBatch> = rows
            .chunks(5)
            .map(|chunk| {
                let mut b = EventBatchBuilder::default();
                for (i, (time, ids)) in chunk.iter().enumerate() {
                    let mut e = CanonicalEvent::new(
                        format!("e{i}"),
                        "online".into(),
                        "page_view".into(),
                        *time,
                        Provenance::file_line("f", 1),
                    );
                    e.identifiers = ids.iter().map(|(t, v)| Identifier::new(*t, *v)).collect();
                    b.append(&e);
                }
                b.finish().unwrap()
            })
            .collect();
        let junk = JunkList::default();

        // Event by event, the reference.
        let (mut nodes_1, mut sets_1, mut new_sets_1) = (Nodes::new(), Sets::new(), Vec::new());
        let mut refs_1 = Vec::new();
        for (time, ids) in &rows {
            let mut ns: Vec<u32> = ids
                .iter()
                .map(|(t, v)| nodes_1.intern(*t, v, *time).unwrap())
                .collect();
            ns.sort_unstable();
            ns.dedup();
            refs_1.push(match ns.len() {
                0 => REF_NONE,
                1 => ns[0],
                _ => {
                    let (s, new) = sets_1.add(&ns, *time).unwrap();
                    if new {
                        new_sets_1.push(s);
                    }
                    s | REF_SET
                }
            });
        }
        assert_eq!(sets_1.events, vec![3, 1, 1, 1], "the phone+o1 set thrice");

        // A file's identifiers from the batches as built, and from the file
        // as the lake holds it, read with dictionaries (as `resolve` reads).
        let encoded = parquet_io::encode_events("f", &batches).unwrap();
        let from_lake = parquet_io::decode_with_dictionaries(
            "f",
            encoded,
            Some(&["event_time", "identifiers"]),
            crate::events_in::DICTIONARY_FIELDS,
        )
        .unwrap();
        let cols = crate::events_in::IdColumns::of("f", &from_lake[0]).unwrap();
        assert!(
            cols.value_keys() > 0,
            "the values were not read as a dictionary"
        );
        for (how, batches) in [("built", &batches), ("read with dictionaries", &from_lake)] {
            let (mut nodes, mut sets, mut new_sets) = (Nodes::new(), Sets::new(), Vec::new());
            let file = FileIds::of("f", batches).unwrap();
            let (refs, without) =
                intern_file(&mut nodes, &mut sets, &junk, &file, &mut new_sets).unwrap();
            assert_eq!((&refs, without), (&refs_1, 1), "{how}");
            assert_eq!(new_sets, new_sets_1, "{how}");
            assert_eq!(nodes.len(), nodes_1.len(), "{how}");
            for n in 0..nodes.len() as u32 {
                assert_eq!(nodes.display(n), nodes_1.display(n), "{how}");
            }
            assert_eq!(nodes.first_seen, nodes_1.first_seen, "{how}");
            assert_eq!(nodes.last_seen, nodes_1.last_seen, "{how}");
            assert_eq!(sets.len(), sets_1.len(), "{how}");
            for s in 0..sets.len() as u32 {
                assert_eq!(sets.members(s), sets_1.members(s), "{how}");
            }
            assert_eq!(sets.first_seen, sets_1.first_seen, "{how}");
            assert_eq!(sets.last_seen, sets_1.last_seen, "{how}");
            assert_eq!(sets.events, sets_1.events, "{how}");
        }
    }
}
