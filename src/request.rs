//! Facts about a request that the decision needs, read once.
//!
//! Owns the request-side classification: the normalized path (through [`crate::path`], the
//! one normalization used for both matching and forwarding), whether the client is a browser
//! navigation, and whether an absolute-form target names a different host. It reads headers
//! but never changes them; cleaning belongs to `forward`.

use http::{header, HeaderMap, Method, Uri};

use crate::config::Respond;
use crate::decision::reason;
use crate::path::{normalize, NormalizedPath};

/// What the proxy knows about the connection a request came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnInfo {
    /// The client connected with TLS (HTTPS).
    pub tls: bool,
}

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
    pub fn read(
        method: &'a Method,
        uri: &'a Uri,
        headers: &'a HeaderMap,
    ) -> Result<Self, &'static str> {
        if method == Method::TRACE {
            // Echoes the request (cookies, tokens) back; never forwarded.
            return Err(reason::METHOD_NOT_ALLOWED);
        }
        let mut hosts = headers.get_all(header::HOST).iter();
        if let Some(host) = hosts.next() {
            // One Host, and it must be a plain host[:port]: routing and redirects use it.
            if hosts.next().is_some() {
                return Err(reason::HOST_AMBIGUOUS);
            }
            if !is_plain_host(host.as_bytes()) {
                return Err(reason::HOST_INVALID);
            }
        }
        if let (Some(authority), Some(host)) = (uri.authority(), headers.get(header::HOST)) {
            // Absolute-form target (`GET http://other/admin`): it must name the Host we route by.
            if !host
                .as_bytes()
                .eq_ignore_ascii_case(authority.as_str().as_bytes())
            {
                return Err(reason::HOST_MISMATCH);
            }
        }
        let path = normalize(uri.path()).map_err(|e| e.as_str())?;
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

/// `host[:port]` with a DNS name, IPv4 or bracketed IPv6 host: no spaces, commas, slashes,
/// `@` or other characters an upstream could read differently.
fn is_plain_host(h: &[u8]) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(b))
}

/// A browser navigation: `Sec-Fetch-Mode: navigate`, `Sec-Fetch-Dest: document`, or an
/// `Accept` header that prefers `text/html` over everything else it lists.
pub fn is_navigation(headers: &HeaderMap) -> bool {
    let value_is = |name: &str, want: &str| {
        headers
            .get(name)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(want.as_bytes()))
    };
    if value_is("sec-fetch-mode", "navigate") || value_is("sec-fetch-dest", "document") {
        return true;
    }
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accept_prefers_html)
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
mod tests {
    use super::*;

    #[test]
    fn browser_accept_headers_are_navigations() {
        for accept in [
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "text/html",
            "TEXT/HTML; q=1",
        ] {
            assert!(accept_prefers_html(accept), "{accept}");
        }
    }

    #[test]
    fn api_accept_headers_are_not_navigations() {
        for accept in [
            "*/*",
            "application/json",
            "application/json, text/html;q=0.5",
            "text/html;q=0",
            "",
            "text/plain, text/html",
        ] {
            // The last one ties: equal quality for another type is not a preference.
            let expected = accept == "text/plain, text/html";
            assert_eq!(accept_prefers_html(accept), expected, "{accept}");
        }
    }

    #[test]
    fn sec_fetch_headers_mark_navigations() {
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-mode", "navigate".parse().unwrap());
        assert!(is_navigation(&h));
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-dest", "document".parse().unwrap());
        assert!(is_navigation(&h));
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-mode", "cors".parse().unwrap());
        h.insert("accept", "application/json".parse().unwrap());
        assert!(!is_navigation(&h));
    }

    #[test]
    fn absolute_form_for_another_host_is_refused() {
        let method = Method::GET;
        let uri: Uri = "http://evil.example/admin".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("host", "shop.example".parse().unwrap());
        assert_eq!(
            Facts::read(&method, &uri, &h).unwrap_err(),
            reason::HOST_MISMATCH
        );
        h.insert("host", "EVIL.example".parse().unwrap());
        assert!(Facts::read(&method, &uri, &h).is_ok());
    }
}
