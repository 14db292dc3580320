//! A wrong URL or wrong credentials give an error that says what to fix.

use cdp_clickhouse::{ClickHouseConfig, ClickHouseError, Fault, Server};

use crate::{test_config, test_settings};

fn quick() -> cdp_config::ClickHouseSection {
    cdp_config::ClickHouseSection {
        max_attempts: 2,
        initial_backoff_ms: 10,
        ..test_settings()
    }
}

#[tokio::test]
async fn a_wrong_password_is_a_credentials_error_naming_the_user_and_the_variables() {
    let mut config = test_config();
    config.password = "certainly-not-the-password".into();
    let err = Server::connect(&config, &quick())
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(err, ClickHouseError::Credentials { .. }),
        "{err:?}"
    );
    assert_eq!(err.fault(), Fault::Config);
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("refused user `{}`", config.user)),
        "{msg}"
    );
    assert!(msg.contains("CDP_CLICKHOUSE_PASSWORD"), "{msg}");
    assert!(
        !msg.contains("certainly-not-the-password"),
        "password leaked: {msg}"
    );
}

#[tokio::test]
async fn an_unknown_user_is_a_credentials_error() {
    let mut config = test_config();
    config.user = "no_such_cdp_user".into();
    let err = Server::connect(&config, &quick())
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(err, ClickHouseError::Credentials { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("no_such_cdp_user"), "{err}");
}

#[tokio::test]
async fn nothing_listening_is_an_external_error_naming_the_url_after_the_retries() {
    // The discard port on loopback: nothing listens there.
    let config = ClickHouseConfig::new("http://127.0.0.1:9");
    let err = Server::connect(&config, &quick())
        .await
        .err()
        .expect("unreachable");
    assert_eq!(err.fault(), Fault::External);
    assert!(err.to_string().contains("http://127.0.0.1:9"), "{err}");
}
