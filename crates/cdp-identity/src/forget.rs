//! `cdp forget TYPE:VALUE`: the right to erasure (PIPL art. 47, GDPR
//! art. 17). The person is the one_id of that identifier; then:
//!
//! 1. **events**: every events file holding one of the person's identifiers
//!    is rewritten in place (one atomic put): the person's events (those
//!    whose strongest identifier is theirs) are removed, and their
//!    identifiers are stripped from other people's events (a family tablet's
//!    id in a sibling's login). The file's dedup key file under
//!    `_index/events/` is rewritten too and **keeps the keys of the removed
//!    events** — they are hashes of (source, event id), not personal data —
//!    so that a redelivery of an erased event (a Kafka replay, a re-run
//!    backfill) is refused as a duplicate instead of bringing the person back;
//! 2. **graph**: the identifiers' values are wiped from the state (their node
//!    ids stay, empty, so other sets keep their shape); identity_map and the
//!    affected resolved_events partitions are rewritten; rows naming them in
//!    `identity_merges`, `identity_conflicts` and unbind rules are dropped;
//! 3. **record**: `identity/erasures/<erasure_id>.json` keeps what was done
//!    without the personal data: the identifier's type (not its value), the
//!    one_id (so that downstream copies — ClickHouse, marketing tools — can
//!    be told), counts and files.
//!
//! Not covered here: dead letters (`dlq/`) keep raw messages, which may hold
//! the person's identifiers in any spelling; profiles, tags and LTV drop the
//! person at the next `cdp build`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, ListBuilder, RecordBatch, StringBuilder, StructBuilder,
};
use arrow::compute::filter_record_batch;
use bytes::Bytes;
use cdp_config::IdentityConfig;
use cdp_lake::dedup::{keys_of_batch, KeyIndex};
use cdp_lake::schema::{events_schema, identifier_fields, EVENTS_TABLE};
use cdp_lake::{parquet_io, Lake};
use cdp_model::{IdType, Identifier};
use futures::{StreamExt, TryStreamExt};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

use crate::error::{IdentityError, Result};
use crate::events_in::{list_event_files, partition_of, IdColumns};
use crate::one_id::one_id;
use crate::resolved::Anchors;
use crate::rules::Rules;
use crate::run::{Action, Run};
use crate::tables::{IDENTITY_CONFLICTS, IDENTITY_DIR, IDENTITY_MERGES};

/// `identity/erasures/<erasure_id>.json`: what an erasure did, without the
/// personal data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ErasureRecord {
    pub erasure_id: String,
    pub requested_at: String,
    /// The type of the identifier the request named (its value is not kept).
    pub id_type: String,
    /// The one_id erased (empty when the identifier was excluded from the
    /// graph and belonged to nobody).
    pub one_id: Option<String>,
    pub identifiers_erased: BTreeMap<String, u64>,
    pub events_deleted: u64,
    pub events_stripped: u64,
    pub events_files_rewritten: Vec<String>,
    pub resolved_partitions_rewritten: u64,
    pub lineage_rows_dropped: u64,
    pub unbind_rules_dropped: u64,
    pub note: String,
}

pub async fn forget(
    lake: &Lake,
    config: &IdentityConfig,
    id: &Identifier,
) -> Result<ErasureRecord> {
    let rules = Rules::from_config(config)?;
    let mut run = Run::start(lake, rules).await?;
    let nodes = &run.graph.nodes;
    let n = nodes
        .find(id.id_type, &id.value)
        .ok_or_else(|| IdentityError::UnknownIdentifier(id.to_string()))?;
    let key = run.graph.keys.get(n as usize).copied().unwrap_or(0);
    let targets: Vec<u32> = if key == 0 {
        vec![n]
    } else {
        (0..run.graph.keys.len() as u32)
            .filter(|&m| run.graph.keys[m as usize] == key)
            .collect()
    };
    let target_set: FxHashSet<u32> = targets.iter().copied().collect();
    let values: FxHashSet<(IdType, String)> = targets
        .iter()
        .map(|&t| (nodes.id_type(t), nodes.value(t)))
        .collect();
    let mut record = ErasureRecord {
        erasure_id: run.run_id.clone(),
        requested_at: run.started_at.to_rfc3339(),
        id_type: id.id_type.as_str().into(),
        one_id: (key != 0).then(|| one_id(key)),
        note: "profiles, tags and ltv drop this one_id at the next `cdp build`; dead letters (dlq/) are not searched".into(),
        ..Default::default()
    };
    for &t in &targets {
        *record
            .identifiers_erased
            .entry(nodes.id_type(t).as_str().into())
            .or_default() += 1;
    }

    // 1. Events files.
    let anchors = Anchors::new(
        &run.graph.nodes,
        &run.graph.sets,
        &run.rules,
        &run.graph.keys,
    );
    let mut dirty = BTreeSet::new();
    let files = list_event_files(lake).await?;
    let mut scans = futures::stream::iter(files.iter().map(|path| async move {
        let bytes = lake.get(path).await?;
        Ok::<_, IdentityError>((path, bytes))
    }))
    .buffered(2);
    while let Some((path, bytes)) = scans.try_next().await? {
        let batches = parquet_io::decode(path, bytes.clone(), Some(&["identifiers"]))?;
        let touched = batches.iter().try_fold(false, |hit, b| -> Result<bool> {
            let cols = IdColumns::of(path, b)?;
            Ok(hit
                || (0..cols.rows()).any(|i| {
                    cols.row(i)
                        .any(|(t, v)| is_target(&anchors, &target_set, t, v))
                }))
        })?;
        if !touched {
            continue;
        }
        let (deleted, stripped) =
            rewrite_events_file(lake, path, bytes, &target_set, &anchors).await?;
        record.events_deleted += deleted;
        record.events_stripped += stripped;
        record.events_files_rewritten.push(path.clone());
        dirty.insert(partition_of(path));
    }

    drop(scans);
    drop(anchors);

    // 2. The graph.
    for &t in &targets {
        run.graph.nodes.erase(t);
    }
    let before = run.book.unbind.len();
    run.book.unbind.retain(|r| {
        crate::events_in::parse_type(&r.id_type)
            .is_none_or(|t| !values.contains(&(t, r.id_value.clone())))
    });
    record.unbind_rules_dropped = (before - run.book.unbind.len()) as u64;
    if record.unbind_rules_dropped > 0 {
        run.book.store(lake).await?;
    }
    let summary = run.finish(Action::Forget, dirty).await?;
    record.resolved_partitions_rewritten = summary.resolved_partitions_written;
    record.lineage_rows_dropped = scrub_lineage(lake, &values, record.one_id.as_deref()).await?;

    let json = serde_json::to_vec_pretty(&record).map_err(|source| IdentityError::Json {
        what: "the erasure record",
        source,
    })?;
    lake.put(
        &format!("{IDENTITY_DIR}/erasures/{}.json", record.erasure_id),
        Bytes::from(json),
    )
    .await?;
    Ok(record)
}

/// Rewrites one events file without the person's events and identifiers;
/// returns (events deleted, events stripped).
async fn rewrite_events_file(
    lake: &Lake,
    path: &str,
    bytes: Bytes,
    targets: &FxHashSet<u32>,
    anchors: &Anchors<'_>,
) -> Result<(u64, u64)> {
    let mut out = Vec::new();
    let mut keys = Vec::new();
    let (mut deleted, mut stripped) = (0, 0);
    for batch in parquet_io::decode(path, bytes, None)? {
        keys.extend(keys_of_batch(path, EVENTS_TABLE, &batch)?);
        let cols = IdColumns::of(path, &batch)?;
        let mut keep = Vec::with_capacity(cols.rows());
        let item = arrow::datatypes::Field::new(
            "item",
            arrow::datatypes::DataType::Struct(identifier_fields()),
            false,
        );
        let mut ids = ListBuilder::new(StructBuilder::new(
            identifier_fields(),
            vec![
                Box::new(StringBuilder::new()),
                Box::new(StringBuilder::new()),
            ],
        ))
        .with_field(Arc::new(item));
        for i in 0..cols.rows() {
            let mine = |(t, v): &(IdType, &str)| is_target(anchors, targets, *t, v);
            let has = cols.row(i).any(|p| mine(&p));
            let theirs = has
                && anchors
                    .anchor_of_ids(cols.row(i))
                    .is_some_and(|a| targets.contains(&a));
            keep.push(!theirs);
            if theirs {
                deleted += 1;
            } else if has {
                stripped += 1;
            }
            let structs = ids.values();
            for (t, v) in cols.row(i).filter(|p| !mine(p)) {
                structs
                    .field_builder::<StringBuilder>(0)
                    .expect("id_type")
                    .append_value(t.as_str());
                structs
                    .field_builder::<StringBuilder>(1)
                    .expect("id_value")
                    .append_value(v);
                structs.append(true);
            }
            ids.append(true);
        }
        let schema = batch.schema();
        let ix = schema
            .index_of("identifiers")
            .map_err(IdentityError::arrow(EVENTS_TABLE))?;
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        columns[ix] = Arc::new(ids.finish());
        let rebuilt =
            RecordBatch::try_new(schema, columns).map_err(IdentityError::arrow(EVENTS_TABLE))?;
        let kept = filter_record_batch(&rebuilt, &BooleanArray::from(keep))
            .map_err(IdentityError::arrow(EVENTS_TABLE))?;
        out.push(kept);
    }
    let encoded = parquet_io::encode(path, events_schema(), &out)?;
    lake.put(path, encoded).await?;
    KeyIndex::persist(lake, path, &keys).await?;
    Ok((deleted, stripped))
}

fn is_target(anchors: &Anchors<'_>, targets: &FxHashSet<u32>, t: IdType, v: &str) -> bool {
    anchors
        .nodes
        .find(t, v)
        .is_some_and(|n| targets.contains(&n))
}

/// Drops the rows of identity_merges and identity_conflicts that name an
/// erased identifier or the erased one_id; returns how many.
async fn scrub_lineage(
    lake: &Lake,
    values: &FxHashSet<(IdType, String)>,
    erased: Option<&str>,
) -> Result<u64> {
    let mut dropped = 0;
    for table in [IDENTITY_MERGES, IDENTITY_CONFLICTS] {
        for path in lake.list(table).await? {
            let bytes = lake.get(&path).await?;
            let batches = parquet_io::decode(&path, bytes, None)?;
            let mut kept = Vec::new();
            let mut changed = false;
            for batch in &batches {
                let names = |side: &str| -> Option<(
                    &arrow::array::StringArray,
                    &arrow::array::StringArray,
                )> {
                    Some((
                        batch
                            .column_by_name(&format!("{side}_type"))?
                            .as_string_opt::<i32>()?,
                        batch
                            .column_by_name(&format!("{side}_value"))?
                            .as_string_opt::<i32>()?,
                    ))
                };
                let sides: Vec<_> = ["a", "b"].iter().filter_map(|s| names(s)).collect();
                let one_ids: Vec<&arrow::array::StringArray> =
                    ["from_one_id", "to_one_id", "a_one_id", "b_one_id"]
                        .iter()
                        .filter_map(|c| batch.column_by_name(c)?.as_string_opt::<i32>())
                        .collect();
                let keep: BooleanArray = (0..batch.num_rows())
                    .map(|i| {
                        let names_value = sides.iter().any(|(t, v)| {
                            !t.is_null(i)
                                && !v.is_null(i)
                                && crate::events_in::parse_type(t.value(i)).is_some_and(|t2| {
                                    values.contains(&(t2, v.value(i).to_string()))
                                })
                        });
                        let names_one_id = erased.is_some_and(|e| {
                            one_ids.iter().any(|c| !c.is_null(i) && c.value(i) == e)
                        });
                        Some(!(names_value || names_one_id))
                    })
                    .collect();
                let k = filter_record_batch(batch, &keep).map_err(IdentityError::arrow(table))?;
                if k.num_rows() != batch.num_rows() {
                    changed = true;
                    dropped += (batch.num_rows() - k.num_rows()) as u64;
                }
                kept.push(k);
            }
            if changed {
                let schema = batches[0].schema();
                let bytes = parquet_io::encode(&path, schema, &kept)?;
                lake.put(&path, bytes).await?;
            }
        }
    }
    Ok(dropped)
}
