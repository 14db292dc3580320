//! Tags on the hand-computed fixture: lifecycle, RFM classes, value tiers,
//! a configured multi-valued group, and exclusive-group coverage.

use std::collections::BTreeMap;

use cdp_config::PipelineConfig;

use crate::support::{read_table, rows_by_name};

/// tag_group → (one_key → tags).
async fn tags_by_group(lake: &cdp_lake::Lake) -> BTreeMap<String, BTreeMap<i64, Vec<String>>> {
    let mut out: BTreeMap<String, BTreeMap<i64, Vec<String>>> = BTreeMap::new();
    for row in rows_by_name(&read_table(lake, "tags").await) {
        assert_eq!(row["one_id"], format!("OID{:0>12}", row["one_key"]));
        out.entry(row["tag_group"].clone())
            .or_default()
            .entry(row["one_key"].parse().unwrap())
            .or_default()
            .push(row["tag"].clone());
    }
    out
}

fn single(group: &BTreeMap<i64, Vec<String>>) -> Vec<(i64, &str)> {
    group
        .iter()
        .map(|(k, tags)| {
            assert_eq!(
                tags.len(),
                1,
                "one_key {k} has {tags:?} in an exclusive group"
            );
            (*k, tags[0].as_str())
        })
        .collect()
}

#[tokio::test]
async fn lifecycle_rfm_and_value_tiers_match_the_hand_computed_fixture() {
    let (_dir, lake, report) = crate::fixture_build(&PipelineConfig::default()).await;
    let tags = tags_by_group(&lake).await;

    assert_eq!(
        single(&tags["lifecycle"]),
        [
            (1, "prospect"),
            (2, "new_member"),
            (3, "first_purchase"),
            (4, "repeat"),
            (5, "loyal"),
            (6, "dormant"),
            (7, "churned"),
            (8, "new_member"),
            (9, "prospect"),
        ]
    );

    // Medians over the 5 customers: 11 days, 1 order, 120.00 yuan; high is
    // strictly better than the median.
    assert_eq!(report.thresholds.rfm_recency_days, Some(11.0));
    assert_eq!(report.thresholds.rfm_frequency_orders, Some(1.0));
    assert_eq!(report.thresholds.rfm_monetary_yuan, Some(120.0));
    assert_eq!(
        single(&tags["rfm"]),
        [
            (1, "no_purchase"),
            (2, "no_purchase"),
            (3, "general_development"), // 10 days, 1 order, 100.00
            (4, "general_retention"),   // 11 days, 2 orders, 120.00
            (5, "important_value"),     // 3 days, 4 orders, 640.00
            (6, "important_winback"),   // 101 days, 1 order, 500.00
            (7, "general_winback"),     // 243 days, 1 order, 20.00
            (8, "no_purchase"),
            (9, "no_purchase"),
        ]
    );

    // Top 20% of 5 customers: 1 (640.00); top 50%: 3 (down to 120.00).
    assert_eq!(report.thresholds.value_tier_a_min_yuan, Some(640.0));
    assert_eq!(report.thresholds.value_tier_b_min_yuan, Some(120.0));
    assert_eq!(
        single(&tags["value_tier"]),
        [
            (1, "C"),
            (2, "C"),
            (3, "C"),
            (4, "B"),
            (5, "A"),
            (6, "B"),
            (7, "C"),
            (8, "C"),
            (9, "C"),
        ]
    );
}

#[tokio::test]
async fn every_exclusive_group_covers_every_one_id_and_the_report_says_so() {
    let (_dir, lake, report) = crate::fixture_build(&PipelineConfig::default()).await;
    let groups: Vec<_> = report.coverage.iter().filter(|r| r.tag.is_none()).collect();
    assert_eq!(groups.len(), 3);
    for g in groups {
        assert_eq!(g.kind, "exclusive");
        assert_eq!((g.one_ids, g.tag_rows, g.all_one_ids), (9, 9, 9), "{g:?}");
        assert_eq!(g.share, 1.0);
    }
    let lifecycle: BTreeMap<String, u64> = report
        .coverage
        .iter()
        .filter(|r| r.tag_group == "lifecycle")
        .filter_map(|r| Some((r.tag.clone()?, r.one_ids)))
        .collect();
    assert_eq!(
        lifecycle,
        BTreeMap::from([
            ("churned".to_string(), 1),
            ("dormant".to_string(), 1),
            ("first_purchase".to_string(), 1),
            ("loyal".to_string(), 1),
            ("new_member".to_string(), 2),
            ("prospect".to_string(), 2),
            ("repeat".to_string(), 1),
        ])
    );
    // The stored report is the printed one.
    let stored = rows_by_name(&read_table(&lake, "tag_coverage").await);
    assert_eq!(stored.len(), report.coverage.len());
    assert_eq!(stored[0]["tag_group"], "lifecycle");
    assert_eq!(stored[0]["tag"], "null");
    assert_eq!(stored[0]["one_ids"], "9");
    assert!(report.coverage_table().contains("9 of 9 one_ids (100.00%)"));
}

#[tokio::test]
async fn configured_groups_add_multi_tags_and_replace_builtin_thresholds() {
    let config: PipelineConfig = toml::from_str(
        r#"
        [build]
        dormant_after_days = 200
        churned_after_days = 300
        rfm_monetary_yuan = 600

        [[tag_group]]
        name = "touchpoints"
        kind = "multi"
        rule = [
            { tag = "store_visitor", when = "store_count > 0" },
            { tag = "ad_reached", when = "events_ad > 0" },
        ]
        "#,
    )
    .unwrap();
    config.validate().unwrap();
    let (_dir, lake, report) = crate::fixture_build(&config).await;
    let tags = tags_by_group(&lake).await;
    let touch: Vec<(i64, Vec<String>)> = tags["touchpoints"].clone().into_iter().collect();
    assert_eq!(
        touch,
        [
            (1, vec!["ad_reached".to_string()]),
            (2, vec!["store_visitor".to_string()]),
            (6, vec!["store_visitor".to_string()]),
            (8, vec!["store_visitor".to_string()]),
            (9, vec!["ad_reached".to_string()]),
        ]
    );
    // 101 days is no longer dormant, 243 days is dormant, not churned.
    let lifecycle = single(&tags["lifecycle"]);
    assert_eq!(lifecycle[5], (6, "first_purchase"));
    assert_eq!(lifecycle[6], (7, "dormant"));
    // M high only above 600 yuan: customer 6 (500.00) becomes general.
    assert_eq!(single(&tags["rfm"])[5], (6, "general_winback"));
    let multi = report
        .coverage
        .iter()
        .find(|r| r.tag_group == "touchpoints" && r.tag.is_none())
        .unwrap();
    assert_eq!(
        (multi.kind.as_str(), multi.one_ids, multi.tag_rows),
        ("multi", 5, 5)
    );
}

#[tokio::test]
async fn a_rule_on_an_unknown_column_is_refused_with_its_group_and_tag() {
    let config: PipelineConfig = toml::from_str(
        r#"
        [[tag_group]]
        name = "gender"
        kind = "exclusive"
        default = "unknown"
        rule = [{ tag = "female", when = "gender = 'f'" }]
        "#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lake = cdp_lake::Lake::open(dir.path().to_str().unwrap()).unwrap();
    crate::support::write_resolved_events(&lake, &crate::fixture::events()).await;
    let err = cdp_jobs::build(&lake, &config, &crate::fixture_request())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("tag rule gender/female"), "{err}");
    assert!(
        cdp_jobs::publish::current(&lake).await.unwrap().is_none(),
        "a failed build publishes nothing"
    );
}
