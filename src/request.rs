//! Facts about a request that the decision needs, read once.
//!
//! Owns the request-side classification: the normalized path (through [`crate::path`], the
//! one normalization used for both matching and forwarding), whether the client is a browser
//! navigation, and whether an absolute-form target names a different host. It reads headers
//! but never changes them; cleaning belongs to `forward`. [`check_message`] holds the checks
//! that only make sense for a request that came over the wire (a required `Host`, the
//! transfer coding), so that `doorman explain` can read facts of a synthetic request.

use http::{header, HeaderMap, HeaderName, Method, Uri, Version};

use crate::config::Respond;
use crate::path::{normalize, NormalizedPath};
use crate::reason::Reason;

/// What `decide` needs to know about a request.
#[derive(Debug)]
pub struct Facts<'a> {
    pub method: &'a Method,
    pub path: NormalizedPath,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The client is a browser navigation (see [`is_navigation`]).
    pub navigation: bool,
    /// A CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
    pub preflight: bool,
}

impl<'a> Facts<'a> {
    /// Reads the facts, or the stable reason id of a 400.
    pub fn read(method: &'a Method, uri: &'a Uri, headers: &'a HeaderMap) -> Result<Self, Reason> {
        if method == Method::TRACE {
            // Echoes the request (cookies, tokens) back; never forwarded.
            return Err(Reason::MethodNotAllowed);
        }
        if is_standard_method_miscased(method) {
            return Err(Reason::MethodInvalid);
        }
        let mut hosts = headers.get_all(header::HOST).iter();
        if let Some(host) = hosts.next() {
            // One Host, and it must be a plain host[:port]: routing and redirects use it.
            if hosts.next().is_some() {
                return Err(Reason::HostAmbiguous);
            }
            if !is_plain_host(host.as_bytes()) {
                return Err(Reason::HostInvalid);
            }
        }
        if let (Some(authority), Some(host)) = (uri.authority(), headers.get(header::HOST)) {
            // Absolute-form target (`GET http://other/admin`): it must name the Host we route by.
            if !host
                .as_bytes()
                .eq_ignore_ascii_case(authority.as_str().as_bytes())
            {
                return Err(Reason::HostMismatch);
            }
        }
        let path = normalize(uri.path()).map_err(|e| e.reason())?;
        Ok(Facts {
            method,
            path,
            query: uri.query(),
            navigation: is_navigation(headers),
            preflight: method == Method::OPTIONS
                && headers.contains_key(header::ORIGIN)
                && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD),
        })
    }

    /// Whether denials for this request are rendered as pages (redirects, HTML) or as API
    /// answers (401/403 JSON).
    pub fn is_page(&self, respond: Respond) -> bool {
        match respond {
            Respond::Page => true,
            Respond::Api => false,
            Respond::Auto => self.navigation,
        }
    }

    /// The original path and query, as sent (validated), for `redirect_url`.
    pub fn path_and_query(&self) -> String {
        match self.query {
            Some(q) => format!("{}?{q}", self.path.raw()),
            None => self.path.raw().to_string(),
        }
    }
}

/// Checks of the message as received that [`Facts::read`] leaves out: a request that
/// fails one is answered with the returned reason id (400, or 501 for
/// [`Reason::TransferCodingUnsupported`]) and never forwarded.
///
/// - An HTTP/1.1 request must carry `Host` (RFC 9112 §3.2: a server MUST answer 400), and an
///   HTTP/2 request `:authority` or `Host` (RFC 9113 §8.3.1); HTTP/1.0 may omit it. Filling
///   one in would let the upstream route a request doorman decided without a host.
/// - The only request transfer coding accepted is exactly one `Transfer-Encoding: chunked`
///   field, as nginx does. hyper refuses a list whose last coding is not `chunked`, removes
///   `chunked` when it reads the body and hands over the rest of the list unread: `gzip,
///   chunked` would reach the upstream as gzip bytes without the coding that says so, and
///   `chunked, chunked` (which RFC 9112 §7 forbids) as a body whose framing two parsers may
///   read differently. RFC 9112 §6.1: a coding the server does not understand gets 501.
pub fn check_message(version: Version, uri: &Uri, headers: &HeaderMap) -> Result<(), Reason> {
    let has_host = headers.contains_key(header::HOST);
    let host_required = match version {
        Version::HTTP_11 => !has_host,
        Version::HTTP_2 | Version::HTTP_3 => !has_host && uri.authority().is_none(),
        _ => false,
    };
    if host_required {
        return Err(Reason::HostMissing);
    }
    let mut codings = headers.get_all(header::TRANSFER_ENCODING).iter();
    if let Some(coding) = codings.next() {
        // hyper drops `Content-Length` when both come; doorman's own HTTP/1 loop keeps both.
        if headers.contains_key(header::CONTENT_LENGTH) {
            return Err(Reason::AmbiguousFraming);
        }
        if codings.next().is_some() || !coding.as_bytes().eq_ignore_ascii_case(b"chunked") {
            return Err(Reason::TransferCodingUnsupported);
        }
    }
    Ok(())
}

/// The standard methods (RFC 9110 §9.3, RFC 5789), spelled as they must be.
const STANDARD_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// A method that spells a standard method in another case (`get`, `Post`).
///
/// Methods are case-sensitive (RFC 9110 §9.1): `get` is an extension method, not `GET`, so
/// it never matches a rule written for `GET`. But many upstream frameworks upper-case the
/// method before dispatching (or compare it case-insensitively), so an extension method
/// `get` that reached them on an anonymous public rule would run their `GET` handler, and
/// a `delete` allowed by a rule without `methods` would run `DELETE`. No client has a reason
/// to send these spellings, so they are refused (400 `method_invalid`) instead of routed as
/// extension methods. Allocation-free: nine short comparisons.
fn is_standard_method_miscased(method: &Method) -> bool {
    let name = method.as_str();
    STANDARD_METHODS
        .iter()
        .any(|s| s.eq_ignore_ascii_case(name) && *s != name)
}

/// `host[:port]` with a DNS name, IPv4 or bracketed IPv6 host: no spaces, commas, slashes,
/// `@` or other characters an upstream could read differently.
fn is_plain_host(h: &[u8]) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(b))
}

/// Header names looked up on every request, built once (a `&str` key is parsed and
/// validated on each lookup).
const SEC_FETCH_MODE: HeaderName = HeaderName::from_static("sec-fetch-mode");
const SEC_FETCH_DEST: HeaderName = HeaderName::from_static("sec-fetch-dest");

/// A browser navigation: `Sec-Fetch-Mode: navigate`, `Sec-Fetch-Dest: document`, or an
/// `Accept` header that prefers `text/html` over everything else it lists. doorman's test for
/// "answer with a page" (redirects and HTML rather than 401/403 JSON), for any method: a form
/// `POST` is a navigation too. Clerk's narrower test for the handshake is
/// [`is_document_request`].
pub fn is_navigation(headers: &HeaderMap) -> bool {
    let value_is = |name: &HeaderName, want: &str| {
        headers
            .get(name)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(want.as_bytes()))
    };
    if value_is(&SEC_FETCH_MODE, "navigate") || value_is(&SEC_FETCH_DEST, "document") {
        return true;
    }
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accept_prefers_html)
}

/// Clerk's test for a request that loads a document, which alone may be sent through the
/// handshake: `GET`/`HEAD` with `Sec-Fetch-Dest: document|iframe`, or without
/// `Sec-Fetch-Dest` and with an `Accept` that starts with `text/html` (Clerk's exact rule,
/// stricter than [`is_navigation`]).
pub fn is_document_request(method: &Method, headers: &HeaderMap) -> bool {
    if method != Method::GET && method != Method::HEAD {
        return false;
    }
    match headers.get(SEC_FETCH_DEST).map(|v| v.as_bytes()) {
        Some(b"document") | Some(b"iframe") => true,
        Some(_) => false,
        None => headers
            .get(header::ACCEPT)
            .is_some_and(|a| a.as_bytes().starts_with(b"text/html")),
    }
}

/// True when `peer` is one of `[server] trusted_proxies`: only then are its
/// `X-Forwarded-*` headers believed (forwarding, the handshake's `redirect_url`).
pub fn is_trusted_peer(peer: std::net::IpAddr, trusted: &[ipnet::IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&peer))
}

/// The request's public origin (`https://app.example.com`), for return URLs that leave the
/// site: `app_origin` when configured; else, from a trusted proxy only, its
/// `X-Forwarded-Host` (or the `Host`) with its `X-Forwarded-Proto` (default `https`).
/// `None` when neither says: a client's own `Host` is not proof of the site's name.
pub fn request_origin(
    headers: &HeaderMap,
    peer: std::net::IpAddr,
    trusted: &[ipnet::IpNet],
    app_origin: Option<&str>,
) -> Option<String> {
    if let Some(origin) = app_origin {
        return Some(origin.to_string());
    }
    if !is_trusted_peer(peer, trusted) {
        return None;
    }
    let first = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let host = first(header::HeaderName::from_static("x-forwarded-host"))
        .or_else(|| first(header::HOST))
        .filter(|h| is_plain_host(h.as_bytes()))?;
    let scheme = match first(header::HeaderName::from_static("x-forwarded-proto")) {
        Some(p) if p.eq_ignore_ascii_case("http") => "http",
        _ => "https",
    };
    Some(format!("{scheme}://{host}"))
}

/// True when `text/html` has the highest quality in `accept` and beats any wildcard.
pub fn accept_prefers_html(accept: &str) -> bool {
    let mut html_q: Option<f32> = None;
    let mut best_other: f32 = 0.0;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
            })
            .find_map(|q| q.trim().parse::<f32>().ok())
            .filter(|q| (0.0..=1.0).contains(q))
            .unwrap_or(1.0);
        if media.eq_ignore_ascii_case("text/html") {
            html_q = Some(html_q.map_or(q, |h: f32| h.max(q)));
        } else if !media.eq_ignore_ascii_case("application/xhtml+xml") {
            best_other = best_other.max(q);
        }
    }
    matches!(html_q, Some(h) if h > 0.0 && h >= best_other)
}

#[cfg(test)]
mod tests;
