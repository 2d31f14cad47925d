//! One request's straight path: take one config snapshot, run the phases, record.
//!
//! ```text
//! handle ─ snapshot ─┬─ webhook path? ── webhook::handle ─────────────────────┐
//!                    └─ admit ─ authenticate ─ decide ─┬─ forward ──────────────┤
//!                          │          │           │    └─ respond ─────────────┤
//!                          └──────────┴───────────┴── (refusals) ── respond ───┴─ record
//! ```
//!
//! Each phase is a function in its own module that returns a value: [`admit`] (facts,
//! route, limits checked before any work), [`crate::authn::authenticate`], [`verdict`]
//! (the pure `decide` plus report mode), [`send`] (the upstream exchange) or
//! [`crate::respond`]. Every phase that ends a request early returns an [`Answer`]; this
//! module alone turns answers into the one [`Outcome`] the recorder ([`record`]) reads.
//! A reload in the middle of a request never mixes two configs: the snapshot is loaded once.

pub mod admit;
pub mod jwks;
pub mod outcome;
pub mod record;
pub mod send;
pub mod session;
pub mod verdict;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::{Request, Response};
use hyper::body::Incoming;

use crate::authn::{self, Authentication};
use crate::body::Inbound;
use crate::decision::Decision;
use crate::respond::Body;
use crate::snapshot::{Shared, Snapshot};
use crate::webhook;
use outcome::Known;
pub use outcome::Outcome;

/// Handles one request hyper read from `peer` (over TLS when `tls`).
pub async fn handle_hyper(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    peer: SocketAddr,
    tls: bool,
) -> Result<Response<Body>, Infallible> {
    handle(shared, req.map(Inbound::Hyper), peer, tls).await
}

/// Handles one request from `peer` (over TLS when `tls`).
pub async fn handle(
    shared: Arc<Shared>,
    mut req: Request<Inbound>,
    peer: SocketAddr,
    tls: bool,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    shared.metrics.in_flight.inc();
    let snapshot = shared.snapshot.load_full();
    let line = record::Line::start(&mut req, &snapshot.config, peer.ip());
    let outcome = run(&shared, &snapshot, req, peer, tls).await;
    shared.metrics.in_flight.dec();
    Ok(record::record(&shared, &snapshot, outcome, line, started))
}

/// The phases, in order; the first that answers ends the request.
async fn run(
    shared: &Shared,
    snapshot: &Arc<Snapshot>,
    req: Request<Inbound>,
    peer: SocketAddr,
    tls: bool,
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
            now: shared.clock.now_unix(),
        };
        let delivery = webhook::handle(endpoint, req, &sinks).await;
        return Outcome::webhook(delivery, config);
    }
    if let Some(answer) = jwks::answer(&req, snapshot, shared.clock.now_unix()) {
        return Outcome::new(
            Known::route(Arc::from("assertion-jwks")),
            answer,
            Vec::new(),
        );
    }
    let auth_started = Instant::now();
    let (parts, body) = req.into_parts();
    let admitted = match admit::admit(&parts, config) {
        Ok(admitted) => admitted,
        Err(refused) => return Outcome::refused(*refused),
    };
    let route = admitted.route;
    let authentication =
        authn::authenticate(&parts, &authn::Context::of(shared, snapshot, peer.ip())).await;
    let Authentication {
        auth,
        session,
        set_cookies,
        handshake,
        events,
    } = authentication;
    if let Some(answer) = session::answer(&parts, &auth, config) {
        let known = Known::session(&auth, events, auth_started);
        return Outcome::new(known, answer, set_cookies);
    }
    let verdict::Verdict { decision, shadow } =
        verdict::verdict(&admitted.facts, route, &auth, config);
    let known = Known::decided(route, shadow, &auth, events, auth_started);
    let answer = if decision != Decision::Forward {
        admitted.refuse(decision, handshake, config)
    } else {
        let request = send::Forwarding::new(&parts, body, route, snapshot, &admitted.facts, &auth);
        drop(admitted);
        let assertion = match (&snapshot.assertions, &session) {
            (Some(assertions), Some(session)) => {
                assertions.attach(session, route.upstream, shared.clock.now_unix())
            }
            _ => None,
        };
        let identity = session.as_deref().map(|s| &*s.headers);
        request
            .send(parts, identity, assertion, peer.ip(), tls, snapshot)
            .await
    };
    Outcome::new(known, answer, set_cookies)
}
