//! `[clickhouse]`: how `cdp load` talks to ClickHouse. The server's URL and
//! credentials are not here: the URL is `--clickhouse`, the user and password
//! come from `CDP_CLICKHOUSE_USER` / `CDP_CLICKHOUSE_PASSWORD`, so that no
//! secret ever sits in a config file.

use serde::Deserialize;

use crate::error::{ConfigError, Result};

/// ClickHouse's default `max_insert_block_size`: an INSERT of at most this
/// many rows becomes one block, written whole or not at all.
pub const MAX_BATCH_ROWS: usize = 1_048_576;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseSection {
    /// Database of the analysts' tables when `--database` is not given.
    pub database: String,
    /// Rows per INSERT. At most 1,048,576 (one server block), so that an
    /// INSERT that fails is all-or-nothing and can be retried.
    pub batch_rows: usize,
    /// Attempts per request on a transient error (network, timeout, server
    /// overloaded); 1 = no retry.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled after each, up to `max_backoff_ms`.
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// Longest wait for one chunk of an INSERT to be accepted by the socket.
    pub send_timeout_secs: u64,
    /// Longest wait for the server to finish one statement or INSERT.
    pub statement_timeout_secs: u64,
    /// Compression of INSERT bodies: `lz4` (ClickHouse's own framing) or `none`.
    pub compression: String,
}

impl Default for ClickHouseSection {
    fn default() -> Self {
        Self {
            database: "cdp".to_string(),
            batch_rows: 262_144,
            max_attempts: 5,
            initial_backoff_ms: 500,
            max_backoff_ms: 10_000,
            send_timeout_secs: 60,
            statement_timeout_secs: 600,
            compression: "lz4".to_string(),
        }
    }
}

impl ClickHouseSection {
    /// Checks what types alone cannot; errors name the field.
    pub fn validate(&self) -> Result<()> {
        let field = |name: &str, reason: &str| {
            Err(ConfigError::field(
                format!("clickhouse.{name}"),
                reason.to_string(),
            ))
        };
        let mut chars = self.database.chars();
        let plain = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain || self.database.len() > 127 {
            return field(
                "database",
                "must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*, at most 127 bytes)",
            );
        }
        if self.batch_rows == 0 || self.batch_rows > MAX_BATCH_ROWS {
            return field(
                "batch_rows",
                "must be between 1 and 1048576 (one ClickHouse block per INSERT)",
            );
        }
        if self.max_attempts == 0 {
            return field("max_attempts", "must be >= 1 (1 = no retry)");
        }
        if self.initial_backoff_ms > self.max_backoff_ms {
            return field("initial_backoff_ms", "must be <= max_backoff_ms");
        }
        if self.send_timeout_secs == 0 || self.statement_timeout_secs == 0 {
            return field(
                if self.send_timeout_secs == 0 {
                    "send_timeout_secs"
                } else {
                    "statement_timeout_secs"
                },
                "must be > 0",
            );
        }
        if !matches!(self.compression.as_str(), "lz4" | "none") {
            return field("compression", "must be `lz4` or `none`");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        ClickHouseSection::default().validate().unwrap();
    }

    #[test]
    fn each_bad_value_names_its_field() {
        type Spoil = fn(&mut ClickHouseSection);
        let cases: [(&str, Spoil); 6] = [
            ("clickhouse.database", |s| s.database = "cdp-prod".into()),
            ("clickhouse.batch_rows", |s| s.batch_rows = 2_000_000),
            ("clickhouse.max_attempts", |s| s.max_attempts = 0),
            ("clickhouse.initial_backoff_ms", |s| {
                s.initial_backoff_ms = 20_000
            }),
            ("clickhouse.statement_timeout_secs", |s| {
                s.statement_timeout_secs = 0
            }),
            ("clickhouse.compression", |s| s.compression = "gzip".into()),
        ];
        for (field, spoil) in cases {
            let mut s = ClickHouseSection::default();
            spoil(&mut s);
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
    }
}
