//! Integration tests against a running ClickHouse (18.16 in `make test`).
//!
//! Needs `CDP_TEST_CLICKHOUSE_URL` (e.g. `http://127.0.0.1:18123`): `make test`
//! starts a local server with `deploy/local/clickhouse.sh` and sets it. The
//! BI query tests also need `CDP_TEST_PYTHON` (the venv of `make venv`, with
//! chdb and duckdb).

mod bi_query_tests;
mod build_tables_tests;
mod connection_error_tests;
mod load_tests;
mod roundtrip_tests;
mod stand_in_identity;

use std::path::{Path, PathBuf};

use cdp_clickhouse::{quote_ident, ClickHouseConfig, Server};
use cdp_config::{ClickHouseSection, PipelineConfig};

/// The server under test, from `CDP_TEST_CLICKHOUSE_URL`; credentials from
/// `CDP_CLICKHOUSE_USER` / `CDP_CLICKHOUSE_PASSWORD` like in production.
pub fn test_config() -> ClickHouseConfig {
    let url = std::env::var("CDP_TEST_CLICKHOUSE_URL").unwrap_or_else(|_| {
        panic!(
            "CDP_TEST_CLICKHOUSE_URL is not set: run `make test`, which starts ClickHouse \
             (deploy/local/clickhouse.sh) and sets it; or start one yourself and export \
             CDP_TEST_CLICKHOUSE_URL=http://127.0.0.1:18123"
        )
    });
    ClickHouseConfig::from_url_and_env(url)
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

/// Loader settings for tests: small INSERTs, so that a table takes several.
pub fn test_settings() -> ClickHouseSection {
    ClickHouseSection {
        batch_rows: 20_000,
        max_attempts: 3,
        initial_backoff_ms: 50,
        ..Default::default()
    }
}

/// A fresh database on the test server.
pub async fn fresh_server(prefix: &str) -> Server {
    let config = test_config().with_database(unique_database(prefix));
    Server::connect(&config, &test_settings())
        .await
        .expect("connect")
}

pub async fn drop_database(server: &Server) {
    server
        .client()
        .query(&format!(
            "DROP DATABASE {}",
            quote_ident(&server.config().database)
        ))
        .execute()
        .await
        .expect("drop database");
}

/// One number from the server.
pub async fn number(server: &Server, sql: &str) -> u64 {
    server
        .client()
        .query(sql)
        .fetch_one::<u64>()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A generated world, ingested into a lake: `dir/lake`.
pub struct World {
    pub dir: tempfile::TempDir,
}

impl World {
    pub async fn ingested(persons: u64, seed: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let world_dir = dir.path().join("world");
        let world = cdp_generate::WorldConfig {
            persons,
            seed,
            ..Default::default()
        };
        let out = world_dir.clone();
        tokio::task::spawn_blocking(move || cdp_generate::generate(&world, &out))
            .await
            .unwrap()
            .expect("generate");
        let lake = cdp_lake::Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
        let report = cdp_ingest::ingest_files(
            &lake,
            &PipelineConfig::default(),
            cdp_ingest::InputSpec::reference_files(&world_dir),
        )
        .await
        .expect("ingest");
        assert!(report.balanced);
        Self { dir }
    }

    pub fn lake_path(&self) -> PathBuf {
        self.dir.path().join("lake")
    }

    pub fn lake(&self) -> cdp_lake::Lake {
        cdp_lake::Lake::open(self.lake_path().to_str().unwrap()).unwrap()
    }
}

/// The repository root.
pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}
