//! Bearer tokens: every /v1 route answers 401 without one or with a bad
//! one; /healthz and /metrics are open.

use hyper::{Method, StatusCode};

use crate::support::*;

#[tokio::test]
async fn missing_or_bad_tokens_are_401_on_every_v1_route() {
    let (_dir, lake) = lake_with(&build("b1", "r1", persons(10), vec![])).await;
    let server = serve(&lake).await;
    let mut conn = Conn::open(server.addr).await;
    let routes = [
        (Method::GET, "/v1/profiles/phone/13800138000", None),
        (Method::GET, "/v1/profiles/by-one-id/OID000000000001", None),
        (
            Method::POST,
            "/v1/profiles/lookup",
            Some(r#"{"id_type":"phone","value":"13800138000"}"#),
        ),
        (Method::GET, "/v1/segments", None),
        (Method::GET, "/v1/segments/lifecycle/loyal", None),
    ];
    for (method, path, body) in &routes {
        for token in [
            None,
            Some("wrong-token-0123456789abcdef"),
            Some(&TOKEN[..TOKEN.len() - 1]),
            Some(""),
        ] {
            let (status, answer, headers) = conn.send(method.clone(), path, token, *body).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {token:?}: {answer}"
            );
            assert_eq!(answer["error"]["code"], "unauthorized");
            assert_eq!(headers["www-authenticate"], "Bearer");
            assert!(
                answer.to_string().find("13800138000").is_none(),
                "a refusal says nothing about the person: {answer}"
            );
        }
        // Both configured tokens pass.
        for token in [TOKEN, "second-token-0123456789"] {
            let (status, answer, _) = conn.send(method.clone(), path, Some(token), *body).await;
            assert_eq!(status, StatusCode::OK, "{method} {path}: {answer}");
        }
    }
    // Another scheme is refused, with a message saying which scheme to use.
    let (status, answer, _) = conn.send(Method::GET, "/v1/segments", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Bearer"),
        "{answer}"
    );
    for open in ["/healthz", "/metrics"] {
        let (status, _) = get(server.addr, open, None).await;
        assert_eq!(status, StatusCode::OK, "{open} needs no token");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_server_without_tokens_does_not_start() {
    let (_dir, lake) = lake_with(&build("b1", "r1", persons(3), vec![])).await;
    let err = cdp_serve::start(
        cdp_serve::ServeOptions {
            lake,
            listen: "127.0.0.1:0".into(),
            config: Default::default(),
            tokens: vec![],
            junk: Default::default(),
        },
        Default::default(),
    )
    .await
    .err()
    .expect("refused")
    .to_string();
    assert!(err.contains("CDP_SERVE_TOKENS"), "{err}");
}
