//! The handshake rules as tables.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method};

use super::*;
use crate::decision::HandshakeReason;
use crate::request::is_document_request;
use crate::token::claims::Identity;

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_static(v));
    }
    h
}

type DocumentCase = (Method, &'static [(&'static str, &'static str)], bool);
/// name, auth, __client_uat, redirect count, document?, header token?, expected outcome.
type AssessRow = (
    &'static str,
    Auth,
    Option<i64>,
    u32,
    bool,
    bool,
    &'static str,
);

#[test]
fn document_requests_follow_clerks_rule() {
    let cases: &[DocumentCase] = &[
        (Method::GET, &[("sec-fetch-dest", "document")], true),
        (Method::GET, &[("sec-fetch-dest", "iframe")], true),
        (Method::HEAD, &[("sec-fetch-dest", "document")], true),
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
        (Method::GET, &[("accept", "*/*, text/html")], false),
        (Method::GET, &[], false),
        (Method::POST, &[("sec-fetch-dest", "document")], false),
    ];
    for (method, pairs, want) in cases {
        let mut h = HeaderMap::new();
        for (k, v) in pairs.iter() {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        assert_eq!(is_document_request(method, &h), *want, "{method} {pairs:?}");
    }
}

fn identity(iat: i64) -> Auth {
    Auth::Valid(Arc::new(Identity {
        user_id: "user_1".into(),
        session_id: "sess_1".into(),
        onboarding_complete: true,
        expires_at: iat + 60,
        issued_at: Some(iat),
        ..Identity::default()
    }))
}

fn cookies(client_uat: Option<i64>, redirect_count: u32) -> ClerkCookies<'static> {
    ClerkCookies {
        session_name: "__session".into(),
        suffixed: false,
        client_uat,
        redirect_count,
    }
}

fn outcome(a: &Auth) -> String {
    match a {
        Auth::Anonymous => "anonymous".into(),
        Auth::Valid(_) => "valid".into(),
        Auth::Invalid(e) => format!("invalid:{}", e.as_str()),
        Auth::Refresh { reason } => format!("refresh:{reason}"),
        Auth::SignedOut { reason } => format!("signed_out:{reason}"),
    }
}

#[test]
fn assess_table() {
    let rows: Vec<AssessRow> = vec![
        (
            "expired_with_client",
            Auth::Invalid(TokenError::Expired),
            Some(100),
            0,
            true,
            false,
            "refresh:session-token-expired",
        ),
        (
            "nbf_with_client",
            Auth::Invalid(TokenError::NotYetValid),
            Some(100),
            0,
            true,
            false,
            "refresh:session-token-nbf",
        ),
        (
            "iat_future_with_client",
            Auth::Invalid(TokenError::IssuedInFuture),
            Some(100),
            0,
            true,
            false,
            "refresh:session-token-iat-in-the-future",
        ),
        (
            "missing_with_client",
            Auth::Anonymous,
            Some(100),
            0,
            true,
            false,
            "refresh:client-uat-but-no-session-token",
        ),
        (
            "stale_valid_token",
            identity(90),
            Some(100),
            0,
            true,
            false,
            "refresh:session-token-iat-before-client-uat",
        ),
        (
            "fresh_valid_token",
            identity(100),
            Some(100),
            0,
            true,
            false,
            "valid",
        ),
        (
            "signed_out_client",
            Auth::Invalid(TokenError::Expired),
            Some(0),
            0,
            true,
            false,
            "invalid:expired",
        ),
        (
            "no_client_uat",
            Auth::Anonymous,
            None,
            0,
            true,
            false,
            "anonymous",
        ),
        (
            "not_a_document",
            Auth::Invalid(TokenError::Expired),
            Some(100),
            0,
            false,
            false,
            "invalid:expired",
        ),
        (
            "header_token",
            Auth::Invalid(TokenError::Expired),
            Some(100),
            0,
            true,
            true,
            "invalid:expired",
        ),
        (
            "bad_signature_never_refreshes",
            Auth::Invalid(TokenError::BadSignature),
            Some(100),
            0,
            true,
            false,
            "invalid:bad_signature",
        ),
        (
            "loop_limit",
            Auth::Invalid(TokenError::Expired),
            Some(100),
            3,
            true,
            false,
            "signed_out:handshake_limit",
        ),
        (
            "below_limit",
            Auth::Invalid(TokenError::Expired),
            Some(100),
            2,
            true,
            false,
            "refresh:session-token-expired",
        ),
    ];
    for (name, auth, uat, count, document, header, want) in rows {
        let got = outcome(&assess(auth, &cookies(uat, count), document, header));
        assert_eq!(got, want, "{name}");
    }
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
    let loc = location(
        &config(),
        "https://shop.example/dashboard?tab=1",
        HandshakeReason::SessionTokenExpired,
        true,
    );
    assert_eq!(
        loc,
        "https://clerk.example.com/v1/client/handshake?redirect_url=https%3A%2F%2Fshop.example%2Fdashboard%3Ftab%3D1&__clerk_api_version=2025-04-10&suffixed_cookies=true&__clerk_hs_reason=session-token-expired&format=nonce"
    );
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
