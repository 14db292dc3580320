//! A small fixture lake (see `cdp_serve::fixture_lake`), a server over it on
//! a real loopback socket, and a real HTTP client (hyper's).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cdp_config::ServeConfig;
use cdp_lake::Lake;
use cdp_model::{IdType, JunkList};
use cdp_serve::fixture_lake::{phone_identifiers, FixtureBuild, FixtureMerge, FixturePerson};
use cdp_serve::{RunningServer, ServeOptions};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub const TOKEN: &str = "test-token-0123456789abcdef";

/// Person 1's phone, as the contract's canonical form.
pub const ALICE_PHONE: &str = "+8613800138000";
/// Person 3 is known only by the md5 of this number (an ad platform's).
pub const CAROL_NATIONAL: &str = "13900139000";
pub const BOB_PHONE: &str = "+85291234567";
pub const BOB_EMAIL: &str = "bob@example.com";

pub fn md5_hex(s: &str) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(s.as_bytes()))
}

pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// Persons of the fixture world: 1 Alice (mainland phone, openid, LTV),
/// 2 Bob (Hong Kong phone, email), 3 Carol (a phone md5 only), 4…`n`
/// mainland phones `1370000xxxx`; lifecycle `loyal` (even keys, and 1) or
/// `dormant`; value_tier `A` for 1, `B` for the others.
pub fn persons(n: i64) -> Vec<FixturePerson> {
    let lifecycle = |k: i64| {
        if k == 1 || k % 2 == 0 {
            "loyal"
        } else {
            "dormant"
        }
    };
    (1..=n)
        .map(|k| {
            let identifiers = match k {
                1 => {
                    let mut ids = phone_identifiers("13800138000");
                    ids.push((IdType::Openid, "o-alice-WX".into()));
                    ids
                }
                2 => vec![
                    (IdType::Phone, BOB_PHONE.into()),
                    (IdType::Email, BOB_EMAIL.into()),
                ],
                3 => vec![(IdType::PhoneMd5, md5_hex(CAROL_NATIONAL))],
                _ => phone_identifiers(&format!("1370000{k:04}")),
            };
            FixturePerson {
                one_key: k,
                identifiers,
                orders: k % 5,
                net_revenue_fen: k * 1234,
                first_channel_code: (k % 3 != 0).then(|| format!("store_SZ00{}_qr", k % 3)),
                stores_visited: if k % 2 == 0 {
                    vec!["SZ001".into(), "SZ002".into()]
                } else {
                    vec![]
                },
                tags: vec![
                    ("lifecycle".into(), lifecycle(k).into()),
                    (
                        "value_tier".into(),
                        if k == 1 { "A".into() } else { "B".into() },
                    ),
                ],
                ltv: (k % 2 == 1).then(|| (0.5 + (k % 5) as f64 / 10.0, k as f64 * 10.0)),
            }
        })
        .collect()
}

pub fn build(
    build_id: &str,
    run: &str,
    persons: Vec<FixturePerson>,
    merges: Vec<FixtureMerge>,
) -> FixtureBuild {
    FixtureBuild {
        build_id: build_id.into(),
        as_of: "2026-11-30".into(),
        identity_run_id: run.into(),
        persons,
        merges,
        // Several files per table: readers must take every listed file.
        rows_per_file: 16,
    }
}

pub async fn lake_with(build: &FixtureBuild) -> (tempfile::TempDir, Lake) {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
    cdp_serve::fixture_lake::write_and_publish(&lake, build)
        .await
        .unwrap();
    (dir, lake)
}

/// A server over `lake`, polling the build pointer every 20 ms, once it
/// serves a build.
pub async fn serve(lake: &Lake) -> RunningServer {
    capture_logs();
    let server = cdp_serve::start(
        ServeOptions {
            lake: lake.clone(),
            listen: "127.0.0.1:0".into(),
            config: ServeConfig {
                poll_interval_ms: 20,
                page_size: 10,
                max_page_size: 100,
                ..Default::default()
            },
            tokens: vec![TOKEN.into(), "second-token-0123456789".into()],
            junk: JunkList::default(),
        },
        CancellationToken::new(),
    )
    .await
    .unwrap();
    wait_for_build(server.addr, None).await;
    server
}

/// Waits until `/healthz` reports a build (`build_id` when given). A guard
/// against hanging, not a timing assertion.
pub async fn wait_for_build(addr: SocketAddr, build_id: Option<&str>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, body) = get(addr, "/healthz", None).await;
        if status == StatusCode::OK
            && build_id.is_none_or(|b| body["build"]["build_id"].as_str() == Some(b))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no build {build_id:?} served: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One keep-alive HTTP/1.1 connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Self {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        Self { sender }
    }

    /// Sends a request; the answer's status and body (JSON when it parses,
    /// else a JSON string of the text).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (StatusCode, Value, hyper::HeaderMap) {
        self.sender.ready().await.unwrap();
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, "127.0.0.1");
        if let Some(t) = token {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if body.is_some() {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default().to_string())))
            .unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value, headers)
    }
}

pub async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let (status, body, _) = Conn::open(addr)
        .await
        .send(Method::GET, path, token, None)
        .await;
    (status, body)
}

/// A path segment percent-encoded (`+86 138-0013-8000` → `%2B86%20138-0013-8000`).
pub fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Everything logged by this test process, at every level (servers run
/// on the tests' runtimes, so one global subscriber sees all of them).
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.get().expect("capture_logs ran").lock().unwrap()).into_owned()
}

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buffer.clone());
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        buffer
    });
}

/// Writes `events` into the lake as one ingest run, then runs the identity
/// stage itself (`cdp resolve`) over them: identity_map and identity_merges
/// as cdp-identity writes them.
pub async fn ingest_and_resolve(
    lake: &Lake,
    ingest_run: &str,
    events: &[cdp_model::CanonicalEvent],
) -> cdp_identity::ResolveSummary {
    let mut writer = cdp_lake::EventWriter::open(
        lake.clone(),
        ingest_run,
        cdp_lake::event_writer::EventWriterOptions::default(),
    )
    .await
    .unwrap();
    for e in events {
        writer.offer(e).await.unwrap();
    }
    writer.flush().await.unwrap();
    cdp_identity::resolve(lake, &cdp_config::IdentityConfig::default())
        .await
        .unwrap()
}

/// One online event at 2026-11-01 + `minutes` carrying `identifiers`
/// (canonical, as ingest leaves them).
pub fn event(
    event_id: &str,
    minutes: i64,
    identifiers: &[(IdType, String)],
) -> cdp_model::CanonicalEvent {
    let mut e = cdp_model::CanonicalEvent::new(
        event_id.into(),
        "online".into(),
        "page_view".into(),
        1_793_491_200_000_000 + minutes * 60_000_000,
        cdp_model::Provenance::file_line("test.jsonl", minutes),
    );
    e.identifiers = identifiers
        .iter()
        .map(|(t, v)| cdp_model::Identifier::new(*t, v))
        .collect();
    e.identifiers.sort();
    e.identifiers.dedup();
    e
}

/// The current identity_map of `cdp resolve` (`identity/current.json`):
/// its files, and `TYPE:VALUE` → one_key.
pub async fn resolved_identity_map(lake: &Lake) -> (Vec<String>, BTreeMap<String, i64>) {
    use arrow::array::AsArray;
    let manifest = cdp_identity::state::Manifest::load(lake)
        .await
        .unwrap()
        .expect("resolved");
    let mut keys = BTreeMap::new();
    for file in &manifest.identity_map {
        let bytes = lake.get(file).await.unwrap();
        for b in cdp_lake::parquet_io::decode(file, bytes, None).unwrap() {
            let t = b.column_by_name("id_type").unwrap().as_string::<i32>();
            let v = b.column_by_name("id_value").unwrap().as_string::<i32>();
            let k = b
                .column_by_name("one_key")
                .unwrap()
                .as_primitive::<arrow::datatypes::Int64Type>();
            for i in 0..b.num_rows() {
                keys.insert(format!("{}:{}", t.value(i), v.value(i)), k.value(i));
            }
        }
    }
    (manifest.identity_map, keys)
}

/// A build over the identity graph `cdp resolve` left: one profile per
/// one_key of its identity_map (the fixture's columns and tags of
/// [`persons`], `orders` from `orders_of`), listing identity's identity_map
/// files; published as the current build.
pub async fn build_over_resolved_identity(
    lake: &Lake,
    build_id: &str,
    orders_of: impl Fn(i64) -> i64,
) -> cdp_serve::BuildManifest {
    let (files, keys) = resolved_identity_map(lake).await;
    let distinct: std::collections::BTreeSet<i64> = keys.values().copied().collect();
    let people = distinct
        .into_iter()
        .map(|k| {
            let mut p = persons(1).remove(0);
            p.one_key = k;
            p.identifiers.clear();
            p.orders = orders_of(k);
            p
        })
        .collect();
    let build = build(build_id, "unused", people, vec![]);
    let manifest = cdp_serve::fixture_lake::write_build_over(lake, &build, files)
        .await
        .unwrap();
    cdp_serve::fixture_lake::publish(lake, &manifest)
        .await
        .unwrap();
    manifest
}
