//! Reading the original request out of a forward-auth call, in each caller's dialect.
//!
//! **What it owns:** which dialect a call speaks (by the path it was sent to), where that
//! dialect puts the original method, scheme, host and path (nginx and ingress-nginx:
//! `X-Original-Method`, `X-Original-URL` or `X-Original-URI`; Traefik and Caddy:
//! `X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri`; Envoy HTTP `ext_authz`: the call's own
//! method, `Host` and path after the configured prefix), and the synthetic request head the
//! phases then read as if the request had come inline. **What it must never do:** decide,
//! normalize or check the path itself (admission does that, exactly as inline), or carry
//! the caller's forwarding or identity headers into the synthetic head.

use http::request::Parts;
use http::{header, HeaderMap, HeaderValue, Method, Request, Uri};

use crate::config::forward_auth::ForwardAuth;
use crate::config::IdentityHeaders;
use crate::reason::Reason;

/// How the calling proxy describes the original request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// nginx `auth_request` and ingress-nginx (`/nginx`): only 2xx, 401 and 403 are
    /// understood, so redirects travel as 401 with `X-Doorman-Location`.
    Nginx,
    /// Traefik ForwardAuth (`/traefik`): a non-2xx answer reaches the client, but Traefik
    /// resolves a relative `Location` against the authorizer's address, so redirects are
    /// made absolute with the original scheme and host.
    Traefik,
    /// Caddy `forward_auth` and other `X-Forwarded-*` callers (`/caddy`, `/forwarded`): a
    /// non-2xx answer reaches the client as it is.
    Forwarded,
    /// Envoy HTTP `ext_authz` (`<envoy_path_prefix>/<original path>`): a denial reaches the
    /// client as it is; an allowed answer names the headers Envoy must remove upstream.
    Envoy,
}

/// The original request as the caller described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub method: Method,
    /// `http` or `https`.
    pub https: bool,
    /// `host[:port]`, when the caller said (checked by admission like any `Host`).
    pub host: Option<HeaderValue>,
    /// Path and query as sent by the client, not yet normalized.
    pub path_and_query: String,
}

impl Dialect {
    /// The dialect of a call to `path` on the forward-auth listener, with the original
    /// path and query for Envoy (whose calls carry it in their own path).
    pub fn of(path: &str, settings: &ForwardAuth) -> Option<Dialect> {
        match path {
            "/nginx" => Some(Dialect::Nginx),
            "/traefik" => Some(Dialect::Traefik),
            "/caddy" | "/forwarded" => Some(Dialect::Forwarded),
            _ => {
                let rest = path.strip_prefix(settings.envoy_path_prefix.as_str())?;
                (rest.is_empty() || rest.starts_with('/')).then_some(Dialect::Envoy)
            }
        }
    }

    /// The dialect's name, for `explain`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Nginx => "nginx",
            Dialect::Traefik => "traefik",
            Dialect::Forwarded => "forwarded",
            Dialect::Envoy => "envoy",
        }
    }

    /// Reads the original request from a call. `Err` is the 400 reason: a required header
    /// missing or repeated, or a value that is not a method or a target.
    pub fn original(self, call: &Parts, settings: &ForwardAuth) -> Result<Original, Reason> {
        let h = &call.headers;
        match self {
            Dialect::Nginx => {
                let method = method(required(h, "x-original-method")?)?;
                if let Some(url) = one(h, "x-original-url")? {
                    let uri: Uri = url.parse().map_err(|_| Reason::ForwardAuthIncomplete)?;
                    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority())
                    else {
                        return Err(Reason::ForwardAuthIncomplete);
                    };
                    let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
                    return Ok(Original {
                        method,
                        https: scheme.eq_ignore_ascii_case("https"),
                        host: HeaderValue::from_str(authority.as_str()).ok(),
                        path_and_query: path.to_string(),
                    });
                }
                let proto = match one(h, "x-forwarded-proto")? {
                    Some(p) => Some(p),
                    None => one(h, "x-scheme")?,
                };
                Ok(Original {
                    method,
                    https: is_https(proto),
                    host: host(h, "x-forwarded-host")?,
                    path_and_query: required(h, "x-original-uri")?.to_string(),
                })
            }
            Dialect::Traefik | Dialect::Forwarded => Ok(Original {
                method: method(required(h, "x-forwarded-method")?)?,
                https: is_https(one(h, "x-forwarded-proto")?),
                host: host(h, "x-forwarded-host")?,
                path_and_query: required(h, "x-forwarded-uri")?.to_string(),
            }),
            Dialect::Envoy => {
                let pq = call.uri.path_and_query().map_or("/", |pq| pq.as_str());
                let rest = pq
                    .strip_prefix(settings.envoy_path_prefix.as_str())
                    .unwrap_or(pq);
                let path_and_query = if rest.is_empty() || rest.starts_with('?') {
                    format!("/{rest}")
                } else {
                    rest.to_string()
                };
                Ok(Original {
                    method: call.method.clone(),
                    https: is_https(one(h, "x-forwarded-proto")?),
                    host: host(h, "x-forwarded-host")?,
                    path_and_query,
                })
            }
        }
    }
}

impl Original {
    /// `scheme://host` of the original request, when its host is known and plain.
    pub fn origin(&self, call: &Parts) -> Option<String> {
        let host = self
            .host
            .as_ref()
            .or_else(|| call.headers.get(header::HOST))?;
        let host = host.to_str().ok()?;
        let plain = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
        let scheme = if self.https { "https" } else { "http" };
        plain.then(|| format!("{scheme}://{host}"))
    }

    /// The request head the phases read: the original method, target and `Host`, the
    /// caller's other headers (cookies, `Authorization`, `Accept`, `Sec-Fetch-*`, …) minus
    /// hop-by-hop, forwarding, identity and dialect headers, and `X-Forwarded-Proto` saying
    /// the original scheme (the caller is a trusted proxy). `Err`: a target that is not an
    /// origin-form path (400 with the path reason).
    pub fn head(&self, call: &Parts, identity: &IdentityHeaders) -> Result<Parts, Reason> {
        if !self.path_and_query.starts_with('/') {
            return Err(Reason::PathNotAbsolute);
        }
        let uri: Uri = self
            .path_and_query
            .parse()
            .map_err(|_| Reason::PathInvalidChar)?;
        let mut headers = HeaderMap::with_capacity(call.headers.len() + 2);
        for (name, value) in &call.headers {
            if !is_dialect_header(name.as_str()) {
                headers.append(name.clone(), value.clone());
            }
        }
        crate::forward::clean_request(&mut headers, identity, false);
        if let Some(host) = self
            .host
            .clone()
            .or_else(|| call.headers.get(header::HOST).cloned())
        {
            headers.insert(header::HOST, host);
        }
        let proto = if self.https { "https" } else { "http" };
        headers.insert("x-forwarded-proto", HeaderValue::from_static(proto));
        let mut head = Request::new(()).into_parts().0;
        head.method = self.method.clone();
        head.uri = uri;
        head.version = http::Version::HTTP_11;
        head.headers = headers;
        Ok(head)
    }
}

/// Headers that describe the call rather than the original request.
fn is_dialect_header(name: &str) -> bool {
    name == "host"
        || name == "content-length"
        || name == "x-scheme"
        || name == "x-sent-from"
        || name.starts_with("x-original-")
        || name.starts_with("x-auth-request-")
        || name.starts_with("x-envoy-")
}

/// The one value of `name`; `Err` when it is repeated or not text.
fn one<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, Reason> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Reason::ForwardAuthIncomplete);
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| Reason::ForwardAuthIncomplete)
}

fn required<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, Reason> {
    one(headers, name)?
        .filter(|v| !v.is_empty())
        .ok_or(Reason::ForwardAuthIncomplete)
}

/// The original host from `name`; repeated: ambiguous, as a repeated `Host` is inline.
fn host(headers: &HeaderMap, name: &str) -> Result<Option<HeaderValue>, Reason> {
    let mut values = headers.get_all(name).iter();
    let first = values.next().cloned();
    if values.next().is_some() {
        return Err(Reason::HostAmbiguous);
    }
    Ok(first)
}

fn method(text: &str) -> Result<Method, Reason> {
    Method::from_bytes(text.as_bytes()).map_err(|_| Reason::ForwardAuthIncomplete)
}

fn is_https(proto: Option<&str>) -> bool {
    proto.is_some_and(|p| p.eq_ignore_ascii_case("https"))
}
