//! Forwarding: bodies stream both ways, hop-by-hop headers go, upstream answers come back,
//! and a dead or slow upstream gets a JSON 502/504 without hanging the client.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use tokio::net::TcpListener;

use crate::support::{claims, key, token, Harness, JwksServer, RequestExt, BASE_CONFIG, KID};

#[tokio::test]
async fn request_body_query_and_method_reach_the_upstream_unchanged() {
    let h = Harness::start().await;
    let body = vec![b'x'; 3 * 1024 * 1024];
    let mut req = h.client.request("POST", "/api/onboarding/step?x=1&y=%2F");
    *req.body_mut() = Full::new(Bytes::from(body.clone()));
    req = req.bearer(&token(&claims()));
    req.headers_mut()
        .insert("content-type", "application/octet-stream".parse().unwrap());
    let reply = h.client.send(req).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = h.echo.last().unwrap();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.target, "/api/onboarding/step?x=1&y=%2F");
    assert_eq!(seen.body.len(), body.len());
    assert_eq!(
        seen.header("content-type").as_deref(),
        Some("application/octet-stream")
    );
}

#[tokio::test]
async fn hop_by_hop_headers_are_removed() {
    let h = Harness::start().await;
    let mut req = h.client.request("GET", "/public/x");
    req.headers_mut()
        .insert("connection", "keep-alive, x-drop-me".parse().unwrap());
    req.headers_mut().insert("x-drop-me", "1".parse().unwrap());
    req.headers_mut()
        .insert("keep-alive", "timeout=5".parse().unwrap());
    req.headers_mut()
        .insert("proxy-authorization", "Basic Zm9vOmJhcg==".parse().unwrap());
    req.headers_mut().insert("te", "trailers".parse().unwrap());
    req.headers_mut().insert("x-keep-me", "1".parse().unwrap());
    h.client.send(req).await;
    let seen = h.echo.last().unwrap();
    for gone in ["x-drop-me", "keep-alive", "proxy-authorization", "te"] {
        assert!(seen.header(gone).is_none(), "{gone} was forwarded");
    }
    assert_eq!(seen.header("x-keep-me").as_deref(), Some("1"));
}

#[tokio::test]
async fn upstream_status_and_headers_come_back() {
    let h = Harness::start().await;
    let reply = h.client.get("/public/x").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json()["upstream"], "echo");
}

async fn harness_with_upstream(url: String) -> Harness {
    let jwks = JwksServer::start(&[(key(), KID)]).await;
    let echo = doorman::dev::echo::Echo::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let config = BASE_CONFIG
        .replace("${UPSTREAM_URL}", "${DEAD_URL}")
        .replace("timeout = \"2s\"", "timeout = \"300ms\"");
    Harness::with_parts(&config, jwks, echo, move |name| {
        (name == "DEAD_URL").then(|| url.clone())
    })
    .await
}

#[tokio::test]
async fn refused_upstream_connection_is_502_json() {
    // Bind then drop, so the port is (almost certainly) closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let h = harness_with_upstream(format!("http://127.0.0.1:{port}")).await;
    let reply = h.client.get("/public/x").await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.json()["error"], "bad_gateway");
    assert_eq!(reply.reason(), "upstream_unreachable");
    assert!(h.metrics().await.contains(
        "doorman_requests_total{route=\"public\",decision=\"upstream_error\",mode=\"inline\"} 1"
    ));
}

#[tokio::test]
async fn a_pooled_connection_that_goes_silent_is_504_after_the_timeout_each_time() {
    // Answers the first request of each connection, then never again: every later request
    // on a pooled connection waits for a head that does not come. The response timeout
    // (300ms here) is one timer per connection, re-armed per request; each wait must end
    // at its own deadline, never at one left over from an earlier request.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
                // Hold the connection open and silent.
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                }
            });
        }
    });
    let h = harness_with_upstream(format!("http://{addr}")).await;
    let first = h.client.get("/public/first").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.text(), "ok");
    for round in 0..3 {
        let started = std::time::Instant::now();
        let reply = tokio::time::timeout(Duration::from_secs(10), h.client.get("/public/again"))
            .await
            .expect("client hung");
        let took = started.elapsed();
        // A fresh connection answers; a pooled silent one times out. Either way, never hung
        // and never cut short by an old deadline.
        match reply.status.as_u16() {
            504 => assert!(
                took >= Duration::from_millis(250) && took < Duration::from_secs(5),
                "round {round}: 504 after {took:?}"
            ),
            200 => {}
            other => panic!("round {round}: status {other}"),
        }
    }
}

#[tokio::test]
async fn a_pooled_connection_idle_past_an_old_deadline_still_gets_its_full_timeout() {
    // The connection's one timer was armed for the first request's deadline and fires while
    // the connection idles in the pool; the next request on it must get a whole timeout of
    // its own, not the expired one (it answers at once, so any 504 here is spurious).
    let echo = doorman::dev::echo::Echo::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let h = harness_with_upstream(format!("http://{}", echo.addr)).await;
    assert_eq!(h.client.get("/public/one").await.status, 200);
    // Let the first request's 300ms deadline pass while the connection idles (pacing, not
    // waiting for a condition).
    tokio::time::sleep(Duration::from_millis(400)).await;
    for _ in 0..3 {
        assert_eq!(h.client.get("/public/two").await.status, 200);
    }
}

#[tokio::test]
async fn silent_upstream_is_504_json_after_the_timeout() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let h = harness_with_upstream(format!("http://{addr}")).await;
    let started = std::time::Instant::now();
    let reply = tokio::time::timeout(Duration::from_secs(10), h.client.get("/public/x"))
        .await
        .expect("client hung");
    assert_eq!(reply.status, 504);
    assert_eq!(reply.reason(), "upstream_timeout");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}
