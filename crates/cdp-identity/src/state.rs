//! What the stage keeps in the lake between runs:
//!
//! - `identity/current.json` (the [`Manifest`]): the latest run's
//!   identity_map and resolved_events files, its graph state files, the
//!   events files already resolved, the next free one_key, the summary.
//!   Written last, in one atomic put: a run that dies before it leaves the
//!   previous run in force, and its half-written files are swept by the next.
//! - `identity/state/<run_id>/nodes.arrow`: every identifier ever seen
//!   (packed value, first/last seen, flags, one_key), in node id order;
//! - `identity/state/<run_id>/sets.arrow`: every distinct set of
//!   identifiers seen together in an event (node ids), with its span.
//! - `identity/rules.json`: the unbind rules.
//!
//! The state is only ever read back whole, by this crate, so it is an
//! uncompressed Arrow IPC file rather than Parquet: written and read at the
//! speed of a copy, where encoding and compressing Parquet took 4 s of a
//! 1M-person resolve (measured). State written as Parquet by earlier
//! versions (`*.parquet`) is still read.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, AsArray, BinaryBuilder, Int64Array, ListArray, RecordBatch, UInt32Array, UInt8Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{Field, Int64Type, UInt32Type, UInt8Type};
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::FileWriter;
use bytes::Bytes;
use cdp_lake::root::Upload;
use cdp_lake::{parquet_io, Lake};
use serde::{Deserialize, Serialize};

use crate::error::{IdentityError, Result};
use crate::nodes::Nodes;
use crate::one_id::OneKey;
use crate::sets::Sets;
use crate::summary::ResolveSummary;
use crate::tables::{state_nodes_schema, state_sets_schema, IDENTITY_DIR};

pub const MANIFEST: &str = "identity/current.json";
pub const RULES: &str = "identity/rules.json";

/// `identity/current.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub run_id: String,
    pub finished_at: String,
    /// The next one_key to allocate; keys are never reused.
    pub next_key: OneKey,
    /// The files of the `identity_map` table, all of them.
    pub identity_map: Vec<String>,
    /// The files of the `resolved_events` table, all of them.
    pub resolved_events: Vec<String>,
    pub state: StateFiles,
    /// Events files already read into the graph, sorted.
    pub resolved_inputs: Vec<String>,
    /// The junk extras the graph was last checked against.
    #[serde(default)]
    pub junk_extra: Vec<String>,
    pub summary: ResolveSummary,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StateFiles {
    pub nodes: String,
    pub sets: String,
}

impl Manifest {
    pub async fn load(lake: &Lake) -> Result<Option<Self>> {
        match lake.get_opt(MANIFEST).await? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| IdentityError::BadState {
                        location: MANIFEST.into(),
                        reason: e.to_string(),
                    })
            }
        }
    }

    pub(crate) async fn store(&self, lake: &Lake) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|source| IdentityError::Json {
            what: "identity/current.json",
            source,
        })?;
        lake.put(MANIFEST, Bytes::from(json)).await?;
        Ok(())
    }
}

/// One unbind rule: this identifier is never joined to anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnbindRule {
    pub id_type: String,
    pub id_value: String,
    /// When the operator asked for it (RFC 3339).
    pub at: String,
    /// The one_id it was detached from.
    pub from_one_id: Option<String>,
}

/// `identity/rules.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RuleBook {
    pub unbind: Vec<UnbindRule>,
}

impl RuleBook {
    pub async fn load(lake: &Lake) -> Result<Self> {
        match lake.get_opt(RULES).await? {
            None => Ok(Self::default()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| IdentityError::BadState {
                location: RULES.into(),
                reason: e.to_string(),
            }),
        }
    }

    pub(crate) async fn store(&self, lake: &Lake) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|source| IdentityError::Json {
            what: "identity/rules.json",
            source,
        })?;
        lake.put(RULES, Bytes::from(json)).await?;
        Ok(())
    }
}

/// The graph as stored: identifiers with the one_key each had at the end of
/// the last run, and the sets.
pub struct Graph {
    pub nodes: Nodes,
    pub sets: Sets,
    /// one_key per node at the end of the last run (0: none, for excluded
    /// nodes and those new in this run).
    pub keys: Vec<OneKey>,
    pub next_key: OneKey,
}

impl Graph {
    pub fn empty() -> Self {
        Self {
            nodes: Nodes::new(),
            sets: Sets::new(),
            keys: Vec::new(),
            next_key: 1,
        }
    }

    /// Reads the state the manifest names.
    pub async fn load(lake: &Lake, manifest: &Manifest) -> Result<Self> {
        let mut g = Self::empty();
        g.next_key = manifest.next_key.max(1);
        let path = &manifest.state.nodes;
        let bad = |reason: String| IdentityError::BadState {
            location: path.clone(),
            reason,
        };
        let batches = decode_state(path, lake.get(path).await?)?;
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        let value_bytes = batches
            .iter()
            .filter_map(|b| b.column_by_name("value")?.as_binary_opt::<i32>())
            .map(|v| v.values().len())
            .sum();
        g.nodes.reserve(rows, value_bytes);
        g.keys.reserve(rows);
        for batch in &batches {
            let col = |name: &str| {
                batch
                    .column_by_name(name)
                    .ok_or_else(|| bad(format!("no column {name}")))
            };
            let tags = col("tag")?
                .as_primitive_opt::<UInt8Type>()
                .ok_or_else(|| bad("tag".into()))?;
            let values = col("value")?
                .as_binary_opt::<i32>()
                .ok_or_else(|| bad("value".into()))?;
            let first = col("first_seen")?
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| bad("first_seen".into()))?;
            let last = col("last_seen")?
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| bad("last_seen".into()))?;
            let flags = col("flags")?
                .as_primitive_opt::<UInt8Type>()
                .ok_or_else(|| bad("flags".into()))?;
            let keys = col("one_key")?
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| bad("one_key".into()))?;
            for i in 0..batch.num_rows() {
                g.nodes.push_stored(
                    tags.value(i),
                    values.value(i),
                    first.value(i),
                    last.value(i),
                    flags.value(i),
                )?;
                g.keys.push(keys.value(i));
            }
        }
        let path = &manifest.state.sets;
        let bad = |reason: String| IdentityError::BadState {
            location: path.clone(),
            reason,
        };
        let node_count = g.nodes.len() as u32;
        for batch in decode_state(path, lake.get(path).await?)? {
            let col = |name: &str| {
                batch
                    .column_by_name(name)
                    .ok_or_else(|| bad(format!("no column {name}")))
            };
            let members = col("members")?
                .as_list_opt::<i32>()
                .ok_or_else(|| bad("members".into()))?;
            let values = members
                .values()
                .as_primitive_opt::<UInt32Type>()
                .ok_or_else(|| bad("members".into()))?;
            let first = col("first_seen")?
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| bad("first_seen".into()))?;
            let last = col("last_seen")?
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| bad("last_seen".into()))?;
            let events = col("events")?
                .as_primitive_opt::<UInt32Type>()
                .ok_or_else(|| bad("events".into()))?;
            let offsets = members.value_offsets();
            let raw = values.values();
            for i in 0..batch.num_rows() {
                let m = &raw[offsets[i] as usize..offsets[i + 1] as usize];
                if m.iter().any(|&n| n >= node_count) {
                    return Err(bad(format!(
                        "set {i} names a node beyond the {node_count} stored"
                    )));
                }
                g.sets
                    .push(m, first.value(i), last.value(i), events.value(i))?;
            }
        }
        Ok(g)
    }

    /// The state files of run `run_id`.
    pub fn files(run_id: &str) -> StateFiles {
        let dir = format!("{IDENTITY_DIR}/state/{run_id}");
        StateFiles {
            nodes: format!("{dir}/nodes.{STATE_EXTENSION}"),
            sets: format!("{dir}/sets.{STATE_EXTENSION}"),
        }
    }

    /// Writes the nodes' state as of `keys` (the one_key of every node now)
    /// to `files.nodes`, a batch of rows at a time, so that the table is
    /// never held twice beside the graph (peak memory).
    pub async fn store_nodes(
        &self,
        lake: &Lake,
        files: &StateFiles,
        keys: &[OneKey],
    ) -> Result<()> {
        let n = self.nodes.len();
        let batches = (0..n)
            .step_by(NODE_ROWS_PER_BATCH)
            .map(|start| self.nodes_batch(start..n.min(start + NODE_ROWS_PER_BATCH), keys));
        store_state(lake, &files.nodes, &state_nodes_schema(), batches).await
    }

    fn nodes_batch(&self, rows: std::ops::Range<usize>, keys: &[OneKey]) -> Result<RecordBatch> {
        let mut tags = Vec::with_capacity(rows.len());
        let mut values = BinaryBuilder::with_capacity(rows.len(), rows.len() * 20);
        for i in rows.start as u32..rows.end as u32 {
            let (tag, bytes) = self.nodes.stored_form(i);
            tags.push(tag);
            if self.nodes.flags(i) & crate::nodes::flag::ERASED != 0 {
                values.append_value(b"");
            } else {
                values.append_value(bytes);
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt8Array::from(tags)),
            Arc::new(values.finish()),
            Arc::new(Int64Array::from(
                self.nodes.first_seen[rows.clone()].to_vec(),
            )),
            Arc::new(Int64Array::from(
                self.nodes.last_seen[rows.clone()].to_vec(),
            )),
            Arc::new(UInt8Array::from(self.nodes.flags[rows.clone()].to_vec())),
            Arc::new(Int64Array::from(keys[rows].to_vec())),
        ];
        RecordBatch::try_new(state_nodes_schema(), columns)
            .map_err(IdentityError::arrow("identity state nodes"))
    }

    /// Starts writing the sets to `files.sets` in a task of its own: they
    /// no longer change once the events are read, so their file is encoded
    /// while the graph is computed on the other core.
    pub fn store_sets(
        &self,
        lake: &Lake,
        files: &StateFiles,
    ) -> Result<tokio::task::JoinHandle<Result<()>>> {
        let (offsets, members) = self.sets.flat();
        fits_i32(members.len(), "set members")?;
        let list = ListArray::new(
            Arc::new(Field::new(
                "item",
                arrow::datatypes::DataType::UInt32,
                false,
            )),
            OffsetBuffer::new(
                offsets
                    .iter()
                    .map(|&o| o as i32)
                    .collect::<Vec<i32>>()
                    .into(),
            ),
            Arc::new(UInt32Array::from(members.to_vec())),
            None,
        );
        let columns: Vec<ArrayRef> = vec![
            Arc::new(list),
            Arc::new(Int64Array::from(self.sets.first_seen.clone())),
            Arc::new(Int64Array::from(self.sets.last_seen.clone())),
            Arc::new(UInt32Array::from(self.sets.events.clone())),
        ];
        let batch = RecordBatch::try_new(state_sets_schema(), columns)
            .map_err(IdentityError::arrow("identity state sets"))?;
        let (lake, path) = (lake.clone(), files.sets.clone());
        Ok(tokio::spawn(async move {
            store_state(&lake, &path, &state_sets_schema(), [Ok(batch)]).await
        }))
    }
}

/// Encodes one batch as Parquet on a blocking thread, `unique_columns`
/// (nearly a distinct value per row) without a dictionary: there a
/// dictionary is filled only to be thrown away (profiled).
pub(crate) async fn encode_blocking(
    location: String,
    schema: arrow::datatypes::SchemaRef,
    batch: RecordBatch,
    unique_columns: &'static [&'static str],
) -> Result<Bytes> {
    tokio::task::spawn_blocking(move || {
        parquet_io::encode_with_unique_columns(&location, schema, &[batch], unique_columns)
    })
    .await
    .map_err(|e| IdentityError::Task(e.to_string()))?
    .map_err(Into::into)
}

/// The extension of state files written now.
const STATE_EXTENSION: &str = "arrow";

/// Rows per batch of the nodes' state file (tiny in tests, so that they
/// write and read files of several batches).
const NODE_ROWS_PER_BATCH: usize = if cfg!(test) { 2 } else { 1 << 20 };

/// Stores `batches` as the Arrow IPC file `path`, sent to the lake a batch
/// at a time: one batch and its encoding are held beside the graph, never
/// the whole file (280 MB at 4.2M identifiers, which set the peak memory of
/// a resolve). Nothing is left at `path` when a batch fails.
async fn store_state(
    lake: &Lake,
    path: &str,
    schema: &arrow::datatypes::SchemaRef,
    batches: impl IntoIterator<Item = Result<RecordBatch>>,
) -> Result<()> {
    let mut upload = lake.upload(path).await?;
    match write_state(&mut upload, schema, batches).await {
        Ok(()) => Ok(upload.finish().await?),
        Err(e) => {
            // The write's own error says what went wrong, not the abort's.
            let _ = upload.abort().await;
            Err(e)
        }
    }
}

async fn write_state(
    upload: &mut Upload,
    schema: &arrow::datatypes::SchemaRef,
    batches: impl IntoIterator<Item = Result<RecordBatch>>,
) -> Result<()> {
    let our_bug = IdentityError::arrow("the identity state");
    let mut writer = FileWriter::try_new(Vec::new(), schema).map_err(our_bug)?;
    for batch in batches {
        let batch = batch?;
        // The file writer only appends: what it wrote so far can go.
        let written = std::mem::take(writer.get_mut());
        upload.write(Bytes::from(written)).await?;
        writer
            .get_mut()
            .reserve(batch.get_array_memory_size() + (1 << 12));
        writer.write(&batch).map_err(our_bug)?;
    }
    upload
        .write(Bytes::from(writer.into_inner().map_err(our_bug)?))
        .await?;
    Ok(())
}

/// The batches of a state file: Arrow IPC, or Parquet from earlier versions.
fn decode_state(location: &str, bytes: Bytes) -> Result<Vec<RecordBatch>> {
    if location.ends_with(".parquet") {
        return Ok(parquet_io::decode(location, bytes, None)?);
    }
    let bad = |e: arrow::error::ArrowError| IdentityError::BadState {
        location: location.to_string(),
        reason: e.to_string(),
    };
    FileReader::try_new(std::io::Cursor::new(bytes), None)
        .map_err(bad)?
        .map(|batch| batch.map_err(bad))
        .collect()
}

/// Checks that an offsets array fits i32 (Arrow lists).
pub(crate) fn fits_i32(len: usize, what: &'static str) -> Result<()> {
    if len > i32::MAX as usize {
        return Err(IdentityError::TooLarge {
            what,
            limit: i32::MAX as u64,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdp_model::IdType;

    fn graph() -> Graph {
        let mut g = Graph::empty();
        let phone = g.nodes.intern(IdType::Phone, "13800138000", 10).unwrap();
        let card = g.nodes.intern(IdType::MemberId, "M-1", 20).unwrap();
        let md5 = g
            .nodes
            .intern(IdType::PhoneMd5, &"ab".repeat(16), 30)
            .unwrap();
        g.nodes.intern(IdType::Openid, "o-2", 40).unwrap();
        g.nodes.flags[md5 as usize] |= crate::nodes::flag::JUNK;
        g.sets.push(&[phone, card], 10, 20, 2).unwrap();
        g.sets.push(&[card, md5], 20, 30, 1).unwrap();
        g.next_key = 9;
        g
    }

    /// Every node and set as the graph holds it.
    fn dump(g: &Graph, keys: &[OneKey]) -> Vec<String> {
        let nodes = (0..g.nodes.len() as u32).map(|n| {
            format!(
                "node {:?} {} {} {} {} {}",
                g.nodes.stored_form(n),
                g.nodes.value(n),
                g.nodes.first_seen[n as usize],
                g.nodes.last_seen[n as usize],
                g.nodes.flags(n),
                keys[n as usize]
            )
        });
        let sets = (0..g.sets.len() as u32).map(|s| {
            let i = s as usize;
            format!(
                "set {:?} {} {} {}",
                g.sets.members(s),
                g.sets.first_seen[i],
                g.sets.last_seen[i],
                g.sets.events[i]
            )
        });
        nodes.chain(sets).collect()
    }

    fn manifest(state: StateFiles) -> Manifest {
        Manifest {
            next_key: 9,
            state,
            ..Manifest::default()
        }
    }

    /// The one_key of each node of [`graph`].
    const KEYS: [OneKey; 4] = [3, 3, 0, 5];

    /// Writes run r1's state of `g`; returns its files.
    async fn store_r1(lake: &Lake, g: &Graph, keys: &[OneKey]) -> StateFiles {
        let files = Graph::files("r1");
        g.store_sets(lake, &files).unwrap().await.unwrap().unwrap();
        g.store_nodes(lake, &files, keys).await.unwrap();
        files
    }

    #[tokio::test]
    async fn state_written_in_several_batches_reads_back_the_same_graph() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let (g, keys) = (graph(), KEYS);
        let files = store_r1(&lake, &g, &keys).await;
        assert!(files.nodes.ends_with("nodes.arrow"), "{}", files.nodes);
        // Four nodes at two rows per batch.
        let stored = decode_state(&files.nodes, lake.get(&files.nodes).await.unwrap()).unwrap();
        assert_eq!(stored.len(), 2);
        let back = Graph::load(&lake, &manifest(files)).await.unwrap();
        assert_eq!(dump(&back, &back.keys), dump(&g, &keys));
        assert_eq!(back.next_key, 9);
        assert_eq!(back.nodes.find(IdType::MemberId, "M-1"), Some(1));
    }

    #[tokio::test]
    async fn state_written_as_parquet_by_earlier_versions_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let (g, keys) = (graph(), KEYS);
        // Write the Arrow state, then re-encode its batches as the Parquet
        // files an earlier version wrote.
        let arrow_files = store_r1(&lake, &g, &keys).await;
        let parquet_files = StateFiles {
            nodes: "identity/state/r0/nodes.parquet".into(),
            sets: "identity/state/r0/sets.parquet".into(),
        };
        for (from, to, schema) in [
            (
                &arrow_files.nodes,
                &parquet_files.nodes,
                state_nodes_schema(),
            ),
            (&arrow_files.sets, &parquet_files.sets, state_sets_schema()),
        ] {
            let batches = decode_state(from, lake.get(from).await.unwrap()).unwrap();
            let bytes = parquet_io::encode(to, schema, &batches).unwrap();
            lake.put(to, bytes).await.unwrap();
        }
        let back = Graph::load(&lake, &manifest(parquet_files)).await.unwrap();
        assert_eq!(dump(&back, &back.keys), dump(&g, &keys));
    }

    #[tokio::test]
    async fn a_damaged_state_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let files = Graph::files("r1");
        lake.put(&files.nodes, Bytes::from_static(b"not arrow"))
            .await
            .unwrap();
        let err = Graph::load(&lake, &manifest(files.clone()))
            .await
            .err()
            .expect("a damaged state file must fail")
            .to_string();
        assert!(err.contains(&files.nodes), "{err}");
        assert!(err.contains("is damaged"), "{err}");
    }
}
