//! The forward phase: the request goes to the route's upstream, the upstream's answer comes
//! back cleaned.
//!
//! **When it runs:** only for requests decided `Forward`. **What it does:** refuses a body
//! declared over the route's limit, wraps the body (size, rate, method-override scan),
//! rewrites the head ([`crate::forward::prepare`]: identity headers, `X-Forwarded-*`),
//! sends it (or tunnels an allowed upgrade) and cleans the response head. **What it
//! returns:** an [`Answer`]: the upstream's response, or the refusal of a body the client
//! broke, crawled or overran (400/408/413), a method override found in the body, or an
//! upstream failure (502/504). **What it must never do:** decide again, or relay a `101`
//! that was not asked for.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::body::Inbound;
use http::request::Parts;
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::BodyExt;

use crate::body::RequestBody;
use crate::config::Route;
use crate::decision::{Auth, Decision, Reason};
use crate::method_override::{self, ScannedBody, Verdict};
use crate::request::Facts;
use crate::respond::{self, Rendering};
use crate::snapshot::Snapshot;
use crate::upstream::UpstreamError;
use crate::{forward, tunnel};

use super::outcome::Answer;

/// How to render the decision of a body stopped by a method override.
struct Stopped {
    method: Method,
    page: bool,
    return_to: String,
    verdict: Verdict,
}

/// A request on its way upstream, prepared while the facts were at hand.
pub struct Forwarding<'c> {
    route: &'c Route,
    body: Result<ScannedBody, Answer>,
    stopped: Option<Stopped>,
}

impl<'c> Forwarding<'c> {
    /// Prepares the body of the request `parts`: limits, and the override scan a form body
    /// needs.
    pub fn new(
        parts: &Parts,
        body: Inbound,
        route: &'c Route,
        snapshot: &Arc<Snapshot>,
        facts: &Facts<'_>,
        auth: &Auth,
    ) -> Forwarding<'c> {
        let config = &snapshot.config;
        if crate::body::declared_too_large(&parts.headers, route.max_body_bytes) {
            let mut answer = Answer::bad_request(Reason::BodyTooLarge, None);
            answer.limit = Some("max_body_bytes");
            return Forwarding {
                route,
                body: Err(answer),
                stopped: None,
            };
        }
        let empty = hyper::body::Body::is_end_stream(&body);
        let scan = method_override::plan(&parts.headers, empty, route, snapshot, facts, auth);
        let body = RequestBody::new(body, route.max_body_bytes, config.limits.body_min_rate);
        let (body, verdict) = method_override::wrap(body, scan);
        let stopped = verdict.map(|verdict| Stopped {
            method: facts.method.clone(),
            page: facts.is_page(route.policy.respond),
            return_to: facts.path_and_query(),
            verdict,
        });
        Forwarding {
            route,
            body: Ok(body),
            stopped,
        }
    }

    /// Sends the request: a plain exchange, or a tunnel for an upgrade the route allows.
    pub async fn send(
        self,
        mut parts: Parts,
        identity: Option<&[(http::HeaderName, http::HeaderValue)]>,
        assertion: Option<crate::assertion::Attached>,
        peer: IpAddr,
        tls: bool,
        snapshot: &Snapshot,
    ) -> Answer {
        let body = match self.body {
            Ok(body) => body,
            Err(answer) => return answer,
        };
        let route = self.route;
        // Only the protocols the route allows; `None` (no upgrade, or none allowed) forwards a
        // plain request, cleaned of `Upgrade`, `Connection` and `HTTP2-Settings`.
        let upgrade = tunnel::requested(&parts, &route.upgrades);
        forward::prepare(&mut parts, identity, assertion, peer, tls, &snapshot.config);
        let version = parts.version;
        let index = route.upstream;
        let answer = match upgrade {
            Some(protocol) => upgrade_exchange(parts, body, protocol, index, snapshot).await,
            None => exchange(parts, body, index, snapshot, version).await,
        };
        match self
            .stopped
            .as_ref()
            .and_then(|s| stopped_answer(s, version, snapshot))
        {
            // A body stopped for a method override: answer the verdict, whatever the upstream did.
            Some(mut stopped) => {
                stopped.upstream_seconds = answer.upstream_seconds;
                stopped
            }
            None => answer,
        }
    }
}

/// A plain request/response exchange.
async fn exchange(
    head: Parts,
    body: ScannedBody,
    index: usize,
    snapshot: &Snapshot,
    version: Version,
) -> Answer {
    let sent = Instant::now();
    let result = snapshot
        .upstreams
        .send(index, Request::from_parts(head, body))
        .await;
    let seconds = sent.elapsed().as_secs_f64();
    let mut answer = match result {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let (mut head, body) = resp.into_parts();
            forward::clean_response(&mut head.headers);
            let response = Response::from_parts(head, body.map_err(Into::into).boxed());
            let mut answer = Answer::new(Decision::Forward, response);
            answer.upstream_status = Some((index, status));
            answer
        }
        // The client's own body broke, crawled or overran its limit: a client error, not an
        // upstream one. The upstream connection was closed mid-body, never reused.
        Err(
            e @ (UpstreamError::BodyTooLarge
            | UpstreamError::ClientBody
            | UpstreamError::BodyTooSlow),
        ) => {
            let mut answer = Answer::bad_request(e.reason(), Some(version));
            answer.limit = match e {
                UpstreamError::BodyTooLarge => Some("max_body_bytes"),
                UpstreamError::BodyTooSlow => Some("request_body_min_rate"),
                _ => None,
            };
            answer
        }
        Err(e) => failed(e, index, snapshot, "upstream failed"),
    };
    answer.upstream_seconds = Some(seconds);
    answer
}

/// An upgrade the route allows: a `101` for exactly that protocol is spliced, anything else
/// is relayed as a plain response; a `101` for something not asked is a 502.
async fn upgrade_exchange(
    mut head: Parts,
    body: ScannedBody,
    protocol: http::HeaderValue,
    index: usize,
    snapshot: &Snapshot,
) -> Answer {
    let client = head.extensions.remove::<hyper::upgrade::OnUpgrade>();
    tunnel::restore(&mut head, protocol.clone());
    let result = snapshot
        .upstreams
        .send_upgrade(index, Request::from_parts(head, body))
        .await;
    match result {
        // A 101 for something that was not forwarded is never relayed or spliced; dropping it
        // closes the upstream connection.
        Ok(resp)
            if resp.status() == StatusCode::SWITCHING_PROTOCOLS
                && !tunnel::switched_to(resp.headers(), &protocol) =>
        {
            failed(
                UpstreamError::UnexpectedUpgrade,
                index,
                snapshot,
                "upstream upgrade failed",
            )
        }
        Ok(resp) if resp.status() == StatusCode::SWITCHING_PROTOCOLS => {
            let response = tunnel::splice(client, resp).map(|b| b.map_err(Into::into).boxed());
            Answer::new(Decision::Forward, response)
        }
        Ok(resp) => {
            let (mut head, body) = resp.into_parts();
            forward::clean_response(&mut head.headers);
            Answer::new(
                Decision::Forward,
                Response::from_parts(head, body.map_err(Into::into).boxed()),
            )
        }
        Err(e) => failed(e, index, snapshot, "upstream upgrade failed"),
    }
}

/// The 502/504 of a failed upstream exchange.
fn failed(e: UpstreamError, index: usize, snapshot: &Snapshot, what: &str) -> Answer {
    let upstream = snapshot
        .config
        .upstreams
        .get(index)
        .map_or("", |u| &*u.name);
    tracing::warn!(upstream, error = e.kind(), "{what}");
    let mut answer = Answer::new(Decision::Forward, respond::refusal(e.reason(), false));
    answer.upstream_error = Some(e.kind());
    answer
}

/// The answer to a body that [`method_override`] stopped, if it was stopped. The client's
/// body was not read to its end, so an HTTP/1 connection is closed after the answer.
fn stopped_answer(stopped: &Stopped, version: Version, snapshot: &Snapshot) -> Option<Answer> {
    let decision = stopped.verdict.get()?.clone();
    let rendering = Rendering {
        method: &stopped.method,
        page: stopped.page,
        return_to: Some(&stopped.return_to),
        handshake: None,
    };
    Some(Answer::render(
        decision,
        &rendering,
        &snapshot.config,
        Some(version),
    ))
}
