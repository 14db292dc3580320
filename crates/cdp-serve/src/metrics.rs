//! Prometheus metrics of `cdp serve`: names as constants, so dashboards and
//! alerts have one place to look them up. Labels never carry personal data:
//! routes are templates (`/v1/profiles/{id_type}/{value}`), never paths.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered, per `route` (template) and `status`.
pub const REQUESTS: &str = "cdp_serve_requests_total";
/// Seconds from request to response, per `route`.
pub const REQUEST_SECONDS: &str = "cdp_serve_request_seconds";
/// Requests refused for a missing or bad bearer token.
pub const AUTH_FAILURES: &str = "cdp_serve_auth_failures_total";
/// Profiles of the build being served.
pub const BUILD_PROFILES: &str = "cdp_serve_build_profiles";
/// Identifiers (identity_map rows) of the build being served.
pub const BUILD_IDENTIFIERS: &str = "cdp_serve_build_identifiers";
/// Bytes the served build holds in memory (measured from its structures).
pub const BUILD_MEMORY_BYTES: &str = "cdp_serve_build_memory_bytes";
/// Unix time the served build was loaded.
pub const BUILD_LOADED_TIMESTAMP: &str = "cdp_serve_build_loaded_timestamp_seconds";
/// Builds loaded, per `outcome` (`ok`, `error`).
pub const BUILD_LOADS: &str = "cdp_serve_build_loads_total";
/// Seconds to load a build.
pub const BUILD_LOAD_SECONDS: &str = "cdp_serve_build_load_seconds";

/// Latency buckets: the API's goal is p99 < 5 ms.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use. When another
/// recorder is already installed (an embedding program's), `/metrics` of
/// this one stays empty rather than failing the server.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(REQUEST_SECONDS.into()), &LATENCY_BUCKETS)
                .expect("latency buckets are not empty");
            match builder.install_recorder() {
                Ok(handle) => handle,
                Err(e) => {
                    tracing::warn!("another metrics recorder is installed ({e}); /metrics of cdp serve stays empty");
                    PrometheusBuilder::new().build_recorder().handle()
                }
            }
        })
        .clone()
}
