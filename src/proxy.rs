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

use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::access_log;
use crate::body::RequestBody;
use crate::config::{Config, MethodOverride, Mode};
use crate::decide::{decide, decide_with_trace};
use crate::decision::Decision;
use crate::forward;
use crate::handshake::flow::{authenticate_browser, Context as BrowserContext};
use crate::method_override::{self, Verdict};
use crate::metrics::RouteDecision;
use crate::request::{ConnInfo, Facts};
use crate::respond::{self, Body, Rendering};
use crate::snapshot::{Shared, Snapshot, INVALID_ROUTE};
use crate::tunnel;
use crate::upstream::UpstreamError;
use crate::webhook;

/// Handles one request from `peer`.
pub async fn handle(
    shared: Arc<Shared>,
    mut req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    shared.metrics.in_flight.inc();
    let snapshot = shared.snapshot.load_full();
    let logging = &snapshot.config.logging;
    let request_id = access_log::request_id(req.headers_mut(), &logging.request_id_header);
    let method = req.method().clone();
    // The log line's path, only when request lines are logged at all.
    let path = tracing::enabled!(tracing::Level::WARN).then(|| req.uri().path().to_string());
    let client = path.as_ref().map(|_| {
        access_log::client_address(
            req.headers(),
            peer.ip(),
            &snapshot.config.server.trusted_proxies,
        )
    });
    let mut out = pipeline(&shared, &snapshot, req, peer).await;
    let elapsed = started.elapsed().as_secs_f64();
    shared.metrics.in_flight.dec();
    let upstream_failed = out.response.extensions().get::<UpstreamFailure>().is_some();
    let label = if upstream_failed {
        "upstream_error"
    } else {
        out.decision.label()
    };
    snapshot.route_metrics.record(&out.route, label, elapsed);
    if let Some(shadow) = &out.shadow {
        shared
            .metrics
            .shadow_decisions
            .get_or_create(&RouteDecision {
                route: out.route.clone(),
                decision: shadow.label(),
            })
            .inc();
    }
    out.response
        .headers_mut()
        .insert(logging.request_id_header.clone(), request_id.clone());
    let Some(path) = path else {
        return Ok(out.response);
    };
    access_log::emit(&access_log::Entry {
        request_id: request_id.to_str().unwrap_or(""),
        client,
        upstream: (out.upstream_seconds.is_some() || upstream_failed)
            .then(|| access_log::upstream_name(&snapshot.config, &out.route))
            .flatten(),
        method: method.as_str(),
        path: &path,
        route: &out.route,
        decision: label,
        reason: out.decision.reason(),
        shadow: out.shadow.as_ref(),
        status: out.response.status().as_u16(),
        total_seconds: elapsed,
        auth_seconds: out.auth_seconds,
        upstream_seconds: out.upstream_seconds,
        user: access_log::user_field(
            out.user.as_ref().map(|u| u.user_id.as_str()),
            logging.user_id,
        ),
    });
    Ok(out.response)
}

/// Marks a response doorman produced because the upstream failed.
#[derive(Clone, Copy)]
struct UpstreamFailure;

/// What happened to one request, for metrics and the log line.
struct Outcome {
    route: Arc<str>,
    decision: Decision,
    /// In report mode, the decision that enforcing would have taken.
    shadow: Option<Decision>,
    user: Option<Arc<crate::token::claims::Identity>>,
    auth_seconds: f64,
    upstream_seconds: Option<f64>,
    response: Response<Body>,
}

async fn pipeline(
    shared: &Shared,
    snapshot: &Arc<Snapshot>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Outcome {
    let config = &snapshot.config;
    if let Some(endpoint) = snapshot
        .webhook
        .as_ref()
        .filter(|e| req.uri().path() == e.path)
    {
        let sinks = webhook::Sinks {
            store: &shared.revocations,
            sync: shared.sync.as_ref(),
            metrics: &shared.metrics,
            now: shared.clock.now_unix(),
        };
        let (result, response) = webhook::handle(endpoint, req, &sinks).await;
        return Outcome {
            route: Arc::from("clerk-webhooks"),
            decision: Decision::Webhook { result },
            shadow: None,
            user: None,
            auth_seconds: 0.0,
            upstream_seconds: None,
            response,
        };
    }
    let auth_started = Instant::now();
    let (mut parts, body) = req.into_parts();
    let facts = match crate::request::check_message(parts.version, &parts.uri, &parts.headers)
        .and_then(|()| Facts::read(&parts.method, &parts.uri, &parts.headers))
    {
        Ok(facts) => facts,
        Err(reason) => {
            let decision = Decision::BadRequest { reason };
            let rendering = Rendering {
                method: &parts.method,
                page: false,
                return_to: None,
                handshake: None,
            };
            let mut resp = respond::respond(&decision, &rendering, config);
            if parts.version < http::Version::HTTP_2 {
                // A connection that sent something ambiguous is not trusted with another request.
                resp.headers_mut().insert(
                    http::header::CONNECTION,
                    http::HeaderValue::from_static("close"),
                );
            }
            return Outcome {
                route: Arc::from(INVALID_ROUTE),
                decision,
                shadow: None,
                user: None,
                auth_seconds: 0.0,
                upstream_seconds: None,
                response: resp,
            };
        }
    };
    let route = config.route_for(facts.method, &facts.path);
    // `?_method=DELETE` on a refusing route: 400 before any authentication work.
    if route.method_override == MethodOverride::Refuse
        && route.mode == Mode::Enforce
        && method_override::in_query(facts.query, &config.server.method_override_params)
    {
        let decision = method_override::refused();
        let rendering = Rendering {
            method: facts.method,
            page: false,
            return_to: None,
            handshake: None,
        };
        let response = respond::respond(&decision, &rendering, config);
        return Outcome {
            route: route.name.clone(),
            decision,
            shadow: None,
            user: None,
            auth_seconds: 0.0,
            upstream_seconds: None,
            response,
        };
    }
    let browser = authenticate_browser(
        &parts,
        &BrowserContext {
            config,
            keys: &snapshot.keys,
            exchanger: snapshot.exchanger.as_ref(),
            clock: shared.clock.as_ref(),
            metrics: &shared.metrics,
            tokens: snapshot.tokens.as_deref(),
            revocations: &shared.revocations,
            peer: peer.ip(),
        },
    )
    .await;
    let auth = browser.auth;
    let settings = config.decide_settings();
    let mut enforced = if tracing::enabled!(tracing::Level::DEBUG) {
        let (decision, checks) = decide_with_trace(&facts, &route.policy, &auth, &settings);
        for c in checks {
            tracing::debug!(
                route = &*route.name,
                step = c.step,
                outcome = c.outcome,
                "{}",
                c.detail
            );
        }
        decision
    } else {
        decide(&facts, &route.policy, &auth, &settings)
    };
    if enforced == Decision::Forward {
        // Query overrides on an authorizing route: the overridden method must pass too.
        if let Some(d) = method_override::check_query(&facts, route, &auth, config) {
            enforced = d;
        }
    }
    let (decision, shadow) = match (route.mode, &enforced) {
        (Mode::Report, Decision::Forward) | (Mode::Enforce, _) => (enforced, None),
        (Mode::Report, _) => (Decision::Forward, Some(enforced)),
    };
    let auth_seconds = auth_started.elapsed().as_secs_f64();
    shared.metrics.auth_duration.observe(auth_seconds);
    let user = match &auth {
        crate::decision::Auth::Valid(identity) => Some(identity.clone()),
        _ => None,
    };
    let outcome = |decision: Decision, response: Response<Body>, upstream_seconds| Outcome {
        route: route.name.clone(),
        decision,
        shadow,
        user,
        auth_seconds,
        upstream_seconds,
        response,
    };
    if decision != Decision::Forward {
        let return_to = facts.path_and_query();
        let rendering = Rendering {
            method: facts.method,
            page: facts.is_page(route.policy.respond),
            return_to: Some(&return_to),
            handshake: browser.rendering,
        };
        let mut response = respond::respond(&decision, &rendering, config);
        append_cookies(&mut response, browser.set_cookies);
        return outcome(decision, response, None);
    }
    let scan = method_override::plan(
        &parts.headers,
        hyper::body::Body::is_end_stream(&body),
        route,
        snapshot,
        &facts,
        &auth,
    );
    // What answering a stopped body needs, kept only when the body is scanned.
    let stopped_rendering = scan.as_ref().map(|_| StoppedRendering::new(&facts, route));
    drop(facts);
    let upstream_index = route.upstream;
    let Some(upstream) = config.upstreams.get(upstream_index) else {
        let response = respond::upstream_error(crate::decision::reason::UPSTREAM_UNREACHABLE);
        return outcome(decision, response, None);
    };
    if crate::body::declared_too_large(&parts.headers, route.max_body_bytes) {
        shared.metrics.limit("max_body_bytes");
        let response = respond::respond(
            &Decision::BadRequest {
                reason: crate::decision::reason::BODY_TOO_LARGE,
            },
            &Rendering {
                method: &parts.method,
                page: false,
                return_to: None,
                handshake: None,
            },
            config,
        );
        return outcome(
            Decision::BadRequest {
                reason: crate::decision::reason::BODY_TOO_LARGE,
            },
            response,
            None,
        );
    }
    let body = RequestBody::new(body, route.max_body_bytes, config.limits.body_min_rate);
    let (body, verdict) = method_override::wrap(body, scan);
    let identity_headers = browser.session.as_deref().map(|s| &*s.headers);
    let tls = parts.extensions.get::<ConnInfo>().is_some_and(|c| c.tls);
    // Only the protocols the route allows; `None` (no upgrade, or none allowed) forwards a
    // plain request, cleaned of `Upgrade`, `Connection` and `HTTP2-Settings`.
    let upgrade = tunnel::requested(&parts, &route.upgrades);
    forward::prepare(&mut parts, identity_headers, peer.ip(), tls, config);
    let version = parts.version;
    if let Some(protocol) = upgrade {
        let client = parts.extensions.remove::<hyper::upgrade::OnUpgrade>();
        tunnel::restore(&mut parts, protocol.clone());
        let result = snapshot
            .upstreams
            .send_upgrade(upstream_index, Request::from_parts(parts, body))
            .await;
        let result = match result {
            // A 101 for something that was not forwarded is never relayed or spliced;
            // dropping it closes the upstream connection.
            Ok(resp)
                if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS
                    && !tunnel::switched_to(resp.headers(), &protocol) =>
            {
                Err(UpstreamError::UnexpectedUpgrade)
            }
            other => other,
        };
        let mut response = match result {
            Ok(resp) if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS => {
                tunnel::splice(client, resp).map(|b| b.map_err(Into::into).boxed())
            }
            Ok(resp) => {
                let (mut head, body) = resp.into_parts();
                forward::clean_response(&mut head.headers);
                Response::from_parts(head, body.map_err(Into::into).boxed())
            }
            Err(e) => {
                shared.metrics.upstream_error(&upstream.name, e.kind());
                tracing::warn!(
                    upstream = &*upstream.name,
                    error = e.kind(),
                    "upstream upgrade failed"
                );
                let stopped = stopped_answer(&verdict, &stopped_rendering, version, config);
                if let Some((d, mut response)) = stopped {
                    append_cookies(&mut response, browser.set_cookies);
                    return outcome(d, response, None);
                }
                let mut resp = respond::upstream_error(e.reason());
                resp.extensions_mut().insert(UpstreamFailure);
                resp
            }
        };
        append_cookies(&mut response, browser.set_cookies);
        return outcome(decision, response, None);
    }
    let mut decision = decision;
    let sent = Instant::now();
    let result = snapshot
        .upstreams
        .send(upstream_index, Request::from_parts(parts, body))
        .await;
    let upstream_seconds = sent.elapsed().as_secs_f64();
    // A body stopped for a method override: answer the verdict, whatever the upstream did.
    if let Some((d, mut response)) = stopped_answer(&verdict, &stopped_rendering, version, config) {
        append_cookies(&mut response, browser.set_cookies);
        return outcome(d, response, Some(upstream_seconds));
    }
    let mut response = match result {
        Ok(resp) => {
            let status = resp.status().as_u16();
            snapshot
                .upstreams
                .observe(upstream_index, status, upstream_seconds);
            let (mut head, body) = resp.into_parts();
            forward::clean_response(&mut head.headers);
            Response::from_parts(head, body.map_err(Into::into).boxed())
        }
        Err(UpstreamError::BodyTooLarge) => {
            shared.metrics.limit("max_body_bytes");
            respond::upstream_error(UpstreamError::BodyTooLarge.reason())
        }
        // The client's own body broke or crawled: a 400 or 408 for the client, not an
        // upstream error. The upstream connection was closed mid-body, never reused.
        Err(e @ (UpstreamError::ClientBody | UpstreamError::BodyTooSlow)) => {
            if e == UpstreamError::BodyTooSlow {
                shared.metrics.limit("request_body_min_rate");
            }
            decision = Decision::BadRequest { reason: e.reason() };
            let mut resp = respond::upstream_error(e.reason());
            if version < http::Version::HTTP_2 {
                resp.headers_mut().insert(
                    http::header::CONNECTION,
                    http::HeaderValue::from_static("close"),
                );
            }
            resp
        }
        Err(e) => {
            shared.metrics.upstream_error(&upstream.name, e.kind());
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
    append_cookies(&mut response, browser.set_cookies);
    outcome(decision, response, Some(upstream_seconds))
}

/// How to render the decision of a body stopped by a method override.
struct StoppedRendering {
    method: http::Method,
    page: bool,
    return_to: String,
}

impl StoppedRendering {
    fn new(facts: &crate::request::Facts<'_>, route: &crate::config::Route) -> Self {
        StoppedRendering {
            method: facts.method.clone(),
            page: facts.is_page(route.policy.respond),
            return_to: facts.path_and_query(),
        }
    }
}

/// The answer to a body that [`method_override`] stopped, if it was stopped. The client's
/// body was not read to its end, so an HTTP/1 connection is closed after the answer.
fn stopped_answer(
    verdict: &Option<Verdict>,
    rendering: &Option<StoppedRendering>,
    version: http::Version,
    config: &Config,
) -> Option<(Decision, Response<Body>)> {
    let decision = verdict.as_ref()?.get()?.clone();
    let r = rendering.as_ref()?;
    let mut resp = respond::respond(
        &decision,
        &Rendering {
            method: &r.method,
            page: r.page,
            return_to: Some(&r.return_to),
            handshake: None,
        },
        config,
    );
    if version < http::Version::HTTP_2 {
        resp.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    Some((decision, resp))
}

/// Adds the `Set-Cookie` directives of a handshake exchange to whatever answer was chosen.
fn append_cookies(resp: &mut Response<Body>, cookies: Vec<http::HeaderValue>) {
    for cookie in cookies {
        resp.headers_mut().append(http::header::SET_COOKIE, cookie);
    }
}
