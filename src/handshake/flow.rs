//! Authentication of browser requests with Clerk's cookies and handshake, around the plain
//! token authentication of [`crate::authn`].
//!
//! Chooses the session cookie (suffixed or not), exchanges a returning handshake nonce for
//! fresh cookies, and turns "signed in but the token needs a refresh" into a handshake.
//! The only I/O is the nonce exchange, bounded by `handshake_timeout`.

use http::header::{self, HeaderValue};
use http::request::Parts;
use std::net::IpAddr;
use std::sync::Arc;

use super::cookies::ClerkCookies;
use super::exchange::{session_token, Exchanger};
use super::{assess, is_document_request, nonce, request_url};
use crate::authn::{authenticate, verify_token, Authenticated};
use crate::cache::{Session, TokenCache};
use crate::clock::Clock;
use crate::config::Config;
use crate::decision::Auth;
use crate::forward::identity_headers;
use crate::handshake::HandshakeRendering;
use crate::jwks::KeyStore;
use crate::metrics::Metrics;
use crate::revocation::{Revocations, Verdict};

/// The outcome for one request.
pub struct BrowserAuth {
    pub auth: Auth,
    /// The identity headers to forward, when `auth` is a valid (and not revoked) token.
    pub session: Option<Arc<Session>>,
    /// `Set-Cookie` values to add to whatever response the request gets.
    pub set_cookies: Vec<HeaderValue>,
    /// Present when `auth` asks for a handshake redirect.
    pub rendering: Option<HandshakeRendering>,
}

/// What the flow needs from the running proxy.
pub struct Context<'a> {
    pub config: &'a Config,
    pub keys: &'a KeyStore,
    pub exchanger: Option<&'a Exchanger>,
    pub clock: &'a dyn Clock,
    pub metrics: &'a Metrics,
    /// The verified-token cache of the snapshot.
    pub tokens: Option<&'a TokenCache>,
    /// Sessions, users and stale claims revoked by webhooks.
    pub revocations: &'a Revocations,
    pub peer: IpAddr,
}

/// Authenticates `parts` as a browser may be: cookies, handshake nonce, handshake need.
pub async fn authenticate_browser(parts: &Parts, ctx: &Context<'_>) -> BrowserAuth {
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
    if let (Some(exchanger), true, false) = (ctx.exchanger, document, header_token) {
        if let Some(nonce) = nonce(parts.uri.query(), headers) {
            if let Some(done) = exchange(exchanger, &nonce, &cookies, ctx).await {
                return done;
            }
        }
    }
    let Authenticated { auth, session } = authenticate(
        headers,
        ctx.config,
        ctx.keys,
        ctx.tokens,
        ctx.clock,
        ctx.metrics,
        &cookies.session_name,
    )
    .await;
    let can_refresh = clerk.handshake.is_some() && document && !header_token;
    let auth = revoked(auth, ctx, can_refresh, cookies.redirect_count);
    // Identity headers go upstream only with a valid, unrevoked token.
    let session = session.filter(|_| matches!(auth, Auth::Valid(_)));
    if clerk.handshake.is_none() {
        return BrowserAuth {
            auth,
            session,
            set_cookies: Vec::new(),
            rendering: None,
        };
    }
    let auth = assess(auth, &cookies, document, header_token);
    let rendering = match (&auth, &clerk.handshake) {
        (Auth::Refresh { .. }, Some(handshake)) => {
            let trusted = ctx
                .config
                .server
                .trusted_proxies
                .iter()
                .any(|n| n.contains(&ctx.peer));
            let proto = trusted
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
            Some(HandshakeRendering {
                current_url: request_url(handshake, host, proto, path_and_query),
                suffixed: cookies.suffixed,
                redirect_count: cookies.redirect_count,
            })
        }
        _ => None,
    };
    match &auth {
        Auth::Refresh { .. } => ctx.metrics.handshake("redirect"),
        Auth::SignedOut { .. } => ctx.metrics.handshake("loop_limit"),
        _ => {}
    }
    if matches!(auth, Auth::SignedOut { .. }) {
        tracing::warn!("Clerk handshake gave no fresh token after {} tries; treating the browser as signed out", super::MAX_HANDSHAKES);
    }
    let session = session.filter(|_| matches!(auth, Auth::Valid(_)));
    BrowserAuth {
        auth,
        session,
        set_cookies: Vec::new(),
        rendering,
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
        Verdict::Stale if can_refresh && redirect_count < super::MAX_HANDSHAKES => Auth::Refresh {
            reason: "session-token-stale-claims",
        },
        verdict => Auth::SignedOut {
            reason: verdict.reason(),
        },
    }
}

/// Exchanges the nonce and decides with the fresh token; `None` when the exchange failed
/// (the request then proceeds with the cookies it has).
async fn exchange(
    exchanger: &Exchanger,
    nonce: &str,
    cookies: &ClerkCookies<'_>,
    ctx: &Context<'_>,
) -> Option<BrowserAuth> {
    let directives = match exchanger.directives(nonce).await {
        Ok(d) => d,
        Err(e) => {
            ctx.metrics.handshake("exchange_failed");
            tracing::warn!(error = %e, "Clerk handshake nonce exchange failed");
            return None;
        }
    };
    ctx.metrics.handshake("exchanged");
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
        Some(token) => match verify_token(token, ctx.config, ctx.keys, ctx.clock).await {
            Ok(identity) => {
                let headers = identity_headers(&identity, &ctx.config.headers).into_boxed_slice();
                let identity = Arc::new(identity);
                session = Some(Arc::new(Session {
                    identity: identity.clone(),
                    headers,
                }));
                revoked(Auth::Valid(identity), ctx, false, 0)
            }
            Err(e) => Auth::Invalid(e),
        },
        // Clerk cleared the session: the browser is signed out.
        None => Auth::Anonymous,
    };
    let session = session.filter(|_| matches!(auth, Auth::Valid(_)));
    Some(BrowserAuth {
        auth,
        session,
        set_cookies,
        rendering: None,
    })
}
