//! Integration tests against a running ClickHouse.
//!
//! Needs `CDP_TEST_CLICKHOUSE_URL` (e.g. `http://127.0.0.1:18123`): `make test`
//! starts a local server with `deploy/local/clickhouse.sh` and sets it.

mod roundtrip_tests;

/// The server under test, from `CDP_TEST_CLICKHOUSE_URL`; credentials from
/// `CDP_CLICKHOUSE_USER` / `CDP_CLICKHOUSE_PASSWORD` like in production.
pub fn test_config() -> cdp_clickhouse::ClickHouseConfig {
    let url = std::env::var("CDP_TEST_CLICKHOUSE_URL").unwrap_or_else(|_| {
        panic!(
            "CDP_TEST_CLICKHOUSE_URL is not set: run `make test`, which starts ClickHouse \
             (deploy/local/clickhouse.sh) and sets it; or start one yourself and export \
             CDP_TEST_CLICKHOUSE_URL=http://127.0.0.1:18123"
        )
    });
    cdp_clickhouse::ClickHouseConfig::from_url_and_env(url)
}

/// A database name no other test run uses.
pub fn unique_database(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}
