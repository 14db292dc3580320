//! Paging a segment: pages in one_key order, a cursor that continues where
//! the previous page ended, every member exactly once.

use hyper::{Method, StatusCode};
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn pages_follow_the_cursor_and_cover_the_segment_once() {
    let (_dir, lake) = lake_with(&build("b1", "r1", persons(95), vec![])).await;
    let server = serve(&lake).await;
    let mut conn = Conn::open(server.addr).await;
    // loyal: key 1 and the even keys.
    let expected: Vec<String> = (1..=95)
        .filter(|k| *k == 1 || k % 2 == 0)
        .map(|k| format!("OID{k:012}"))
        .collect();
    for limit in [None, Some(7), Some(100)] {
        let mut seen: Vec<String> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut path = "/v1/segments/lifecycle/loyal?".to_string();
            if let Some(c) = &cursor {
                path.push_str(&format!("cursor={c}&"));
            }
            if let Some(l) = limit {
                path.push_str(&format!("limit={l}"));
            }
            let (status, body, _) = conn.send(Method::GET, &path, Some(TOKEN), None).await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            assert_eq!(body["total"], expected.len());
            assert_eq!(body["build"]["build_id"], "b1");
            let page: Vec<String> = body["one_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            assert!(page.len() <= limit.unwrap_or(10), "page size");
            seen.extend(page);
            pages += 1;
            match &body["next_cursor"] {
                Value::Null => break,
                Value::String(c) => cursor = Some(c.clone()),
                other => panic!("next_cursor {other}"),
            }
            assert!(pages < 100, "paging does not end");
        }
        assert_eq!(seen, expected, "limit {limit:?}");
    }
    let (status, body, _) = conn
        .send(Method::GET, "/v1/segments", Some(TOKEN), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["segments"]["lifecycle"]["loyal"], expected.len());
    assert_eq!(body["segments"]["value_tier"]["A"], 1);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_cursors_limits_and_unknown_segments_are_refused() {
    let (_dir, lake) = lake_with(&build("b1", "r1", persons(20), vec![])).await;
    let server = serve(&lake).await;
    let mut conn = Conn::open(server.addr).await;
    for (path, status, message) in [
        (
            "/v1/segments/lifecycle/loyal?cursor=abc",
            StatusCode::BAD_REQUEST,
            "cursor",
        ),
        (
            "/v1/segments/lifecycle/loyal?limit=0",
            StatusCode::BAD_REQUEST,
            "limit must be between 1 and 100",
        ),
        (
            "/v1/segments/lifecycle/loyal?limit=101",
            StatusCode::BAD_REQUEST,
            "limit must be between 1 and 100",
        ),
        (
            "/v1/segments/lifecycle/loyal?limit=x",
            StatusCode::BAD_REQUEST,
            "bad query",
        ),
        (
            "/v1/segments/lifecycle/nosuch",
            StatusCode::NOT_FOUND,
            "no segment",
        ),
        (
            "/v1/segments/nosuch/loyal",
            StatusCode::NOT_FOUND,
            "no segment",
        ),
    ] {
        let (got, body, _) = conn.send(Method::GET, path, Some(TOKEN), None).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(message),
            "{path}: {body}"
        );
    }
    // A cursor past the end gives an empty last page.
    let (status, body, _) = conn
        .send(
            Method::GET,
            "/v1/segments/lifecycle/loyal?cursor=OID000000099999",
            Some(TOKEN),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["one_ids"], serde_json::json!([]));
    assert_eq!(body["next_cursor"], Value::Null);
    server.shutdown().await.unwrap();
}
