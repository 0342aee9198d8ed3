//! Running the API on a socket: binding, the readiness line, graceful shutdown.

use std::time::Duration;

use tokio::net::TcpListener;

use crate::api;
use crate::config::Config;
use crate::registry::App;

/// Serve until SIGTERM or Ctrl-C, then stop accepting, give in-flight requests
/// `limits.shutdown_grace_secs` to finish, and return. Upload sessions stay resumable.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let grace = Duration::from_secs(config.limits.shutdown_grace_secs);
    let listen = config.listen;
    let app = App::open(config).await?;
    app.spawn_maintenance();
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "arca listening");
    // The one line on stdout: tests and scripts wait for it.
    println!("arca listening on http://{addr}");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut stop_wait = stop_rx.clone();
    let server = axum::serve(listener, api::router(app)).with_graceful_shutdown(async move {
        let _ = stop_wait.wait_for(|s| *s).await;
    });
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        r = &mut server => return r.map_err(Into::into),
        _ = shutdown_signal() => {}
    }
    tracing::info!(
        grace_secs = grace.as_secs(),
        "shutting down: finishing in-flight requests"
    );
    let _ = stop_tx.send(true);
    match tokio::time::timeout(grace, server).await {
        Ok(r) => r?,
        Err(_) => tracing::warn!("grace period over: dropping remaining connections"),
    }
    drop(stop_rx);
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
