//! The nonce exchange with Clerk's Backend API: `GET /v1/clients/handshake_payload?nonce=…`
//! with the secret key, answering `{"directives": ["<Set-Cookie value>", …]}`.
//!
//! Bounded in time, size and concurrency (a client sending random nonces cannot make doorman
//! flood the Backend API). Directives are passed to the browser as `Set-Cookie` values; the
//! session token is read from the one that sets the session cookie.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use tokio::sync::Semaphore;

use crate::config::Handshake;

/// Largest payload accepted from the Backend API.
const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Exchanges in flight at once; more wait (bounded by the timeout).
const MAX_CONCURRENT: usize = 32;

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("the nonce is not a plausible Clerk nonce")]
    BadNonce,
    #[error("Backend API unreachable: {0}")]
    Connect(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("Backend API answered HTTP {0}")]
    Status(StatusCode),
    #[error("unreadable payload: {0}")]
    Payload(String),
}

/// A configured Backend API client for handshake payloads.
pub struct Exchanger {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    base: String,
    bearer: HeaderValue,
    timeout: Duration,
    permits: Arc<Semaphore>,
}

impl Exchanger {
    pub fn new(handshake: &Handshake, ca_file: Option<&std::path::Path>) -> Result<Self, String> {
        let connector = crate::tls::https_connector(ca_file, handshake.timeout, true)?;
        let bearer = HeaderValue::from_str(&format!("Bearer {}", handshake.secret_key))
            .map_err(|_| "clerk.secret_key is not a valid header value".to_string())?;
        Ok(Exchanger {
            client: Client::builder(TokioExecutor::new()).build(connector),
            base: handshake.api_url.clone(),
            bearer,
            timeout: handshake.timeout,
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT)),
        })
    }

    /// The `Set-Cookie` directives for `nonce`.
    pub async fn directives(&self, nonce: &str) -> Result<Vec<String>, ExchangeError> {
        if nonce.is_empty()
            || nonce.len() > 512
            || !nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(ExchangeError::BadNonce);
        }
        let work = async {
            let _permit = self
                .permits
                .acquire()
                .await
                .map_err(|e| ExchangeError::Connect(e.to_string()))?;
            self.fetch(nonce).await
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .unwrap_or(Err(ExchangeError::Timeout(self.timeout)))
    }

    async fn fetch(&self, nonce: &str) -> Result<Vec<String>, ExchangeError> {
        let uri: Uri = format!(
            "{}/v1/clients/handshake_payload?nonce={}",
            self.base,
            utf8_percent_encode(nonce, NON_ALPHANUMERIC)
        )
        .parse()
        .map_err(|e: http::uri::InvalidUri| ExchangeError::Connect(e.to_string()))?;
        let req = Request::get(uri)
            .header(header::AUTHORIZATION, self.bearer.clone())
            .header(header::ACCEPT, "application/json")
            .header(
                header::USER_AGENT,
                concat!("doorman/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .map_err(|e| ExchangeError::Connect(e.to_string()))?;
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| ExchangeError::Connect(e.to_string()))?;
        if resp.status() != StatusCode::OK {
            return Err(ExchangeError::Status(resp.status()));
        }
        let body = Limited::new(resp.into_body(), MAX_PAYLOAD_BYTES)
            .collect()
            .await
            .map_err(|e| ExchangeError::Payload(e.to_string()))?
            .to_bytes();
        parse_directives(&body)
    }
}

/// Reads `{"directives": [strings]}`.
pub fn parse_directives(body: &[u8]) -> Result<Vec<String>, ExchangeError> {
    #[derive(serde::Deserialize)]
    struct Payload {
        directives: Vec<String>,
    }
    let payload: Payload =
        serde_json::from_slice(body).map_err(|e| ExchangeError::Payload(e.to_string()))?;
    Ok(payload.directives)
}

/// The session token set by the directives: the value of the cookie named `preferred`, else
/// of any cookie whose name starts with `base` (Clerk's rule).
pub fn session_token<'a>(directives: &'a [String], base: &str, preferred: &str) -> Option<&'a str> {
    let pairs = || {
        directives.iter().filter_map(|d| {
            let first = d.split(';').next()?;
            let (name, value) = first.split_once('=')?;
            Some((name.trim(), value.trim()))
        })
    };
    pairs()
        .find(|(n, v)| *n == preferred && !v.is_empty())
        .or_else(|| pairs().find(|(n, v)| n.starts_with(base) && !v.is_empty()))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_are_parsed_and_the_session_token_found() {
        let d = parse_directives(br#"{"directives":["__client_uat=170; Path=/; Max-Age=315360000","__session_abcd1234=eyJ.a.b; Path=/; SameSite=Lax","__session=eyJ.c.d; Path=/"]}"#).unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(
            session_token(&d, "__session", "__session_abcd1234"),
            Some("eyJ.a.b")
        );
        assert_eq!(
            session_token(&d, "__session", "__session_zzz"),
            Some("eyJ.a.b")
        );
        assert_eq!(session_token(&d[..1], "__session", "__session"), None);
    }

    #[test]
    fn malformed_payloads_are_errors() {
        for bad in [&b"{}"[..], b"[]", b"{\"directives\":\"x\"}", b"<html>"] {
            assert!(parse_directives(bad).is_err());
        }
    }
}
