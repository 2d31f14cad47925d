//! Clerk's request authentication for browsers, in Clerk's order (`authenticateRequest` of
//! `@clerk/backend` 3.x): on when a publishable key is configured.
//!
//! 1. An `Authorization` token (`Bearer`, any case, or bare) decides alone; a token error a
//!    fresh token cures sends a navigation through the handshake. Another scheme (`Basic`)
//!    is ignored: the cookies decide.
//! 2. A returning handshake nonce is exchanged; a nonce the Backend API does not exchange,
//!    or a payload without a session, is signed out. A fresh token that does not verify
//!    falls back to the request's cookies, as Clerk does.
//! 3. Development instances need the dev-browser token (`__clerk_db_jwt`, cookie or query);
//!    missing, or present in the URL, calls for a handshake.
//! 4. `__client_uat` decides whether the cookie token counts: absent or `0` with a token is
//!    a handshake (`session-token-but-no-client-uat`), set without a token too; a token
//!    issued before it is a handshake (before verification, as Clerk does).
//! 5. The token is verified; a valid token on a navigation from another site is synced.
//!
//! "Handshake" becomes a 307 only for GET navigations with the handshake configured and
//! fewer than 3 in a row; otherwise the request is signed out with a stable reason.
//! Never decides, answers, counts or logs a token.

use http::header::{self, HeaderValue, AUTHORIZATION};
use http::request::Parts;
use std::sync::Arc;

use super::exchange::{session_token, Exchanger};
use super::token::{self, Authenticated};
use super::{revoked, AuthEvents, Authentication, Context};
use crate::decision::{Auth, HandshakeReason};
use crate::handshake::cookies::{peek, ClerkCookies, Instance, DEV_BROWSER};
use crate::handshake::rules::{self, Site};
use crate::handshake::{nonce, request_url, HandshakeRendering, MAX_HANDSHAKES};
use crate::reason::Reason;
use crate::request::is_trusted_peer;

/// Clerk's browser rules for one request; `suffix` and `host` come from the publishable key.
pub async fn authenticate(
    parts: &Parts,
    ctx: &Context<'_>,
    suffix: &str,
    host: &str,
) -> Authentication {
    let clerk = &ctx.config.clerk;
    let headers = &parts.headers;
    let instance = Instance {
        suffix,
        frontend_api_host: host,
        development: clerk.development,
        now: ctx.clock.now_unix(),
    };
    let cookies = ClerkCookies::read(headers, &clerk.session_cookie, &instance);
    let query = parts.uri.query();
    let dev_query = clerk
        .development
        .then(|| rules::query_value(query, DEV_BROWSER))
        .flatten();
    let flow = Flow {
        parts,
        ctx,
        eligible: rules::eligible(&parts.method, headers),
        dev_browser: clerk
            .development
            .then(|| {
                dev_query
                    .clone()
                    .filter(|v| !v.is_empty())
                    .or_else(|| cookies.dev_browser.map(str::to_string))
            })
            .flatten(),
        cookies,
    };

    if headers.contains_key(AUTHORIZATION) && !rules::authorization_is_another_scheme(headers) {
        let found = token::authenticate(
            headers,
            ctx.config,
            ctx.keys,
            ctx.tokens,
            ctx.clock,
            &flow.cookies.session_name,
        )
        .await;
        // Clerk's `__session` handshake parameter: the cookie token, else the header's. Only
        // a navigation can take a handshake: API calls skip the copy.
        let header_token = flow.eligible.then(|| {
            flow.cookies.session.map(str::to_string).or_else(|| {
                crate::token::extract_token(headers, "")
                    .ok()
                    .flatten()
                    .map(|(t, _)| t.to_string())
            })
        });
        let header_token = header_token.flatten();
        return match &found.auth {
            Auth::Invalid(e) => match rules::curable(e) {
                Some(reason) => flow.handshake(reason, header_token.as_deref(), found),
                None => flow.finish(found, header_token.as_deref()),
            },
            _ => flow.finish(found, header_token.as_deref()),
        };
    }

    let mut exchange_event = None;
    if let (Some(exchanger), Some(nonce)) = (ctx.exchanger, nonce(query, headers)) {
        match exchange(exchanger, &nonce, ctx).await {
            Exchanged::Done(done) => return *done,
            Exchanged::FallBack => exchange_event = Some("exchange_failed"),
        }
    }
    let mut done = flow.cookie_flow(dev_query.is_some()).await;
    if done.events.exchange.is_none() {
        done.events.exchange = exchange_event;
    }
    done
}

/// One request's facts, for the steps after the header and the nonce.
struct Flow<'a, 'c> {
    parts: &'a Parts,
    ctx: &'a Context<'c>,
    cookies: ClerkCookies<'a>,
    /// A GET navigation: may be redirected to the handshake.
    eligible: bool,
    /// A development instance's dev-browser token (query, else cookie).
    dev_browser: Option<String>,
}

impl Flow<'_, '_> {
    async fn cookie_flow(&self, dev_browser_in_url: bool) -> Authentication {
        let session = self.cookies.session;
        let signed_out = |reason| Authenticated {
            auth: Auth::SignedOut { reason },
            session: None,
            events: Default::default(),
        };
        if self.ctx.config.clerk.development {
            if dev_browser_in_url {
                let out = signed_out(Reason::DevBrowserSync);
                return self.handshake(HandshakeReason::DevBrowserSync, session, out);
            }
            if self.dev_browser.is_none() {
                let out = signed_out(Reason::DevBrowserMissing);
                return self.handshake(HandshakeReason::DevBrowserMissing, session, out);
            }
        }
        let client = self.cookies.client_uat;
        let Some(token) = self.cookies.session else {
            if client == 0 {
                return self.finish(anonymous(), None);
            }
            return self.handshake(HandshakeReason::NoSessionToken, None, anonymous());
        };
        if client == 0 {
            let out = signed_out(Reason::ClientSignedOut);
            return self.handshake(HandshakeReason::SessionTokenWithoutClientUat, session, out);
        }
        // Clerk compares `iat` before verifying, for tokens it can decode as session tokens.
        let peeked = peek(token).filter(|p| p.is_session_token());
        if peeked.is_some_and(|p| p.iat.is_some_and(|iat| iat < client as f64)) {
            let out = signed_out(Reason::TokenOlderThanClient);
            return self.handshake(
                HandshakeReason::SessionTokenIatBeforeClientUat,
                session,
                out,
            );
        }
        let c = self.ctx;
        let found = token::authenticate_token(token, c.config, c.keys, c.tokens, c.clock).await;
        match &found.auth {
            Auth::Invalid(e) => match rules::curable(e) {
                Some(reason) => self.handshake(reason, session, found),
                None => self.finish(found, session),
            },
            Auth::Valid(_) if self.cross_origin() => self.handshake(
                HandshakeReason::PrimaryDomainCrossOriginSync,
                session,
                found,
            ),
            _ => self.finish(found, session),
        }
    }

    /// A handshake when this request may take one, else `fallback` (signed out).
    fn handshake(
        &self,
        reason: HandshakeReason,
        session_token: Option<&str>,
        fallback: Authenticated,
    ) -> Authentication {
        if !self.eligible || self.ctx.config.clerk.handshake.is_none() {
            return self.finish(fallback, session_token);
        }
        let events = AuthEvents {
            token: fallback.events,
            ..AuthEvents::default()
        };
        if self.cookies.redirect_count >= MAX_HANDSHAKES {
            tracing::warn!("Clerk handshake gave no fresh token after {MAX_HANDSHAKES} tries; treating the browser as signed out");
            return Authentication {
                auth: Auth::SignedOut {
                    reason: Reason::HandshakeLimit,
                },
                session: None,
                set_cookies: Vec::new(),
                handshake: None,
                events: AuthEvents {
                    handshake: Some("loop_limit"),
                    ..events
                },
            };
        }
        Authentication {
            auth: Auth::Refresh { reason },
            session: None,
            set_cookies: Vec::new(),
            handshake: Some(self.rendering(session_token)),
            events: AuthEvents {
                handshake: Some("redirect"),
                ..events
            },
        }
    }

    /// Applies revocations to what was found (a stale token may still take a handshake).
    fn finish(&self, found: Authenticated, session_token: Option<&str>) -> Authentication {
        let can_refresh = self.eligible && self.ctx.config.clerk.handshake.is_some();
        let auth = revoked(
            found.auth,
            self.ctx,
            can_refresh,
            self.cookies.redirect_count,
        );
        let refresh = matches!(auth, Auth::Refresh { .. });
        let session = found.session.filter(|_| matches!(auth, Auth::Valid(_)));
        Authentication {
            handshake: refresh.then(|| self.rendering(session_token)),
            auth,
            session,
            set_cookies: Vec::new(),
            events: AuthEvents {
                token: found.events,
                handshake: refresh.then_some("redirect"),
                exchange: None,
            },
        }
    }

    fn cross_origin(&self) -> bool {
        let clerk = &self.ctx.config.clerk;
        let (Some(_), Some(host)) = (&clerk.handshake, &clerk.frontend_api_host) else {
            return false;
        };
        let url = self.current_url();
        let Some((origin, _)) = rules::origin_of(&url) else {
            return false;
        };
        let site = Site {
            origin: &origin,
            frontend_api_host: host,
            development: clerk.development,
        };
        let headers = &self.parts.headers;
        rules::cross_origin_sync(
            &self.parts.method,
            headers,
            &site,
            self.cookies.redirect_count,
        )
    }

    /// The request's absolute URL: `app_origin`, else `Host` (or a trusted proxy's
    /// `X-Forwarded-Host`) with a trusted proxy's `X-Forwarded-Proto`.
    fn current_url(&self) -> String {
        let (parts, ctx) = (self.parts, self.ctx);
        let headers = &parts.headers;
        let trusted = is_trusted_peer(ctx.peer, &ctx.config.server.trusted_proxies);
        let forwarded = |name: &str| {
            trusted
                .then(|| headers.get(name).and_then(|v| v.to_str().ok()))
                .flatten()
                .and_then(|v| v.split(',').next())
                .map(str::trim)
        };
        let host = forwarded("x-forwarded-host")
            .or_else(|| headers.get(header::HOST).and_then(|v| v.to_str().ok()))
            .or_else(|| parts.uri.authority().map(|a| a.as_str()));
        let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        match &ctx.config.clerk.handshake {
            Some(h) => request_url(h, host, forwarded("x-forwarded-proto"), path_and_query),
            None => String::new(),
        }
    }

    fn rendering(&self, session_token: Option<&str>) -> HandshakeRendering {
        HandshakeRendering {
            current_url: self.current_url(),
            suffixed: self.cookies.suffixed,
            redirect_count: self.cookies.redirect_count,
            session_token: session_token.map(str::to_string),
            dev_browser: self.dev_browser.clone(),
            origin: None,
        }
    }
}

fn anonymous() -> Authenticated {
    Authenticated {
        auth: Auth::Anonymous,
        session: None,
        events: Default::default(),
    }
}

enum Exchanged {
    /// Clerk's answer decides the request (signed in with the fresh token, or signed out).
    Done(Box<Authentication>),
    /// The fresh token did not verify: the request's own cookies decide, as in Clerk.
    FallBack,
}

/// Exchanges the nonce. A failed exchange is signed out (`handshake_failed`), as in Clerk
/// (its payload is then empty); so is a payload without a session cookie.
async fn exchange(exchanger: &Exchanger, nonce: &str, ctx: &Context<'_>) -> Exchanged {
    let failed = |set_cookies, event| {
        Exchanged::Done(Box::new(Authentication {
            auth: Auth::SignedOut {
                reason: Reason::HandshakeFailed,
            },
            session: None,
            set_cookies,
            handshake: None,
            events: AuthEvents {
                exchange: Some(event),
                ..AuthEvents::default()
            },
        }))
    };
    let directives = match exchanger.directives(nonce).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "Clerk handshake nonce exchange failed; the browser is signed out");
            return failed(Vec::new(), "exchange_failed");
        }
    };
    let set_cookies: Vec<HeaderValue> = directives
        .iter()
        .filter_map(|d| HeaderValue::from_str(d).ok())
        .collect();
    let Some(token) = session_token(&directives, &ctx.config.clerk.session_cookie) else {
        // Clerk cleared the session: the browser is signed out.
        return failed(set_cookies, "exchanged");
    };
    let fresh = match token::verify_session(token, ctx.config, ctx.keys, ctx.clock).await {
        Ok(fresh) => Arc::new(fresh),
        Err(e) => {
            tracing::warn!(error = %e, "the session token of a Clerk handshake payload did not verify; deciding with the request's cookies");
            return Exchanged::FallBack;
        }
    };
    let auth = revoked(Auth::Valid(fresh.identity.clone()), ctx, false, 0);
    let session = Some(fresh).filter(|_| matches!(auth, Auth::Valid(_)));
    Exchanged::Done(Box::new(Authentication {
        auth,
        session,
        set_cookies,
        handshake: None,
        events: AuthEvents {
            // The fresh token is verified outside the cache and, as Clerk's own answer,
            // not counted as a client's token check.
            exchange: Some("exchanged"),
            ..AuthEvents::default()
        },
    }))
}
