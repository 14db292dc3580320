//! A generated 100k-person world backfilled from files: the report balances
//! exactly against the world's truth, the lake's identifiers are exactly the
//! truth's (so no junk value), DuckDB reads every table, and a second
//! identical ingest adds nothing.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use arrow::array::{Array, AsArray};
use cdp_ingest::{ingest_files, InputSpec, PipelineConfig};
use cdp_lake::parquet_io;
use cdp_lake::Lake;
use cdp_model::{IdType, JunkList};

const PERSONS: u64 = 100_000;

/// Every (id_type, id_value) of every event in the lake, and the row count.
async fn lake_identifiers(lake: &Lake) -> (BTreeSet<(String, String)>, usize) {
    let mut ids = BTreeSet::new();
    let mut rows = 0;
    for file in lake.list("events").await.unwrap() {
        let bytes = lake.get(&file).await.unwrap();
        for batch in parquet_io::decode(&file, bytes, Some(&["identifiers"])).unwrap() {
            rows += batch.num_rows();
            let lists = batch.column(0).as_list::<i32>();
            let structs = lists.values().as_struct();
            let types = structs.column(0).as_string::<i32>();
            let values = structs.column(1).as_string::<i32>();
            for i in 0..structs.len() {
                ids.insert((types.value(i).to_string(), values.value(i).to_string()));
            }
        }
    }
    (ids, rows)
}

fn truth_identifiers(world: &Path) -> BTreeSet<(String, String)> {
    let mut ids = BTreeSet::new();
    let own = std::fs::read_to_string(world.join("truth/identifiers.csv")).unwrap();
    for line in own.lines().skip(1) {
        let mut cells = line.splitn(3, ',');
        let (_person, t, v) = (cells.next(), cells.next().unwrap(), cells.next().unwrap());
        ids.insert((t.to_string(), v.to_string()));
    }
    let shared = std::fs::read_to_string(world.join("truth/shared_identifiers.csv")).unwrap();
    for line in shared.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        ids.insert((cells[0].to_string(), cells[1].to_string()));
    }
    ids
}

/// The Python with DuckDB that `make test` prepares (`CDP_TEST_PYTHON`).
fn duckdb_python() -> String {
    std::env::var("CDP_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("CDP_TEST_PYTHON is not set: run `make test`, which makes a venv with duckdb and sets it")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_world_balances_reads_back_in_duckdb_and_reingests_to_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("world");
    let summary = cdp_generate::generate(
        &cdp_generate::WorldConfig {
            persons: PERSONS,
            seed: 7,
            ..Default::default()
        },
        &world,
    )
    .unwrap();
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
    let config = PipelineConfig::default();

    let report = ingest_files(&lake, &config, InputSpec::reference_files(&world))
        .await
        .unwrap();
    assert!(report.balanced, "{}", report.to_table());
    assert_eq!(report.sources.len(), 4);
    for expected in &summary.sources {
        let got = report
            .sources
            .iter()
            .find(|s| s.source == expected.source)
            .unwrap();
        assert_eq!(got.received, expected.lines, "{}", expected.source);
        assert_eq!(got.dead_lettered, expected.malformed, "{}", expected.source);
        assert_eq!(got.duplicates, expected.duplicates, "{}", expected.source);
        assert_eq!(got.accepted, expected.accepted(), "{}", expected.source);
    }
    let accepted: u64 = report.sources.iter().map(|s| s.accepted).sum();

    let (ids, rows) = lake_identifiers(&lake).await;
    assert_eq!(rows as u64, accepted);
    let junk = JunkList::default();
    let junk_found: Vec<_> = ids
        .iter()
        .filter(|(t, v)| junk.is_junk(t.parse::<IdType>().unwrap(), v))
        .take(5)
        .collect();
    assert!(
        junk_found.is_empty(),
        "junk identifiers in the lake: {junk_found:?}"
    );
    let truth = truth_identifiers(&world);
    assert_eq!(
        ids.len(),
        truth.len(),
        "distinct identifiers: lake vs truth"
    );
    assert!(
        ids == truth,
        "the lake's identifiers differ from the truth's"
    );

    // DuckDB reads every table with nothing beyond hive_partitioning.
    let root = lake.local_path().unwrap();
    let script = format!(
        r#"
import duckdb, json
root = {root:?}
# No progress bar: stdout carries the JSON answer, and a slow query would
# otherwise draw one there.
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
ev = con.execute(f"select count(*), count(distinct source || event_id), min(event_time) is not null, sum(len(identifiers)) > 0 from read_parquet('{{root}}/events/*/*/*.parquet', hive_partitioning=true)").fetchone()
sources = sorted(r[0] for r in con.execute(f"select distinct source from read_parquet('{{root}}/events/*/*/*.parquet', hive_partitioning=true)").fetchall())
dt_type = con.execute(f"select typeof(dt) from read_parquet('{{root}}/events/*/*/*.parquet', hive_partitioning=true) limit 1").fetchone()[0]
dlq = con.execute(f"select count(*), count(*) filter (where reason <> '') from read_parquet('{{root}}/dlq/*/*.parquet', hive_partitioning=true)").fetchone()
amount = con.execute(f"select typeof(amount) from read_parquet('{{root}}/events/source=transaction/*/*.parquet', hive_partitioning=true) limit 1").fetchone()[0]
print(json.dumps({{"events": ev[0], "distinct": ev[1], "times": ev[2], "ids": ev[3], "sources": sources, "dt": dt_type, "dlq": dlq[0], "dlq_reasons": dlq[1], "amount": amount}}))
"#,
        root = root.display().to_string()
    );
    let out = Command::new(duckdb_python())
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "duckdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(read["events"].as_u64(), Some(accepted), "{read}");
    assert_eq!(read["distinct"].as_u64(), Some(accepted), "{read}");
    assert_eq!(read["times"], true);
    assert_eq!(read["ids"], true);
    assert_eq!(
        read["sources"],
        serde_json::json!(["ad", "offline", "online", "transaction"])
    );
    assert_eq!(read["amount"], "DECIMAL(18,2)");
    let dead: u64 = report.sources.iter().map(|s| s.dead_lettered).sum();
    assert_eq!(read["dlq"].as_u64(), Some(dead), "{read}");
    assert_eq!(read["dlq_reasons"].as_u64(), Some(dead), "{read}");

    // The same files again: everything is a duplicate or a known dead letter.
    let files_before = lake.list("").await.unwrap().len();
    let again = ingest_files(&lake, &config, InputSpec::reference_files(&world))
        .await
        .unwrap();
    assert!(again.balanced);
    assert_eq!(again.sources.iter().map(|s| s.accepted).sum::<u64>(), 0);
    assert_eq!(again.files_written, 0);
    let (_, rows_after) = lake_identifiers(&lake).await;
    assert_eq!(rows_after, rows);
    // Only the second run's report is new.
    assert_eq!(lake.list("").await.unwrap().len(), files_before + 1);
}
