//! Prometheus metrics: the contract's names, bounded labels, text exposition.
//!
//! Labels are route *names*, decisions, results and upstream names: values fixed by the
//! config or by code, never a raw path, token, user id or header. The registry is encoded
//! only on the admin listener. The hot path never builds a label set nor hashes one: the
//! counter and histogram of a (route, decision) pair are looked up once, on first use, and
//! kept in a [`RouteMetrics`] built with the config snapshot; the `valid` token counter is
//! resolved at start.

mod labels;
pub mod process;
mod routes;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

pub use labels::*;
pub use routes::{status_class, RouteMetrics};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `kind` values of `doorman_upstream_errors_total`.
pub const UPSTREAM_ERROR_KINDS: [&str; 4] =
    ["connect", "timeout", "protocol", "unexpected_upgrade"];

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric doorman exports.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_duration: HistogramFamily<RequestLabels>,
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
    pub upstream_errors: Family<UpstreamKind, Counter>,
    pub config_reloads: Family<ResultLabel, Counter>,
    /// Reads of the config file by the reloader (an idle doorman reads none).
    pub config_reads: Counter,
    pub build_info: Family<VersionLabel, Gauge>,
    pub in_flight: Gauge,
    pub open_connections: Gauge,
    pub config_info: Family<HashLabel, Gauge>,
    pub config_loaded: Gauge<f64, AtomicU64>,
    pub shadow_decisions: Family<RouteDecision, Counter>,
    pub handshakes: Family<ResultLabel, Counter>,
    pub webhooks: Family<EventResult, Counter>,
    pub limits_hit: Family<KindLabel, Counter>,
    pub revocations_active: Gauge,
    pub revocation_sync_errors: Counter,
    /// `doorman_onboarding_data_missing_total{user_type, field}` (issue 13).
    pub onboarding_data_missing: Family<TypeField, Counter>,
    /// `doorman_assertions_signed_total`: identity assertions signed (`[assertion]`).
    pub assertions_signed: Counter,
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
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "doorman_requests",
            "Requests by route name and decision",
            requests.clone(),
        );
        let request_duration: HistogramFamily<RequestLabels> =
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
        let upstream_errors = Family::<UpstreamKind, Counter>::default();
        registry.register(
            "doorman_upstream_errors",
            "Upstream failures by upstream and kind (connect, timeout, protocol, unexpected_upgrade)",
            upstream_errors.clone(),
        );
        let config_reloads = Family::<ResultLabel, Counter>::default();
        registry.register(
            "doorman_config_reloads",
            "Config reloads by result",
            config_reloads.clone(),
        );
        let config_reads = Counter::default();
        registry.register(
            "doorman_config_reads",
            "Reads of the config file by hot reload (file events and SIGHUP)",
            config_reads.clone(),
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
        let config_info = Family::<HashLabel, Gauge>::default();
        registry.register(
            "doorman_config_info",
            "The loaded config (1 for its hash)",
            config_info.clone(),
        );
        let config_loaded = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "doorman_config_loaded_timestamp_seconds",
            "Unix time the loaded config was loaded",
            config_loaded.clone(),
        );
        let shadow_decisions = Family::<RouteDecision, Counter>::default();
        registry.register(
            "doorman_shadow_decisions",
            "Decisions that report-mode routes would have taken (the request was forwarded)",
            shadow_decisions.clone(),
        );
        let onboarding_data_missing = Family::<TypeField, Counter>::default();
        registry.register(
            "doorman_onboarding_data_missing",
            "Claims an onboarding marked complete lacked ([claims.onboarding_requires]), by field",
            onboarding_data_missing.clone(),
        );
        let assertions_signed = Counter::default();
        registry.register(
            "doorman_assertions_signed",
            "Identity assertions signed (a warm request reuses its session's)",
            assertions_signed.clone(),
        );
        let handshakes = Family::<ResultLabel, Counter>::default();
        registry.register(
            "doorman_handshakes",
            "Clerk handshakes: redirect, exchanged, exchange_failed, loop_limit",
            handshakes.clone(),
        );
        let limits_hit = Family::<KindLabel, Counter>::default();
        registry.register(
            "doorman_limits_hit",
            "Requests or connections refused by a limit, by kind",
            limits_hit.clone(),
        );
        let webhooks = Family::<EventResult, Counter>::default();
        registry.register(
            "doorman_webhooks",
            "Clerk webhook deliveries by event type and result",
            webhooks.clone(),
        );
        let revocations_active = Gauge::default();
        registry.register(
            "doorman_revocations_active",
            "Revoked sessions, revoked users and stale users currently held",
            revocations_active.clone(),
        );
        let revocation_sync_errors = Counter::default();
        registry.register(
            "doorman_revocation_sync_errors",
            "Failures talking to the Redis that shares revocations",
            revocation_sync_errors.clone(),
        );
        // Families with a fixed set of label values start at 0, so dashboards and alerts see
        // a series (not "no data") before the first event.
        for result in ["ok", "error"] {
            let _ = config_reloads.get_or_create(&ResultLabel { result });
            let _ = jwks_fetches.get_or_create(&ResultLabel { result });
        }
        for result in ["redirect", "exchanged", "exchange_failed", "loop_limit"] {
            let _ = handshakes.get_or_create(&ResultLabel { result });
        }
        registry.register(
            "doorman_log_lines_dropped",
            "Request log lines dropped because stderr could not keep up",
            crate::access_log::writer::dropped_counter(),
        );
        registry.register_collector(Box::new(process::ProcessCollector));
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
            config_reads,
            build_info,
            in_flight,
            open_connections,
            config_info,
            config_loaded,
            shadow_decisions,
            handshakes,
            webhooks,
            limits_hit,
            revocations_active,
            revocation_sync_errors,
            onboarding_data_missing,
            assertions_signed,
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

    /// Marks `hash` as the loaded config (and forgets the previous one).
    pub fn set_config(&self, hash: &str, previous: Option<&str>) {
        if let Some(prev) = previous.filter(|p| *p != hash) {
            self.config_info.remove(&HashLabel {
                hash: prev.to_string(),
            });
        }
        self.config_info
            .get_or_create(&HashLabel {
                hash: hash.to_string(),
            })
            .set(1);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        self.config_loaded.set(now);
    }

    /// Starts the `doorman_upstream_errors_total` series of `upstream` at 0 for every
    /// kind, so alerts and dashboards see them before the first failure.
    pub fn declare_upstream(&self, upstream: &Arc<str>) {
        for kind in UPSTREAM_ERROR_KINDS {
            let _ = self.upstream_errors.get_or_create(&UpstreamKind {
                upstream: upstream.clone(),
                kind,
            });
        }
    }

    /// Counts one failure of `upstream`.
    pub fn upstream_error(&self, upstream: &Arc<str>, kind: &'static str) {
        self.upstream_errors
            .get_or_create(&UpstreamKind {
                upstream: upstream.clone(),
                kind,
            })
            .inc();
    }

    /// Counts one refusal by a limit (`max_connections`, `max_body_bytes`, …).
    pub fn limit(&self, kind: &'static str) {
        self.limits_hit.get_or_create(&KindLabel { kind }).inc();
    }

    /// Counts one handshake event.
    pub fn handshake(&self, result: &'static str) {
        self.handshakes.get_or_create(&ResultLabel { result }).inc();
    }

    /// Records one finished request.
    pub fn record_request(
        &self,
        route: &Arc<str>,
        decision: &'static str,
        mode: RequestMode,
        seconds: f64,
    ) {
        let labels = RequestLabels {
            route: route.clone(),
            decision,
            mode: mode.label(),
        };
        self.requests.get_or_create(&labels).inc();
        self.request_duration
            .get_or_create(&labels)
            .observe(seconds);
    }
}
