//! Accepting connections: HTTP/1.1 and HTTP/2 on one listener, plaintext (HTTP/2 by prior
//! knowledge) or TLS (HTTP/2 and HTTP/1.1 by ALPN; the certificate is taken from the current
//! config snapshot, so a reload replaces it for new connections without dropping any).
//!
//! Owns the accept loop, per-connection limits (open connections, header read timeout and
//! TLS handshake time, head size, HTTP/2 streams, the response write timeout of
//! [`watchdog`], the HTTP/2 PING and SETTINGS flood limits of [`flood`] applied by the IO
//! adapter of [`guard`]) and graceful shutdown: on the shutdown signal it stops accepting, lets in-flight requests
//! finish for up to the grace period, then returns. Plain HTTP/1.1 connections of the public
//! listener start in doorman's own loop ([`h1`]), which hands a connection to hyper at the
//! first request it does not serve itself. It knows nothing about auth; every request goes
//! to [`crate::proxy::handle`].

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::proxy::handle_hyper;
use crate::snapshot::Shared;

pub mod flood;
pub mod guard;
pub mod h1;
pub mod transport;
pub mod watchdog;

use guard::GuardedIo;
use transport::Transport;
use watchdog::{Progress, WatchedBody};

/// Serves the public listener until `shutdown` turns true, then drains for `grace`.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    serve_with(listener, shared, shutdown, grace, handle_hyper, true).await;
}

/// Serves `listener` with `handler` for every request (the proxy, or the forward-auth
/// authorizer), with the same connection limits; `public`: the public listener, whose TLS
/// settings apply when configured and whose plain HTTP/1.1 connections start in doorman's
/// own loop ([`h1`], which hands the proxy its requests) unless `[server] http1 = "hyper"`. The handler is told the peer and whether its connection is
/// TLS (passed along rather than stored in each request's extensions, which would cost
/// three allocations per request).
pub async fn serve_with<H, F>(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
    handler: H,
    public: bool,
) where
    H: Fn(Arc<Shared>, Request<Incoming>, std::net::SocketAddr, bool) -> F
        + Copy
        + Send
        + Sync
        + 'static,
    F: std::future::Future<Output = Result<http::Response<crate::respond::Body>, Infallible>>
        + Send
        + 'static,
{
    let use_tls = public;
    let graceful = GracefulShutdown::new();
    let open = Arc::new(AtomicUsize::new(0));
    let drained = Arc::new(tokio::sync::Notify::new());
    loop {
        let (mut stream, peer) = tokio::select! {
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
        let snapshot = shared.snapshot.load();
        let limits = &snapshot.config.limits;
        if open.load(Ordering::Relaxed) >= limits.max_connections {
            shared.metrics.limit("max_connections");
            let tls = use_tls && snapshot.tls.is_some();
            tokio::spawn(async move {
                // Plain HTTP gets a 503; a TLS client just sees the connection close.
                if !tls {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(1),
                        stream.write_all(crate::respond::OVER_CAPACITY),
                    )
                    .await;
                }
                let _ = stream.shutdown().await;
            });
            continue;
        }
        let _ = stream.set_nodelay(true);
        let builder = connection_builder(limits);
        let tls = snapshot.tls.clone().filter(|_| use_tls);
        let handshake_timeout = limits.header_read_timeout;
        let write_timeout = limits.response_write_timeout;
        let flood_limits = limits.http2_flood;
        let own_h1 = (public && snapshot.config.server.own_http1).then_some(h1::Limits {
            header_read_timeout: limits.header_read_timeout,
            max_header_bytes: limits.max_header_bytes,
            response_write_timeout: limits.response_write_timeout,
        });
        let closing = shutdown.clone();
        drop(snapshot);
        let guard = OpenConnection::new(open.clone(), drained.clone(), shared.metrics.clone());
        let watcher = graceful.watcher();
        let shared = shared.clone();
        tokio::spawn(async move {
            let _guard = guard;
            let over_tls = tls.is_some();
            // Plain HTTP/1.1 starts in doorman's own loop, which hands hyper the connection
            // (and what it read of it) at the first request it does not serve.
            let stream = match (&tls, own_h1) {
                (None, Some(limits)) => {
                    if !request_started(&stream, handshake_timeout).await {
                        return;
                    }
                    match h1::serve(stream, peer, &shared, limits, closing).await {
                        h1::End::Closed => return,
                        h1::End::Handoff(read, stream) => Transport::Resumed(read, stream),
                    }
                }
                _ => Transport::Plain(stream),
            };
            let progress = Arc::new(Progress::default());
            let metrics = shared.metrics.clone();
            let watched = progress.clone();
            let service = service_fn(move |req: Request<Incoming>| {
                let response = handler(shared.clone(), req, peer, over_tls);
                let progress = watched.clone();
                async move {
                    let response = response.await?;
                    Ok::<_, Infallible>(response.map(|body| WatchedBody::new(body, progress)))
                }
            });
            let io = |inner| GuardedIo::new(inner, progress.clone(), flood_limits, metrics.clone());
            let conn = match (tls, stream) {
                (None, stream) => {
                    // hyper's timers start once it knows the protocol: a client that sends
                    // nothing (or half an HTTP/2 preface) is cut off here instead.
                    if matches!(stream, Transport::Plain(_))
                        && !request_started(stream.tcp(), handshake_timeout).await
                    {
                        return;
                    }
                    let conn =
                        builder.serve_connection_with_upgrades(TokioIo::new(io(stream)), service);
                    watcher.watch(conn.into_owned())
                }
                (Some(config), stream) => {
                    let Transport::Plain(stream) = stream else {
                        return; // TLS connections never start in the plain loop
                    };
                    let acceptor = TlsAcceptor::from(config);
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls_stream)) => {
                            let conn = builder.serve_connection_with_upgrades(
                                TokioIo::new(io(Transport::Tls(Box::new(tls_stream)))),
                                service,
                            );
                            watcher.watch(conn.into_owned())
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            // A client that stopped reading its response loses the connection; dropping it
            // drops the response bodies and with them the upstream exchanges.
            let result = tokio::select! {
                result = conn => result,
                () = watchdog::stalled(&progress, write_timeout) => {
                    metrics.limit("response_write_timeout");
                    tracing::debug!(%peer, "response write timeout: the client stopped reading");
                    return;
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        // hyper's connections finish their requests and close; doorman's own loop closes
        // each connection after its request in flight (`h1`): all are counted in `open`.
        _ = async {
            graceful.shutdown().await;
            all_closed(&open, &drained).await;
        } => {}
        _ = tokio::time::sleep(grace) => {
            tracing::warn!(?grace, "shutdown grace period over; closing remaining connections");
        }
    }
}

/// The HTTP/2 connection preface.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Waits (up to `timeout`) until the client has sent enough to tell HTTP/1 from HTTP/2:
/// a byte that cannot start the HTTP/2 preface, or the whole preface. False when the client
/// stayed silent, closed, or stopped part-way through the preface.
async fn request_started(stream: &tokio::net::TcpStream, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buf = [0u8; 24];
    loop {
        let peeked = tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await;
        let n = match peeked {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return false,
            Ok(Ok(n)) => n,
        };
        if n == H2_PREFACE.len() || buf.get(..n) != H2_PREFACE.get(..n) {
            return true;
        }
        // A partial preface: more bytes are on their way, or never will be.
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn connection_builder(limits: &crate::config::Limits) -> auto::Builder<TokioExecutor> {
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
        .max_concurrent_streams(limits.http2_max_concurrent_streams)
        // A peer that stops answering pings (or never speaks after its preface) is closed.
        .keep_alive_interval(Some(limits.header_read_timeout))
        .keep_alive_timeout(limits.header_read_timeout);
    builder
}

/// Counts one open connection (the limit and the gauge) for as long as it lives.
struct OpenConnection {
    open: Arc<AtomicUsize>,
    /// Told when the last open connection closes.
    drained: Arc<tokio::sync::Notify>,
    metrics: Arc<crate::metrics::Metrics>,
}

/// Returns once no connection is open.
async fn all_closed(open: &AtomicUsize, drained: &tokio::sync::Notify) {
    loop {
        let notified = drained.notified();
        let mut notified = std::pin::pin!(notified);
        // Registered before the count is read, so a close in between is not missed.
        notified.as_mut().enable();
        if open.load(Ordering::Acquire) == 0 {
            return;
        }
        notified.await;
    }
}

impl OpenConnection {
    fn new(
        open: Arc<AtomicUsize>,
        drained: Arc<tokio::sync::Notify>,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        metrics.open_connections.inc();
        OpenConnection {
            open,
            drained,
            metrics,
        }
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        if self.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.drained.notify_waiters();
        }
        self.metrics.open_connections.dec();
    }
}
