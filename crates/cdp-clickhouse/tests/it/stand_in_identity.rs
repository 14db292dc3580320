//! A stand-in for `cdp resolve`, until the identity stage lands: it MUST be
//! replaced by `cdp_identity::resolve` then (the tests keep their shape).
//!
//! `resolve_stand_in` joins identifiers that appear together in an event
//! into one person (plain union-find: no junk limits, no over-merge guard,
//! no lineage), allocates keys in order of first appearance, gives every
//! event the person of its identifiers, and writes `resolved_events`
//! (one file per `source=/dt=` partition, a new file only where the content
//! changed, like the identity stage) and `identity_map` (rewritten whole),
//! with the columns docs/architecture.md fixes for them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimestampMicrosecondType};
use cdp_lake::schema::{events_schema, utc_micros};

/// The columns of `events` that `resolved_events` does not carry.
const NOT_RESOLVED: [&str; 5] = [
    "identifiers",
    "properties",
    "provenance_origin",
    "provenance_partition",
    "provenance_offset",
];

pub fn resolved_events_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("one_key", DataType::Int64, true),
        Field::new("one_id", DataType::Utf8, true),
    ];
    fields.extend(
        events_schema()
            .fields()
            .iter()
            .filter(|f| !NOT_RESOLVED.contains(&f.name().as_str()))
            .map(|f| f.as_ref().clone()),
    );
    Arc::new(Schema::new(fields))
}

pub fn identity_map_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id_type", DataType::Utf8, false),
        Field::new("id_value", DataType::Utf8, false),
        Field::new("one_id", DataType::Utf8, false),
        Field::new("one_key", DataType::Int64, false),
        Field::new("first_seen", utc_micros(), false),
        Field::new("last_seen", utc_micros(), false),
    ]))
}

pub fn one_id(key: i64) -> String {
    format!("OID{key:012}")
}

/// One `source=/dt=` partition of events, all its rows in one batch.
struct Partition {
    source: String,
    dt: String,
    batch: RecordBatch,
    /// Per row: the first identifier, `type\tvalue`, if any.
    first_ids: Vec<Option<String>>,
}

/// What the resolved_events folder holds after a call.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// Every file: rows and the sum of its one_keys.
    pub files: BTreeMap<String, (u64, i64)>,
    /// Files written by this call.
    pub written: BTreeSet<String>,
}

impl Resolved {
    pub fn rows(&self) -> u64 {
        self.files.values().map(|(r, _)| r).sum()
    }

    pub fn rows_of(&self, files: &BTreeSet<String>) -> u64 {
        files.iter().map(|f| self.files[f].0).sum()
    }

    pub fn key_sum(&self) -> i64 {
        self.files.values().map(|(_, s)| s).sum()
    }
}

/// The stand-in resolver of one lake folder.
pub struct StandInResolver {
    root: PathBuf,
    partitions: Vec<Partition>,
    keys: HashMap<String, i64>,
    /// Current file of each partition, and its content fingerprint.
    current: BTreeMap<(String, String), (String, (u64, i64))>,
}

impl StandInResolver {
    /// Reads the lake's events and allocates keys: identifiers seen together
    /// are one person; keys in order of first appearance.
    pub fn new(root: &Path) -> Self {
        let mut partitions = Vec::new();
        for source_dir in sorted_dirs(&root.join("events")) {
            let source = hive(&source_dir, "source");
            for dt_dir in sorted_dirs(&source_dir) {
                let dt = hive(&dt_dir, "dt");
                let mut batches = Vec::new();
                for file in sorted_files(&dt_dir) {
                    let bytes = bytes::Bytes::from(std::fs::read(&file).unwrap());
                    batches.extend(
                        cdp_lake::parquet_io::decode(&file.display().to_string(), bytes, None)
                            .unwrap(),
                    );
                }
                let batch = concat_batches(&events_schema(), &batches).unwrap();
                let first_ids = first_identifiers(&batch);
                partitions.push(Partition {
                    source: source.clone(),
                    dt,
                    batch,
                    first_ids,
                });
            }
        }
        // Union-find over identifiers seen together in one event.
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut parent: Vec<usize> = Vec::new();
        let mut node = |id: String, parent: &mut Vec<usize>| -> usize {
            *index.entry(id).or_insert_with(|| {
                parent.push(parent.len());
                parent.len() - 1
            })
        };
        let mut first_nodes: Vec<Vec<Option<usize>>> = Vec::new();
        for p in &partitions {
            let mut firsts = Vec::with_capacity(p.batch.num_rows());
            for ids in all_identifiers(&p.batch) {
                let nodes: Vec<usize> = ids.into_iter().map(|id| node(id, &mut parent)).collect();
                for &other in nodes.iter().skip(1) {
                    let (a, b) = (find(&mut parent, nodes[0]), find(&mut parent, other));
                    parent[a.max(b)] = a.min(b);
                }
                firsts.push(nodes.first().copied());
            }
            first_nodes.push(firsts);
        }
        // Keys by first appearance of each person: (time, first identifier).
        let mut earliest: HashMap<usize, (i64, &str)> = HashMap::new();
        for (p, firsts) in partitions.iter().zip(&first_nodes) {
            let times = event_times(&p.batch);
            for (row, first) in firsts.iter().enumerate() {
                if let (Some(n), Some(id)) = (first, &p.first_ids[row]) {
                    let root = find(&mut parent, *n);
                    let seen = (times.value(row), id.as_str());
                    let e = earliest.entry(root).or_insert(seen);
                    *e = (*e).min(seen);
                }
            }
        }
        let mut people: Vec<((i64, &str), usize)> = earliest
            .into_iter()
            .map(|(root, first)| (first, root))
            .collect();
        people.sort();
        let key_of_root: HashMap<usize, i64> = people
            .iter()
            .enumerate()
            .map(|(i, (_, root))| (*root, i as i64 + 1))
            .collect();
        let keys: HashMap<String, i64> = index
            .iter()
            .map(|(id, &n)| (id.clone(), key_of_root[&find(&mut parent, n)]))
            .collect();
        Self {
            root: root.to_path_buf(),
            partitions,
            keys,
            current: BTreeMap::new(),
        }
    }

    /// Writes the partitions `include` selects (and drops the files of those
    /// it no longer selects), with one_keys mapped through `merge` (from →
    /// into: people the "identity stage" has just merged), under run `run`.
    pub fn resolve_stand_in(
        &mut self,
        run: &str,
        include: impl Fn(&str, &str) -> bool,
        merge: &BTreeMap<i64, i64>,
    ) -> Resolved {
        let mut resolved = Resolved::default();
        let mut map: BTreeMap<(String, String), (i64, i64, i64)> = BTreeMap::new();
        let mut kept = BTreeSet::new();
        for p in &self.partitions {
            if !include(&p.source, &p.dt) {
                continue;
            }
            let key_of = |id: &Option<String>| {
                id.as_ref().map(|id| {
                    let k = self.keys[id];
                    *merge.get(&k).unwrap_or(&k)
                })
            };
            let keys: Int64Array = p.first_ids.iter().map(key_of).collect();
            let ids: StringArray = keys.iter().map(|k| k.map(one_id)).collect();
            let sum: i64 = keys.iter().flatten().sum();
            let fingerprint = (p.batch.num_rows() as u64, sum);
            let partition = (p.source.clone(), p.dt.clone());
            kept.insert(partition.clone());
            let relative = match self.current.get(&partition) {
                Some((file, fp)) if *fp == fingerprint => file.clone(),
                old => {
                    if let Some((file, _)) = old {
                        std::fs::remove_file(self.root.join(file)).unwrap();
                    }
                    let file = format!(
                        "resolved_events/source={}/dt={}/part-{run}-0.parquet",
                        p.source, p.dt
                    );
                    let mut columns: Vec<ArrayRef> = vec![Arc::new(keys.clone()), Arc::new(ids)];
                    for field in resolved_events_schema().fields().iter().skip(2) {
                        columns.push(p.batch.column_by_name(field.name()).unwrap().clone());
                    }
                    let batch = RecordBatch::try_new(resolved_events_schema(), columns).unwrap();
                    write(&self.root, &file, resolved_events_schema(), &[batch]);
                    self.current
                        .insert(partition.clone(), (file.clone(), fingerprint));
                    resolved.written.insert(file.clone());
                    file
                }
            };
            resolved.files.insert(relative, fingerprint);

            // identity_map: every identifier of these events.
            let times = event_times(&p.batch);
            let lists = p
                .batch
                .column_by_name("identifiers")
                .unwrap()
                .as_list::<i32>();
            for row in 0..p.batch.num_rows() {
                let Some(key) = keys.is_valid(row).then(|| keys.value(row)) else {
                    continue;
                };
                let ids = lists.value(row);
                let ids = ids.as_struct();
                let (types, values) = (
                    ids.column(0).as_string::<i32>(),
                    ids.column(1).as_string::<i32>(),
                );
                for i in 0..ids.len() {
                    let t = times.value(row);
                    let entry = map
                        .entry((types.value(i).to_string(), values.value(i).to_string()))
                        .or_insert((t, key, t));
                    if t < entry.0 {
                        *entry = (t, key, entry.2);
                    }
                    entry.2 = entry.2.max(t);
                }
            }
        }
        let dropped: Vec<_> = self
            .current
            .keys()
            .filter(|k| !kept.contains(*k))
            .cloned()
            .collect();
        for partition in dropped {
            let (file, _) = self.current.remove(&partition).unwrap();
            std::fs::remove_file(self.root.join(file)).unwrap();
        }

        let map_dir = self.root.join("identity_map");
        if map_dir.exists() {
            std::fs::remove_dir_all(&map_dir).unwrap();
        }
        let rows: Vec<_> = map.into_iter().collect();
        let batch = RecordBatch::try_new(
            identity_map_schema(),
            vec![
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|((t, _), _)| t.as_str()),
                )),
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|((_, v), _)| v.as_str()),
                )),
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|(_, (_, k, _))| one_id(*k)),
                )),
                Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|(_, (_, k, _))| *k),
                )),
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        rows.iter().map(|(_, (f, _, _))| *f),
                    )
                    .with_timezone("UTC"),
                ),
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        rows.iter().map(|(_, (_, _, l))| *l),
                    )
                    .with_timezone("UTC"),
                ),
            ],
        )
        .unwrap();
        write(
            &self.root,
            &format!("identity_map/part-{run}-0.parquet"),
            identity_map_schema(),
            &[batch],
        );
        resolved
    }
}

fn event_times(batch: &RecordBatch) -> &arrow::array::PrimitiveArray<TimestampMicrosecondType> {
    batch
        .column_by_name("event_time")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>()
}

/// Union-find root, halving paths on the way.
fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Every identifier of every row, as `type\tvalue`.
fn all_identifiers(batch: &RecordBatch) -> Vec<Vec<String>> {
    let lists = batch
        .column_by_name("identifiers")
        .unwrap()
        .as_list::<i32>();
    (0..batch.num_rows())
        .map(|row| {
            let ids = lists.value(row);
            let ids = ids.as_struct();
            let (types, values) = (
                ids.column(0).as_string::<i32>(),
                ids.column(1).as_string::<i32>(),
            );
            (0..ids.len())
                .map(|i| format!("{}\t{}", types.value(i), values.value(i)))
                .collect()
        })
        .collect()
}

fn first_identifiers(batch: &RecordBatch) -> Vec<Option<String>> {
    all_identifiers(batch)
        .into_iter()
        .map(|ids| ids.into_iter().next())
        .collect()
}

fn write(root: &Path, relative: &str, schema: SchemaRef, batches: &[RecordBatch]) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let bytes = cdp_lake::parquet_io::encode(relative, schema, batches).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

fn sorted_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    out.sort();
    out
}

fn hive(dir: &Path, key: &str) -> String {
    let name = dir.file_name().unwrap().to_string_lossy();
    name.strip_prefix(&format!("{key}=")).unwrap().to_string()
}
