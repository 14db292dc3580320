//! `schemas/openapi.json` and the router agree: every route is documented,
//! every documented operation is answered by a route (called over HTTP with
//! the document's own example values), and the documented security matches
//! the token check.

use std::collections::BTreeSet;

use hyper::{Method, StatusCode};
use serde_json::Value;

use crate::support::*;

fn document() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("schemas/openapi.json is shipped"))
        .expect("openapi.json is JSON")
}

/// (METHOD, path template, secured) of every documented operation.
fn documented(doc: &Value) -> BTreeSet<(String, String, bool)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let secured = op
                .get("security")
                .is_some_and(|s| !s.as_array().unwrap().is_empty());
            out.insert((method.to_uppercase(), path.clone(), secured));
        }
    }
    out
}

/// A parameter's example, following `$ref`s into components.
fn example(doc: &Value, name: &str) -> String {
    let params = doc["components"]["parameters"].as_object().unwrap();
    params
        .values()
        .find(|p| p["name"] == name)
        .and_then(|p| p["example"].as_str())
        .unwrap_or_else(|| panic!("no example for parameter {name}"))
        .to_string()
}

#[test]
fn every_route_is_documented_and_every_operation_routed() {
    let doc = document();
    let routes: BTreeSet<(String, String, bool)> = cdp_serve::api::routes()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string(), r.authenticated))
        .collect();
    assert_eq!(
        documented(&doc),
        routes,
        "schemas/openapi.json vs cdp_serve::api::routes()"
    );
    assert_eq!(
        doc["openapi"].as_str().map(|v| v.starts_with("3.")),
        Some(true)
    );
}

#[tokio::test]
async fn each_documented_operation_answers_over_http() {
    let doc = document();
    let (_dir, lake) = lake_with(&build("b1", "r1", persons(10), vec![])).await;
    let server = serve(&lake).await;
    let mut conn = Conn::open(server.addr).await;
    for (method, template, secured) in documented(&doc) {
        let mut path = template.clone();
        while let Some(start) = path.find('{') {
            let end = path[start..].find('}').unwrap() + start;
            let value = encode(&example(&doc, &path[start + 1..end]));
            path.replace_range(start..=end, &value);
        }
        let op = &doc["paths"][&template][method.to_lowercase()];
        let body = op["requestBody"]["content"]["application/json"]["example"]
            .as_object()
            .map(|b| serde_json::to_string(b).unwrap());
        let method: Method = method.parse().unwrap();
        let (status, answer, _) = conn
            .send(method.clone(), &path, Some(TOKEN), body.as_deref())
            .await;
        assert_eq!(status, StatusCode::OK, "{method} {path}: {answer}");
        let documented_ok = op["responses"].get("200").is_some();
        assert!(documented_ok, "{method} {template} documents its 200");
        if secured {
            let (status, _, _) = conn
                .send(method.clone(), &path, None, body.as_deref())
                .await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} is secured"
            );
            assert!(
                op["responses"].get("401").is_some(),
                "{method} {template} documents its 401"
            );
        }
    }
    // An undocumented path is no route at all.
    let (status, answer, _) = conn
        .send(Method::GET, "/v1/undocumented", Some(TOKEN), None)
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_route"))
    );
    server.shutdown().await.unwrap();
}
