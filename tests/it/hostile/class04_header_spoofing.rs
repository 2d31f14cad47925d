//! Class 4: identity header spoofing. Client copies of identity headers in any case, count,
//! spelling or position (raw HTTP/1.1, HTTP/2, trailers) never reach the upstream; a
//! `Connection` header cannot make doorman drop its own; forwarding headers from an untrusted
//! peer are replaced.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::json;

use super::raw;
use crate::support::{claims, token, with, Harness, RequestExt, BASE_CONFIG};

const IDENTITY: [&str; 9] = [
    "x-user-id",
    "x-session-id",
    "x-user-type",
    "x-org-id",
    "x-org-role",
    "x-user-roles",
    "x-user-permissions",
    "x-feature-flags",
    "x-onboarding-status",
];

/// Every spelling of every identity header a client might try, with value `evil`.
fn spoofed_lines() -> String {
    let mut lines = String::new();
    for name in IDENTITY {
        let upper = name.to_ascii_uppercase();
        let title: String = name
            .split('-')
            .map(|p| format!("{}{}", p[..1].to_ascii_uppercase(), &p[1..]))
            .collect::<Vec<_>>()
            .join("-");
        for spelling in [
            name.to_string(),
            upper.clone(),
            title.clone(),
            title.replace('-', "_"),
            upper.replace('-', "_"),
            name.replacen('-', "_", 1),
        ] {
            lines.push_str(&format!("{spelling}: evil\r\n"));
        }
    }
    // Whitespace variants (hyper accepts at most 100 header lines by default).
    lines.push_str(
        "X-User-Id:evil-no-space\r\nX-User-Id:\tevil-tab\r\nX-User-Id: evil-trailing-space \r\n",
    );
    lines
}

/// Asserts that no header the upstream saw carries a spoofed value or an identity name
/// spelled with `_`.
fn assert_no_spoof(seen: &doorman::dev::echo::Seen) {
    for (name, value) in &seen.headers {
        assert!(
            !value.starts_with("evil"),
            "{name}: {value} reached the upstream"
        );
        let dashed = name.replace('_', "-");
        if IDENTITY.contains(&dashed.as_str()) {
            assert!(!name.contains('_'), "{name} reached the upstream");
        }
    }
}

#[tokio::test]
async fn identity_headers_in_any_case_count_and_spelling_over_raw_http1_never_reach_the_upstream() {
    let h = Harness::start().await;
    // Anonymous, on a public route.
    let request = format!(
        "GET /public/x HTTP/1.1\r\nHost: shop.test\r\n{}Connection: close\r\n\r\n",
        spoofed_lines()
    );
    let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    let seen = h.echo.last().expect("forwarded");
    assert_no_spoof(&seen);
    for name in IDENTITY {
        assert!(
            seen.header_all(name).is_empty(),
            "{name}: {:?}",
            seen.header_all(name)
        );
    }
    // With a valid token, on a protected route: exactly doorman's values.
    let request = format!(
        "GET /dashboard HTTP/1.1\r\nHost: shop.test\r\nAuthorization: Bearer {}\r\n{}Connection: close\r\n\r\n",
        token(&claims()),
        spoofed_lines()
    );
    let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    let seen = h.echo.last().expect("forwarded");
    assert_no_spoof(&seen);
    assert_eq!(seen.header_all("x-user-id"), vec!["user_1"]);
    assert_eq!(seen.header_all("x-session-id"), vec!["sess_1"]);
    assert_eq!(seen.header_all("x-user-roles"), vec!["member"]);
    assert_eq!(seen.header_all("x-user-permissions"), vec!["view_project"]);
    assert_eq!(seen.header_all("x-onboarding-status"), vec!["completed"]);
    assert!(
        seen.header_all("x-org-id").is_empty(),
        "no org in the token"
    );
    assert!(
        seen.header_all("x-org-role").is_empty(),
        "no org in the token"
    );
}

#[tokio::test]
async fn comma_joined_and_repeated_identity_headers_are_replaced_by_one_value() {
    let h = Harness::start().await;
    let mut req = h
        .client
        .request("GET", "/dashboard")
        .bearer(&token(&claims()));
    for (name, value) in [
        ("x-user-id", "user_admin, user_1"),
        ("x-user-id", "user_1"),
        ("x-user-roles", "admin,member"),
        ("x-user-roles", "admin"),
        ("x-user-permissions", "create_project,view_project"),
        ("x-feature-flags", "beta,advanced_search"),
        ("x-org-role", "org:admin"),
        ("x-org-role", "org:admin, org:member"),
    ] {
        req = req.with_header(name, value);
    }
    let reply = h.client.send(req).await;
    assert_eq!(reply.status, 200);
    let seen = h.echo.last().unwrap();
    assert_eq!(seen.header_all("x-user-id"), vec!["user_1"]);
    assert_eq!(seen.header_all("x-user-roles"), vec!["member"]);
    assert_eq!(seen.header_all("x-user-permissions"), vec!["view_project"]);
    assert_eq!(seen.header_all("x-feature-flags"), vec!["advanced_search"]);
    assert!(seen.header_all("x-org-role").is_empty());
}

#[tokio::test]
async fn connection_header_naming_identity_headers_cannot_make_doorman_drop_its_own() {
    let h = Harness::start().await;
    let org = with(
        with(claims(), "/o", json!({"id": "org_9", "rol": "admin"})),
        "/metadata/userType",
        json!("vendor_company"),
    );
    let all = IDENTITY.join(", ");
    let request = format!(
        "GET /dashboard HTTP/1.1\r\nHost: shop.test\r\nAuthorization: Bearer {}\r\n\
         Connection: {all}\r\nConnection: X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host\r\n\
         connection: x-user-id,x-session-id\r\nConnection: close\r\n\r\n",
        token(&org)
    );
    let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    let seen = h.echo.last().unwrap();
    assert_eq!(seen.header_all("x-user-id"), vec!["user_1"]);
    assert_eq!(seen.header_all("x-session-id"), vec!["sess_1"]);
    assert_eq!(seen.header_all("x-user-type"), vec!["vendor_company"]);
    assert_eq!(seen.header_all("x-org-id"), vec!["org_9"]);
    assert_eq!(seen.header_all("x-org-role"), vec!["org:admin"]);
    assert_eq!(seen.header_all("x-user-roles"), vec!["member"]);
    assert_eq!(seen.header_all("x-onboarding-status"), vec!["completed"]);
    assert_eq!(seen.header_all("x-forwarded-for"), vec!["127.0.0.1"]);
    assert_eq!(seen.header_all("x-forwarded-proto"), vec!["http"]);
    assert_eq!(seen.header_all("x-forwarded-host"), vec!["shop.test"]);
    assert!(seen
        .header("connection")
        .is_none_or(|c| !c.contains("x-user")));
}

#[tokio::test]
async fn identity_headers_over_http2_are_stripped() {
    let h = Harness::start().await;
    let mut req = h.client.request("GET", "/dashboard");
    for name in IDENTITY {
        req = req.with_header(name, "evil");
        req = req.with_header(&name.replace('-', "_"), "evil-underscore");
    }
    let req = req.bearer(&token(&claims()));
    let reply = h.client.send_h2(req).await;
    assert_eq!(reply.status, 200);
    let seen = h.echo.last().unwrap();
    assert_no_spoof(&seen);
    assert_eq!(seen.header_all("x-user-id"), vec!["user_1"]);
    // Anonymous over HTTP/2 on a public route: none at all.
    let mut req = h.client.request("GET", "/public/x");
    for name in IDENTITY {
        req = req.with_header(name, "evil");
    }
    assert_eq!(h.client.send_h2(req).await.status, 200);
    let seen = h.echo.last().unwrap();
    assert_no_spoof(&seen);
    assert!(seen.header_all("x-user-id").is_empty());
}

#[tokio::test]
async fn spoofed_forwarding_headers_from_an_untrusted_peer_are_replaced() {
    let h = Harness::start().await;
    let request = "GET /public/x HTTP/1.1\r\nHost: shop.test\r\n\
         X-Forwarded-For: 10.0.0.1\r\nx-forwarded-for: 10.0.0.2, 10.0.0.3\r\n\
         X-Forwarded-Proto: https\r\nX-FORWARDED-PROTO: https\r\n\
         X-Forwarded-Host: admin.internal\r\nx-forwarded-host: admin.internal\r\n\
         Forwarded: for=10.0.0.1;proto=https;host=admin.internal\r\n\
         X-Real-IP: 10.0.0.1\r\nx-real-ip: 10.0.0.9\r\nConnection: close\r\n\r\n";
    let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    let seen = h.echo.last().unwrap();
    assert_eq!(seen.header_all("x-forwarded-for"), vec!["127.0.0.1"]);
    assert_eq!(seen.header_all("x-forwarded-proto"), vec!["http"]);
    assert_eq!(seen.header_all("x-forwarded-host"), vec!["shop.test"]);
    assert!(seen.header_all("forwarded").is_empty());
    assert!(seen.header_all("x-real-ip").is_empty());
    // Over HTTP/2 too.
    let mut req = h.client.request("GET", "/public/x");
    for (n, v) in [
        ("x-forwarded-for", "10.0.0.1"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "admin.internal"),
        ("forwarded", "for=10.0.0.1"),
        ("x-real-ip", "10.0.0.1"),
    ] {
        req = req.with_header(n, v);
    }
    assert_eq!(h.client.send_h2(req).await.status, 200);
    let seen = h.echo.last().unwrap();
    assert_eq!(seen.header_all("x-forwarded-for"), vec!["127.0.0.1"]);
    assert_eq!(seen.header_all("x-forwarded-proto"), vec!["http"]);
    assert!(!seen
        .headers
        .iter()
        .any(|(_, v)| v.contains("10.0.0.") || v.contains("admin.internal")));
}

#[tokio::test]
async fn other_forwarding_and_url_override_headers_from_an_untrusted_peer_are_removed() {
    // Spring honours X-Forwarded-Prefix, Symfony/IIS X-Original-URL and X-Rewrite-URL, many
    // frameworks X-Forwarded-Port/-Scheme/-Ssl: from an untrusted peer they rewrite the path
    // or scheme the application sees after doorman matched another one.
    let h = Harness::start().await;
    let spoofs = [
        ("x-forwarded-prefix", "/admin"),
        ("x-forwarded-port", "443"),
        ("x-forwarded-server", "admin.internal"),
        ("x-forwarded-scheme", "https"),
        ("x-forwarded-ssl", "on"),
        ("x-forwarded-path", "/admin"),
        ("x-forwarded-uri", "/admin"),
        ("x-original-url", "/admin"),
        ("x-rewrite-url", "/admin"),
        ("x-original-uri", "/admin"),
        ("front-end-https", "on"),
    ];
    let mut req = h.client.request("GET", "/public/x");
    for (n, v) in spoofs {
        req = req.with_header(n, v);
    }
    assert_eq!(h.client.send(req).await.status, 200);
    let seen = h.echo.last().unwrap();
    let leaked: Vec<_> = spoofs
        .iter()
        .filter(|(n, _)| !seen.header_all(n).is_empty())
        .map(|(n, _)| *n)
        .collect();
    assert!(
        leaked.is_empty(),
        "forwarded from an untrusted peer: {leaked:?}"
    );
}

#[tokio::test]
async fn underscore_spellings_of_forwarding_headers_are_removed() {
    let h = Harness::start().await;
    let request = "GET /public/x HTTP/1.1\r\nHost: shop.test\r\n\
         X_Forwarded_For: 10.0.0.1\r\nX_Forwarded_Proto: https\r\n\
         X_Forwarded_Host: admin.internal\r\nX_Real_IP: 10.0.0.1\r\nConnection: close\r\n\r\n";
    let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    let seen = h.echo.last().unwrap();
    let leaked: Vec<_> = seen
        .headers
        .iter()
        .filter(|(n, _)| n.contains('_'))
        .collect();
    assert!(
        leaked.is_empty(),
        "forwarded from an untrusted peer: {leaked:?}"
    );
}

/// What a trailer-aware upstream received: (headers, trailers) of each request.
type Recorded = Arc<Mutex<Vec<(Vec<(String, String)>, Vec<(String, String)>)>>>;

async fn trailer_upstream() -> (SocketAddr, Recorded) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let recorded: Recorded = Arc::default();
    let rec = recorded.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let rec = rec.clone();
            let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                let rec = rec.clone();
                async move {
                    let pairs = |m: &http::HeaderMap| {
                        m.iter()
                            .map(|(n, v)| {
                                (
                                    n.to_string(),
                                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                )
                            })
                            .collect::<Vec<_>>()
                    };
                    let headers = pairs(req.headers());
                    let collected = req.into_body().collect().await;
                    let trailers = collected
                        .ok()
                        .and_then(|c| c.trailers().map(pairs))
                        .unwrap_or_default();
                    rec.lock().unwrap().push((headers, trailers));
                    Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(b"ok"))))
                }
            });
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, recorded)
}

#[tokio::test]
async fn identity_headers_in_chunked_trailers_never_reach_the_upstream() {
    let (addr, recorded) = trailer_upstream().await;
    let config = BASE_CONFIG.replace("${UPSTREAM_URL}", &format!("http://{addr}"));
    let h = Harness::with_config(&config).await;
    let request = format!(
        "POST /api/onboarding/step HTTP/1.1\r\nHost: shop.test\r\nAuthorization: Bearer {}\r\n\
         Transfer-Encoding: chunked\r\nTrailer: X-User-Id, X-User-Roles\r\nTE: trailers\r\n\
         Connection: close\r\n\r\n5\r\nhello\r\n0\r\nX-User-Id: user_admin\r\nX-User-Roles: admin\r\n\
         x_user_id: user_admin\r\n\r\n",
        token(&claims())
    );
    let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    let recorded = recorded.lock().unwrap().clone();
    assert_eq!(recorded.len(), 1);
    let (headers, trailers) = &recorded[0];
    let user_ids: Vec<_> = headers
        .iter()
        .chain(trailers.iter())
        .filter(|(n, _)| n.replace('_', "-").eq_ignore_ascii_case("x-user-id"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        user_ids,
        vec!["user_1"],
        "headers {headers:?} trailers {trailers:?}"
    );
    assert!(
        !trailers.iter().any(|(_, v)| v.contains("admin")),
        "trailers reached the upstream: {trailers:?}"
    );
}

#[tokio::test]
async fn conflicting_host_headers_are_refused() {
    // Two hosts in one request: the upstream (or a cache in front of it) may use the other.
    let h = Harness::start().await;
    for (name, lines) in [
        ("two_hosts", "Host: shop.test\r\nHost: evil.example\r\n"),
        ("two_hosts_same_line", "Host: shop.test, evil.example\r\n"),
        ("host_with_path", "Host: shop.test/admin\r\n"),
    ] {
        let request = format!("GET /public/x HTTP/1.1\r\n{lines}Connection: close\r\n\r\n");
        let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(3)).await;
        assert_eq!(answer.status(), Some(400), "{name}: {}", answer.text);
    }
    assert_eq!(h.echo.count(), 0, "a request with two hosts was forwarded");
}

#[tokio::test]
async fn http2_authority_and_host_that_disagree_are_refused() {
    let h = Harness::start().await;
    let mut bytes = super::h2raw::preface();
    bytes.extend(super::h2raw::frame(
        0x1,
        super::h2raw::END_HEADERS | super::h2raw::END_STREAM,
        1,
        &super::h2raw::block(
            "GET",
            "/public/x",
            "shop.test",
            &[(b"host", b"evil.example")],
        ),
    ));
    let answer = super::h2raw::exchange(h.client.addr, &bytes, Duration::from_secs(3)).await;
    assert_eq!(answer.status, Some(400), "{answer:?}");
    // Agreeing ones are fine (control).
    let mut bytes = super::h2raw::preface();
    bytes.extend(super::h2raw::frame(
        0x1,
        super::h2raw::END_HEADERS | super::h2raw::END_STREAM,
        1,
        &super::h2raw::block("GET", "/public/x", "shop.test", &[(b"host", b"shop.test")]),
    ));
    let answer = super::h2raw::exchange(h.client.addr, &bytes, Duration::from_secs(3)).await;
    assert_eq!(answer.status, Some(200), "{answer:?}");
    assert_eq!(h.echo.count(), 1);
    assert_eq!(h.echo.last().unwrap().header_all("host"), vec!["shop.test"]);
}
