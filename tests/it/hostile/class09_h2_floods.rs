//! Class 9, HTTP/2 control-frame floods (CVE-2019-9512 "Ping Flood", CVE-2019-9515
//! "Settings Flood"): more non-ACK PING (RFC 9113 §6.7) or SETTINGS (§6.5) frames than
//! `[limits] http2_max_pings` / `http2_max_settings` per window draw a GOAWAY (§6.8) with
//! ENHANCE_YOUR_CALM, read back from the socket, even in the middle of a response; hyper's
//! own client with keep-alive pings and an adaptive window is unaffected by the defaults.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::h2raw::{self, block, frame, END_HEADERS, END_STREAM};
use super::slow_upstream::{limit_hits, start, Mode};

const PING: u8 = 0x6;
const SETTINGS: u8 = 0x4;
const ENHANCE_YOUR_CALM: u32 = 0xb;

/// A PING with an 8-byte payload.
fn ping(n: u8) -> Vec<u8> {
    frame(PING, 0, 0, &[n; 8])
}

#[tokio::test]
async fn an_http2_ping_flood_draws_goaway_enhance_your_calm() {
    let (h, _up) = start(
        "http2_max_pings = 10",
        Mode::AfterBody { response_bytes: 2 },
    )
    .await;
    let mut bytes = h2raw::preface();
    for i in 0..50 {
        bytes.extend(ping(i));
    }
    let answer = h2raw::exchange(h.client.addr, &bytes, Duration::from_secs(5)).await;
    assert_eq!(answer.goaway, Some(ENHANCE_YOUR_CALM), "{answer:?}");
    let acks = answer
        .frames
        .iter()
        .filter(|(kind, flags, _)| *kind == PING && flags & 1 == 1)
        .count();
    assert!(acks < 50, "every ping was answered ({acks})");
    assert_eq!(limit_hits(&h, "http2_ping_flood").await, 1);
    // Within the limit: no GOAWAY.
    let mut bytes = h2raw::preface();
    for i in 0..10 {
        bytes.extend(ping(i));
    }
    bytes.extend(frame(
        0x1,
        END_STREAM | END_HEADERS,
        1,
        &block("GET", "/public/x", "shop.test", &[]),
    ));
    let answer = h2raw::exchange(h.client.addr, &bytes, Duration::from_secs(5)).await;
    assert_eq!(answer.status, Some(200), "{answer:?}");
    assert_eq!(answer.goaway, None);
}

#[tokio::test]
async fn a_ping_flood_during_a_response_gets_its_goaway_between_frames() {
    let (h, up) = start(
        "http2_max_pings = 10",
        Mode::AfterBody {
            response_bytes: 1 << 30,
        },
    )
    .await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(h.client.addr).await.unwrap();
    let mut opening = h2raw::preface();
    opening.extend(frame(
        0x1,
        END_STREAM | END_HEADERS,
        1,
        &block("GET", "/public/big", "shop.test", &[]),
    ));
    stream.write_all(&opening).await.unwrap();
    assert!(
        crate::support::eventually(Duration::from_secs(5), || async { up.accepted() == 1 }).await
    );
    let flood: Vec<u8> = (0..50).flat_map(ping).collect();
    stream.write_all(&flood).await.unwrap();
    let answer = h2raw::read_answer(&mut stream, started, started + Duration::from_secs(5)).await;
    assert_eq!(answer.status, Some(200), "{answer:?}");
    assert!(
        answer
            .frames
            .iter()
            .any(|(kind, _, id)| *kind == 0x0 && *id == 1),
        "no DATA before the GOAWAY: {:?}",
        answer.frames
    );
    assert_eq!(answer.goaway, Some(ENHANCE_YOUR_CALM), "{answer:?}");
    assert!(
        up.all_closed(Duration::from_secs(3)).await,
        "the upstream connection outlived the flooding client"
    );
}

#[tokio::test]
async fn an_http2_settings_flood_draws_goaway_enhance_your_calm() {
    let (h, _up) = start(
        "http2_max_settings = 10",
        Mode::AfterBody { response_bytes: 2 },
    )
    .await;
    let mut bytes = h2raw::preface();
    for _ in 0..50 {
        bytes.extend(frame(SETTINGS, 0, 0, &[]));
    }
    let answer = h2raw::exchange(h.client.addr, &bytes, Duration::from_secs(5)).await;
    assert_eq!(answer.goaway, Some(ENHANCE_YOUR_CALM), "{answer:?}");
    assert_eq!(limit_hits(&h, "http2_settings_flood").await, 1);
    assert_eq!(limit_hits(&h, "http2_ping_flood").await, 0);
}

#[tokio::test]
async fn a_normal_http2_client_with_keepalive_pings_is_unaffected() {
    let (h, up) = start(
        "",
        Mode::AfterBody {
            response_bytes: 1 << 20,
        },
    )
    .await;
    let tcp = TcpStream::connect(h.client.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(Duration::from_millis(50))
        .keep_alive_while_idle(true)
        .adaptive_window(true)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(tcp))
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    let started = Instant::now();
    let mut requests = 0;
    while started.elapsed() < Duration::from_millis(1500) || requests < 5 {
        let req = http::Request::get(format!("http://{}/public/x", h.client.addr))
            .body(Empty::new())
            .unwrap();
        let response = sender.send_request(req).await.expect("request failed");
        assert_eq!(response.status(), 200);
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(body.len(), 1 << 20);
        requests += 1;
    }
    assert!(!conn.is_finished(), "the connection ended");
    assert_eq!(up.accepted(), 1, "the upstream connection was not reused");
    for kind in [
        "http2_ping_flood",
        "http2_settings_flood",
        "response_write_timeout",
    ] {
        assert_eq!(limit_hits(&h, kind).await, 0, "{kind}");
    }
}
