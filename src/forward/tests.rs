//! The request head the upstream sees, built without a socket: what is removed, what is set,
//! and that the one-pass cleaner removes exactly what the rules name.

use std::net::IpAddr;

use http::{HeaderName, HeaderValue, Request};

use super::*;
use crate::config::Config;

const CONFIG: &str = r#"
[server]
trusted_proxies = ["10.0.0.0/8"]
[clerk]
issuer = "https://clerk.example.com"
jwks_url = "https://clerk.example.com/.well-known/jwks.json"
[headers]
strip = ["X-Internal-Secret"]
[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"
"#;

fn config() -> Config {
    Config::parse(CONFIG, "test.toml", &|_| None).expect("test config")
}

fn parts(headers: &[(&str, &str)]) -> Parts {
    let mut req = Request::builder().uri("/x?y=1");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.body(()).unwrap().into_parts().0
}

fn prepared(
    headers: &[(&str, &str)],
    peer: &str,
    identity: Option<&[(HeaderName, HeaderValue)]>,
) -> HeaderMap {
    let mut p = parts(headers);
    prepare(
        &mut p,
        identity,
        peer.parse::<IpAddr>().unwrap(),
        false,
        &config(),
    );
    assert_eq!(p.version, Version::HTTP_11);
    p.headers
}

fn all<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect()
}

#[test]
fn spoofable_headers_are_removed_in_any_spelling() {
    let spoofs = [
        ("x-user-id", "user_admin"),
        ("X_User_Id", "user_underscore"),
        ("x-user-roles", "admin"),
        ("x_user_permissions", "admin"),
        ("X-Onboarding-Status", "completed"),
        ("x-internal-secret", "from-strip-list"),
        ("x_internal_secret", "underscored"),
        ("x-http-method-override", "DELETE"),
        ("x-method-override", "DELETE"),
        ("x-http-method", "DELETE"),
    ];
    let h = prepared(&spoofs, "192.0.2.7", None);
    for (name, _) in spoofs {
        assert!(h.get(name).is_none(), "{name} survived");
    }
}

#[test]
fn hop_by_hop_and_connection_named_headers_are_removed() {
    let h = prepared(
        &[
            ("connection", "keep-alive, x-keep-me-not, X-User-Id"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("trailer", "x"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic eA=="),
            ("proxy-connection", "keep-alive"),
            ("x-keep-me-not", "1"),
            ("x-keep-me", "1"),
        ],
        "192.0.2.7",
        None,
    );
    for name in [
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
        "x-keep-me-not",
    ] {
        assert!(h.get(name).is_none(), "{name} survived");
    }
    assert_eq!(all(&h, "x-keep-me"), ["1"]);
}

#[test]
fn identity_headers_are_added_last_and_replace_every_copy() {
    let identity = [
        (
            HeaderName::from_static("x-user-id"),
            HeaderValue::from_static("user_1"),
        ),
        (
            HeaderName::from_static("x-user-roles"),
            HeaderValue::from_static("member"),
        ),
    ];
    let h = prepared(
        &[("x-user-id", "user_admin"), ("x-user-id", "user_admin2")],
        "192.0.2.7",
        Some(&identity),
    );
    assert_eq!(all(&h, "x-user-id"), ["user_1"]);
    assert_eq!(all(&h, "x-user-roles"), ["member"]);
}

#[test]
fn forwarding_headers_from_untrusted_peers_are_replaced() {
    let h = prepared(
        &[
            ("host", "shop.example"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
            ("forwarded", "for=1.2.3.4"),
            ("x-real-ip", "1.2.3.4"),
        ],
        "192.0.2.7",
        None,
    );
    assert_eq!(all(&h, "x-forwarded-for"), ["192.0.2.7"]);
    assert_eq!(all(&h, "x-forwarded-proto"), ["http"]);
    assert_eq!(all(&h, "x-forwarded-host"), ["shop.example"]);
    assert!(h.get("forwarded").is_none());
    assert!(h.get("x-real-ip").is_none());
    assert_eq!(all(&h, "host"), ["shop.example"]);
}

#[test]
fn forwarding_headers_from_trusted_proxies_are_kept_and_appended_to() {
    let h = prepared(
        &[
            ("host", "shop.example"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "public.example"),
        ],
        "10.1.2.3",
        None,
    );
    assert_eq!(all(&h, "x-forwarded-for"), ["1.2.3.4, 10.1.2.3"]);
    assert_eq!(all(&h, "x-forwarded-proto"), ["https"]);
    assert_eq!(all(&h, "x-forwarded-host"), ["public.example"]);
}

#[test]
fn a_trusted_peer_cannot_drop_its_own_x_forwarded_for_entry_via_connection() {
    let h = prepared(
        &[
            ("connection", "x-forwarded-for"),
            ("x-forwarded-for", "1.2.3.4"),
        ],
        "10.1.2.3",
        None,
    );
    assert_eq!(all(&h, "x-forwarded-for"), ["10.1.2.3"]);
}

#[test]
fn peer_addresses_are_written_exactly() {
    for ip in [
        "0.0.0.0",
        "9.10.99.100",
        "127.0.0.1",
        "255.255.255.255",
        "10.1.20.3",
        "::1",
        "2001:db8::7",
    ] {
        let parsed: IpAddr = ip.parse().unwrap();
        assert_eq!(ip_header_value(parsed), ip, "{ip}");
        assert_eq!(ip_header_value(parsed), parsed.to_string().as_str());
    }
}

#[test]
fn response_heads_lose_hop_by_hop_headers_only() {
    let mut h = HeaderMap::new();
    h.insert("connection", HeaderValue::from_static("close, x-private"));
    h.insert("x-private", HeaderValue::from_static("1"));
    h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
    h.insert(
        "x-user-id",
        HeaderValue::from_static("kept: the upstream's business"),
    );
    h.insert("content-type", HeaderValue::from_static("text/plain"));
    clean_response(&mut h);
    let names: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(h.contains_key("x-user-id") && h.contains_key("content-type"));
}
