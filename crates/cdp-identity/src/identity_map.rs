//! `identity_map`: every identifier of the graph with its one_id, rewritten
//! whole by each run as `identity_map/part-<run_id>-<n>.parquet`, rows in
//! the canonical order (id_type, id_value) so that a reader looking one
//! value up skips row groups by their statistics. And [`IdentityMap`], the
//! lookup other stages use.
//!
//! Written in two steps: [`stage`] sorts the rows and encodes every column
//! but one_id and one_key while the union-find runs on the other core;
//! [`write`] adds those two once the keys are known. Writing it all after
//! the union-find took 2.5 s of a 1M-person resolve's 11.4 s, with one core
//! idle during the union-find (measured).

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Int64Array, StringBuilder, TimestampMicrosecondArray};
use arrow::datatypes::{Int64Type, TimestampMicrosecondType};
use cdp_lake::staged_file::StagedFile;
use cdp_lake::{parquet_io, Lake};
use cdp_model::{IdType, Identifier};

use crate::error::{IdentityError, Result};
use crate::events_in::parse_type;
use crate::nodes::{self, Nodes};
use crate::one_id::{one_id, OneKey};
use crate::state::Manifest;
use crate::tables::{identity_map_schema, IDENTITY_MAP};

/// How many rows ahead the map's rows fetch their node's data.
const PREFETCH_ROWS: usize = 16;

/// The map's files with every column but the one_ids encoded: what can be
/// written before the union-find has run, since which identifiers the map
/// holds (those not excluded) and in which order is known before.
pub(crate) struct StagedMap {
    /// The map's rows: nodes in canonical order.
    order: Vec<u32>,
    /// Each file, its path and the end of its rows in `order`.
    files: Vec<(String, usize, StagedFile)>,
}

/// Stages the map of every identifier not excluded, `rows_per_file` rows
/// per file: CPU work only, for a thread of its own.
pub(crate) fn stage(nodes: &Nodes, run_id: &str, rows_per_file: usize) -> Result<StagedMap> {
    // Sort on a 16-byte key (type rank by name, then the first 15 bytes
    // of the canonical text) in one contiguous vector; only equal keys
    // look at the values. Comparing values directly chases three arrays per
    // side and was most of this phase (profiled).
    let mut order: Vec<RowKey> = (0..nodes.len() as u32)
        .filter(|&n| !nodes.is_excluded(n))
        .map(|n| RowKey {
            prefix: nodes.sort_prefix(n),
            node: n,
        })
        .collect();
    order.sort_unstable_by(|a, b| {
        { a.prefix }
            .cmp(&{ b.prefix })
            .then_with(|| nodes.cmp_canonical(a.node, b.node))
    });
    let order: Vec<u32> = order.into_iter().map(|k| k.node).collect();
    let tz: Arc<str> = Arc::from("UTC");
    let mut text = String::new();
    let mut files = Vec::new();
    for (i, chunk) in order.chunks(rows_per_file.max(1)).enumerate() {
        let path = format!("{IDENTITY_MAP}/part-{run_id}-{i:05}.parquet");
        let mut file = StagedFile::new(&path, identity_map_schema(), chunk.len(), UNIQUE_COLUMNS)?;
        // A row group at a time: its columns are all that is held uncompressed.
        let row_groups: Vec<_> = file.row_groups().collect();
        for (g, rows) in row_groups.into_iter().enumerate() {
            let rows = &chunk[rows];
            let mut id_type = StringBuilder::with_capacity(rows.len(), rows.len() * 8);
            let mut id_value = StringBuilder::with_capacity(rows.len(), rows.len() * 24);
            let mut first = Vec::with_capacity(rows.len());
            let mut last = Vec::with_capacity(rows.len());
            for (j, &n) in rows.iter().enumerate() {
                // Rows are in canonical order, nodes in order of first sight:
                // every row's reads miss the cache unless fetched ahead.
                if let Some(&ahead) = rows.get(j + PREFETCH_ROWS) {
                    nodes.prefetch_node(ahead);
                }
                if let Some(&ahead) = rows.get(j + PREFETCH_ROWS / 2) {
                    nodes.prefetch_value(ahead);
                }
                id_type.append_value(nodes.id_type(n).as_str());
                text.clear();
                nodes.write_value(n, &mut text);
                id_value.append_value(&text);
                first.push(nodes.first_seen[n as usize]);
                last.push(nodes.last_seen[n as usize]);
            }
            let columns: [(&str, ArrayRef); 4] = [
                ("id_type", Arc::new(id_type.finish())),
                ("id_value", Arc::new(id_value.finish())),
                (
                    "first_seen",
                    Arc::new(TimestampMicrosecondArray::from(first).with_timezone(tz.clone())),
                ),
                (
                    "last_seen",
                    Arc::new(TimestampMicrosecondArray::from(last).with_timezone(tz.clone())),
                ),
            ];
            for (name, values) in &columns {
                file.encode_row_group(g, name, values)?;
            }
        }
        files.push((path, i * rows_per_file.max(1) + chunk.len(), file));
    }
    Ok(StagedMap { order, files })
}

/// A row's sort key, packed: 20 bytes where a `(u128, u32)` takes 32 with
/// its alignment, 50 MB less at 4.2M identifiers while the union-find runs.
#[derive(Clone, Copy)]
#[repr(C, packed(4))]
struct RowKey {
    prefix: u128,
    node: u32,
}

/// Columns of the map with (nearly) a distinct value per row.
const UNIQUE_COLUMNS: &[&str] = &["id_value", "one_id", "one_key", "first_seen", "last_seen"];

/// Completes the staged map with the one_ids of `keys` and writes it;
/// returns the files written.
pub(crate) async fn write(lake: &Lake, staged: StagedMap, keys: &[OneKey]) -> Result<Vec<String>> {
    let StagedMap { order, files } = staged;
    let mut written = Vec::new();
    // A file is completed and stored while the next one's one_ids are built.
    let mut in_flight: Option<tokio::task::JoinHandle<Result<()>>> = None;
    let mut start = 0;
    for (path, end, mut file) in files {
        let rows = &order[start..end];
        start = end;
        let mut one_ids = StringBuilder::with_capacity(rows.len(), rows.len() * 15);
        let mut one_keys = Vec::with_capacity(rows.len());
        for (j, &n) in rows.iter().enumerate() {
            if let Some(&ahead) = rows.get(j + PREFETCH_ROWS) {
                nodes::prefetch(&keys[ahead as usize]);
            }
            let k = keys[n as usize];
            if k == 0 {
                return Err(IdentityError::Bug(format!(
                    "identifier {n} is in {path} but has no one_id"
                )));
            }
            crate::one_id::append_one_id(&mut one_ids, k);
            one_keys.push(k);
        }
        let one_ids: ArrayRef = Arc::new(one_ids.finish());
        let one_keys: ArrayRef = Arc::new(Int64Array::from(one_keys));
        if let Some(h) = in_flight.take() {
            h.await.map_err(|e| IdentityError::Task(e.to_string()))??;
        }
        let (lake, p) = (lake.clone(), path.clone());
        in_flight = Some(tokio::spawn(async move {
            let bytes = tokio::task::spawn_blocking(move || {
                file.encode_column("one_id", &one_ids)?;
                file.encode_column("one_key", &one_keys)?;
                file.finish()
            })
            .await
            .map_err(|e| IdentityError::Task(e.to_string()))??;
            lake.put(&p, bytes).await?;
            Ok(())
        }));
        written.push(path);
    }
    if let Some(h) = in_flight {
        h.await.map_err(|e| IdentityError::Task(e.to_string()))??;
    }
    Ok(written)
}

/// The current identity_map in memory, for lookups by identifier: the serve
/// stage's entry point. Interned like the graph, about 60 bytes per
/// identifier.
pub struct IdentityMap {
    nodes: Nodes,
    keys: Vec<OneKey>,
    run_id: String,
}

impl IdentityMap {
    /// Loads the files `identity/current.json` names; an empty map when the
    /// lake was never resolved.
    pub async fn load(lake: &Lake) -> Result<Self> {
        let mut map = Self {
            nodes: Nodes::new(),
            keys: Vec::new(),
            run_id: String::new(),
        };
        let Some(manifest) = Manifest::load(lake).await? else {
            return Ok(map);
        };
        map.run_id = manifest.run_id.clone();
        for file in &manifest.identity_map {
            map.add_file(lake, file).await?;
        }
        Ok(map)
    }

    async fn add_file(&mut self, lake: &Lake, file: &str) -> Result<()> {
        let columns = ["id_type", "id_value", "one_key", "first_seen"];
        let bad = |column: &'static str| IdentityError::BadColumn {
            location: file.to_string(),
            column,
            reason: "missing or of another type".into(),
        };
        for batch in parquet_io::decode(file, lake.get(file).await?, Some(&columns))? {
            let types = batch
                .column_by_name("id_type")
                .and_then(|c| c.as_string_opt::<i32>())
                .ok_or_else(|| bad("id_type"))?;
            let values = batch
                .column_by_name("id_value")
                .and_then(|c| c.as_string_opt::<i32>())
                .ok_or_else(|| bad("id_value"))?;
            let keys = batch
                .column_by_name("one_key")
                .and_then(|c| c.as_primitive_opt::<Int64Type>())
                .ok_or_else(|| bad("one_key"))?;
            let first = batch
                .column_by_name("first_seen")
                .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
                .ok_or_else(|| bad("first_seen"))?;
            for i in 0..batch.num_rows() {
                let Some(t) = parse_type(types.value(i)) else {
                    continue;
                };
                let n = self.nodes.intern(t, values.value(i), first.value(i))?;
                if n as usize == self.keys.len() {
                    self.keys.push(keys.value(i));
                }
            }
        }
        Ok(())
    }

    /// The run whose map this is.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The one_key of a canonical identifier.
    pub fn one_key(&self, id_type: IdType, value: &str) -> Option<OneKey> {
        self.nodes
            .find(id_type, value)
            .map(|n| self.keys[n as usize])
    }

    /// The one_id of a canonical identifier.
    pub fn one_id(&self, id: &Identifier) -> Option<String> {
        self.one_key(id.id_type, &id.value).map(one_id)
    }

    /// Every (identifier, one_key) of the map, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (IdType, String, OneKey)> + '_ {
        (0..self.keys.len() as u32).map(|n| {
            (
                self.nodes.id_type(n),
                self.nodes.value(n),
                self.keys[n as usize],
            )
        })
    }
}

/// The one_id of one identifier in the current identity_map, without
/// loading the whole map: a single lookup (a CLI, a test). Use
/// [`IdentityMap`] for many.
pub async fn lookup(lake: &Lake, id: &Identifier) -> Result<Option<String>> {
    let Some(manifest) = Manifest::load(lake).await? else {
        return Ok(None);
    };
    for file in &manifest.identity_map {
        let batches = parquet_io::decode(
            file,
            lake.get(file).await?,
            Some(&["id_type", "id_value", "one_id"]),
        )?;
        for batch in batches {
            let (Some(types), Some(values), Some(ids)) = (
                batch.column(0).as_string_opt::<i32>(),
                batch.column(1).as_string_opt::<i32>(),
                batch.column(2).as_string_opt::<i32>(),
            ) else {
                return Err(IdentityError::BadColumn {
                    location: file.clone(),
                    column: "id_type",
                    reason: "not Utf8".into(),
                });
            };
            for i in 0..batch.num_rows() {
                if types.value(i) == id.id_type.as_str() && values.value(i) == id.value {
                    return Ok(Some(ids.value(i).to_string()));
                }
            }
        }
    }
    Ok(None)
}
