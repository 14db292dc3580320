//! The load benchmark's peer (`benches/serve_load.sh`): the same HTTP stack
//! as `cdp serve` (axum on hyper 1, tokio's multi-threaded runtime, the same
//! constant-time bearer check) answering every `/v1/…` request with one fixed
//! JSON document of a profile's size, without any lookup. The gap between
//! its figures and `cdp serve`'s is what the lookups and the JSON cost; the
//! rest is HTTP on loopback on this machine.
//!
//! ```sh
//! CDP_SERVE_TOKENS=$TOKEN cargo run --release -p cdp-serve --example static_peer -- 127.0.0.1:18481 BODY.json
//! ```

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use subtle::ConstantTimeEq;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:18481".into());
    // A real answer of `cdp serve` (the benchmark saves one), or a stand-in.
    let body = match args.next() {
        Some(path) => Bytes::from(std::fs::read(path).expect("body file")),
        None => Bytes::from(format!(
            "{{\"one_id\":\"OID000000000001\",\"pad\":\"{}\"}}",
            "x".repeat(1500)
        )),
    };
    let token = std::env::var("CDP_SERVE_TOKENS").expect("CDP_SERVE_TOKENS");
    let expected = format!("Bearer {token}");
    let answer = move |request: Request| {
        let (body, expected) = (body.clone(), expected.clone());
        async move {
            let presented = request
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if !bool::from(presented.ct_eq(expected.as_bytes())) {
                return StatusCode::UNAUTHORIZED.into_response();
            }
            Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(axum::body::Body::from(body))
                .unwrap()
        }
    };
    let app = Router::new()
        .route("/healthz", get(|| async { "{\"status\":\"ok\"}" }))
        .fallback(answer);
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind");
    println!("static peer listening on http://{listen}");
    axum::serve(listener, app).await.expect("serve");
}
