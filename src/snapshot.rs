//! The run-time state: one [`Snapshot`] per compiled config, and the [`Shared`] state every
//! connection holds (the current snapshot behind an atomic swap, metrics, the clock,
//! revocations).
//!
//! Owns how a snapshot is built from a config ([`build_snapshot`]), both at start and on
//! reload, and what carries over from the previous one. It never binds a socket or serves a
//! request: `app` starts listeners, `reload` swaps snapshots, `proxy` reads them.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::assertion::Assertions;
use crate::authn::exchange::Exchanger;
use crate::cache::{spawn_sweeper, TokenCache};
use crate::clock::Clock;
use crate::config::{Config, KeySource};
use crate::jwks::{KeyLoadError, KeyStore};
use crate::metrics::{Metrics, RouteMetrics};
use crate::revocation::sync::SyncHandle;
use crate::revocation::Revocations;
use crate::upstream::Upstreams;
use crate::webhook::Endpoint;

/// Everything one config needs at run time.
pub struct Snapshot {
    pub config: Config,
    pub upstreams: Arc<Upstreams>,
    pub keys: Arc<KeyStore>,
    /// Verified tokens of this config (`None` when `[cache] enabled = false`).
    pub tokens: Option<Arc<TokenCache>>,
    /// Request metric handles by route name and decision.
    pub route_metrics: RouteMetrics,
    /// The Backend API client for handshake nonces, when the handshake is configured.
    pub exchanger: Option<Exchanger>,
    /// The Clerk webhook endpoint, when `[webhooks]` is configured.
    pub webhook: Option<Endpoint>,
    /// The public listener's TLS settings, when `[server] tls_cert` is set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The signed identity assertion, when `[assertion]` is configured.
    pub assertions: Option<Arc<Assertions>>,
}

/// The route name of requests refused before routing (400).
pub const INVALID_ROUTE: &str = "invalid";

/// State shared by every connection.
pub struct Shared {
    pub snapshot: ArcSwap<Snapshot>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    /// What webhooks revoked; survives reloads.
    pub revocations: Arc<Revocations>,
    /// Sharing revocations through Redis, when configured.
    pub sync: Option<SyncHandle>,
}

/// Why a config could not be turned into a running snapshot (at start or on reload).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("signing keys: {0}")]
    Keys(#[from] KeyLoadError),
    #[error("{0}")]
    Tls(String),
    #[error("{0}")]
    Upstream(String),
    #[error("Clerk handshake: {0}")]
    Handshake(String),
    #[error("{0}")]
    Assertion(#[from] crate::assertion::keys::KeyError),
}

/// Builds the run-time state for `config`. With a `previous` snapshot (a reload), keys and
/// upstream pools are reused when their settings are unchanged, and a changed key source
/// must load before the new snapshot is used; at start a JWKS URL loads in the background.
pub async fn build_snapshot(
    config: Config,
    metrics: &Arc<Metrics>,
    clock: &Arc<dyn Clock>,
    previous: Option<&Snapshot>,
) -> Result<Snapshot, BuildError> {
    let keys = match previous.filter(|p| p.config.clerk.same_keys(&config.clerk)) {
        Some(p) => p.keys.clone(),
        None => {
            let keys = Arc::new(KeyStore::new(&config.clerk, metrics.clone())?);
            if previous.is_some() || !matches!(config.clerk.keys, KeySource::JwksUrl(_)) {
                keys.load().await?;
            }
            keys.spawn_refresher();
            keys
        }
    };
    let upstreams = match previous.filter(|p| p.config.upstreams == config.upstreams) {
        Some(p) => p.upstreams.clone(),
        None => Arc::new(Upstreams::new(&config.upstreams, metrics).map_err(BuildError::Upstream)?),
    };
    // A new config gets a new token cache: cached sessions hold identity headers built
    // from this config's claim pointers and header names.
    let tokens = config.cache.enabled.then(|| {
        let skew = config.clerk.verify.clock_skew_secs;
        let cache = TokenCache::new(&config.cache, skew).with_gauges(
            metrics.token_cache_entries.clone(),
            metrics.token_cache_bytes.clone(),
        );
        let cache = Arc::new(cache);
        spawn_sweeper(&cache, clock.clone());
        cache
    });
    let invalid: Arc<str> = Arc::from(INVALID_ROUTE);
    let names = config.routes.iter().map(|r| &r.name);
    let names = names.chain([&config.defaults.name, &invalid]);
    let route_metrics = RouteMetrics::new(metrics.clone(), names);
    for upstream in &config.upstreams {
        metrics.declare_upstream(&upstream.name);
    }
    let exchanger = match &config.clerk.handshake {
        Some(h) => Some(
            Exchanger::new(h, config.clerk.ca_file.as_deref()).map_err(BuildError::Handshake)?,
        ),
        None => None,
    };
    let webhook = config.webhooks.as_ref().map(Endpoint::new);
    let tls = match &config.server.tls {
        Some(files) => {
            Some(crate::tls::server_config(&files.cert, &files.key).map_err(BuildError::Tls)?)
        }
        None => None,
    };
    let assertions = match &config.assertion {
        Some(settings) => Some(Arc::new(Assertions::new(
            settings,
            previous.and_then(|p| p.assertions.as_deref()),
            metrics.assertions_signed.clone(),
            clock.now_unix(),
        )?)),
        None => None,
    };
    Ok(Snapshot {
        config,
        upstreams,
        keys,
        tokens,
        route_metrics,
        exchanger,
        webhook,
        tls,
        assertions,
    })
}

impl AsRef<Config> for Snapshot {
    fn as_ref(&self) -> &Config {
        &self.config
    }
}
