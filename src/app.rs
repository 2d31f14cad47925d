//! Wiring: from a compiled config to running listeners, and back down again.
//!
//! `start` binds both listeners (so tests can use port 0 and read the real addresses),
//! starts the key refresher and the servers, and returns a [`Running`] handle. `run` is what
//! the binary does: start, wait for SIGTERM/SIGINT, drain, exit.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin::{self, AdminState};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::reload::{self, Outcome, ReloadError, Reloader};
use crate::revocation::sync::{self, SyncConfig};
use crate::revocation::Revocations;
use crate::server;
use crate::snapshot::{build_snapshot, BuildError, Shared};

/// Why doorman could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr} ({what}): {source}; free the port or change {what}")]
    Bind {
        addr: SocketAddr,
        what: &'static str,
        source: std::io::Error,
    },
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("revocation: {0}")]
    Revocation(String),
    #[error("crypto self-test failed: {0}")]
    SelfTest(String),
}

/// Start-up options that are not in the config file.
pub struct Options {
    /// The wall clock used for token checks.
    pub clock: Arc<dyn Clock>,
    /// The file the config came from: enables reloads (file watch and [`Running::reload`]).
    pub config_path: Option<PathBuf>,
    /// Reload on SIGHUP (the binary; tests leave it off).
    pub sighup: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            clock: Arc::new(SystemClock),
            config_path: None,
            sighup: false,
        }
    }
}

/// A running doorman.
pub struct Running {
    /// The public listener's bound address.
    pub addr: SocketAddr,
    /// The admin listener's bound address.
    pub admin_addr: SocketAddr,
    /// The forward-auth listener's bound address, when `[forward_auth]` is configured.
    pub forward_auth_addr: Option<SocketAddr>,
    pub shared: Arc<Shared>,
    /// Present when started from a file.
    pub reloader: Option<Arc<Reloader>>,
    draining: Arc<AtomicBool>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
    tasks: Vec<JoinHandle<()>>,
}

/// Binds the listeners and starts serving. Static keys (PEM, file) are loaded before this
/// returns; a JWKS URL is fetched in the background and `/readyz` says when keys arrived.
pub async fn start(config: Config, options: Options) -> Result<Running, StartError> {
    crate::token::self_test().map_err(|e| StartError::SelfTest(e.to_string()))?;
    let metrics = Arc::new(Metrics::new());
    // Tracing is process-wide: the first config with [telemetry] otlp_endpoint starts it.
    crate::telemetry::otel::init(&config.telemetry);
    metrics.set_config(&config.hash, None);
    let listener = bind(config.server.listen, "server.listen").await?;
    let admin_listener = bind(config.server.admin_listen, "server.admin_listen").await?;
    let forward_auth_listener = match &config.forward_auth {
        Some(fa) => Some(bind(fa.listen, "forward_auth.listen").await?),
        None => None,
    };
    let addr = local_addr(&listener, config.server.listen);
    let forward_auth_addr = forward_auth_listener
        .as_ref()
        .zip(config.forward_auth.as_ref())
        .map(|(l, fa)| local_addr(l, fa.listen));
    let admin_addr = local_addr(&admin_listener, config.server.admin_listen);
    let grace = config.server.shutdown_grace;
    let (shutdown, rx) = watch::channel(false);
    let revocations = Arc::new(Revocations::new(
        i64::try_from(config.revocation.ttl.as_secs()).unwrap_or(120),
    ));
    let sync = match &config.revocation.redis_url {
        Some(url) => Some(
            sync::start(
                SyncConfig {
                    url: url.clone(),
                    prefix: config.revocation.prefix.clone(),
                },
                revocations.clone(),
                options.clock.clone(),
                metrics.clone(),
                rx.clone(),
            )
            .map_err(StartError::Revocation)?,
        ),
        None => None,
    };
    let snapshot = build_snapshot(config, &metrics, &options.clock, None).await?;
    let shared = Arc::new(Shared {
        snapshot: ArcSwap::from_pointee(snapshot),
        metrics,
        clock: options.clock,
        revocations,
        sync,
    });
    let draining = Arc::new(AtomicBool::new(false));
    let mut tasks = vec![tokio::spawn(admin::serve(
        admin_listener,
        Arc::new(AdminState {
            shared: shared.clone(),
            draining: draining.clone(),
        }),
        rx.clone(),
    ))];
    let reloader = options.config_path.map(|path| {
        let reloader = Arc::new(Reloader::new(path, shared.clone()));
        tasks.extend(reload::spawn_triggers(
            reloader.clone(),
            true,
            options.sighup,
            rx.clone(),
        ));
        reloader
    });
    if let Some(listener) = forward_auth_listener {
        // The authorizer's own listener: plain HTTP, never the public TLS settings.
        tasks.push(tokio::spawn(server::serve_with(
            listener,
            shared.clone(),
            rx.clone(),
            grace,
            |shared, req, peer, _tls| crate::forward_auth::handle(shared, req, peer),
            false,
        )));
    }
    let server = tokio::spawn(server::serve(listener, shared.clone(), rx, grace));
    Ok(Running {
        addr,
        admin_addr,
        forward_auth_addr,
        shared,
        reloader,
        draining,
        shutdown,
        server,
        tasks,
    })
}

async fn bind(addr: SocketAddr, what: &'static str) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, what, source })
}

fn local_addr(listener: &TcpListener, fallback: SocketAddr) -> SocketAddr {
    listener.local_addr().unwrap_or(fallback)
}

impl Running {
    /// True once signing keys are usable.
    pub fn ready(&self) -> bool {
        self.shared.snapshot.load().keys.ready()
    }

    /// Waits until keys are usable or `timeout` passes; returns readiness.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.ready() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Reloads the config file now (as SIGHUP does); `None` when not started from a file.
    pub async fn reload(&self) -> Option<Result<Outcome, ReloadError>> {
        Some(self.reloader.as_ref()?.reload(true).await)
    }

    /// Graceful stop: readiness goes 503, the listener closes, in-flight requests finish
    /// (up to the grace period), background tasks end.
    pub async fn shutdown(self) {
        self.draining.store(true, Ordering::SeqCst);
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
        for task in self.tasks {
            task.abort();
        }
        crate::telemetry::otel::flush();
        crate::access_log::writer::flush();
    }
}

/// Runs the config at `path` until SIGTERM or SIGINT, then shuts down gracefully; reloads
/// on SIGHUP and when the file changes.
pub async fn run(config: Config, path: PathBuf) -> Result<(), StartError> {
    for w in &config.warnings {
        tracing::warn!("config: {w}");
    }
    let options = Options {
        config_path: Some(path),
        sighup: true,
        ..Options::default()
    };
    let running = start(config, options).await?;
    tracing::info!(listen = %running.addr, admin = %running.admin_addr, "doorman is serving");
    wait_for_signal().await;
    tracing::info!("shutting down: draining in-flight requests");
    running.shutdown().await;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
