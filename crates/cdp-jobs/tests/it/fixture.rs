//! A small world whose profiles, tags and coverage are computed by hand
//! (expected values in the tests beside it). As of 2026-03-31.
//!
//! | one_key | who | net orders | net revenue | last order (days before as-of) |
//! |---|---|---|---|---|
//! | 1 | prospect: online + ad touches, an event after the as-of day | 0 | 0 | – |
//! | 2 | new member at SZ001, visits SZ002 (a GZ003 visit after the as-of day) | 0 | 0 | – |
//! | 3 | one order (delivered twice), a mapped-source event | 1 | 100.00 | 10 |
//! | 4 | two orders; a third refunded, the refund timed before its payment | 2 | 120.00 | 11 |
//! | 5 | loyal: 5 paid, one refunded by an anonymous refund; one refunded after the as-of day | 4 | 640.00 | 3 |
//! | 6 | one store order at SH001 | 1 | 500.00 | 101 |
//! | 7 | one order long ago | 1 | 20.00 | 243 |
//! | 8 | member whose only order was refunded | 0 | 0 | – |
//! | 9 | only an ad click (resolved through a device id) | 0 | 0 | – |
//! | 10 | only events after the as-of day: no profile | – | – | – |
//!
//! Plus an event without identifiers (one_key null), which no profile sees.

use chrono::NaiveDate;

use crate::support::Ev;

pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()
}

fn ev(one_key: Option<i64>, source: &'static str, event_type: &'static str, time: &str) -> Ev {
    Ev {
        one_key,
        source,
        event_type,
        time: time.to_string(),
        ..Default::default()
    }
}

fn order(key: Option<i64>, status: &'static str, id: &str, time: &str, fen: Option<i64>) -> Ev {
    Ev {
        amount_fen: fen,
        order_id: Some(id.to_string()),
        // As the lake names it: a redelivery has the same id.
        event_id: Some(format!("{id}:{status}")),
        ..ev(key, "transaction", status, time)
    }
}

fn ad(key: i64, campaign: &str, time: &str) -> Ev {
    Ev {
        platform: Some("ocean_engine"),
        campaign_id: Some(campaign.to_string()),
        ..ev(Some(key), "ad", "click", time)
    }
}

pub fn events() -> Vec<Ev> {
    vec![
        // 1: prospect.
        Ev {
            platform: Some("mini_program"),
            channel_code: Some("pkg_card_q1"),
            utm_source: Some("wechat"),
            utm_campaign: Some("spring"),
            ..ev(Some(1), "online", "page_view", "2026-03-01T10:00:00Z")
        },
        Ev {
            platform: Some("ios"),
            channel_code: Some("store_SZ001_qr"),
            ..ev(Some(1), "online", "page_view", "2026-03-05T10:00:00Z")
        },
        Ev {
            platform: Some("ios"),
            utm_source: Some("douyin"),
            utm_campaign: Some("summer"),
            ..ev(Some(1), "online", "product_view", "2026-03-06T10:00:00Z")
        },
        ad(1, "C1", "2026-02-20T08:00:00Z"),
        ad(1, "C2", "2026-02-25T08:00:00Z"),
        Ev {
            platform: Some("android"),
            channel_code: Some("late_code"),
            ..ev(Some(1), "online", "page_view", "2026-04-02T10:00:00Z")
        },
        ad(1, "C_LATE", "2026-04-01T00:00:00Z"),
        // 2: new member.
        Ev {
            store_id: Some("SZ001"),
            ..ev(Some(2), "offline", "member_signup", "2026-01-15T06:00:00Z")
        },
        Ev {
            store_id: Some("SZ002"),
            ..ev(Some(2), "offline", "store_visit", "2026-02-01T06:00:00Z")
        },
        Ev {
            store_id: Some("SZ001"),
            ..ev(Some(2), "offline", "store_visit", "2026-02-03T06:00:00Z")
        },
        Ev {
            store_id: Some("GZ003"),
            ..ev(Some(2), "offline", "store_visit", "2026-04-05T06:00:00Z")
        },
        // 3: one order, delivered twice (two identical rows reached the lake).
        order(Some(3), "paid", "O3", "2026-03-21T09:00:00Z", Some(10_000)),
        order(Some(3), "paid", "O3", "2026-03-21T09:00:00Z", Some(10_000)),
        ev(Some(3), "acme_pos", "visit", "2026-03-21T10:00:00Z"),
        // 4: two orders, and O4c whose refund is timed before its payment.
        order(
            Some(4),
            "refunded",
            "O4c",
            "2026-03-02T09:00:00Z",
            Some(3_000),
        ),
        order(Some(4), "paid", "O4a", "2026-03-01T09:00:00Z", Some(5_000)),
        order(Some(4), "paid", "O4c", "2026-03-03T09:00:00Z", Some(3_000)),
        order(Some(4), "paid", "O4b", "2026-03-20T09:00:00Z", Some(7_000)),
        // 5: loyal. O5a and O5b on one day; O5d refunded by a refund message
        // without identifiers (no one_key); O5e refunded after the as-of day.
        order(Some(5), "paid", "O5a", "2026-02-01T01:00:00Z", Some(20_000)),
        order(Some(5), "paid", "O5b", "2026-02-01T05:00:00Z", Some(10_000)),
        order(Some(5), "paid", "O5c", "2026-03-25T05:00:00Z", Some(30_000)),
        order(Some(5), "paid", "O5d", "2026-03-10T05:00:00Z", Some(8_000)),
        order(None, "refunded", "O5d", "2026-03-12T05:00:00Z", Some(8_000)),
        order(Some(5), "paid", "O5e", "2026-03-28T05:00:00Z", Some(4_000)),
        order(
            Some(5),
            "refunded",
            "O5e",
            "2026-04-03T05:00:00Z",
            Some(4_000),
        ),
        // 6: one store order, 101 days before the as-of day.
        Ev {
            store_id: Some("SH001"),
            ..order(Some(6), "paid", "O6", "2025-12-20T03:00:00Z", Some(50_000))
        },
        // 7: one order 243 days before the as-of day.
        order(Some(7), "paid", "O7", "2025-08-01T03:00:00Z", Some(2_000)),
        // 8: a member whose only order was refunded.
        Ev {
            store_id: Some("SZ002"),
            ..ev(Some(8), "offline", "member_signup", "2026-03-01T03:00:00Z")
        },
        order(Some(8), "paid", "O8", "2026-03-15T03:00:00Z", Some(6_000)),
        order(
            Some(8),
            "refunded",
            "O8",
            "2026-03-16T03:00:00Z",
            Some(6_000),
        ),
        // 9: an ad click only.
        ad(9, "C9", "2026-03-30T23:59:59Z"),
        // 10: after the as-of day only.
        ev(Some(10), "online", "page_view", "2026-04-01T00:00:00Z"),
        // No identifiers.
        ev(None, "online", "page_view", "2026-03-02T00:00:00Z"),
    ]
}
