//! Clerk's handshake: signed-in browsers whose session token expired get a fresh one
//! instead of being sent to sign-in.
//!
//! A *document* request (GET/HEAD with `Sec-Fetch-Dest: document|iframe`, or no
//! `Sec-Fetch-Dest` and `Accept` starting with `text/html`) whose `__client_uat` says the
//! browser has a signed-in Clerk client, but whose cookie token is missing, expired, not yet
//! valid, or older than `__client_uat`, is sent with a 307 to the Frontend API's
//! `/v1/client/handshake`. Clerk sends the browser back with `__clerk_handshake_nonce`, which
//! doorman exchanges with the Backend API ([`crate::authn::exchange`]) for `Set-Cookie` directives holding a
//! fresh token; the request is then decided with that token. After 3 handshakes in a row
//! (`__clerk_redirect_count`) doorman gives up and treats the user as signed out. APIs and
//! header tokens never get a handshake. Without a secret key there is no handshake at all.

pub mod cookies;

use http::HeaderMap;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::config::Handshake;
use crate::decision::{Auth, HandshakeReason};
use crate::reason::Reason;
use crate::token::error::TokenError;
pub use cookies::ClerkCookies;

/// The Backend API version the handshake redirect announces.
pub const API_VERSION: &str = "2025-04-10";
/// Handshakes in a row before giving up.
pub const MAX_HANDSHAKES: u32 = 3;

/// Characters escaped in query values (all but unreserved).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The request-specific parts of a handshake redirect.
pub struct HandshakeRendering {
    /// The absolute URL of the request (Clerk sends the browser back there).
    pub current_url: String,
    /// Whether the suffixed cookies are in use.
    pub suffixed: bool,
    /// Handshakes in a row so far.
    pub redirect_count: u32,
}

/// Turns an authentication outcome into a handshake request when Clerk's rules say the
/// browser is signed in but its token needs a refresh. `header_token` is true when the
/// token came from `Authorization` (never refreshed by a handshake).
pub fn assess(auth: Auth, cookies: &ClerkCookies<'_>, document: bool, header_token: bool) -> Auth {
    if !document || header_token {
        return auth;
    }
    let client_uat = cookies.client_uat.unwrap_or(0);
    if client_uat <= 0 {
        return auth;
    }
    let reason = match &auth {
        Auth::Anonymous => HandshakeReason::NoSessionToken,
        Auth::Invalid(TokenError::Expired) => HandshakeReason::SessionTokenExpired,
        Auth::Invalid(TokenError::NotYetValid) => HandshakeReason::SessionTokenNbf,
        Auth::Invalid(TokenError::IssuedInFuture) => HandshakeReason::SessionTokenIatInTheFuture,
        Auth::Valid(identity) if identity.issued_at.is_some_and(|iat| iat < client_uat) => {
            HandshakeReason::SessionTokenIatBeforeClientUat
        }
        _ => return auth,
    };
    if cookies.redirect_count >= MAX_HANDSHAKES {
        return Auth::SignedOut {
            reason: Reason::HandshakeLimit,
        };
    }
    Auth::Refresh { reason }
}

/// The `Location` of a handshake redirect for the request at absolute URL `current`.
pub fn location(
    handshake: &Handshake,
    current: &str,
    reason: HandshakeReason,
    suffixed: bool,
) -> String {
    format!(
        "{}/v1/client/handshake?redirect_url={}&__clerk_api_version={API_VERSION}&suffixed_cookies={suffixed}&__clerk_hs_reason={}&format=nonce",
        handshake.frontend_api,
        utf8_percent_encode(current, QUERY),
        utf8_percent_encode(reason.as_str(), QUERY),
    )
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
