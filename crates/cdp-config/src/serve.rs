//! `[serve]`: the profile API (`cdp serve`) and the change feed
//! (`cdp publish-changes`).
//!
//! ```toml
//! [serve]
//! listen = "0.0.0.0:8080"
//! tokens_env = "CDP_SERVE_TOKENS"   # comma-separated bearer tokens (the default variable)
//! page_size = 1000                  # one_ids per segment page unless ?limit= asks otherwise
//! max_page_size = 10000
//! poll_interval_ms = 2000           # how often builds/current.json is checked
//! change_topic = "cdp.profile_updates"
//! # profile columns that move with the as-of day alone: not a change
//! change_ignore_columns = ["days_since_last_seen", "days_since_last_order"]
//! ```
//!
//! Tokens belong in the environment, not in files: `tokens` exists for
//! tests and throwaway setups.

use serde::Deserialize;

use crate::error::{ConfigError, Result};

/// The environment variable bearer tokens are read from by default.
pub const DEFAULT_TOKENS_ENV: &str = "CDP_SERVE_TOKENS";

/// A token shorter than this can be guessed; it is refused.
pub const MIN_TOKEN_LEN: usize = 16;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Listen address; `--listen` overrides it.
    pub listen: String,
    /// Bearer tokens accepted by the API (prefer `tokens_env`).
    pub tokens: Vec<String>,
    /// Environment variable holding further tokens, comma-separated.
    pub tokens_env: String,
    /// One_ids per segment page when the request sets no `limit`.
    pub page_size: usize,
    /// The largest `limit` a request may ask for.
    pub max_page_size: usize,
    /// How often `builds/current.json` is read to find a new build.
    pub poll_interval_ms: u64,
    /// Kafka topic of the change feed.
    pub change_topic: String,
    /// Profile columns not compared by the change feed: they change with the
    /// as-of day alone, and would make every profile "changed" every day.
    pub change_ignore_columns: Vec<String>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            tokens: Vec::new(),
            tokens_env: DEFAULT_TOKENS_ENV.into(),
            page_size: 1000,
            max_page_size: 10_000,
            poll_interval_ms: 2000,
            change_topic: "cdp.profile_updates".into(),
            change_ignore_columns: vec![
                "days_since_last_seen".into(),
                "days_since_last_order".into(),
            ],
        }
    }
}

impl ServeConfig {
    /// Checks what types alone cannot; errors name the field.
    pub fn validate(&self) -> Result<()> {
        self.listen
            .parse::<std::net::SocketAddr>()
            .map_err(|e| ConfigError::field("serve.listen", format!("{:?}: {e}", self.listen)))?;
        if self.page_size == 0 {
            return Err(ConfigError::field("serve.page_size", "must be > 0"));
        }
        if self.max_page_size < self.page_size {
            return Err(ConfigError::field(
                "serve.max_page_size",
                format!("must be ≥ serve.page_size ({})", self.page_size),
            ));
        }
        if self.poll_interval_ms == 0 {
            return Err(ConfigError::field("serve.poll_interval_ms", "must be > 0"));
        }
        if self.change_topic.trim().is_empty() {
            return Err(ConfigError::field(
                "serve.change_topic",
                "must not be empty",
            ));
        }
        check_tokens(&self.tokens, "serve.tokens")
    }

    /// Every accepted bearer token: `tokens`, then those of the `tokens_env`
    /// variable read through `lookup` (the process environment in
    /// production). Errors never quote a token.
    pub fn bearer_tokens(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<Vec<String>> {
        let mut tokens = self.tokens.clone();
        if !self.tokens_env.is_empty() {
            if let Some(value) = lookup(&self.tokens_env) {
                let from_env: Vec<String> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect();
                check_tokens(&from_env, &self.tokens_env)?;
                tokens.extend(from_env);
            }
        }
        Ok(tokens)
    }
}

fn check_tokens(tokens: &[String], field: &str) -> Result<()> {
    for (i, token) in tokens.iter().enumerate() {
        if token.chars().count() < MIN_TOKEN_LEN {
            return Err(ConfigError::field(
                field,
                format!(
                    "token #{} is shorter than {MIN_TOKEN_LEN} characters",
                    i + 1
                ),
            ));
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ConfigError::field(
                field,
                format!("token #{} contains whitespace", i + 1),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        ServeConfig::default().validate().unwrap();
    }

    #[test]
    fn tokens_come_from_the_file_and_the_environment() {
        let c = ServeConfig {
            tokens: vec!["file-token-0123456789".into()],
            ..Default::default()
        };
        let tokens = c
            .bearer_tokens(|var| {
                (var == DEFAULT_TOKENS_ENV)
                    .then(|| " env-token-a-0123456789 , env-token-b-0123456789,".into())
            })
            .unwrap();
        assert_eq!(
            tokens,
            [
                "file-token-0123456789",
                "env-token-a-0123456789",
                "env-token-b-0123456789"
            ]
        );
    }

    #[test]
    fn a_short_token_is_refused_without_quoting_it() {
        let c = ServeConfig::default();
        let err = c
            .bearer_tokens(|_| Some("s3cret".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains(DEFAULT_TOKENS_ENV), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn a_bad_listen_address_names_the_field() {
        let c = ServeConfig {
            listen: "localhost".into(),
            ..Default::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("serve.listen"), "{err}");
    }
}
