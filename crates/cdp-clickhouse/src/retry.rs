//! Which failures are worth another try, and the backoff between tries.

use std::future::Future;
use std::time::Duration;

use cdp_config::ClickHouseSection;
use tracing::warn;

use crate::error::ClickHouseError;

/// Server error codes that mean "not now" rather than "never": timeouts,
/// network trouble, too many queries or parts at once, memory pressure.
const TRANSIENT_CODES: &[u32] = &[
    3,   // UNEXPECTED_END_OF_FILE (connection cut)
    159, // TIMEOUT_EXCEEDED
    160, // TOO_SLOW
    164, // READONLY (a replica in read-only mode for a while)
    202, // TOO_MANY_SIMULTANEOUS_QUERIES
    203, // NO_FREE_CONNECTION
    209, // SOCKET_TIMEOUT
    210, // NETWORK_ERROR
    241, // MEMORY_LIMIT_EXCEEDED
    252, // TOO_MANY_PARTS
    285, // TOO_FEW_LIVE_REPLICAS
    319, // UNKNOWN_STATUS_OF_INSERT
    425, // SYSTEM_ERROR
    473, // DEADLOCK_AVOIDED
];

/// Codes of a refused login: unknown user, wrong or missing password,
/// address not allowed, authentication failed.
const CREDENTIALS_CODES: &[u32] = &[192, 193, 194, 195, 516];

/// `Code: N` of a server exception message, if it has one.
fn server_code(message: &str) -> Option<u32> {
    let rest = &message[message.find("Code: ")? + "Code: ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Whether the same request may succeed later.
pub(crate) fn is_transient(error: &clickhouse::error::Error) -> bool {
    use clickhouse::error::Error;
    match error {
        Error::Network(_) | Error::TimedOut => true,
        Error::BadResponse(message) => match server_code(message) {
            Some(code) => TRANSIENT_CODES.contains(&code),
            // No exception body: a proxy or an overloaded server answering 5xx.
            None => ["502", "503", "504"].iter().any(|s| message.contains(s)),
        },
        _ => false,
    }
}

/// Whether the server refused our credentials.
pub(crate) fn is_credentials_error(error: &clickhouse::error::Error) -> bool {
    matches!(error, clickhouse::error::Error::BadResponse(m)
        if server_code(m).is_some_and(|c| CREDENTIALS_CODES.contains(&c)))
}

/// Exponential backoff: `initial`, doubled after each attempt, capped.
pub(crate) fn backoff(settings: &ClickHouseSection, failed_attempts: u32) -> Duration {
    let factor = 1u64 << failed_attempts.saturating_sub(1).min(20);
    Duration::from_millis(
        settings
            .initial_backoff_ms
            .saturating_mul(factor)
            .min(settings.max_backoff_ms),
    )
}

/// Runs `op` until it succeeds, fails for good, or `max_attempts` ran out.
/// Only for requests that are safe to send twice.
pub(crate) async fn retrying<T, F, Fut>(
    settings: &ClickHouseSection,
    what: &str,
    mut op: F,
) -> Result<T, ClickHouseError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClickHouseError>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if e.is_transient() && attempt < settings.max_attempts => {
                let wait = backoff(settings, attempt);
                warn!(%what, attempt, wait_ms = wait.as_millis() as u64, error = %e, "transient ClickHouse error; retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clickhouse::error::Error;

    #[test]
    fn codes_are_read_from_both_message_styles() {
        assert_eq!(
            server_code("Code: 193, e.displayText() = DB::Exception: Wrong password"),
            Some(193)
        );
        assert_eq!(
            server_code("Code: 252. DB::Exception: Too many parts (300). (TOO_MANY_PARTS)"),
            Some(252)
        );
        assert_eq!(server_code("no code here"), None);
    }

    #[test]
    fn overload_and_network_are_transient_and_syntax_is_not() {
        assert!(is_transient(&Error::BadResponse(
            "Code: 252. DB::Exception: Too many parts".into()
        )));
        assert!(is_transient(&Error::TimedOut));
        assert!(is_transient(&Error::BadResponse(
            "503 Service Unavailable".into()
        )));
        assert!(!is_transient(&Error::BadResponse(
            "Code: 62, e.displayText() = DB::Exception: Syntax error".into()
        )));
        assert!(!is_transient(&Error::BadResponse(
            "Code: 193, e.displayText() = DB::Exception: Wrong password for user default".into()
        )));
    }

    #[test]
    fn refused_logins_are_credentials_errors() {
        for m in [
            "Code: 192, e.displayText() = DB::Exception: Unknown user nobody",
            "Code: 516. DB::Exception: default: Authentication failed",
        ] {
            assert!(is_credentials_error(&Error::BadResponse(m.into())), "{m}");
        }
        assert!(!is_credentials_error(&Error::TimedOut));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = ClickHouseSection {
            initial_backoff_ms: 100,
            max_backoff_ms: 350,
            ..Default::default()
        };
        let ms: Vec<u128> = (1..=4).map(|a| backoff(&s, a).as_millis()).collect();
        assert_eq!(ms, [100, 200, 350, 350]);
    }

    #[tokio::test]
    async fn retrying_stops_at_the_first_permanent_error_and_after_max_attempts() {
        let s = ClickHouseSection {
            initial_backoff_ms: 1,
            max_backoff_ms: 1,
            max_attempts: 3,
            ..Default::default()
        };
        let config = crate::ClickHouseConfig::new("http://127.0.0.1:9");
        let mut calls = 0;
        let r: Result<(), _> = retrying(&s, "t", || {
            calls += 1;
            let e = ClickHouseError::external(&config, "SELECT 1", Error::TimedOut);
            async move { Err(e) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 3);

        let mut calls = 0;
        let r: Result<(), _> = retrying(&s, "t", || {
            calls += 1;
            let e = ClickHouseError::external(
                &config,
                "SELECT 1",
                Error::BadResponse("Code: 62, Syntax error".into()),
            );
            async move { Err(e) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 1);
    }
}
