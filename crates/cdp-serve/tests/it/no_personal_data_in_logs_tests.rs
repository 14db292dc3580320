//! No personal data in any log line (at every level, TRACE included) nor in
//! metric labels: requests are logged and counted by route template, and
//! errors never quote an identifier value.

use hyper::{Method, StatusCode};

use crate::support::*;

#[tokio::test]
async fn identifier_values_never_reach_logs_or_metrics() {
    let (_dir, lake) = lake_with(&build("b1", "r1", persons(30), vec![])).await;
    let server = serve(&lake).await;
    let mut conn = Conn::open(server.addr).await;
    let alice_md5 = md5_hex("13800138000");
    let alice_sha = sha256_hex("13800138000");
    let requests = [
        (
            Method::GET,
            format!("/v1/profiles/phone/{}", encode("+86 138-0013-8000")),
            None,
        ),
        (
            Method::GET,
            "/v1/profiles/phone/13800138000".to_string(),
            None,
        ),
        (
            Method::GET,
            format!("/v1/profiles/phone_md5/{}", alice_md5.to_uppercase()),
            None,
        ),
        (
            Method::GET,
            format!("/v1/profiles/phone_sha256/{alice_sha}"),
            None,
        ),
        (
            Method::GET,
            format!("/v1/profiles/email/{}", encode("bob@example.com")),
            None,
        ),
        (
            Method::GET,
            "/v1/profiles/openid/o-alice-WX".to_string(),
            None,
        ),
        // Unknown, malformed, junk, unknown type: the error paths.
        (
            Method::GET,
            "/v1/profiles/phone/13800138001".to_string(),
            None,
        ),
        (
            Method::GET,
            "/v1/profiles/phone/13800zz8000".to_string(),
            None,
        ),
        (
            Method::GET,
            "/v1/profiles/phone/13800000000".to_string(),
            None,
        ),
        (
            Method::GET,
            "/v1/profiles/passport/G13800138000".to_string(),
            None,
        ),
        (
            Method::POST,
            "/v1/profiles/lookup".to_string(),
            Some(r#"{"id_type":"phone","value":"+86 139-0013-9000"}"#),
        ),
        (
            Method::POST,
            "/v1/profiles/lookup".to_string(),
            Some(r#"{"id_type":"phone","value":13900139000}"#),
        ),
        (Method::GET, "/v1/nosuch/13800138000".to_string(), None),
    ];
    for (method, path, body) in &requests {
        let (status, answer, _) = conn.send(method.clone(), path, Some(TOKEN), *body).await;
        assert_ne!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{path}: {answer}"
        );
    }
    // Without a token too.
    conn.send(Method::GET, "/v1/profiles/phone/13800138000", None, None)
        .await;
    let (_, metrics) = get(server.addr, "/metrics", None).await;
    let metrics = metrics.as_str().unwrap().to_string();
    server.shutdown().await.unwrap();

    let logs = captured_logs();
    // The capture works: request lines are there, by template.
    assert!(
        logs.contains("route=/v1/profiles/{id_type}/{value}"),
        "{logs}"
    );
    assert!(logs.contains("build loaded"), "{logs}");
    assert!(
        metrics.contains("route=\"/v1/profiles/{id_type}/{value}\""),
        "{metrics}"
    );
    let personal = [
        "13800138000",
        "138-0013",
        "138 0013",
        "13800138001",
        "13800zz8000",
        "13800000000",
        "13900139000",
        "139-0013",
        &alice_md5,
        &alice_md5.to_uppercase(),
        &alice_sha,
        "bob@example.com",
        "bob%40example.com",
        "o-alice-WX",
        "91234567",
    ];
    for value in personal {
        assert!(!logs.contains(value), "{value} is in the logs:\n{logs}");
        assert!(
            !metrics.contains(value),
            "{value} is in the metrics:\n{metrics}"
        );
    }
}
