//! The authentication phase: the one entry point that turns a request head into an
//! [`Auth`] for `decide`.
//!
//! **When it runs:** after admission (the request is well-formed and routed), before
//! `decide`, for every request but webhook deliveries. **What it owns:** choosing Clerk's
//! session cookie (suffixed or not, [`crate::handshake::cookies`]), exchanging a returning
//! handshake nonce for fresh cookies ([`exchange`], the only I/O besides key fetches), the
//! verified-token cache and token verification ([`token`]), what webhooks revoked, and
//! Clerk's rules for browsers, applied in Clerk's order ([`browser`]): `__client_uat`, the
//! dev-browser token, when a signed-in browser needs a handshake.
//! **What it returns:** an [`Authentication`]: the `Auth`, the session to forward with, the
//! cookies to set, the handshake redirect's inputs and [`AuthEvents`] for the recorder.
//! **What it must never do:** decide (that is `decide`'s), answer the client, touch a counter,
//! or log a token.

pub mod browser;
pub mod exchange;
pub mod token;

use http::header::HeaderValue;
use http::request::Parts;
use std::net::IpAddr;
use std::sync::Arc;

use crate::cache::{Session, TokenCache};
use crate::clock::Clock;
use crate::config::Config;
use crate::decision::{Auth, HandshakeReason};
use crate::handshake::HandshakeRendering;
use crate::jwks::KeyStore;
use crate::revocation::{Revocations, Verdict};
use exchange::Exchanger;
pub use token::{verify_token, Authenticated, TokenEvents};

/// What authentication found for one request.
pub struct Authentication {
    pub auth: Auth,
    /// The identity headers to forward, when `auth` is a valid (and not revoked) token.
    pub session: Option<Arc<Session>>,
    /// `Set-Cookie` values to add to whatever response the request gets.
    pub set_cookies: Vec<HeaderValue>,
    /// What a redirect needs from this request: all of it when `auth` asks for a handshake,
    /// else only the request's public origin when known (sign-in on another origin).
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

impl<'a> Context<'a> {
    /// The context of a request from `peer` under `snapshot` (the proxy's and forward-auth's
    /// requests alike).
    pub fn of(
        shared: &'a crate::snapshot::Shared,
        snapshot: &'a crate::snapshot::Snapshot,
        peer: IpAddr,
    ) -> Context<'a> {
        Context {
            config: &snapshot.config,
            keys: &snapshot.keys,
            exchanger: snapshot.exchanger.as_ref(),
            clock: shared.clock.as_ref(),
            tokens: snapshot.tokens.as_deref(),
            revocations: &shared.revocations,
            peer,
        }
    }
}

/// Authenticates a request. With a publishable key, Clerk's browser rules decide
/// ([`browser`]: cookie choice, `__client_uat`, dev browser, nonce, handshake need); without
/// one, the token as extracted (header, then the session cookie). Revocations apply to both.
pub async fn authenticate(parts: &Parts, ctx: &Context<'_>) -> Authentication {
    let mut done = phase(parts, ctx).await;
    let origin = crate::request::request_origin(
        &parts.headers,
        ctx.peer,
        &ctx.config.server.trusted_proxies,
        ctx.config.clerk.app_origin.as_deref(),
    );
    if origin.is_some() {
        done.handshake.get_or_insert_with(Default::default).origin = origin;
    }
    done
}

async fn phase(parts: &Parts, ctx: &Context<'_>) -> Authentication {
    let clerk = &ctx.config.clerk;
    if let (Some(suffix), Some(host)) = (&clerk.cookie_suffix, &clerk.frontend_api_host) {
        return browser::authenticate(parts, ctx, suffix, host).await;
    }
    let found = token::authenticate(
        &parts.headers,
        ctx.config,
        ctx.keys,
        ctx.tokens,
        ctx.clock,
        &clerk.session_cookie,
    )
    .await;
    let auth = revoked(found.auth, ctx, false, 0);
    // Identity headers go upstream only with a valid, unrevoked token.
    let session = found.session.filter(|_| matches!(auth, Auth::Valid(_)));
    Authentication {
        auth,
        session,
        set_cookies: Vec::new(),
        handshake: None,
        events: AuthEvents {
            token: found.events,
            ..AuthEvents::default()
        },
    }
}

/// Applies what webhooks revoked to a valid identity. A stale token of a browser that can
/// take Clerk's handshake (`can_refresh`) gets one; otherwise the client is signed out with
/// the stable reason (`session_revoked`, `user_revoked`, `token_stale`).
pub(crate) fn revoked(
    auth: Auth,
    ctx: &Context<'_>,
    can_refresh: bool,
    redirect_count: u32,
) -> Auth {
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
