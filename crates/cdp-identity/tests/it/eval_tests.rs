//! `cdp eval` on a tiny world whose pair counts are known by hand.

use cdp_config::IdentityConfig;

use crate::support::{event, temp_lake, write_events};

#[tokio::test]
async fn eval_counts_pairs_against_what_is_linkable() {
    let (dir, lake) = temp_lake();
    let truth = dir.path().join("truth");
    std::fs::create_dir_all(&truth).unwrap();
    std::fs::write(
        truth.join("identifiers.csv"),
        "person_id,id_type,id_value\n\
         P1,member_id,M1\nP1,phone,+8613900000001\nP1,oaid_md5,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\
         P2,member_id,M2\nP2,phone,+8613900000002\n\
         P3,member_id,M3\nP3,anonymous_id,tab\n\
         P4,member_id,M4\nP4,anonymous_id,tab\n",
    )
    .unwrap();
    std::fs::write(
        truth.join("shared_identifiers.csv"),
        "id_type,id_value,reason\nanonymous_id,tab,household_tablet\n",
    )
    .unwrap();
    write_events(
        &lake,
        "r1",
        &[
            event("1", 0, &["member_id:M1", "phone:+8613900000001"]),
            // P1's ad device never appears next to P1's other ids: not linkable.
            event("2", 1, &["oaid_md5:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]),
            event("3", 2, &["member_id:M2", "phone:+8613900000002"]),
            // The tablet joins P3 and P4 (neither has a device of its own).
            event("4", 3, &["member_id:M3", "anonymous_id:tab"]),
            event("5", 4, &["member_id:M4", "anonymous_id:tab"]),
        ],
    )
    .await;
    let mut config = IdentityConfig::default();
    // Let the tablet merge them: a member card limit of 2.
    config.limits.insert("member_id".into(), 2);
    cdp_identity::resolve(&lake, &config).await.unwrap();
    let r = cdp_identity::eval(&lake, &config, &truth).await.unwrap();
    // Items: M1, phone1, oaid1, M2, phone2, M3, M4 (the tablet is shared).
    assert_eq!(r.items, 7);
    assert_eq!(r.persons, 4);
    // Predicted pairs: {M1,phone1}, {M2,phone2}, {M3,M4} = 3; correct 2.
    assert_eq!((r.predicted_pairs, r.correct_pairs), (3, 2));
    assert!((r.precision - 2.0 / 3.0).abs() < 1e-9);
    // Linkable: {M1,phone1}, {M2,phone2}: 2 pairs, both found.
    assert_eq!((r.linkable_pairs, r.linkable_pairs_found), (2, 2));
    assert_eq!(r.recall, 1.0);
    // All pairs of one person: P1 has 3 → 3 pairs, P2 1: 4; 2 found.
    assert_eq!((r.truth_pairs, r.truth_pairs_found), (4, 2));
    assert_eq!(r.mixed_one_ids, 1);
    assert_eq!(r.junk_in_map, 0);
    assert!(r.over_limits.is_empty());
    // Against the default limits the one_id over them is reported.
    let strict = cdp_identity::eval(&lake, &IdentityConfig::default(), &truth)
        .await
        .unwrap();
    assert_eq!(strict.over_limits.len(), 1, "{:?}", strict.over_limits);
    assert_eq!(strict.shared_in_map.get("household_tablet"), Some(&1));
}
