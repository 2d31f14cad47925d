//! The signed identity assertion: a short-lived compact JWT doorman signs for each session
//! and upstream audience, so an application can tell doorman's identity headers from ones
//! forged by whoever reaches it around doorman (docs/assertion.md).
//!
//! **When it runs:** for forwarded requests that have a session (no identity, no assertion),
//! when `[assertion]` is configured. **What it does:** answers the assertion prepared for
//! the session and the route's upstream ([`Assertions::attach`]), signing one only when the
//! session has none for that upstream, the one it has is past half its lifetime (or not yet
//! valid: the clock went back), or another key signs now. The prepared header value lives
//! in the cached [`Session`] ([`Slot`]), so a warm request pays one atomic load, a short scan
//! and a reference-count increment. **What it must never do:** log a key or an assertion,
//! or serve one after its `exp` (re-signed at half the lifetime, so never near it).
//!
//! Keys and rotation: [`ring`]. The claims and the JWS: [`sign`]. The JWKS: [`Assertions::jwks`]
//! (admin listener `/.well-known/jwks.json`, and `jwks_path` on the public one).

pub mod keys;
pub mod ring;
pub mod sign;

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use http::{header, HeaderName, HeaderValue, Response, StatusCode};
use prometheus_client::metrics::counter::Counter;

use crate::cache::Session;
use crate::config::assertion::Assertion;
use crate::respond::{full, Body};
use crate::token::claims::Identity;
use keys::KeyError;
use ring::KeyRing;

/// The admin listener's JWKS path.
pub const ADMIN_JWKS_PATH: &str = "/.well-known/jwks.json";

/// The assertion stage of one config: settings, keys and the signing counter.
pub struct Assertions {
    settings: Assertion,
    ring: Arc<KeyRing>,
    lifetime: i64,
    signed: Counter,
}

/// The assertion header a request carries upstream: handed by the proxy to
/// `forward::prepare`, which adds it after every client header is cleaned away.
#[derive(Debug, Clone)]
pub struct Attached {
    pub name: HeaderName,
    pub value: HeaderValue,
}

/// One signed assertion, ready to send.
#[derive(Debug, Clone)]
struct Prepared {
    upstream: usize,
    generation: u64,
    iat: i64,
    value: HeaderValue,
}

/// A session's prepared assertions, one per upstream it went to (usually one). Empty until
/// the first forwarded request.
#[derive(Debug, Default)]
pub struct Slot {
    prepared: ArcSwapOption<Vec<Prepared>>,
    /// Bytes the token cache counts for it (an estimate of one assertion), 0 when off.
    reserved: usize,
}

impl Slot {
    /// A slot for `identity` under `config` (reserves its estimated size when assertions
    /// are on).
    pub fn new(identity: &Identity, on: bool) -> Slot {
        Slot {
            prepared: ArcSwapOption::empty(),
            reserved: if on { sign::estimate(identity) } else { 0 },
        }
    }

    /// The bytes the token cache counts for this slot.
    pub fn reserved(&self) -> usize {
        self.reserved
    }
}

impl Assertions {
    /// The stage for `settings`; a reload passes the `previous` stage, whose generated keys
    /// carry on. Reads key files.
    pub fn new(
        settings: &Assertion,
        previous: Option<&Assertions>,
        signed: Counter,
        now: i64,
    ) -> Result<Assertions, KeyError> {
        let ring = KeyRing::new(settings, previous.map(|p| &p.ring), now)?;
        Ok(Assertions {
            settings: settings.clone(),
            ring,
            lifetime: i64::try_from(settings.lifetime.as_secs()).unwrap_or(60),
            signed,
        })
    }

    pub fn settings(&self) -> &Assertion {
        &self.settings
    }

    /// The assertion header for `session` going to upstream `upstream` at `now`: the
    /// prepared one while it is fresh, else a new one. `None` only if signing failed (the
    /// request then goes without one, and the application refuses it).
    pub fn attach(&self, session: &Session, upstream: usize, now: i64) -> Option<Attached> {
        let generation = self.ring.signing_generation(now);
        let slot = &session.assertions;
        let fresh = |p: &&Prepared| {
            p.upstream == upstream
                && p.generation == generation
                && now >= p.iat
                && now - p.iat < self.lifetime / 2
        };
        if let Some(hit) = slot
            .prepared
            .load()
            .as_deref()
            .and_then(|all| all.iter().find(fresh))
        {
            return Some(self.attached(hit.value.clone()));
        }
        let audience = self.settings.audiences.get(upstream)?;
        let key = self.ring.signing(now);
        let stamp = sign::Stamp {
            issuer: &self.settings.issuer,
            audience,
            iat: now,
            lifetime: self.lifetime,
        };
        let jws = match sign::compact(&key, &stamp, &session.identity) {
            Ok(jws) => jws,
            Err(e) => {
                tracing::warn!(error = %e, "assertion not signed; the request goes without one");
                return None;
            }
        };
        let value = HeaderValue::from_maybe_shared(bytes::Bytes::from(jws)).ok()?;
        self.signed.inc();
        let prepared = Prepared {
            upstream,
            generation: key.generation,
            iat: now,
            value: value.clone(),
        };
        // Racing requests of one session may both sign; the last store wins, both are valid.
        slot.prepared.rcu(|old| {
            let mut all: Vec<Prepared> = old
                .as_deref()
                .map(|all| {
                    all.iter()
                        .filter(|p| p.upstream != upstream)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            all.push(prepared.clone());
            Some(Arc::new(all))
        });
        Some(self.attached(value))
    }

    fn attached(&self, value: HeaderValue) -> Attached {
        Attached {
            name: self.settings.header.clone(),
            value,
        }
    }

    /// The JWKS at `now`: `{"keys": [...]}` with the signing key first.
    pub fn jwks(&self, now: i64) -> String {
        let keys: Vec<serde_json::Value> = self
            .ring
            .published(now)
            .iter()
            .map(|k| k.jwk.clone())
            .collect();
        serde_json::json!({ "keys": keys }).to_string()
    }

    /// The JWKS as an HTTP response (cacheable for a minute: rotation publishes the next key
    /// ahead, and verifiers fetch again on an unknown `kid`).
    pub fn jwks_response(&self, now: i64) -> Response<Body> {
        let mut response = Response::new(full(bytes::Bytes::from(self.jwks(now))));
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=60"),
        );
        response
    }

    /// Whether doorman generated the keys (each replica then publishes its own).
    pub fn generated_keys(&self) -> bool {
        self.ring.generated()
    }
}

#[cfg(test)]
mod tests;
