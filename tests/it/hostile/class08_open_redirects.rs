//! Class 8: open redirects. Every `Location` doorman builds stays on this site: the return
//! path (`redirect_url`) always starts with exactly one `/`, whatever encoding, control
//! character or absolute form the attacker chose; an unsafe one is dropped, never repaired.

use std::time::Duration;

use super::raw;
use crate::support::{assert_nothing_forwarded, claims, token, Harness, RequestExt};

/// True when a browser resolving `location` against `https://shop.test/x` stays on
/// `shop.test`: a path-absolute reference with exactly one leading slash, no backslash and
/// no control or whitespace characters (which browsers strip).
fn stays_on_site(location: &str) -> bool {
    let b = location.as_bytes();
    b.first() == Some(&b'/')
        && !matches!(b.get(1), Some(b'/' | b'\\'))
        && !location
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
}

/// The decoded `redirect_url` parameter of a location, if any.
fn redirect_param(location: &str) -> Option<String> {
    let query = location.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "redirect_url").then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

const EVIL_RETURNS: &[&str] = &[
    "//evil.example",
    "//evil.example/dashboard",
    "/\\evil.example",
    "\\/evil.example",
    "\\\\evil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d/evil.example",
    "/%20/evil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "https://evil.example",
    "https:evil.example",
    "http://evil.example/dashboard",
    "evil.example",
    "javascript:alert(1)",
    "data:text/html,hi",
    "%252F%252Fevil.example",
    "///evil.example",
    " //evil.example",
];

#[tokio::test]
async fn return_paths_to_other_sites_are_dropped_after_onboarding() {
    // An onboarded user on an `incomplete_only` page is sent on to the safe `redirect_url`
    // it came with, else `after_onboarding_url`.
    let h = Harness::start().await;
    let jwt = token(&claims());
    for evil in EVIL_RETURNS {
        let encoded =
            percent_encoding::utf8_percent_encode(evil, percent_encoding::NON_ALPHANUMERIC);
        for query in [
            format!("redirect_url={encoded}"),
            format!("redirect_url={}", evil.replace(' ', "%20")),
        ] {
            let path = format!("/onboarding?{query}");
            if format!("http://x{path}").parse::<http::Uri>().is_err() {
                continue; // not a valid request target when unencoded
            }
            let req = h.client.request("GET", &path);
            let reply = h.client.send(req.bearer(&jwt).navigate()).await;
            assert_eq!(reply.status, 302, "{path}: {}", reply.text());
            let location = reply.header("location").unwrap_or_default();
            assert_eq!(location, "/dashboard", "{path} → {location}");
        }
    }
    assert_nothing_forwarded(&h, 0, "after-onboarding redirects");
}

#[tokio::test]
async fn a_safe_return_path_is_kept_and_only_the_first_parameter_counts() {
    let h = Harness::start().await;
    let jwt = token(&claims());
    for (query, want) in [
        (
            "redirect_url=%2Fprojects%2F42%3Ftab%3Dfiles",
            "/projects/42?tab=files",
        ),
        ("redirect_url=/ok&redirect_url=//evil.example", "/ok"),
        ("redirect_url=//evil.example&redirect_url=/ok", "/dashboard"),
        ("REDIRECT_URL=//evil.example", "/dashboard"),
        ("redirect_url=/onboarding/step2", "/dashboard"),
        ("redirect_url=", "/dashboard"),
    ] {
        let path = format!("/onboarding?{query}");
        let reply = h
            .client
            .send(h.client.request("GET", &path).bearer(&jwt).navigate())
            .await;
        assert_eq!(reply.status, 302, "{path}");
        let location = reply.header("location").unwrap();
        assert_eq!(location, want, "{path}");
        assert!(stays_on_site(location), "{location}");
    }
}

#[tokio::test]
async fn sign_in_redirects_carry_only_the_validated_path_never_a_host() {
    let h = Harness::start().await;
    let before = h.echo.count();
    // Absolute-form request target: the host never reaches redirect_url.
    for (target, host) in [
        ("http://evil.example/dashboard", "evil.example"),
        ("https://evil.example/dashboard?x=1", "evil.example"),
        ("http://shop.test/dashboard", "shop.test"),
    ] {
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: {host}\r\nSec-Fetch-Mode: navigate\r\nConnection: close\r\n\r\n"
        );
        let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(3)).await;
        assert_eq!(answer.status(), Some(302), "{target}: {}", answer.text);
        let location = answer.header("location").unwrap();
        assert!(stays_on_site(&location), "{target} → {location}");
        assert!(!location.contains("evil"), "{target} → {location}");
        let back = redirect_param(&location).unwrap();
        assert!(back.starts_with("/dashboard"), "{target} → {back}");
    }
    assert_nothing_forwarded(&h, before, "absolute-form pages");
}

#[tokio::test]
async fn encoded_control_characters_in_the_query_drop_the_return_path() {
    let h = Harness::start().await;
    for query in [
        "x=%0d%0aSet-Cookie:%20a=b",
        "x=%0aLocation:%20//evil.example",
        "next=%09//evil.example",
        "x=%00",
        "x=%5C%5Cevil.example",
    ] {
        let path = format!("/dashboard?{query}");
        let reply = h
            .client
            .send(h.client.request("GET", &path).navigate())
            .await;
        assert_eq!(reply.status, 302, "{path}");
        let location = reply.header("location").unwrap();
        assert_eq!(location, "/sign-in", "{path} → {location}");
        assert!(reply.header("set-cookie").is_none(), "{path}");
        assert_eq!(reply.headers.get_all("location").iter().count(), 1);
    }
    // An ordinary query is kept, encoded as one parameter.
    let reply = h
        .client
        .send(
            h.client
                .request("GET", "/dashboard?next=//evil.example&a=1")
                .navigate(),
        )
        .await;
    let location = reply.header("location").unwrap();
    assert!(stays_on_site(location), "{location}");
    assert_eq!(
        redirect_param(location).as_deref(),
        Some("/dashboard?next=//evil.example&a=1")
    );
    assert!(
        !location.contains("&a=1"),
        "the query leaked out of the parameter: {location}"
    );
    assert_nothing_forwarded(&h, 0, "sign-in redirects");
}

#[tokio::test]
async fn onboarding_redirects_keep_the_return_path_on_site() {
    let h = Harness::start().await;
    let not_onboarded = token(&crate::support::with(
        claims(),
        "/metadata/onboarding/status",
        serde_json::json!("in_progress"),
    ));
    for path in [
        "/dashboard?redirect_url=//evil.example",
        "/dashboard/x?next=https://evil.example",
        "/search/advanced?q=%2F%2Fevil",
    ] {
        let reply = h
            .client
            .send(
                h.client
                    .request("GET", path)
                    .bearer(&not_onboarded)
                    .navigate(),
            )
            .await;
        assert_eq!(reply.status, 302, "{path}");
        let location = reply.header("location").unwrap();
        assert!(location.starts_with("/onboarding"), "{path} → {location}");
        assert!(stays_on_site(location), "{path} → {location}");
        let back = redirect_param(location).unwrap_or_default();
        assert!(back.is_empty() || stays_on_site(&back), "{path} → {back}");
        assert!(
            back.is_empty() || back.starts_with(path.split('?').next().unwrap()),
            "{back}"
        );
    }
    // And the onboarding page, reached with a hostile return path, does not bounce anywhere.
    let reply = h
        .client
        .send(
            h.client
                .request("GET", "/onboarding?redirect_url=//evil.example")
                .bearer(&not_onboarded)
                .navigate(),
        )
        .await;
    assert_eq!(
        reply.status, 200,
        "the onboarding page is served to the unfinished user"
    );
    assert_eq!(
        h.echo.last().unwrap().target,
        "/onboarding?redirect_url=//evil.example"
    );
}

#[tokio::test]
async fn post_redirects_are_303_and_equally_safe() {
    let h = Harness::start().await;
    let jwt = token(&claims());
    let reply = h
        .client
        .send(
            h.client
                .request("POST", "/onboarding?redirect_url=%2F%2Fevil.example")
                .bearer(&jwt)
                .navigate(),
        )
        .await;
    assert_eq!(reply.status, 303);
    assert_eq!(reply.header("location"), Some("/dashboard"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let reply = h
        .client
        .send(
            h.client
                .request("POST", "/dashboard?x=%2F%2Fevil")
                .navigate(),
        )
        .await;
    assert_eq!(reply.status, 303);
    let location = reply.header("location").unwrap();
    assert!(stays_on_site(location), "{location}");
    assert_nothing_forwarded(&h, 0, "POST redirects");
}
