//! Prometheus metrics: the contract's names, bounded labels, text exposition.
//!
//! Labels are route *names*, decisions, results and upstream names: values fixed by the
//! config or by code, never a raw path, token, user id or header. The registry is encoded
//! only on the admin listener. The hot path never builds a label set nor hashes one: the
//! counter and histogram of a (route, decision) pair are looked up once, on first use, and
//! kept in a [`RouteMetrics`] built with the config snapshot; the `valid` token counter is
//! resolved at start.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// `route` + `decision`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteDecision {
    pub route: Arc<str>,
    pub decision: &'static str,
}

/// `result`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: &'static str,
}

/// `kind`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

/// `upstream` + `status_class`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    pub upstream: Arc<str>,
    pub status_class: &'static str,
}

/// `version`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabel {
    pub version: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric doorman exports.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RouteDecision, Counter>,
    pub request_duration: HistogramFamily<RouteDecision>,
    pub auth_duration: Histogram,
    pub token_verifications: Family<ResultLabel, Counter>,
    /// `doorman_token_verifications_total{result="valid"}`, resolved once.
    pub token_valid: Counter,
    pub token_cache_hits: Counter,
    pub token_cache_misses: Counter,
    pub token_cache_entries: Gauge,
    pub token_cache_bytes: Gauge,
    pub jwks_fetches: Family<ResultLabel, Counter>,
    pub jwks_keys: Gauge,
    pub jwks_age_seconds: Gauge<f64, AtomicU64>,
    pub upstream_duration: HistogramFamily<UpstreamLabels>,
    pub upstream_errors: Family<KindLabel, Counter>,
    pub config_reloads: Family<ResultLabel, Counter>,
    pub build_info: Family<VersionLabel, Gauge>,
    pub in_flight: Gauge,
    pub open_connections: Gauge,
}

/// Buckets for whole requests and upstream calls: 100 µs to 30 s.
fn request_histogram() -> Histogram {
    Histogram::new([
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        5.0, 10.0, 30.0,
    ])
}

/// Buckets for the auth decision: 1 µs to 100 ms (a JWKS refresh on an unknown kid).
fn auth_histogram() -> Histogram {
    Histogram::new([
        0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
        0.01, 0.1,
    ])
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RouteDecision, Counter>::default();
        registry.register(
            "doorman_requests",
            "Requests by route name and decision",
            requests.clone(),
        );
        let request_duration: HistogramFamily<RouteDecision> =
            Family::new_with_constructor(request_histogram);
        registry.register(
            "doorman_request_duration_seconds",
            "Time from request head to response head, by route and decision",
            request_duration.clone(),
        );
        let auth_duration = auth_histogram();
        registry.register(
            "doorman_auth_duration_seconds",
            "Time spent deciding (route, token, decision), upstream excluded",
            auth_duration.clone(),
        );
        let token_verifications = Family::<ResultLabel, Counter>::default();
        registry.register(
            "doorman_token_verifications",
            "Token checks by result (a token answered from the cache counts as valid)",
            token_verifications.clone(),
        );
        let token_valid = token_verifications.get_or_create_owned(&ResultLabel { result: "valid" });
        let token_cache_hits = Counter::default();
        registry.register(
            "doorman_token_cache_hits",
            "Tokens answered from the verified-token cache",
            token_cache_hits.clone(),
        );
        let token_cache_misses = Counter::default();
        registry.register(
            "doorman_token_cache_misses",
            "Tokens that needed a full verification",
            token_cache_misses.clone(),
        );
        let token_cache_entries = Gauge::default();
        registry.register(
            "doorman_token_cache_entries",
            "Verified tokens held in the cache",
            token_cache_entries.clone(),
        );
        let token_cache_bytes = Gauge::default();
        registry.register(
            "doorman_token_cache_bytes",
            "Approximate bytes held by the verified-token cache",
            token_cache_bytes.clone(),
        );
        let jwks_fetches = Family::<ResultLabel, Counter>::default();
        registry.register(
            "doorman_jwks_fetches",
            "JWKS fetches by result",
            jwks_fetches.clone(),
        );
        let jwks_keys = Gauge::default();
        registry.register(
            "doorman_jwks_keys",
            "Signing keys currently usable",
            jwks_keys.clone(),
        );
        let jwks_age_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "doorman_jwks_age_seconds",
            "Seconds since the last successful key load",
            jwks_age_seconds.clone(),
        );
        let upstream_duration: HistogramFamily<UpstreamLabels> =
            Family::new_with_constructor(request_histogram);
        registry.register(
            "doorman_upstream_duration_seconds",
            "Time from forwarding to the upstream's response head",
            upstream_duration.clone(),
        );
        let upstream_errors = Family::<KindLabel, Counter>::default();
        registry.register(
            "doorman_upstream_errors",
            "Upstream failures by kind (connect, timeout, protocol)",
            upstream_errors.clone(),
        );
        let config_reloads = Family::<ResultLabel, Counter>::default();
        registry.register(
            "doorman_config_reloads",
            "Config reloads by result",
            config_reloads.clone(),
        );
        let build_info = Family::<VersionLabel, Gauge>::default();
        build_info
            .get_or_create(&VersionLabel {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register(
            "doorman_build_info",
            "Build information",
            build_info.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "doorman_requests_in_flight",
            "Requests being processed",
            in_flight.clone(),
        );
        let open_connections = Gauge::default();
        registry.register(
            "doorman_open_connections",
            "Client connections open on the public listener",
            open_connections.clone(),
        );
        Metrics {
            registry,
            requests,
            request_duration,
            auth_duration,
            token_verifications,
            token_valid,
            token_cache_hits,
            token_cache_misses,
            token_cache_entries,
            token_cache_bytes,
            jwks_fetches,
            jwks_keys,
            jwks_age_seconds,
            upstream_duration,
            upstream_errors,
            config_reloads,
            build_info,
            in_flight,
            open_connections,
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    /// Records one finished request.
    pub fn record_request(&self, route: &Arc<str>, decision: &'static str, seconds: f64) {
        let labels = RouteDecision {
            route: route.clone(),
            decision,
        };
        self.requests.get_or_create(&labels).inc();
        self.request_duration
            .get_or_create(&labels)
            .observe(seconds);
    }
}

/// Every `decision` label value, in [`decision_slot`] order.
const DECISIONS: [&str; 9] = [
    "forward",
    "redirect_sign_in",
    "redirect_onboarding",
    "redirect_after_onboarding",
    "unauthorized",
    "forbidden",
    "bad_request",
    "unavailable",
    "upstream_error",
];

fn decision_slot(decision: &str) -> Option<usize> {
    DECISIONS.iter().position(|d| *d == decision)
}

type Handles = (Counter, Histogram);

/// The request counter and duration histogram of every route of one config, by route name
/// and decision, each created on first use (so `/metrics` shows only pairs that happened).
pub struct RouteMetrics {
    metrics: Arc<Metrics>,
    routes: HashMap<Arc<str>, [OnceLock<Handles>; DECISIONS.len()], foldhash::fast::RandomState>,
}

impl RouteMetrics {
    /// Slots for `names` (the routes, the defaults, `invalid`); others fall back to a lookup.
    pub fn new<'a>(metrics: Arc<Metrics>, names: impl IntoIterator<Item = &'a Arc<str>>) -> Self {
        let routes = names
            .into_iter()
            .map(|name| (name.clone(), Default::default()))
            .collect();
        RouteMetrics { metrics, routes }
    }

    /// Records one finished request.
    pub fn record(&self, route: &Arc<str>, decision: &'static str, seconds: f64) {
        let slot = decision_slot(decision)
            .and_then(|d| self.routes.get(&**route).and_then(|slots| slots.get(d)));
        let Some(slot) = slot else {
            self.metrics.record_request(route, decision, seconds);
            return;
        };
        let (count, duration) = slot.get_or_init(|| {
            let labels = RouteDecision {
                route: route.clone(),
                decision,
            };
            (
                self.metrics.requests.get_or_create_owned(&labels),
                self.metrics.request_duration.get_or_create_owned(&labels),
            )
        });
        count.inc();
        duration.observe(seconds);
    }
}

/// `1xx`…`5xx` for a status code.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
