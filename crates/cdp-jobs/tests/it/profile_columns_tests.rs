//! Profile columns on the hand-computed fixture: net revenue with refunds
//! before payments and anonymous refunds, duplicate deliveries, events after
//! the as-of day ignored, first/last touches, stores, platforms.

use std::collections::BTreeMap;

use cdp_config::PipelineConfig;

use crate::support::{read_table, rows_by_name};

async fn profiles() -> BTreeMap<i64, BTreeMap<String, String>> {
    let (_dir, lake, report) = crate::fixture_build(&PipelineConfig::default()).await;
    assert_eq!(report.profiles, 9);
    rows_by_name(&read_table(&lake, "profiles").await)
        .into_iter()
        .map(|r| (r["one_key"].parse().unwrap(), r))
        .collect()
}

fn check(p: &BTreeMap<String, String>, expected: &[(&str, &str)]) {
    for (column, value) in expected {
        assert_eq!(
            p.get(*column).map(String::as_str),
            Some(*value),
            "one_key {} column {column}",
            p["one_key"]
        );
    }
}

#[tokio::test]
async fn orders_and_net_revenue_follow_contract_section_6() {
    let p = profiles().await;
    // 3: delivered twice, counted once.
    check(
        &p[&3],
        &[
            ("orders", "1"),
            ("orders_paid", "1"),
            ("orders_refunded", "0"),
            ("net_revenue", "100.00"),
            ("average_order_value", "100.00"),
            ("purchase_days", "1"),
            ("days_since_last_order", "10"),
            ("first_order_at", "2026-03-21T09:00:00Z"),
            ("last_order_at", "2026-03-21T09:00:00Z"),
        ],
    );
    // 4: the refund timed before its payment still cancels it.
    check(
        &p[&4],
        &[
            ("orders", "2"),
            ("orders_paid", "3"),
            ("orders_refunded", "1"),
            ("net_revenue", "120.00"),
            ("average_order_value", "60.00"),
            ("purchase_days", "2"),
            ("days_since_last_order", "11"),
        ],
    );
    // 5: a refund without identifiers cancels O5d; O5e's refund is after the
    // as-of day, so O5e counts; O5a and O5b share a day.
    check(
        &p[&5],
        &[
            ("orders", "4"),
            ("orders_paid", "5"),
            ("orders_refunded", "1"),
            ("net_revenue", "640.00"),
            ("average_order_value", "160.00"),
            ("purchase_days", "3"),
            ("days_since_last_order", "3"),
            ("first_order_at", "2026-02-01T01:00:00Z"),
            ("last_order_at", "2026-03-28T05:00:00Z"),
        ],
    );
    // 8: refunded only.
    check(
        &p[&8],
        &[
            ("orders", "0"),
            ("orders_paid", "1"),
            ("orders_refunded", "1"),
            ("net_revenue", "0.00"),
            ("average_order_value", "null"),
            ("purchase_days", "0"),
            ("last_order_at", "null"),
            ("days_since_last_order", "null"),
        ],
    );
    // Without orders.
    check(
        &p[&1],
        &[
            ("orders", "0"),
            ("net_revenue", "0.00"),
            ("average_order_value", "null"),
        ],
    );
}

#[tokio::test]
async fn events_after_the_as_of_day_and_without_identifiers_are_ignored() {
    let p = profiles().await;
    assert_eq!(
        p.keys().copied().collect::<Vec<_>>(),
        (1..=9).collect::<Vec<_>>(),
        "one_key 10 has only later events; the anonymous event has no profile"
    );
    check(
        &p[&1],
        &[
            ("one_id", "OID000000000001"),
            ("first_seen", "2026-02-20T08:00:00Z"),
            ("last_seen", "2026-03-06T10:00:00Z"),
            ("days_since_last_seen", "25"),
            ("events", "5"),
            ("events_online", "3"),
            ("events_ad", "2"),
            ("events_offline", "0"),
            ("events_transaction", "0"),
            ("events_other", "0"),
            ("last_channel_code", "store_SZ001_qr"),
            ("last_ad_campaign", "C2"),
            ("active_platforms", "[ios, mini_program]"),
        ],
    );
    check(
        &p[&2],
        &[
            ("stores_visited", "[SZ001, SZ002]"),
            ("store_count", "2"),
            ("last_seen", "2026-02-03T06:00:00Z"),
        ],
    );
    check(
        &p[&9],
        &[("days_since_last_seen", "1"), ("first_ad_campaign", "C9")],
    );
}

#[tokio::test]
async fn first_and_last_touch_channels_membership_and_sources() {
    let p = profiles().await;
    check(
        &p[&1],
        &[
            ("first_channel_code", "pkg_card_q1"),
            ("last_channel_code", "store_SZ001_qr"),
            ("first_utm_source", "wechat"),
            ("first_utm_campaign", "spring"),
            ("last_utm_source", "douyin"),
            ("last_utm_campaign", "summer"),
            ("first_ad_campaign", "C1"),
            ("last_ad_campaign", "C2"),
            ("member_since", "null"),
            ("stores_visited", "null"),
            ("store_count", "0"),
        ],
    );
    check(
        &p[&2],
        &[
            ("member_since", "2026-01-15T06:00:00Z"),
            ("events_offline", "3"),
            ("first_channel_code", "null"),
            ("active_platforms", "null"),
        ],
    );
    check(
        &p[&3],
        &[
            ("events_transaction", "2"),
            ("events_other", "1"),
            ("events", "3"),
        ],
    );
    check(&p[&6], &[("stores_visited", "[SH001]")]);
}
