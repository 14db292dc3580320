//! One build in memory: everything `builds/current.json` lists, loaded whole
//! before it is served, so a request sees one build or the other, never a
//! mix.
//!
//! Layout (all keyed by integers, strings interned):
//! - `profiles` and `ltv`: the build's Arrow columns, compacted
//!   ([`crate::row_json::compact`]), rows sorted by one_key; a row is found
//!   by binary search in a `Vec<i64>` of keys. `one_id` is not stored when it
//!   is `OID` + one_key in 12 digits (the interface), which it must be.
//! - `tags`: `(tag_group, tag)` pairs interned to `u32`; per profile row the
//!   list of its pairs (CSR), per pair the sorted profile rows (segments).
//! - `identity_map`: [`IdentityIndex`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{concat, sort_to_indices, take};
use arrow::datatypes::{DataType, Int64Type};
use cdp_lake::Lake;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{Result, ServeError};
use crate::identity_index::IdentityIndex;
use crate::manifest::{self, BuildManifest, IDENTITY_MAP, LTV, PROFILES, TAGS};
use crate::row_json::{self, write_str};

/// `OID` followed by one_key zero-padded to 12 digits (docs/architecture.md).
pub fn one_id(one_key: i64) -> String {
    format!("OID{one_key:012}")
}

/// The one_key of a one_id; `None` unless it has the interface's form.
pub fn parse_one_id(one_id: &str) -> Option<i64> {
    let digits = one_id.strip_prefix("OID")?;
    if digits.len() < 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().filter(|k| *k >= 1)
}

enum ColumnData {
    Arrow(ArrayRef),
    /// The `one_id` column, equal to [`one_id`] of the row's key: not stored.
    OneIdOfKey,
}

struct Column {
    name: String,
    /// `"name":`, escaped once.
    json_key: Vec<u8>,
    data: ColumnData,
}

/// A table of a build keyed by one_key: `profiles` or `ltv`.
pub struct RowTable {
    keys: Vec<i64>,
    columns: Vec<Column>,
    /// Rows dropped at load: a null one_key, or a one_key seen before.
    pub dropped_rows: u64,
}

impl RowTable {
    pub fn empty() -> Self {
        Self {
            keys: Vec::new(),
            columns: Vec::new(),
            dropped_rows: 0,
        }
    }

    /// Concatenates `batches`, sorts them by `one_key`, keeps the first row
    /// of each key and compacts every column.
    pub fn from_batches(table: &'static str, batches: &[(String, RecordBatch)]) -> Result<Self> {
        let Some((first_file, first)) = batches.first() else {
            return Ok(Self::empty());
        };
        let schema = first.schema();
        for (file, b) in batches {
            if b.schema().fields() != schema.fields() {
                return Err(ServeError::table(
                    table,
                    file,
                    format!("its columns differ from those of {first_file}"),
                ));
            }
        }
        let key_index = schema.index_of("one_key").map_err(|_| {
            ServeError::table(table, first_file, "no one_key column (docs/architecture.md: every table keyed by a person carries one_key)")
        })?;
        if schema.field(key_index).data_type() != &DataType::Int64 {
            return Err(ServeError::table(
                table,
                first_file,
                format!(
                    "one_key is {} instead of Int64",
                    schema.field(key_index).data_type()
                ),
            ));
        }
        let column = |i: usize| -> Result<ArrayRef> {
            let parts: Vec<&dyn Array> =
                batches.iter().map(|(_, b)| b.column(i).as_ref()).collect();
            concat(&parts).map_err(|e| {
                ServeError::table(table, first_file, format!("cannot concatenate: {e}"))
            })
        };
        let keys = column(key_index)?;
        let order = sort_to_indices(&keys, None, None)
            .map_err(|e| ServeError::Internal(format!("sorting {table} by one_key: {e}")))?;
        let key_values = keys.as_primitive::<Int64Type>();
        let mut keep: Vec<u32> = Vec::with_capacity(order.len());
        let mut sorted_keys: Vec<i64> = Vec::with_capacity(order.len());
        let mut dropped_rows = 0u64;
        for &i in order.values() {
            if key_values.is_null(i as usize) {
                dropped_rows += 1;
                continue;
            }
            let k = key_values.value(i as usize);
            if sorted_keys.last() == Some(&k) {
                dropped_rows += 1;
                continue;
            }
            sorted_keys.push(k);
            keep.push(i);
        }
        drop(keys);
        let keep = UInt32Array::from(keep);
        let mut columns = Vec::with_capacity(schema.fields().len());
        for (i, field) in schema.fields().iter().enumerate() {
            let taken = take(column(i)?.as_ref(), &keep, None)
                .map_err(|e| ServeError::Internal(format!("ordering {table}: {e}")))?;
            let data = if field.name() == "one_id" && one_ids_follow_keys(&taken, &sorted_keys) {
                ColumnData::OneIdOfKey
            } else if field.name() == "one_id" {
                return Err(ServeError::table(
                    table,
                    first_file,
                    "one_id is not OID + one_key in 12 digits on every row (docs/architecture.md)",
                ));
            } else {
                ColumnData::Arrow(row_json::compact(taken))
            };
            let mut json_key = serde_json::to_vec(field.name()).expect("a string");
            json_key.push(b':');
            columns.push(Column {
                name: field.name().clone(),
                json_key,
                data,
            });
        }
        sorted_keys.shrink_to_fit();
        Ok(Self {
            keys: sorted_keys,
            columns,
            dropped_rows,
        })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn row(&self, one_key: i64) -> Option<usize> {
        self.keys.binary_search(&one_key).ok()
    }

    pub fn key(&self, row: usize) -> i64 {
        self.keys[row]
    }

    /// Appends the row as a JSON object of every column.
    pub fn write_row(&self, out: &mut Vec<u8>, row: usize) {
        self.write_row_masked(out, row, None);
    }

    /// The column names, in order.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// Appends the row as a JSON object of the columns `include` says
    /// (every column when `None`).
    pub fn write_row_masked(&self, out: &mut Vec<u8>, row: usize, include: Option<&[bool]>) {
        out.push(b'{');
        let mut first = true;
        for (i, c) in self.columns.iter().enumerate() {
            if include.is_some_and(|m| !m[i]) {
                continue;
            }
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
            out.extend_from_slice(&c.json_key);
            match &c.data {
                ColumnData::Arrow(a) => row_json::write_value(out, a.as_ref(), row),
                ColumnData::OneIdOfKey => write_str(out, &one_id(self.keys[row])),
            }
        }
        out.push(b'}');
    }

    pub fn memory_bytes(&self) -> usize {
        8 * self.keys.capacity()
            + self
                .columns
                .iter()
                .map(|c| match &c.data {
                    ColumnData::Arrow(a) => a.get_array_memory_size(),
                    ColumnData::OneIdOfKey => 0,
                })
                .sum::<usize>()
    }
}

fn one_ids_follow_keys(one_ids: &ArrayRef, keys: &[i64]) -> bool {
    let Some(strings) = one_ids.as_string_opt::<i32>() else {
        return false;
    };
    let mut expected = String::with_capacity(15);
    keys.iter().enumerate().all(|(row, &k)| {
        expected.clear();
        use std::fmt::Write as _;
        let _ = write!(expected, "OID{k:012}");
        strings.is_valid(row) && strings.value(row) == expected
    })
}

/// The tags of a build: per profile row its `(tag_group, tag)` pairs, per
/// pair its profile rows.
pub struct TagIndex {
    groups: Vec<String>,
    /// (group index, tag), sorted: a pair's id is its position.
    pairs: Vec<(u32, String)>,
    lookup: HashMap<String, HashMap<String, u32>>,
    /// Profile row r has pairs `row_pairs[row_offsets[r]..row_offsets[r + 1]]`.
    row_offsets: Vec<u32>,
    row_pairs: Vec<u32>,
    /// Profile rows of each pair, ascending (so by one_key).
    members: Vec<Vec<u32>>,
    /// Tag rows whose one_key has no profile row (not served).
    pub orphan_rows: u64,
}

impl TagIndex {
    fn build(batches: &[(String, RecordBatch)], profiles: &RowTable) -> Result<Self> {
        let mut group_ids: HashMap<String, u32> = HashMap::new();
        let mut groups: Vec<String> = Vec::new();
        let mut raw_pairs: Vec<HashMap<String, u32>> = Vec::new();
        let mut raw_list: Vec<(u32, String)> = Vec::new();
        let mut assignments: Vec<(u32, u32)> = Vec::new();
        let mut orphan_rows = 0u64;
        for (file, batch) in batches {
            let column = |name: &'static str| {
                batch
                    .column_by_name(name)
                    .ok_or_else(|| ServeError::table("tags", file, format!("no column {name}")))
            };
            let keys = column("one_key")?;
            let keys = keys
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| ServeError::table("tags", file, "one_key is not Int64"))?;
            let group_col = cast_utf8(column("tag_group")?, file, "tag_group")?;
            let tag_col = cast_utf8(column("tag")?, file, "tag")?;
            let group_col = group_col.as_string::<i32>();
            let tag_col = tag_col.as_string::<i32>();
            for row in 0..batch.num_rows() {
                if keys.is_null(row) || group_col.is_null(row) || tag_col.is_null(row) {
                    orphan_rows += 1;
                    continue;
                }
                let Some(profile_row) = profiles.row(keys.value(row)) else {
                    orphan_rows += 1;
                    continue;
                };
                let g = group_col.value(row);
                let group = match group_ids.get(g) {
                    Some(&id) => id,
                    None => {
                        let id = groups.len() as u32;
                        groups.push(g.to_string());
                        group_ids.insert(g.to_string(), id);
                        id
                    }
                };
                let t = tag_col.value(row);
                // Most rows repeat a pair seen before: looked up by &str.
                if raw_pairs.len() <= group as usize {
                    raw_pairs.resize_with(group as usize + 1, HashMap::new);
                }
                let pair = match raw_pairs[group as usize].get(t) {
                    Some(&id) => id,
                    None => {
                        let id = raw_list.len() as u32;
                        raw_list.push((group, t.to_string()));
                        raw_pairs[group as usize].insert(t.to_string(), id);
                        id
                    }
                };
                assignments.push((profile_row as u32, pair));
            }
        }
        // Pair ids in (group in order of first appearance, tag) order, so a
        // row's tags come out grouped and sorted.
        let mut order: Vec<u32> = (0..raw_list.len() as u32).collect();
        order.sort_by(|&a, &b| raw_list[a as usize].cmp(&raw_list[b as usize]));
        let mut rank = vec![0u32; raw_list.len()];
        for (r, &raw) in order.iter().enumerate() {
            rank[raw as usize] = r as u32;
        }
        let pairs: Vec<(u32, String)> = order
            .iter()
            .map(|&raw| raw_list[raw as usize].clone())
            .collect();
        for a in &mut assignments {
            a.1 = rank[a.1 as usize];
        }
        assignments.sort_unstable();
        assignments.dedup();
        let mut row_offsets = Vec::with_capacity(profiles.len() + 1);
        let mut row_pairs = Vec::with_capacity(assignments.len());
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); pairs.len()];
        let mut next = assignments.iter().peekable();
        for r in 0..profiles.len() as u32 {
            row_offsets.push(row_pairs.len() as u32);
            while let Some(&&(row, pair)) = next.peek() {
                if row != r {
                    break;
                }
                row_pairs.push(pair);
                members[pair as usize].push(row);
                next.next();
            }
        }
        row_offsets.push(row_pairs.len() as u32);
        for m in &mut members {
            m.shrink_to_fit();
        }
        let mut lookup: HashMap<String, HashMap<String, u32>> = HashMap::new();
        for (id, (group, tag)) in pairs.iter().enumerate() {
            lookup
                .entry(groups[*group as usize].clone())
                .or_default()
                .insert(tag.clone(), id as u32);
        }
        Ok(Self {
            groups,
            pairs,
            lookup,
            row_offsets,
            row_pairs,
            members,
            orphan_rows,
        })
    }

    fn empty(profiles: usize) -> Self {
        Self {
            groups: Vec::new(),
            pairs: Vec::new(),
            lookup: HashMap::new(),
            row_offsets: vec![0; profiles + 1],
            row_pairs: Vec::new(),
            members: Vec::new(),
            orphan_rows: 0,
        }
    }

    /// Appends `{"group": ["tag", …], …}` for a profile row.
    pub fn write_row(&self, out: &mut Vec<u8>, row: Option<usize>) {
        out.push(b'{');
        if let Some(row) = row {
            let pairs =
                &self.row_pairs[self.row_offsets[row] as usize..self.row_offsets[row + 1] as usize];
            let mut open_group: Option<u32> = None;
            for &p in pairs {
                let (group, tag) = &self.pairs[p as usize];
                if open_group != Some(*group) {
                    if open_group.is_some() {
                        out.extend_from_slice(b"],");
                    }
                    write_str(out, &self.groups[*group as usize]);
                    out.extend_from_slice(b":[");
                    open_group = Some(*group);
                } else {
                    out.push(b',');
                }
                write_str(out, tag);
            }
            if open_group.is_some() {
                out.push(b']');
            }
        }
        out.push(b'}');
    }

    /// The profile rows carrying `(tag_group, tag)`, ascending by one_key.
    pub fn segment(&self, tag_group: &str, tag: &str) -> Option<&[u32]> {
        let id = *self.lookup.get(tag_group)?.get(tag)?;
        Some(&self.members[id as usize])
    }

    /// Every `(tag_group, tag)` and its member count.
    pub fn segments(&self) -> impl Iterator<Item = (&str, &str, usize)> {
        self.pairs
            .iter()
            .zip(&self.members)
            .map(|((g, t), m)| (self.groups[*g as usize].as_str(), t.as_str(), m.len()))
    }

    pub fn tag_rows(&self) -> usize {
        self.row_pairs.len()
    }

    pub fn memory_bytes(&self) -> usize {
        4 * (self.row_offsets.capacity() + self.row_pairs.capacity())
            + self
                .members
                .iter()
                .map(|m| 4 * m.capacity() + 24)
                .sum::<usize>()
            + self
                .pairs
                .iter()
                .map(|(_, t)| t.capacity() + 32)
                .sum::<usize>()
    }
}

fn cast_utf8(array: &ArrayRef, file: &str, column: &'static str) -> Result<ArrayRef> {
    if array.data_type() == &DataType::Utf8 {
        return Ok(array.clone());
    }
    arrow::compute::cast(array, &DataType::Utf8)
        .map_err(|e| ServeError::table("tags", file, format!("{column} is not a string: {e}")))
}

/// Memory held by a loaded build, measured from its structures.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct MemoryReport {
    pub profiles_bytes: usize,
    pub ltv_bytes: usize,
    pub tags_bytes: usize,
    pub identity_bytes: usize,
    pub total_bytes: usize,
    /// total_bytes / profiles.
    pub bytes_per_profile: usize,
}

/// What a build holds, for `/healthz`, logs and metrics.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BuildCounts {
    pub profiles: usize,
    pub ltv_rows: usize,
    pub tag_rows: usize,
    pub segments: usize,
    pub identifiers: u64,
    /// Rows not served: tags without a profile row, profile/ltv rows with a
    /// null or repeated one_key, identity_map rows of unknown id types or
    /// repeated identifiers.
    pub rows_not_served: u64,
}

/// A build loaded for serving.
pub struct Snapshot {
    pub manifest: BuildManifest,
    pub loaded_at: DateTime<Utc>,
    pub load_seconds: f64,
    pub profiles: RowTable,
    pub ltv: RowTable,
    pub tags: TagIndex,
    pub identity: IdentityIndex,
    /// One bit per one_key that identity_map knows.
    identity_keys: Vec<u64>,
    /// `"build":{…}`, rendered once.
    build_json: Vec<u8>,
    pub memory: MemoryReport,
    pub counts: BuildCounts,
}

impl Snapshot {
    /// Loads every table the manifest lists.
    pub async fn load(lake: &Lake, manifest: BuildManifest) -> Result<Arc<Self>> {
        Self::load_with(lake, manifest, true).await
    }

    /// Loads the manifest's profiles, tags and LTV, and its identity_map
    /// when `identity` (the change feed does not need it).
    pub async fn load_with(
        lake: &Lake,
        manifest: BuildManifest,
        identity: bool,
    ) -> Result<Arc<Self>> {
        let started = Instant::now();
        if manifest.files(PROFILES).is_empty() {
            return Err(ServeError::Manifest {
                path: manifest::BUILD_MANIFEST.into(),
                reason: format!("build {} lists no profiles files", manifest.build_id),
            });
        }
        let profiles = manifest::read_table(lake, &manifest, PROFILES, None).await?;
        let profiles = blocking(move || RowTable::from_batches("profiles", &profiles)).await?;
        let ltv = manifest::read_table(lake, &manifest, LTV, None).await?;
        let ltv = blocking(move || RowTable::from_batches("ltv", &ltv)).await?;
        let tags = manifest::read_table(
            lake,
            &manifest,
            TAGS,
            Some(&["one_key", "tag_group", "tag"]),
        )
        .await?;
        let (profiles, tags) = blocking(move || {
            let index = if tags.is_empty() {
                TagIndex::empty(profiles.len())
            } else {
                TagIndex::build(&tags, &profiles)?
            };
            Ok((profiles, index))
        })
        .await?;
        let ids = if identity {
            manifest::read_table(
                lake,
                &manifest,
                IDENTITY_MAP,
                Some(&["id_type", "id_value", "one_key"]),
            )
            .await?
        } else {
            Vec::new()
        };
        let (identity, identity_keys) = blocking(move || {
            let index = IdentityIndex::build(&ids)?;
            let bits = index.key_bitmap();
            Ok((index, bits))
        })
        .await?;
        let mut build_json = b"\"build\":{\"build_id\":".to_vec();
        write_str(&mut build_json, &manifest.build_id);
        build_json.extend_from_slice(b",\"as_of\":");
        write_str(&mut build_json, &manifest.as_of);
        build_json.push(b'}');
        let mut memory = MemoryReport {
            profiles_bytes: profiles.memory_bytes(),
            ltv_bytes: ltv.memory_bytes(),
            tags_bytes: tags.memory_bytes(),
            identity_bytes: identity.memory_bytes() + 8 * identity_keys.capacity(),
            ..Default::default()
        };
        memory.total_bytes =
            memory.profiles_bytes + memory.ltv_bytes + memory.tags_bytes + memory.identity_bytes;
        memory.bytes_per_profile = memory.total_bytes / profiles.len().max(1);
        let counts = BuildCounts {
            profiles: profiles.len(),
            ltv_rows: ltv.len(),
            tag_rows: tags.tag_rows(),
            segments: tags.pairs.len(),
            identifiers: identity.stats.identifiers,
            rows_not_served: profiles.dropped_rows
                + ltv.dropped_rows
                + tags.orphan_rows
                + identity.stats.unknown_types
                + identity.stats.duplicates,
        };
        Ok(Arc::new(Self {
            manifest,
            loaded_at: Utc::now(),
            load_seconds: started.elapsed().as_secs_f64(),
            profiles,
            ltv,
            tags,
            identity,
            identity_keys,
            build_json,
            memory,
            counts,
        }))
    }

    pub fn build_id(&self) -> &str {
        &self.manifest.build_id
    }

    /// Whether the build knows `one_key`: a profile, LTV or an identifier.
    pub fn knows(&self, one_key: i64) -> bool {
        let in_identity = usize::try_from(one_key)
            .ok()
            .and_then(|k| {
                self.identity_keys
                    .get(k / 64)
                    .map(|w| w & (1 << (k % 64)) != 0)
            })
            .unwrap_or(false);
        in_identity || self.profiles.row(one_key).is_some() || self.ltv.row(one_key).is_some()
    }

    /// Appends the person document of `one_key`:
    /// `{"one_id","one_key","build","identifier"?,"profile","tags","ltv"}`.
    /// `identifier` is the canonical identifier that found the person.
    pub fn write_person(&self, out: &mut Vec<u8>, one_key: i64, identifier: Option<(&str, &str)>) {
        out.extend_from_slice(b"{\"one_id\":");
        write_str(out, &one_id(one_key));
        let _ = std::io::Write::write_fmt(out, format_args!(",\"one_key\":{one_key},"));
        out.extend_from_slice(&self.build_json);
        if let Some((id_type, value)) = identifier {
            out.extend_from_slice(b",\"identifier\":{\"id_type\":");
            write_str(out, id_type);
            out.extend_from_slice(b",\"id_value\":");
            write_str(out, value);
            out.push(b'}');
        }
        out.extend_from_slice(b",\"profile\":");
        let row = self.profiles.row(one_key);
        match row {
            Some(r) => self.profiles.write_row(out, r),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"tags\":");
        self.tags.write_row(out, row);
        out.extend_from_slice(b",\"ltv\":");
        match self.ltv.row(one_key) {
            Some(r) => self.ltv.write_row(out, r),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
    }

    /// One page of a segment: one_keys after `after` (exclusive), at most
    /// `limit`; and whether more follow. `None` when the build has no such
    /// `(tag_group, tag)`.
    pub fn segment_page(
        &self,
        tag_group: &str,
        tag: &str,
        after: Option<i64>,
        limit: usize,
    ) -> Option<SegmentPage> {
        let rows = self.tags.segment(tag_group, tag)?;
        let start = match after {
            Some(k) => rows.partition_point(|&r| self.profiles.key(r as usize) <= k),
            None => 0,
        };
        let end = (start + limit).min(rows.len());
        Some(SegmentPage {
            one_keys: rows[start..end]
                .iter()
                .map(|&r| self.profiles.key(r as usize))
                .collect(),
            more: end < rows.len(),
            total: rows.len(),
        })
    }

    /// Every `(tag_group, tag)` of the build with its member count.
    pub fn segment_counts(&self) -> BTreeMap<String, BTreeMap<String, usize>> {
        let mut out: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for (g, t, n) in self.tags.segments() {
            out.entry(g.to_string())
                .or_default()
                .insert(t.to_string(), n);
        }
        out
    }
}

pub struct SegmentPage {
    pub one_keys: Vec<i64>,
    pub more: bool,
    pub total: usize,
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServeError::Internal(format!("load task: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_ids_round_trip_and_malformed_ones_are_refused() {
        assert_eq!(one_id(12345), "OID000000012345");
        assert_eq!(parse_one_id("OID000000012345"), Some(12345));
        for bad in [
            "OID12345",
            "oid000000012345",
            "OID00000001234x",
            "OID000000000000",
            "12345",
        ] {
            assert_eq!(parse_one_id(bad), None, "{bad}");
        }
    }
}
