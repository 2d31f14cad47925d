//! Turning a client request into the request the upstream sees.
//!
//! Order matters and is fixed: hop-by-hop headers and every header named in `Connection`
//! are removed first; then every identity header (any case, any count, `_` spelled for `-`)
//! and method-override header; then `X-Forwarded-*` are set (appended to only for trusted
//! peers); identity headers are added last, so no client header can remove or replace them.
//! The path forwarded is the validated path that was matched, with the query unchanged.

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Uri, Version};

use crate::config::{Config, IdentityHeaders, Scheme, Upstream};
use crate::token::claims::Identity;

/// Hop-by-hop headers (RFC 9110 §7.6.1 and the usual non-standard ones).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers that ask an upstream framework to treat the request as another method.
const METHOD_OVERRIDES: &[&str] = &[
    "x-http-method-override",
    "x-method-override",
    "x-http-method",
];

/// Headers only a trusted proxy may set.
const FORWARDING: &[&str] = &["forwarded", "x-real-ip"];

/// Removes hop-by-hop headers and the headers listed in `Connection`.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

/// Removes every header whose name, with `_` read as `-`, is an identity header or listed in
/// `[headers] strip`, and every method-override header.
pub fn strip_spoofable(headers: &mut HeaderMap, names: &IdentityHeaders) {
    let doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|k| {
            let name = k.as_str();
            METHOD_OVERRIDES.contains(&name)
                || if name.contains('_') {
                    names.strip.iter().any(|s| s == &name.replace('_', "-"))
                } else {
                    names.strip.iter().any(|s| s == name)
                }
        })
        .cloned()
        .collect();
    for name in doomed {
        headers.remove(name);
    }
}

/// Sets `X-Forwarded-For/-Proto/-Host`; keeps and appends to a peer's values only when the
/// peer is a trusted proxy.
pub fn set_forwarded(
    headers: &mut HeaderMap,
    peer: IpAddr,
    host: Option<HeaderValue>,
    config: &Config,
) {
    let trusted = config
        .server
        .trusted_proxies
        .iter()
        .any(|net| net.contains(&peer));
    let peer_text = peer.to_string();
    let xff = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prior) if trusted => format!("{prior}, {peer_text}"),
        _ => peer_text,
    };
    if !trusted {
        for name in FORWARDING {
            headers.remove(*name);
        }
        headers.remove("x-forwarded-proto");
        headers.remove("x-forwarded-host");
    }
    headers.remove("x-forwarded-for");
    if let Ok(v) = HeaderValue::from_str(&xff) {
        headers.insert("x-forwarded-for", v);
    }
    if !headers.contains_key("x-forwarded-proto") {
        headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    }
    if !headers.contains_key("x-forwarded-host") {
        if let Some(host) = host {
            headers.insert("x-forwarded-host", host);
        }
    }
}

/// The identity headers for a verified identity. Values that are not plain visible ASCII
/// are left out (never sent mangled), as are list items containing a comma.
pub fn identity_headers(
    identity: &Identity,
    names: &IdentityHeaders,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::with_capacity(9);
    let mut single = |name: &HeaderName, value: Option<&str>| {
        if let Some(v) = value.filter(|v| is_plain(v) && !v.is_empty()) {
            if let Ok(v) = HeaderValue::from_str(v) {
                out.push((name.clone(), v));
            }
        }
    };
    single(&names.user_id, Some(&identity.user_id));
    single(&names.session_id, Some(&identity.session_id));
    single(&names.user_type, identity.user_type.as_deref());
    single(&names.org_id, identity.org_id.as_deref());
    single(&names.org_role, identity.org_role.as_deref());
    single(
        &names.onboarding_status,
        identity.onboarding_status.as_deref(),
    );
    let mut list = |name: &HeaderName, items: &[String]| {
        let joined = items
            .iter()
            .filter(|i| is_plain(i) && !i.contains(',') && !i.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(",");
        if let Ok(v) = HeaderValue::from_str(&joined) {
            out.push((name.clone(), v));
        }
    };
    list(&names.roles, &identity.roles);
    list(&names.permissions, &identity.permissions);
    list(&names.feature_flags, &identity.feature_flags);
    out
}

fn is_plain(value: &str) -> bool {
    value.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// Rewrites the request head in place for `upstream`. `identity` is `None` for anonymous
/// requests and requests whose token was refused (on public routes).
pub fn prepare(
    parts: &mut Parts,
    upstream: &Upstream,
    identity: Option<&Identity>,
    peer: IpAddr,
    config: &Config,
) -> Result<(), http::Error> {
    let headers = &mut parts.headers;
    remove_hop_by_hop(headers);
    strip_spoofable(headers, &config.headers);
    // HTTP/2 clients send the host as :authority; HTTP/1.1 upstreams need a Host header.
    let host = headers.get(header::HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    if let Some(h) = &host {
        headers.insert(header::HOST, h.clone());
    }
    set_forwarded(headers, peer, host, config);
    if let Some(identity) = identity {
        for (name, value) in identity_headers(identity, &config.headers) {
            headers.insert(name, value);
        }
    }
    let path_and_query = match parts.uri.path_and_query() {
        Some(pq) => pq.as_str(),
        None => "/",
    };
    let scheme = match upstream.scheme {
        Scheme::Http => "http",
        Scheme::Https => "https",
    };
    parts.uri = Uri::builder()
        .scheme(scheme)
        .authority(upstream.authority.as_str())
        .path_and_query(format!("{}{path_and_query}", upstream.path_prefix))
        .build()?;
    parts.version = Version::HTTP_11;
    Ok(())
}

/// Cleans an upstream response head before it goes back to the client.
pub fn clean_response(headers: &mut HeaderMap) {
    remove_hop_by_hop(headers);
}
