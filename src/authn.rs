//! The authentication phase: the one entry point that turns a request head into an
//! [`Auth`] for `decide`.
//!
//! **When it runs:** after admission (the request is well-formed and routed), before
//! `decide`, for every request but webhook deliveries. **What it owns:** choosing Clerk's
//! session cookie (suffixed or not, [`crate::handshake::cookies`]), exchanging a returning
//! handshake nonce for fresh cookies ([`exchange`], the only I/O besides key fetches), the
//! verified-token cache and token verification ([`token`]), what webhooks revoked, and
//! Clerk's rule for when a signed-in browser needs a handshake ([`crate::handshake::assess`]).
//! **What it returns:** an [`Authentication`]: the `Auth`, the session to forward with, the
//! cookies to set, the handshake redirect's inputs and [`AuthEvents`] for the recorder.
//! **What it must never do:** decide (that is `decide`'s), answer the client, touch a counter,
//! or log a token.

pub mod exchange;
pub mod token;

use http::header::{self, HeaderValue};
use http::request::Parts;
use std::net::IpAddr;
use std::sync::Arc;

use crate::cache::{Session, TokenCache};
use crate::clock::Clock;
use crate::config::Config;
use crate::decision::{Auth, HandshakeReason};
use crate::handshake::{assess, nonce, request_url, ClerkCookies, HandshakeRendering};
use crate::jwks::KeyStore;
use crate::reason::Reason;
use crate::request::{is_document_request, is_trusted_peer};
use crate::revocation::{Revocations, Verdict};
use exchange::{session_token, Exchanger};
pub use token::{verify_token, Authenticated, TokenEvents};

/// What authentication found for one request.
pub struct Authentication {
    pub auth: Auth,
    /// The identity headers to forward, when `auth` is a valid (and not revoked) token.
    pub session: Option<Arc<Session>>,
    /// `Set-Cookie` values to add to whatever response the request gets.
    pub set_cookies: Vec<HeaderValue>,
    /// Present when `auth` asks for a handshake redirect.
    pub handshake: Option<HandshakeRendering>,
    pub events: AuthEvents,
}

/// What authentication did, for the recorder to count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthEvents {
    pub token: TokenEvents,
    /// The nonce exchange's `doorman_handshakes_total` result (`exchanged`,
    /// `exchange_failed`), when a nonce came back.
    pub exchange: Option<&'static str>,
    /// `redirect` or `loop_limit`, when the browser is sent through the handshake or gave up.
    pub handshake: Option<&'static str>,
}

/// What the phase needs from the running proxy.
pub struct Context<'a> {
    pub config: &'a Config,
    pub keys: &'a KeyStore,
    pub exchanger: Option<&'a Exchanger>,
    pub clock: &'a dyn Clock,
    /// The verified-token cache of the snapshot.
    pub tokens: Option<&'a TokenCache>,
    /// Sessions, users and stale claims revoked by webhooks.
    pub revocations: &'a Revocations,
    pub peer: IpAddr,
}

/// Authenticates a request: cookies, handshake nonce, token (cached or verified),
/// revocations, handshake need.
pub async fn authenticate(parts: &Parts, ctx: &Context<'_>) -> Authentication {
    let clerk = &ctx.config.clerk;
    let headers = &parts.headers;
    // Without a suffix or the handshake only the session cookie's name matters: skip
    // parsing the cookies here (the token extraction reads them once).
    let cookies = if clerk.cookie_suffix.is_none() && clerk.handshake.is_none() {
        ClerkCookies::plain(&clerk.session_cookie)
    } else {
        ClerkCookies::read(
            headers,
            &clerk.session_cookie,
            clerk.cookie_suffix.as_deref(),
            &clerk.verify.issuer,
        )
    };
    let document = is_document_request(&parts.method, headers);
    let header_token = headers.contains_key(header::AUTHORIZATION);
    let mut exchange_event = None;
    if let (Some(exchanger), true, false) = (ctx.exchanger, document, header_token) {
        if let Some(nonce) = nonce(parts.uri.query(), headers) {
            match exchange(exchanger, &nonce, &cookies, ctx).await {
                Ok(done) => return done,
                Err(event) => exchange_event = Some(event),
            }
        }
    }
    let found = token::authenticate(
        headers,
        ctx.config,
        ctx.keys,
        ctx.tokens,
        ctx.clock,
        &cookies.session_name,
    )
    .await;
    let mut events = AuthEvents {
        token: found.events,
        exchange: exchange_event,
        handshake: None,
    };
    let can_refresh = clerk.handshake.is_some() && document && !header_token;
    let mut auth = revoked(found.auth, ctx, can_refresh, cookies.redirect_count);
    let mut handshake = None;
    if let Some(config) = &clerk.handshake {
        auth = assess(auth, &cookies, document, header_token);
        match &auth {
            Auth::Refresh { .. } => {
                events.handshake = Some("redirect");
                handshake = Some(rendering(parts, ctx, config, &cookies));
            }
            Auth::SignedOut {
                reason: Reason::HandshakeLimit,
            } => {
                events.handshake = Some("loop_limit");
                tracing::warn!("Clerk handshake gave no fresh token after {} tries; treating the browser as signed out", crate::handshake::MAX_HANDSHAKES);
            }
            _ => {}
        }
    }
    // Identity headers go upstream only with a valid, unrevoked token.
    let session = found.session.filter(|_| matches!(auth, Auth::Valid(_)));
    Authentication {
        auth,
        session,
        set_cookies: Vec::new(),
        handshake,
        events,
    }
}

/// What a handshake redirect needs from this request: its absolute URL (the scheme from a
/// trusted proxy's `X-Forwarded-Proto`), and the cookie state.
fn rendering(
    parts: &Parts,
    ctx: &Context<'_>,
    config: &crate::config::Handshake,
    cookies: &ClerkCookies<'_>,
) -> HandshakeRendering {
    let headers = &parts.headers;
    let proto = is_trusted_peer(ctx.peer, &ctx.config.server.trusted_proxies)
        .then(|| {
            headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
        })
        .flatten();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()));
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    HandshakeRendering {
        current_url: request_url(config, host, proto, path_and_query),
        suffixed: cookies.suffixed,
        redirect_count: cookies.redirect_count,
    }
}

/// Applies what webhooks revoked to a valid identity. A stale token of a browser that can
/// take Clerk's handshake (`can_refresh`) gets one; otherwise the client is signed out with
/// the stable reason (`session_revoked`, `user_revoked`, `token_stale`).
fn revoked(auth: Auth, ctx: &Context<'_>, can_refresh: bool, redirect_count: u32) -> Auth {
    let Auth::Valid(identity) = &auth else {
        return auth;
    };
    match ctx.revocations.check(identity, ctx.clock.now_unix()) {
        Verdict::Pass => auth,
        Verdict::Stale if can_refresh && redirect_count < crate::handshake::MAX_HANDSHAKES => {
            Auth::Refresh {
                reason: HandshakeReason::SessionTokenStaleClaims,
            }
        }
        verdict => match verdict.reason() {
            Some(reason) => Auth::SignedOut { reason },
            None => auth,
        },
    }
}

/// Exchanges the nonce and decides with the fresh token; `Err` with the event when the
/// exchange failed (the request then proceeds with the cookies it has).
async fn exchange(
    exchanger: &Exchanger,
    nonce: &str,
    cookies: &ClerkCookies<'_>,
    ctx: &Context<'_>,
) -> Result<Authentication, &'static str> {
    let directives = match exchanger.directives(nonce).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "Clerk handshake nonce exchange failed");
            return Err("exchange_failed");
        }
    };
    let set_cookies: Vec<HeaderValue> = directives
        .iter()
        .filter_map(|d| HeaderValue::from_str(d).ok())
        .collect();
    let mut session = None;
    let auth = match session_token(
        &directives,
        &ctx.config.clerk.session_cookie,
        &cookies.session_name,
    ) {
        Some(token) => match token::verify_session(token, ctx.config, ctx.keys, ctx.clock).await {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                let identity = fresh.identity.clone();
                session = Some(fresh);
                revoked(Auth::Valid(identity), ctx, false, 0)
            }
            Err(e) => Auth::Invalid(e),
        },
        // Clerk cleared the session: the browser is signed out.
        None => Auth::Anonymous,
    };
    let session = session.filter(|_| matches!(auth, Auth::Valid(_)));
    Ok(Authentication {
        auth,
        session,
        set_cookies,
        handshake: None,
        events: AuthEvents {
            // The fresh token is verified outside the cache and, as Clerk's own answer,
            // not counted as a client's token check.
            token: TokenEvents::default(),
            exchange: Some("exchanged"),
            handshake: None,
        },
    })
}
