//! One JWKS fetch over HTTP or HTTPS, bounded in time and size.
//!
//! Owns the HTTP client for key endpoints (hyper-util + hyper-rustls with webpki roots; the
//! `jwks-client` crate is not used, see the README). A fetch either returns a parsed
//! [`KeySet`] or a [`FetchError`] saying what the endpoint did wrong; it never panics and
//! never follows a `jku` or any other URL a token names.

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::keys::KeySet;

/// Largest JWKS body accepted. Clerk's is well under 4 KiB.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot connect or send: {0}")]
    Connect(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("answered HTTP {0}")]
    Status(StatusCode),
    #[error("body larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    #[error("body could not be read: {0}")]
    Body(String),
    #[error("not a usable key set: {0}")]
    Keys(String),
}

/// A configured key endpoint.
pub struct Fetcher {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    url: Uri,
    timeout: Duration,
    bearer: Option<HeaderValue>,
}

impl Fetcher {
    /// A fetcher for `url`; `bearer` is sent as `Authorization: Bearer` (Backend API keys).
    pub fn new(
        url: &str,
        timeout: Duration,
        bearer: Option<&str>,
        ca_file: Option<&std::path::Path>,
    ) -> Result<Self, FetchError> {
        let url: Uri = url
            .parse()
            .map_err(|e| FetchError::Connect(format!("invalid URL {url:?}: {e}")))?;
        let https =
            crate::tls::https_connector(ca_file, timeout, true).map_err(FetchError::Connect)?;
        let client = Client::builder(TokioExecutor::new()).build(https);
        let bearer = bearer
            .map(|b| HeaderValue::from_str(&format!("Bearer {b}")))
            .transpose()
            .map_err(|_| {
                FetchError::Connect("the secret key is not a valid header value".into())
            })?;
        Ok(Fetcher {
            client,
            url,
            timeout,
            bearer,
        })
    }

    /// The endpoint, for logs.
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// Fetches and parses the key set.
    pub async fn fetch(&self) -> Result<Fetched, FetchError> {
        match tokio::time::timeout(self.timeout, self.fetch_inner()).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout(self.timeout)),
        }
    }

    async fn fetch_inner(&self) -> Result<Fetched, FetchError> {
        let mut req = Request::get(self.url.clone())
            .header(header::ACCEPT, "application/json")
            .header(
                header::USER_AGENT,
                concat!("doorman/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .map_err(|e| FetchError::Connect(e.to_string()))?;
        if let Some(bearer) = &self.bearer {
            req.headers_mut()
                .insert(header::AUTHORIZATION, bearer.clone());
        }
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| FetchError::Connect(e.to_string()))?;
        if resp.status() != StatusCode::OK {
            return Err(FetchError::Status(resp.status()));
        }
        let max_age = resp
            .headers()
            .get_all(header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(max_age);
        if let Some(len) = resp
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
        {
            if len > MAX_JWKS_BYTES as u64 {
                return Err(FetchError::TooLarge);
            }
        }
        let body = Limited::new(resp.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    FetchError::TooLarge
                } else {
                    FetchError::Body(e.to_string())
                }
            })?
            .to_bytes();
        let (keys, warnings) =
            KeySet::from_jwks_json(&body).map_err(|e| FetchError::Keys(e.to_string()))?;
        Ok(Fetched {
            keys,
            warnings,
            max_age,
        })
    }
}

/// A successful fetch.
pub struct Fetched {
    pub keys: KeySet,
    /// Keys skipped, one sentence each.
    pub warnings: Vec<String>,
    /// `Cache-Control: max-age`, when sent.
    pub max_age: Option<Duration>,
}

/// The `max-age` directive of one `Cache-Control` value.
fn max_age(value: &str) -> Option<Duration> {
    value.split(',').find_map(|d| {
        let (name, secs) = d.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| secs.trim().trim_matches('"').parse::<u64>().ok())
            .flatten()
            .map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(max_age("public, max-age=60"), Some(Duration::from_secs(60)));
        assert_eq!(
            max_age("Max-Age=\"30\", must-revalidate"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(max_age("no-cache"), None);
        assert_eq!(max_age("max-age=-1"), None);
    }
}
