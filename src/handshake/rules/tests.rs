//! Clerk's request rules as tables.

use http::{HeaderMap, HeaderValue, Method};

use super::*;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

#[test]
fn only_get_navigations_may_be_redirected_to_the_handshake() {
    type Case = (Method, &'static [(&'static str, &'static str)], bool);
    let cases: &[Case] = &[
        (Method::GET, &[("sec-fetch-dest", "document")], true),
        (Method::GET, &[("sec-fetch-dest", "iframe")], true),
        (
            Method::GET,
            &[("accept", "text/html,application/xhtml+xml")],
            true,
        ),
        (
            Method::GET,
            &[("sec-fetch-dest", "empty"), ("accept", "text/html")],
            false,
        ),
        (Method::GET, &[("accept", "application/json")], false),
        (Method::GET, &[], false),
        // The Frontend API answers GET only: HEAD and form posts are signed out instead.
        (Method::HEAD, &[("sec-fetch-dest", "document")], false),
        (Method::POST, &[("sec-fetch-dest", "document")], false),
    ];
    for (method, pairs, want) in cases {
        assert_eq!(
            eligible(method, &headers(pairs)),
            *want,
            "{method} {pairs:?}"
        );
    }
}

#[test]
fn another_authorization_scheme_means_read_the_cookies() {
    for (value, want) in [
        ("Basic dXNlcjpwYXNz", true),
        ("Digest x", true),
        ("Bearer a.b.c", false),
        ("bearer a.b.c", false),
        ("a.b.c", false),
        ("Bearer", false),
    ] {
        let h = headers(&[("authorization", value)]);
        assert_eq!(authorization_is_another_scheme(&h), want, "{value}");
    }
    let two = headers(&[("authorization", "Basic x"), ("authorization", "Basic y")]);
    assert!(!authorization_is_another_scheme(&two));
}

#[test]
fn cross_origin_navigations_sync_unless_the_referrer_is_clerk() {
    let prod = Site {
        origin: "https://app.example.com",
        frontend_api_host: "clerk.example.com",
        development: false,
    };
    let dev = Site {
        origin: "https://app.example.com",
        frontend_api_host: "happy-cat-1.clerk.accounts.dev",
        development: true,
    };
    let nav = |referer: &str| headers(&[("sec-fetch-dest", "document"), ("referer", referer)]);
    let cases: &[(&Site<'_>, &str, bool)] = &[
        (&prod, "https://elsewhere.example/x", true),
        (&prod, "https://app.example.com/other", false),
        (&prod, "https://APP.example.com:443/other", false),
        (&prod, "http://app.example.com/other", true),
        (&prod, "https://clerk.example.com/v1/client", false),
        (&prod, "https://accounts.example.com/sign-in", false),
        (&prod, "https://accounts.example.com.evil.example/", true),
        (&prod, "https://happy-cat-1.accounts.dev/sign-in", true),
        (&prod, "not a url", false),
        (&dev, "https://happy-cat-1.accounts.dev/sign-in", false),
        (&dev, "https://accounts.foo.lcl.dev/", false),
        (&dev, "https://x.clerk.accounts.dev/", true),
        (&dev, "https://elsewhere.example/", true),
    ];
    for (site, referer, want) in cases {
        assert_eq!(
            cross_origin_sync(&Method::GET, &nav(referer), site, 0),
            *want,
            "{referer} ({})",
            site.frontend_api_host
        );
    }
    let from_elsewhere = nav("https://elsewhere.example/");
    assert!(!cross_origin_sync(&Method::GET, &from_elsewhere, &prod, 1));
    assert!(!cross_origin_sync(&Method::POST, &from_elsewhere, &prod, 0));
    let iframe = headers(&[
        ("sec-fetch-dest", "iframe"),
        ("referer", "https://e.example/"),
    ]);
    assert!(!cross_origin_sync(&Method::GET, &iframe, &prod, 0));
}

#[test]
fn accounts_host_follows_clerks_build_accounts_base_url() {
    for (fapi, want) in [
        ("clerk.example.com", "accounts.example.com"),
        ("happy-cat-1.clerk.accounts.dev", "happy-cat-1.accounts.dev"),
        ("x.clerk.accountsstage.dev", "x.accountsstage.dev"),
        ("auth.example.com", "auth.example.com"),
    ] {
        assert_eq!(accounts_host(fapi), want, "{fapi}");
    }
}

#[test]
fn dev_browser_parameters_leave_the_return_url() {
    for (given, want) in [
        ("/a?__clerk_db_jwt=x&b=1", "/a?b=1"),
        ("/a?b=1&__dev_session=y", "/a?b=1"),
        ("/a?__clerk_db_jwt=x", "/a"),
        ("/a?b=1", "/a?b=1"),
        ("/a", "/a"),
    ] {
        assert_eq!(without_dev_browser(given), want, "{given}");
    }
}
