//! Class 9: resource exhaustion (what doorman bounds today: header size and count, header
//! read time, token size, unknown-kid fetches). Oversized and countless headers, slowloris,
//! idle connections, floods of garbage and of validly shaped tokens with random kids. Each
//! gets a clear refusal or a closed connection, nothing reaches the upstream, and valid
//! requests keep being served. (Connection limits, body limits, TLS and HTTP/2 stream limits
//! are another issue's.)

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::h2raw::{self, block, frame, CONTINUATION, END_HEADERS, END_STREAM};
use super::{raw, read_until_close};
use crate::support::{
    assert_nothing_forwarded, claims, config_with_sections, key, outcome, refused, token, Harness,
    RequestExt,
};
use doorman::dev::mint::mint;

fn limits(extra: &str) -> String {
    config_with_sections(&format!("[limits]\n{extra}\n"))
}

/// A valid request still works (on a fresh connection).
async fn still_serving(h: &Harness) {
    let client = h.fresh_client();
    let reply = client
        .send(
            client
                .request("GET", "/api/projects/1")
                .bearer(&token(&claims())),
        )
        .await;
    assert_eq!(
        reply.status,
        200,
        "a valid request failed: {}",
        reply.text()
    );
}

#[tokio::test]
async fn oversized_headers_and_cookies_get_431_and_never_reach_the_upstream() {
    let h = Harness::start().await;
    let big = "a".repeat(70 * 1024);
    for (name, line) in [
        ("one_huge_header", format!("X-Big: {big}\r\n")),
        ("huge_cookie", format!("Cookie: __session={big}\r\n")),
        (
            "huge_authorization",
            format!("Authorization: Bearer {big}\r\n"),
        ),
        (
            "many_medium_cookies",
            (0..40)
                .map(|i| format!("Cookie: c{i}={}\r\n", "b".repeat(2000)))
                .collect(),
        ),
    ] {
        let request = format!("GET /public/x HTTP/1.1\r\nHost: shop.test\r\n{line}\r\n");
        let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(5)).await;
        assert_eq!(
            answer.status(),
            Some(431),
            "{name}: {}",
            &answer.text[..answer.text.len().min(200)]
        );
        assert!(answer.closed, "{name}: connection kept");
        assert!(
            answer.elapsed < Duration::from_secs(2),
            "{name}: refused only after {:?}",
            answer.elapsed
        );
    }
    assert_nothing_forwarded(&h, 0, "oversized headers");
    still_serving(&h).await;
}

#[tokio::test]
async fn the_header_size_limit_is_configurable() {
    let h = Harness::with_config(&limits("max_header_bytes = 16384")).await;
    let request = format!(
        "GET /public/x HTTP/1.1\r\nHost: shop.test\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(
        answer.status(),
        Some(431),
        "{}",
        &answer.text[..answer.text.len().min(200)]
    );
    assert_nothing_forwarded(&h, 0, "over the configured limit");
    // Under it: served.
    let request = format!(
        "GET /public/x HTTP/1.1\r\nHost: shop.test\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(8 * 1024)
    );
    let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(answer.status(), Some(200));
    // A token over a configured max_token_bytes is refused before it is parsed.
    let h = Harness::with_config(&limits("max_token_bytes = 2048")).await;
    let fat = token(&crate::support::with(
        claims(),
        "/pad",
        serde_json::json!("x".repeat(2000)),
    ));
    assert_eq!(
        outcome(&h.client.api("GET", "/api/projects/1", &fat).await),
        refused(401, "token_too_large")
    );
    assert_nothing_forwarded(&h, 0, "over max_token_bytes");
}

#[tokio::test]
async fn thousands_of_headers_are_refused() {
    let h = Harness::start().await;
    for count in [150, 1_000, 5_000] {
        let lines: String = (0..count).map(|i| format!("X-H{i}: 1\r\n")).collect();
        let request = format!("GET /public/x HTTP/1.1\r\nHost: shop.test\r\n{lines}\r\n");
        let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(5)).await;
        assert_eq!(
            answer.status(),
            Some(431),
            "{count} headers: {}",
            answer.text
        );
        assert!(answer.closed);
        assert!(
            answer.elapsed < Duration::from_secs(2),
            "{:?}",
            answer.elapsed
        );
    }
    // Over HTTP/2: one header block with thousands of small fields.
    let fields: Vec<(Vec<u8>, Vec<u8>)> = (0..5_000)
        .map(|i| (format!("x-h{i}").into_bytes(), b"1".to_vec()))
        .collect();
    let refs: Vec<(&[u8], &[u8])> = fields.iter().map(|(n, v)| (&n[..], &v[..])).collect();
    let header_block = block("GET", "/public/x", &h.client.addr.to_string(), &refs);
    let mut bytes = h2raw::preface();
    let mut chunks = header_block.chunks(16_000).peekable();
    let first = chunks.next().unwrap();
    bytes.extend(frame(0x1, END_STREAM, 1, first));
    while let Some(chunk) = chunks.next() {
        let flags = if chunks.peek().is_none() {
            END_HEADERS
        } else {
            0
        };
        bytes.extend(frame(CONTINUATION, flags, 1, chunk));
    }
    let answer = h2raw::exchange(h.client.addr, &bytes, Duration::from_secs(5)).await;
    assert!(answer.refused(), "HTTP/2 header flood: {answer:?}");
    assert_ne!(answer.status, Some(200));
    assert_nothing_forwarded(&h, 0, "header floods");
    still_serving(&h).await;
}

#[tokio::test]
async fn an_http2_continuation_flood_is_cut_off() {
    // CVE-2024-27316 class: HEADERS without END_HEADERS, then CONTINUATION frames forever.
    let h = Harness::start().await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(h.client.addr).await.unwrap();
    let mut opening = h2raw::preface();
    opening.extend(frame(
        0x1,
        END_STREAM,
        1,
        &block("GET", "/public/x", &h.client.addr.to_string(), &[]),
    ));
    stream.write_all(&opening).await.unwrap();
    let junk = h2raw::literal(b"x-junk", &[b'a'; 1000]);
    let mut sent = 0usize;
    let mut cut_off = false;
    // Up to 20 MB of CONTINUATION frames; the server must stop reading long before.
    for _ in 0..20_000 {
        if stream
            .write_all(&frame(CONTINUATION, 0, 1, &junk))
            .await
            .is_err()
        {
            cut_off = true;
            break;
        }
        sent += junk.len();
        if started.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
    if !cut_off {
        let (_, closed) =
            read_until_close(&mut stream, Instant::now() + Duration::from_secs(3)).await;
        cut_off = closed;
    }
    assert!(
        cut_off,
        "the server kept reading CONTINUATION frames ({sent} bytes)"
    );
    assert!(
        sent < 5 << 20,
        "the server read {sent} bytes of one header block before stopping"
    );
    assert_nothing_forwarded(&h, 0, "CONTINUATION flood");
    still_serving(&h).await;
}

#[tokio::test]
async fn slowloris_headers_trickled_byte_by_byte_are_cut_off_at_the_header_read_timeout() {
    let h = Harness::with_config(&limits("header_read_timeout = \"1s\"")).await;
    let started = Instant::now();
    let mut slow = TcpStream::connect(h.client.addr).await.unwrap();
    slow.write_all(b"GET /public/x HTTP/1.1\r\nHost: shop.test\r\n")
        .await
        .unwrap();
    let mut cut_off_after = None;
    let mut checked_others = false;
    // Trickle a header one byte every 50 ms for up to 6 s.
    for byte in b"X-Slow: "
        .iter()
        .chain([b'a'; 200].iter())
        .cycle()
        .take(120)
    {
        if slow.write_all(&[*byte]).await.is_err() {
            cut_off_after = Some(started.elapsed());
            break;
        }
        // Meanwhile other clients are served.
        if !checked_others {
            still_serving(&h).await;
            checked_others = true;
        }
        let mut probe = [0u8; 1024];
        match tokio::time::timeout(
            Duration::from_millis(50),
            tokio::io::AsyncReadExt::read(&mut slow, &mut probe),
        )
        .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => {
                cut_off_after = Some(started.elapsed());
                break;
            }
            Ok(Ok(_)) => {
                // A 408 or 400 before closing is fine; keep going until the close.
            }
            Err(_) => {}
        }
    }
    let after = cut_off_after.expect("a trickling client was never cut off");
    assert!(
        after < Duration::from_secs(4),
        "cut off only after {after:?} (timeout 1s)"
    );
    assert_nothing_forwarded(&h, 1, "slowloris");
}

#[tokio::test]
async fn many_connections_that_send_nothing_do_not_block_others() {
    let h = Harness::with_config(&limits("header_read_timeout = \"1s\"")).await;
    let mut idle = Vec::new();
    for i in 0..300 {
        let mut stream = TcpStream::connect(h.client.addr).await.unwrap();
        // Silent, half a request line, or half an HTTP/2 preface.
        match i % 3 {
            0 => {}
            1 => stream.write_all(b"GET /public/x HT").await.unwrap(),
            _ => stream.write_all(&h2raw::PREFACE[..10]).await.unwrap(),
        }
        idle.push(stream);
    }
    let started = Instant::now();
    for _ in 0..20 {
        still_serving(&h).await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "valid requests slowed to {:?}",
        started.elapsed()
    );
    assert_nothing_forwarded(&h, 20, "idle connections");
}

#[tokio::test]
async fn connections_that_send_nothing_or_half_a_preface_are_closed_at_the_header_read_timeout() {
    let h = Harness::with_config(&limits("header_read_timeout = \"1s\"")).await;
    let mut idle = Vec::new();
    for i in 0..30 {
        let mut stream = TcpStream::connect(h.client.addr).await.unwrap();
        if i % 2 == 1 {
            stream.write_all(&h2raw::PREFACE[..10]).await.unwrap();
        }
        idle.push(stream);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut open = 0;
    for mut stream in idle {
        let (_, closed) = read_until_close(&mut stream, deadline).await;
        if !closed {
            open += 1;
        }
    }
    assert_eq!(
        open, 0,
        "{open} of 30 silent connections were still open after 5 s (header_read_timeout 1s)"
    );
}

#[tokio::test]
async fn a_half_sent_request_line_is_closed_at_the_header_read_timeout() {
    let h = Harness::with_config(&limits("header_read_timeout = \"1s\"")).await;
    let mut stream = TcpStream::connect(h.client.addr).await.unwrap();
    stream.write_all(b"GET /public/x HT").await.unwrap();
    let started = Instant::now();
    let (_, closed) = read_until_close(&mut stream, started + Duration::from_secs(5)).await;
    assert!(closed, "a half request line kept the connection open 5 s");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_nothing_forwarded(&h, 0, "half request line");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_read_timeout() {
    let h = Harness::with_config(&limits("header_read_timeout = \"1s\"")).await;
    let mut stream = TcpStream::connect(h.client.addr).await.unwrap();
    stream
        .write_all(b"GET /public/x HTTP/1.1\r\nHost: shop.test\r\n\r\n")
        .await
        .unwrap();
    let (text, closed) =
        read_until_close(&mut stream, Instant::now() + Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        closed,
        "an idle keep-alive connection stayed open 5 s (header_read_timeout 1s)"
    );
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed() {
    let h = Harness::with_config(&limits("header_read_timeout = \"1s\"")).await;
    let mut stream = TcpStream::connect(h.client.addr).await.unwrap();
    stream.write_all(&h2raw::preface()).await.unwrap();
    let (_, closed) = read_until_close(&mut stream, Instant::now() + Duration::from_secs(5)).await;
    assert!(closed, "an idle HTTP/2 connection stayed open 5 s");
}

#[tokio::test]
async fn a_flood_of_garbage_is_refused_and_service_continues() {
    // Incomplete garbage (blank lines, half a request) is cut off by the header read timeout.
    let h = Harness::with_config(&limits("header_read_timeout = \"1s\"")).await;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut random = |n: usize| {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect::<Vec<u8>>()
    };
    let mut inputs: Vec<Vec<u8>> = (0..60).map(|i| random(16 + i * 37)).collect();
    inputs.extend([
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(), // a TLS ClientHello start
        b"GET\r\n\r\n".to_vec(),
        b"GET / HTTP/9.9\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: a\0\r\n\r\n".to_vec(),
        b"\r\n\r\n\r\n\r\n".to_vec(),
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff".to_vec(),
        b" GET /public/x HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(),
        b"GET /public/x HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n".to_vec(),
        b"GET /public/x HTTP/1.1\r\n\x80\x81: x\r\n\r\n".to_vec(),
    ]);
    let started = Instant::now();
    let tasks: Vec<_> = inputs
        .into_iter()
        .map(|input| {
            let addr = h.client.addr;
            tokio::spawn(async move {
                let answer = raw(addr, &input, Duration::from_secs(5)).await;
                (input, answer)
            })
        })
        .collect();
    for task in tasks {
        let (input, answer) = task.await.unwrap();
        assert!(
            answer.closed,
            "garbage {:?} left the connection open",
            String::from_utf8_lossy(&input[..input.len().min(40)])
        );
        assert!(
            matches!(answer.status(), None | Some(400 | 408 | 431 | 505)),
            "garbage got {:?}",
            answer.text
        );
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_nothing_forwarded(&h, 0, "garbage");
    still_serving(&h).await;
}

#[tokio::test]
async fn a_flood_of_validly_shaped_tokens_with_random_kids_causes_at_most_one_fetch() {
    let h = Harness::start().await;
    let hits = h.jwks.hits();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let client = h.fresh_client();
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for i in 0..40 {
                let jwt = mint(key(), &format!("ins_flood_{worker}_{i}"), &claims()).unwrap();
                let req = if i % 2 == 0 {
                    client.request("GET", "/api/projects/1").bearer(&jwt)
                } else {
                    client
                        .request("GET", "/api/projects/1")
                        .cookie(&format!("__session={jwt}"))
                };
                let reply = client.send(req).await;
                statuses.push(outcome(&reply));
            }
            statuses
        }));
    }
    for task in tasks {
        for status in task.await.unwrap() {
            assert_eq!(status, refused(401, "token_unknown_kid"));
        }
    }
    let fetches = h.jwks.hits() - hits;
    assert!(
        fetches <= 1,
        "640 random kids caused {fetches} JWKS fetches"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_nothing_forwarded(&h, 0, "random kid flood");
    still_serving(&h).await;
}
