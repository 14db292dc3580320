//! One ClickHouse database as the loader uses it: statements with a timeout,
//! reads retried on transient errors, the credentials checked up front.

use std::time::Duration;

use cdp_config::ClickHouseSection;
use clickhouse::Compression;

use crate::config::ClickHouseConfig;
use crate::error::ClickHouseError;
use crate::retry::retrying;

/// Whether a statement may be sent again when its answer was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotent {
    /// `CREATE … IF NOT EXISTS`, `DROP … IF EXISTS`, reads, log lines.
    Yes,
    /// `RENAME`, `ATTACH/REPLACE/DROP PARTITION`: a lost answer leaves the
    /// outcome unknown, so the load stops and the next one finds out.
    No,
}

/// The analysts' database on one server, with the loader's settings.
#[derive(Clone)]
pub struct Server {
    pub(crate) config: ClickHouseConfig,
    pub(crate) settings: ClickHouseSection,
    pub(crate) client: clickhouse::Client,
}

impl Server {
    /// Checks the server answers with these credentials, creates the
    /// database if missing, and returns a handle on it.
    pub async fn connect(
        config: &ClickHouseConfig,
        settings: &ClickHouseSection,
    ) -> Result<Self, ClickHouseError> {
        config.validate()?;
        let compression = match settings.compression.as_str() {
            "none" => Compression::None,
            _ => Compression::Lz4,
        };
        let ping_settings = settings.clone();
        retrying(&ping_settings, "connect", || crate::ping(config)).await?;
        retrying(settings, "create database", || {
            crate::ensure_database(config)
        })
        .await?;
        let client = crate::connect(config)?.with_compression(compression);
        Ok(Self {
            config: config.clone(),
            settings: settings.clone(),
            client,
        })
    }

    pub fn config(&self) -> &ClickHouseConfig {
        &self.config
    }

    pub fn client(&self) -> &clickhouse::Client {
        &self.client
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.settings.statement_timeout_secs)
    }

    /// Runs one statement that returns no rows.
    pub(crate) async fn execute(
        &self,
        sql: &str,
        idempotent: Idempotent,
    ) -> Result<(), ClickHouseError> {
        let once = || async {
            match tokio::time::timeout(self.timeout(), self.client.query(sql).execute()).await {
                Ok(result) => result.map_err(|e| ClickHouseError::external(&self.config, sql, e)),
                Err(_) => Err(ClickHouseError::timeout(
                    &self.config,
                    sql,
                    self.settings.statement_timeout_secs,
                )),
            }
        };
        match idempotent {
            Idempotent::Yes => retrying(&self.settings, sql, once).await,
            Idempotent::No => once().await,
        }
    }

    /// Every row of a read, retried on transient errors.
    pub(crate) async fn fetch_all<T>(&self, sql: &str) -> Result<Vec<T>, ClickHouseError>
    where
        T: clickhouse::RowOwned + clickhouse::RowRead,
    {
        retrying(&self.settings, sql, || async {
            match tokio::time::timeout(self.timeout(), self.client.query(sql).fetch_all::<T>())
                .await
            {
                Ok(result) => result.map_err(|e| ClickHouseError::external(&self.config, sql, e)),
                Err(_) => Err(ClickHouseError::timeout(
                    &self.config,
                    sql,
                    self.settings.statement_timeout_secs,
                )),
            }
        })
        .await
    }

    /// `SELECT count() FROM …` and the like: one number.
    pub(crate) async fn fetch_u64(&self, sql: &str) -> Result<u64, ClickHouseError> {
        let rows: Vec<u64> = self.fetch_all(sql).await?;
        rows.first().copied().ok_or_else(|| ClickHouseError::State {
            table: "-".into(),
            reason: format!("`{sql}` returned no row"),
        })
    }

    /// Rows of `table`, optionally of one month partition.
    pub(crate) async fn count_rows(
        &self,
        table: &str,
        month_filter: Option<&str>,
    ) -> Result<u64, ClickHouseError> {
        let sql = match month_filter {
            Some(filter) => format!(
                "SELECT count() FROM {} WHERE {filter}",
                crate::quote_ident(table)
            ),
            None => format!("SELECT count() FROM {}", crate::quote_ident(table)),
        };
        self.fetch_u64(&sql).await
    }
}

/// A string literal's content for SQL: backslash and quote escaped.
pub fn escape_string(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

/// `'value'`: a quoted SQL string literal.
pub fn quote_string(value: &str) -> String {
    format!("'{}'", escape_string(value))
}
