//! Turning a client request into the request the upstream sees.
//!
//! Order matters and is fixed: one pass over the header names removes hop-by-hop headers
//! and underscore spellings of framing headers (`Content_Length`), every header named in
//! `Connection`, every identity header (any case, any count, `_` spelled for `-`),
//! method-override headers and, from untrusted peers, forwarding headers (including every
//! `x-envoy-*`); the `cookie` fields of an HTTP/2 request are joined into one `Cookie`
//! line (RFC 9113 §8.2.3); then `X-Forwarded-*` are set (appended to only for trusted peers); identity headers are
//! added last, so no client header can remove or replace them. The hot path allocates only
//! when there is something to remove and never parses a header name: names are compared as
//! the lowercase strings the parser produced. The path forwarded is the validated path that
//! was matched, with the query unchanged; `upstream` addresses it.

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::Version;

use crate::config::{Config, IdentityHeaders};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Hop-by-hop headers (RFC 9110 §7.6.1 and the usual non-standard ones), and
/// `HTTP2-Settings`, which only means something on the connection of an h2c upgrade
/// (RFC 7540 §3.2.1), an upgrade doorman never forwards.
fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "http2-settings"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// An underscore spelling (`Content_Length`, `Transfer_Encoding`, `Keep_Alive`) of a
/// hop-by-hop header or of `Content-Length`. Stacks that fold `_` into `-` (CGI-style
/// servers, some Python and Ruby ones) would read it next to, or instead of, the framing
/// header hyper produced; no legitimate client sends one. `Host`, `TE`, `Trailer`, `Upgrade`
/// and `Connection` have no `-`, so they have no such spelling.
fn is_underscored_framing(name: &str) -> bool {
    const FRAMING: &[&str] = &[
        "content-length",
        "transfer-encoding",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
    ];
    name.contains('_') && FRAMING.iter().any(|w| spells(name, w))
}

/// `name` with `_` read as `-` equals `want` (lowercase, `-` spelled): CGI-style stacks
/// (WSGI, PHP, Rack) read `X_Foo` as `X-Foo`.
fn spells(name: &str, want: &str) -> bool {
    name.len() == want.len()
        && name
            .bytes()
            .zip(want.bytes())
            .all(|(n, w)| n == w || (n == b'_' && w == b'-'))
}

/// Headers that ask an upstream framework to treat the request as another method.
fn is_method_override(name: &str) -> bool {
    [
        "x-http-method-override",
        "x-method-override",
        "x-http-method",
    ]
    .iter()
    .any(|w| spells(name, w))
}

/// Headers only a trusted proxy may set (`X-Forwarded-For` is rebuilt either way): those
/// that frameworks and proxies read for the client address, scheme, host, port, prefix, path
/// or method, which would let a client rewrite, after doorman matched one request, what the
/// application sees. Every `x-envoy-*` header counts too (see [`is_envoy`]).
fn is_forwarding(name: &str) -> bool {
    const FORWARDING: &[&str] = &[
        // RFC 7239 and the X-Forwarded-* family read by Spring's ForwardedHeaderFilter,
        // Symfony's trusted headers, ASP.NET Core's ForwardedHeaders, Werkzeug's ProxyFix,
        // Rack, Django and Express (`trust proxy`).
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-forwarded-prefix",
        "x-forwarded-server",
        "x-forwarded-scheme",
        "x-forwarded-ssl",
        "x-forwarded-path",
        "x-forwarded-uri",
        // Gunicorn's `secure_scheme_headers`.
        "x-forwarded-protocol",
        // Traefik's forwardAuth sends the original method and URI as these.
        "x-forwarded-method",
        // The client address: nginx's realip module, Akamai/Cloudflare, Cloudflare, Fastly,
        // Rackspace, ingress-nginx's copy of the original X-Forwarded-For.
        "x-real-ip",
        "x-client-ip",
        "true-client-ip",
        "cf-connecting-ip",
        "fastly-client-ip",
        "x-cluster-client-ip",
        "x-original-forwarded-for",
        // The scheme: Microsoft's Front-End-Https, Tornado and ingress-nginx's X-Scheme,
        // IIS ARR's X-ARR-SSL, Cloudflare's CF-Visitor.
        "front-end-https",
        "x-scheme",
        "x-arr-ssl",
        "cf-visitor",
        // The URL or path: IIS URL Rewrite and Laminas/old Symfony (X-Original-URL,
        // X-Rewrite-URL), nginx auth_request setups (X-Original-URI, X-Original-Method),
        // Traefik's ReplacePath (X-Replaced-Path), X-Original-Path, X-HTTP-DestinationURL.
        "x-original-url",
        "x-rewrite-url",
        "x-original-uri",
        "x-original-path",
        "x-original-method",
        "x-replaced-path",
        "x-http-destinationurl",
        // The host: ASP.NET Core's ForwardedHeaders keeps the originals in X-Original-Host,
        // -For, -Proto and -Prefix (and applications read them back); X-Host and
        // X-HTTP-Host-Override are read by host-override middleware.
        "x-original-host",
        "x-original-for",
        "x-original-proto",
        "x-original-prefix",
        "x-host",
        "x-http-host-override",
        // A client certificate passed on by a TLS-terminating proxy: Envoy (XFCC), IIS ARR,
        // ASP.NET Core's certificate forwarding, Traefik's passTLSClientCert.
        "x-forwarded-client-cert",
        "x-arr-clientcert",
        "x-client-cert",
        "x-forwarded-tls-client-cert",
        "x-forwarded-tls-client-cert-info",
    ];
    matches!(name.as_bytes().first(), Some(b'x' | b'f' | b't' | b'c'))
        && (is_envoy(name) || FORWARDING.iter().any(|w| spells(name, w)))
}

/// An `x-envoy-*` header (any spelling with `_`): Envoy reads and writes these for routing
/// (`x-envoy-original-path` after a prefix rewrite, `x-envoy-original-dst-host` choosing the
/// upstream host, `x-envoy-internal` marking a request internal, retry and timeout
/// overrides), so they are trusted only from a trusted proxy.
fn is_envoy(name: &str) -> bool {
    name.len() > 8
        && name
            .get(..8)
            .is_some_and(|prefix| spells(prefix, "x-envoy-"))
}

/// True when `name`, with `_` read as `-`, is in `strip` (lowercase, `-` spelled).
fn is_stripped(name: &str, strip: &[String]) -> bool {
    strip.iter().any(|s| {
        s.len() == name.len()
            && s.bytes()
                .zip(name.bytes())
                .all(|(s, n)| s == n || (n == b'_' && s == b'-'))
    })
}

/// The members of a comma-separated field value (`Connection`, `Transfer-Encoding`), trimmed
/// of optional whitespace; compared by the caller, case-insensitively.
pub fn list_members(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(<[u8]>::trim_ascii)
}

/// True when `headers` carry the connection option `option` (e.g. `close`).
pub fn has_connection_option(headers: &HeaderMap, option: &str) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(|v| list_members(v.as_bytes()))
        .any(|o| o.eq_ignore_ascii_case(option.as_bytes()))
}

/// Adds the headers named in `Connection` to `doomed`.
fn named_in_connection(headers: &HeaderMap, doomed: &mut Vec<HeaderName>) {
    let named = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok());
    doomed.extend(named);
}

/// Removes hop-by-hop headers and the headers listed in `Connection`.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    remove_where(headers, is_hop_by_hop);
}

/// One pass over the request's header names: hop-by-hop and `Connection`-named headers,
/// identity and method-override headers, and (from untrusted peers) forwarding headers.
/// Allocates only when there is something to remove.
pub fn clean_request(headers: &mut HeaderMap, names: &IdentityHeaders, trusted: bool) {
    remove_where(headers, |name| {
        is_hop_by_hop(name)
            || is_underscored_framing(name)
            || is_method_override(name)
            // Underscore spellings come from no legitimate proxy: removed even from trusted ones.
            || ((!trusted || name.contains('_')) && is_forwarding(name))
            || is_stripped(name, &names.strip)
    });
}

/// Removes the headers named in `Connection` and every header `doomed` says yes to.
fn remove_where(headers: &mut HeaderMap, doomed: impl Fn(&str) -> bool) {
    let mut remove = Vec::new();
    if headers.contains_key(header::CONNECTION) {
        named_in_connection(headers, &mut remove);
    }
    remove.extend(headers.keys().filter(|k| doomed(k.as_str())).cloned());
    for name in &remove {
        headers.remove(name);
    }
}

/// Adds `X-Forwarded-*` to headers already cleaned of an untrusted peer's copies.
fn add_forwarded(
    headers: &mut HeaderMap,
    peer: IpAddr,
    host: Option<HeaderValue>,
    trusted: bool,
    tls: bool,
) {
    let prior = match headers.get(X_FORWARDED_FOR) {
        Some(prior) if trusted => prior.to_str().ok().map(str::to_owned),
        _ => None,
    };
    let xff = match prior {
        Some(prior) => HeaderValue::from_str(&format!("{prior}, {peer}")).ok(),
        None => Some(ip_header_value(peer)),
    };
    match xff {
        Some(v) => headers.insert(X_FORWARDED_FOR, v),
        None => headers.remove(X_FORWARDED_FOR),
    };
    if !trusted || !headers.contains_key(X_FORWARDED_PROTO) {
        let proto = if tls { "https" } else { "http" };
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    }
    if !trusted || !headers.contains_key(X_FORWARDED_HOST) {
        if let Some(host) = host {
            headers.insert(X_FORWARDED_HOST, host);
        }
    }
}

/// The textual IP as a header value, without the formatting machinery for IPv4.
fn ip_header_value(ip: IpAddr) -> HeaderValue {
    let IpAddr::V4(v4) = ip else {
        return HeaderValue::from_str(&ip.to_string()).unwrap_or(HeaderValue::from_static(""));
    };
    let mut text = [0u8; 15];
    let mut len = 0;
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            text[len] = b'.';
            len += 1;
        }
        let digits = [octet / 100, octet / 10 % 10, octet % 10];
        let skip = if octet >= 100 {
            0
        } else if octet >= 10 {
            1
        } else {
            2
        };
        for d in &digits[skip..] {
            text[len] = b'0' + d;
            len += 1;
        }
    }
    HeaderValue::from_bytes(&text[..len]).unwrap_or(HeaderValue::from_static(""))
}

/// Rewrites the request head in place for the upstream: cleans it, sets `Host` (from
/// `:authority` for HTTP/2 clients) and `X-Forwarded-*` (`-Proto` is `https` when the client
/// connected with TLS), adds the prepared identity
/// headers (`None` for anonymous requests and refused tokens on public routes) and the
/// session's signed assertion (`[assertion]`, [`crate::assertion::Attached`]), and speaks
/// HTTP/1.1. The upstream stage addresses it (origin-form target, path prefix).
pub fn prepare(
    parts: &mut Parts,
    identity: Option<&[(HeaderName, HeaderValue)]>,
    assertion: Option<crate::assertion::Attached>,
    peer: IpAddr,
    tls: bool,
    config: &Config,
) {
    let trusted = crate::request::is_trusted_peer(peer, &config.server.trusted_proxies);
    let headers = &mut parts.headers;
    clean_request(headers, &config.headers, trusted);
    if parts.version == Version::HTTP_2 {
        join_cookies(headers);
    }
    // HTTP/2 clients send the host as :authority; HTTP/1.1 upstreams need a Host header.
    let host = match headers.get(header::HOST) {
        Some(host) => Some(host.clone()),
        None => {
            let authority = parts
                .uri
                .authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok());
            if let Some(a) = &authority {
                headers.insert(header::HOST, a.clone());
            }
            authority
        }
    };
    let identity = identity.unwrap_or_default();
    // One growth of the map for everything added below, instead of one per doubling.
    headers.reserve(identity.len() + 4);
    add_forwarded(headers, peer, host, trusted, tls);
    for (name, value) in identity {
        headers.insert(name.clone(), value.clone());
    }
    // Its header was cleaned away with the identity headers above.
    if let Some(assertion) = assertion {
        headers.insert(assertion.name, assertion.value);
    }
    parts.version = Version::HTTP_11;
}

/// Joins several `Cookie` fields into one, separated by `"; "`: HTTP/2 clients may send each
/// cookie as its own field, which must be concatenated before the request goes on in an
/// HTTP/1.1 context (RFC 9113 §8.2.3), where several `Cookie` lines are not allowed (RFC 6265
/// §5.4) and an upstream may read only the first or the last. The order is kept, so the
/// first occurrence of a cookie stays first, as `token::extract::cookie_value` reads it.
/// Allocates only when there are at least two fields.
fn join_cookies(headers: &mut HeaderMap) {
    let mut fields = headers.get_all(header::COOKIE).iter();
    let (Some(first), Some(_)) = (fields.next(), fields.next()) else {
        return;
    };
    let mut joined = first.as_bytes().to_vec();
    for field in headers.get_all(header::COOKIE).iter().skip(1) {
        joined.extend_from_slice(b"; ");
        joined.extend_from_slice(field.as_bytes());
    }
    // Every part was a valid header value and "; " is one too, so this cannot fail; if it
    // did, the fields are left as they came rather than dropped.
    if let Ok(value) = HeaderValue::from_maybe_shared(bytes::Bytes::from(joined)) {
        headers.insert(header::COOKIE, value);
    }
}

/// Cleans an upstream response head before it goes back to the client.
pub fn clean_response(headers: &mut HeaderMap) {
    remove_hop_by_hop(headers);
}

#[cfg(test)]
mod tests;
