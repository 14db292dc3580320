//! Rows written with the `clickhouse` crate read back unchanged, on every
//! column type the loaders use (all of which exist on ClickHouse 18.16).

use crate::{test_config, unique_database};
use cdp_clickhouse::clickhouse::Row;
use cdp_clickhouse::{ensure_database, execute, ping, quote_ident, ClickHouseError, Fault};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
struct Profile {
    one_id: String,
    events: i64,
    #[serde(with = "cdp_clickhouse::clickhouse::serde::chrono::date")]
    first_seen: NaiveDate,
    #[serde(with = "cdp_clickhouse::clickhouse::serde::chrono::datetime")]
    updated_at: DateTime<Utc>,
    /// Decimal(18, 2) in RowBinary: the value in cents as Int64.
    ltv_cents: i64,
    score: f64,
    is_member: u8,
    email: Option<String>,
    tags: Vec<String>,
}

const DDL: &str = "
    one_id      String,
    events      Int64,
    first_seen  Date,
    updated_at  DateTime,
    ltv_cents   Decimal(18, 2),
    score       Float64,
    is_member   UInt8,
    email       Nullable(String),
    tags        Array(String)";

fn rows() -> Vec<Profile> {
    (0..1000)
        .map(|i| Profile {
            one_id: format!("p-{i:05}"),
            events: i * 7 - 300,
            first_seen: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
                + chrono::Duration::days(i % 400),
            updated_at: DateTime::from_timestamp(1_735_689_600 + i * 3_601, 0).unwrap(),
            ltv_cents: if i % 3 == 0 { -i * 101 } else { i * 12_345 },
            score: i as f64 / 7.0,
            is_member: (i % 2) as u8,
            email: (i % 4 != 0).then(|| format!("user{i}@example.com")),
            tags: (0..(i % 3)).map(|t| format!("tag-{t}-ünï")).collect(),
        })
        .collect()
}

#[tokio::test]
async fn rows_inserted_read_back_equal() {
    let base = test_config();
    let version = ping(&base).await.expect("ping");
    eprintln!("ClickHouse {version} at {}", base.url);

    let config = base.with_database(unique_database("cdp_it"));
    let client = ensure_database(&config).await.expect("create database");
    let table = quote_ident("profiles");
    execute(
        &config,
        &client,
        &format!("CREATE TABLE {table} ({DDL}) ENGINE = MergeTree ORDER BY one_id"),
    )
    .await
    .expect("create table");

    let written = rows();
    let mut insert = client.insert::<Profile>("profiles").await.expect("insert");
    for row in &written {
        insert.write(row).await.expect("write row");
    }
    insert.end().await.expect("end insert");

    let read = client
        .query(
            "SELECT one_id, events, first_seen, updated_at, ltv_cents, score, is_member, \
             email, tags FROM profiles ORDER BY one_id",
        )
        .fetch_all::<Profile>()
        .await
        .expect("select");
    assert_eq!(read.len(), written.len());
    assert_eq!(read, written);

    // The server sees the same values as Rust does (Decimal scale, DateTime in UTC).
    let (sum, max_ts): (String, String) = client
        .query("SELECT toString(sum(ltv_cents)), toString(max(updated_at)) FROM profiles")
        .fetch_one()
        .await
        .expect("aggregate");
    let expected_sum: i64 = written.iter().map(|r| r.ltv_cents).sum();
    assert_eq!(
        sum,
        format!("{}.{:02}", expected_sum / 100, (expected_sum % 100).abs())
    );
    let expected_max = written.iter().map(|r| r.updated_at).max().unwrap();
    assert_eq!(max_ts, expected_max.format("%Y-%m-%d %H:%M:%S").to_string());

    execute(&config, &client, "DROP TABLE profiles")
        .await
        .expect("drop table");
    execute(
        &config,
        &client,
        &format!("DROP DATABASE {}", quote_ident(&config.database)),
    )
    .await
    .expect("drop database");
}

#[tokio::test]
async fn server_errors_are_external_faults() {
    let config = test_config().with_database(unique_database("cdp_it"));
    let client = ensure_database(&config).await.expect("create database");
    let err = execute(&config, &client, "SELECT * FROM no_such_table_here")
        .await
        .unwrap_err();
    assert_eq!(err.fault(), Fault::External);
    assert!(matches!(err, ClickHouseError::External { .. }));
    assert!(err.to_string().contains("no_such_table_here"), "{err}");
    execute(
        &config,
        &client,
        &format!("DROP DATABASE {}", quote_ident(&config.database)),
    )
    .await
    .expect("drop database");
}

#[tokio::test]
async fn unreachable_server_is_an_external_fault() {
    // A loopback port nothing listens on (the discard port).
    let config = cdp_clickhouse::ClickHouseConfig::new("http://127.0.0.1:9");
    let err = ping(&config).await.unwrap_err();
    assert_eq!(err.fault(), Fault::External);
}
