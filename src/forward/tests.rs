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
        None,
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

#[test]
fn underscore_spellings_of_framing_headers_are_removed_even_from_trusted_proxies() {
    let spellings = [
        ("content_length", "5"),
        ("Content_Length", "5"),
        ("transfer_encoding", "chunked"),
        ("Transfer_Encoding", "gzip"),
        ("content-length_", "5"),
        ("keep_alive", "timeout=5"),
        ("proxy_connection", "keep-alive"),
        ("proxy_authorization", "Basic eA=="),
        ("Proxy_Authenticate", "Basic"),
    ];
    for peer in ["192.0.2.7", "10.1.2.3"] {
        let h = prepared(&spellings, peer, None);
        let left: Vec<_> = h.keys().filter(|k| k.as_str().contains('_')).collect();
        // `content-length_` does not spell anything and stays.
        assert_eq!(left, ["content-length_"], "from {peer}");
    }
    // Names that only look alike stay.
    let h = prepared(
        &[("x_content_length", "1"), ("content_lengths", "1")],
        "192.0.2.7",
        None,
    );
    assert_eq!(all(&h, "x_content_length"), ["1"]);
    assert_eq!(all(&h, "content_lengths"), ["1"]);
}

#[test]
fn routing_headers_of_envoy_iis_aspnet_and_others_are_removed_from_untrusted_peers_only() {
    let routing = [
        ("x-envoy-original-path", "/admin"),
        ("x-envoy-original-dst-host", "10.0.0.9:80"),
        ("x-envoy-internal", "true"),
        ("X_Envoy_Original_Path", "/admin"),
        ("x-original-host", "admin.internal"),
        ("x-original-path", "/admin"),
        ("x-forwarded-uri", "/admin"),
        ("x-forwarded-prefix", "/admin"),
        ("x-forwarded-method", "DELETE"),
        ("x-original-method", "DELETE"),
        ("x-http-destinationurl", "http://admin.internal/"),
        ("x-host", "admin.internal"),
        ("x-http-host-override", "admin.internal"),
        ("x-replaced-path", "/admin"),
        ("x-forwarded-client-cert", "Hash=1;Subject=\"CN=admin\""),
        ("cf-connecting-ip", "10.0.0.1"),
    ];
    let h = prepared(&routing, "192.0.2.7", None);
    for (name, _) in routing {
        assert!(
            h.get(name).is_none(),
            "{name} survived from an untrusted peer"
        );
    }
    let h = prepared(&routing, "10.1.2.3", None);
    assert_eq!(all(&h, "x-envoy-original-path"), ["/admin"]);
    assert_eq!(all(&h, "x-original-host"), ["admin.internal"]);
    assert!(
        h.get("x_envoy_original_path").is_none(),
        "an underscore spelling comes from no proxy"
    );
    // A name that merely starts like one stays.
    let h = prepared(&[("x-envoy", "1"), ("x-hosts", "1")], "192.0.2.7", None);
    assert_eq!(
        (all(&h, "x-envoy"), all(&h, "x-hosts")),
        (vec!["1"], vec!["1"])
    );
}

#[test]
fn http2_cookie_fields_are_joined_into_one_line_in_order() {
    let mut p = parts(&[
        ("cookie", "__session=first"),
        ("cookie", "theme=dark"),
        ("cookie", "__session=second"),
    ]);
    p.version = Version::HTTP_2;
    let peer = "192.0.2.7".parse::<IpAddr>().unwrap();
    prepare(&mut p, None, None, peer, true, &config());
    assert_eq!(
        all(&p.headers, "cookie"),
        ["__session=first; theme=dark; __session=second"]
    );
    assert_eq!(
        crate::token::extract::cookie_value(&p.headers, "__session"),
        Some("first"),
        "the first occurrence still wins after joining"
    );
    // One field is left as it is; HTTP/1.1 requests are not touched.
    let mut p = parts(&[("cookie", "a=1")]);
    p.version = Version::HTTP_2;
    prepare(&mut p, None, None, peer, true, &config());
    assert_eq!(all(&p.headers, "cookie"), ["a=1"]);
    let h = prepared(&[("cookie", "a=1"), ("cookie", "b=2")], "192.0.2.7", None);
    assert_eq!(all(&h, "cookie"), ["a=1", "b=2"]);
}
