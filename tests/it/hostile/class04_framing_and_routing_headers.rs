//! Class 4, continued: headers that are not identity headers but change how the upstream
//! frames, routes or reads the request. Underscore spellings of framing headers, a missing
//! `Host` or `:authority`, Envoy/IIS/ASP.NET routing headers from an untrusted peer, and
//! HTTP/2 `cookie` fields that an HTTP/1.1 upstream must see as one line.

use std::time::Duration;

use super::h2raw::{self, frame, literal, END_HEADERS, END_STREAM};
use super::raw;
use crate::support::{assert_nothing_forwarded, claims, token, Harness, RequestExt};

#[tokio::test]
async fn underscore_spellings_of_content_length_and_transfer_encoding_never_reach_the_upstream() {
    let h = Harness::start().await;
    let request = "POST /public/x HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 5\r\n\
         Content_Length: 60\r\nTransfer_Encoding: chunked\r\ntransfer_encoding: gzip\r\n\
         Keep_Alive: timeout=600\r\nProxy_Connection: keep-alive\r\nConnection: close\r\n\r\nhello";
    let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    let seen = h.echo.last().expect("forwarded");
    assert_eq!(&seen.body[..], b"hello");
    assert_eq!(seen.header_all("content-length"), vec!["5"]);
    let leaked: Vec<_> = seen
        .headers
        .iter()
        .filter(|(n, _)| n.contains('_'))
        .collect();
    assert!(leaked.is_empty(), "underscore framing headers: {leaked:?}");
}

#[tokio::test]
async fn http11_requests_without_host_are_400_and_http10_ones_are_forwarded() {
    let h = Harness::start().await;
    for (name, request) in [
        (
            "origin_form",
            "GET /public/x HTTP/1.1\r\nConnection: close\r\n\r\n".to_string(),
        ),
        (
            "absolute_form",
            format!(
                "GET http://{}/public/x HTTP/1.1\r\nConnection: close\r\n\r\n",
                h.client.addr
            ),
        ),
        (
            "keep_alive",
            "GET /public/x HTTP/1.1\r\n\r\nGET /public/second HTTP/1.1\r\nHost: a\r\n\r\n"
                .to_string(),
        ),
    ] {
        let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(3)).await;
        assert_eq!(
            (answer.status(), answer.reason()),
            (Some(400), "host_missing".to_string()),
            "{name}: {}",
            answer.text
        );
        assert_eq!(answer.responses(), 1, "{name}: {}", answer.text);
        assert!(answer.closed, "{name}: the connection stayed open");
    }
    assert_nothing_forwarded(&h, 0, "HTTP/1.1 without Host");
    // HTTP/1.0 predates Host: still forwarded, with the Host of the upstream connection.
    let request = "GET /public/old HTTP/1.0\r\n\r\n";
    let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(3)).await;
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    assert_eq!(h.echo.last().expect("forwarded").target, "/public/old");
}

/// A request header block without `:authority`, then `extra` fields.
fn block_without_authority(path: &str, extra: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, v) in [
        (&b":method"[..], &b"GET"[..]),
        (b":scheme", b"http"),
        (b":path", path.as_bytes()),
    ] {
        out.extend(literal(n, v));
    }
    for (n, v) in extra {
        out.extend(literal(n, v));
    }
    out
}

async fn h2_exchange(h: &Harness, block: &[u8]) -> h2raw::Answer {
    let mut bytes = h2raw::preface();
    bytes.extend(frame(0x1, END_HEADERS | END_STREAM, 1, block));
    h2raw::exchange(h.client.addr, &bytes, Duration::from_secs(3)).await
}

#[tokio::test]
async fn http2_requests_without_authority_or_host_are_400() {
    let h = Harness::start().await;
    let answer = h2_exchange(&h, &block_without_authority("/public/x", &[])).await;
    assert_eq!(answer.status, Some(400), "{answer:?}");
    assert_nothing_forwarded(&h, 0, "HTTP/2 without :authority or Host");
    // `Host` alone is enough (RFC 9113 §8.3.1 allows it instead of `:authority`).
    let block = block_without_authority("/public/x", &[(b"host", b"shop.test")]);
    let answer = h2_exchange(&h, &block).await;
    assert_eq!(answer.status, Some(200), "{answer:?}");
    assert_eq!(
        h.echo.last().expect("forwarded").header_all("host"),
        vec!["shop.test"]
    );
}

#[tokio::test]
async fn http2_cookie_fields_reach_the_upstream_as_one_line_and_the_session_is_read_from_any() {
    let h = Harness::start().await;
    let good = token(&claims());
    let session = format!("__session={good}");
    let authority = h.client.addr.to_string();
    let block = h2raw::block(
        "GET",
        "/dashboard",
        &authority,
        &[
            (b"cookie", b"theme=dark"),
            (b"cookie", session.as_bytes()),
            (b"cookie", b"__session=later.ignored.value"),
        ],
    );
    let answer = h2_exchange(&h, &block).await;
    assert_eq!(answer.status, Some(200), "{answer:?}");
    let seen = h.echo.last().expect("forwarded");
    assert_eq!(
        seen.header_all("cookie"),
        vec![format!("theme=dark; {session}; __session=later.ignored.value").as_str()],
        "one Cookie line, fields joined with \"; \" in order"
    );
    assert_eq!(seen.header("x-user-id").as_deref(), Some("user_1"));
}

#[tokio::test]
async fn envoy_iis_and_aspnet_routing_headers_from_an_untrusted_peer_are_removed() {
    let h = Harness::start().await;
    let spoofs = [
        ("x-envoy-original-path", "/admin"),
        ("x-envoy-original-dst-host", "10.0.0.9:8080"),
        ("x-envoy-internal", "true"),
        ("x-original-host", "admin.internal"),
        ("x-original-path", "/admin"),
        ("x-original-method", "DELETE"),
        ("x-forwarded-method", "DELETE"),
        ("x-http-destinationurl", "http://admin.internal/admin"),
        ("x-host", "admin.internal"),
        ("x-http-host-override", "admin.internal"),
        ("x-replaced-path", "/admin"),
        ("x-forwarded-client-cert", "Subject=\"CN=admin\""),
        ("x-forwarded-uri", "/admin"),
        ("x-forwarded-prefix", "/admin"),
    ];
    let mut req = h.client.request("GET", "/public/x");
    for (n, v) in spoofs {
        req = req.with_header(n, v);
    }
    assert_eq!(h.client.send(req).await.status, 200);
    let seen = h.echo.last().expect("forwarded");
    let leaked: Vec<_> = spoofs
        .iter()
        .filter(|(n, _)| !seen.header_all(n).is_empty())
        .map(|(n, _)| *n)
        .collect();
    assert!(
        leaked.is_empty(),
        "forwarded from an untrusted peer: {leaked:?}"
    );
    // The same over raw HTTP/1.1 with underscore spellings.
    let request = "GET /public/y HTTP/1.1\r\nHost: shop.test\r\nX_Envoy_Original_Path: /admin\r\n\
         X_Original_Host: admin.internal\r\nConnection: close\r\n\r\n";
    let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    let seen = h.echo.last().expect("forwarded");
    assert_eq!(seen.target, "/public/y");
    assert!(
        !seen.headers.iter().any(|(_, v)| v.contains("admin")),
        "{:?}",
        seen.headers
    );
}
