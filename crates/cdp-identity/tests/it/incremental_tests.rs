//! Incremental runs: the lake gets new days of events after a resolve; the
//! next resolve reads only the new files and keeps every existing one_id —
//! except those absorbed by a merge it records in identity_merges (the older,
//! smaller key survives).

use std::collections::BTreeMap;

use cdp_config::IdentityConfig;
use cdp_lake::Lake;

use crate::support::{copy_events, event_one_ids, identity_map, table_rows, world};

/// The last month of the world arrives after the first resolve.
const LATER: &str = "2026-11-01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_month_resolved_incrementally_keeps_every_one_id_except_recorded_merges() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lake");
    let earlier = copy_events(&w.lake, &root, |dt| dt < LATER);
    let lake = Lake::open(root.to_str().unwrap()).unwrap();
    let config = IdentityConfig::default();
    let first = cdp_identity::resolve(&lake, &config).await.unwrap();
    assert_eq!(first.events_files_read as usize, earlier);
    let before = identity_map(&lake).await;
    let events_before = event_one_ids(&lake).await;

    let later = copy_events(&w.lake, &root, |dt| dt >= LATER);
    assert!(later > 0);
    let second = cdp_identity::resolve(&lake, &config).await.unwrap();
    assert_eq!(
        second.events_files_read as usize, later,
        "only the new files are read"
    );
    assert!(
        second.new_identifiers > 0 && second.new_one_ids > 0,
        "{second}"
    );
    let after = identity_map(&lake).await;

    // Merges recorded in this run: absorbed → survivor (older, smaller key).
    let merges = table_rows(&lake, "identity_merges").await;
    let mut absorbed: BTreeMap<String, String> = BTreeMap::new();
    for m in &merges {
        assert_eq!(m["run_id"], second.run_id);
        assert_eq!(m["kind"], "merge", "{m:?}");
        assert!(
            m["from_one_key"].parse::<i64>().unwrap() > m["to_one_key"].parse::<i64>().unwrap(),
            "{m:?}"
        );
        assert!(
            !m["a_value"].is_empty() && !m["b_value"].is_empty(),
            "the edge is recorded: {m:?}"
        );
        absorbed.insert(m["from_one_id"].clone(), m["to_one_id"].clone());
    }
    assert_eq!(merges.len() as u64, second.merges);
    assert!(
        !merges.is_empty(),
        "a month of registrations joins some earlier anonymous one_ids"
    );
    let follow = |mut id: String| {
        while let Some(next) = absorbed.get(&id) {
            id = next.clone();
        }
        id
    };
    let mut kept = 0;
    for (identifier, old) in &before {
        let now = after
            .get(identifier)
            .unwrap_or_else(|| panic!("{identifier} left identity_map"));
        if now == old {
            kept += 1;
        } else {
            assert_eq!(
                now,
                &follow(old.clone()),
                "{identifier}: {old} became {now} without a recorded merge"
            );
        }
    }
    assert!(kept > before.len() * 9 / 10);

    // Resolved events follow: old events keep their one_id or its survivor.
    let events_after = event_one_ids(&lake).await;
    for (event, old) in &events_before {
        let now = &events_after[event];
        match (old, now) {
            (Some(o), Some(n)) => assert_eq!(n, &follow(o.clone()), "event {event}"),
            (None, None) => {}
            other => panic!("event {event}: {other:?}"),
        }
    }
    assert_eq!(
        events_after.len() as u64,
        first.events_read + second.events_read
    );
}

/// A resolve run on a schedule often finds nothing new: it keeps the
/// outputs as they are instead of rewriting them, and the next run with
/// new events writes them again.
#[tokio::test]
async fn a_resolve_with_nothing_new_keeps_every_output_as_it_is() {
    use cdp_identity::state::Manifest;

    use crate::support::{event, temp_lake, write_events};

    let (_dir, lake) = temp_lake();
    write_events(
        &lake,
        "r1",
        &[
            event("e1", 0, &["phone:+8613912345678", "member_id:M1"]),
            event("e2", 1, &["phone:+8613912345678", "email:a@x.cn"]),
        ],
    )
    .await;
    let config = IdentityConfig::default();
    cdp_identity::resolve(&lake, &config).await.unwrap();
    let first = Manifest::load(&lake).await.unwrap().unwrap();
    let map = identity_map(&lake).await;

    let again = cdp_identity::resolve(&lake, &config).await.unwrap();
    let second = Manifest::load(&lake).await.unwrap().unwrap();
    assert_ne!(second.run_id, first.run_id, "the run is recorded");
    assert_eq!(second.identity_map, first.identity_map);
    assert_eq!(second.resolved_events, first.resolved_events);
    assert_eq!(
        (&second.state.nodes, &second.state.sets),
        (&first.state.nodes, &first.state.sets)
    );
    assert_eq!(again.resolved_partitions_written, 0);
    assert_eq!(again.one_ids, 1);
    // Still there: the sweep keeps what the manifest names.
    assert_eq!(identity_map(&lake).await, map);

    write_events(
        &lake,
        "r2",
        &[event("e3", 2, &["email:a@x.cn", "openid:o-1"])],
    )
    .await;
    let third = cdp_identity::resolve(&lake, &config).await.unwrap();
    let after = Manifest::load(&lake).await.unwrap().unwrap();
    assert_ne!(after.identity_map, first.identity_map);
    assert_ne!(after.state.nodes, first.state.nodes);
    assert_eq!(third.new_identifiers, 1);
    let map = identity_map(&lake).await;
    assert_eq!(map["openid:o-1"], map["member_id:M1"]);
}
