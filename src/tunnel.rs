//! Upgrades (WebSocket and any `Connection: upgrade`): after the same authorization as any
//! request, the upgrade is forwarded on an upstream connection of its own; when the upstream
//! answers 101, bytes are copied both ways until either side closes.
//!
//! Only HTTP/1.1 upgrades are tunnelled. The `Upgrade` protocol token is passed as the client
//! sent it (doorman does not speak WebSocket itself); identity headers, `X-Forwarded-*` and
//! header cleaning apply exactly as for other requests.

use http::header::{CONNECTION, UPGRADE};
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

/// The `Upgrade` value of an HTTP/1.1 upgrade request (`Connection` lists `upgrade`).
pub fn requested(parts: &Parts) -> Option<HeaderValue> {
    if parts.version != Version::HTTP_11 {
        return None;
    }
    let asks = parts
        .headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    asks.then(|| parts.headers.get(UPGRADE).cloned()).flatten()
}

/// Puts the upgrade headers back after cleaning removed them as hop-by-hop.
pub fn restore(parts: &mut Parts, protocol: HeaderValue) {
    parts
        .headers
        .insert(CONNECTION, HeaderValue::from_static("upgrade"));
    parts.headers.insert(UPGRADE, protocol);
}

/// After a 101 from the upstream: joins the client's and the upstream's connections and
/// copies bytes both ways in the background. Returns the 101 head for the client.
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
