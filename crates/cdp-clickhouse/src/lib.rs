//! ClickHouse for BI analysts: `cdp load` and what it needs — the
//! connection config, the migrations of `deploy/clickhouse/`, RowBinary
//! encoding of the lake's Arrow batches, and the staged, atomic publication
//! of each table ([`load`]). `tables.rs` maps each lake table to its DDL and
//! to how it is loaded.
//!
//! Credentials never live in the URL or in config files: they come from the
//! environment (`CDP_CLICKHOUSE_USER`, `CDP_CLICKHOUSE_PASSWORD`), see
//! [`ClickHouseConfig::from_url_and_env`].
//!
//! The client is built with `with_validation(false)`: row types are not checked
//! against `system.columns` metadata (older servers, e.g. 18.16, do not return
//! what the validation needs), so the Rust row struct must match the table's
//! column order and RowBinary types exactly.

pub mod column_type;
mod config;
mod error;
pub mod lake_files;
pub mod ledger;
pub mod load;
pub mod migrations;
mod retry;
pub mod rowbinary;
mod server;
pub mod sql_text;
pub mod stream;
pub mod tables;

pub use clickhouse;
pub use config::{ClickHouseConfig, DEFAULT_DATABASE, DEFAULT_USER, ENV_PASSWORD, ENV_USER};
pub use error::{ClickHouseError, Fault};
pub use load::{load, LoadOptions, LoadReport, Outcome, TableReport};
pub use server::{escape_string, quote_string, Server};

use tracing::debug;

/// A client for `config`, after [`ClickHouseConfig::validate`]. No network
/// traffic happens here; use [`ping`] to check the server is reachable.
///
/// The client's default database is `config.database`, which must exist
/// before the first query: see [`ensure_database`].
pub fn connect(config: &ClickHouseConfig) -> Result<clickhouse::Client, ClickHouseError> {
    config.validate()?;
    Ok(server_client(config).with_database(config.database.clone()))
}

/// A client without a default database (for `CREATE DATABASE`, server checks).
fn server_client(config: &ClickHouseConfig) -> clickhouse::Client {
    let mut client = clickhouse::Client::default()
        .with_url(config.url.trim_end_matches('/'))
        .with_user(config.user.clone())
        .with_validation(false);
    if !config.password.is_empty() {
        client = client.with_password(config.password.clone());
    }
    client
}

/// Checks that the server answers a query with these credentials; returns its
/// version string (e.g. `18.16.1`, `25.3.2.39`).
pub async fn ping(config: &ClickHouseConfig) -> Result<String, ClickHouseError> {
    config.validate()?;
    let version = server_client(config)
        .query("SELECT version()")
        .fetch_one::<String>()
        .await
        .map_err(|e| ClickHouseError::external(config, "SELECT version()", e))?;
    debug!(url = %config.url, %version, "ClickHouse answers");
    Ok(version)
}

/// `CREATE DATABASE IF NOT EXISTS` for `config.database`, then returns a
/// client whose default database is that one.
pub async fn ensure_database(
    config: &ClickHouseConfig,
) -> Result<clickhouse::Client, ClickHouseError> {
    config.validate()?;
    let sql = format!(
        "CREATE DATABASE IF NOT EXISTS {}",
        quote_ident(&config.database)
    );
    server_client(config)
        .query(&sql)
        .execute()
        .await
        .map_err(|e| ClickHouseError::external(config, &sql, e))?;
    connect(config)
}

/// Runs one statement that returns no rows (DDL, `INSERT … SELECT`, …) on
/// `client`, with the error attributed to the server at `config.url`.
pub async fn execute(
    config: &ClickHouseConfig,
    client: &clickhouse::Client,
    sql: &str,
) -> Result<(), ClickHouseError> {
    client
        .query(sql)
        .execute()
        .await
        .map_err(|e| ClickHouseError::external(config, sql, e))
}

/// Back-quotes an identifier (database, table or column name) for SQL.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        match c {
            '`' => out.push_str("\\`"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('`');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_ident_escapes_backquotes_and_backslashes() {
        assert_eq!(quote_ident("cdp"), "`cdp`");
        assert_eq!(quote_ident("a`b"), "`a\\`b`");
        assert_eq!(quote_ident("a\\b"), "`a\\\\b`");
    }

    #[test]
    fn connect_rejects_an_invalid_config_without_network() {
        let cfg = ClickHouseConfig::new("ftp://example.com");
        let err = connect(&cfg).unwrap_err();
        assert_eq!(err.fault(), Fault::Config);
        assert!(err.to_string().contains("url"), "{err}");
    }
}
