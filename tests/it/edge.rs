//! The edge features of the public listener: TLS with HTTP/2 and HTTP/1.1 by ALPN,
//! WebSocket upgrades after authorization, body and connection limits, HTTPS upstreams with
//! a private CA.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::process::temp_dir;
use crate::support::{claims, token, Harness, RequestExt, BASE_CONFIG};

/// A test CA and a `localhost` certificate it signed, as PEM files.
pub(crate) struct TestPki {
    pub(crate) ca_pem: String,
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
    ca_file: PathBuf,
}

pub(crate) fn pki() -> TestPki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "doorman test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let dir = temp_dir("tls");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    std::fs::write(&ca_file, ca.pem()).unwrap();
    TestPki {
        ca_pem: ca.pem(),
        cert,
        key,
        ca_file,
    }
}

fn tls_client(
    ca_pem: &str,
    h2: bool,
) -> HyperClient<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only();
    let connector = if h2 {
        builder.enable_http2().build()
    } else {
        builder.enable_http1().build()
    };
    let mut client = HyperClient::builder(TokioExecutor::new());
    if h2 {
        client.http2_only(true);
    }
    client.build(connector)
}

use rustls::pki_types::pem::PemObject;

#[tokio::test]
async fn https_with_h2_and_http1_by_alpn_forwards_with_proto_https() {
    let pki = pki();
    let config = BASE_CONFIG.replace(
        "shutdown_grace = \"2s\"",
        &format!(
            "shutdown_grace = \"2s\"\ntls_cert = \"{}\"\ntls_key = \"{}\"",
            pki.cert.display(),
            pki.key.display()
        ),
    );
    let h = Harness::with_config(&config).await;
    let port = h.doorman.addr.port();
    for h2 in [true, false] {
        let client = tls_client(&pki.ca_pem, h2);
        let req = http::Request::get(format!("https://localhost:{port}/dashboard"))
            .body(Full::new(Bytes::new()))
            .unwrap()
            .bearer(&token(&claims()));
        let resp = client.request(req).await.unwrap();
        assert_eq!(
            resp.version(),
            if h2 {
                http::Version::HTTP_2
            } else {
                http::Version::HTTP_11
            }
        );
        assert_eq!(resp.status(), 200);
        let seen = h.echo.last().unwrap();
        assert_eq!(seen.header("x-forwarded-proto").as_deref(), Some("https"));
        assert_eq!(seen.header("x-user-id").as_deref(), Some("user_1"));
    }
    // Plain HTTP on the TLS port gets nowhere.
    let mut plain = tokio::net::TcpStream::connect(h.doorman.addr)
        .await
        .unwrap();
    plain
        .write_all(b"GET /public/x HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buf)).await;
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    assert_eq!(h.echo.count(), 2);
}

#[tokio::test]
async fn bodies_over_max_body_bytes_are_413_declared_or_streamed() {
    let config = BASE_CONFIG.replace(
        "[defaults]",
        "[limits]\nmax_body_bytes = 1024\n\n[defaults]",
    );
    let h = Harness::with_config(&config).await;
    let jwt = token(&claims());
    // Declared too large: refused before anything reaches the upstream.
    let mut req = h
        .client
        .request("POST", "/api/onboarding/step")
        .bearer(&jwt);
    *req.body_mut() = Full::new(Bytes::from(vec![b'x'; 4096]));
    let reply = h.client.send(req).await;
    assert_eq!(
        (reply.status.as_u16(), reply.reason()),
        (413, "body_too_large".to_string())
    );
    assert_eq!(h.echo.count(), 0);
    // Within the limit: forwarded whole.
    let mut req = h
        .client
        .request("POST", "/api/onboarding/step")
        .bearer(&jwt);
    *req.body_mut() = Full::new(Bytes::from(vec![b'x'; 1000]));
    assert_eq!(h.client.send(req).await.status, 200);
    assert_eq!(h.echo.last().unwrap().body.len(), 1000);
    // Chunked, no length: counted while streaming, refused when it passes the limit.
    let chunk = "x".repeat(600);
    let raw = format!(
        "POST /api/onboarding/step HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {jwt}\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n{chunk}\r\n258\r\n{chunk}\r\n0\r\n\r\n"
    );
    let answer = h.client.send_raw(raw.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        h.echo.seen().iter().all(|s| s.body.len() <= 1024),
        "the upstream got more than the limit"
    );
    assert!(h
        .metrics()
        .await
        .contains("doorman_limits_hit_total{kind=\"max_body_bytes\"} 2"));
}

#[tokio::test]
async fn connections_over_max_connections_get_503_and_close() {
    let config = BASE_CONFIG.replace("[defaults]", "[limits]\nmax_connections = 2\n\n[defaults]");
    let h = Harness::with_config(&config).await;
    let _a = tokio::net::TcpStream::connect(h.doorman.addr)
        .await
        .unwrap();
    let _b = tokio::net::TcpStream::connect(h.doorman.addr)
        .await
        .unwrap();
    // Let the server accept both before the third arrives.
    for _ in 0..200 {
        if h.metrics().await.contains("doorman_open_connections 2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let answer = h
        .client
        .send_raw(b"GET /public/x HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too_many_connections"));
    assert_eq!(h.echo.count(), 0);
    drop((_a, _b));
    // Capacity comes back once connections close.
    let mut ok = false;
    for _ in 0..200 {
        if h.client
            .send_raw(b"GET /public/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .await
            .starts_with("HTTP/1.1 200")
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(ok);
}

/// An upstream that accepts any upgrade (answers 101) and then echoes bytes, reporting the
/// request head it saw.
async fn upgrade_upstream() -> (String, tokio::sync::mpsc::Receiver<http::HeaderMap>) {
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let service = service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(req.headers().clone()).await;
                        let on = hyper::upgrade::on(&mut req);
                        tokio::spawn(async move {
                            if let Ok(up) = on.await {
                                let mut io = TokioIo::new(up);
                                let mut buf = [0u8; 64];
                                while let Ok(n) = io.read(&mut buf).await {
                                    if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                                        break;
                                    }
                                }
                            }
                        });
                        let mut resp = http::Response::new(Full::new(Bytes::new()));
                        *resp.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
                        resp.headers_mut()
                            .insert("upgrade", "websocket".parse().unwrap());
                        resp.headers_mut()
                            .insert("connection", "upgrade".parse().unwrap());
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    (format!("http://{addr}"), rx)
}

#[tokio::test]
async fn websocket_upgrades_are_authorized_then_tunnelled_both_ways() {
    let (upstream, mut heads) = upgrade_upstream().await;
    let jwks =
        crate::support::JwksServer::start(&[(crate::support::key(), crate::support::KID)]).await;
    let echo = doorman::dev::echo::Echo::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let config = BASE_CONFIG.replace("${UPSTREAM_URL}", "${WS_URL}");
    let h = Harness::with_parts(&config, jwks, echo, move |n| {
        (n == "WS_URL").then(|| upstream.clone())
    })
    .await;
    let handshake = |auth: Option<String>| {
        let auth = auth
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        format!("GET /dashboard/live HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-User-Id: spoofed\r\n{auth}\r\n")
    };
    // Without a token: refused before any upgrade reaches the upstream.
    let answer = h.client.send_raw(handshake(None).as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(heads.try_recv().is_err());
    // With a token: 101, then bytes flow both ways through doorman.
    let mut stream = tokio::net::TcpStream::connect(h.doorman.addr)
        .await
        .unwrap();
    stream
        .write_all(handshake(Some(token(&claims()))).as_bytes())
        .await
        .unwrap();
    let mut head = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut head))
        .await
        .unwrap()
        .unwrap();
    let head = String::from_utf8_lossy(&head[..n]).to_string();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("upgrade: websocket"),
        "{head}"
    );
    let seen = heads.recv().await.unwrap();
    assert_eq!(
        seen.get("x-user-id").unwrap(),
        "user_1",
        "identity attached, spoof removed"
    );
    assert_eq!(seen.get("upgrade").unwrap(), "websocket");
    stream.write_all(b"ping through the tunnel").await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"ping through the tunnel");
}

#[tokio::test]
async fn https_upstreams_are_verified_against_their_ca_file() {
    let pki = pki();
    // An HTTPS upstream: doorman itself with TLS, in front of an echo.
    let tls_config = BASE_CONFIG.replace(
        "shutdown_grace = \"2s\"",
        &format!(
            "shutdown_grace = \"2s\"\ntls_cert = \"{}\"\ntls_key = \"{}\"",
            pki.cert.display(),
            pki.key.display()
        ),
    );
    let backend = Harness::with_config(&tls_config).await;
    let url = format!("https://localhost:{}", backend.doorman.addr.port());
    let jwks =
        crate::support::JwksServer::start(&[(crate::support::key(), crate::support::KID)]).await;
    let echo = doorman::dev::echo::Echo::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let with_ca = BASE_CONFIG
        .replace("${UPSTREAM_URL}", "${TLS_URL}")
        .replace(
            "timeout = \"2s\"",
            &format!("timeout = \"2s\"\nca_file = \"{}\"", pki.ca_file.display()),
        );
    let url2 = url.clone();
    let front = Harness::with_parts(&with_ca, jwks.clone(), echo.clone(), move |n| {
        (n == "TLS_URL").then(|| url2.clone())
    })
    .await;
    assert_eq!(front.client.get("/public/x").await.status, 200);
    assert_eq!(backend.echo.count(), 1, "reached the HTTPS upstream");
    // Without the CA the upstream's certificate is not trusted: 502, nothing delivered.
    let without = BASE_CONFIG.replace("${UPSTREAM_URL}", "${TLS_URL}");
    let untrusting = Harness::with_parts(&without, jwks, echo, move |n| {
        (n == "TLS_URL").then(|| url.clone())
    })
    .await;
    assert_eq!(untrusting.client.get("/public/x").await.status, 502);
    assert_eq!(backend.echo.count(), 1);
}
