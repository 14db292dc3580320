//! Load, reload, more data, rewritten partitions: what reaches ClickHouse is
//! exactly the lake, never twice, and only what changed is sent.

use std::collections::{BTreeMap, BTreeSet};

use cdp_clickhouse::ledger::Action;
use cdp_clickhouse::{load, LoadOptions, LoadReport, Outcome, Server, TableReport};

use crate::stand_in_identity::StandInResolver;
use crate::{drop_database, fresh_server, number, World};

fn table<'a>(report: &'a LoadReport, name: &str) -> &'a TableReport {
    report.tables.iter().find(|t| t.table == name).unwrap()
}

/// Rows, rows under FINAL, and the sum of one_key of resolved_events.
async fn events_in_clickhouse(server: &Server) -> (u64, u64, i64) {
    let rows = number(server, "SELECT count() FROM resolved_events").await;
    let final_rows = number(server, "SELECT count() FROM resolved_events FINAL").await;
    let key_sum: i64 = server
        .client()
        .query("SELECT toInt64(sum(ifNull(one_key, 0))) FROM resolved_events")
        .fetch_one()
        .await
        .unwrap();
    (rows, final_rows, key_sum)
}

async fn pending_steps(server: &Server) -> u64 {
    number(
        server,
        "SELECT count() FROM (SELECT table_name, month, load_version, groupArray(state) AS states \
         FROM _cdp_load_log GROUP BY table_name, month, load_version) WHERE NOT has(states, 'done')",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_reload_more_data_and_a_merge_reach_clickhouse_exactly_once() {
    let world = World::ingested(1_500, 11).await;
    let lake = world.lake();
    let mut resolver = StandInResolver::new(&world.lake_path());
    let server = fresh_server("cdp_it_load").await;
    let no_merge = BTreeMap::new();

    // 1. The first half of the year.
    let first = resolver.resolve_stand_in("r1", |_, dt| dt < "2026-07-15", &no_merge);
    assert!(
        first.rows() > 5_000,
        "a world too small to test: {}",
        first.rows()
    );
    let report = load(&server, &lake, &LoadOptions::default())
        .await
        .expect("first load");
    assert!(
        report.migrations_applied.len() >= 9,
        "{:?}",
        report.migrations_applied
    );
    let events = table(&report, "resolved_events");
    assert_eq!(events.outcome, Outcome::Loaded);
    assert_eq!(events.rows_loaded, first.rows());
    assert!(
        events.months.iter().all(|(_, a)| *a == Action::Append),
        "{:?}",
        events.months
    );
    assert_eq!(
        events_in_clickhouse(&server).await,
        (first.rows(), first.rows(), first.key_sum())
    );
    let map_rows = number(&server, "SELECT count() FROM identity_map").await;
    assert!(map_rows > 0);
    assert_eq!(
        number(&server, "SELECT count() FROM identity_map FINAL").await,
        map_rows
    );
    assert_eq!(table(&report, "profiles").outcome, Outcome::NotInLake);
    let v1 = report.load_version;
    assert_eq!(
        number(
            &server,
            &format!("SELECT count() FROM resolved_events WHERE _load_version = {v1}")
        )
        .await,
        first.rows()
    );

    // 2. The same lake again: nothing to send, nothing doubled.
    let again = load(&server, &lake, &LoadOptions::default())
        .await
        .expect("reload");
    assert!(again.migrations_applied.is_empty());
    for t in &again.tables {
        assert_ne!(
            t.outcome,
            Outcome::Loaded,
            "{}: reloaded an unchanged lake",
            t.table
        );
        assert_eq!(t.rows_loaded, 0);
    }
    assert_eq!(
        events_in_clickhouse(&server).await,
        (first.rows(), first.rows(), first.key_sum())
    );

    // 3. A full reload replaces every month and table: same rows, once each.
    let full = load(&server, &lake, &LoadOptions { full_reload: true })
        .await
        .expect("full reload");
    assert_eq!(table(&full, "resolved_events").rows_loaded, first.rows());
    assert!(table(&full, "resolved_events")
        .months
        .iter()
        .all(|(_, a)| *a == Action::Replace));
    assert_eq!(
        events_in_clickhouse(&server).await,
        (first.rows(), first.rows(), first.key_sum())
    );
    assert_eq!(
        number(&server, "SELECT count() FROM identity_map FINAL").await,
        map_rows
    );
    assert_eq!(
        number(
            &server,
            &format!(
                "SELECT count() FROM resolved_events WHERE _load_version = {}",
                full.load_version
            )
        )
        .await,
        first.rows()
    );

    // 4. More data: the rest of the year. Only the new partitions' rows travel,
    //    and the month cut in two gets the new days appended.
    let all = resolver.resolve_stand_in("r2", |_, _| true, &no_merge);
    let new_rows = all.rows_of(&all.written);
    assert!(new_rows > 0 && new_rows < all.rows());
    let more = load(&server, &lake, &LoadOptions::default())
        .await
        .expect("load more");
    let events = table(&more, "resolved_events");
    assert_eq!(events.rows_loaded, new_rows);
    assert_eq!(events.files_loaded, all.written.len());
    assert!(
        events.months.iter().all(|(_, a)| *a == Action::Append),
        "{:?}",
        events.months
    );
    assert!(
        events.months.iter().any(|(m, _)| *m == 202607),
        "July was cut in two: {:?}",
        events.months
    );
    assert_eq!(
        number(
            &server,
            &format!(
                "SELECT count() FROM resolved_events WHERE _load_version = {}",
                more.load_version
            )
        )
        .await,
        new_rows
    );
    assert_eq!(
        events_in_clickhouse(&server).await,
        (all.rows(), all.rows(), all.key_sum())
    );

    // 5. The identity stage merges person 1 into person 2: every partition
    //    holding person 1 is rewritten in the lake; those months are rebuilt
    //    and replaced, the others untouched.
    let merged = resolver.resolve_stand_in("r3", |_, _| true, &BTreeMap::from([(1, 2)]));
    assert!(!merged.written.is_empty() && merged.written.len() < merged.files.len());
    let rewritten_months: BTreeSet<u32> = merged
        .written
        .iter()
        .map(|f| cdp_clickhouse::lake_files::month_of(f).unwrap())
        .collect();
    let after_merge = load(&server, &lake, &LoadOptions::default())
        .await
        .expect("load after merge");
    let events = table(&after_merge, "resolved_events");
    let replaced: BTreeSet<u32> = events
        .months
        .iter()
        .map(|(m, a)| {
            assert_eq!(*a, Action::Replace);
            *m
        })
        .collect();
    assert_eq!(replaced, rewritten_months);
    assert_eq!(
        events.rows_loaded,
        merged.rows_of(&merged.written),
        "only the rewritten partitions are read"
    );
    assert_eq!(
        events_in_clickhouse(&server).await,
        (merged.rows(), merged.rows(), merged.key_sum())
    );
    assert_eq!(
        number(
            &server,
            "SELECT count() FROM resolved_events WHERE one_key = 1"
        )
        .await,
        0
    );
    assert_eq!(pending_steps(&server).await, 0);
    assert_eq!(
        number(
            &server,
            &format!(
            "SELECT count() FROM system.tables WHERE database = '{}' AND name LIKE '_cdp_stage_%'",
            server.config().database
        )
        )
        .await,
        0,
        "staging tables left behind"
    );
    drop_database(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lake_column_the_table_lacks_is_refused_by_name() {
    // identity_map without one_key: the lake and the migration disagree.
    let dir = tempfile::tempdir().unwrap();
    let lake = cdp_lake::Lake::open(dir.path().to_str().unwrap()).unwrap();
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("id_type", arrow::datatypes::DataType::Utf8, false),
    ]));
    let batch = arrow::array::RecordBatch::try_new(
        schema.clone(),
        vec![std::sync::Arc::new(arrow::array::StringArray::from(vec![
            "phone",
        ]))],
    )
    .unwrap();
    let bytes = cdp_lake::parquet_io::encode("x", schema, &[batch]).unwrap();
    lake.put("identity_map/part-x-0.parquet", bytes)
        .await
        .unwrap();
    let server = fresh_server("cdp_it_badcol").await;
    let err = load(&server, &lake, &LoadOptions::default())
        .await
        .expect_err("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("identity_map") && msg.contains("`id_value`"),
        "{msg}"
    );
    assert_eq!(err.fault(), cdp_clickhouse::Fault::Input);
    assert_eq!(number(&server, "SELECT count() FROM identity_map").await, 0);
    drop_database(&server).await;
}
