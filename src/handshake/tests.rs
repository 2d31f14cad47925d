//! The handshake redirect's parts as tables (Clerk's rules are tested in `rules` and
//! `cookies`).

use std::time::Duration;

use http::{HeaderMap, HeaderValue};

use super::*;
use crate::decision::HandshakeReason;

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_static(v));
    }
    h
}

fn config() -> Handshake {
    Handshake {
        frontend_api: "https://clerk.example.com".into(),
        api_url: "https://api.clerk.com".into(),
        secret_key: "sk_test_x".into(),
        app_origin: None,
        timeout: Duration::from_secs(5),
    }
}

#[test]
fn handshake_location_carries_clerks_parameters() {
    let mut r = HandshakeRendering {
        current_url: "https://shop.example/dashboard?tab=1".into(),
        suffixed: true,
        redirect_count: 0,
        session_token: None,
        dev_browser: None,
        origin: None,
    };
    assert_eq!(
        location(&config(), &r, HandshakeReason::SessionTokenExpired),
        "https://clerk.example.com/v1/client/handshake?redirect_url=https%3A%2F%2Fshop.example%2Fdashboard%3Ftab%3D1&__clerk_api_version=2026-05-12&suffixed_cookies=true&__clerk_hs_reason=session-token-expired-refresh-non-eligible-no-refresh-cookie&format=nonce"
    );
    r.session_token = Some("a.b.c".into());
    r.dev_browser = Some("dvb 1".into());
    assert!(location(&config(), &r, HandshakeReason::DevBrowserSync)
        .ends_with("&__clerk_hs_reason=dev-browser-sync&format=nonce&__session=a.b.c&__clerk_db_jwt=dvb%201"));
}

#[test]
fn counter_cookie_counts_up_and_expires_fast() {
    assert_eq!(
        counter_cookie(0),
        "__clerk_redirect_count=1; Path=/; SameSite=Lax; HttpOnly; Max-Age=2"
    );
    assert!(counter_cookie(2).starts_with("__clerk_redirect_count=3;"));
    assert!(counter_cookie(u32::MAX).starts_with(&format!("__clerk_redirect_count={};", u32::MAX)));
}

#[test]
fn request_url_prefers_the_configured_origin_then_trusted_proto() {
    let mut c = config();
    assert_eq!(
        request_url(&c, Some("shop.example"), None, "/a?b"),
        "http://shop.example/a?b"
    );
    assert_eq!(
        request_url(&c, Some("shop.example"), Some("https"), "/a"),
        "https://shop.example/a"
    );
    c.app_origin = Some("https://www.shop.example".into());
    assert_eq!(
        request_url(&c, Some("evil.example"), None, "/a"),
        "https://www.shop.example/a"
    );
}

#[test]
fn nonce_comes_from_the_query_then_the_cookie() {
    let h = headers(&[("cookie", "__clerk_handshake_nonce=from-cookie")]);
    assert_eq!(
        nonce(Some("x=1&__clerk_handshake_nonce=abc%2D1"), &h).as_deref(),
        Some("abc-1")
    );
    assert_eq!(nonce(Some("x=1"), &h).as_deref(), Some("from-cookie"));
    assert_eq!(nonce(None, &HeaderMap::new()), None);
    assert_eq!(
        nonce(Some("__clerk_handshake_nonce="), &HeaderMap::new()),
        None
    );
}
