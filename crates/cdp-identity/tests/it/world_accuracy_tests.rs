//! The acceptance test on a generated 100k-person world with its traps
//! (household tablets, store phones typed for walk-ins next to member cards,
//! placeholder mobiles, coupon hunters with 2–4 phones on one device):
//! pairwise precision ≥ 0.99 and recall ≥ 0.95 against what is linkable at
//! all, no junk value and no shared store phone in identity_map, no one_id
//! over the limits; a second resolve gives the same identity_map; outside
//! readers (DuckDB) read the tables as they are.

use std::process::Command;

use arrow::array::AsArray;
use cdp_config::IdentityConfig;
use cdp_lake::{parquet_io, Lake};

use crate::support::{copy_events, duckdb_python, identity_map, resolved_rows, world};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100k_world_resolves_precisely_and_the_same_twice() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    copy_events(&w.lake, &dir.path().join("lake"), |_| true);
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
    let config = IdentityConfig::default();

    let first = cdp_identity::resolve(&lake, &config).await.unwrap();
    assert!(first.events_read > 900_000, "{first}");
    assert!(
        first.hot_values_found >= 3,
        "the store phones (and their hashes) are hot: {first}"
    );
    assert!(first.refused_edges.contains_key("shared_device"), "{first}");
    assert!(first.largest_size <= 50);

    let report = cdp_identity::eval(&lake, &config, &w.truth).await.unwrap();
    println!("{report}");
    assert!(report.precision >= 0.99, "{report}");
    assert!(report.recall >= 0.95, "{report}");
    assert_eq!(report.junk_in_map, 0, "{report}");
    assert!(report.over_limits.is_empty(), "{:?}", report.over_limits);
    assert_eq!(
        report.shared_in_map.get("store_phone"),
        None,
        "store phones are excluded: {report}"
    );
    assert!(report.items_in_map >= report.items * 99 / 100, "{report}");

    // Every event is resolved once; a partition's rows in the order of its
    // events files (resolve copies their column chunks as they are).
    let files = resolved_rows(&lake).await;
    let rows: usize = files.iter().map(|(_, r)| r.len()).sum();
    assert_eq!(rows as u64, first.events_read);
    let events_files = lake.list("events").await.unwrap();
    for (file, rows) in &files {
        let partition = file
            .strip_prefix("resolved_events/")
            .and_then(|f| f.rsplit_once('/'))
            .unwrap()
            .0;
        let mut expected = Vec::new();
        for events_file in events_files
            .iter()
            .filter(|f| f.starts_with(&format!("events/{partition}/")))
        {
            let bytes = lake.get(events_file).await.unwrap();
            for b in parquet_io::decode(events_file, bytes, Some(&["event_id"])).unwrap() {
                let ids = b.column(0).as_string::<i32>();
                expected.extend(ids.iter().map(|e| e.unwrap().to_string()));
            }
        }
        let got: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
        assert_eq!(got, expected, "{file}: not its events files' rows in order");
    }

    // Resolve again with nothing new: the same map, row for row.
    let map = identity_map(&lake).await;
    let second = cdp_identity::resolve(&lake, &config).await.unwrap();
    assert_eq!(second.events_read, 0);
    assert_eq!(second.merges + second.splits, 0);
    assert_eq!(identity_map(&lake).await, map);
    assert_eq!(resolved_rows(&lake).await.len(), files.len());

    // DuckDB reads identity_map and resolved_events as they are.
    let root = dir.path().join("lake");
    let script = format!(
        r#"
import duckdb, json
root = {root:?}
con = duckdb.connect()
m = con.execute(f"select count(*), count(distinct one_key), min(one_key), typeof(min(first_seen)) from read_parquet('{{root}}/identity_map/*.parquet')").fetchone()
r = con.execute(f"select count(*), count(one_key), typeof(min(dt)), count(distinct one_id) from read_parquet('{{root}}/resolved_events/*/*/*.parquet', hive_partitioning=true)").fetchone()
print(json.dumps({{"map_rows": m[0], "one_ids": m[1], "min_key": m[2], "ts": m[3], "events": r[0], "keyed": r[1], "dt": r[2], "event_one_ids": r[3]}}))
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
        "duckdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(read["map_rows"].as_u64(), Some(map.len() as u64), "{read}");
    assert_eq!(read["one_ids"].as_u64(), Some(first.one_ids), "{read}");
    assert_eq!(read["min_key"].as_i64(), Some(1), "{read}");
    assert_eq!(read["events"].as_u64(), Some(first.events_read), "{read}");
    // Events without an identifier have no one_key, nor do the few whose
    // identifiers are all excluded (a store phone typed alone for a walk-in).
    let with_ids = first.events_read - first.events_without_identifier;
    let keyed = read["keyed"].as_u64().unwrap();
    assert!(
        keyed <= with_ids && keyed >= with_ids * 995 / 1000,
        "{read}"
    );
    assert_eq!(read["dt"], "DATE", "{read}");
}
