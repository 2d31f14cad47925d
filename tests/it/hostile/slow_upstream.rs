//! A raw HTTP/1.1 upstream for the slow-client cases: it counts the connections doorman has
//! open to it and the body bytes it received, and can answer after the whole body, answer at
//! once, stream an endless response, or never answer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{
    config_with_sections, eventually, jwks_server::JwksServer, key, Harness, KID,
};

/// How the upstream treats each request.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// Read the whole body (by `Content-Length`), then answer with `response_bytes` bytes.
    AfterBody { response_bytes: usize },
    /// Answer at once with a small body, without reading the request body.
    Early,
    /// Read the head, never answer; wait for doorman to close.
    Hang,
}

/// A running upstream and its counters.
#[derive(Clone)]
pub struct SlowUpstream {
    pub addr: std::net::SocketAddr,
    open: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
    body_bytes: Arc<AtomicUsize>,
    complete_bodies: Arc<AtomicUsize>,
}

impl SlowUpstream {
    pub async fn start(mode: Mode) -> SlowUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let up = SlowUpstream {
            addr: listener.local_addr().expect("addr"),
            open: Arc::default(),
            accepted: Arc::default(),
            body_bytes: Arc::default(),
            complete_bodies: Arc::default(),
        };
        let state = up.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                state.open.fetch_add(1, Ordering::SeqCst);
                state.accepted.fetch_add(1, Ordering::SeqCst);
                let state = state.clone();
                tokio::spawn(async move {
                    state.serve(stream, mode).await;
                    state.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        up
    }

    /// Connections doorman has open to the upstream right now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Request body bytes received, over all requests.
    pub fn body_bytes(&self) -> usize {
        self.body_bytes.load(Ordering::SeqCst)
    }

    /// Requests whose whole `Content-Length` body arrived.
    pub fn complete_bodies(&self) -> usize {
        self.complete_bodies.load(Ordering::SeqCst)
    }

    /// Waits (up to `within`) until doorman has no connection open to the upstream.
    pub async fn all_closed(&self, within: Duration) -> bool {
        eventually(within, || async { self.open() == 0 }).await
    }

    async fn serve(&self, mut stream: TcpStream, mode: Mode) {
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            // The head.
            let head_end = loop {
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            buf.drain(..head_end);
            match mode {
                Mode::Hang => {
                    self.body_bytes.fetch_add(buf.len(), Ordering::SeqCst);
                    while let Ok(n) = stream.read(&mut chunk).await {
                        if n == 0 {
                            return;
                        }
                        self.body_bytes.fetch_add(n, Ordering::SeqCst);
                    }
                    return;
                }
                Mode::Early => {
                    self.body_bytes.fetch_add(buf.len(), Ordering::SeqCst);
                    buf.clear();
                    if stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nearly")
                        .await
                        .is_err()
                    {
                        return;
                    }
                    // Keep reading whatever body comes, until doorman closes.
                    while let Ok(n) = stream.read(&mut chunk).await {
                        if n == 0 {
                            return;
                        }
                        self.body_bytes.fetch_add(n, Ordering::SeqCst);
                    }
                    return;
                }
                Mode::AfterBody { response_bytes } => {
                    let mut got = buf.len().min(length);
                    self.body_bytes.fetch_add(got, Ordering::SeqCst);
                    buf.drain(..got);
                    while got < length {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                let take = n.min(length - got);
                                got += take;
                                self.body_bytes.fetch_add(take, Ordering::SeqCst);
                                buf.extend_from_slice(&chunk[take..n]);
                            }
                        }
                    }
                    if length > 0 {
                        self.complete_bodies.fetch_add(1, Ordering::SeqCst);
                    }
                    let head =
                        format!("HTTP/1.1 200 OK\r\ncontent-length: {response_bytes}\r\n\r\n");
                    if stream.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    let block = vec![b'x'; 64 * 1024];
                    let mut left = response_bytes;
                    while left > 0 {
                        let n = left.min(block.len());
                        if stream.write_all(&block[..n]).await.is_err() {
                            return;
                        }
                        left -= n;
                    }
                }
            }
        }
    }
}

/// doorman in front of a [`SlowUpstream`] in `mode`, with `limits` in `[limits]` and an
/// upstream timeout long enough not to interfere.
pub async fn start(limits: &str, mode: Mode) -> (Harness, SlowUpstream) {
    let upstream = SlowUpstream::start(mode).await;
    let config = config_with_sections(&format!("[limits]\n{limits}\n")).replace(
        "url = \"${UPSTREAM_URL}\"\ntimeout = \"2s\"",
        "url = \"${SLOW_URL}\"\ntimeout = \"30s\"",
    );
    assert!(config.contains("${SLOW_URL}"));
    let jwks = JwksServer::start(&[(key(), KID)]).await;
    let echo = doorman::dev::echo::Echo::start(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("echo");
    let url = format!("http://{}", upstream.addr);
    let h = Harness::with_parts(&config, jwks, echo, move |name| {
        (name == "SLOW_URL").then(|| url.clone())
    })
    .await;
    (h, upstream)
}

/// `doorman_limits_hit_total{kind}` (0 when never hit).
pub async fn limit_hits(h: &Harness, kind: &str) -> u64 {
    let needle = format!("doorman_limits_hit_total{{kind=\"{kind}\"}} ");
    h.metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix(&needle).and_then(|n| n.trim().parse().ok()))
        .unwrap_or(0)
}
