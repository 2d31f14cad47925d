//! `[session] path`: the front end's view of the caller, per marketplace persona; never the
//! token; 401 signed out; refused cross-origin and for other methods; off by default.

use serde_json::{json, Value};

use crate::support::{claims, config_with_sections, token, with, Harness, RequestExt};

const SESSION: &str = r#"
[session]
path = "/api/doorman/session"
allowed_origins = ["https://admin.marketplace.example"]

[claims.onboarding_requires]
vendor_company = ["/metadata/organization/name"]
"#;

fn persona(user_type: &str, changes: &[(&str, Value)]) -> Value {
    let mut c = with(claims(), "/metadata/userType", json!(user_type));
    for (pointer, value) in changes {
        c = with(c, pointer, value.clone());
    }
    c
}

#[tokio::test]
async fn each_persona_sees_its_parsed_identity_and_never_the_token() {
    let h = Harness::with_config(&config_with_sections(SESSION)).await;
    let freelancer = persona("freelancer", &[]);
    let vendor = with(
        with(
            persona(
                "vendor_company",
                &[("/metadata/organization/name", json!("Acme"))],
            ),
            "/o",
            json!({"id": "org_9", "slg": "acme", "rol": "admin", "per": "manage", "fpm": "1"}),
        ),
        "/fea",
        json!("o:projects"),
    );
    let customer_onboarding = persona(
        "customer_organization",
        &[("/metadata/onboarding/status", json!("in_progress"))],
    );
    let vendor_missing = persona("vendor_company", &[]);
    let cases = [
        (
            "freelancer",
            freelancer,
            json!({"userType": "freelancer", "organization": null, "roles": ["member"], "permissions": ["view_project"], "featureFlags": ["advanced_search"], "onboarding": {"status": "completed", "complete": true, "needed": false, "missing": [], "url": null}}),
        ),
        (
            "vendor_company",
            vendor,
            json!({"userType": "vendor_company", "organization": {"id": "org_9", "slug": "acme", "role": "org:admin"}, "permissions": ["org:projects:manage", "view_project"], "onboarding": {"complete": true, "needed": false}}),
        ),
        (
            "customer_organization onboarding",
            customer_onboarding,
            json!({"userType": "customer_organization", "onboarding": {"status": "in_progress", "complete": false, "needed": true, "url": "/onboarding"}}),
        ),
        (
            "vendor missing data",
            vendor_missing,
            json!({"onboarding": {"status": "completed", "complete": false, "needed": true, "missing": ["/metadata/organization/name"], "url": "/onboarding"}}),
        ),
    ];
    for (name, claims, expected) in cases {
        let jwt = token(&claims);
        let reply = h.client.api("GET", "/api/doorman/session", &jwt).await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.text());
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{name}");
        let body = reply.json();
        assert_eq!(body["userId"], "user_1", "{name}");
        assert_eq!(body["active"], true, "{name}");
        assert_subset(&expected, &body, name);
        let text = reply.text();
        assert!(
            !text.contains(&jwt) && !text.contains("eyJ"),
            "{name}: token echoed"
        );
        assert!(
            !text.contains("\"iss\"") && !text.contains("Acme"),
            "{name}: raw claims echoed"
        );
    }
    assert!(
        h.echo.last().is_none(),
        "the endpoint never reaches the upstream"
    );
}

fn assert_subset(expected: &Value, actual: &Value, name: &str) {
    match expected {
        Value::Object(fields) => {
            for (k, v) in fields {
                assert_subset(v, &actual[k], &format!("{name}.{k}"));
            }
        }
        other => assert_eq!(other, actual, "{name}"),
    }
}

#[tokio::test]
async fn signed_out_cross_origin_and_other_methods_are_refused() {
    let h = Harness::with_config(&config_with_sections(SESSION)).await;
    let jwt = token(&claims());
    let reply = h.client.get("/api/doorman/session").await;
    assert_eq!(
        (reply.status.as_u16(), reply.reason()),
        (401, "token_missing".into())
    );
    let expired = token(&with(claims(), "/exp", json!(crate::support::NOW - 120)));
    let reply = h.client.api("GET", "/api/doorman/session", &expired).await;
    assert_eq!(
        (reply.status.as_u16(), reply.reason()),
        (401, "token_expired".into())
    );

    let ask = |headers: &[(&'static str, &'static str)]| {
        let mut req = h.client.request("GET", "/api/doorman/session").bearer(&jwt);
        for (name, value) in headers {
            req.headers_mut().insert(*name, value.parse().unwrap());
        }
        req
    };
    let host = format!("http://{}", h.client.addr);
    let own: &'static str = Box::leak(host.into_boxed_str());
    type Headers = Vec<(&'static str, &'static str)>;
    let cases: [(&str, Headers, u16); 6] = [
        (
            "same origin",
            vec![("origin", own), ("sec-fetch-site", "same-origin")],
            200,
        ),
        (
            "allowed origin",
            vec![("origin", "https://admin.marketplace.example")],
            200,
        ),
        ("no browser headers", vec![], 200),
        (
            "another origin",
            vec![("origin", "https://evil.example")],
            403,
        ),
        (
            "cross-site fetch",
            vec![("sec-fetch-site", "cross-site")],
            403,
        ),
        (
            "same-site is not same-origin",
            vec![("sec-fetch-site", "same-site")],
            403,
        ),
    ];
    for (name, headers, status) in cases {
        let reply = h.client.send(ask(&headers)).await;
        assert_eq!(reply.status.as_u16(), status, "{name}: {}", reply.text());
        if status == 403 {
            assert_eq!(reply.reason(), "cross_origin", "{name}");
            assert!(!reply.text().contains("user_1"), "{name}: identity leaked");
        }
    }
    let reply = h.client.api("POST", "/api/doorman/session", &jwt).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.reason(), "session_get_only");
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
}

#[tokio::test]
async fn off_by_default() {
    let h = Harness::start().await;
    let reply = h
        .client
        .api("GET", "/api/doorman/session", &token(&claims()))
        .await;
    // No endpoint: the path is an ordinary request, decided and forwarded by the route table.
    assert_eq!(reply.status, 200);
    assert_eq!(h.echo.last().unwrap().target, "/api/doorman/session");
}
