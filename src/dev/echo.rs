//! A small upstream that answers every request with a JSON report of what it received.
//!
//! Used by `doorman demo` (so a newcomer sees the identity headers doorman added) and by the
//! integration tests (to assert on what reached the upstream, and that nothing did on a
//! denial). It records every request it saw; it never authorizes anything.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;

use crate::respond::{full, Body};

/// Requests kept for inspection; older ones are dropped.
const MAX_RECORDED: usize = 10_000;

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query, as received.
    pub target: String,
    /// Header names (lowercase) and values in arrival order, repeats kept.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Seen {
    /// Every value of header `name` (case-insensitive).
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The single value of header `name`, or `None` if absent. Repeats are joined with `, `
    /// so that a test comparing values notices them.
    pub fn header(&self, name: &str) -> Option<String> {
        let all = self.header_all(name);
        (!all.is_empty()).then(|| all.join(", "))
    }

    fn to_json(&self) -> Value {
        let mut headers = Map::new();
        for (n, v) in &self.headers {
            match headers.get_mut(n) {
                Some(Value::String(prev)) => {
                    *prev = format!("{prev}, {v}");
                }
                _ => {
                    headers.insert(n.clone(), Value::String(v.clone()));
                }
            }
        }
        json!({
            "upstream": "echo",
            "method": self.method,
            "target": self.target,
            "headers": headers,
            "body_bytes": self.body.len(),
        })
    }
}

/// A running echo upstream.
#[derive(Clone)]
pub struct Echo {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Echo {
    /// Binds `addr` (use port 0 for any) and serves until the runtime stops.
    pub async fn start(addr: SocketAddr) -> std::io::Result<Echo> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let echo = Echo {
            addr,
            seen: seen.clone(),
        };
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = seen.clone();
                let service = service_fn(move |req| answer(seen.clone(), req));
                tokio::spawn(async move {
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(echo)
    }

    /// Everything received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// How many requests arrived.
    pub fn count(&self) -> usize {
        self.seen.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// The most recent request.
    pub fn last(&self) -> Option<Seen> {
        self.seen.lock().ok().and_then(|s| s.last().cloned())
    }
}

async fn answer(
    seen: Arc<Mutex<Vec<Seen>>>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let record = Seen {
        method: parts.method.to_string(),
        target: parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |pq| pq.as_str().to_string()),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    };
    let report = record.to_json();
    if let Ok(mut all) = seen.lock() {
        // Bounded: a long-running demo keeps only the most recent requests.
        if all.len() >= MAX_RECORDED {
            all.drain(..MAX_RECORDED / 2);
        }
        all.push(record);
    }
    let mut resp = Response::new(full(format!("{report:#}\n")));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}
