//! Class 9, slow clients: a request body trickled below the minimum rate, a client that stops
//! reading its response, a client that goes away mid-exchange (HTTP/2 floods are in
//! `class09_h2_floods`). Each case asserts what the client got and what the
//! upstream saw ([`SlowUpstream`] counts the connections doorman holds to it and the body
//! bytes it received). Limits are configured small so the cases run in about a second; time
//! is waited for with deadlines, never with fixed sleeps. Normal clients (HTTP/2 keep-alive
//! a 20 kB/s mobile link) are shown to be unaffected by the defaults.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::slow_upstream::{limit_hits, start, Mode};

/// A connection whose receive buffer is small, so a client that does not read stops the
/// server quickly.
async fn small_window_connect(addr: std::net::SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Writes one body byte every `every` while reading; returns what was read, whether the
/// server closed the connection, and when, or gives up at `deadline`.
async fn trickle(
    stream: &mut TcpStream,
    every: Duration,
    deadline: Duration,
) -> (String, bool, Duration) {
    let started = Instant::now();
    let mut tick = tokio::time::interval(every);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let mut writing = true;
    loop {
        let left = deadline.saturating_sub(started.elapsed());
        tokio::select! {
            _ = tick.tick(), if writing => {
                writing = stream.write_all(b"x").await.is_ok();
            }
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => {
                    return (String::from_utf8_lossy(&out).into_owned(), true, started.elapsed());
                }
                Ok(n) => out.extend_from_slice(&buf[..n]),
            },
            () = tokio::time::sleep(left) => {
                return (String::from_utf8_lossy(&out).into_owned(), false, started.elapsed());
            }
        }
    }
}

/// Reads and discards until EOF (true) or `deadline` (false).
async fn drained(stream: &mut TcpStream, deadline: Duration) -> bool {
    let until = Instant::now() + deadline;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

const UPLOAD_HEAD: &[u8] =
    b"POST /public/upload HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 10000\r\n\r\n0123456789";

#[tokio::test]
async fn a_trickled_request_body_gets_408_and_never_completes_upstream() {
    let (h, up) = start(
        "request_body_timeout = \"300ms\"\nrequest_body_min_rate = 1000",
        Mode::AfterBody { response_bytes: 2 },
    )
    .await;
    let mut stream = TcpStream::connect(h.client.addr).await.unwrap();
    stream.write_all(UPLOAD_HEAD).await.unwrap();
    // 10 B/s against a minimum of 1000 B/s after 300 ms.
    let (text, closed, after) = trickle(
        &mut stream,
        Duration::from_millis(100),
        Duration::from_secs(5),
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"reason\":\"body_too_slow\""), "{text}");
    assert!(closed, "the connection stayed open: {text}");
    assert!(
        after < Duration::from_secs(3),
        "cut off only after {after:?}"
    );
    assert_eq!(up.complete_bodies(), 0, "the upstream got a complete body");
    assert!(up.body_bytes() < 10_000, "{}", up.body_bytes());
    assert!(
        up.all_closed(Duration::from_secs(2)).await,
        "the upstream connection was kept ({} open)",
        up.open()
    );
    assert_eq!(limit_hits(&h, "request_body_min_rate").await, 1);
}

#[tokio::test]
async fn a_trickle_after_the_upstream_answered_early_is_cut_off_on_both_sides() {
    let (h, up) = start(
        "request_body_timeout = \"300ms\"\nrequest_body_min_rate = 1000",
        Mode::Early,
    )
    .await;
    let mut stream = TcpStream::connect(h.client.addr).await.unwrap();
    stream.write_all(UPLOAD_HEAD).await.unwrap();
    let (text, closed, after) = trickle(
        &mut stream,
        Duration::from_millis(100),
        Duration::from_secs(5),
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.ends_with("early"), "{text}");
    assert!(
        closed,
        "a trickling client kept its connection after the answer"
    );
    assert!(
        after < Duration::from_secs(3),
        "cut off only after {after:?}"
    );
    assert!(up.body_bytes() < 10_000, "{}", up.body_bytes());
    assert!(
        up.all_closed(Duration::from_secs(2)).await,
        "the upstream connection was kept ({} open)",
        up.open()
    );
}

#[tokio::test]
async fn a_client_that_never_reads_a_large_response_loses_both_connections() {
    let (h, up) = start(
        "response_write_timeout = \"400ms\"",
        Mode::AfterBody {
            response_bytes: 1 << 30,
        },
    )
    .await;
    let mut stream = small_window_connect(h.client.addr).await;
    let started = Instant::now();
    stream
        .write_all(b"GET /public/big HTTP/1.1\r\nHost: shop.test\r\n\r\n")
        .await
        .unwrap();
    assert!(
        crate::support::eventually(Duration::from_secs(5), || async { up.accepted() == 1 }).await,
        "the request never reached the upstream"
    );
    assert!(
        up.all_closed(Duration::from_secs(5)).await,
        "the upstream connection stayed open with a client that does not read"
    );
    let closed_after = started.elapsed();
    assert!(
        closed_after >= Duration::from_millis(400),
        "{closed_after:?}"
    );
    assert!(
        drained(&mut stream, Duration::from_secs(5)).await,
        "the client connection stayed open"
    );
    assert_eq!(limit_hits(&h, "response_write_timeout").await, 1);
}

#[tokio::test]
async fn an_http2_client_that_stops_reading_loses_the_connection() {
    let (h, up) = start(
        "response_write_timeout = \"400ms\"",
        Mode::AfterBody {
            response_bytes: 1 << 30,
        },
    )
    .await;
    let tcp = TcpStream::connect(h.client.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(65_535)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(tcp))
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    let req = http::Request::get(format!("http://{}/public/big", h.client.addr))
        .body(Empty::new())
        .unwrap();
    let response = sender.send_request(req).await.unwrap();
    assert_eq!(response.status(), 200);
    // The body is never read: the stream window stays shut.
    assert!(
        up.all_closed(Duration::from_secs(5)).await,
        "the upstream connection stayed open with an HTTP/2 client that does not read"
    );
    let ended = tokio::time::timeout(Duration::from_secs(5), conn).await;
    assert!(ended.is_ok(), "the HTTP/2 connection stayed open");
    assert_eq!(limit_hits(&h, "response_write_timeout").await, 1);
    drop(response);
}

#[tokio::test]
async fn a_client_that_goes_away_releases_the_upstream_connection() {
    // Waiting for the response head (the upstream timeout is 30 s).
    let (h, up) = start("", Mode::Hang).await;
    let mut stream = TcpStream::connect(h.client.addr).await.unwrap();
    stream
        .write_all(b"GET /public/slow HTTP/1.1\r\nHost: shop.test\r\n\r\n")
        .await
        .unwrap();
    assert!(crate::support::eventually(Duration::from_secs(5), || async { up.open() == 1 }).await);
    drop(stream);
    assert!(
        up.all_closed(Duration::from_secs(2)).await,
        "waiting for the head: the upstream connection outlived the client"
    );

    // Part-way through the request body.
    let (h, up) = start("", Mode::Hang).await;
    let mut stream = TcpStream::connect(h.client.addr).await.unwrap();
    stream
        .write_all(
            b"POST /public/upload HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 1000000\r\n\r\n",
        )
        .await
        .unwrap();
    stream.write_all(&[b'a'; 50_000]).await.unwrap();
    assert!(
        crate::support::eventually(Duration::from_secs(5), || async {
            up.body_bytes() >= 50_000
        })
        .await,
        "{}",
        up.body_bytes()
    );
    drop(stream);
    assert!(
        up.all_closed(Duration::from_secs(2)).await,
        "mid-body: the upstream connection outlived the client"
    );
    drop(h);

    // Part-way through the response.
    let (h, up) = start(
        "",
        Mode::AfterBody {
            response_bytes: 1 << 30,
        },
    )
    .await;
    let mut stream = TcpStream::connect(h.client.addr).await.unwrap();
    stream
        .write_all(b"GET /public/big HTTP/1.1\r\nHost: shop.test\r\n\r\n")
        .await
        .unwrap();
    let mut got = 0;
    let mut buf = vec![0u8; 64 * 1024];
    while got < 200_000 {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0);
        got += n;
    }
    drop(stream);
    assert!(
        up.all_closed(Duration::from_secs(2)).await,
        "mid-response: the upstream connection outlived the client"
    );
    drop(h);
}

#[tokio::test]
async fn a_20_kb_per_second_mobile_client_is_unaffected_by_the_default_limits() {
    const SIZE: usize = 100_000;
    const CHUNK: usize = 1000;
    const EVERY: Duration = Duration::from_millis(50); // 1 kB / 50 ms = 20 kB/s
    let (h, up) = start(
        "",
        Mode::AfterBody {
            response_bytes: SIZE,
        },
    )
    .await;
    let mut stream = small_window_connect(h.client.addr).await;
    let head = format!(
        "POST /public/upload HTTP/1.1\r\nHost: shop.test\r\nContent-Length: {SIZE}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut tick = tokio::time::interval(EVERY);
    let up_started = Instant::now();
    for _ in 0..SIZE / CHUNK {
        tick.tick().await;
        stream.write_all(&[b'u'; CHUNK]).await.unwrap();
    }
    let up_seconds = up_started.elapsed().as_secs_f64();
    // The answer, read 1 kB per tick.
    let down_started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; CHUNK];
    let body_len = loop {
        tick.tick().await;
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("the answer stalled")
            .unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            if got.len() - (i + 4) >= SIZE {
                assert!(
                    got.starts_with(b"HTTP/1.1 200"),
                    "{}",
                    String::from_utf8_lossy(&got[..i])
                );
                break got.len() - (i + 4);
            }
        }
    };
    let down_seconds = down_started.elapsed().as_secs_f64();
    eprintln!(
        "20 kB/s client: {SIZE} B up in {up_seconds:.2} s ({:.1} kB/s), {body_len} B down in {down_seconds:.2} s ({:.1} kB/s)",
        SIZE as f64 / up_seconds / 1000.0,
        body_len as f64 / down_seconds / 1000.0,
    );
    assert_eq!(body_len, SIZE);
    assert_eq!(up.complete_bodies(), 1);
    assert_eq!(up.body_bytes(), SIZE);
    for kind in ["request_body_min_rate", "response_write_timeout"] {
        assert_eq!(limit_hits(&h, kind).await, 0, "{kind}");
    }
}
