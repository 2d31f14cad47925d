//! The signing keys in use: loaded before ready, refreshed in the background, looked up per
//! token. The only await on the auth path, and usually not even that.
//!
//! A [`KeyStore`] holds the current [`KeySet`] behind an atomic pointer. Static sources (a
//! PEM key or a JWKS file) are loaded once. A JWKS URL is fetched by a background task every
//! `jwks_refresh` (retrying with jittered backoff on failure); the last good keys keep serving
//! while the endpoint fails, until `jwks_max_stale`, after which lookups fail closed with
//! `KeysUnavailable` (503, our fault, not the user's). An unknown `kid` triggers at most one
//! fetch at a time (waiters share it) and at most one per `jwks_unknown_kid_interval`; kids
//! still unknown afterwards are remembered and fail fast. Staleness uses `tokio::time`.

pub mod fetch;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokio::time::Instant;

use crate::config::{Clerk, KeySource};
use crate::keys::KeySet;
use crate::metrics::{Metrics, ResultLabel};
use crate::token::error::TokenError;
use fetch::{FetchError, Fetched, Fetcher};

/// How many unknown kids are remembered at most (memory bound under a random-kid flood).
const MAX_UNKNOWN_KIDS: usize = 10_000;
/// The shortest refresh period a `Cache-Control: max-age` can ask for.
pub const MIN_REFRESH: Duration = Duration::from_secs(30);

/// Why keys could not be loaded from a static source.
#[derive(Debug, thiserror::Error)]
pub enum KeyLoadError {
    #[error("{key}: cannot read {path}: {source}; fix the path (a relative one resolves against the config file's directory)")]
    Read {
        /// The config key that names the file.
        key: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    #[error("JWKS endpoint {url}: {source}")]
    Fetch { url: String, source: FetchError },
}

struct Loaded {
    keys: Arc<KeySet>,
    at: Instant,
}

/// The current keys and how to renew them.
pub struct KeyStore {
    current: ArcSwapOption<Loaded>,
    /// Incremented on every successful load; lets waiters see that a refresh happened.
    generation: AtomicU64,
    fetcher: Option<Fetcher>,
    source: KeySource,
    refresh_every: Duration,
    max_stale: Duration,
    unknown_kid_interval: Duration,
    /// Serializes fetches: one at a time, waiters share the result.
    fetch_lock: tokio::sync::Mutex<Option<Instant>>,
    unknown_kids: Mutex<HashMap<String, Instant>>,
    /// `Cache-Control: max-age` of the last successful fetch.
    max_age: Mutex<Option<Duration>>,
    metrics: Arc<Metrics>,
}

impl KeyStore {
    /// A store for the configured source; nothing is loaded yet.
    pub fn new(clerk: &Clerk, metrics: Arc<Metrics>) -> Result<Self, KeyLoadError> {
        let fetcher = match &clerk.keys {
            KeySource::JwksUrl(url) => Some(
                Fetcher::new(
                    url,
                    clerk.jwks_timeout,
                    clerk.secret_key.as_deref(),
                    clerk.ca_file.as_deref(),
                )
                .map_err(|source| KeyLoadError::Fetch {
                    url: url.clone(),
                    source,
                })?,
            ),
            _ => None,
        };
        Ok(KeyStore {
            current: ArcSwapOption::empty(),
            generation: AtomicU64::new(0),
            fetcher,
            source: clerk.keys.clone(),
            refresh_every: clerk.jwks_refresh,
            max_stale: clerk.jwks_max_stale,
            unknown_kid_interval: clerk.jwks_unknown_kid_interval,
            fetch_lock: tokio::sync::Mutex::new(None),
            unknown_kids: Mutex::new(HashMap::new()),
            max_age: Mutex::new(None),
            metrics,
        })
    }

    /// Loads a static source (PEM or file) or does the first fetch of a URL.
    pub async fn load(&self) -> Result<(), KeyLoadError> {
        match &self.source {
            KeySource::JwksUrl(url) => self.refresh().await.map_err(|source| KeyLoadError::Fetch {
                url: url.clone(),
                source,
            }),
            other => {
                let keys = load_static(other)?;
                self.install(keys);
                Ok(())
            }
        }
    }

    /// True while usable keys are held (loaded and not past `jwks_max_stale`).
    pub fn ready(&self) -> bool {
        self.usable().is_some()
    }

    /// Seconds since the last successful load, if any.
    pub fn age(&self) -> Option<Duration> {
        self.current.load().as_ref().map(|l| l.at.elapsed())
    }

    /// The number of keys held.
    pub fn key_count(&self) -> usize {
        self.current.load().as_ref().map_or(0, |l| l.keys.len())
    }

    fn usable(&self) -> Option<Arc<KeySet>> {
        let guard = self.current.load();
        let loaded = guard.as_ref()?;
        if self.fetcher.is_some() && loaded.at.elapsed() > self.max_stale {
            return None;
        }
        Some(loaded.keys.clone())
    }

    fn install(&self, keys: KeySet) {
        self.metrics
            .jwks_keys
            .set(i64::try_from(keys.len()).unwrap_or(i64::MAX));
        self.current.store(Some(Arc::new(Loaded {
            keys: Arc::new(keys),
            at: Instant::now(),
        })));
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut unknown) = self.unknown_kids.lock() {
            unknown.clear();
        }
    }

    /// Fetches the URL now (one fetch at a time) and installs the keys on success.
    pub async fn refresh(&self) -> Result<(), FetchError> {
        let Some(fetcher) = &self.fetcher else {
            return Ok(());
        };
        let _one_at_a_time = self.fetch_lock.lock().await;
        self.fetch_and_install(fetcher).await
    }

    async fn fetch_and_install(&self, fetcher: &Fetcher) -> Result<(), FetchError> {
        match fetcher.fetch().await {
            Ok(fetched) => {
                let Fetched {
                    keys,
                    warnings,
                    max_age,
                } = fetched;
                if let Ok(mut hint) = self.max_age.lock() {
                    *hint = max_age;
                }
                for w in warnings {
                    tracing::warn!(url = %fetcher.url(), "skipped a JWKS key: {w}");
                }
                self.metrics
                    .jwks_fetches
                    .get_or_create(&ResultLabel { result: "ok" })
                    .inc();
                self.install(keys);
                Ok(())
            }
            Err(e) => {
                self.metrics
                    .jwks_fetches
                    .get_or_create(&ResultLabel { result: "error" })
                    .inc();
                tracing::warn!(url = %fetcher.url(), error = %e, "JWKS fetch failed; keeping the last good keys");
                Err(e)
            }
        }
    }

    /// The key set to verify a token with `kid`, refreshing once if the kid is unknown.
    pub async fn resolve(&self, kid: Option<&str>) -> Result<Arc<KeySet>, TokenError> {
        let keys = self.usable().ok_or(TokenError::KeysUnavailable)?;
        if keys.lookup(kid).is_some() {
            return Ok(keys);
        }
        let (Some(fetcher), Some(kid)) = (&self.fetcher, kid) else {
            return Err(TokenError::UnknownKid);
        };
        if self.recently_unknown(kid) {
            return Err(TokenError::UnknownKid);
        }
        let seen = self.generation.load(Ordering::SeqCst);
        let mut last_fetch = self.fetch_lock.lock().await;
        if self.generation.load(Ordering::SeqCst) == seen {
            // Nobody refreshed while we waited: fetch, unless one happened too recently.
            let now = Instant::now();
            let allowed =
                last_fetch.is_none_or(|t| now.duration_since(t) >= self.unknown_kid_interval);
            if allowed {
                *last_fetch = Some(now);
                let _ = self.fetch_and_install(fetcher).await;
            }
        }
        drop(last_fetch);
        let keys = self.usable().ok_or(TokenError::KeysUnavailable)?;
        if keys.lookup(Some(kid)).is_some() {
            return Ok(keys);
        }
        self.remember_unknown(kid);
        Err(TokenError::UnknownKid)
    }

    fn recently_unknown(&self, kid: &str) -> bool {
        let Ok(unknown) = self.unknown_kids.lock() else {
            return false;
        };
        unknown
            .get(kid)
            .is_some_and(|t| t.elapsed() < self.unknown_kid_interval)
    }

    fn remember_unknown(&self, kid: &str) {
        if let Ok(mut unknown) = self.unknown_kids.lock() {
            if unknown.len() >= MAX_UNKNOWN_KIDS {
                let interval = self.unknown_kid_interval;
                unknown.retain(|_, t| t.elapsed() < interval);
                if unknown.len() >= MAX_UNKNOWN_KIDS {
                    unknown.clear();
                }
            }
            unknown.insert(kid.to_string(), Instant::now());
        }
    }

    /// Runs the refresher for a URL source: first load with retries, then a refresh every
    /// `jwks_refresh`; failures retry with jittered exponential backoff. Returns at once for
    /// static sources.
    /// The task ends when the store is dropped (a reload replaced it).
    pub fn spawn_refresher(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(Self::run_refresher(Arc::downgrade(self)))
    }

    async fn run_refresher(store: std::sync::Weak<Self>) {
        if store.upgrade().is_none_or(|s| s.fetcher.is_none()) {
            return;
        }
        let mut failures: u32 = 0;
        loop {
            let Some(this) = store.upgrade() else { return };
            let wait = match this.refresh().await {
                Ok(()) => {
                    failures = 0;
                    this.next_refresh()
                }
                Err(_) => {
                    failures = failures.saturating_add(1);
                    backoff(failures, this.refresh_every)
                }
            };
            drop(this);
            tokio::time::sleep(wait).await;
        }
    }

    /// The key set tokens are verified with right now, or `None` while no usable keys are
    /// held (not loaded yet, or past `jwks_max_stale`). Never fetches. Every load installs
    /// a new `Arc`, so the verified-token cache compares pointers to notice a refresh.
    pub fn current_keys(&self) -> Option<Arc<KeySet>> {
        self.usable()
    }
}

impl KeyStore {
    /// The wait after a successful fetch: `jwks_refresh`, or a shorter `max-age` the endpoint
    /// sent, never below [`MIN_REFRESH`].
    fn next_refresh(&self) -> Duration {
        let hint = self.max_age.lock().ok().and_then(|h| *h);
        match hint {
            Some(age) => age.max(MIN_REFRESH).min(self.refresh_every),
            None => self.refresh_every,
        }
    }
}

/// 1 s, 2 s, 4 s … capped at `cap` (and at 60 s), with ±20 % jitter.
fn backoff(failures: u32, cap: Duration) -> Duration {
    let base = Duration::from_secs(1u64 << failures.saturating_sub(1).min(6));
    let capped = base.min(cap).min(Duration::from_secs(60));
    let jitter: f64 = rand::random_range(0.8..1.2);
    capped.mul_f64(jitter)
}

/// Reads a PEM or JWKS file source.
pub fn load_static(source: &KeySource) -> Result<KeySet, KeyLoadError> {
    let read = |key: &'static str, path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|source| KeyLoadError::Read {
            key,
            path: crate::config::absolute(path).display().to_string(),
            source,
        })
    };
    let invalid = |what: &str, e: &dyn std::fmt::Display| KeyLoadError::Invalid {
        what: what.to_string(),
        message: e.to_string(),
    };
    match source {
        KeySource::PemText(pem) => {
            KeySet::from_pem(pem).map_err(|e| invalid("clerk.public_key_pem", &e))
        }
        KeySource::PemFile(path) => KeySet::from_pem(&read("clerk.public_key_file", path)?)
            .map_err(|e| invalid(&format!("clerk.public_key_file {}", path.display()), &e)),
        KeySource::JwksFile(path) => {
            let (keys, warnings) =
                KeySet::from_jwks_json(read("clerk.jwks_file", path)?.as_bytes())
                    .map_err(|e| invalid(&format!("clerk.jwks_file {}", path.display()), &e))?;
            for w in warnings {
                tracing::warn!(file = %path.display(), "skipped a JWKS key: {w}");
            }
            Ok(keys)
        }
        KeySource::JwksUrl(url) => Err(invalid(
            url,
            &"a URL source is fetched, not read; use KeyStore::load",
        )),
    }
}
