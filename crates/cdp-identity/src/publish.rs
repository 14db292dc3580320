//! The end of a run: compute, write every output (or keep them all when
//! nothing changed), then the manifest in one atomic put, then sweep what
//! the manifest no longer names.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use cdp_lake::Lake;

use crate::error::{IdentityError, Result};
use crate::events_in::{partition_of, Partition};
use crate::resolved::{partitions_with_keys, rewrite_partitions, Anchors, Rewritten};
use crate::run::{Action, Outcome, Run};
use crate::state::{Manifest, StateFiles};
use crate::summary::ResolveSummary;
use crate::tables::{IDENTITY_DIR, IDENTITY_MAP, RESOLVED_EVENTS};

/// Where `cdp build` lists the files of its build (docs/architecture.md).
const BUILDS_MANIFEST: &str = "builds/current.json";

/// What a run's outputs are, written or kept.
struct Outputs {
    outcome: Outcome,
    identity_map: Vec<String>,
    state: StateFiles,
    resolved_events: Vec<String>,
    /// Events files read into the graph, this run's included.
    inputs: BTreeSet<String>,
    rewritten: Rewritten,
}

impl Run {
    /// Applies the run and publishes it. `extra_dirty`: partitions whose
    /// events files changed under the graph (forget).
    pub async fn finish(
        mut self,
        action: Action,
        extra_dirty: BTreeSet<Partition>,
    ) -> Result<ResolveSummary> {
        let t = std::time::Instant::now();
        // Nothing new read, nothing vanished, erased or unbound: unless the
        // rules changed something, the graph is the stored one, and so are
        // identity_map, resolved_events and the state: kept as they are (at
        // 1M persons a resolve with nothing to do took 6.8 to 7.8 s
        // rewriting them, 2.3 to 3.0 s keeping them).
        let same_inputs = action == Action::Resolve
            && self.prev.is_some()
            && self.new_files.is_empty()
            && self.vanished_files.is_empty()
            && extra_dirty.is_empty();
        let outputs = if same_inputs {
            self.apply_exclusions();
            let outcome = self.compute();
            if self.graph_unchanged(&outcome) {
                self.phase("graph", t);
                tracing::info!("nothing new and nothing changed; identity_map, resolved_events and the state kept");
                self.kept_outputs(outcome)
            } else {
                self.write_outputs(Some(outcome), extra_dirty, t).await?
            }
        } else {
            self.write_outputs(None, extra_dirty, t).await?
        };
        self.publish(action, outputs).await
    }

    /// Whether the state `outcome` would store is the stored one: the same
    /// identifiers with the same keys and flags, no set added, no key
    /// allocated. (A merge or a split changes some identifier's key, so
    /// neither needs a check of its own.)
    fn graph_unchanged(&self, outcome: &Outcome) -> bool {
        outcome.keys == self.graph.keys
            && self.graph.nodes.flags == self.stored_flags
            && self.new_sets.is_empty()
            && outcome.next_key == self.graph.next_key
    }

    /// The previous run's outputs, for a run that changed nothing.
    fn kept_outputs(&self, outcome: Outcome) -> Outputs {
        let prev = self
            .prev
            .as_ref()
            .expect("only a run after another keeps its outputs");
        Outputs {
            outcome,
            identity_map: prev.identity_map.clone(),
            state: prev.state.clone(),
            resolved_events: prev.resolved_events.clone(),
            inputs: prev.resolved_inputs.iter().cloned().collect(),
            rewritten: Rewritten::default(),
        }
    }

    /// Computes the graph (unless `computed` already holds it) and writes
    /// identity_map, the partitions of resolved_events it changed, and the
    /// state. `graph_started`: when the graph phase began.
    async fn write_outputs(
        &mut self,
        computed: Option<Outcome>,
        extra_dirty: BTreeSet<Partition>,
        graph_started: std::time::Instant,
    ) -> Result<Outputs> {
        let state = crate::state::Graph::files(&self.run_id);
        let sets_written = self.graph.store_sets(&self.lake, &state)?;
        if computed.is_none() {
            self.apply_exclusions();
        }
        // Which identifiers the map holds, in which order, and all but their
        // one_ids are known before the union-find: the map is staged on the
        // other core while it runs, which left that core idle.
        let (outcome, (staged_map, staging_time)) = std::thread::scope(|scope| {
            let staging = scope.spawn(|| {
                let t = std::time::Instant::now();
                let staged = crate::identity_map::stage(
                    &self.graph.nodes,
                    &self.run_id,
                    self.rules.map_rows_per_file,
                );
                staged.map(|s| (s, t.elapsed()))
            });
            let outcome = computed.unwrap_or_else(|| self.compute());
            let staged = staging
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            staged.map(|s| (outcome, s))
        })?;
        self.graph.next_key = outcome.next_key;
        self.phase("graph", graph_started);
        self.phases.insert(
            "identity_map_staged".into(),
            staging_time.as_millis() as u64,
        );
        let run_id = self.run_id.clone();
        let lake = self.lake.clone();
        tracing::info!(run_id = %run_id, merges = outcome.merges.len(), splits = outcome.splits.len(), "graph computed; writing outputs");

        // identity_map, resolved_events and the graph state are independent
        // outputs: written together, one's row building on this thread
        // overlaps the others' encoding on the blocking threads. Each
        // phase's time runs from here to its own end.
        let t = std::time::Instant::now();
        // resolved_events: partitions with new (or vanished) events files,
        // and those holding a one_key that changed.
        let prev_resolved: Vec<String> = self
            .prev
            .as_ref()
            .map(|m| m.resolved_events.clone())
            .unwrap_or_default();
        let mut dirty = self.partitions_of_new_files();
        dirty.extend(extra_dirty);
        let mut inputs: BTreeSet<String> = self
            .prev
            .iter()
            .flat_map(|m| m.resolved_inputs.iter().cloned())
            .collect();
        for f in &self.vanished_files {
            inputs.remove(f);
        }
        inputs.extend(self.new_files.iter().cloned());
        let mut by_partition: BTreeMap<Partition, Vec<String>> = BTreeMap::new();
        for f in &inputs {
            by_partition
                .entry(partition_of(f))
                .or_default()
                .push(f.clone());
        }
        let map_writer = async {
            let files = crate::identity_map::write(&lake, staged_map, &outcome.keys).await?;
            Ok::<_, IdentityError>((files, t.elapsed()))
        };
        let resolved_writer = async {
            dirty.extend(partitions_with_keys(&lake, &prev_resolved, &outcome.changed_keys).await?);
            let mut anchors = Anchors::new(
                &self.graph.nodes,
                &self.graph.sets,
                &self.rules,
                &outcome.keys,
            );
            let rewritten = rewrite_partitions(
                &lake,
                &run_id,
                &dirty,
                &by_partition,
                &self.file_refs,
                &mut anchors,
            )
            .await?;
            Ok::<_, IdentityError>((rewritten, t.elapsed()))
        };
        let state_writer = async {
            self.graph.store_nodes(&lake, &state, &outcome.keys).await?;
            sets_written
                .await
                .map_err(|e| IdentityError::Task(e.to_string()))??;
            Ok::<_, IdentityError>(t.elapsed())
        };
        let ((identity_map, map_time), (rewritten, resolved_time), state_time) =
            tokio::try_join!(map_writer, resolved_writer, state_writer)?;
        for (name, time) in [
            ("identity_map", map_time),
            ("resolved_events", resolved_time),
            ("state", state_time),
        ] {
            self.phases
                .insert(name.to_string(), time.as_millis() as u64);
        }
        let mut resolved_events: Vec<String> = prev_resolved
            .iter()
            .filter(|f| !dirty.contains(&partition_of(f)))
            .cloned()
            .collect();
        resolved_events.extend(rewritten.files.values().flatten().cloned());
        resolved_events.sort();
        Ok(Outputs {
            outcome,
            identity_map,
            state,
            resolved_events,
            inputs,
            rewritten,
        })
    }

    /// Records lineage, the summary and the manifest naming `outputs`, then
    /// sweeps what it no longer names.
    async fn publish(mut self, action: Action, outputs: Outputs) -> Result<ResolveSummary> {
        let Outputs {
            outcome,
            identity_map,
            state,
            resolved_events,
            inputs,
            rewritten,
        } = outputs;
        let run_id = self.run_id.clone();
        let lake = self.lake.clone();
        let t = std::time::Instant::now();
        let recorded_at = self.started_at.timestamp_micros();
        crate::lineage::write_merges(
            &lake,
            &run_id,
            recorded_at,
            &self.graph.nodes,
            &self.graph.sets,
            &outcome.merges,
            &outcome.splits,
        )
        .await?;
        crate::lineage::write_conflicts(
            &lake,
            &run_id,
            &self.graph.nodes,
            &self.graph.sets,
            &outcome.keys,
            &outcome.conflicts,
            &self.hot,
        )
        .await?;

        if action == Action::Unbind {
            self.book.store(&lake).await?;
        }
        self.phase("lineage", t);
        let t = std::time::Instant::now();
        let mut summary = self.summarise(action, &outcome);
        summary.resolved_partitions_written = rewritten.files.len() as u64;
        summary.resolved_rows_written = rewritten.rows;
        summary.elapsed_ms = self.started.elapsed().as_millis() as u64;
        let manifest = Manifest {
            run_id: run_id.clone(),
            finished_at: chrono::Utc::now().to_rfc3339(),
            next_key: self.graph.next_key,
            identity_map,
            resolved_events,
            state,
            resolved_inputs: inputs.into_iter().collect(),
            junk_extra: self.rules.junk_extra.clone(),
            summary: summary.clone(),
        };
        let run_summary =
            serde_json::to_vec_pretty(&summary).map_err(|source| IdentityError::Json {
                what: "the run summary",
                source,
            })?;
        lake.put(
            &format!("{IDENTITY_DIR}/runs/{run_id}.json"),
            Bytes::from(run_summary),
        )
        .await?;
        manifest.store(&lake).await?;
        sweep(&lake, &manifest).await?;
        // The publish phase (summary, manifest, sweep) is only in the returned
        // summary: the stored ones were written before it ended.
        summary
            .phases_ms
            .insert("publish".into(), t.elapsed().as_millis() as u64);
        summary.elapsed_ms = self.started.elapsed().as_millis() as u64;
        Ok(summary)
    }
}

/// Deletes what the manifest no longer names: older identity_map files
/// (unless `builds/current.json` still lists them), resolved_events files
/// of rewritten partitions and leftovers of interrupted runs, older state.
async fn sweep(lake: &Lake, manifest: &Manifest) -> Result<()> {
    let keep_map: BTreeSet<&String> = manifest.identity_map.iter().collect();
    let build_listed = build_listed_identity_map(lake).await?;
    for f in lake.list(IDENTITY_MAP).await? {
        if !keep_map.contains(&f) && !build_listed.contains(&f) {
            lake.delete(&f).await?;
        }
    }
    let keep_resolved: BTreeSet<&String> = manifest.resolved_events.iter().collect();
    for f in lake.list(RESOLVED_EVENTS).await? {
        if !keep_resolved.contains(&f) {
            lake.delete(&f).await?;
        }
    }
    let keep_state = [&manifest.state.nodes, &manifest.state.sets];
    for f in lake.list(&format!("{IDENTITY_DIR}/state")).await? {
        if !keep_state.contains(&&f) {
            lake.delete(&f).await?;
        }
    }
    Ok(())
}

/// The identity_map files the current build uses (`tables.identity_map` of
/// `builds/current.json`): kept until a later build stops listing them.
async fn build_listed_identity_map(lake: &Lake) -> Result<BTreeSet<String>> {
    let Some(bytes) = lake.get_opt(BUILDS_MANIFEST).await? else {
        return Ok(BTreeSet::new());
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| IdentityError::BadState {
            location: BUILDS_MANIFEST.into(),
            reason: e.to_string(),
        })?;
    Ok(value
        .pointer("/tables/identity_map")
        .and_then(|v| v.as_array())
        .map(|files| {
            files
                .iter()
                .filter_map(|f| f.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default())
}
