//! Every row of the contract's decision order, for page and API requests, over HTTP/1.1 and
//! HTTP/2, asserting on the client's answer and on what the upstream received.

use serde_json::{json, Value};

use crate::support::{claims, token, with, without, Harness, RequestExt, NOW};

/// How the client presents itself.
#[derive(Clone, Copy, Debug)]
enum As {
    Page,
    Api,
}

/// What the client must get.
#[derive(Debug)]
enum Expect {
    /// Forwarded; the upstream saw this X-User-Id (or none).
    Forward(Option<&'static str>),
    /// A redirect whose Location is exactly this.
    Redirect(&'static str),
    /// An error status with this JSON reason (API) or this reason in the HTML page.
    Deny(u16, &'static str),
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    token: Option<Value>,
    client: As,
    expect: Expect,
}

fn case(
    name: &'static str,
    method: &'static str,
    path: &'static str,
    token: Option<Value>,
    client: As,
    expect: Expect,
) -> Case {
    Case {
        name,
        method,
        path,
        token,
        client,
        expect,
    }
}

fn not_onboarded() -> Value {
    with(
        claims(),
        "/metadata/onboarding/status",
        json!("in_progress"),
    )
}

fn cases() -> Vec<Case> {
    use As::*;
    use Expect::*;
    vec![
        // 1. ambiguous paths never reach the upstream
        case(
            "dot_segment_is_bad_request",
            "GET",
            "/public/../admin",
            None,
            Api,
            Deny(400, "path_dot_segment"),
        ),
        case(
            "encoded_dot_segment_is_bad_request",
            "GET",
            "/public/%2e%2e/admin",
            Some(claims()),
            Page,
            Deny(400, "path_dot_segment"),
        ),
        case(
            "encoded_slash_is_bad_request",
            "GET",
            "/public%2Fx",
            None,
            Api,
            Deny(400, "path_encoded_slash"),
        ),
        // 4. public routes forward, with identity when a valid token came along
        case(
            "public_route_forwards_anonymous",
            "GET",
            "/public/pricing",
            None,
            Page,
            Forward(None),
        ),
        case(
            "public_route_forwards_identity_of_valid_token",
            "GET",
            "/public/pricing",
            Some(claims()),
            Api,
            Forward(Some("user_1")),
        ),
        case(
            "public_route_ignores_an_expired_token",
            "GET",
            "/",
            Some(with(claims(), "/exp", json!(NOW - 60))),
            Page,
            Forward(None),
        ),
        // 5. no valid token
        case(
            "anonymous_page_redirects_to_sign_in",
            "GET",
            "/dashboard?tab=2",
            None,
            Page,
            Redirect("/sign-in?redirect_url=/dashboard%3Ftab%3D2"),
        ),
        case(
            "anonymous_api_gets_401",
            "GET",
            "/api/projects",
            None,
            Api,
            Deny(401, "token_missing"),
        ),
        case(
            "expired_token_on_page_redirects_to_sign_in",
            "GET",
            "/dashboard",
            Some(with(claims(), "/exp", json!(NOW - 60))),
            Page,
            Redirect("/sign-in?redirect_url=/dashboard"),
        ),
        case(
            "expired_token_on_api_gets_401_token_expired",
            "GET",
            "/api/projects",
            Some(with(claims(), "/exp", json!(NOW - 60))),
            Api,
            Deny(401, "token_expired"),
        ),
        case(
            "wrong_issuer_is_401",
            "GET",
            "/api/x",
            Some(with(claims(), "/iss", json!("https://clerk.test.example/"))),
            Api,
            Deny(401, "token_bad_issuer"),
        ),
        case(
            "pending_session_counts_as_signed_out",
            "GET",
            "/api/x",
            Some(with(claims(), "/sts", json!("pending"))),
            Api,
            Deny(401, "session_pending"),
        ),
        case(
            "unmatched_path_uses_defaults_signed_in",
            "GET",
            "/somewhere/else",
            None,
            Api,
            Deny(401, "token_missing"),
        ),
        case(
            "post_page_redirect_is_303",
            "POST",
            "/dashboard/form",
            None,
            Page,
            Redirect("/sign-in?redirect_url=/dashboard/form"),
        ),
        // 6. onboarding required
        case(
            "unfinished_onboarding_page_redirects_to_onboarding",
            "GET",
            "/dashboard",
            Some(not_onboarded()),
            Page,
            Redirect("/onboarding?redirect_url=/dashboard"),
        ),
        case(
            "unfinished_onboarding_api_gets_403",
            "GET",
            "/api/projects",
            Some(not_onboarded()),
            Api,
            Deny(403, "onboarding_required"),
        ),
        case(
            "missing_onboarding_claim_counts_as_unfinished",
            "GET",
            "/dashboard",
            Some(without(claims(), "/metadata/onboarding")),
            Page,
            Redirect("/onboarding?redirect_url=/dashboard"),
        ),
        case(
            "onboarding_page_never_redirects_to_itself",
            "GET",
            "/onboarding/step-2",
            Some(not_onboarded()),
            Page,
            Forward(Some("user_1")),
        ),
        case(
            "onboarding_skip_route_forwards_unfinished_users",
            "POST",
            "/api/onboarding/step",
            Some(not_onboarded()),
            Api,
            Forward(Some("user_1")),
        ),
        // 7. incomplete_only and finished
        case(
            "finished_user_on_onboarding_goes_to_after_onboarding",
            "GET",
            "/onboarding",
            Some(claims()),
            Page,
            Redirect("/dashboard"),
        ),
        case(
            "finished_user_follows_a_safe_redirect_url",
            "GET",
            "/onboarding?redirect_url=%2Fprojects%2F7",
            Some(claims()),
            Page,
            Redirect("/projects/7"),
        ),
        case(
            "finished_user_never_follows_an_open_redirect",
            "GET",
            "/onboarding?redirect_url=//evil.example",
            Some(claims()),
            Page,
            Redirect("/dashboard"),
        ),
        case(
            "finished_user_api_on_onboarding_route_is_forwarded",
            "GET",
            "/onboarding/state",
            Some(claims()),
            Api,
            Forward(Some("user_1")),
        ),
        // 8. inactive account, unmet requirements
        case(
            "inactive_account_is_403",
            "GET",
            "/dashboard",
            Some(with(claims(), "/metadata/isActive", json!(false))),
            Page,
            Deny(403, "account_inactive"),
        ),
        case(
            "active_claim_of_wrong_type_is_403",
            "GET",
            "/api/x",
            Some(with(claims(), "/metadata/isActive", json!("false"))),
            Api,
            Deny(403, "account_state_invalid"),
        ),
        case(
            "missing_permission_is_403",
            "POST",
            "/api/projects",
            Some(claims()),
            Api,
            Deny(403, "permission_missing"),
        ),
        case(
            "permissions_as_a_string_grant_nothing",
            "POST",
            "/api/projects",
            Some(with(
                claims(),
                "/metadata/permissions",
                json!("create_project"),
            )),
            Api,
            Deny(403, "permission_missing"),
        ),
        case(
            "wrong_user_type_is_403",
            "GET",
            "/vendor/catalog",
            Some(claims()),
            Page,
            Deny(403, "user_type_not_allowed"),
        ),
        case(
            "missing_role_is_403",
            "GET",
            "/admin/users",
            Some(claims()),
            Api,
            Deny(403, "role_missing"),
        ),
        case(
            "missing_org_role_is_403",
            "GET",
            "/org/settings",
            Some(claims()),
            Api,
            Deny(403, "org_role_missing"),
        ),
        case(
            "disabled_feature_flag_is_403",
            "GET",
            "/search/advanced",
            Some(with(
                claims(),
                "/metadata/featureFlags/advanced_search",
                json!(false),
            )),
            Api,
            Deny(403, "feature_flag_disabled"),
        ),
        case(
            "deny_route_is_403_even_signed_in",
            "GET",
            "/closed/x",
            Some(claims()),
            Api,
            Deny(403, "route_denied"),
        ),
        // 9. forward with identity
        case(
            "onboarded_user_reaches_dashboard",
            "GET",
            "/dashboard",
            Some(claims()),
            Page,
            Forward(Some("user_1")),
        ),
        case(
            "permission_from_role_object_grants",
            "GET",
            "/api/projects/7",
            Some(claims()),
            Api,
            Forward(Some("user_1")),
        ),
        case(
            "head_follows_get_rule",
            "HEAD",
            "/api/projects/7",
            Some(claims()),
            Api,
            Forward(Some("user_1")),
        ),
        case(
            "vendor_type_reaches_vendor_area",
            "GET",
            "/vendor/catalog",
            Some(with(
                claims(),
                "/metadata/userType",
                json!("vendor_company"),
            )),
            Page,
            Forward(Some("user_1")),
        ),
        case(
            "v2_org_admin_reaches_org_settings",
            "GET",
            "/org/settings",
            Some(with(
                claims(),
                "/o",
                json!({"id": "org_1", "rol": "admin", "per": "read", "fpm": "1"}),
            )),
            Page,
            Forward(Some("user_1")),
        ),
        case(
            "v2_fpm_permission_grants",
            "PUT",
            "/api/projects/7",
            Some(with(
                with(claims(), "/fea", json!("o:projects")),
                "/o",
                json!({"id": "org_1", "rol": "member", "per": "manage,read", "fpm": "1"}),
            )),
            Api,
            Forward(Some("user_1")),
        ),
        case(
            "v2_fpm_bit_not_set_denies",
            "PUT",
            "/api/projects/7",
            Some(with(
                with(claims(), "/fea", json!("o:projects")),
                "/o",
                json!({"id": "org_1", "rol": "member", "per": "manage,read", "fpm": "2"}),
            )),
            Api,
            Deny(403, "permission_missing"),
        ),
        case(
            "v1_org_permissions_grant",
            "PUT",
            "/api/projects/7",
            Some(with(
                without(claims(), "/v"),
                "/org_permissions",
                json!(["org:projects:manage"]),
            )),
            Api,
            Forward(Some("user_1")),
        ),
        case(
            "v1_org_role_reaches_org_settings",
            "GET",
            "/org/settings/x",
            Some(with(
                with(without(claims(), "/v"), "/org_role", json!("org:admin")),
                "/org_id",
                json!("org_1"),
            )),
            Api,
            Forward(Some("user_1")),
        ),
        case(
            "role_admin_reaches_admin",
            "GET",
            "/admin",
            Some(with(claims(), "/metadata/roles", json!(["admin"]))),
            Page,
            Forward(Some("user_1")),
        ),
    ]
}

async fn run_all(h2: bool) {
    let h = Harness::start().await;
    let mut failures = Vec::new();
    for c in cases() {
        let before = h.echo.count();
        let mut req = h.client.request(c.method, c.path);
        match c.client {
            As::Page => {
                req.headers_mut().insert(
                    "accept",
                    "text/html,application/xhtml+xml,*/*;q=0.8".parse().unwrap(),
                );
                req.headers_mut()
                    .insert("sec-fetch-mode", "navigate".parse().unwrap());
            }
            As::Api => {
                req.headers_mut()
                    .insert("accept", "application/json".parse().unwrap());
            }
        }
        if let Some(claims) = &c.token {
            req = req.bearer(&token(claims));
        }
        let reply = if h2 {
            h.client.send_h2(req).await
        } else {
            h.client.send(req).await
        };
        let forwarded = h.echo.count() > before;
        let ok = match &c.expect {
            Expect::Forward(user) => {
                let seen = h.echo.last();
                reply.status == 200
                    && forwarded
                    && seen.as_ref().and_then(|s| s.header("x-user-id")).as_deref() == *user
                    && seen.as_ref().is_some_and(|s| s.target == c.path)
            }
            Expect::Redirect(loc) => {
                let want = if c.method == "GET" || c.method == "HEAD" {
                    302
                } else {
                    303
                };
                reply.status == want
                    && reply.header("location") == Some(loc)
                    && reply.header("cache-control") == Some("no-store")
                    && !forwarded
            }
            Expect::Deny(status, reason) => {
                let reason_ok = match c.client {
                    As::Api => reply.reason() == *reason,
                    As::Page if *status == 400 => reply.reason() == *reason,
                    As::Page => {
                        reply.text().contains(reason)
                            && reply
                                .header("content-type")
                                .is_some_and(|t| t.starts_with("text/html"))
                    }
                };
                let challenge_ok = *status != 401
                    || reply
                        .header("www-authenticate")
                        .is_some_and(|w| w.starts_with("Bearer"));
                reply.status.as_u16() == *status && reason_ok && challenge_ok && !forwarded
            }
        };
        if !ok {
            failures.push(format!(
                "{} ({} {} as {:?}): expected {:?}, got {} {:?} location={:?} forwarded={forwarded}",
                c.name, c.method, c.path, c.client, c.expect, reply.status, reply.text(), reply.header("location")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    h.doorman.shutdown().await;
}

#[tokio::test]
async fn decision_order_over_http1() {
    run_all(false).await;
}

#[tokio::test]
async fn decision_order_over_http2() {
    run_all(true).await;
}

#[tokio::test]
async fn cookie_token_is_used_when_no_header_and_first_cookie_wins() {
    let h = Harness::start().await;
    let good = token(&claims());
    let other = token(&with(claims(), "/sub", json!("user_2")));
    let mut req = h.client.request("GET", "/dashboard");
    req.headers_mut().insert(
        "cookie",
        format!("theme=dark; __session={good}; __session={other}")
            .parse()
            .unwrap(),
    );
    let reply = h.client.send(req).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        h.echo.last().unwrap().header("x-user-id").as_deref(),
        Some("user_1")
    );
}

#[tokio::test]
async fn header_token_wins_over_cookie_even_when_invalid() {
    let h = Harness::start().await;
    let good = token(&claims());
    let mut req = h.client.request("GET", "/api/projects/1");
    req.headers_mut()
        .insert("cookie", format!("__session={good}").parse().unwrap());
    req.headers_mut()
        .insert("authorization", "Bearer not.a.token".parse().unwrap());
    let reply = h.client.send(req).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.reason(), "token_malformed");
    assert_eq!(h.echo.count(), 0);
}

#[tokio::test]
async fn a_token_stops_working_once_the_clock_passes_exp_plus_skew() {
    let h = Harness::start().await;
    let jwt = token(&claims()); // exp = NOW + 55, skew 5 s
    let call = || async { h.client.api("GET", "/api/projects/1", &jwt).await };
    assert_eq!(call().await.status, 200);
    h.clock.set(NOW + 59);
    assert_eq!(call().await.status, 200, "inside the skew");
    h.clock.set(NOW + 60);
    let reply = call().await;
    assert_eq!(
        (reply.status.as_u16(), reply.reason()),
        (401, "token_expired".to_string())
    );
}
