//! Helpers of the hostile suite (and the soak binary): raw sockets, request builders,
//! outcome checks.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::client::Reply;
use crate::support::{Client, Harness};

pub type Req = Request<Full<Bytes>>;

/// Unpadded base64url of `bytes`.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `req` with `Authorization: Bearer <jwt>`.
pub fn bearer(mut req: Req, jwt: &str) -> Req {
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {jwt}")
            .parse()
            .expect("token is a header value"),
    );
    req
}

/// `req` marked as a browser navigation (a page request).
pub fn navigate(mut req: Req) -> Req {
    req.headers_mut()
        .insert("sec-fetch-mode", "navigate".parse().unwrap());
    req
}

/// `req` with one more header (appended, so repeats are kept).
pub fn header(mut req: Req, name: &str, value: &str) -> Req {
    req.headers_mut().append(
        http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
        http::HeaderValue::from_str(value).expect("header value"),
    );
    req
}

/// `GET path` on the API with a bearer token.
pub async fn api(h: &Harness, method: &str, path: &str, jwt: &str) -> Reply {
    h.client
        .send(bearer(h.client.request(method, path), jwt))
        .await
}

/// Status and JSON reason (empty for a 2xx or a non-JSON body).
pub fn outcome(reply: &Reply) -> (u16, String) {
    let reason = serde_json::from_slice::<Value>(&reply.body)
        .ok()
        .and_then(|v| v.get("reason").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    (reply.status.as_u16(), reason)
}

/// `(status, reason)` as an owned pair, for comparisons in tables.
pub fn refused(status: u16, reason: &str) -> (u16, String) {
    (status, reason.to_string())
}

/// Asserts that the upstream received nothing since it had seen `before` requests.
#[track_caller]
pub fn assert_nothing_forwarded(h: &Harness, before: usize, what: &str) {
    let now = h.echo.count();
    assert_eq!(
        now,
        before,
        "{what}: the upstream received {} request(s): {:?}",
        now - before,
        h.echo.seen()[before..]
            .iter()
            .map(|s| format!("{} {}", s.method, s.target))
            .collect::<Vec<_>>()
    );
}

/// What came back on one raw connection.
#[derive(Debug)]
pub struct RawAnswer {
    /// Everything the server sent, lossily decoded.
    pub text: String,
    /// The server closed the connection (rather than the deadline passing).
    pub closed: bool,
    pub elapsed: Duration,
}

impl RawAnswer {
    /// The status code of the first response, if one arrived.
    pub fn status(&self) -> Option<u16> {
        self.text
            .strip_prefix("HTTP/1.1 ")
            .or_else(|| self.text.strip_prefix("HTTP/1.0 "))
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
    }

    /// How many response status lines arrived (a second one means a second request was
    /// parsed out of what the client sent).
    pub fn responses(&self) -> usize {
        self.text.matches("HTTP/1.1 ").count()
    }

    /// The JSON reason of the first response, if its body is a doorman JSON error.
    pub fn reason(&self) -> String {
        let body = self.text.split("\r\n\r\n").nth(1).unwrap_or("");
        serde_json::from_str::<Value>(body.lines().next().unwrap_or(""))
            .ok()
            .and_then(|v| v.get("reason").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default()
    }

    /// A header of the first response (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.text.split("\r\n\r\n").next().unwrap_or("");
        head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// Writes `bytes` on a new connection and reads until the server closes or `deadline`.
pub async fn raw(addr: SocketAddr, bytes: &[u8], deadline: Duration) -> RawAnswer {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may answer and close before everything is written: that is fine.
    let _ = stream.write_all(bytes).await;
    let (text, closed) = read_until_close(&mut stream, started + deadline).await;
    RawAnswer {
        text,
        closed,
        elapsed: started.elapsed(),
    }
}

/// Reads from `stream` until EOF/reset (`true`) or `deadline` (`false`).
pub async fn read_until_close(stream: &mut TcpStream, deadline: Instant) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let closed = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => {
                out.extend_from_slice(&buf[..n]);
                if out.len() > 4 << 20 {
                    break false;
                }
            }
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

/// A fresh client (its own connection pool) for `h`.
pub fn fresh_client(h: &Harness) -> Client {
    Client::new(h.client.addr)
}

/// [`crate::support::BASE_CONFIG`] with `extra` added to `[clerk]`.
pub fn clerk_config(extra: &str) -> String {
    crate::support::BASE_CONFIG.replace(
        "jwks_unknown_kid_interval = \"30s\"\n",
        &format!("jwks_unknown_kid_interval = \"30s\"\n{extra}\n"),
    )
}

/// [`crate::support::BASE_CONFIG`] with `extra` appended as new sections.
pub fn config_with_sections(extra: &str) -> String {
    format!("{}\n{extra}\n", crate::support::BASE_CONFIG)
}

/// Polls `cond` every 10 ms until it holds or `deadline` passes; returns whether it held.
pub async fn eventually<F, Fut>(deadline: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + deadline;
    loop {
        if cond().await {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
