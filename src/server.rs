//! Accepting connections: HTTP/1.1 and HTTP/2 (prior knowledge) on one plaintext listener.
//!
//! Owns the accept loop, per-connection limits (header read timeout, head size) and
//! graceful shutdown: on the shutdown signal it stops accepting, lets in-flight requests
//! finish for up to the grace period, then returns. It knows nothing about auth; every
//! request goes to [`crate::proxy::handle`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::proxy::{handle, Shared};

/// Serves the public listener until `shutdown` turns true, then drains for `grace`.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let builder = connection_builder(&shared);
        let shared = shared.clone();
        let metrics = shared.metrics.clone();
        let service = service_fn(move |req| handle(shared.clone(), req, peer));
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(count_connection(metrics, peer, conn));
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(grace) => {
            tracing::warn!(?grace, "shutdown grace period over; closing remaining connections");
        }
    }
}

fn connection_builder(shared: &Shared) -> auto::Builder<TokioExecutor> {
    let snapshot = shared.snapshot.load();
    let limits = &snapshot.config.limits;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(256);
    builder
}

async fn count_connection<F, E>(metrics: Arc<crate::metrics::Metrics>, peer: SocketAddr, conn: F)
where
    F: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    metrics.open_connections.inc();
    if let Err(e) = conn.await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
    metrics.open_connections.dec();
}
