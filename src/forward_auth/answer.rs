//! What a forward-auth call gets back: the phases' answer, put the way the calling proxy
//! understands it.
//!
//! **What it owns:** the allowed answer (`200`, no body, the identity headers for the
//! proxy to copy upstream; for Envoy also `x-envoy-auth-headers-to-remove` naming every
//! identity header doorman did not set, so a client's copy never reaches the application),
//! and nginx's translation of refusals (it only understands 2xx, 401 and 403 from an auth
//! subrequest). **What it must never do:** choose a status of its own for a decision
//! (`respond` did) or add a header the client sent.

use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;

use crate::config::IdentityHeaders;
use crate::respond::{full, Body};

use super::dialect::Dialect;

/// Where nginx finds a redirect's target (the snippet answers 302 to it).
pub const NGINX_LOCATION: &str = "x-doorman-location";
/// The status doorman would have answered inline (nginx sees 401 or 403 only).
pub const NGINX_STATUS: &str = "x-doorman-status";
/// The JSON body of an API refusal, for the snippet to return (nginx drops the
/// subrequest's body).
pub const NGINX_BODY: &str = "x-doorman-body";
/// Envoy HTTP `ext_authz`: headers to remove from the original request.
pub const ENVOY_REMOVE: &str = "x-envoy-auth-headers-to-remove";

/// The `200` of an allowed call.
pub fn allowed(
    dialect: Dialect,
    identity: &[(HeaderName, HeaderValue)],
    names: &IdentityHeaders,
) -> Response<Body> {
    let mut resp = Response::new(full(Bytes::new()));
    let headers = resp.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in identity {
        headers.insert(name.clone(), value.clone());
    }
    if dialect == Dialect::Envoy {
        let unset: Vec<&str> = names
            .strip
            .iter()
            .map(String::as_str)
            .filter(|n| !identity.iter().any(|(set, _)| set.as_str() == *n))
            .collect();
        if let Ok(v) = HeaderValue::from_str(&unset.join(",")) {
            if !v.is_empty() {
                headers.insert(ENVOY_REMOVE, v);
            }
        }
    }
    resp
}

/// A refusal as the dialect needs it. Caddy and Envoy return the authorizer's non-2xx
/// answer to the client as it is; so does Traefik, once a relative `Location` is made
/// absolute with `origin` (the original `scheme://host`). nginx gets 401 for redirects and
/// 401s, 403 for everything else, with the inline status, `Location` and JSON body in
/// headers its snippet reads (`auth_request_set`).
pub async fn denied(
    dialect: Dialect,
    resp: Response<Body>,
    origin: Option<&str>,
) -> Response<Body> {
    if dialect == Dialect::Traefik {
        return absolute_location(resp, origin);
    }
    if dialect != Dialect::Nginx {
        return resp;
    }
    let (mut head, body) = resp.into_parts();
    let status = head.status;
    let json = head
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json {
        if let Ok(bytes) = body.collect().await.map(|b| b.to_bytes()) {
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(v) = HeaderValue::from_str(text.trim_end()) {
                head.headers.insert(NGINX_BODY, v);
            }
        }
    }
    if let Some(location) = head.headers.get(header::LOCATION).cloned() {
        head.headers.insert(NGINX_LOCATION, location);
    }
    head.headers
        .insert(NGINX_STATUS, HeaderValue::from(status.as_u16()));
    head.status = if status.is_redirection() || status == StatusCode::UNAUTHORIZED {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::FORBIDDEN
    };
    Response::from_parts(head, full(Bytes::new()))
}

/// `Location: /path` as `origin/path` (Traefik would resolve it against the authorizer).
fn absolute_location(mut resp: Response<Body>, origin: Option<&str>) -> Response<Body> {
    let Some(origin) = origin else { return resp };
    let location = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok());
    let absolute = location
        .filter(|l| l.starts_with('/') && !l.starts_with("//"))
        .and_then(|l| HeaderValue::from_str(&format!("{origin}{l}")).ok());
    if let Some(v) = absolute {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}
