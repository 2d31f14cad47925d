//! Class 7 (continued): upgrade smuggling. An `Upgrade: h2c` on a public route would, once an
//! h2c-speaking upstream answered 101 and doorman spliced the sockets, carry HTTP/2 requests
//! for any path past doorman. Only the protocols a route allows (`upgrades`, default
//! `websocket`) are forwarded; everything else is stripped and the request goes on as a plain
//! one; a 101 the client did not ask for, or for another protocol, is a 502 and nothing is
//! spliced. HTTP/2 requests never open a tunnel.
//!
//! The upstream here is a scripted raw-TCP server: it records every request head and every
//! byte that reaches it after a 101, and, like Hypercorn or Go's h2c handler, switches to
//! whatever protocol the client offers first.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::h2raw::{self, block, frame, literal, END_HEADERS, END_STREAM};
use crate::edge::{pki, TestPki};
use crate::support::eventually;
use crate::support::{claims, key, token, Harness, JwksServer, BASE_CONFIG, KID};

/// What the scripted upstream answers, given the request head (lowercased).
type Script = fn(&str) -> String;

const OK: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok";

fn switching(protocol: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: {protocol}\r\n\r\n"
    )
}

/// The value of header `name` in a lowercased head.
pub(super) fn head_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        (n.trim() == name).then(|| v.trim())
    })
}

/// An h2c- and WebSocket-capable server: switches to the first protocol offered, if any.
fn honest(head: &str) -> String {
    let asks = head_value(head, "connection").is_some_and(|c| c.contains("upgrade"));
    match head_value(head, "upgrade").filter(|_| asks) {
        Some(offered) => switching(offered.split(',').next().unwrap_or("").trim()),
        None => OK.to_string(),
    }
}

/// A broken or hostile upstream: answers 101 h2c to everything, asked or not.
fn always_h2c(_: &str) -> String {
    switching("h2c")
}

/// Answers an upgrade with a 101 that does not say what it switched to.
fn silent_101(_: &str) -> String {
    "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\n\r\n".to_string()
}

/// A raw upstream running a [`Script`], recording what reached it.
#[derive(Clone)]
struct Scripted {
    addr: SocketAddr,
    /// Every request head, lowercased.
    heads: Arc<Mutex<Vec<String>>>,
    /// Every byte received on a connection after it answered 101.
    after_101: Arc<Mutex<Vec<u8>>>,
    /// Connections accepted and connections that were closed by doorman.
    accepted: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
}

impl Scripted {
    async fn start(script: Script) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let up = Scripted {
            addr: listener.local_addr().unwrap(),
            heads: Arc::default(),
            after_101: Arc::default(),
            accepted: Arc::default(),
            closed: Arc::default(),
        };
        let state = up.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                state.accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(state.clone().serve(stream, script));
            }
        });
        up
    }

    async fn serve(self, mut stream: TcpStream, script: Script) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let mut switched = false;
        loop {
            if !switched {
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    buf.drain(..end + 4);
                    let answer = script(&head);
                    self.heads.lock().unwrap().push(head);
                    if stream.write_all(answer.as_bytes()).await.is_err() {
                        break;
                    }
                    switched = answer.starts_with("HTTP/1.1 101");
                    continue;
                }
            } else if !buf.is_empty() {
                // Switched: record and echo whatever arrives.
                self.after_101.lock().unwrap().extend_from_slice(&buf);
                let _ = stream.write_all(&buf).await;
                buf.clear();
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        self.closed.fetch_add(1, Ordering::SeqCst);
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }

    fn after_101(&self) -> Vec<u8> {
        self.after_101.lock().unwrap().clone()
    }

    /// Every connection doorman opened here has been closed again.
    async fn all_closed(&self) -> bool {
        eventually(Duration::from_secs(3), || async {
            self.closed.load(Ordering::SeqCst) == self.accepted.load(Ordering::SeqCst)
        })
        .await
    }
}

/// Routes added to the base config: one that tunnels nothing, one with a custom protocol.
const ROUTES: &str = r#"
[[routes]]
name = "no-upgrades"
path = "/public/plain/**"
access = "public"
upgrades = []

[[routes]]
name = "chat"
path = "/public/chat/**"
access = "public"
upgrades = ["websocket", "x-chat"]
"#;

/// doorman in front of `upstream`, plain or (with `tls`) HTTPS.
async fn doorman(upstream: &Scripted, tls: Option<&TestPki>) -> Harness {
    doorman_in_front_of(format!("http://{}", upstream.addr), tls).await
}

/// doorman (base config and [`ROUTES`]) in front of the upstream at `url`, plain or HTTPS.
pub(super) async fn doorman_in_front_of(url: String, tls: Option<&TestPki>) -> Harness {
    let mut config = format!(
        "{}\n{ROUTES}",
        BASE_CONFIG.replace("${UPSTREAM_URL}", "${RAW_URL}")
    );
    if let Some(pki) = tls {
        config = config.replace(
            "shutdown_grace = \"2s\"",
            &format!(
                "shutdown_grace = \"2s\"\ntls_cert = \"{}\"\ntls_key = \"{}\"",
                pki.cert.display(),
                pki.key.display()
            ),
        );
    }
    let jwks = JwksServer::start(&[(key(), KID)]).await;
    let echo = doorman::dev::echo::Echo::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    Harness::with_parts(&config, jwks, echo, move |n| {
        (n == "RAW_URL").then(|| url.clone())
    })
    .await
}

/// A client connection, plain or TLS, spoken to in raw bytes.
pub(super) trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

pub(super) async fn connect(h: &Harness, tls: Option<&TestPki>) -> Box<dyn Conn> {
    let tcp = TcpStream::connect(h.doorman.addr).await.unwrap();
    let Some(pki) = tls else {
        return Box::new(tcp);
    };
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pki.ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    Box::new(stream)
}

/// Reads one response (head, and a `content-length` body) within 5 s.
pub(super) async fn read_response(conn: &mut dyn Conn) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut out = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&out[..end]).to_ascii_lowercase();
            let len: usize = head_value(&head, "content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if out.len() >= end + 4 + len {
                return String::from_utf8_lossy(&out).into_owned();
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, conn.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&chunk[..n]),
            _ => return String::from_utf8_lossy(&out).into_owned(),
        }
    }
}

/// Everything read until the connection closes or `wait` passes.
pub(super) async fn read_rest(conn: &mut dyn Conn, wait: Duration) -> Vec<u8> {
    let deadline = Instant::now() + wait;
    let mut out = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, conn.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&chunk[..n]),
            _ => return out,
        }
    }
}

pub(super) fn status(response: &str) -> Option<u16> {
    response.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

fn reason(response: &str) -> String {
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str::<serde_json::Value>(body.trim())
        .ok()
        .and_then(|v| v["reason"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The HTTP/2 a client sends after a 101 to h2c: the preface, then a request for an admin
/// path that doorman would refuse without a token.
pub(super) fn http2_for_admin() -> Vec<u8> {
    let mut bytes = h2raw::preface();
    bytes.extend(frame(
        0x1,
        END_HEADERS | END_STREAM,
        3,
        &block("GET", "/api/admin/users", "shop.test", &[]),
    ));
    bytes
}

/// An h2c upgrade request (RFC 7540 §3.2) for `path`; `settings_in_connection` lists
/// `HTTP2-Settings` in `Connection` as the RFC requires (clients that do not exist too).
pub(super) fn h2c_upgrade(path: &str, settings_in_connection: bool) -> String {
    let connection = if settings_in_connection {
        "Upgrade, HTTP2-Settings"
    } else {
        "Upgrade"
    };
    format!("GET {path} HTTP/1.1\r\nHost: shop.test\r\nConnection: {connection}\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")
}

fn websocket_upgrade(path: &str, upgrade: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: shop.test\r\nConnection: Upgrade\r\nUpgrade: {upgrade}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
}

/// The h2c attack on one listener: the upgrade is stripped, the upstream answers the plain
/// request, the client never sees a 101, and the HTTP/2 that follows never reaches the
/// upstream (which would have switched, had it been asked).
async fn assert_h2c_is_stripped(tls: Option<&TestPki>) {
    let upstream = Scripted::start(honest).await;
    let h = doorman(&upstream, tls).await;
    for (i, settings_in_connection) in [true, false].into_iter().enumerate() {
        let mut conn = connect(&h, tls).await;
        let request = h2c_upgrade("/public/x", settings_in_connection);
        conn.write_all(request.as_bytes()).await.unwrap();
        let response = read_response(&mut *conn).await;
        assert_eq!(status(&response), Some(200), "{response}");
        let _ = conn.write_all(&http2_for_admin()).await;
        let rest = read_rest(&mut *conn, Duration::from_millis(500)).await;
        let everything = format!("{response}{}", String::from_utf8_lossy(&rest));
        assert!(
            !everything.contains(" 101 "),
            "the client got a 101: {everything}"
        );
        let heads = upstream.heads();
        assert_eq!(heads.len(), i + 1, "one request per attempt: {heads:#?}");
        let seen = &heads[i];
        assert!(seen.starts_with("get /public/x http/1.1"), "{seen}");
        assert_eq!(head_value(seen, "upgrade"), None, "{seen}");
        assert_eq!(head_value(seen, "http2-settings"), None, "{seen}");
        assert!(
            !head_value(seen, "connection").is_some_and(|c| c.contains("upgrade")),
            "{seen}"
        );
        assert!(upstream.after_101().is_empty(), "bytes were tunnelled");
        assert!(
            heads.iter().all(|h| !h.contains("/api/admin")),
            "the HTTP/2 request reached the upstream: {heads:#?}"
        );
    }
}

#[tokio::test]
async fn h2c_upgrade_on_a_public_route_is_stripped_and_later_http2_never_reaches_the_upstream() {
    assert_h2c_is_stripped(None).await;
}

#[tokio::test]
async fn h2c_upgrade_on_the_tls_listener_is_stripped_and_later_http2_never_reaches_the_upstream() {
    assert_h2c_is_stripped(Some(&pki())).await;
}

#[tokio::test]
async fn h2c_listed_with_websocket_forwards_only_websocket() {
    let upstream = Scripted::start(honest).await;
    let h = doorman(&upstream, None).await;
    for (i, offered) in ["h2c, websocket", "H2C, WebSocket"].into_iter().enumerate() {
        let mut conn = connect(&h, None).await;
        let request = websocket_upgrade("/public/ws", offered)
            .replace("Connection: Upgrade", "Connection: Upgrade, HTTP2-Settings")
            .replace("\r\n\r\n", "\r\nHTTP2-Settings: AAMAAABk\r\n\r\n");
        conn.write_all(request.as_bytes()).await.unwrap();
        let response = read_response(&mut *conn).await;
        assert_eq!(status(&response), Some(101), "{response}");
        assert!(
            response.to_ascii_lowercase().contains("upgrade: websocket"),
            "{response}"
        );
        let seen = &upstream.heads()[i];
        assert_eq!(
            head_value(seen, "upgrade"),
            Some("websocket"),
            "only the allowed protocol is offered upstream: {seen}"
        );
        assert_eq!(head_value(seen, "http2-settings"), None, "{seen}");
    }
}

#[tokio::test]
async fn an_unsolicited_101_is_a_502_and_nothing_is_spliced() {
    let upstream = Scripted::start(always_h2c).await;
    let h = doorman(&upstream, None).await;
    for request in [
        // No upgrade asked at all: the pooled path.
        "GET /public/x HTTP/1.1\r\nHost: shop.test\r\n\r\n".to_string(),
        // An h2c upgrade doorman stripped: the upstream switches anyway.
        h2c_upgrade("/public/x", true),
    ] {
        let mut conn = connect(&h, None).await;
        conn.write_all(request.as_bytes()).await.unwrap();
        let response = read_response(&mut *conn).await;
        assert_eq!(status(&response), Some(502), "{request:?}: {response}");
        assert_eq!(reason(&response), "upstream_unexpected_upgrade");
        let _ = conn.write_all(&http2_for_admin()).await;
        let rest = read_rest(&mut *conn, Duration::from_millis(300)).await;
        assert!(
            !String::from_utf8_lossy(&rest).contains(" 101 "),
            "a 101 was relayed: {}",
            String::from_utf8_lossy(&rest)
        );
    }
    assert!(upstream.after_101().is_empty(), "bytes were tunnelled");
    assert!(
        upstream.heads().iter().all(|h| !h.contains("/api/admin")),
        "{:#?}",
        upstream.heads()
    );
    assert!(
        upstream.all_closed().await,
        "doorman kept a connection that switched protocols"
    );
    let metrics = h.metrics().await;
    assert!(
        metrics.contains(
            "doorman_upstream_errors_total{upstream=\"app\",kind=\"unexpected_upgrade\"} 2"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_101_for_another_protocol_or_for_none_is_a_502_and_nothing_is_spliced() {
    for script in [always_h2c as Script, silent_101] {
        let upstream = Scripted::start(script).await;
        let h = doorman(&upstream, None).await;
        let mut conn = connect(&h, None).await;
        conn.write_all(websocket_upgrade("/public/ws", "websocket").as_bytes())
            .await
            .unwrap();
        let response = read_response(&mut *conn).await;
        assert_eq!(status(&response), Some(502), "{response}");
        assert_eq!(reason(&response), "upstream_unexpected_upgrade");
        let _ = conn.write_all(&http2_for_admin()).await;
        let _ = read_rest(&mut *conn, Duration::from_millis(300)).await;
        assert_eq!(
            head_value(&upstream.heads()[0], "upgrade"),
            Some("websocket")
        );
        assert!(upstream.after_101().is_empty(), "bytes were tunnelled");
        assert!(
            upstream.all_closed().await,
            "the upstream connection that switched was kept open"
        );
    }
}

#[tokio::test]
async fn websocket_tunnels_where_allowed_and_is_stripped_where_a_route_disallows_it() {
    let upstream = Scripted::start(honest).await;
    let h = doorman(&upstream, None).await;
    // Allowed by default on a public route: 101, then bytes both ways.
    let mut conn = connect(&h, None).await;
    conn.write_all(websocket_upgrade("/public/ws", "websocket").as_bytes())
        .await
        .unwrap();
    let response = read_response(&mut *conn).await;
    assert_eq!(status(&response), Some(101), "{response}");
    conn.write_all(b"ping through the tunnel").await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"ping through the tunnel");
    assert_eq!(
        head_value(&upstream.heads()[0], "upgrade"),
        Some("websocket")
    );
    // A custom protocol the route lists is tunnelled too.
    let mut conn = connect(&h, None).await;
    conn.write_all(websocket_upgrade("/public/chat/room", "x-chat").as_bytes())
        .await
        .unwrap();
    let response = read_response(&mut *conn).await;
    assert_eq!(status(&response), Some(101), "{response}");
    // `upgrades = []`: forwarded as a plain request; the upstream answers it as one.
    let mut conn = connect(&h, None).await;
    conn.write_all(websocket_upgrade("/public/plain/ws", "websocket").as_bytes())
        .await
        .unwrap();
    let response = read_response(&mut *conn).await;
    assert_eq!(status(&response), Some(200), "{response}");
    let seen = upstream.heads().last().cloned().unwrap();
    assert!(seen.starts_with("get /public/plain/ws "), "{seen}");
    assert_eq!(head_value(&seen, "upgrade"), None, "{seen}");
    // A protocol the route does not list (x-chat on the default-only route): stripped.
    let mut conn = connect(&h, None).await;
    conn.write_all(websocket_upgrade("/public/ws2", "x-chat").as_bytes())
        .await
        .unwrap();
    let response = read_response(&mut *conn).await;
    assert_eq!(status(&response), Some(200), "{response}");
    assert_eq!(
        head_value(upstream.heads().last().unwrap(), "upgrade"),
        None
    );
    // Still authorized first: without a token, a protected route's upgrade never leaves.
    let before = upstream.heads().len();
    let mut conn = connect(&h, None).await;
    conn.write_all(websocket_upgrade("/dashboard/live", "websocket").as_bytes())
        .await
        .unwrap();
    let response = read_response(&mut *conn).await;
    assert_eq!(status(&response), Some(401), "{response}");
    assert_eq!(upstream.heads().len(), before);
    // With one, it tunnels.
    let mut conn = connect(&h, None).await;
    let request = websocket_upgrade("/dashboard/live", "websocket").replace(
        "\r\n\r\n",
        &format!("\r\nAuthorization: Bearer {}\r\n\r\n", token(&claims())),
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let response = read_response(&mut *conn).await;
    assert_eq!(status(&response), Some(101), "{response}");
}

#[tokio::test]
async fn http2_requests_never_open_a_tunnel() {
    let upstream = Scripted::start(honest).await;
    let h = doorman(&upstream, None).await;
    let authority = h.doorman.addr.to_string();
    // Extended CONNECT (RFC 8441) is not enabled: `:protocol` is malformed.
    let mut bytes = h2raw::preface();
    bytes.extend(frame(
        0x1,
        END_HEADERS,
        1,
        &block(
            "CONNECT",
            "/public/ws",
            &authority,
            &[(b":protocol", b"websocket")],
        ),
    ));
    let answer = h2raw::exchange(h.doorman.addr, &bytes, Duration::from_secs(3)).await;
    assert!(answer.protocol_error(), "extended CONNECT: {answer:?}");
    // Classic CONNECT (`:method` and `:authority` only) names no path to route: refused.
    let mut headers = literal(b":method", b"CONNECT");
    headers.extend(literal(b":authority", authority.as_bytes()));
    let mut bytes = h2raw::preface();
    bytes.extend(frame(0x1, END_HEADERS, 1, &headers));
    bytes.extend(frame(0x0, 0, 1, b"GET /api/admin/users HTTP/1.1\r\n\r\n"));
    let answer = h2raw::exchange(h.doorman.addr, &bytes, Duration::from_secs(3)).await;
    assert!(
        answer.refused() && answer.status != Some(200),
        "CONNECT: {answer:?}"
    );
    assert!(
        upstream.heads().is_empty(),
        "an HTTP/2 CONNECT reached the upstream: {:#?}",
        upstream.heads()
    );
    assert!(upstream.after_101().is_empty());
}

#[tokio::test]
async fn http1_connect_never_opens_a_tunnel() {
    let upstream = Scripted::start(honest).await;
    let h = doorman(&upstream, None).await;
    let mut conn = connect(&h, None).await;
    conn.write_all(b"CONNECT /public/x HTTP/1.1\r\nHost: shop.test\r\n\r\n")
        .await
        .unwrap();
    let _ = read_response(&mut *conn).await;
    let _ = conn
        .write_all(b"GET /api/admin/users HTTP/1.1\r\nHost: shop.test\r\n\r\n")
        .await;
    let _ = read_rest(&mut *conn, Duration::from_millis(500)).await;
    assert!(
        upstream.heads().iter().all(|h| !h.contains("/api/admin")),
        "{:#?}",
        upstream.heads()
    );
    assert!(upstream.after_101().is_empty());
}
