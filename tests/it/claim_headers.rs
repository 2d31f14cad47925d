//! `[headers.claims]`: claims reach the upstream as headers of their own under the type
//! rule, and client copies of those headers never do.

use base64::Engine;
use serde_json::json;

use crate::support::{claims, config_with_sections, token, with, Harness, RequestExt};

const HEADERS: &str = r#"
[headers.claims]
X-Freelancer-Tier = "/metadata/freelancer/tier"
X-Max-Budget-Approval = "/metadata/maxBudgetApproval"
X-Freelancer-Verified = "/metadata/freelancer/verified"
X-Skills = "/metadata/skills"
X-Organization = "/metadata/organization"
X-Compliance-Status = "/metadata/complianceStatus"
"#;

#[tokio::test]
async fn claims_reach_the_upstream_and_spoofed_copies_do_not() {
    let h = Harness::with_config(&config_with_sections(HEADERS)).await;
    let mut c = claims();
    for (pointer, value) in [
        (
            "/metadata/freelancer",
            json!({"tier": "premium", "verified": true}),
        ),
        ("/metadata/maxBudgetApproval", json!(25000)),
        ("/metadata/skills", json!(["rust", "go"])),
        (
            "/metadata/organization",
            json!({"id": "org_1", "name": "Société Générale"}),
        ),
    ] {
        c = with(c, pointer, value);
    }
    let mut req = h.client.request("GET", "/dashboard").bearer(&token(&c));
    for (name, value) in [
        ("X-Freelancer-Tier", "enterprise"),
        ("x-max-budget-approval", "99999999"),
        ("X_Compliance_Status", "compliant"),
        ("X-COMPLIANCE-STATUS", "compliant"),
    ] {
        req.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    let reply = h.client.send(req).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = h.echo.last().unwrap();
    assert_eq!(seen.header_all("x-freelancer-tier"), vec!["premium"]);
    assert_eq!(seen.header_all("x-max-budget-approval"), vec!["25000"]);
    assert_eq!(seen.header_all("x-freelancer-verified"), vec!["true"]);
    assert_eq!(seen.header_all("x-skills"), vec!["rust,go"]);
    let org = seen
        .header("x-organization")
        .expect("object claim as base64url JSON");
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(org)
        .expect("base64url");
    let value: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
    assert_eq!(value, json!({"id": "org_1", "name": "Société Générale"}));
    // The token has no complianceStatus: the client's copies are stripped, none is added.
    assert!(seen.header_all("x-compliance-status").is_empty());
    assert!(seen.header_all("x_compliance_status").is_empty());
}

#[tokio::test]
async fn spoofed_claim_headers_are_stripped_on_public_routes_too() {
    let h = Harness::with_config(&config_with_sections(HEADERS)).await;
    let mut req = h.client.request("GET", "/public/x");
    req.headers_mut()
        .insert("x-freelancer-tier", "enterprise".parse().unwrap());
    let reply = h.client.send(req).await;
    assert_eq!(reply.status, 200);
    assert!(h
        .echo
        .last()
        .unwrap()
        .header_all("x-freelancer-tier")
        .is_empty());
}

#[test]
fn claim_header_names_are_checked() {
    let bad = "[headers.claims]\nX-User-Id = \"/metadata/x\"\nAuthorization = \"/metadata/y\"\n\"Bad Name\" = \"/z\"\nX-Ok = \"metadata/w\"\n";
    let text = config_with_sections(bad);
    let error = doorman::config::Config::parse(&text, "test config", &|_| {
        Some("http://127.0.0.1:1".into())
    })
    .map(|_| ())
    .unwrap_err()
    .to_string();
    for wanted in [
        "headers.claims.\"X-User-Id\": is already used",
        "headers.claims.\"Authorization\": is a framing",
        "headers.claims.\"Bad Name\": is not a valid header name",
        "headers.claims.\"X-Ok\": JSON pointer",
    ] {
        assert!(error.contains(wanted), "missing {wanted:?} in:\n{error}");
    }
}
