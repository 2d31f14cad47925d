//! The one log line per request, and the request id that ties it to the upstream's logs.
//!
//! Fields: request id, method, path (never the query: it can carry nonces and return URLs),
//! route name, decision, reason, shadow decision, status, total / auth / upstream latency,
//! and the user id as `[logging] user_id` says (plain, hashed, or omitted). Never a token,
//! a cookie, a header value or a secret.

use std::fmt::Write;

use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::config::UserIdLogging;
use crate::decision::Decision;

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
    let bytes: [u8; 16] = rand::random();
    let mut id = String::with_capacity(32);
    for b in bytes {
        let _ = write!(id, "{b:02x}");
    }
    let value = HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("unknown"));
    headers.insert(name.clone(), value.clone());
    value
}

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

/// One finished request.
pub struct Entry<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub route: &'a str,
    pub decision: &'a str,
    pub reason: &'a str,
    /// In report mode: what enforcing would have done.
    pub shadow: Option<&'a Decision>,
    pub status: u16,
    pub total_seconds: f64,
    pub auth_seconds: f64,
    pub upstream_seconds: Option<f64>,
    pub user: Option<String>,
}

/// Writes the line at INFO (WARN for 5xx).
pub fn emit(e: &Entry<'_>) {
    let shadow = e.shadow.map(|d| d.to_string());
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                request_id = e.request_id,
                method = e.method,
                path = e.path,
                route = e.route,
                decision = e.decision,
                reason = e.reason,
                shadow = shadow.as_deref(),
                status = e.status,
                total_ms = e.total_seconds * 1e3,
                auth_us = e.auth_seconds * 1e6,
                upstream_ms = e.upstream_seconds.map(|s| s * 1e3),
                user = e.user.as_deref(),
                "request"
            )
        };
    }
    if e.status >= 500 {
        line!(warn);
    } else {
        line!(info);
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
