//! Errors, each saying whose fault it is.

use crate::config::ClickHouseConfig;

/// Who has to act for an error to go away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The configuration we were given is wrong: fix the command line / config.
    Config,
    /// ClickHouse (or the network to it) failed or refused: check the server.
    External,
    /// The lake holds something the ClickHouse tables cannot take: fix the
    /// lake (or the migration, when the lake's schema moved on).
    Input,
    /// The state left behind contradicts itself: a bug of ours.
    Bug,
}

/// Everything this crate can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    /// A configuration field is invalid; nothing was sent to the server.
    #[error("invalid ClickHouse configuration: `{field}` {reason}")]
    Config {
        /// The offending field: `url`, `database`, `user`, …
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The server refused who we are (unknown user, wrong password, address
    /// not allowed): retrying cannot help.
    #[error("ClickHouse at {url} refused user `{user}` (set CDP_CLICKHOUSE_USER / CDP_CLICKHOUSE_PASSWORD to an account allowed to connect): {source}")]
    Credentials {
        url: String,
        user: String,
        #[source]
        source: clickhouse::error::Error,
    },
    /// The server was unreachable or rejected a statement.
    #[error("ClickHouse at {url} failed on `{statement}` (external system: check that the server runs, is reachable and accepts user `{user}`): {source}")]
    External {
        /// The server's URL.
        url: String,
        /// The user we connected as.
        user: String,
        /// The statement (or operation) that failed, shortened.
        statement: String,
        /// The client's error.
        #[source]
        source: clickhouse::error::Error,
    },
    /// A statement did not finish within `statement_timeout_secs`.
    #[error("ClickHouse at {url} did not finish `{statement}` within {secs}s (external system; raise clickhouse.statement_timeout_secs if the server is just slow)")]
    Timeout {
        url: String,
        statement: String,
        secs: u64,
    },
    /// A migration file cannot be applied as it is.
    #[error("migration {name}: {reason}")]
    Migration { name: String, reason: String },
    /// Reading the lake failed.
    #[error("reading the lake for table {table}: {source}")]
    Lake {
        table: String,
        #[source]
        source: cdp_lake::LakeError,
    },
    /// A lake file cannot be decoded.
    #[error("lake file {file}: cannot read Parquet: {reason}")]
    Parquet { file: String, reason: String },
    /// A lake column does not fit its ClickHouse column (or is missing).
    #[error("table {table}, column `{column}` (lake file {file}): {reason}")]
    Column {
        table: String,
        column: String,
        file: String,
        reason: String,
    },
    /// A lake manifest (identity/current.json, builds/current.json) is unreadable.
    #[error("lake manifest {location}: {reason}")]
    Manifest { location: String, reason: String },
    /// What the server holds contradicts what the loader recorded.
    #[error("inconsistent load state in table {table}: {reason} (our bug; the analysts' tables were not changed by this step)")]
    State { table: String, reason: String },
}

impl ClickHouseError {
    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Config {
            field,
            reason: reason.into(),
        }
    }

    /// Wraps a client error for an operation on the server `config` names.
    /// Refused credentials get their own variant, with what to set.
    pub fn external(
        config: &ClickHouseConfig,
        statement: &str,
        source: clickhouse::error::Error,
    ) -> Self {
        if crate::retry::is_credentials_error(&source) {
            return Self::Credentials {
                url: config.url.clone(),
                user: config.user.clone(),
                source,
            };
        }
        Self::External {
            url: config.url.clone(),
            user: config.user.clone(),
            statement: shorten(statement),
            source,
        }
    }

    pub(crate) fn timeout(config: &ClickHouseConfig, statement: &str, secs: u64) -> Self {
        Self::Timeout {
            url: config.url.clone(),
            statement: shorten(statement),
            secs,
        }
    }

    /// Whose fault the error is.
    pub fn fault(&self) -> Fault {
        match self {
            Self::Config { .. } | Self::Credentials { .. } => Fault::Config,
            Self::External { .. } | Self::Timeout { .. } | Self::Lake { .. } => Fault::External,
            Self::Parquet { .. } | Self::Column { .. } | Self::Manifest { .. } => Fault::Input,
            Self::Migration { .. } | Self::State { .. } => Fault::Bug,
        }
    }

    /// Whether trying the same request again may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::External { source, .. } => crate::retry::is_transient(source),
            Self::Timeout { .. } => true,
            _ => false,
        }
    }
}

/// One line, at most 200 bytes: statements go into error messages.
fn shorten(statement: &str) -> String {
    let mut statement = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    if statement.len() > 200 {
        let mut cut = 200;
        while !statement.is_char_boundary(cut) {
            cut -= 1;
        }
        statement.truncate(cut);
        statement.push('…');
    }
    statement
}
