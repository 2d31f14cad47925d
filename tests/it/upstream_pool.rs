//! The upstream pool over real sockets: idle connections are closed after `idle_timeout`
//! (issue 17: they were kept for ever), and `reuse = "fifo"` hands requests to every pooled
//! connection in turn (behind a Kubernetes Service, each connection is a pod), where
//! `lifo` keeps reusing the latest.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use doorman::dev::echo::Echo;

use crate::support::{key, Harness, JwksServer, BASE_CONFIG, KID};

/// An upstream that numbers its connections, logs which one served each request and which
/// ones the client closed. Requests wait for a permit, so a test can hold them in flight.
#[derive(Clone, Default)]
struct Counting {
    served: Arc<Mutex<Vec<usize>>>,
    closed: Arc<Mutex<Vec<usize>>>,
}

impl Counting {
    async fn start(gate: Arc<Semaphore>) -> (Counting, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let counting = Counting::default();
        let c = counting.clone();
        tokio::spawn(async move {
            let mut next = 0;
            while let Ok((stream, _)) = listener.accept().await {
                let id = next;
                next += 1;
                let (c, gate) = (c.clone(), gate.clone());
                tokio::spawn(async move {
                    let served = c.served.clone();
                    let service = service_fn(move |_req| {
                        let (served, gate) = (served.clone(), gate.clone());
                        async move {
                            served.lock().unwrap().push(id);
                            let _permit = gate.acquire().await;
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                Bytes::from_static(b"ok"),
                            )))
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = http1::Builder::new().serve_connection(io, service).await;
                    c.closed.lock().unwrap().push(id);
                });
            }
        });
        (counting, url)
    }

    fn served(&self) -> Vec<usize> {
        self.served.lock().unwrap().clone()
    }
}

async fn harness(url: &str, pool_keys: &str) -> Harness {
    let config = BASE_CONFIG.replace("${UPSTREAM_URL}", url).replace(
        "timeout = \"2s\"",
        &format!("timeout = \"2s\"\n{pool_keys}"),
    );
    let jwks = JwksServer::start(&[(key(), KID)]).await;
    let echo = Echo::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    Harness::with_parts(&config, jwks, echo, |_| None).await
}

async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let gate = Arc::new(Semaphore::new(Semaphore::MAX_PERMITS));
    let (upstream, url) = Counting::start(gate).await;
    let h = harness(&url, "idle_timeout = \"200ms\"").await;
    assert_eq!(h.client.get("/public/a").await.status, 200);
    until("doorman to close its idle upstream connection", || {
        upstream.closed.lock().unwrap().contains(&0)
    })
    .await;
    assert_eq!(
        h.doorman
            .shared
            .snapshot
            .load()
            .upstreams
            .idle_connections(0),
        0
    );
}

/// Three requests held in flight open three connections; six more in a row then show the
/// reuse order.
async fn reuse_order(reuse: &str) -> Vec<usize> {
    let gate = Arc::new(Semaphore::new(0));
    let (upstream, url) = Counting::start(gate.clone()).await;
    let h = harness(&url, &format!("reuse = \"{reuse}\"")).await;
    let parallel: Vec<_> = (0..3)
        .map(|_| {
            let client = h.fresh_client();
            tokio::spawn(async move { client.get("/public/p").await.status })
        })
        .collect();
    until("three requests in flight", || upstream.served().len() == 3).await;
    gate.add_permits(Semaphore::MAX_PERMITS / 2);
    for p in parallel {
        assert_eq!(p.await.unwrap(), 200);
    }
    until("three pooled connections", || {
        h.doorman
            .shared
            .snapshot
            .load()
            .upstreams
            .idle_connections(0)
            == 3
    })
    .await;
    for _ in 0..6 {
        assert_eq!(h.client.get("/public/s").await.status, 200);
    }
    upstream.served()[3..].to_vec()
}

#[tokio::test]
async fn fifo_reuse_spreads_requests_over_every_pooled_connection() {
    let fifo = reuse_order("fifo").await;
    let mut counts = [0; 3];
    for id in &fifo {
        counts[*id] += 1;
    }
    assert_eq!(counts, [2, 2, 2], "fifo served {fifo:?}");
    let lifo = reuse_order("lifo").await;
    assert!(
        lifo.windows(2).all(|w| w[0] == w[1]),
        "lifo should reuse one connection: {lifo:?}"
    );
}

/// An upstream that numbers its connections and answers by path: `/chunked` streams three
/// chunks without a length, `/empty` is a 204, `/big` 256 KiB with a length, `/early`
/// answers 200 before reading the request body, and reads (drains) it only once `drain` is
/// notified, so the answer is early by construction and the upstream never closes with
/// unread data (which would reset the connection and could lose the answer in the kernel);
/// anything else a short body.
async fn shaped_upstream() -> (
    Arc<Mutex<Vec<(usize, String)>>>,
    String,
    Arc<tokio::sync::Notify>,
) {
    use http_body_util::{BodyExt, StreamBody};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let drain = Arc::new(tokio::sync::Notify::new());
    let (log, gate) = (served.clone(), drain.clone());
    tokio::spawn(async move {
        let mut next = 0;
        while let Ok((stream, _)) = listener.accept().await {
            let (id, log, gate) = (next, log.clone(), gate.clone());
            next += 1;
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (log, gate) = (log.clone(), gate.clone());
                    async move {
                        let path = req.uri().path().to_string();
                        log.lock().unwrap().push((id, path.clone()));
                        if path == "/public/early" {
                            let body = req.into_body();
                            tokio::spawn(async move {
                                gate.notified().await;
                                let _ = body.collect().await;
                            });
                            let ok = Full::new(Bytes::from_static(b"ok")).boxed();
                            return Ok(hyper::Response::new(ok));
                        }
                        let body = match path.as_str() {
                            "/public/chunked" => {
                                let frames = ["one ", "two ", "three"].map(|c| {
                                    Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(
                                        Bytes::from_static(c.as_bytes()),
                                    ))
                                });
                                StreamBody::new(futures_util::stream::iter(frames)).boxed()
                            }
                            "/public/empty" => {
                                let mut r = hyper::Response::new(Full::new(Bytes::new()).boxed());
                                *r.status_mut() = hyper::StatusCode::NO_CONTENT;
                                return Ok::<_, std::convert::Infallible>(r);
                            }
                            "/public/big" => Full::new(Bytes::from(vec![b'x'; 256 * 1024])).boxed(),
                            _ => Full::new(Bytes::from_static(b"ok")).boxed(),
                        };
                        let _ = req.into_body().collect().await;
                        Ok(hyper::Response::new(body))
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    (served, url, drain)
}

/// The upstream leg is driven by the request's own task (no connection task): every body
/// shape must still hand its connection back for the next request, and an early answer
/// (the upstream replied before reading the request body) must neither wedge nor be
/// reused mid-body.
#[tokio::test]
async fn every_response_shape_returns_its_connection_and_an_early_answer_is_not_reused() {
    let (served, url, drain) = shaped_upstream().await;
    let h = harness(&url, "").await;
    let mut expected = Vec::new();
    for path in [
        "/public/a",
        "/public/chunked",
        "/public/empty",
        "/public/big",
        "/public/b",
    ] {
        let reply = h.client.get(path).await;
        match path {
            "/public/chunked" => assert_eq!(reply.text(), "one two three"),
            "/public/empty" => assert_eq!(reply.status, 204),
            "/public/big" => assert_eq!(reply.body.len(), 256 * 1024),
            _ => assert_eq!(reply.text(), "ok"),
        }
        expected.push((0, path.to_string()));
    }
    let head = h.client.request("HEAD", "/public/c");
    assert_eq!(h.client.send(head).await.status, 200);
    expected.push((0, "/public/c".to_string()));
    assert_eq!(*served.lock().unwrap(), expected, "one connection for all");

    // A request body the upstream reads only after answering: the answer arrives while the
    // body is still being sent (16 MiB is more than loopback's socket buffers hold), the
    // connection is not pooled with the body half-sent, and the next request is served on a
    // new connection.
    let mut early = h.client.request("POST", "/public/early");
    *early.body_mut() = Full::new(Bytes::from(vec![b'y'; 16 * 1024 * 1024]));
    assert_eq!(h.client.send(early).await.status, 200);
    drain.notify_one();
    assert_eq!(h.client.get("/public/d").await.text(), "ok");
    let served = served.lock().unwrap().clone();
    let (early_conn, _) = served[served.len() - 2];
    let (next_conn, ref next_path) = served[served.len() - 1];
    assert_eq!(next_path, "/public/d");
    assert_ne!(
        next_conn, early_conn,
        "a half-sent connection was reused: {served:?}"
    );
}
