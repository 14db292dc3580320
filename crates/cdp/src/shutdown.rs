//! One cancellation token for the whole process, cancelled by SIGTERM or
//! SIGINT: long-running stages flush what they hold and return.

use tokio_util::sync::CancellationToken;

/// A token cancelled on the first SIGTERM or SIGINT.
pub fn on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: flushing and stopping"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: flushing and stopping"),
        }
        cancel.cancel();
    });
    token
}
