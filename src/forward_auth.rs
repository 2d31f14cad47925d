//! Forward-auth: doorman as the authorizer another proxy calls for each request (nginx
//! `auth_request`, ingress-nginx, Traefik ForwardAuth, Caddy `forward_auth`, Envoy HTTP
//! `ext_authz`), on its own listener (`[forward_auth] listen`, never the public one).
//!
//! ```text
//! handle ─ snapshot ─ trusted caller? ─ dialect ─ original head ─ admit ─ authenticate ─ decide
//!                         │ no: 403          │ 400                  │          │            │
//!                         └──────────────────┴──────────────────────┴──────────┴── answer ─ record
//! ```
//!
//! **What it owns:** believing a call only from `[server] trusted_proxies` (anyone else:
//! 403 `forward_auth_untrusted`, counted under route `untrusted`), reading the original
//! request ([`dialect`]) and answering instead of forwarding ([`answer`]). **What it reuses
//! unchanged:** the inline phases ([`crate::proxy::admit`], [`crate::authn::authenticate`],
//! [`crate::proxy::verdict`]), `respond`'s rendering of every refusal and the recorder, so a
//! call is decided, answered, counted and logged exactly as the same request inline would
//! be, with the `mode="forward_auth"` label. **What it must never do:** forward a request,
//! read a body, or believe a forwarded header from an untrusted peer.

pub mod answer;
pub mod dialect;
pub mod explain;
pub mod grpc;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::request::Parts;
use http::{Method, Request, Response};
use hyper::body::Incoming;

use crate::authn::{self, Authentication};
use crate::config::Config;
use crate::decision::Decision;
use crate::metrics::RequestMode;
use crate::proxy::outcome::{invalid_route, Answer, Known, Outcome, Refused};
use crate::proxy::{admit, record, verdict};
use crate::reason::Reason;
use crate::request::is_trusted_peer;
use crate::respond::{Body, Rendering};
use crate::snapshot::{Shared, Snapshot};
use dialect::{Dialect, Original};

/// The route label of calls from untrusted peers.
pub const UNTRUSTED_ROUTE: &str = "untrusted";

/// Handles one forward-auth call from `peer`.
pub async fn handle(
    shared: Arc<Shared>,
    mut req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<Body>, Infallible> {
    if grpc::is_check(&req) {
        return Ok(grpc::handle(shared, req, peer).await);
    }
    let started = Instant::now();
    shared.metrics.in_flight.inc();
    let snapshot = shared.snapshot.load_full();
    let line = record::Line::start(&mut req, &snapshot.config, peer.ip());
    let (parts, _body) = req.into_parts();
    let (mut outcome, original) = run(&shared, &snapshot, &parts, peer).await;
    outcome.mode = RequestMode::ForwardAuth;
    let line = match &original {
        Some(o) => line.original(&o.method, o.uri.path()),
        None => line,
    };
    shared.metrics.in_flight.dec();
    Ok(record::record(&shared, &snapshot, outcome, line, started))
}

/// The phases of one call; the reconstructed original head, when there was one.
async fn run(
    shared: &Shared,
    snapshot: &Arc<Snapshot>,
    call: &Parts,
    peer: SocketAddr,
) -> (Outcome, Option<Parts>) {
    let config = &snapshot.config;
    if let Some(refused) = untrusted(peer, config, &call.method) {
        return (refused, None);
    }
    let dialect = config
        .forward_auth
        .as_ref()
        .and_then(|fa| Some((Dialect::of(call.uri.path(), fa)?, fa)));
    let original = dialect
        .ok_or(Reason::ForwardAuthIncomplete)
        .and_then(|(d, fa)| d.original(call, fa));
    let dialect = dialect.map_or(Dialect::Forwarded, |(d, _)| d);
    decide_original(shared, snapshot, call, original, dialect, peer).await
}

/// The refusal of a call from a peer outside `[server] trusted_proxies`, if it is one.
fn untrusted(peer: SocketAddr, config: &Config, method: &Method) -> Option<Outcome> {
    if is_trusted_peer(peer.ip(), &config.server.trusted_proxies) {
        return None;
    }
    tracing::debug!(%peer, "forward-auth call from a peer outside [server] trusted_proxies refused");
    let decision = Decision::Forbidden {
        reason: Reason::ForwardAuthUntrusted,
    };
    let answer = Answer::render(decision, &Rendering::api(method), config, None);
    Some(Outcome::refused(Refused {
        route: Arc::from(UNTRUSTED_ROUTE),
        answer,
    }))
}

/// The original request `original` (read from `call`) decided and answered in `dialect`;
/// its head, when it could be built.
async fn decide_original(
    shared: &Shared,
    snapshot: &Arc<Snapshot>,
    call: &Parts,
    original: Result<Original, Reason>,
    dialect: Dialect,
    peer: SocketAddr,
) -> (Outcome, Option<Parts>) {
    let config = &snapshot.config;
    let origin = original.as_ref().ok().and_then(|o| o.origin(call));
    let parts = match original.and_then(|o| o.head(call, &config.headers)) {
        Ok(parts) => parts,
        Err(reason) => {
            let answer = Answer::bad_request(reason, None);
            return (refused(dialect, None, invalid_route(), answer).await, None);
        }
    };
    let call = Call {
        dialect,
        origin: origin.as_deref(),
    };
    let outcome = decide_and_answer(shared, snapshot, &parts, peer, call).await;
    (outcome, Some(parts))
}

/// How to answer the caller.
#[derive(Clone, Copy)]
struct Call<'a> {
    dialect: Dialect,
    /// The original `scheme://host`, when known.
    origin: Option<&'a str>,
}

/// admit → authenticate → decide, then the answer in the caller's dialect.
async fn decide_and_answer(
    shared: &Shared,
    snapshot: &Arc<Snapshot>,
    parts: &Parts,
    peer: SocketAddr,
    call: Call<'_>,
) -> Outcome {
    let config = &snapshot.config;
    let auth_started = Instant::now();
    let admitted = match admit::admit(parts, config) {
        Ok(admitted) => admitted,
        Err(r) => return refused(call.dialect, call.origin, r.route, r.answer).await,
    };
    let route = admitted.route;
    let Authentication {
        auth,
        session,
        set_cookies,
        handshake,
        events,
    } = authn::authenticate(parts, &authn::Context::of(shared, snapshot, peer.ip())).await;
    let verdict::Verdict { decision, shadow } =
        verdict::verdict(&admitted.facts, route, &auth, config);
    let known = Known::decided(route, shadow, &auth, events, auth_started);
    let answer = if decision == Decision::Forward {
        let identity = session.as_deref().map_or(&[][..], |s| &*s.headers);
        // The signed assertion for the route's upstream goes back with the identity headers.
        let attached = match (&snapshot.assertions, &session) {
            (Some(a), Some(s)) => a.attach(s, route.upstream, shared.clock.now_unix()),
            _ => None,
        };
        let response = match attached {
            Some(a) => {
                let mut all = identity.to_vec();
                all.push((a.name, a.value));
                answer::allowed(call.dialect, &all, &config.headers)
            }
            None => answer::allowed(call.dialect, identity, &config.headers),
        };
        Answer::new(Decision::Forward, response)
    } else {
        let mut refusal = admitted.refuse(decision, handshake, config);
        refusal.response = answer::denied(call.dialect, refusal.response, call.origin).await;
        refusal
    };
    Outcome::new(known, answer, set_cookies)
}

/// A call refused before it was decided, in `dialect`.
async fn refused(
    dialect: Dialect,
    origin: Option<&str>,
    route: Arc<str>,
    mut answer: Answer,
) -> Outcome {
    answer.response = answer::denied(dialect, answer.response, origin).await;
    Outcome::refused(Refused { route, answer })
}
