//! Errors, each saying whose fault it is.

use crate::config::ClickHouseConfig;

/// Who has to act for an error to go away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The configuration we were given is wrong: fix the command line / config.
    Config,
    /// ClickHouse (or the network to it) failed or refused: check the server.
    External,
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
}

impl ClickHouseError {
    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Config {
            field,
            reason: reason.into(),
        }
    }

    /// Wraps a client error for an operation on the server `config` names.
    pub fn external(
        config: &ClickHouseConfig,
        statement: &str,
        source: clickhouse::error::Error,
    ) -> Self {
        let mut statement = statement.split_whitespace().collect::<Vec<_>>().join(" ");
        if statement.len() > 200 {
            let mut cut = 200;
            while !statement.is_char_boundary(cut) {
                cut -= 1;
            }
            statement.truncate(cut);
            statement.push('…');
        }
        Self::External {
            url: config.url.clone(),
            user: config.user.clone(),
            statement,
            source,
        }
    }

    /// Whose fault the error is.
    pub fn fault(&self) -> Fault {
        match self {
            Self::Config { .. } => Fault::Config,
            Self::External { .. } => Fault::External,
        }
    }
}
