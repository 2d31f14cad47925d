//! The recorder: every counter a request moves and its one log line, from the [`Outcome`]
//! the phases produced. Phases report what happened; only this module counts it.

use std::sync::Arc;
use std::time::Instant;

use http::{HeaderValue, Request, Response};

use crate::access_log;
use crate::authn::AuthEvents;
use crate::config::Config;
use crate::metrics::{EventResult, Metrics, ResultLabel, RouteDecision};
use crate::respond::Body;
use crate::snapshot::{Shared, Snapshot};

use super::outcome::Outcome;

/// What the log line needs from the request before it is consumed.
pub struct Line {
    request_id: HeaderValue,
    method: http::Method,
    /// The path, only when request lines are logged at all.
    path: Option<String>,
    /// The client's address, when request lines are logged.
    client: Option<std::net::IpAddr>,
    /// The request's span, when tracing is on; boxed so that, off, it costs the request's
    /// future one pointer rather than the SDK span's few hundred bytes moved at every await.
    span: Option<Box<crate::telemetry::otel::RequestSpan>>,
}

impl Line {
    /// Reads (or assigns) the request id and remembers the method and path.
    pub fn start<B>(req: &mut Request<B>, config: &Config, peer: std::net::IpAddr) -> Line {
        let logging = &config.logging;
        let request_id = access_log::request_id(req.headers_mut(), &logging.request_id_header);
        let logged = tracing::enabled!(tracing::Level::WARN);
        let span = crate::telemetry::otel::enabled()
            .then(|| {
                let trusted = config
                    .server
                    .trusted_proxies
                    .iter()
                    .any(|n| n.contains(&peer));
                let (method, path) = (req.method().clone(), req.uri().path().to_string());
                crate::telemetry::otel::start(req.headers_mut(), &method, &path, trusted)
            })
            .flatten()
            .map(Box::new);
        Line {
            span,
            request_id,
            method: req.method().clone(),
            path: logged.then(|| req.uri().path().to_string()),
            client: logged.then(|| {
                access_log::client_address(req.headers(), peer, &config.server.trusted_proxies)
            }),
        }
    }

    /// The line of a forward-auth call: the original request's method and path, as
    /// reconstructed from the caller's headers.
    pub fn original(mut self, method: &http::Method, path: &str) -> Line {
        self.method = method.clone();
        if self.path.is_some() {
            self.path = Some(path.to_string());
        }
        self
    }
}

/// Counts `out`, writes its log line and returns its response (with the request id).
pub fn record(
    shared: &Shared,
    snapshot: &Arc<Snapshot>,
    out: Outcome,
    line: Line,
    started: Instant,
) -> Response<Body> {
    let elapsed = started.elapsed().as_secs_f64();
    let metrics = &shared.metrics;
    let label = out.label();
    snapshot
        .route_metrics
        .record(&out.route, label, out.mode, elapsed);
    count_auth(metrics, &out.auth);
    if let Some(seconds) = out.auth_seconds {
        metrics.auth_duration.observe(seconds);
    }
    if let Some(shadow) = &out.shadow {
        metrics
            .shadow_decisions
            .get_or_create(&RouteDecision {
                route: out.route.clone(),
                decision: shadow.label(),
            })
            .inc();
    }
    count_onboarding_data(metrics, &out);
    if let Some(delivery) = &out.webhook {
        metrics
            .webhooks
            .get_or_create(&EventResult {
                event: delivery.event,
                result: delivery.result,
            })
            .inc();
    }
    let events = &out.answer_events;
    if let Some(kind) = events.limit {
        metrics.limit(kind);
    }
    // The upstream's name: from its index when it answered, else from the route.
    let upstream = match events.upstream_status {
        Some((index, _)) => snapshot.config.upstreams.get(index).map(|u| &u.name),
        None if events.upstream_error.is_some() => {
            access_log::upstream_of(&snapshot.config, &out.route).map(|u| &u.name)
        }
        None => None,
    };
    if let (Some(kind), Some(name)) = (events.upstream_error, upstream) {
        metrics.upstream_error(name, kind);
    }
    if let (Some((index, status)), Some(seconds)) =
        (events.upstream_status, events.upstream_seconds)
    {
        snapshot.upstreams.observe(index, status, seconds);
    }
    let logging = &snapshot.config.logging;
    let mut response = out.response;
    response
        .headers_mut()
        .insert(logging.request_id_header.clone(), line.request_id.clone());
    if let Some(span) = line.span {
        (*span).finish(&crate::telemetry::otel::Finished {
            route: &out.route,
            decision: label,
            reason: out.decision.reason(),
            status: response.status().as_u16(),
            upstream: upstream.map(|name| &**name),
            auth_seconds: out.auth_seconds,
            upstream_seconds: events.upstream_seconds,
            total_seconds: elapsed,
        });
    }
    if let Some(path) = line.path {
        access_log::emit(access_log::Record {
            at: std::time::SystemTime::now(),
            request_id: line.request_id,
            client: line.client,
            upstream: upstream.cloned(),
            method: line.method,
            path,
            route: out.route,
            decision: label,
            reason: out.decision.reason(),
            shadow: out.shadow,
            status: response.status().as_u16(),
            total_seconds: elapsed,
            auth_seconds: out.auth_seconds.unwrap_or(0.0),
            upstream_seconds: events.upstream_seconds,
            user: out.user,
            user_policy: logging.user_id,
        });
    }
    response
}

/// The token check, cache and handshake counters of one authentication.
pub fn count_auth(metrics: &Metrics, events: &AuthEvents) {
    match events.token.cache_hit {
        Some(true) => metrics.token_cache_hits.inc(),
        Some(false) => metrics.token_cache_misses.inc(),
        None => 0,
    };
    match events.token.result {
        Some(crate::authn::token::VALID) => {
            metrics.token_valid.inc();
        }
        Some(result) => {
            metrics
                .token_verifications
                .get_or_create(&ResultLabel { result })
                .inc();
        }
        None => {}
    }
    for result in [events.exchange, events.handshake].into_iter().flatten() {
        metrics.handshake(result);
    }
}

/// The claims an onboarding data check found missing, by user type and field, whenever it
/// decided (enforced or in report mode).
fn count_onboarding_data(metrics: &crate::metrics::Metrics, out: &Outcome) {
    let reason = crate::reason::Reason::OnboardingDataMissing.as_str();
    let decided = out.decision.reason() == reason
        || out.shadow.as_ref().is_some_and(|s| s.reason() == reason);
    let Some(identity) = out.user.as_ref().filter(|_| decided) else {
        return;
    };
    for field in &identity.onboarding_missing {
        metrics
            .onboarding_data_missing
            .get_or_create(&crate::metrics::TypeField {
                user_type: identity.user_type.clone().unwrap_or_default(),
                field: field.clone(),
            })
            .inc();
    }
}
