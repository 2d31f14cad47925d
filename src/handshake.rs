//! Clerk's handshake and the rules that call for it: signed-in browsers whose session
//! token needs a refresh get a fresh one instead of being sent to sign-in.
//!
//! [`cookies`] chooses Clerk's cookies (suffixed or not, `__client_uat`, dev browser);
//! [`rules`] holds Clerk's other request rules (which requests may be redirected, the
//! cross-origin referrer sync, which token errors a handshake can cure). The phase that
//! applies them in Clerk's order is [`crate::authn::browser`]. This module builds the 307's
//! `Location` (`/v1/client/handshake` on the Frontend API, with Clerk's parameters), the
//! redirect counter cookie and the request's own URL, and reads the nonce a browser comes
//! back with (exchanged by [`crate::authn::exchange`]). After 3 handshakes in a row
//! (`__clerk_redirect_count`) the browser is treated as signed out. Pure functions only.

pub mod cookies;
pub mod rules;

use http::HeaderMap;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::config::Handshake;
use crate::decision::HandshakeReason;

/// The Backend API version the handshake redirect announces (`SUPPORTED_BAPI_VERSION` of
/// `@clerk/backend` 3.25).
pub const API_VERSION: &str = "2026-05-12";
/// Handshakes in a row before giving up.
pub const MAX_HANDSHAKES: u32 = 3;

/// Characters escaped in query values (all but unreserved).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The request-specific parts of a handshake redirect, and the request's public origin for
/// any redirect that leaves the site (sign-in or onboarding on another origin).
#[derive(Debug, Clone, Default)]
pub struct HandshakeRendering {
    /// The absolute URL of the request (Clerk sends the browser back there).
    pub current_url: String,
    /// Whether the suffixed cookies are in use.
    pub suffixed: bool,
    /// Handshakes in a row so far.
    pub redirect_count: u32,
    /// The session token the request carried (cookie or header), sent as `__session`.
    pub session_token: Option<String>,
    /// A development instance's dev-browser token, sent as `__clerk_db_jwt`.
    pub dev_browser: Option<String>,
    /// The request's public origin, when doorman can know it (see
    /// [`crate::request::request_origin`]).
    pub origin: Option<String>,
}

/// The `Location` of a handshake redirect, with Clerk's parameters in Clerk's order.
pub fn location(handshake: &Handshake, r: &HandshakeRendering, reason: HandshakeReason) -> String {
    let mut to = format!(
        "{}/v1/client/handshake?redirect_url={}&__clerk_api_version={API_VERSION}&suffixed_cookies={}&__clerk_hs_reason={}&format=nonce",
        handshake.frontend_api,
        utf8_percent_encode(&r.current_url, QUERY),
        r.suffixed,
        utf8_percent_encode(reason.as_str(), QUERY),
    );
    for (name, value) in [
        ("__session", &r.session_token),
        (cookies::DEV_BROWSER, &r.dev_browser),
    ] {
        if let Some(value) = value {
            to.push_str(&format!("&{name}={}", utf8_percent_encode(value, QUERY)));
        }
    }
    to
}

/// The `Set-Cookie` value that counts this handshake.
pub fn counter_cookie(count_so_far: u32) -> String {
    format!(
        "{}={}; Path=/; SameSite=Lax; HttpOnly; Max-Age=2",
        cookies::REDIRECT_COUNT,
        count_so_far.saturating_add(1)
    )
}

/// The absolute URL of the request, for `redirect_url`: the configured origin, else the
/// `Host` with `https` when a trusted proxy said so (`forwarded_proto`) and `http` otherwise.
pub fn request_url(
    handshake: &Handshake,
    host: Option<&str>,
    forwarded_proto: Option<&str>,
    path_and_query: &str,
) -> String {
    let path_and_query = &rules::without_dev_browser(path_and_query);
    match &handshake.app_origin {
        Some(origin) => format!("{origin}{path_and_query}"),
        None => {
            let scheme = match forwarded_proto {
                Some(p) if p.eq_ignore_ascii_case("https") => "https",
                _ => "http",
            };
            format!("{scheme}://{}{path_and_query}", host.unwrap_or("localhost"))
        }
    }
}

/// The nonce a browser came back with: the query parameter, else the cookie.
pub fn nonce<'a>(
    query: Option<&'a str>,
    headers: &'a HeaderMap,
) -> Option<std::borrow::Cow<'a, str>> {
    let from_query = query.and_then(|q| {
        q.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == cookies::HANDSHAKE_NONCE && !v.is_empty())
                .then(|| percent_encoding::percent_decode_str(v).decode_utf8_lossy())
        })
    });
    from_query.or_else(|| {
        crate::token::extract::cookie_value(headers, cookies::HANDSHAKE_NONCE)
            .filter(|v| !v.is_empty())
            .map(std::borrow::Cow::Borrowed)
    })
}

#[cfg(test)]
mod tests;
