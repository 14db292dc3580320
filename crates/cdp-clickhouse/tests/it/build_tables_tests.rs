//! The tables of `cdp build` (ltv_model; profiles, tags and ltv with
//! provisional columns) load from the files `builds/current.json` lists,
//! with the shapes the jobs stage is expected to write (DataFusion's types:
//! timestamps in µs UTC, Decimal128, Date32, lists of strings that may be
//! NULL), and the queries that need them run on them.

use std::sync::Arc;

use arrow::array::{
    new_null_array, ArrayRef, Date32Array, Decimal128Array, Float64Array, Int64Array, ListBuilder,
    RecordBatch, StringArray, StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use cdp_clickhouse::{load, LoadOptions, Outcome};

use crate::{drop_database, fresh_server, number, repo_root};

const ROWS: usize = 30;

/// A deterministic column for `field`: every third row NULL when nullable.
fn column(field: &Field) -> ArrayRef {
    let null = |i: usize| field.is_nullable() && i % 3 == 2;
    let array: ArrayRef = match field.data_type() {
        DataType::Int64 => Arc::new(
            (0..ROWS)
                .map(|i| (!null(i)).then_some(i as i64 + 1))
                .collect::<Int64Array>(),
        ),
        DataType::Float64 => Arc::new(
            (0..ROWS)
                .map(|i| (!null(i)).then_some(i as f64 / 4.0))
                .collect::<Float64Array>(),
        ),
        DataType::Utf8 => Arc::new(
            (0..ROWS)
                .map(|i| (!null(i)).then(|| format!("{}-{}", field.name(), i % 4)))
                .collect::<StringArray>(),
        ),
        DataType::Timestamp(_, _) => Arc::new(
            (0..ROWS)
                .map(|i| (!null(i)).then_some(1_767_225_600_000_000 + i as i64 * 86_400_000_000))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        DataType::Decimal128(p, s) => Arc::new(
            (0..ROWS)
                .map(|i| (!null(i)).then_some(i as i128 * 100 + 5))
                .collect::<Decimal128Array>()
                .with_precision_and_scale(*p, *s)
                .unwrap(),
        ),
        DataType::Date32 => Arc::new(Date32Array::from(vec![20_727; ROWS])),
        DataType::List(_) => {
            let mut b = ListBuilder::new(StringBuilder::new());
            for i in 0..ROWS {
                if i % 2 == 0 {
                    b.values().append_value("SZ001");
                    b.values().append_value("SZ002");
                    b.append(true);
                } else {
                    b.append(false); // NULL: no stores (LEFT JOIN in profiles.sql)
                }
            }
            Arc::new(b.finish())
        }
        other => new_null_array(other, ROWS),
    };
    array
}

fn generic(schema: &SchemaRef) -> RecordBatch {
    RecordBatch::try_new(
        schema.clone(),
        schema.fields().iter().map(|f| column(f)).collect(),
    )
    .unwrap()
}

fn ts(name: &str, nullable: bool) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        nullable,
    )
}

fn profiles_schema() -> SchemaRef {
    let int = |n: &str| Field::new(n, DataType::Int64, false);
    let text = |n: &str| Field::new(n, DataType::Utf8, true);
    let list = |n: &str| {
        Field::new(
            n,
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        )
    };
    let mut fields = vec![
        int("one_key"),
        Field::new("one_id", DataType::Utf8, false),
        ts("first_seen", false),
        ts("last_seen", false),
    ];
    for n in [
        "days_since_last_seen",
        "events",
        "events_online",
        "events_offline",
        "events_ad",
        "events_transaction",
        "events_other",
    ] {
        fields.push(int(n));
    }
    for n in [
        "first_channel_code",
        "last_channel_code",
        "first_utm_source",
        "first_utm_campaign",
        "last_utm_source",
        "last_utm_campaign",
        "first_ad_campaign",
        "last_ad_campaign",
    ] {
        fields.push(text(n));
    }
    fields.extend([
        int("store_count"),
        list("stores_visited"),
        list("active_platforms"),
        ts("member_since", true),
    ]);
    fields.extend([int("orders"), int("orders_paid"), int("orders_refunded")]);
    fields.push(Field::new(
        "net_revenue",
        DataType::Decimal128(18, 2),
        false,
    ));
    fields.push(Field::new(
        "average_order_value",
        DataType::Decimal128(18, 2),
        true,
    ));
    fields.extend([
        int("purchase_days"),
        ts("first_order_at", true),
        ts("last_order_at", true),
    ]);
    fields.push(Field::new("days_since_last_order", DataType::Int64, true));
    Arc::new(Schema::new(fields))
}

fn ltv_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("one_key", DataType::Int64, false),
        Field::new("one_id", DataType::Utf8, false),
        Field::new("historical_net_revenue", DataType::Decimal128(18, 2), false),
        Field::new("orders", DataType::Int64, false),
        Field::new("purchase_days", DataType::Int64, false),
    ];
    for n in [
        "frequency",
        "recency",
        "age",
        "mean_repeat_spend",
        "p_alive",
        "expected_purchases_90d",
        "expected_purchases_365d",
        "expected_average_spend",
        "predicted_clv_365d",
    ] {
        fields.push(Field::new(n, DataType::Float64, false));
    }
    fields.push(Field::new("churn_risk", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

fn ltv_model_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("model", DataType::Utf8, false),
        Field::new("param", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
        Field::new("log_likelihood", DataType::Float64, false),
        Field::new("customers", DataType::Int64, false),
        Field::new("time_unit", DataType::Utf8, false),
        Field::new("as_of", DataType::Date32, false),
    ]))
}

/// Tags: every person one lifecycle tag and one RFM class.
fn tags() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("one_key", DataType::Int64, false),
        Field::new("one_id", DataType::Utf8, false),
        Field::new("tag_group", DataType::Utf8, false),
        Field::new("tag", DataType::Utf8, false),
    ]));
    let mut rows = Vec::new();
    for k in 1..=ROWS as i64 {
        rows.push((
            k,
            "lifecycle",
            ["prospect", "first_purchase", "repeat"][k as usize % 3],
        ));
        rows.push((k, "rfm", if k % 2 == 0 { "R+F+M+" } else { "R-F-M-" }));
    }
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| format!("OID{:012}", r.0)),
            )),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))),
        ],
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_tables_load_from_the_build_manifest_and_their_queries_run() {
    let dir = tempfile::tempdir().unwrap();
    let lake = cdp_lake::Lake::open(dir.path().to_str().unwrap()).unwrap();
    let mut listed = serde_json::Map::new();
    for (table, batch) in [
        ("profiles", generic(&profiles_schema())),
        ("ltv", generic(&ltv_schema())),
        ("ltv_model", generic(&ltv_model_schema())),
        ("tags", tags()),
    ] {
        let file = format!("{table}/part-b1-0.parquet");
        let bytes = cdp_lake::parquet_io::encode(&file, batch.schema(), &[batch]).unwrap();
        lake.put(&file, bytes).await.unwrap();
        listed.insert(table.into(), serde_json::json!([file]));
    }
    // A file of an older build, not listed: never loaded.
    lake.put(
        "profiles/part-b0-0.parquet",
        bytes::Bytes::from_static(b"not parquet"),
    )
    .await
    .unwrap();
    let manifest = serde_json::json!({"build_id": "b1", "as_of": "2026-10-01", "tables": listed});
    lake.put(
        "builds/current.json",
        serde_json::to_vec(&manifest).unwrap().into(),
    )
    .await
    .unwrap();

    let server = fresh_server("cdp_it_build").await;
    let report = load(&server, &lake, &LoadOptions::default())
        .await
        .expect("load");
    for t in ["profiles", "ltv", "ltv_model"] {
        let table = report.tables.iter().find(|r| r.table == t).unwrap();
        assert_eq!(
            (table.outcome.clone(), table.rows_in_table),
            (Outcome::Loaded, ROWS as u64),
            "{t}"
        );
        assert!(
            table.ignored_columns.is_empty(),
            "{t}: {:?}",
            table.ignored_columns
        );
    }
    assert_eq!(
        number(&server, "SELECT count() FROM tags").await,
        2 * ROWS as u64
    );
    assert_eq!(
        number(
            &server,
            "SELECT count() FROM ltv_model WHERE as_of = toDate('2026-10-01')"
        )
        .await,
        ROWS as u64
    );
    // NULL lists load as empty arrays; decimals keep their cents.
    assert_eq!(
        number(
            &server,
            "SELECT toUInt64(sum(length(stores_visited))) FROM profiles"
        )
        .await,
        ROWS as u64
    );
    assert_eq!(
        number(
            &server,
            "SELECT toUInt64(sum(net_revenue) * 100) FROM profiles"
        )
        .await,
        (0..ROWS as u64).map(|i| i * 100 + 5).sum::<u64>()
    );
    assert_eq!(
        number(
            &server,
            "SELECT count() FROM profiles WHERE member_since IS NULL"
        )
        .await,
        (ROWS / 3) as u64
    );

    // The queries that need these tables run on them (figures checked by hand here).
    let queries = repo_root().join("deploy/clickhouse/queries");
    let run = |name: &str| std::fs::read_to_string(queries.join(name)).unwrap();
    let lifecycle: Vec<(String, u64, f64)> = server
        .client()
        .query(&run("lifecycle_counts.sql"))
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(lifecycle.iter().map(|r| r.1).sum::<u64>(), ROWS as u64);
    assert!(
        lifecycle
            .iter()
            .all(|r| r.1 == 10 && (r.2 - 1.0 / 3.0).abs() < 1e-6),
        "{lifecycle:?}"
    );
    let rfm = server
        .client()
        .query(&run("rfm_counts.sql"))
        .fetch_bytes("TSV")
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(std::str::from_utf8(&rfm).unwrap().lines().count(), 2);
    let ltv = server
        .client()
        .query(&run("ltv_by_acquisition_channel.sql"))
        .fetch_bytes("TSV")
        .unwrap()
        .collect()
        .await
        .unwrap();
    let customers: u64 = std::str::from_utf8(&ltv)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(customers, ROWS as u64);
    drop_database(&server).await;
}
