//! Clients that talk to doorman over real sockets: HTTP/1.1, HTTP/2 (prior knowledge), and
//! raw bytes for hostile framing. Requests are built with [`Client::request`] and dressed
//! with [`RequestExt`]: `.bearer(jwt)`, `.navigate()`, `.cookie(..)`, `.with_header(..)`.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response, fully read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The `reason` of a JSON error body.
    pub fn reason(&self) -> String {
        self.json()["reason"].as_str().unwrap_or("").to_string()
    }
}

/// Status and JSON reason (empty for a 2xx or a non-JSON body).
pub fn outcome(reply: &Reply) -> (u16, String) {
    let reason = serde_json::from_slice::<Value>(&reply.body)
        .ok()
        .and_then(|v| v.get("reason").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    (reply.status.as_u16(), reason)
}

/// `(status, reason)` as an owned pair, to compare with [`outcome`].
pub fn refused(status: u16, reason: &str) -> (u16, String) {
    (status, reason.to_string())
}

/// The request type every client here sends.
pub type Req = Request<Full<Bytes>>;

/// Builder steps on a [`Req`]; each returns the request, so they chain.
pub trait RequestExt: Sized {
    /// Sets `Authorization: Bearer <jwt>` (replacing any earlier one). Hostile cases that
    /// need a malformed or repeated header write it by hand.
    fn bearer(self, jwt: &str) -> Self;
    /// Marks the request as a browser navigation (`Sec-Fetch-Mode: navigate`).
    fn navigate(self) -> Self;
    /// Adds a `Cookie` header line (appended, so repeats are kept).
    fn cookie(self, value: &str) -> Self;
    /// Adds one header (appended, so repeats are kept).
    fn with_header(self, name: &str, value: &str) -> Self;
}

impl RequestExt for Req {
    fn bearer(mut self, jwt: &str) -> Req {
        self.headers_mut().insert(
            "authorization",
            format!("Bearer {jwt}")
                .parse()
                .expect("token is a header value"),
        );
        self
    }

    fn navigate(mut self) -> Req {
        self.headers_mut()
            .insert("sec-fetch-mode", "navigate".parse().unwrap());
        self
    }

    fn cookie(self, value: &str) -> Req {
        self.with_header("cookie", value)
    }

    fn with_header(mut self, name: &str, value: &str) -> Req {
        self.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            http::HeaderValue::from_str(value).expect("header value"),
        );
        self
    }
}

/// An HTTP client bound to one address.
#[derive(Clone)]
pub struct Client {
    pub addr: SocketAddr,
    h1: HyperClient<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    h2: HyperClient<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            h1: HyperClient::builder(TokioExecutor::new()).build_http(),
            h2: HyperClient::builder(TokioExecutor::new())
                .http2_only(true)
                .build_http(),
        }
    }

    pub fn request(&self, method: &str, path: &str) -> Req {
        Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .body(Full::new(Bytes::new()))
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request("GET", path)).await
    }

    /// `method path` with `Authorization: Bearer <jwt>`, over HTTP/1.1.
    pub async fn api(&self, method: &str, path: &str, jwt: &str) -> Reply {
        self.send(self.request(method, path).bearer(jwt)).await
    }

    /// Sends over HTTP/1.1.
    pub async fn send(&self, req: Req) -> Reply {
        read(self.h1.request(req).await.expect("request failed")).await
    }

    /// Sends over HTTP/1.1; `None` when the connection failed (a server still starting).
    pub async fn try_send(&self, req: Req) -> Option<Reply> {
        Some(read(self.h1.request(req).await.ok()?).await)
    }

    /// Sends over HTTP/2 (prior knowledge, cleartext).
    pub async fn send_h2(&self, req: Req) -> Reply {
        read(self.h2.request(req).await.expect("h2 request failed")).await
    }

    /// Writes raw bytes on a new connection and returns everything read until the server
    /// closes, 5 s pass without data, or 1 MiB arrived. (The hostile suite's `raw` has a total
    /// deadline and reports whether the server closed.)
    pub async fn send_raw(&self, bytes: &[u8]) -> String {
        let mut stream = TcpStream::connect(self.addr).await.expect("connect");
        stream.write_all(bytes).await.expect("write");
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf))
                .await
            {
                Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
                Ok(Ok(n)) => {
                    out.extend_from_slice(&buf[..n]);
                    if out.len() > 1 << 20 {
                        break;
                    }
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

async fn read(resp: http::Response<hyper::body::Incoming>) -> Reply {
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("read body").to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}
