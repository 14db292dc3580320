//! Each rule of `[identity]` on a small lake: junk (built in and extended by
//! config, also after the fact), per-type limits with both sides recorded,
//! the hot-value detector, strong edges before weak ones, the cap.

use cdp_config::IdentityConfig;

use crate::support::{event, identity_map, table_rows, temp_lake, write_events};

#[tokio::test]
async fn junk_values_never_reach_identity_map_even_when_the_lake_holds_them() {
    let (_dir, lake) = temp_lake();
    // Written as they are: an older pipeline or a mapped source let them in.
    write_events(
        &lake,
        "r1",
        &[
            event("e1", 0, &["phone:+8613800000000", "member_id:M1"]),
            event("e2", 1, &["phone:+8613800000000", "member_id:M2"]),
            event("e3", 2, &["openid:unknown", "member_id:M3"]),
            event("e4", 3, &["openid:NULL", "member_id:M4"]),
        ],
    )
    .await;
    let summary = cdp_identity::resolve(&lake, &IdentityConfig::default())
        .await
        .unwrap();
    let map = identity_map(&lake).await;
    assert!(!map.contains_key("phone:+8613800000000"));
    assert!(!map.contains_key("openid:unknown") && !map.contains_key("openid:NULL"));
    let ids: std::collections::BTreeSet<_> = [
        "member_id:M1",
        "member_id:M2",
        "member_id:M3",
        "member_id:M4",
    ]
    .iter()
    .map(|m| map[*m].clone())
    .collect();
    assert_eq!(ids.len(), 4, "the placeholder mobile merged nobody");
    assert_eq!(summary.excluded_identifiers.get("junk"), Some(&3));
}

#[tokio::test]
async fn a_value_declared_junk_later_leaves_the_graph_as_a_recorded_split() {
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
    cdp_identity::resolve(&lake, &IdentityConfig::default())
        .await
        .unwrap();
    let before = identity_map(&lake).await;
    assert_eq!(before["member_id:M1"], before["email:a@x.cn"]);

    // The brand finds its test phone in real data and adds it to [junk].
    let config = IdentityConfig {
        junk_extra: vec!["phone:139 1234 5678".into()],
        ..Default::default()
    };
    let summary = cdp_identity::resolve(&lake, &config).await.unwrap();
    let after = identity_map(&lake).await;
    assert!(!after.contains_key("phone:+8613912345678"));
    assert_eq!(
        after["member_id:M1"], before["member_id:M1"],
        "the oldest piece keeps the one_id"
    );
    assert_ne!(after["email:a@x.cn"], after["member_id:M1"]);
    assert_eq!(summary.splits, 1);
    let splits = table_rows(&lake, "identity_merges").await;
    assert_eq!(splits.len(), 1);
    assert_eq!(splits[0]["kind"], "split");
    assert_eq!(splits[0]["reason"], "junk");
    assert_eq!(splits[0]["from_one_id"], before["member_id:M1"]);
    assert_eq!(splits[0]["to_one_id"], after["email:a@x.cn"]);
}

#[tokio::test]
async fn a_store_phone_typed_for_every_walk_in_is_hot_and_joins_nobody() {
    let (_dir, lake) = temp_lake();
    let store = "phone:+8613911112222";
    let events: Vec<_> = (0..12)
        .flat_map(|i| {
            let card = format!("member_id:M{i:03}");
            let own = format!("phone:+86139000001{i:02}");
            [
                event(&format!("walk-in-{i}"), i, &[store, &card]),
                event(&format!("signup-{i}"), 100 + i, &[&card, &own]),
            ]
        })
        .collect();
    write_events(&lake, "r1", &events).await;
    let summary = cdp_identity::resolve(&lake, &IdentityConfig::default())
        .await
        .unwrap();
    assert_eq!(summary.hot_values_found, 1);
    let map = identity_map(&lake).await;
    assert!(!map.contains_key(store));
    assert_eq!(map["member_id:M000"], map["phone:+8613900000100"]);
    let one_ids: std::collections::BTreeSet<_> = (0..12)
        .map(|i| map[&format!("member_id:M{i:03}")].clone())
        .collect();
    assert_eq!(one_ids.len(), 12);
    let conflicts = table_rows(&lake, "identity_conflicts").await;
    let hot: Vec<_> = conflicts
        .iter()
        .filter(|c| c["reason"] == "hot_value")
        .collect();
    assert_eq!(hot.len(), 1);
    assert_eq!(hot[0]["a_value"], "+8613911112222");
    assert!(
        hot[0]["detail"].contains("12 distinct member_id"),
        "{:?}",
        hot[0]
    );
    // The walk-in events belong to each member.
    let events = crate::support::event_one_ids(&lake).await;
    assert_eq!(
        events["walk-in-3"].as_deref(),
        Some(map["member_id:M003"].as_str())
    );
}

#[tokio::test]
async fn a_limit_refuses_the_edge_and_records_both_sides() {
    let (_dir, lake) = temp_lake();
    write_events(
        &lake,
        "r1",
        &[
            event("e1", 0, &["member_id:M1", "unionid:oU-1"]),
            event("e2", 1, &["member_id:M2", "unionid:oU-1"]),
        ],
    )
    .await;
    let summary = cdp_identity::resolve(&lake, &IdentityConfig::default())
        .await
        .unwrap();
    assert_eq!(summary.refused_edges.get("limit:member_id"), Some(&1));
    let map = identity_map(&lake).await;
    assert_eq!(map["member_id:M1"], map["unionid:oU-1"]);
    assert_ne!(map["member_id:M2"], map["unionid:oU-1"]);
    let c = &table_rows(&lake, "identity_conflicts").await[0];
    assert_eq!(c["reason"], "limit:member_id");
    assert_eq!(
        (c["a_type"].as_str(), c["a_value"].as_str()),
        ("member_id", "M2")
    );
    assert_eq!(
        (c["b_type"].as_str(), c["b_value"].as_str()),
        ("unionid", "oU-1")
    );
    assert_eq!(c["a_one_id"], map["member_id:M2"]);
    assert_eq!(c["b_one_id"], map["unionid:oU-1"]);
    assert!(c["detail"].contains("2 member_id > limit 1"), "{c:?}");
}

#[tokio::test]
async fn limits_and_the_cap_come_from_config() {
    let (_dir, lake) = temp_lake();
    let events: Vec<_> = (0..6)
        .map(|i| {
            event(
                &format!("e{i}"),
                i,
                &["email:a@x.cn", &format!("anonymous_id:cookie-{i}")],
            )
        })
        .collect();
    write_events(&lake, "r1", &events).await;
    let mut config = IdentityConfig::default();
    config.limits.insert("anonymous_id".into(), 3);
    config.max_identifiers = 3;
    let summary = cdp_identity::resolve(&lake, &config).await.unwrap();
    // The email and two cookies fill the cap before the anonymous_id limit.
    assert_eq!(summary.largest_size, 3);
    assert_eq!(summary.refused_edges.get("cap"), Some(&4));
}
