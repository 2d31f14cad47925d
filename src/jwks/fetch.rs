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
        let https = crate::tls::https_connector(ca_file, timeout).map_err(FetchError::Connect)?;
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

    /// Fetches and parses the key set. Returns the keys and warnings about skipped keys.
    pub async fn fetch(&self) -> Result<(KeySet, Vec<String>), FetchError> {
        match tokio::time::timeout(self.timeout, self.fetch_inner()).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout(self.timeout)),
        }
    }

    async fn fetch_inner(&self) -> Result<(KeySet, Vec<String>), FetchError> {
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
        KeySet::from_jwks_json(&body).map_err(|e| FetchError::Keys(e.to_string()))
    }
}
