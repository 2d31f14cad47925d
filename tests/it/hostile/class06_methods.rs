//! Class 6: method tricks. Method-override headers never change which rule applies (they are
//! stripped), `HEAD` follows `GET`'s rule, case variants of standard methods (`get`) are
//! refused and unusual methods cannot slip past a method-specific rule, and `OPTIONS` is
//! decided like any other request by default.

use std::time::Duration;

use super::raw;
use crate::support::{
    assert_nothing_forwarded, claims, config_with_sections, outcome, refused, token, with, Harness,
    RequestExt,
};
use serde_json::json;

const OVERRIDES: [&str; 3] = [
    "X-HTTP-Method-Override",
    "X-Method-Override",
    "X-HTTP-Method",
];

/// A user who may read projects but not create or edit them.
fn reader() -> String {
    token(&claims())
}

#[tokio::test]
async fn override_headers_cannot_turn_a_refused_post_into_an_allowed_get() {
    let h = Harness::start().await;
    let before = h.echo.count();
    for name in OVERRIDES {
        for value in ["GET", "get", "HEAD"] {
            let req = h.client.request("POST", "/api/projects").bearer(&reader());
            let reply = h.client.send(req.with_header(name, value)).await;
            assert_eq!(
                outcome(&reply),
                refused(403, "permission_missing"),
                "{name}: {value}"
            );
        }
    }
    // All three at once, repeated, over HTTP/2.
    let mut req = h.client.request("PUT", "/api/projects/1").bearer(&reader());
    for name in OVERRIDES {
        req = req.with_header(name, "GET");
        req = req.with_header(&name.to_ascii_lowercase(), "GET");
    }
    let reply = h.client.send_h2(req).await;
    assert_eq!(outcome(&reply), refused(403, "permission_missing"));
    assert_nothing_forwarded(&h, before, "override to a laxer method");
}

#[tokio::test]
async fn override_headers_are_stripped_so_the_upstream_cannot_reinterpret_an_allowed_get() {
    let h = Harness::start().await;
    let spellings = [
        "X-HTTP-Method-Override",
        "x-http-method-override",
        "X-Method-Override",
        "X-HTTP-Method",
        "X-Http-Method",
    ];
    let mut lines = String::new();
    for name in spellings {
        lines.push_str(&format!("{name}: DELETE\r\n"));
    }
    let request = format!(
        "GET /api/projects/1 HTTP/1.1\r\nHost: shop.test\r\nAuthorization: Bearer {}\r\n{lines}Connection: close\r\n\r\n",
        reader()
    );
    let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    let seen = h.echo.last().unwrap();
    assert_eq!(seen.method, "GET");
    for (name, value) in &seen.headers {
        assert!(
            !value.contains("DELETE"),
            "{name}: {value} reached the upstream"
        );
    }
    // `_method` in the query is refused like in a form (class06_method_override): frameworks
    // read it as the method, and refusing it on a GET too is fail-safe.
    let before = h.echo.count();
    let reply = h
        .client
        .api("GET", "/api/projects/1?_method=DELETE", &reader())
        .await;
    assert_eq!(outcome(&reply), refused(400, "method_override"));
    assert_nothing_forwarded(&h, before, "query override on a GET");
}

#[tokio::test]
async fn head_follows_gets_rule_and_cannot_bypass_it() {
    let h = Harness::start().await;
    let before = h.echo.count();
    let no_read = token(&with(claims(), "/metadata/roles", json!([])));
    let reply = h.client.api("HEAD", "/api/projects/1", &no_read).await;
    assert_eq!(reply.status, 403, "HEAD without view_project");
    let reply = h
        .client
        .send(h.client.request("HEAD", "/api/projects/1"))
        .await;
    assert_eq!(reply.status, 401, "anonymous HEAD");
    let reply = h
        .client
        .send(h.client.request("HEAD", "/dashboard").navigate())
        .await;
    assert_eq!(reply.status, 302, "anonymous HEAD page");
    assert_eq!(
        reply.header("location"),
        Some("/sign-in?redirect_url=/dashboard")
    );
    let reply = h.client.send(h.client.request("HEAD", "/admin")).await;
    assert_eq!(reply.status, 401);
    assert_nothing_forwarded(&h, before, "HEAD bypass");
    let reply = h.client.api("HEAD", "/api/projects/1", &reader()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(h.echo.last().unwrap().method, "HEAD");
}

#[tokio::test]
async fn case_variants_of_standard_methods_are_refused_not_routed_as_extension_methods() {
    // Methods are case-sensitive (RFC 9110 §9.1): `get` is not `GET` and must not get the
    // GET-only public rule; upstreams that upper-case it would run their GET handler.
    let h = Harness::with_config(&config_with_sections(
        "[[routes]]\nname = \"open-read\"\npath = \"/open/**\"\nmethods = [\"GET\"]\naccess = \"public\"\n",
    ))
    .await;
    let before = h.echo.count();
    for (method, path) in [
        ("get", "/open/x"),
        ("gEt", "/open/x"),
        ("head", "/open/x"),
        ("post", "/api/projects"),
        ("Post", "/api/projects"),
        ("put", "/api/projects/1"),
        ("delete", "/public/x"),
        ("trace", "/public/x"),
    ] {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: shop.test\r\nAuthorization: Bearer {}\r\nContent-Length: 0\r\n\r\n",
            reader()
        );
        let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(5)).await;
        assert_eq!(
            (answer.status(), answer.reason()),
            (Some(400), "method_invalid".to_string()),
            "{method} {path}: {}",
            answer.text
        );
        assert!(answer.closed, "{method}: the connection stayed open");
    }
    assert_nothing_forwarded(&h, before, "method case variants");
    // The exact spelling gets the rule; an extension method does not inherit GET's.
    let reply = h.client.get("/open/x").await;
    assert_eq!(reply.status, 200);
    assert_eq!(h.echo.last().unwrap().method, "GET");
    let reply = h.client.send(h.client.request("PURGE", "/open/x")).await;
    assert_eq!(
        outcome(&reply),
        refused(401, "token_missing"),
        "PURGE is not GET"
    );
    assert_eq!(h.echo.count(), before + 1);
}

#[tokio::test]
async fn unusual_methods_on_protected_routes_are_decided_not_waved_through() {
    let h = Harness::start().await;
    let before = h.echo.count();
    // TRACE echoes credentials back: refused outright, even on a public route.
    for path in ["/admin/users", "/public/x"] {
        let reply = h.client.send(h.client.request("TRACE", path)).await;
        assert_eq!(
            outcome(&reply),
            (400, "method_not_allowed".to_string()),
            "TRACE {path}"
        );
    }
    for method in [
        "PROPFIND",
        "PURGE",
        "DEBUG",
        "PATCH",
        "DELETE",
        "X-ANYTHING",
    ] {
        let reply = h
            .client
            .send(h.client.request(method, "/admin/users"))
            .await;
        assert_eq!(
            outcome(&reply),
            refused(401, "token_missing"),
            "{method} anonymous"
        );
        let reply = h.client.api(method, "/admin/users", &reader()).await;
        assert_eq!(
            outcome(&reply),
            refused(403, "role_missing"),
            "{method} member"
        );
        let reply = h.client.api(method, "/api/projects", &reader()).await;
        assert_eq!(
            reply.status, 200,
            "{method} on /api/** (signed in, no method rule)"
        );
    }
    assert_eq!(
        h.echo.count() - before,
        6,
        "only the /api/** requests were forwarded"
    );
    assert!(h.echo.seen()[before..]
        .iter()
        .all(|s| s.target == "/api/projects"));
    // CONNECT (authority-form) is never forwarded as a request to a route.
    let answer = raw(
        h.client.addr,
        format!(
            "CONNECT {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\r\n",
            h.echo.addr,
            h.echo.addr,
            reader()
        )
        .as_bytes(),
        Duration::from_secs(3),
    )
    .await;
    // An authority-form target has no path to match: 400 `path_not_absolute`.
    assert_eq!(
        (answer.status(), answer.reason()),
        (Some(400), "path_not_absolute".to_string()),
        "CONNECT got {:?}",
        answer.text
    );
    assert_eq!(h.echo.count() - before, 6, "CONNECT reached the upstream");
}

#[tokio::test]
async fn options_preflights_follow_the_documented_default_and_are_decided_like_any_request() {
    // Default (`[server] cors_preflight` unset): a preflight is authenticated like any
    // request, so an anonymous preflight to a protected API is 401 and not forwarded.
    let h = Harness::start().await;
    let before = h.echo.count();
    let preflight = |path: &str| {
        let req = h.client.request("OPTIONS", path);
        let req = req.with_header("origin", "https://evil.example");
        req.with_header("access-control-request-method", "DELETE")
    };
    for path in ["/api/projects/1", "/admin/users", "/dashboard"] {
        let reply = h.client.send(preflight(path)).await;
        assert_eq!(outcome(&reply), refused(401, "token_missing"), "{path}");
    }
    let reply = h
        .client
        .send(preflight("/admin/users").with_header("x-http-method-override", "GET"))
        .await;
    assert_eq!(reply.status, 401);
    assert_nothing_forwarded(&h, before, "anonymous preflights");
    // On a public route it is forwarded, without identity.
    let reply = h.client.send(preflight("/public/x")).await;
    assert_eq!(reply.status, 200);
    let seen = h.echo.last().unwrap();
    assert_eq!(seen.method, "OPTIONS");
    assert!(seen.header("x-user-id").is_none());
}

#[tokio::test]
async fn underscore_spellings_of_override_headers_are_stripped() {
    let h = Harness::start().await;
    let request = format!(
        "GET /api/projects/1 HTTP/1.1\r\nHost: shop.test\r\nAuthorization: Bearer {}\r\n\
         X_HTTP_Method_Override: DELETE\r\nx_method_override: DELETE\r\nX_HTTP_METHOD: DELETE\r\n\
         x-http_method-override: DELETE\r\nConnection: close\r\n\r\n",
        reader()
    );
    let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    let seen = h.echo.last().unwrap();
    let leaked: Vec<_> = seen.headers.iter().filter(|(_, v)| v == "DELETE").collect();
    assert!(
        leaked.is_empty(),
        "override headers reached the upstream: {leaked:?}"
    );
}
