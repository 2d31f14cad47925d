//! Upgrades (WebSocket and any other protocol a route allows): after the same authorization
//! as any request, the upgrade is forwarded on an upstream connection of its own; when the
//! upstream answers 101 for a protocol that was forwarded, bytes are copied both ways until
//! either side closes.
//!
//! Owns which upgrades are tunnelled and which 101s are believed:
//!
//! - Only HTTP/1.1 upgrades are tunnelled (RFC 9110 §7.8: `Upgrade` is ignored in HTTP/1.0;
//!   HTTP/2 has no `Upgrade` at all, RFC 9113 §8.2.2, and extended CONNECT, RFC 8441, is not
//!   enabled on the listener).
//! - Of the protocols the client lists in `Upgrade`, only those in the route's `upgrades`
//!   (default `websocket`) are forwarded, as the client spelled them. When none is allowed,
//!   the request goes on as a plain request: cleaning removes `Upgrade`, `Connection` and
//!   `HTTP2-Settings` as hop-by-hop, as nginx does. `h2c` is never allowed (config refuses
//!   it): RFC 7540 §3.2's h2c upgrade would turn the connection into HTTP/2 carrying
//!   requests for any path that doorman never sees (RFC 9113 §3.1 removed it since).
//! - A 101 is spliced only when its `Upgrade` names protocols that were forwarded
//!   (RFC 9110 §15.2.2: the server switches to a protocol the client asked for, and says
//!   which in `Upgrade`); anything else is the upstream's error and the proxy answers 502.
//!
//! doorman does not speak WebSocket itself; identity headers, `X-Forwarded-*` and header
//! cleaning apply exactly as for other requests.

use http::header::{CONNECTION, UPGRADE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

/// The comma-separated items of every `name` header, trimmed, empty ones skipped.
fn items(headers: &HeaderMap, name: http::header::HeaderName) -> impl Iterator<Item = &str> {
    headers
        .get_all(name)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The protocol name of an `Upgrade` item (`protocol-name ["/" protocol-version]`).
fn protocol_name(item: &str) -> &str {
    item.split_once('/').map_or(item, |(name, _)| name).trim()
}

/// True when `allowed` (lowercase names) lists the protocol of `item`.
fn is_allowed(item: &str, allowed: &[String]) -> bool {
    let name = protocol_name(item);
    allowed.iter().any(|a| a.eq_ignore_ascii_case(name))
}

/// The `Upgrade` value to forward for an HTTP/1.1 upgrade request (`Connection` lists
/// `upgrade`): the client's items whose protocol `allowed` lists, in the client's order.
/// `None` when the request asks for no upgrade, or for none that is allowed: it is then
/// forwarded as a plain request, without `Upgrade`. No allocation unless an upgrade was
/// asked for.
pub fn requested(parts: &Parts, allowed: &[String]) -> Option<HeaderValue> {
    if parts.version != Version::HTTP_11 || !parts.headers.contains_key(CONNECTION) {
        return None;
    }
    let asks = items(&parts.headers, CONNECTION).any(|t| t.eq_ignore_ascii_case("upgrade"));
    if !asks {
        return None;
    }
    let offered = || items(&parts.headers, UPGRADE);
    if offered().all(|item| is_allowed(item, allowed)) {
        // The common case (`Upgrade: websocket` on a route that allows it): as sent.
        let mut values = parts.headers.get_all(UPGRADE).iter();
        if let (Some(only), None) = (values.next(), values.next()) {
            if offered().next().is_some() {
                return Some(only.clone());
            }
        }
    }
    let kept: Vec<&str> = offered().filter(|item| is_allowed(item, allowed)).collect();
    if kept.len() < offered().count() {
        tracing::debug!(
            upgrade = ?parts.headers.get_all(UPGRADE).iter().collect::<Vec<_>>(),
            "upgrade protocols the route does not allow were stripped"
        );
    }
    if kept.is_empty() {
        return None;
    }
    HeaderValue::from_str(&kept.join(", ")).ok()
}

/// Puts the upgrade headers back after cleaning removed them as hop-by-hop.
pub fn restore(parts: &mut Parts, protocol: HeaderValue) {
    parts
        .headers
        .insert(CONNECTION, HeaderValue::from_static("upgrade"));
    parts.headers.insert(UPGRADE, protocol);
}

/// True when a 101 switches only to protocols that were `forwarded` (its `Upgrade` names at
/// least one, and each is a forwarded protocol, compared by name, case-insensitively).
pub fn switched_to(response: &HeaderMap, forwarded: &HeaderValue) -> bool {
    let forwarded = forwarded.to_str().unwrap_or("");
    let forwarded = || {
        forwarded
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
    };
    let mut switched = items(response, UPGRADE).peekable();
    switched.peek().is_some()
        && switched.all(|item| {
            let name = protocol_name(item);
            forwarded().any(|f| protocol_name(f).eq_ignore_ascii_case(name))
        })
}

/// After a checked 101 from the upstream: joins the client's and the upstream's connections
/// and copies bytes both ways in the background. Returns the 101 head for the client.
pub fn splice(client: Option<OnUpgrade>, mut upstream: Response<Incoming>) -> Response<Incoming> {
    let upstream_io = hyper::upgrade::on(&mut upstream);
    if let Some(client) = client {
        tokio::spawn(async move {
            let (client, upstream) = match tokio::try_join!(client, upstream_io) {
                Ok(both) => both,
                Err(e) => {
                    tracing::debug!(error = %e, "upgrade failed");
                    return;
                }
            };
            let (mut c, mut u) = (TokioIo::new(client), TokioIo::new(upstream));
            if let Err(e) = tokio::io::copy_bidirectional(&mut c, &mut u).await {
                tracing::debug!(error = %e, "upgraded connection ended with an error");
            }
        });
    }
    debug_assert_eq!(upstream.status(), StatusCode::SWITCHING_PROTOCOLS);
    upstream
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(version: Version, headers: &[(&str, &str)]) -> Parts {
        let mut req = http::Request::get("/chat").version(version);
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        req.body(()).unwrap().into_parts().0
    }

    fn allowed() -> Vec<String> {
        vec!["websocket".to_string()]
    }

    fn offer(upgrade: &str) -> Option<HeaderValue> {
        let p = parts(
            Version::HTTP_11,
            &[("connection", "keep-alive, Upgrade"), ("upgrade", upgrade)],
        );
        requested(&p, &allowed())
    }

    #[test]
    fn an_allowed_protocol_is_forwarded_as_the_client_spelled_it() {
        assert_eq!(offer("WebSocket").unwrap(), "WebSocket");
        assert_eq!(offer("websocket/13").unwrap(), "websocket/13");
    }

    #[test]
    fn h2c_and_other_protocols_the_route_does_not_allow_are_never_forwarded() {
        assert_eq!(offer("h2c"), None);
        assert_eq!(offer("H2C"), None);
        assert_eq!(offer("TLS/1.2"), None);
        assert_eq!(offer(""), None);
        assert_eq!(offer("h2c, websocket").unwrap(), "websocket");
        assert_eq!(offer("websocket, h2c").unwrap(), "websocket");
        let p = parts(
            Version::HTTP_11,
            &[("connection", "upgrade"), ("upgrade", "websocket")],
        );
        assert_eq!(requested(&p, &[]), None, "a route with upgrades = []");
    }

    #[test]
    fn repeated_upgrade_headers_are_filtered_as_one_list() {
        let p = parts(
            Version::HTTP_11,
            &[
                ("connection", "upgrade"),
                ("upgrade", "h2c"),
                ("upgrade", "websocket"),
            ],
        );
        assert_eq!(requested(&p, &allowed()).unwrap(), "websocket");
    }

    #[test]
    fn a_101_is_believed_only_for_a_protocol_that_was_forwarded() {
        let head = |upgrade: Option<&str>| {
            let mut h = HeaderMap::new();
            if let Some(u) = upgrade {
                h.insert(UPGRADE, HeaderValue::from_str(u).unwrap());
            }
            h
        };
        let ws = HeaderValue::from_static("websocket");
        assert!(switched_to(&head(Some("websocket")), &ws));
        assert!(switched_to(&head(Some("WebSocket")), &ws));
        assert!(!switched_to(&head(Some("h2c")), &ws));
        assert!(!switched_to(&head(Some("websocket, h2c")), &ws));
        assert!(!switched_to(&head(Some("")), &ws));
        assert!(
            !switched_to(&head(None), &ws),
            "a 101 must say what it switched to"
        );
        let two = HeaderValue::from_static("websocket, x-chat/2");
        assert!(switched_to(&head(Some("x-chat/2")), &two));
    }

    #[test]
    fn only_http11_requests_that_list_upgrade_in_connection_ask_for_one() {
        let no_connection = parts(Version::HTTP_11, &[("upgrade", "websocket")]);
        assert_eq!(requested(&no_connection, &allowed()), None);
        let http10 = parts(
            Version::HTTP_10,
            &[("connection", "upgrade"), ("upgrade", "websocket")],
        );
        assert_eq!(requested(&http10, &allowed()), None);
        let http2 = parts(
            Version::HTTP_2,
            &[("connection", "upgrade"), ("upgrade", "websocket")],
        );
        assert_eq!(requested(&http2, &allowed()), None);
    }
}
