//! The one log line per request, and the request id that ties it to the upstream's logs.
//!
//! Fields: request id, client address, method, path (never the query: it can carry nonces
//! and return URLs), route name, upstream name (when the request reached one), decision,
//! reason, shadow decision, status, total / auth / upstream latency (rounded to 1 µs, or
//! 0.1 µs for auth), and the user id as `[logging] user_id` says (plain, hashed, or
//! omitted). Never a token, a cookie, a header value or a secret. Formatted ([`line`]) and
//! written ([`writer`]) off the request path, in batches.

mod line;
pub mod writer;

use std::fmt::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Method;
use ipnet::IpNet;

use crate::config::UserIdLogging;
use crate::decision::Decision;
use crate::token::claims::Identity;

/// The request id: the client's when it is a short plain token, else a new random one.
/// The chosen value is written back into `headers` (so the upstream sees it).
pub fn request_id(headers: &mut HeaderMap, name: &HeaderName) -> HeaderValue {
    let usable = headers.get(name).filter(|v| {
        let b = v.as_bytes();
        !b.is_empty()
            && b.len() <= 128
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.:/+=".contains(c))
    });
    if let Some(v) = usable {
        return v.clone();
    }
    let random: [u8; 16] = rand::random();
    let mut id = [0u8; 32];
    for (pair, byte) in id.chunks_exact_mut(2).zip(random) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0xf)];
    }
    // One allocation, shared by the upstream's header, the response's and the log line
    // (`Bytes::from_owner` clones by reference count; a `Vec`-backed value would allocate
    // again on its first clone).
    let value = HeaderValue::from_maybe_shared(bytes::Bytes::from_owner(id))
        .unwrap_or(HeaderValue::from_static("unknown"));
    headers.insert(name.clone(), value.clone());
    value
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// How a user id appears in the log.
pub fn user_field(user: Option<&str>, policy: UserIdLogging) -> Option<String> {
    let user = user?;
    match policy {
        UserIdLogging::Plain => Some(user.to_string()),
        UserIdLogging::Omit => None,
        UserIdLogging::Hash => {
            let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, user.as_bytes());
            Some(
                d.as_ref()[..8]
                    .iter()
                    .fold(String::from("sha256:"), |mut s, b| {
                        let _ = write!(s, "{b:02x}");
                        s
                    }),
            )
        }
    }
}

/// The client's address: the peer's, or when the peer is a trusted proxy, the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy (entries to its left were
/// written by the client and prove nothing).
pub fn client_address(headers: &HeaderMap, peer: IpAddr, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// The upstream of the route named `route` in `config` (the defaults' when no route has
/// that name).
pub fn upstream_of<'c>(
    config: &'c crate::config::Config,
    route: &str,
) -> Option<&'c crate::config::Upstream> {
    let chosen = config
        .routes
        .iter()
        .find(|r| &*r.name == route)
        .unwrap_or(&config.defaults);
    config.upstream_of(chosen)
}

/// `value` rounded to `places` decimals, so JSON logs carry `0.612`, not `0.6120000000000001`.
pub fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// One finished request: what its line says, owned (moved from the request, not copied)
/// so the line can be formatted later on the writer's thread ([`writer`]).
pub struct Record {
    pub at: SystemTime,
    pub request_id: HeaderValue,
    /// The client's address ([`client_address`]).
    pub client: Option<IpAddr>,
    /// The upstream the request was forwarded to, if any.
    pub upstream: Option<Arc<str>>,
    pub method: Method,
    pub path: String,
    pub route: Arc<str>,
    pub decision: &'static str,
    pub reason: &'static str,
    /// In report mode: what enforcing would have done.
    pub shadow: Option<Decision>,
    pub status: u16,
    pub total_seconds: f64,
    pub auth_seconds: f64,
    pub upstream_seconds: Option<f64>,
    /// The user, shown as [`Record::user_policy`] says ([`user_field`]).
    pub user: Option<Arc<Identity>>,
    pub user_policy: UserIdLogging,
}

impl Record {
    /// The `user` field as the policy shows it.
    fn user(&self) -> Option<String> {
        user_field(
            self.user.as_deref().map(|u| u.user_id.as_str()),
            self.user_policy,
        )
    }
}

/// Queues the line at INFO (WARN for 5xx) when that level is enabled.
pub fn emit(record: Record) {
    let enabled = if record.status >= 500 {
        tracing::enabled!(tracing::Level::WARN)
    } else {
        tracing::enabled!(tracing::Level::INFO)
    };
    if enabled {
        writer::submit(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_client_request_id_is_kept_and_anything_else_replaced() {
        let name = HeaderName::from_static("x-request-id");
        let mut h = HeaderMap::new();
        h.insert(&name, HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&mut h, &name), "abc-123");
        for bad in ["has space", "", "a\"b"] {
            let mut h = HeaderMap::new();
            h.insert(&name, HeaderValue::from_str(bad).unwrap());
            let id = request_id(&mut h, &name);
            assert_eq!(id.len(), 32, "{bad:?} kept");
            assert_eq!(h.get(&name), Some(&id));
        }
        let mut h = HeaderMap::new();
        h.insert(&name, HeaderValue::from_str(&"a".repeat(129)).unwrap());
        assert_eq!(request_id(&mut h, &name).len(), 32);
    }

    #[test]
    fn the_client_is_the_peer_unless_a_trusted_proxy_says_otherwise() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.1.1.1, 203.0.113.7, 10.0.0.3"),
        );
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        // The right-most untrusted hop; the client-written 1.1.1.1 is ignored.
        assert_eq!(
            client_address(&h, peer, &trusted),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(client_address(&h, stranger, &trusted), stranger);
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("junk, 10.0.0.9"),
        );
        assert_eq!(
            client_address(&h, peer, &trusted),
            "10.0.0.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_address(&HeaderMap::new(), peer, &trusted), peer);
    }

    #[test]
    fn latencies_are_rounded_for_the_log() {
        assert_eq!(round(0.612_000_000_000_1, 3), 0.612);
        assert_eq!(round(21.349, 1), 21.3);
        assert_eq!(format!("{}", round(0.1 + 0.2, 3)), "0.3");
    }

    #[test]
    fn user_ids_follow_the_policy() {
        assert_eq!(
            user_field(Some("user_1"), UserIdLogging::Plain).as_deref(),
            Some("user_1")
        );
        assert_eq!(user_field(Some("user_1"), UserIdLogging::Omit), None);
        let h = user_field(Some("user_1"), UserIdLogging::Hash).unwrap();
        assert!(
            h.starts_with("sha256:") && h.len() == 23 && !h.contains("user_1"),
            "{h}"
        );
        assert_eq!(user_field(None, UserIdLogging::Plain), None);
    }
}
