//! Clerk's request rules besides the cookies, as pure predicates (`@clerk/backend` 3.x,
//! `tokens/request.ts`, `authenticateContext.ts`, `handshake.ts`): which requests may be
//! redirected to the handshake, when an `Authorization` header is not a token (Clerk then
//! reads the cookies), when a navigation from another site calls for a sync, and which
//! token errors a handshake can cure. Nothing here verifies, fetches or decides.

use http::{header, HeaderMap, Method};

use crate::decision::HandshakeReason;
use crate::token::error::TokenError;

use super::cookies::{DEV_BROWSER, LEGACY_DEV_BROWSER};

/// Clerk's `isRequestEligibleForHandshake`: a GET (the Frontend API only takes GET) with
/// `Sec-Fetch-Dest: document` or `iframe`, or no `Sec-Fetch-Dest` and `Accept` starting with
/// `text/html`. Everything else learns "signed out" and lets the client SDK refresh.
pub fn eligible(method: &Method, headers: &HeaderMap) -> bool {
    if method != Method::GET {
        return false;
    }
    match headers.get("sec-fetch-dest").map(|v| v.as_bytes()) {
        Some(b"document") | Some(b"iframe") => true,
        Some(_) => false,
        None => headers
            .get(header::ACCEPT)
            .is_some_and(|a| a.as_bytes().starts_with(b"text/html")),
    }
}

/// True when the one `Authorization` header carries another scheme than `Bearer` (e.g.
/// `Basic` for a staging site behind basic auth): Clerk ignores it and reads the cookies.
/// A bare token, any `Bearer` spelling, and malformed or repeated headers are the token
/// extraction's to judge.
pub fn authorization_is_another_scheme(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    match value.trim_matches([' ', '\t']).split_once(' ') {
        Some((scheme, _)) => !scheme.eq_ignore_ascii_case("bearer"),
        None => false,
    }
}

/// The handshake reason for a token error a fresh token cures (expired, not yet valid,
/// issued in the future); `None` for the others, which are signed out.
pub fn curable(error: &TokenError) -> Option<HandshakeReason> {
    match error {
        TokenError::Expired => Some(HandshakeReason::SessionTokenExpired),
        TokenError::NotYetValid => Some(HandshakeReason::SessionTokenNbf),
        TokenError::IssuedInFuture => Some(HandshakeReason::SessionTokenIatInTheFuture),
        _ => None,
    }
}

/// What the cross-origin rule needs to know about the instance and this request.
pub struct Site<'a> {
    /// This request's origin (`https://app.example.com`).
    pub origin: &'a str,
    /// The Frontend API host (`clerk.example.com`).
    pub frontend_api_host: &'a str,
    pub development: bool,
}

/// Clerk's `primary-domain-cross-origin-sync`: a signed-in GET with `Sec-Fetch-Dest:
/// document` (exactly) whose `Referer` is another origin that is not Clerk's own (the
/// Frontend API, the instance's Account Portal, or on development instances a development
/// Account Portal), when no handshake is in progress.
pub fn cross_origin_sync(
    method: &Method,
    headers: &HeaderMap,
    site: &Site<'_>,
    redirect_count: u32,
) -> bool {
    if method != Method::GET
        || redirect_count != 0
        || headers.get("sec-fetch-dest").map(|v| v.as_bytes()) != Some(b"document")
    {
        return false;
    }
    let Some(referer) = headers.get(header::REFERER).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some((origin, host)) = origin_of(referer) else {
        return false;
    };
    origin != site.origin.to_ascii_lowercase() && !is_clerk_host(&origin, &host, site)
}

/// Clerk's `isKnownClerkReferrer`.
fn is_clerk_host(origin: &str, host: &str, site: &Site<'_>) -> bool {
    if host == site.frontend_api_host {
        return true;
    }
    if site.development
        && ([".lcl.dev", ".lclstage.dev", ".lclclerk.com"]
            .iter()
            .any(|s| host.starts_with("accounts.") && host.ends_with(s))
            || [
                ".accounts.dev",
                ".accountsstage.dev",
                ".accounts.lclclerk.com",
            ]
            .iter()
            .any(|s| host.ends_with(s) && !host.ends_with(&format!(".clerk{s}"))))
    {
        return true;
    }
    origin == format!("https://{}", accounts_host(site.frontend_api_host))
}

/// Clerk's `buildAccountsBaseUrl` host: `clerk.accountsstage.` → `accountsstage.`, else the
/// first `clerk.accounts.` or `clerk.` → `accounts.`.
fn accounts_host(frontend_api_host: &str) -> String {
    if let Some(at) = frontend_api_host.find("clerk.accountsstage.") {
        return format!(
            "{}accountsstage.{}",
            &frontend_api_host[..at],
            &frontend_api_host[at + "clerk.accountsstage.".len()..]
        );
    }
    let first = |needle: &str| frontend_api_host.find(needle).map(|at| (at, needle.len()));
    let hit = match (first("clerk.accounts."), first("clerk.")) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    match hit {
        Some((at, len)) => format!(
            "{}accounts.{}",
            &frontend_api_host[..at],
            &frontend_api_host[at + len..]
        ),
        None => frontend_api_host.to_string(),
    }
}

/// The lowercased origin (`scheme://host[:port]`, default ports dropped) and host of an
/// absolute http(s) URL; `None` for anything a URL parser would refuse or give no origin.
pub fn origin_of(url: &str) -> Option<(String, String)> {
    let uri: http::Uri = url.trim().parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let host = uri.host()?.to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    let origin = match uri.port_u16() {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    };
    Some((origin, host))
}

/// The value of query parameter `name` (first occurrence, percent-decoded), like
/// `URLSearchParams.get`.
pub fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    crate::redirect::query_param(query, name)
}

/// `path_and_query` without the dev-browser parameters (`__clerk_db_jwt`, `__dev_session`),
/// which Clerk removes from `redirect_url` so the token does not stay in the address bar.
pub fn without_dev_browser(path_and_query: &str) -> std::borrow::Cow<'_, str> {
    let Some((path, query)) = path_and_query.split_once('?') else {
        return path_and_query.into();
    };
    let is_dev = |pair: &&str| {
        let name = pair.split_once('=').map_or(*pair, |(k, _)| k);
        name == DEV_BROWSER || name == LEGACY_DEV_BROWSER
    };
    if !query.split('&').any(|p| is_dev(&p)) {
        return path_and_query.into();
    }
    let kept: Vec<&str> = query.split('&').filter(|p| !is_dev(p)).collect();
    if kept.is_empty() {
        path.to_string().into()
    } else {
        format!("{path}?{}", kept.join("&")).into()
    }
}

#[cfg(test)]
mod tests;
