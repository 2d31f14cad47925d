//! Class 5: path confusion. Dot segments, encoded separators, double encoding, empty
//! segments, `;` parameters, case variants, trailing dots, NUL and control bytes, Unicode
//! look-alikes of `/`, `.` and `\`, absolute-form targets, and the query or fragment trying
//! to steer the route. Ambiguous paths get 400 `path_*` and never reach the upstream; what
//! is matched is what is forwarded.

use std::time::Duration;

use super::raw;
use crate::support::{assert_nothing_forwarded, claims, outcome, refused, token, Harness};

/// Sends each path anonymously (HTTP/1.1 and HTTP/2) and expects 400 with `reason`.
async fn expect_400(h: &Harness, reason: &str, paths: &[&str]) {
    let before = h.echo.count();
    for path in paths {
        let reply = h.client.get(path).await;
        assert_eq!(
            outcome(&reply),
            refused(400, reason),
            "{path} over HTTP/1.1"
        );
        assert_eq!(
            reply.header("connection"),
            Some("close"),
            "{path}: connection kept"
        );
        let reply = h.client.send_h2(h.client.request("GET", path)).await;
        assert_eq!(outcome(&reply), refused(400, reason), "{path} over HTTP/2");
        // A valid token changes nothing.
        let reply = h.client.api("GET", path, &token(&claims())).await;
        assert_eq!(outcome(&reply), refused(400, reason), "{path} with a token");
    }
    assert_nothing_forwarded(h, before, reason);
}

/// Sends raw request lines and expects a 400 (from hyper or doorman) and nothing forwarded.
async fn expect_raw_400(h: &Harness, targets: &[&[u8]]) {
    let before = h.echo.count();
    for target in targets {
        let mut request = b"GET ".to_vec();
        request.extend_from_slice(target);
        request.extend_from_slice(b" HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n");
        let answer = raw(h.client.addr, &request, Duration::from_secs(5)).await;
        assert_eq!(
            answer.status(),
            Some(400),
            "{:?}: {}",
            String::from_utf8_lossy(target),
            answer.text
        );
        assert!(
            answer.closed,
            "{:?}: connection kept open",
            String::from_utf8_lossy(target)
        );
    }
    assert_nothing_forwarded(h, before, "raw ambiguous targets");
}

#[tokio::test]
async fn dot_segments_literal_and_encoded_are_refused() {
    let h = Harness::start().await;
    expect_400(
        &h,
        "path_dot_segment",
        &[
            "/public/../admin",
            "/public/./admin",
            "/public/%2e%2e/admin",
            "/public/%2E%2E/admin",
            "/public/.%2e/admin",
            "/public/%2e./admin",
            "/public/%2e/admin",
            "/public/..",
            "/..",
            "/public/x/../../admin/",
        ],
    )
    .await;
}

#[tokio::test]
async fn encoded_slashes_and_backslashes_are_refused() {
    let h = Harness::start().await;
    expect_400(
        &h,
        "path_encoded_slash",
        &[
            "/public%2F..%2Fadmin",
            "/public%2fadmin",
            "/public/..%2Fadmin",
            "/public/x%2F",
        ],
    )
    .await;
    expect_400(
        &h,
        "path_backslash",
        &["/public/%5C..%5Cadmin", "/public/%5cadmin", "/public%5C"],
    )
    .await;
    // A literal backslash cannot be sent by an HTTP client: raw bytes.
    expect_raw_400(&h, &[b"/public\\..\\admin", b"/public/x\\", b"\\admin"]).await;
}

#[tokio::test]
async fn double_encoding_is_refused() {
    let h = Harness::start().await;
    expect_400(
        &h,
        "path_double_encoding",
        &[
            "/public/%252e%252e/admin",
            "/public%252Fadmin",
            "/public/%255C",
            "/%2525",
        ],
    )
    .await;
}

#[tokio::test]
async fn empty_segments_are_refused() {
    let h = Harness::start().await;
    expect_400(
        &h,
        "path_empty_segment",
        &["//admin", "/public//admin", "/public///x", "//public/x"],
    )
    .await;
}

#[tokio::test]
async fn semicolon_path_parameters_are_refused() {
    let h = Harness::start().await;
    expect_400(
        &h,
        "path_semicolon",
        &[
            "/admin;x",
            "/public;/../admin",
            "/public/x;jsessionid=1",
            "/public/%3B/admin",
            "/public/%3b",
        ],
    )
    .await;
}

#[tokio::test]
async fn trailing_dots_and_spaces_are_refused() {
    let h = Harness::start().await;
    expect_400(
        &h,
        "path_trailing_dot",
        &[
            "/admin.",
            "/admin./x",
            "/admin%2e",
            "/public/x.",
            "/admin.../x",
        ],
    )
    .await;
    expect_400(
        &h,
        "path_trailing_space",
        &["/admin%20", "/admin%20/x", "/public/x%20"],
    )
    .await;
}

#[tokio::test]
async fn nul_and_control_bytes_are_refused() {
    let h = Harness::start().await;
    expect_400(
        &h,
        "path_nul",
        &["/public/%00/../admin", "/admin%00.html", "/%00"],
    )
    .await;
    expect_400(
        &h,
        "path_control_char",
        &[
            "/public/%0a",
            "/public/%0d%0aX-User-Id:%20admin",
            "/public/%09",
            "/public/%7f",
            "/public/%1b",
        ],
    )
    .await;
    expect_raw_400(&h, &[b"/public/\0/x", b"/public/\x7f", b"/public/\tx"]).await;
}

#[tokio::test]
async fn invalid_percent_encoding_and_overlong_utf8_are_refused() {
    let h = Harness::start().await;
    expect_400(
        &h,
        "path_bad_percent_encoding",
        &["/public/%zz", "/public/%", "/public/%2", "/admin%g1"],
    )
    .await;
    // Overlong UTF-8 for `.` and `/`: decoders that accept them turn these into `../`.
    expect_400(
        &h,
        "path_invalid_utf8",
        &[
            "/public/%c0%ae%c0%ae/admin",
            "/public/%c0%af",
            "/public/%e0%80%ae",
            "/public/%C3%28",
        ],
    )
    .await;
}

#[tokio::test]
async fn unicode_lookalikes_of_slash_dot_and_backslash_are_refused() {
    // An upstream applying NFKC would read `/public/../admin/…`, or `/admin` for full-width
    // letters, after doorman matched a public rule.
    let paths = [
        "/public/..%EF%BC%8Fadmin/users",
        "/public/%EF%BC%8E%EF%BC%8E/admin/users",
        "/public/%E2%80%A5/admin/users",
        "/public/%E2%80%A6/admin",
        "/public/%EF%B9%92%EF%B9%92/admin/users",
        "/public/..%EF%BC%BCadmin",
        "/public/..%EF%B9%A8admin",
        "/%EF%BD%81%EF%BD%84%EF%BD%8D%EF%BD%89%EF%BD%8E/users",
    ];
    let h = Harness::start().await;
    expect_400(&h, "path_unicode_lookalike", &paths).await;
}

#[tokio::test]
async fn ordinary_non_ascii_paths_are_forwarded_as_sent() {
    let h = Harness::start().await;
    for path in [
        "/public/caf%C3%A9",
        "/public/cafe%CC%81",
        "/public/%E6%97%A5%E6%9C%AC%E8%AA%9E",
        "/public/%EF%BD%B6%EF%BE%85",
    ] {
        let reply = h.client.get(path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(h.echo.last().unwrap().target, path);
    }
}

#[tokio::test]
async fn case_variants_are_decided_by_the_rule_they_spell() {
    let h = Harness::start().await;
    let member = token(&claims());
    let before = h.echo.count();
    for path in [
        "/ADMIN",
        "/Admin/users",
        "/aDmIn/x",
        "/%41dmin",
        "/%61dmin/x",
        "/ADMIN/",
    ] {
        let reply = h.client.api("GET", path, &member).await;
        assert_eq!(outcome(&reply), refused(403, "role_missing"), "{path}");
        let reply = h.client.get(path).await;
        assert_eq!(
            outcome(&reply),
            refused(401, "token_missing"),
            "{path} anonymous"
        );
    }
    for path in ["/CLOSED", "/Closed/x", "/%43losed"] {
        let reply = h.client.api("GET", path, &member).await;
        assert_eq!(outcome(&reply), refused(403, "route_denied"), "{path}");
    }
    assert_nothing_forwarded(&h, before, "case variants of protected paths");
    // `/administrator` is not under `/admin/**`: the defaults decide (signed in), not admin.
    assert_eq!(
        h.client.api("GET", "/administrator", &member).await.status,
        200
    );
    assert_eq!(h.echo.last().unwrap().target, "/administrator");
}

#[tokio::test]
async fn absolute_form_targets_are_routed_by_their_path_and_their_host_checked() {
    let h = Harness::start().await;
    let before = h.echo.count();
    let send = |target: &str, host: &str| {
        let request = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let addr = h.client.addr;
        async move { raw(addr, request.as_bytes(), Duration::from_secs(5)).await }
    };
    let answer = send("http://shop.test/admin", "shop.test").await;
    assert_eq!(
        (answer.status(), answer.reason()),
        (Some(401), "token_missing".into()),
        "{}",
        answer.text
    );
    let answer = send("https://shop.test/closed/x", "shop.test").await;
    assert_eq!(answer.status(), Some(403), "{}", answer.text);
    let answer = send("http://evil.example/public/x", "shop.test").await;
    assert_eq!(
        (answer.status(), answer.reason()),
        (Some(400), "host_mismatch".into()),
        "{}",
        answer.text
    );
    let answer = send("http://shop.test/public/../admin", "shop.test").await;
    assert_eq!(
        (answer.status(), answer.reason()),
        (Some(400), "path_dot_segment".into()),
        "{}",
        answer.text
    );
    let answer = send("http://shop.test/public%2F..%2Fadmin", "shop.test").await;
    assert_eq!(
        (answer.status(), answer.reason()),
        (Some(400), "path_encoded_slash".into()),
        "{}",
        answer.text
    );
    assert_nothing_forwarded(&h, before, "absolute-form attacks");
    // A benign absolute-form target is forwarded as the path that was matched.
    let answer = send("http://shop.test/public/x?q=1", "shop.test").await;
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    assert_eq!(h.echo.last().unwrap().target, "/public/x?q=1");
}

#[tokio::test]
async fn the_query_and_fragment_never_influence_the_route() {
    let h = Harness::start().await;
    let before = h.echo.count();
    for path in [
        "/admin?/public/x",
        "/admin?x=/../public",
        "/admin?path=/public",
        "/admin%23/public/x",
        "/admin%3F/public/x",
        "/admin%23",
    ] {
        let reply = h.client.get(path).await;
        assert_eq!(outcome(&reply), refused(401, "token_missing"), "{path}");
    }
    let reply = h.client.get("/closed/x?/public/x").await;
    assert_eq!(reply.status, 403);
    assert_nothing_forwarded(&h, before, "query or fragment steering");
    // A raw `#` in the target: the fragment is dropped, the route is /admin.
    let answer = raw(
        h.client.addr,
        b"GET /admin#/public/x HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        (answer.status(), answer.reason()),
        (Some(401), "token_missing".to_string()),
        "{}",
        answer.text
    );
    assert_nothing_forwarded(&h, before, "raw fragment");
    let answer = raw(
        h.client.addr,
        b"GET /public/x#/../../admin HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    // Matched as /public/x, and forwarded as exactly that: the fragment never travels.
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    assert_eq!(h.echo.last().unwrap().target, "/public/x");
}

#[tokio::test]
async fn what_is_matched_is_exactly_what_is_forwarded() {
    let h = Harness::start().await;
    let jwt = token(&claims());
    for target in [
        "/public/caf%C3%A9",
        "/PUBLIC/X",
        "/api/projects/%31",
        "/public/x/",
        "/public/a%20b",
        "/public/x?a=%2F..%2F&b=../..",
        "/public/%7Euser",
        "/dashboard/@me/(x)",
    ] {
        let reply = h.client.api("GET", target, &jwt).await;
        assert_eq!(reply.status, 200, "{target}: {}", reply.text());
        assert_eq!(
            h.echo.last().unwrap().target,
            target,
            "forwarded path differs"
        );
        let reply = h.client.send_h2(h.client.request("GET", target)).await;
        if reply.status == 200 {
            assert_eq!(
                h.echo.last().unwrap().target,
                target,
                "forwarded path differs (h2)"
            );
        }
    }
}
