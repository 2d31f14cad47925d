//! Identity headers: set from the verified token, and no client copy ever survives, whatever
//! its case, count, spelling or tricks with `Connection`.

use serde_json::json;

use crate::support::{claims, token, with, Harness, RequestExt};

const SPOOFED: &[(&str, &str)] = &[
    ("X-User-Id", "user_admin"),
    ("x-user-id", "user_admin2"),
    ("X-USER-ID", "user_admin3"),
    ("X_User_Id", "user_underscore"),
    ("x-user-roles", "admin"),
    ("X-User-Permissions", "create_project,admin"),
    ("X-Org-Role", "org:admin"),
    ("X-Org-Id", "org_evil"),
    ("X-Session-Id", "sess_evil"),
    ("X-User-Type", "vendor_company"),
    ("X-Feature-Flags", "advanced_search"),
    ("X-Onboarding-Status", "completed"),
    ("X-HTTP-Method-Override", "DELETE"),
    ("X-Method-Override", "DELETE"),
];

fn spoof(req: &mut http::Request<http_body_util::Full<bytes::Bytes>>) {
    for (name, value) in SPOOFED {
        req.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    req.headers_mut()
        .append("x-user-id", "user_dup_1, user_dup_2".parse().unwrap());
}

#[tokio::test]
async fn spoofed_identity_headers_never_reach_the_upstream_anonymous() {
    let h = Harness::start().await;
    let mut req = h.client.request("GET", "/public/x");
    spoof(&mut req);
    let reply = h.client.send(req).await;
    assert_eq!(reply.status, 200);
    let seen = h.echo.last().unwrap();
    for (name, _) in SPOOFED {
        let normalized = name.to_ascii_lowercase().replace('_', "-");
        assert!(
            seen.header_all(&normalized).is_empty(),
            "{name} reached the upstream: {:?}",
            seen.headers
        );
        assert!(
            seen.header_all(&name.to_ascii_lowercase()).is_empty(),
            "{name} reached the upstream"
        );
    }
}

#[tokio::test]
async fn identity_headers_replace_spoofed_ones_for_a_valid_token() {
    let h = Harness::start().await;
    let claims = with(
        with(
            claims(),
            "/o",
            json!({"id": "org_9", "rol": "member", "per": "read", "fpm": "1"}),
        ),
        "/fea",
        json!("o:projects"),
    );
    let mut req = h.client.request("GET", "/dashboard");
    spoof(&mut req);
    req = req.bearer(&token(&claims));
    // Try to make doorman drop its own header by naming it in Connection.
    req.headers_mut().insert(
        "connection",
        "close, X-User-Id, X-User-Roles".parse().unwrap(),
    );
    let reply = h.client.send(req).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = h.echo.last().unwrap();
    assert_eq!(seen.header_all("x-user-id"), vec!["user_1"]);
    assert_eq!(seen.header_all("x-session-id"), vec!["sess_1"]);
    assert_eq!(seen.header_all("x-user-type"), vec!["freelancer"]);
    assert_eq!(seen.header_all("x-org-id"), vec!["org_9"]);
    assert_eq!(seen.header_all("x-org-role"), vec!["org:member"]);
    assert_eq!(seen.header_all("x-user-roles"), vec!["member"]);
    assert_eq!(
        seen.header_all("x-user-permissions"),
        vec!["org:projects:read,view_project"]
    );
    assert_eq!(seen.header_all("x-feature-flags"), vec!["advanced_search"]);
    assert_eq!(seen.header_all("x-onboarding-status"), vec!["completed"]);
    assert!(seen.header_all("x-http-method-override").is_empty());
    assert!(seen.header_all("x-method-override").is_empty());
    assert!(seen.header_all("x_user_id").is_empty());
    assert_eq!(seen.method, "GET");
}

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer_are_replaced() {
    let h = Harness::start().await;
    let mut req = h.client.request("GET", "/public/x");
    req.headers_mut()
        .insert("x-forwarded-for", "10.0.0.1".parse().unwrap());
    req.headers_mut()
        .insert("x-forwarded-proto", "https".parse().unwrap());
    req.headers_mut()
        .insert("x-forwarded-host", "admin.internal".parse().unwrap());
    req.headers_mut()
        .insert("forwarded", "for=10.0.0.1".parse().unwrap());
    req.headers_mut()
        .insert("x-real-ip", "10.0.0.1".parse().unwrap());
    h.client.send(req).await;
    let seen = h.echo.last().unwrap();
    assert_eq!(seen.header("x-forwarded-for").as_deref(), Some("127.0.0.1"));
    assert_eq!(seen.header("x-forwarded-proto").as_deref(), Some("http"));
    assert_eq!(seen.header("x-forwarded-host"), seen.header("host"));
    assert!(seen.header("forwarded").is_none());
    assert!(seen.header("x-real-ip").is_none());
}

#[tokio::test]
async fn forwarded_headers_from_a_trusted_proxy_are_appended_to() {
    let config = crate::support::BASE_CONFIG.replace(
        "shutdown_grace = \"2s\"",
        "shutdown_grace = \"2s\"\ntrusted_proxies = [\"127.0.0.0/8\"]",
    );
    let h = Harness::with_config(&config).await;
    let mut req = h.client.request("GET", "/public/x");
    req.headers_mut()
        .insert("x-forwarded-for", "203.0.113.7".parse().unwrap());
    req.headers_mut()
        .insert("x-forwarded-proto", "https".parse().unwrap());
    req.headers_mut()
        .insert("x-forwarded-host", "shop.example".parse().unwrap());
    h.client.send(req).await;
    let seen = h.echo.last().unwrap();
    assert_eq!(
        seen.header("x-forwarded-for").as_deref(),
        Some("203.0.113.7, 127.0.0.1")
    );
    assert_eq!(seen.header("x-forwarded-proto").as_deref(), Some("https"));
    assert_eq!(
        seen.header("x-forwarded-host").as_deref(),
        Some("shop.example")
    );
}

#[tokio::test]
async fn renamed_identity_headers_are_used_and_their_spoofs_stripped() {
    let config = crate::support::BASE_CONFIG.replace(
        "[defaults]",
        "[headers]\nuser_id = \"X-Auth-User\"\nstrip = [\"X-Internal-Secret\"]\n\n[defaults]",
    );
    let h = Harness::with_config(&config).await;
    let mut req = h.client.request("GET", "/dashboard");
    req.headers_mut()
        .insert("x-auth-user", "user_evil".parse().unwrap());
    req.headers_mut()
        .insert("x_auth_user", "user_evil".parse().unwrap());
    req.headers_mut()
        .insert("x-internal-secret", "1".parse().unwrap());
    req = req.bearer(&token(&claims()));
    h.client.send(req).await;
    let seen = h.echo.last().unwrap();
    assert_eq!(seen.header_all("x-auth-user"), vec!["user_1"]);
    assert!(seen.header_all("x_auth_user").is_empty());
    assert!(seen.header_all("x-internal-secret").is_empty());
    assert!(
        seen.header_all("x-user-id").is_empty(),
        "the default name is not sent once renamed"
    );
}

#[tokio::test]
async fn claim_values_that_are_not_plain_ascii_are_not_sent_as_headers() {
    let h = Harness::start().await;
    let claims = with(
        with(claims(), "/metadata/userType", json!("free\r\nX-Evil: 1")),
        "/metadata/roles",
        json!(["ok", "bad,role", "caf\u{e9}"]),
    );
    let reply = h.client.api("GET", "/dashboard", &token(&claims)).await;
    assert_eq!(reply.status, 200);
    let seen = h.echo.last().unwrap();
    assert!(seen.header("x-user-type").is_none());
    assert!(seen.header("x-evil").is_none());
    assert_eq!(seen.header("x-user-roles").as_deref(), Some("ok"));
}
