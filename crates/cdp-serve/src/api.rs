//! The HTTP API (`schemas/openapi.json` documents it; a test holds the two
//! together). Every `/v1` route needs a bearer token; `/healthz` and
//! `/metrics` do not (load balancers and Prometheus), and carry no personal
//! data.
//!
//! Each request takes the build being served once (an `Arc`) and answers
//! from it alone, so a build swapped in meanwhile is never mixed in.
//!
//! No personal data in logs: requests are logged and counted by their route
//! template, never their path; errors never quote an identifier value.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use cdp_model::{IdType, JunkList};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Deserialize;

use crate::auth::Tokens;
use crate::metrics as m;
use crate::row_json::write_str;
use crate::snapshot::{one_id, parse_one_id, Snapshot};

/// What every request handler shares.
pub struct ServeState {
    current: RwLock<Option<Arc<Snapshot>>>,
    junk: JunkList,
    tokens: Tokens,
    page_size: usize,
    max_page_size: usize,
    prometheus: PrometheusHandle,
}

impl ServeState {
    pub fn new(junk: JunkList, tokens: Tokens, page_size: usize, max_page_size: usize) -> Self {
        Self {
            current: RwLock::new(None),
            junk,
            tokens,
            page_size,
            max_page_size,
            prometheus: m::handle(),
        }
    }

    /// The build being served: one `Arc`, taken once per request.
    pub fn current(&self) -> Option<Arc<Snapshot>> {
        self.current.read().expect("lock").clone()
    }

    /// Serves `next` from now on; returns the build it replaces.
    pub fn swap(&self, next: Arc<Snapshot>) -> Option<Arc<Snapshot>> {
        self.current.write().expect("lock").replace(next)
    }
}

type AppState = Arc<ServeState>;

/// An error answer: `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    fn no_build() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_build",
            "no build loaded yet: waiting for builds/current.json (run `cdp build`)",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = b"{\"error\":{\"code\":".to_vec();
        write_str(&mut body, self.code);
        body.extend_from_slice(b",\"message\":");
        write_str(&mut body, &self.message);
        body.extend_from_slice(b"}}");
        let mut response = json_response(self.status, body);
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

pub const HEALTHZ: &str = "/healthz";
pub const METRICS: &str = "/metrics";
pub const PROFILE_BY_IDENTIFIER: &str = "/v1/profiles/{id_type}/{value}";
pub const PROFILE_BY_ONE_ID: &str = "/v1/profiles/by-one-id/{one_id}";
pub const PROFILE_LOOKUP: &str = "/v1/profiles/lookup";
pub const SEGMENTS: &str = "/v1/segments";
pub const SEGMENT: &str = "/v1/segments/{tag_group}/{tag}";

/// One route: method, path template, whether it needs a token, handler.
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub authenticated: bool,
    handler: fn(MethodFilter) -> MethodRouter<AppState>,
}

/// Every route of the API: the router is built from this list, and the
/// OpenAPI test reads it, so the two cannot drift apart.
pub fn routes() -> Vec<RouteSpec> {
    fn spec(
        method: Method,
        path: &'static str,
        authenticated: bool,
        handler: fn(MethodFilter) -> MethodRouter<AppState>,
    ) -> RouteSpec {
        RouteSpec {
            method,
            path,
            authenticated,
            handler,
        }
    }
    vec![
        spec(Method::GET, HEALTHZ, false, |f| on(f, healthz)),
        spec(Method::GET, METRICS, false, |f| on(f, metrics_text)),
        spec(Method::GET, PROFILE_BY_IDENTIFIER, true, |f| {
            on(f, profile_by_identifier)
        }),
        spec(Method::GET, PROFILE_BY_ONE_ID, true, |f| {
            on(f, profile_by_one_id)
        }),
        spec(Method::POST, PROFILE_LOOKUP, true, |f| {
            on(f, profile_lookup)
        }),
        spec(Method::GET, SEGMENTS, true, |f| on(f, segment_list)),
        spec(Method::GET, SEGMENT, true, |f| on(f, segment_page)),
    ]
}

fn filter(method: &Method) -> MethodFilter {
    MethodFilter::try_from(method.clone()).expect("routes use standard methods")
}

/// The API's router over `state`.
pub fn router(state: AppState) -> Router {
    let mut open = Router::new();
    let mut secured = Router::new();
    for r in routes() {
        let method_router = (r.handler)(filter(&r.method));
        if r.authenticated {
            secured = secured.route(r.path, method_router);
        } else {
            open = open.route(r.path, method_router);
        }
    }
    let secured = secured.route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    open.merge(secured)
        .route_layer(middleware::from_fn(track))
        .fallback(no_route)
        .with_state(state)
}

async fn no_route(method: Method) -> Response {
    metrics::counter!(m::REQUESTS, "route" => "unmatched", "status" => "404").increment(1);
    tracing::debug!(%method, route = "unmatched", status = 404, "request");
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "no such route (see schemas/openapi.json)",
    )
    .into_response()
}

/// Logs and counts a request by its route template.
async fn track(route: MatchedPath, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status();
    let route = route.as_str().to_string();
    tracing::debug!(%method, route = %route, status = status.as_u16(), micros = (seconds * 1e6) as u64, "request");
    metrics::histogram!(m::REQUEST_SECONDS, "route" => route.clone()).record(seconds);
    metrics::counter!(m::REQUESTS, "route" => route, "status" => status.as_str().to_string())
        .increment(1);
    response
}

async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    match state.tokens.check(header) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            metrics::counter!(m::AUTH_FAILURES).increment(1);
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", refusal.message())
                .into_response()
        }
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    let Some(build) = state.current() else {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            br#"{"status":"no_build"}"#.to_vec(),
        );
    };
    let body = serde_json::json!({
        "status": "ok",
        "build": {
            "build_id": build.manifest.build_id,
            "as_of": build.manifest.as_of,
            "finished_at": build.manifest.finished_at,
            "loaded_at": build.loaded_at.to_rfc3339(),
            "load_seconds": build.load_seconds,
            "counts": build.counts,
            "memory": build.memory,
        }
    });
    json_response(StatusCode::OK, serde_json::to_vec(&body).expect("JSON"))
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        state.prometheus.render(),
    )
        .into_response()
}

fn current(state: &ServeState) -> Result<Arc<Snapshot>, ApiError> {
    state.current().ok_or_else(ApiError::no_build)
}

/// What a valid value of each type looks like, for 400 answers.
fn expected_form(t: IdType) -> &'static str {
    match t {
        IdType::Phone => "a mainland mobile (11 digits starting with 1; +86, 86 or 0086 and spaces, dashes, dots, parentheses allowed) or + and 7 to 15 digits; placeholder numbers clerks type for customers who decline are never identifiers",
        IdType::PhoneMd5 | IdType::IdfaMd5 | IdType::OaidMd5 | IdType::ImeiMd5 => {
            "32 hexadecimal digits (either case); the md5 of an empty or placeholder value is never an identifier"
        }
        IdType::PhoneSha256 => {
            "64 hexadecimal digits (either case); the sha256 of an empty or placeholder value is never an identifier"
        }
        IdType::Email => "an address with a local part, @ and a domain, without spaces",
        IdType::Idfa | IdType::Oaid => {
            "an advertising id; all-zero ids (tracking disabled) are never identifiers"
        }
        _ => "a non-empty value; null, none, unknown, undefined, (null), 0 and -1 are never identifiers",
    }
}

fn known_types() -> String {
    IdType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Canonicalises `raw` as the contract says and finds its person.
fn find_person(state: &ServeState, id_type: &str, raw: &str) -> Result<Response, ApiError> {
    let t: IdType = id_type.parse().map_err(|_| {
        let shown: String = id_type.chars().take(40).collect();
        ApiError::bad_request(format!(
            "unknown identifier type {shown:?}: expected one of {}",
            known_types()
        ))
    })?;
    let identifier = cdp_model::canonicalise(t, raw, &state.junk).ok_or_else(|| {
        ApiError::bad_request(format!(
            "the value is not a valid {t}: expected {}",
            expected_form(t)
        ))
    })?;
    let build = current(state)?;
    let one_key = build.identity.lookup(t, &identifier.value).ok_or_else(|| {
        ApiError::not_found(format!(
            "no one_id has this {t} in build {}",
            build.build_id()
        ))
    })?;
    let mut body = Vec::with_capacity(2048);
    build.write_person(&mut body, one_key, Some((t.as_str(), &identifier.value)));
    Ok(json_response(StatusCode::OK, body))
}

fn bad_path(rejection: PathRejection) -> ApiError {
    // Rejections may quote the path: say what is wrong without it.
    let _ = rejection;
    ApiError::bad_request("the path is not valid UTF-8 after percent-decoding")
}

async fn profile_by_identifier(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((id_type, value)) = path.map_err(bad_path)?;
    find_person(&state, &id_type, &value)
}

#[derive(Deserialize)]
struct LookupBody {
    id_type: String,
    value: String,
}

/// The same lookup with the identifier in the body: URLs end up in proxies'
/// access logs, bodies do not.
async fn profile_lookup(
    State(state): State<AppState>,
    body: Result<Json<LookupBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|_| {
        ApiError::bad_request(
            "the body must be JSON {\"id_type\": string, \"value\": string} with Content-Type: application/json",
        )
    })?;
    find_person(&state, &body.id_type, &body.value)
}

async fn profile_by_one_id(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(text) = path.map_err(bad_path)?;
    let one_key = parse_one_id(&text).ok_or_else(|| {
        ApiError::bad_request(
            "not a one_id: expected OID followed by 12 digits, e.g. OID000000012345",
        )
    })?;
    let build = current(&state)?;
    if !build.knows(one_key) {
        return Err(ApiError::not_found(format!(
            "{} is not in build {}",
            one_id(one_key),
            build.build_id()
        )));
    }
    let mut body = Vec::with_capacity(2048);
    build.write_person(&mut body, one_key, None);
    Ok(json_response(StatusCode::OK, body))
}

#[derive(Deserialize)]
struct PageQuery {
    cursor: Option<String>,
    limit: Option<usize>,
}

async fn segment_page(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path((tag_group, tag)) = path.map_err(bad_path)?;
    let Query(query) = query.map_err(|_| {
        ApiError::bad_request("bad query: expected cursor=<next_cursor of the previous page> and limit=<1…max page size>")
    })?;
    let limit = query.limit.unwrap_or(state.page_size);
    if limit == 0 || limit > state.max_page_size {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {}",
            state.max_page_size
        )));
    }
    let after = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(parse_one_id(c).ok_or_else(|| {
            ApiError::bad_request(
                "cursor is not a one_id: pass the next_cursor of the previous page",
            )
        })?),
    };
    let build = current(&state)?;
    let page = build
        .segment_page(&tag_group, &tag, after, limit)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "build {} has no segment {tag_group:?} = {tag:?} (GET /v1/segments lists them)",
                build.build_id()
            ))
        })?;
    let mut body = Vec::with_capacity(64 + 20 * page.one_keys.len());
    body.extend_from_slice(b"{\"tag_group\":");
    write_str(&mut body, &tag_group);
    body.extend_from_slice(b",\"tag\":");
    write_str(&mut body, &tag);
    body.extend_from_slice(b",\"build\":{\"build_id\":");
    write_str(&mut body, build.build_id());
    body.extend_from_slice(b",\"as_of\":");
    write_str(&mut body, &build.manifest.as_of);
    body.extend_from_slice(format!("}},\"total\":{},\"one_ids\":[", page.total).as_bytes());
    for (i, k) in page.one_keys.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        write_str(&mut body, &one_id(*k));
    }
    body.extend_from_slice(b"],\"next_cursor\":");
    match (page.more, page.one_keys.last()) {
        (true, Some(last)) => write_str(&mut body, &one_id(*last)),
        _ => body.extend_from_slice(b"null"),
    }
    body.push(b'}');
    Ok(json_response(StatusCode::OK, body))
}

async fn segment_list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let build = current(&state)?;
    let body = serde_json::json!({
        "build": {"build_id": build.build_id(), "as_of": build.manifest.as_of},
        "segments": build.segment_counts(),
    });
    Ok(json_response(
        StatusCode::OK,
        serde_json::to_vec(&body).expect("JSON"),
    ))
}
