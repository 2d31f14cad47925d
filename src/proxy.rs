//! The per-request pipeline: one config snapshot, facts, route, token, decision, then
//! forward or respond; one metric update and one log line per request.
//!
//! This is the only place that sequences the stages; each stage lives in its own module and
//! knows nothing of the others. A request loads the config snapshot once, so a reload in the
//! middle of a request never mixes two configs.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::authn::{authenticate, Authenticated};
use crate::cache::{spawn_sweeper, TokenCache};
use crate::clock::Clock;
use crate::config::Config;
use crate::decide::decide;
use crate::decision::Decision;
use crate::forward;
use crate::jwks::KeyStore;
use crate::metrics::{KindLabel, Metrics, RouteMetrics};
use crate::request::Facts;
use crate::respond::{self, Body, Rendering};
use crate::upstream::Upstreams;

/// Everything one config needs at run time.
pub struct Snapshot {
    pub config: Config,
    pub upstreams: Upstreams,
    pub keys: Arc<KeyStore>,
    /// Verified tokens of this config (`None` when `[cache] enabled = false`).
    pub tokens: Option<Arc<TokenCache>>,
    /// Request metric handles by route name and decision.
    pub route_metrics: RouteMetrics,
}

impl Snapshot {
    /// Everything `config` needs at run time: upstream pools, an empty token cache (swept
    /// in the background when a runtime is running) and metric handle slots.
    pub fn new(
        config: Config,
        keys: Arc<KeyStore>,
        metrics: &Arc<Metrics>,
        clock: &Arc<dyn Clock>,
    ) -> Snapshot {
        let upstreams = Upstreams::new(&config.upstreams, metrics);
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
        Snapshot {
            config,
            upstreams,
            keys,
            tokens,
            route_metrics,
        }
    }
}

/// The route name of requests refused before routing (400).
const INVALID_ROUTE: &str = "invalid";

/// State shared by every connection.
pub struct Shared {
    pub snapshot: ArcSwap<Snapshot>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
}

/// Handles one request from `peer`.
pub async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    shared.metrics.in_flight.inc();
    let snapshot = shared.snapshot.load_full();
    let (route_name, decision, response) = pipeline(&shared, &snapshot, req, peer).await;
    let elapsed = started.elapsed().as_secs_f64();
    shared.metrics.in_flight.dec();
    let label = match (&decision, response.status().is_server_error()) {
        (Decision::Forward, true) if response.extensions().get::<UpstreamFailure>().is_some() => {
            "upstream_error"
        }
        _ => decision.label(),
    };
    snapshot.route_metrics.record(&route_name, label, elapsed);
    tracing::info!(
        route = &*route_name,
        decision = label,
        reason = decision.reason(),
        status = response.status().as_u16(),
        seconds = elapsed,
        "request"
    );
    Ok(response)
}

/// Marks a response doorman produced because the upstream failed.
#[derive(Clone, Copy)]
struct UpstreamFailure;

async fn pipeline(
    shared: &Shared,
    snapshot: &Snapshot,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> (Arc<str>, Decision, Response<Body>) {
    let config = &snapshot.config;
    let auth_started = Instant::now();
    let (mut parts, body) = req.into_parts();
    let facts = match Facts::read(&parts.method, &parts.uri, &parts.headers) {
        Ok(facts) => facts,
        Err(reason) => {
            let decision = Decision::BadRequest { reason };
            let rendering = Rendering {
                method: &parts.method,
                page: false,
                return_to: None,
            };
            let mut resp = respond::respond(&decision, &rendering, config);
            if parts.version < http::Version::HTTP_2 {
                // A connection that sent something ambiguous is not trusted with another request.
                resp.headers_mut().insert(
                    http::header::CONNECTION,
                    http::HeaderValue::from_static("close"),
                );
            }
            return (Arc::from(INVALID_ROUTE), decision, resp);
        }
    };
    let route = config.route_for(facts.method, &facts.path);
    let Authenticated { auth, session } = authenticate(
        &parts.headers,
        config,
        &snapshot.keys,
        snapshot.tokens.as_deref(),
        shared.clock.as_ref(),
        &shared.metrics,
    )
    .await;
    let decision = decide(&facts, route, &auth, config);
    shared
        .metrics
        .auth_duration
        .observe(auth_started.elapsed().as_secs_f64());
    if decision != Decision::Forward {
        let return_to = facts.path_and_query();
        let rendering = Rendering {
            method: facts.method,
            page: facts.is_page(route.respond),
            return_to: Some(&return_to),
        };
        let resp = respond::respond(&decision, &rendering, config);
        return (route.name.clone(), decision, resp);
    }
    drop(facts);
    let route_name = route.name.clone();
    let upstream_index = route.upstream;
    let Some(upstream) = config.upstreams.get(upstream_index) else {
        let resp = respond::upstream_error(crate::decision::reason::UPSTREAM_UNREACHABLE);
        return (route_name, decision, resp);
    };
    let identity_headers = session.as_deref().map(|s| &*s.headers);
    forward::prepare(&mut parts, identity_headers, peer.ip(), config);
    let sent = Instant::now();
    let result = snapshot
        .upstreams
        .send(upstream_index, Request::from_parts(parts, body))
        .await;
    let upstream_seconds = sent.elapsed().as_secs_f64();
    let resp = match result {
        Ok(resp) => {
            let status = resp.status().as_u16();
            snapshot
                .upstreams
                .observe(upstream_index, status, upstream_seconds);
            let (mut head, body) = resp.into_parts();
            forward::clean_response(&mut head.headers);
            Response::from_parts(head, body.map_err(Into::into).boxed())
        }
        Err(e) => {
            shared
                .metrics
                .upstream_errors
                .get_or_create(&KindLabel { kind: e.kind() })
                .inc();
            tracing::warn!(
                upstream = &*upstream.name,
                error = e.kind(),
                "upstream failed"
            );
            let mut resp = respond::upstream_error(e.reason());
            resp.extensions_mut().insert(UpstreamFailure);
            resp
        }
    };
    (route_name, decision, resp)
}
