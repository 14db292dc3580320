//! `cdp serve`: binds, loads the current build, watches the pointer.
//!
//! ```text
//!  poll builds/current.json ──changed──▶ load every listed file (background)
//!        ▲                                   │ whole, or not at all
//!        └──── every poll_interval ◀── swap the Arc ── requests take the Arc once
//! ```
//!
//! A new build is loaded beside the one being served (memory: two builds
//! for the time of a load), then swapped in with one pointer write; a
//! request holds the `Arc` it took, so it answers from one build whatever
//! happens meanwhile. A load that fails (a file deleted by an even newer
//! build, a damaged file) leaves the served build in place and is retried,
//! at longer and longer intervals while the pointer does not change.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cdp_config::ServeConfig;
use cdp_lake::Lake;
use cdp_model::JunkList;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::{router, ServeState};
use crate::auth::Tokens;
use crate::error::{Result, ServeError};
use crate::manifest;
use crate::metrics as m;
use crate::snapshot::Snapshot;

/// What `cdp serve` needs.
pub struct ServeOptions {
    pub lake: Lake,
    /// Listen address (`127.0.0.1:0` picks a free port).
    pub listen: String,
    pub config: ServeConfig,
    /// Accepted bearer tokens (from [`ServeConfig::bearer_tokens`]).
    pub tokens: Vec<String>,
    /// Junk values, to canonicalise identifiers as the pipeline did.
    pub junk: JunkList,
}

/// A running server.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: Arc<ServeState>,
    cancel: CancellationToken,
    http: JoinHandle<std::io::Result<()>>,
    watcher: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting, finishes requests in flight, stops watching.
    pub async fn shutdown(self) -> Result<()> {
        self.cancel.cancel();
        self.wait().await
    }

    /// Runs until `cancel` (given to [`start`]) is cancelled.
    pub async fn wait(self) -> Result<()> {
        let served = self
            .http
            .await
            .map_err(|e| ServeError::Internal(format!("server task: {e}")))?;
        self.cancel.cancel();
        let _ = self.watcher.await;
        served.map_err(|source| ServeError::Listen {
            addr: self.addr.to_string(),
            source,
        })
    }
}

/// Binds, starts the watcher (which loads the current build) and serves
/// until `cancel`. The API answers 503 until the first build is loaded;
/// `/healthz` says when it is.
pub async fn start(options: ServeOptions, cancel: CancellationToken) -> Result<RunningServer> {
    if options.tokens.is_empty() {
        return Err(ServeError::Argument {
            arg: "tokens",
            reason: format!(
                "no bearer tokens: set {} (comma-separated) or [serve] tokens",
                options.config.tokens_env
            ),
        });
    }
    let state = Arc::new(ServeState::new(
        options.junk,
        Tokens::new(&options.tokens),
        options.config.page_size,
        options.config.max_page_size,
    ));
    let listener = tokio::net::TcpListener::bind(&options.listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: options.listen.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Listen {
        addr: options.listen.clone(),
        source,
    })?;
    let watcher = tokio::spawn(watch(
        options.lake,
        state.clone(),
        Duration::from_millis(options.config.poll_interval_ms),
        cancel.clone(),
    ));
    let app = router(state.clone());
    let shutdown = cancel.clone();
    let http = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    });
    tracing::info!(%addr, "cdp serve listening");
    Ok(RunningServer {
        addr,
        state,
        cancel,
        http,
        watcher,
    })
}

/// Polls the build pointer and swaps in each new build once loaded whole.
async fn watch(lake: Lake, state: Arc<ServeState>, poll: Duration, cancel: CancellationToken) {
    let prometheus = m::handle();
    let mut loaded: Option<bytes::Bytes> = None;
    // The pointer whose load failed, how often, and polls to wait.
    let mut failed: Option<(bytes::Bytes, u32)> = None;
    let mut wait_polls = 0u32;
    let mut polls = 0u64;
    loop {
        polls += 1;
        if polls.is_multiple_of(16) {
            prometheus.run_upkeep();
        }
        if wait_polls > 0 {
            wait_polls -= 1;
        } else {
            match manifest::read_current(&lake).await {
                Ok(None) => {
                    if polls == 1 {
                        tracing::warn!(lake = %lake.url(), "no build yet ({}): the API answers 503 until one appears", manifest::BUILD_MANIFEST);
                    }
                }
                Ok(Some((manifest, bytes))) if loaded.as_ref() != Some(&bytes) => {
                    let build_id = manifest.build_id.clone();
                    tracing::info!(build_id = %build_id, "loading build");
                    match Snapshot::load(&lake, manifest).await {
                        Ok(snapshot) => {
                            record_build(&snapshot);
                            let replaced = state.swap(snapshot);
                            loaded = Some(bytes);
                            failed = None;
                            // Freeing a build takes a while: not on a request worker.
                            if let Some(old) = replaced {
                                tokio::task::spawn_blocking(move || drop(old));
                            }
                        }
                        Err(e) => {
                            metrics::counter!(m::BUILD_LOADS, "outcome" => "error").increment(1);
                            let attempts = match &failed {
                                Some((b, n)) if *b == bytes => n + 1,
                                _ => 1,
                            };
                            // 1, 2, 4, … polls, at most 64, while the pointer stays.
                            wait_polls = 1 << attempts.min(6);
                            tracing::error!(build_id = %build_id, attempts, error = %e, "cannot load build; still serving the previous one");
                            failed = Some((bytes, attempts));
                        }
                    }
                }
                Ok(Some(_)) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read the build pointer"),
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

fn record_build(s: &Snapshot) {
    metrics::counter!(m::BUILD_LOADS, "outcome" => "ok").increment(1);
    metrics::histogram!(m::BUILD_LOAD_SECONDS).record(s.load_seconds);
    metrics::gauge!(m::BUILD_PROFILES).set(s.counts.profiles as f64);
    metrics::gauge!(m::BUILD_IDENTIFIERS).set(s.counts.identifiers as f64);
    metrics::gauge!(m::BUILD_MEMORY_BYTES).set(s.memory.total_bytes as f64);
    metrics::gauge!(m::BUILD_LOADED_TIMESTAMP).set(s.loaded_at.timestamp() as f64);
    tracing::info!(
        build_id = %s.manifest.build_id,
        as_of = %s.manifest.as_of,
        profiles = s.counts.profiles,
        ltv_rows = s.counts.ltv_rows,
        tag_rows = s.counts.tag_rows,
        segments = s.counts.segments,
        identifiers = s.counts.identifiers,
        rows_not_served = s.counts.rows_not_served,
        memory_mib = s.memory.total_bytes / (1 << 20),
        bytes_per_profile = s.memory.bytes_per_profile,
        seconds = format!("{:.2}", s.load_seconds),
        "build loaded and swapped in"
    );
    if s.counts.rows_not_served > 0 {
        tracing::warn!(rows = s.counts.rows_not_served, "rows of the build are not served (null or repeated one_key, tags without a profile, unknown id types, repeated identifiers)");
    }
}
