//! resolved_events: every event once, with the one_id of its strongest
//! identifier when its identifiers ended in two one_ids, null without one;
//! one file per partition; only the partitions a change touches are
//! rewritten.

use cdp_config::IdentityConfig;

use crate::support::{event, event_one_ids, identity_map, resolved_rows, temp_lake, write_events};

#[tokio::test]
async fn an_event_split_by_a_refused_edge_belongs_to_its_strongest_identifier() {
    let (_dir, lake) = temp_lake();
    write_events(
        &lake,
        "r1",
        &[
            event("own", 0, &["member_id:M1", "phone:+8613900000001"]),
            // M2 cannot join M1's one_id (one member card per person): the
            // event's identifiers end in two one_ids; member_id outranks phone.
            event("shared", 5, &["member_id:M2", "phone:+8613900000001"]),
            // Anonymous only: the device's own one_id.
            event("anon", 6, &["anonymous_id:wxa-9"]),
            event("nobody", 7, &[]),
        ],
    )
    .await;
    cdp_identity::resolve(&lake, &IdentityConfig::default())
        .await
        .unwrap();
    let map = identity_map(&lake).await;
    let events = event_one_ids(&lake).await;
    assert_eq!(events["own"].as_deref(), Some(map["member_id:M1"].as_str()));
    assert_eq!(
        events["shared"].as_deref(),
        Some(map["member_id:M2"].as_str())
    );
    assert_ne!(map["member_id:M2"], map["phone:+8613900000001"]);
    assert_eq!(
        events["anon"].as_deref(),
        Some(map["anonymous_id:wxa-9"].as_str())
    );
    assert_eq!(events["nobody"], None);
    // One partition, one file, one_key then time, the event without one last.
    let files = resolved_rows(&lake).await;
    assert_eq!(files.len(), 1);
    let (file, rows) = &files[0];
    assert!(
        file.starts_with("resolved_events/source=online/dt=2026-03-01/part-"),
        "{file}"
    );
    let keys: Vec<Option<i64>> = rows.iter().map(|r| r.0).collect();
    assert_eq!(keys.last(), Some(&None));
    assert!(keys[..3].windows(2).all(|w| w[0] <= w[1]));
}

#[tokio::test]
async fn a_merge_rewrites_only_the_partitions_that_hold_the_absorbed_one_id() {
    let (_dir, lake) = temp_lake();
    let day = 24 * 60;
    write_events(
        &lake,
        "r1",
        &[
            event("a-day1", 0, &["anonymous_id:wxa-1"]),
            event("b-day2", day, &["member_id:M9", "phone:+8613900000009"]),
            event("c-day3", 2 * day, &["member_id:M5"]),
        ],
    )
    .await;
    cdp_identity::resolve(&lake, &IdentityConfig::default())
        .await
        .unwrap();
    let before = resolved_rows(&lake).await;
    assert_eq!(before.len(), 3);
    let map = identity_map(&lake).await;
    // The anonymous visitor of day 1 registers on day 4 with M9's phone.
    write_events(
        &lake,
        "r2",
        &[event(
            "d-day4",
            3 * day,
            &["anonymous_id:wxa-1", "phone:+8613900000009"],
        )],
    )
    .await;
    let summary = cdp_identity::resolve(&lake, &IdentityConfig::default())
        .await
        .unwrap();
    assert_eq!(summary.merges, 1);
    // The visitor's one_id is older and survives: day 2 (the absorbed
    // one_id's events) and day 4 (new) are rewritten; days 1 and 3 are not.
    assert_eq!(summary.resolved_partitions_written, 2);
    let after = resolved_rows(&lake).await;
    let names =
        |v: &crate::support::ResolvedFiles| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    let (b, a) = (names(&before), names(&after));
    assert_eq!(a.len(), 4);
    assert!(
        a.contains(&b[0]) && a.contains(&b[2]) && !a.contains(&b[1]),
        "{b:?} → {a:?}"
    );
    let events = event_one_ids(&lake).await;
    let older = map["member_id:M9"]
        .clone()
        .min(map["anonymous_id:wxa-1"].clone());
    assert_eq!(events["a-day1"].as_deref(), Some(older.as_str()));
    assert_eq!(events["b-day2"].as_deref(), Some(older.as_str()));
    // The old files are gone from the lake, not only from the manifest.
    let on_disk = lake.list("resolved_events").await.unwrap();
    assert_eq!(on_disk, a);
}
