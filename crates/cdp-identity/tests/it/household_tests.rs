//! A household tablet between two people: `explain` shows why they are
//! apart or together; `unbind` detaches the tablet when they were wrongly
//! joined, records the split, and keeps it apart in later runs.

use cdp_config::IdentityConfig;
use cdp_model::IdType;

use crate::support::{event, event_one_ids, id, identity_map, table_rows, temp_lake, write_events};

#[tokio::test]
async fn explain_shows_the_component_and_why_each_edge_was_accepted_or_refused() {
    let (_dir, lake) = temp_lake();
    write_events(
        &lake,
        "r1",
        &[
            event(
                "a1",
                0,
                &["phone:+8613900000001", "anonymous_id:ios-a", "idfa:AAAA"],
            ),
            event(
                "b1",
                1,
                &["phone:+8613900000002", "anonymous_id:and-b", "oaid:bbbb"],
            ),
            event("a2", 2, &["phone:+8613900000001", "anonymous_id:ipad-home"]),
            event("b2", 3, &["phone:+8613900000002", "anonymous_id:ipad-home"]),
        ],
    )
    .await;
    let config = IdentityConfig::default();
    cdp_identity::resolve(&lake, &config).await.unwrap();
    let x = cdp_identity::explain(&lake, &config, &id("phone:+8613900000001"))
        .await
        .unwrap();
    let members: Vec<&str> = x.members.iter().map(|m| m.identifier.as_str()).collect();
    assert_eq!(members[0], "phone:+8613900000001", "strongest first");
    assert!(members.contains(&"anonymous_id:ipad-home"));
    assert!(!members.contains(&"phone:+8613900000002"));
    let tablet = x
        .members
        .iter()
        .find(|m| m.identifier == "anonymous_id:ipad-home")
        .unwrap();
    assert_eq!(
        (tablet.hops, tablet.via.as_deref()),
        (Some(1), Some("phone:+8613900000001"))
    );
    let refused = x
        .edges
        .iter()
        .find(|e| e.a == "phone:+8613900000002" && e.b == "anonymous_id:ipad-home")
        .expect("the other person's tablet edge is shown");
    assert!(
        refused.verdict.starts_with("refused: shared_device"),
        "{refused:?}"
    );
    assert!(x.edges.iter().any(|e| e.accepted() && e.b == "idfa:AAAA"));
    assert_eq!(x.neighbours[0].identifier, "phone:+8613900000002");
    let text = x.to_text();
    assert!(text.contains("refused: shared_device"), "{text}");
    let dot = x.to_dot();
    assert!(dot.starts_with("graph {"), "{dot}");
    assert!(
        dot.contains("color=red") && dot.contains("ipad-home"),
        "{dot}"
    );
    assert!(
        cdp_identity::explain(&lake, &config, &id("phone:+8613999999999"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn unbind_detaches_a_shared_device_records_the_split_and_keeps_it_apart() {
    let (_dir, lake) = temp_lake();
    // Two people without a device of their own log in on one tablet: the
    // rules cannot tell them from one person with two phones.
    write_events(
        &lake,
        "r1",
        &[
            event("a", 0, &["phone:+8613900000001", "anonymous_id:ipad-home"]),
            event("b", 1, &["phone:+8613900000002", "anonymous_id:ipad-home"]),
            event("t", 2, &["anonymous_id:ipad-home"]),
        ],
    )
    .await;
    let config = IdentityConfig::default();
    cdp_identity::resolve(&lake, &config).await.unwrap();
    let before = identity_map(&lake).await;
    let joined = before["phone:+8613900000001"].clone();
    assert_eq!(before["phone:+8613900000002"], joined);

    let tablet = id("anonymous_id:ipad-home");
    let outcome = cdp_identity::unbind(&lake, &config, &tablet).await.unwrap();
    assert!(outcome.changed);
    assert_eq!(outcome.from_one_id.as_deref(), Some(joined.as_str()));
    let after = identity_map(&lake).await;
    assert_eq!(
        after["phone:+8613900000001"], joined,
        "the oldest piece keeps the one_id"
    );
    let b = after["phone:+8613900000002"].clone();
    let t = after["anonymous_id:ipad-home"].clone();
    assert!(b != joined && t != joined && t != b);
    assert_eq!(outcome.to_one_id.as_deref(), Some(t.as_str()));
    let splits = table_rows(&lake, "identity_merges").await;
    assert_eq!(splits.len(), 2, "{splits:?}");
    for s in &splits {
        assert_eq!(
            (s["kind"].as_str(), s["reason"].as_str()),
            ("split", "unbind")
        );
        assert_eq!(s["from_one_id"], joined);
        assert_eq!(s["a_value"], "ipad-home");
    }
    // The tablet's own events follow it; the logins stay with each person.
    let events = event_one_ids(&lake).await;
    assert_eq!(events["t"].as_deref(), Some(t.as_str()));
    assert_eq!(events["b"].as_deref(), Some(b.as_str()));
    let rules = lake.get("identity/rules.json").await.unwrap();
    assert!(String::from_utf8_lossy(&rules).contains("ipad-home"));

    // A later login on the tablet does not join it again.
    write_events(
        &lake,
        "r2",
        &[event(
            "c",
            10,
            &[
                "phone:+8613900000002",
                "email:b@x.cn",
                "anonymous_id:ipad-home",
            ],
        )],
    )
    .await;
    let next = cdp_identity::resolve(&lake, &config).await.unwrap();
    assert_eq!(next.refused_edges.get("unbound"), Some(&1));
    let later = identity_map(&lake).await;
    assert_eq!(later["anonymous_id:ipad-home"], t);
    assert_eq!(later["phone:+8613900000002"], b);
    assert_eq!(later["email:b@x.cn"], b);
    // Asking again changes nothing.
    assert!(
        !cdp_identity::unbind(&lake, &config, &tablet)
            .await
            .unwrap()
            .changed
    );
    assert!(cdp_identity::unbind(
        &lake,
        &config,
        &cdp_model::Identifier::new(IdType::Email, "no@one.cn")
    )
    .await
    .is_err());
}
