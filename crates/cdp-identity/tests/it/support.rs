//! Shared fixtures: a generated 100k-person world ingested once per test
//! process (copied into each test's own lake), small hand-written lakes, and
//! readers of the stage's tables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use cdp_lake::event_writer::EventWriterOptions;
use cdp_lake::{parquet_io, EventWriter, Lake};
use cdp_model::{CanonicalEvent, IdType, Identifier, Provenance};

pub const PERSONS: u64 = 100_000;

/// A world generated and ingested once: `truth/` and `lake/` (events only).
pub struct World {
    pub truth: PathBuf,
    pub lake: PathBuf,
}

/// The 100k-person world of seed 7, generated and ingested on first use.
/// It lives under cargo's per-target temp dir and is remade by every test
/// process (the generator may have changed).
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        std::thread::spawn(|| {
            let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("cdp-identity-world-{}", std::process::id()));
            // Worlds of earlier test processes.
            if let Ok(entries) = std::fs::read_dir(env!("CARGO_TARGET_TMPDIR")) {
                for e in entries.flatten() {
                    if e.file_name()
                        .to_string_lossy()
                        .starts_with("cdp-identity-world-")
                    {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
            let sources = root.join("world");
            cdp_generate::generate(
                &cdp_generate::WorldConfig {
                    persons: PERSONS,
                    seed: 7,
                    ..Default::default()
                },
                &sources,
            )
            .expect("generate the world");
            let lake_dir = root.join("lake");
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let lake = Lake::open(lake_dir.to_str().unwrap()).unwrap();
                let report = cdp_ingest::ingest_files(
                    &lake,
                    &cdp_config::PipelineConfig::default(),
                    cdp_ingest::InputSpec::reference_files(&sources),
                )
                .await
                .expect("ingest the world");
                assert!(report.balanced);
            });
            // The JSONL files are no longer needed; the truth is.
            for s in ["online", "offline", "ad", "transaction"] {
                let _ = std::fs::remove_file(sources.join(format!("{s}.jsonl")));
            }
            World {
                truth: sources.join("truth"),
                lake: lake_dir,
            }
        })
        .join()
        .expect("world fixture")
    })
}

/// Copies the events files of `from` whose `dt=` passes `keep` into `to`.
pub fn copy_events(from: &Path, to: &Path, keep: impl Fn(&str) -> bool) -> usize {
    let mut copied = 0;
    for source in std::fs::read_dir(from.join("events")).unwrap().flatten() {
        for day in std::fs::read_dir(source.path()).unwrap().flatten() {
            let dt = day.file_name().to_string_lossy().to_string();
            if !keep(dt.trim_start_matches("dt=")) {
                continue;
            }
            let dest = to
                .join("events")
                .join(source.file_name())
                .join(day.file_name());
            std::fs::create_dir_all(&dest).unwrap();
            for f in std::fs::read_dir(day.path()).unwrap().flatten() {
                std::fs::copy(f.path(), dest.join(f.file_name())).unwrap();
                copied += 1;
            }
        }
    }
    copied
}

/// A lake in a temp dir.
pub fn temp_lake() -> (tempfile::TempDir, Lake) {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
    (dir, lake)
}

/// 2026-03-01T00:00:00Z plus `minutes`.
pub fn at(minutes: i64) -> i64 {
    1_772_323_200_000_000 + minutes * 60_000_000
}

pub fn id(s: &str) -> Identifier {
    let (t, v) = s.split_once(':').unwrap();
    Identifier::new(t.parse::<IdType>().unwrap(), v)
}

/// One online event with these identifiers (`TYPE:VALUE`, used as given:
/// the identity stage must cope with whatever the lake holds).
pub fn event(event_id: &str, minutes: i64, ids: &[&str]) -> CanonicalEvent {
    let mut e = CanonicalEvent::new(
        event_id.into(),
        "online".into(),
        "page_view".into(),
        at(minutes),
        Provenance::file_line("test.jsonl", minutes),
    );
    e.identifiers = ids.iter().map(|s| id(s)).collect();
    e.identifiers.sort();
    e.identifiers.dedup();
    e
}

/// Writes events into the lake as one ingest run.
pub async fn write_events(lake: &Lake, run_id: &str, events: &[CanonicalEvent]) {
    let mut w = EventWriter::open(lake.clone(), run_id, EventWriterOptions::default())
        .await
        .unwrap();
    for e in events {
        w.offer(e).await.unwrap();
    }
    w.flush().await.unwrap();
}

/// The current identity_map: `TYPE:VALUE` → one_id.
pub async fn identity_map(lake: &Lake) -> BTreeMap<String, String> {
    let manifest = cdp_identity::state::Manifest::load(lake)
        .await
        .unwrap()
        .expect("resolved");
    let mut out = BTreeMap::new();
    for file in &manifest.identity_map {
        for b in parquet_io::decode(file, lake.get(file).await.unwrap(), None).unwrap() {
            let t = b.column_by_name("id_type").unwrap().as_string::<i32>();
            let v = b.column_by_name("id_value").unwrap().as_string::<i32>();
            let o = b.column_by_name("one_id").unwrap().as_string::<i32>();
            let k = b
                .column_by_name("one_key")
                .unwrap()
                .as_primitive::<Int64Type>();
            for i in 0..b.num_rows() {
                assert_eq!(cdp_identity::one_id(k.value(i)), o.value(i));
                out.insert(
                    format!("{}:{}", t.value(i), v.value(i)),
                    o.value(i).to_string(),
                );
            }
        }
    }
    out
}

/// Each current resolved_events file and its rows (one_key, event_time, event_id) in order.
pub type ResolvedFiles = Vec<(String, Vec<(Option<i64>, i64, String)>)>;

pub async fn resolved_rows(lake: &Lake) -> ResolvedFiles {
    let manifest = cdp_identity::state::Manifest::load(lake)
        .await
        .unwrap()
        .expect("resolved");
    let mut out = Vec::new();
    for file in &manifest.resolved_events {
        let mut rows = Vec::new();
        for b in parquet_io::decode(file, lake.get(file).await.unwrap(), None).unwrap() {
            let k = b
                .column_by_name("one_key")
                .unwrap()
                .as_primitive::<Int64Type>();
            let t = b
                .column_by_name("event_time")
                .unwrap()
                .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
            let e = b.column_by_name("event_id").unwrap().as_string::<i32>();
            for i in 0..b.num_rows() {
                rows.push((
                    (!k.is_null(i)).then(|| k.value(i)),
                    t.value(i),
                    e.value(i).to_string(),
                ));
            }
        }
        out.push((file.clone(), rows));
    }
    out
}

/// The one_id of each resolved event, by event id.
pub async fn event_one_ids(lake: &Lake) -> BTreeMap<String, Option<String>> {
    resolved_rows(lake)
        .await
        .into_iter()
        .flat_map(|(_, rows)| rows)
        .map(|(k, _, e)| (e, k.map(cdp_identity::one_id)))
        .collect()
}

/// Rows of every file of a table (identity_merges, identity_conflicts), as
/// `column=value` maps.
pub async fn table_rows(lake: &Lake, table: &str) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    for file in lake.list(table).await.unwrap() {
        for b in parquet_io::decode(&file, lake.get(&file).await.unwrap(), None).unwrap() {
            for i in 0..b.num_rows() {
                let mut row = BTreeMap::new();
                for (f, c) in b.schema().fields().iter().zip(b.columns()) {
                    // Timestamps in "UTC" need chrono-tz to display: raw µs.
                    let v = match c.as_primitive_opt::<arrow::datatypes::TimestampMicrosecondType>()
                    {
                        Some(t) if t.is_null(i) => String::new(),
                        Some(t) => t.value(i).to_string(),
                        None if c.is_null(i) => String::new(),
                        None => arrow::util::display::array_value_to_string(c, i).unwrap(),
                    };
                    row.insert(f.name().clone(), v);
                }
                out.push(row);
            }
        }
    }
    out
}

/// The Python with DuckDB that `make test` prepares (`CDP_TEST_PYTHON`).
pub fn duckdb_python() -> String {
    std::env::var("CDP_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("CDP_TEST_PYTHON is not set: run `make test`, which makes a venv with duckdb and sets it")
    })
}
