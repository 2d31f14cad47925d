//! Claim conditions (CEL over the claims) and onboarding data checks, over real sockets:
//! each kind allows and denies, missing and wrongly typed claims deny with
//! `condition_failed` (never a claim value in the answer), report mode forwards, bad
//! expressions fail the config with located errors, and a user whose onboarding says
//! complete but lacks their type's required claims is sent back to onboarding.

use serde_json::{json, Value};

use crate::support::{
    assert_nothing_forwarded, claims, config_with_sections, token, with, without, Harness,
    RequestExt,
};

const ROUTES: &str = r#"
[claims.onboarding_requires]
freelancer = ["/metadata/freelancerTier", "/metadata/complianceStatus"]
vendor_company = ["/metadata/companyName"]
customer_organization = ["/metadata/organizationName", "/metadata/maxBudgetApproval"]

[[routes]]
name = "verified-freelancers"
path = "/api/gigs/**"
user_types = ["freelancer"]
conditions = [{ label = "verified_freelancer", cel = "claims.metadata.freelancerVerified == true" }]

[[routes]]
name = "payouts"
path = "/api/payouts/**"
conditions = [{ label = "compliant", cel = "claims.metadata.complianceStatus == 'compliant'" }]

[[routes]]
name = "large-approvals"
path = "/api/approvals/large/**"
conditions = [{ label = "budget_10k", cel = "claims.metadata.maxBudgetApproval >= 10000" }]

[[routes]]
name = "ai"
path = "/api/ai/**"
conditions = [
  { label = "premium_tier", cel = "claims.metadata.freelancerTier in ['premium', 'enterprise']" },
  { label = "background_checked", cel = "!has(claims.metadata.backgroundCheckStatus) || claims.metadata.backgroundCheckStatus == 'passed'" },
]

[[routes]]
name = "ai-report"
path = "/api/ai-preview/**"
mode = "report"
conditions = [{ label = "premium_tier", cel = "claims.metadata.freelancerTier in ['premium', 'enterprise']" }]
"#;

/// A finished freelancer with everything the conditions and the onboarding check read.
fn freelancer() -> Value {
    let mut c = claims();
    for (pointer, value) in [
        ("/metadata/freelancerTier", json!("premium")),
        ("/metadata/freelancerVerified", json!(true)),
        ("/metadata/complianceStatus", json!("compliant")),
        ("/metadata/maxBudgetApproval", json!(25000)),
    ] {
        c = with(c, pointer, value);
    }
    c
}

/// The answer to `path` with these claims, after checking the upstream side: an allowed
/// request reached it, a refused one did not.
async fn status_and_reason(h: &Harness, path: &str, claims: &Value) -> (u16, String) {
    let before = h.echo.count();
    let reply = h.client.api("GET", path, &token(claims)).await;
    let reason = if reply.status == 200 {
        let seen = h
            .echo
            .last()
            .expect("an allowed request reaches the upstream");
        assert_eq!((h.echo.count(), seen.target.as_str()), (before + 1, path));
        String::new()
    } else {
        assert_nothing_forwarded(h, before, path);
        reply.reason()
    };
    (reply.status.as_u16(), reason)
}

#[tokio::test]
async fn each_condition_kind_allows_and_denies() {
    let h = Harness::with_config(&config_with_sections(ROUTES)).await;
    let deny = |s: &str| (403u16, s.to_string());
    let ok = (200u16, String::new());
    let cases: Vec<(&str, &str, Value, (u16, String))> = vec![
        ("bool allows", "/api/gigs/1", freelancer(), ok.clone()),
        (
            "bool false denies",
            "/api/gigs/1",
            with(freelancer(), "/metadata/freelancerVerified", json!(false)),
            deny("condition_failed"),
        ),
        ("string allows", "/api/payouts/x", freelancer(), ok.clone()),
        (
            "string denies",
            "/api/payouts/x",
            with(freelancer(), "/metadata/complianceStatus", json!("pending")),
            deny("condition_failed"),
        ),
        (
            "number allows",
            "/api/approvals/large/1",
            freelancer(),
            ok.clone(),
        ),
        (
            "number denies",
            "/api/approvals/large/1",
            with(freelancer(), "/metadata/maxBudgetApproval", json!(5000)),
            deny("condition_failed"),
        ),
        (
            "list membership allows",
            "/api/ai/chat",
            freelancer(),
            ok.clone(),
        ),
        (
            "list membership denies",
            "/api/ai/chat",
            with(freelancer(), "/metadata/freelancerTier", json!("verified")),
            deny("condition_failed"),
        ),
        (
            "has() guards an optional claim",
            "/api/ai/chat",
            with(
                freelancer(),
                "/metadata/backgroundCheckStatus",
                json!("failed"),
            ),
            deny("condition_failed"),
        ),
        (
            "a missing claim denies",
            "/api/gigs/1",
            without(freelancer(), "/metadata/freelancerVerified"),
            deny("condition_failed"),
        ),
        (
            "a string where a number is compared denies",
            "/api/approvals/large/1",
            with(freelancer(), "/metadata/maxBudgetApproval", json!("25000")),
            deny("condition_failed"),
        ),
        (
            "a string where a bool is compared denies",
            "/api/gigs/1",
            with(freelancer(), "/metadata/freelancerVerified", json!("true")),
            deny("condition_failed"),
        ),
        (
            "null denies",
            "/api/gigs/1",
            with(freelancer(), "/metadata/freelancerVerified", Value::Null),
            deny("condition_failed"),
        ),
        (
            "the fixed lists still come first",
            "/api/gigs/1",
            with(freelancer(), "/metadata/userType", json!("admin")),
            deny("user_type_not_allowed"),
        ),
        (
            "report mode forwards a failing condition",
            "/api/ai-preview/x",
            with(freelancer(), "/metadata/freelancerTier", json!("verified")),
            ok.clone(),
        ),
    ];
    for (name, path, claims, want) in cases {
        assert_eq!(status_and_reason(&h, path, &claims).await, want, "{name}");
    }
}

#[tokio::test]
async fn a_refusal_names_no_claim_value() {
    let h = Harness::with_config(&config_with_sections(ROUTES)).await;
    let claims = with(freelancer(), "/metadata/maxBudgetApproval", json!(4321));
    let reply = h
        .client
        .api("GET", "/api/approvals/large/1", &token(&claims))
        .await;
    assert_eq!(reply.status, 403);
    let body = reply.text();
    assert!(body.contains("condition_failed"), "{body}");
    for leak in ["4321", "budget_10k", "maxBudgetApproval"] {
        assert!(
            !body.contains(leak),
            "{leak} leaked into the answer: {body}"
        );
    }
}

#[tokio::test]
async fn onboarding_data_checks_per_user_type() {
    let h = Harness::with_config(&config_with_sections(ROUTES)).await;
    let typed = |user_type: &str, fields: &[(&str, Value)]| {
        let mut c = with(claims(), "/metadata/userType", json!(user_type));
        for (pointer, value) in fields {
            c = with(c, pointer, value.clone());
        }
        c
    };
    let cases = [
        (
            "freelancer complete",
            typed(
                "freelancer",
                &[
                    ("/metadata/freelancerTier", json!("verified")),
                    ("/metadata/complianceStatus", json!("pending")),
                ],
            ),
            200,
            "",
        ),
        (
            "freelancer lacks tier",
            typed(
                "freelancer",
                &[("/metadata/complianceStatus", json!("pending"))],
            ),
            403,
            "onboarding_data_missing",
        ),
        (
            "vendor complete",
            typed(
                "vendor_company",
                &[("/metadata/companyName", json!("Acme"))],
            ),
            200,
            "",
        ),
        (
            "vendor with an empty name",
            typed("vendor_company", &[("/metadata/companyName", json!(""))]),
            403,
            "onboarding_data_missing",
        ),
        (
            "customer complete",
            typed(
                "customer_organization",
                &[
                    ("/metadata/organizationName", json!("Globex")),
                    ("/metadata/maxBudgetApproval", json!(5000)),
                ],
            ),
            200,
            "",
        ),
        (
            "customer with a null budget",
            typed(
                "customer_organization",
                &[
                    ("/metadata/organizationName", json!("Globex")),
                    ("/metadata/maxBudgetApproval", Value::Null),
                ],
            ),
            403,
            "onboarding_data_missing",
        ),
        ("a type without requirements", typed("admin", &[]), 200, ""),
        (
            "not complete stays onboarding_required",
            with(
                typed("vendor_company", &[]),
                "/metadata/onboarding/status",
                json!("in_progress"),
            ),
            403,
            "onboarding_required",
        ),
    ];
    for (name, claims, status, reason) in cases {
        let reply = h.client.api("GET", "/dashboard", &token(&claims)).await;
        assert_eq!(reply.status, status, "{name}: {}", reply.text());
        if status != 200 {
            assert_eq!(reply.reason(), reason, "{name}");
            assert_eq!(reply.json()["error"], "onboarding_required", "{name}");
        }
    }
    let metrics = h.metrics().await;
    for line in [
        r#"doorman_onboarding_data_missing_total{user_type="freelancer",field="/metadata/freelancerTier"} 1"#,
        r#"doorman_onboarding_data_missing_total{user_type="vendor_company",field="/metadata/companyName"} 1"#,
        r#"doorman_onboarding_data_missing_total{user_type="customer_organization",field="/metadata/maxBudgetApproval"} 1"#,
    ] {
        assert!(metrics.contains(line), "missing {line} in\n{metrics}");
    }
    // A page is redirected to onboarding, like any unfinished user.
    let lacking = typed("vendor_company", &[]);
    let req = h
        .client
        .request("GET", "/dashboard")
        .navigate()
        .bearer(&token(&lacking));
    let reply = h.client.send(req).await;
    assert!(
        matches!(reply.status.as_u16(), 302 | 303),
        "{}",
        reply.status
    );
    let location = reply.header("location").unwrap_or_default();
    assert!(location.contains("onboarding"), "{location}");
}

#[test]
fn bad_conditions_fail_the_config_with_located_errors() {
    let bad = r#"
[[routes]]
name = "bad"
path = "/bad/**"
conditions = [
  { label = "syntax", cel = "claims.metadata.tier ==" },
  { label = "unknown", cel = "metadata.tier == 'premium'" },
  { label = "typo", cel = "claims.sub.startWith('user_')" },
  { label = "syntax", cel = "1 == 1" },
  { cel = "claims.sub == 'x'" },
]

[[routes]]
name = "public-with-condition"
path = "/open/**"
access = "public"
conditions = [{ label = "x", cel = "claims.sub == 'x'" }]
"#;
    let text = config_with_sections(bad);
    let error = doorman::config::Config::parse(&text, "test config", &|_| {
        Some("http://127.0.0.1:1".into())
    })
    .map(|_| ())
    .unwrap_err()
    .to_string();
    for wanted in [
        "route \"bad\" (routes[",
        "conditions[0].cel",
        "is not valid CEL",
        "conditions[1].cel",
        "write `claims.metadata`",
        "conditions[2].cel",
        "\"startWith\"",
        "conditions[3].label",
        "used twice",
        "conditions[3].cel",
        "never reads a claim",
        "conditions[4].label",
        "route \"public-with-condition\"",
    ] {
        assert!(error.contains(wanted), "missing {wanted:?} in:\n{error}");
    }
}
