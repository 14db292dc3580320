//! A synthetic lake of N persons for the serve load benchmark
//! (`benches/serve_load.sh`): identity_map, tags and the build pointer
//! through `cdp_serve::fixture_lake`, and `profiles` / `ltv` with the
//! columns `cdp build` documents (32 and 15 columns), so that the memory
//! per profile measured by the server is that of real builds.
//!
//! Person k has the phone `13` + k in 9 digits (and its md5/sha256), an
//! openid (70 %), a unionid (50 %), a member card (30 %); four tags
//! (lifecycle, rfm, value_tier, channel); LTV for 40 %.
//!
//! ```sh
//! cargo run --release -p cdp-serve --example synth_lake -- /work/bench-out/serve-1m/lake 1000000
//! ```

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Array, Float64Array, Int64Array, ListBuilder, RecordBatch, StringArray,
    StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use cdp_lake::Lake;
use cdp_model::IdType;
use cdp_serve::fixture_lake::{self, phone_identifiers, FixtureBuild, FixturePerson};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const DAY: i64 = 86_400_000_000;
const START: i64 = 1_767_225_600_000_000; // 2026-01-01
const AS_OF_END: i64 = 1_796_083_200_000_000; // 2026-12-01
const LIFECYCLE: [&str; 7] = [
    "prospect",
    "member",
    "first_purchase",
    "second_purchase",
    "loyal",
    "dormant",
    "churned",
];
const RFM: [&str; 8] = [
    "important_value",
    "important_develop",
    "important_retain",
    "important_win_back",
    "general_value",
    "general_develop",
    "general_retain",
    "general_win_back",
];
const PLATFORMS: [&str; 4] = ["android", "h5", "ios", "mini_program"];

fn phone_of(k: i64) -> String {
    format!("13{k:09}")
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).expect("usage: synth_lake LAKE_DIR [PERSONS]");
    let n: i64 = args
        .get(2)
        .map_or(1_000_000, |s| s.parse().expect("PERSONS"));
    let lake = Lake::open(dir).unwrap();
    let mut rng = SmallRng::seed_from_u64(8);
    let started = std::time::Instant::now();

    let persons: Vec<FixturePerson> = (1..=n)
        .map(|k| {
            let mut identifiers = phone_identifiers(&phone_of(k));
            if rng.gen_bool(0.7) {
                identifiers.push((
                    IdType::Openid,
                    format!("oWx{:024x}", rng.gen::<u128>() >> 32),
                ));
            }
            if rng.gen_bool(0.5) {
                identifiers.push((
                    IdType::Unionid,
                    format!("uWx{:024x}", rng.gen::<u128>() >> 32),
                ));
            }
            if rng.gen_bool(0.3) {
                identifiers.push((IdType::MemberId, format!("M{k:08}")));
            }
            FixturePerson {
                one_key: k,
                identifiers,
                tags: vec![
                    (
                        "lifecycle".into(),
                        LIFECYCLE[rng.gen_range(0..LIFECYCLE.len())].into(),
                    ),
                    ("rfm".into(), RFM[rng.gen_range(0..RFM.len())].into()),
                    (
                        "value_tier".into(),
                        ["A", "B", "C"][rng.gen_range(0..3)].into(),
                    ),
                    ("channel".into(), format!("ch_{:02}", rng.gen_range(0..20))),
                ],
                ..Default::default()
            }
        })
        .collect();
    let build = FixtureBuild {
        build_id: format!("synth-{n}"),
        as_of: "2026-11-30".into(),
        identity_run_id: format!("synth-run-{n}"),
        persons,
        merges: vec![],
        rows_per_file: 500_000,
    };
    let mut manifest = fixture_lake::write_build(&lake, &build).await.unwrap();
    eprintln!(
        "identity_map and tags written in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    drop(build);

    // profiles and ltv with the documented columns, replacing the fixture's.
    for stale in manifest
        .files("profiles")
        .iter()
        .chain(manifest.files("ltv"))
    {
        lake.delete(stale).await.unwrap();
    }
    let id = manifest.build_id.clone();
    let (profiles, ltv) = profiles_and_ltv(n, &mut rng);
    manifest.tables.insert(
        "profiles".into(),
        fixture_lake::write_table(&lake, "profiles", &id, profiles, 500_000)
            .await
            .unwrap(),
    );
    manifest.tables.insert(
        "ltv".into(),
        fixture_lake::write_table(&lake, "ltv", &id, ltv, 500_000)
            .await
            .unwrap(),
    );
    fixture_lake::publish(&lake, &manifest).await.unwrap();
    eprintln!(
        "{n} persons written to {dir} in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn ts(v: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
}

fn money(v: Vec<Option<i128>>) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(v)
            .with_precision_and_scale(18, 2)
            .unwrap(),
    )
}

fn ints(v: Vec<i64>) -> ArrayRef {
    Arc::new(Int64Array::from(v))
}

fn opt_ints(v: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(Int64Array::from(v))
}

fn texts(v: Vec<Option<String>>) -> ArrayRef {
    Arc::new(StringArray::from(v))
}

fn floats(v: Vec<f64>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}

fn list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

fn profiles_and_ltv(n: i64, rng: &mut SmallRng) -> (RecordBatch, RecordBatch) {
    let keys: Vec<i64> = (1..=n).collect();
    let one_ids: Vec<Option<String>> = keys.iter().map(|k| Some(format!("OID{k:012}"))).collect();
    let mut first_seen = Vec::new();
    let mut last_seen = Vec::new();
    let mut days_since = Vec::new();
    let mut counts: [Vec<i64>; 6] = Default::default();
    let mut touch: [Vec<Option<String>>; 8] = Default::default();
    let mut store_count = Vec::new();
    let mut stores = ListBuilder::new(StringBuilder::new());
    let mut platforms = ListBuilder::new(StringBuilder::new());
    let mut member_since = Vec::new();
    let mut orders: [Vec<i64>; 4] = Default::default();
    let mut revenue = Vec::new();
    let mut aov = Vec::new();
    let mut first_order = Vec::new();
    let mut last_order = Vec::new();
    let mut days_since_order = Vec::new();
    // ltv: customers only
    let mut l_keys = Vec::new();
    let mut l_rev = Vec::new();
    let mut l_ints: [Vec<i64>; 2] = Default::default();
    let mut l_f: [Vec<f64>; 9] = Default::default();
    let mut l_risk = Vec::new();
    for &k in &keys {
        let first = START + rng.gen_range(0..300) * DAY + rng.gen_range(0..DAY);
        let last = (first + rng.gen_range(0..60) * DAY).min(AS_OF_END - 1);
        first_seen.push(Some(first));
        last_seen.push(Some(last));
        days_since.push(Some((AS_OF_END - last) / DAY));
        let per_source: Vec<i64> = (0..4).map(|_| rng.gen_range(0..30)).collect();
        counts[0].push(per_source.iter().sum());
        for (s, c) in per_source.iter().enumerate() {
            counts[s + 1].push(*c);
        }
        counts[5].push(0);
        for (i, t) in touch.iter_mut().enumerate() {
            t.push(rng.gen_bool(0.6).then(|| match i {
                0 | 1 => format!("store_SZ{:03}_qr", rng.gen_range(0..150)),
                2 | 4 => ["wechat", "douyin", "baidu", "tmall"][rng.gen_range(0..4)].to_string(),
                3 | 5 => format!("campaign_2026_{:02}", rng.gen_range(0..40)),
                _ => format!("ad_{:04}", rng.gen_range(0..500)),
            }));
        }
        let n_stores = rng.gen_range(0..3);
        store_count.push(n_stores);
        if n_stores == 0 {
            stores.append_null();
        } else {
            for _ in 0..n_stores {
                stores
                    .values()
                    .append_value(format!("SZ{:03}", rng.gen_range(0..150)));
            }
            stores.append(true);
        }
        for p in PLATFORMS {
            if rng.gen_bool(0.4) {
                platforms.values().append_value(p);
            }
        }
        platforms.append(true);
        member_since.push(rng.gen_bool(0.4).then_some(first + DAY));
        let customer = rng.gen_bool(0.4);
        let net = if customer { rng.gen_range(1..12) } else { 0 };
        let refunded = if customer { rng.gen_range(0..2) } else { 0 };
        orders[0].push(net);
        orders[1].push(net + refunded);
        orders[2].push(refunded);
        orders[3].push(net.min(rng.gen_range(1..12)));
        let fen: i128 = i128::from(net) * rng.gen_range(1_000..50_000);
        revenue.push(Some(fen));
        aov.push((net > 0).then(|| fen / i128::from(net.max(1))));
        first_order.push(customer.then_some(first + DAY));
        last_order.push(customer.then_some(last));
        days_since_order.push(customer.then_some((AS_OF_END - last) / DAY));
        if customer {
            l_keys.push(k);
            l_rev.push(Some(fen));
            l_ints[0].push(net);
            l_ints[1].push(net);
            let p_alive: f64 = rng.gen();
            for (i, f) in l_f.iter_mut().enumerate() {
                f.push(if i == 4 {
                    p_alive
                } else {
                    rng.gen::<f64>() * 100.0
                });
            }
            l_risk.push(Some(
                if p_alive > 0.7 {
                    "low"
                } else if p_alive > 0.3 {
                    "medium"
                } else {
                    "high"
                }
                .to_string(),
            ));
        }
    }
    let utf8 = |name: &str| Field::new(name, DataType::Utf8, true);
    let int = |name: &str, null: bool| Field::new(name, DataType::Int64, null);
    let profile_schema = Arc::new(Schema::new(vec![
        int("one_key", true),
        utf8("one_id"),
        Field::new("first_seen", ts_type(), true),
        Field::new("last_seen", ts_type(), true),
        int("days_since_last_seen", true),
        int("events", false),
        int("events_online", false),
        int("events_offline", false),
        int("events_ad", false),
        int("events_transaction", false),
        int("events_other", false),
        utf8("first_channel_code"),
        utf8("last_channel_code"),
        utf8("first_utm_source"),
        utf8("first_utm_campaign"),
        utf8("last_utm_source"),
        utf8("last_utm_campaign"),
        utf8("first_ad_campaign"),
        utf8("last_ad_campaign"),
        int("store_count", false),
        Field::new("stores_visited", list_type(), true),
        Field::new("active_platforms", list_type(), true),
        Field::new("member_since", ts_type(), true),
        int("orders", false),
        int("orders_paid", false),
        int("orders_refunded", false),
        Field::new("net_revenue", DataType::Decimal128(18, 2), false),
        Field::new("average_order_value", DataType::Decimal128(18, 2), true),
        int("purchase_days", false),
        Field::new("first_order_at", ts_type(), true),
        Field::new("last_order_at", ts_type(), true),
        int("days_since_last_order", true),
    ]));
    let [events, online, offline, ad, transaction, other] = counts;
    let [fcc, lcc, fus, fuc, lus, luc, fac, lac] = touch;
    let [o_net, o_paid, o_ref, o_days] = orders;
    let profiles = RecordBatch::try_new(
        profile_schema,
        vec![
            ints(keys.clone()),
            texts(one_ids),
            ts(first_seen),
            ts(last_seen),
            opt_ints(days_since),
            ints(events),
            ints(online),
            ints(offline),
            ints(ad),
            ints(transaction),
            ints(other),
            texts(fcc),
            texts(lcc),
            texts(fus),
            texts(fuc),
            texts(lus),
            texts(luc),
            texts(fac),
            texts(lac),
            ints(store_count),
            Arc::new(stores.finish()),
            Arc::new(platforms.finish()),
            ts(member_since),
            ints(o_net),
            ints(o_paid),
            ints(o_ref),
            money(revenue),
            money(aov),
            ints(o_days),
            ts(first_order),
            ts(last_order),
            opt_ints(days_since_order),
        ],
    )
    .unwrap();
    let f = |name: &str| Field::new(name, DataType::Float64, false);
    let ltv_schema = Arc::new(Schema::new(vec![
        int("one_key", true),
        utf8("one_id"),
        Field::new("historical_net_revenue", DataType::Decimal128(18, 2), false),
        int("orders", false),
        int("purchase_days", false),
        f("frequency"),
        f("recency"),
        f("age"),
        f("mean_repeat_spend"),
        f("p_alive"),
        f("expected_purchases_90d"),
        f("expected_purchases_365d"),
        f("expected_average_spend"),
        f("predicted_clv_365d"),
        Field::new("churn_risk", DataType::Utf8, false),
    ]));
    let l_ids: Vec<Option<String>> = l_keys.iter().map(|k| Some(format!("OID{k:012}"))).collect();
    let [li0, li1] = l_ints;
    let mut columns: Vec<ArrayRef> = vec![
        ints(l_keys),
        texts(l_ids),
        money(l_rev),
        ints(li0),
        ints(li1),
    ];
    columns.extend(l_f.into_iter().map(floats));
    columns.push(texts(l_risk));
    let ltv = RecordBatch::try_new(ltv_schema, columns).unwrap();
    (profiles, ltv)
}
