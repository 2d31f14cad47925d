//! A client of Clerk's Backend API for user metadata: list users (by id, or all with the
//! `starting_after` cursor), get one, merge public metadata (`PATCH /v1/users/{id}/metadata`).
//!
//! Every request waits for the [`Limiter`]; a `429` pauses everyone for its `Retry-After`; a
//! `5xx`, a connection error or a timeout is retried with backoff; other answers are final
//! and carry Clerk's own error message. The secret key is sent as `Authorization: Bearer`,
//! marked sensitive, and never appears in an error, a log line or `Debug` output.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use serde_json::Value;

use super::limiter::{retry_after, Backoff, Limiter, RateLimit};

/// Largest answer read (a page of 500 users with metadata).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// `429`s one request may meet before giving up.
const MAX_RATE_LIMITED: u32 = 20;
/// Characters escaped in a user id put in a path or query.
const ID: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'-');

/// A Clerk secret key (`sk_live_…`/`sk_test_…`); `Debug` shows only its kind.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    pub fn new(key: impl Into<String>) -> SecretKey {
        SecretKey(key.into().trim().to_string())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = self.0.split('_').take(2).collect::<Vec<_>>().join("_");
        write!(f, "SecretKey({kind}_…)")
    }
}

/// How requests are paced and retried.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub rate: RateLimit,
    /// Attempts of one request on transient failures (at least 1).
    pub attempts: u32,
    pub backoff: Backoff,
    /// Time allowed for one attempt.
    pub timeout: Duration,
}

impl Policy {
    /// Clerk's limit for `key`, 5 attempts, 500 ms backoff up to 60 s, 10 s per attempt.
    pub fn for_key(key: &SecretKey) -> Policy {
        Policy {
            rate: RateLimit::for_key(key.expose()),
            attempts: 5,
            backoff: Backoff {
                first: Duration::from_millis(500),
                max: Duration::from_secs(60),
            },
            timeout: Duration::from_secs(10),
        }
    }
}

/// Why a call failed, after any retries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("no such user in Clerk (404)")]
    NotFound,
    #[error("the Backend API refused the secret key (HTTP {0}); check CLERK_SECRET_KEY belongs to this instance")]
    Unauthorized(u16),
    #[error("the Backend API refused the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("the Backend API stayed unavailable after {attempts} attempt(s): {last}")]
    Unavailable { attempts: u32, last: String },
    #[error("unreadable answer from the Backend API: {0}")]
    Payload(String),
    #[error("{0}")]
    Input(String),
}

impl ApiError {
    /// Failures that will fail the same way for every user (stop a bulk run early).
    pub fn is_global(&self) -> bool {
        matches!(self, ApiError::Unauthorized(_))
    }
}

/// What the tools read of a Clerk user.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub public_metadata: Value,
}

/// Counters of one client, for reports and benchmarks.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub rate_limited: AtomicU64,
    pub retried: AtomicU64,
}

/// A Backend API client.
pub struct Api {
    client: HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    base: String,
    bearer: HeaderValue,
    limiter: Arc<Limiter>,
    policy: Policy,
    pub stats: Stats,
}

impl Api {
    /// `base` is the API origin (`https://api.clerk.com`), without `/v1`.
    pub fn new(
        base: &str,
        key: &SecretKey,
        policy: Policy,
        ca_file: Option<&std::path::Path>,
    ) -> Result<Api, String> {
        let connector = crate::tls::https_connector(ca_file, policy.timeout, true)?;
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
            .map_err(|_| "the Clerk secret key holds characters a header cannot carry; copy it again from the dashboard".to_string())?;
        bearer.set_sensitive(true);
        Ok(Api {
            client: HyperClient::builder(TokioExecutor::new())
                .pool_max_idle_per_host(64)
                .build(connector),
            base: base.trim_end_matches('/').to_string(),
            bearer,
            limiter: Arc::new(Limiter::new(policy.rate)),
            policy,
            stats: Stats::default(),
        })
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// `GET /v1/users/{id}`.
    pub async fn get_user(&self, id: &str) -> Result<User, ApiError> {
        let path = format!("/v1/users/{}", encode_id(id)?);
        decode(&self.call(Method::GET, &path, None).await?)
    }

    /// `GET /v1/users?user_id=…` for up to 100 ids; users Clerk does not know are absent.
    pub async fn users_by_id(&self, ids: &[&str]) -> Result<Vec<User>, ApiError> {
        let mut query = format!("limit={}", ids.len().clamp(1, 500));
        for id in ids {
            query.push_str("&user_id=");
            query.push_str(&encode_id(id)?);
        }
        decode(
            &self
                .call(Method::GET, &format!("/v1/users?{query}"), None)
                .await?,
        )
    }

    /// One page of every user, oldest first, after the cursor `after`.
    pub async fn page(&self, limit: usize, after: Option<&str>) -> Result<Vec<User>, ApiError> {
        let mut path = format!(
            "/v1/users?limit={}&order_by=%2Bcreated_at",
            limit.clamp(1, 500)
        );
        if let Some(after) = after {
            path.push_str("&starting_after=");
            path.push_str(&encode_id(after)?);
        }
        decode(&self.call(Method::GET, &path, None).await?)
    }

    /// `PATCH /v1/users/{id}/metadata` with `{"public_metadata": patch}` (deep merge).
    pub async fn merge_public_metadata(&self, id: &str, patch: &Value) -> Result<User, ApiError> {
        let path = format!("/v1/users/{}/metadata", encode_id(id)?);
        let body = serde_json::json!({ "public_metadata": patch });
        decode(&self.call(Method::PATCH, &path, Some(&body)).await?)
    }

    /// One call with pacing and retries.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Bytes, ApiError> {
        let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let (mut failures, mut limited) = (0u32, 0u32);
        loop {
            self.limiter.acquire().await;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let last = match self.attempt(&method, path, body.clone()).await {
                Ok((status, bytes)) if status.is_success() => return Ok(bytes),
                Ok((status, bytes)) => match final_error(status, &bytes) {
                    Some(error) => return Err(error),
                    None => format!("HTTP {}", status.as_u16()),
                },
                Err(Attempt::RateLimited(wait)) if limited < MAX_RATE_LIMITED => {
                    limited += 1;
                    self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                    let wait = wait.unwrap_or_else(|| self.policy.backoff.wait(limited));
                    self.limiter.pause(wait).await;
                    continue;
                }
                Err(Attempt::RateLimited(_)) => "HTTP 429 too many times".to_string(),
                Err(Attempt::Transient(why)) => why,
            };
            failures += 1;
            if failures >= self.policy.attempts.max(1) {
                return Err(ApiError::Unavailable {
                    attempts: failures,
                    last,
                });
            }
            self.stats.retried.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(self.policy.backoff.wait(failures)).await;
        }
    }

    /// One attempt: the status and body, or why it should be retried.
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), Attempt> {
        let uri = format!("{}{path}", self.base);
        let mut req = Request::builder()
            .method(method.clone())
            .uri(&uri)
            .header(header::AUTHORIZATION, self.bearer.clone())
            .header(header::ACCEPT, "application/json")
            .header(
                header::USER_AGENT,
                concat!("doorman/", env!("CARGO_PKG_VERSION")),
            );
        if !body.is_empty() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| Attempt::Transient(format!("cannot build the request to {uri}: {e}")))?;
        let exchange = async {
            let resp = self.client.request(req).await.map_err(|e| {
                Attempt::Transient(format!("cannot reach {}: {}", self.base, source_chain(&e)))
            })?;
            let status = resp.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                return Err(Attempt::RateLimited(retry_after(
                    resp.headers().get(header::RETRY_AFTER),
                )));
            }
            let bytes = Limited::new(resp.into_body(), MAX_BODY_BYTES)
                .collect()
                .await
                .map_err(|e| Attempt::Transient(format!("the answer broke off: {e}")))?
                .to_bytes();
            if status.is_server_error() {
                return Err(Attempt::Transient(format!("HTTP {}", status.as_u16())));
            }
            Ok((status, bytes))
        };
        tokio::time::timeout(self.policy.timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(Attempt::Transient(format!(
                    "no answer within {:?}",
                    self.policy.timeout
                )))
            })
    }
}

enum Attempt {
    RateLimited(Option<Duration>),
    Transient(String),
}

/// The error of a final (non-retried) answer; `None` for statuses worth retrying.
fn final_error(status: StatusCode, body: &[u8]) -> Option<ApiError> {
    match status.as_u16() {
        404 => Some(ApiError::NotFound),
        401 | 403 => Some(ApiError::Unauthorized(status.as_u16())),
        408 => None,
        code => Some(ApiError::Rejected {
            status: code,
            message: clerk_message(body),
        }),
    }
}

/// The first `long_message` (or `message`) of Clerk's `{"errors": [...]}`.
fn clerk_message(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    parsed
        .as_ref()
        .and_then(|v| v.pointer("/errors/0"))
        .and_then(|e| e.get("long_message").or_else(|| e.get("message")))
        .and_then(Value::as_str)
        .map(|m| m.chars().take(300).collect())
        .unwrap_or_else(|| "no error message".to_string())
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::Payload(e.to_string()))
}

fn encode_id(id: &str) -> Result<String, ApiError> {
    if id.is_empty() || id.len() > 200 || id.chars().any(char::is_control) {
        return Err(ApiError::Input(format!(
            "{id:?} is not a Clerk user id; they look like user_2abc…"
        )));
    }
    Ok(utf8_percent_encode(id, ID).to_string())
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
