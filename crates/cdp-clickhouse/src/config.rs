//! Where the ClickHouse server is and who we are to it.

use crate::error::ClickHouseError;
use url::Url;

/// Environment variable holding the ClickHouse user name.
pub const ENV_USER: &str = "CDP_CLICKHOUSE_USER";
/// Environment variable holding the ClickHouse password.
pub const ENV_PASSWORD: &str = "CDP_CLICKHOUSE_PASSWORD";
/// The user when `CDP_CLICKHOUSE_USER` is unset.
pub const DEFAULT_USER: &str = "default";
/// The database the CDP's tables go to unless configured otherwise.
pub const DEFAULT_DATABASE: &str = "cdp";

/// Connection settings. `password` is never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClickHouseConfig {
    /// HTTP(S) interface, e.g. `http://127.0.0.1:8123`. No credentials, no path.
    pub url: String,
    /// Database the tables live in (created by [`crate::ensure_database`]).
    pub database: String,
    /// User name; `default` on a fresh server.
    pub user: String,
    /// Password; empty for none.
    pub password: String,
}

impl std::fmt::Debug for ClickHouseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseConfig")
            .field("url", &self.url)
            .field("database", &self.database)
            .field("user", &self.user)
            .field(
                "password",
                &if self.password.is_empty() { "" } else { "***" },
            )
            .finish()
    }
}

impl ClickHouseConfig {
    /// `url` with the default database and user, no password.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            database: DEFAULT_DATABASE.to_string(),
            user: DEFAULT_USER.to_string(),
            password: String::new(),
        }
    }

    /// `url` with the user and password from `CDP_CLICKHOUSE_USER` /
    /// `CDP_CLICKHOUSE_PASSWORD` (defaults: `default`, no password).
    pub fn from_url_and_env(url: impl Into<String>) -> Self {
        Self::from_url_and_lookup(url, |name| std::env::var(name).ok())
    }

    /// As [`Self::from_url_and_env`], reading variables through `lookup`.
    pub fn from_url_and_lookup(
        url: impl Into<String>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let mut config = Self::new(url);
        if let Some(user) = lookup(ENV_USER).filter(|u| !u.is_empty()) {
            config.user = user;
        }
        if let Some(password) = lookup(ENV_PASSWORD) {
            config.password = password;
        }
        config
    }

    /// The same settings with another database.
    pub fn with_database(mut self, database: impl Into<String>) -> Self {
        self.database = database.into();
        self
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ClickHouseError> {
        let url = Url::parse(&self.url).map_err(|e| {
            ClickHouseError::config("url", format!("`{}` is not a URL: {e}", self.url))
        })?;
        match url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(ClickHouseError::config(
                    "url",
                    format!(
                        "scheme must be http or https (the HTTP interface, e.g. \
                         http://127.0.0.1:8123), got `{other}` in `{}`",
                        self.url
                    ),
                ))
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ClickHouseError::config(
                "url",
                format!("`{}` has no host", self.url),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ClickHouseError::config(
                "url",
                format!("must not contain credentials; set {ENV_USER} and {ENV_PASSWORD} instead"),
            ));
        }
        if !(url.path().is_empty() || url.path() == "/") || url.query().is_some() {
            return Err(ClickHouseError::config(
                "url",
                format!(
                    "`{}` must be only scheme://host:port (no path or query; the database is \
                     the `database` setting)",
                    self.url
                ),
            ));
        }
        validate_identifier("database", &self.database)?;
        if self.user.is_empty() {
            return Err(ClickHouseError::config("user", "must not be empty"));
        }
        if self.user.chars().any(char::is_control) {
            return Err(ClickHouseError::config(
                "user",
                "must not contain control characters",
            ));
        }
        Ok(())
    }
}

/// ClickHouse identifiers we create: `[A-Za-z_][A-Za-z0-9_]*`, at most 127 bytes.
fn validate_identifier(field: &'static str, name: &str) -> Result<(), ClickHouseError> {
    let mut chars = name.chars();
    let ok_first = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let ok_rest = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok_first || !ok_rest || name.len() > 127 {
        return Err(ClickHouseError::config(
            field,
            format!(
                "`{name}` is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*, at most 127 bytes)"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Fault;

    fn field_of(cfg: &ClickHouseConfig) -> &'static str {
        match cfg.validate() {
            Err(ClickHouseError::Config { field, .. }) => field,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn accepts_plain_http_and_https_urls() {
        for url in [
            "http://127.0.0.1:8123",
            "http://localhost:8123/",
            "https://ch.example.com:8443",
            "http://[::1]:8123",
        ] {
            ClickHouseConfig::new(url)
                .validate()
                .unwrap_or_else(|e| panic!("{url}: {e}"));
        }
    }

    #[test]
    fn url_scheme_must_be_http_or_https() {
        let cfg = ClickHouseConfig::new("tcp://127.0.0.1:9000");
        assert_eq!(field_of(&cfg), "url");
        let msg = cfg.validate().unwrap_err().to_string();
        assert!(msg.contains("scheme must be http or https"), "{msg}");
        assert!(msg.contains("tcp"), "{msg}");
    }

    #[test]
    fn url_must_parse_and_have_a_host() {
        assert_eq!(field_of(&ClickHouseConfig::new("127.0.0.1:8123")), "url");
        assert_eq!(field_of(&ClickHouseConfig::new("not a url")), "url");
        assert_eq!(field_of(&ClickHouseConfig::new("")), "url");
    }

    #[test]
    fn url_must_not_carry_credentials_path_or_query() {
        let creds = ClickHouseConfig::new("http://bob:secret@127.0.0.1:8123");
        assert_eq!(field_of(&creds), "url");
        let msg = creds.validate().unwrap_err().to_string();
        assert!(msg.contains(ENV_PASSWORD), "{msg}");
        assert!(!msg.contains("secret"), "password leaked into: {msg}");
        assert_eq!(field_of(&ClickHouseConfig::new("http://h:8123/cdp")), "url");
        assert_eq!(
            field_of(&ClickHouseConfig::new("http://h:8123/?database=x")),
            "url"
        );
    }

    #[test]
    fn database_must_be_a_plain_identifier() {
        for bad in ["", "1abc", "cdp-prod", "a b", "x;DROP", "é"] {
            let cfg = ClickHouseConfig::new("http://h:8123").with_database(bad);
            assert_eq!(field_of(&cfg), "database", "{bad:?}");
        }
        for good in ["cdp", "_tmp", "cdp_2025"] {
            ClickHouseConfig::new("http://h:8123")
                .with_database(good)
                .validate()
                .unwrap();
        }
    }

    #[test]
    fn user_must_not_be_empty() {
        let mut cfg = ClickHouseConfig::new("http://h:8123");
        cfg.user.clear();
        assert_eq!(field_of(&cfg), "user");
    }

    #[test]
    fn credentials_come_from_the_environment_lookup() {
        let cfg = ClickHouseConfig::from_url_and_lookup("http://h:8123", |name| match name {
            ENV_USER => Some("loader".into()),
            ENV_PASSWORD => Some("s3cret".into()),
            _ => None,
        });
        assert_eq!(cfg.user, "loader");
        assert_eq!(cfg.password, "s3cret");
        assert_eq!(cfg.database, DEFAULT_DATABASE);
        assert!(!format!("{cfg:?}").contains("s3cret"));

        let cfg = ClickHouseConfig::from_url_and_lookup("http://h:8123", |_| None);
        assert_eq!(cfg.user, DEFAULT_USER);
        assert_eq!(cfg.password, "");
    }

    #[test]
    fn config_errors_are_the_users_fault() {
        let err = ClickHouseConfig::new("ftp://h").validate().unwrap_err();
        assert_eq!(err.fault(), Fault::Config);
        assert!(
            err.to_string()
                .starts_with("invalid ClickHouse configuration"),
            "{err}"
        );
    }
}
