//! `decide` as a table: every row of the decision order, page and API.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method, Uri};

use super::decide;
use crate::config::Config;
use crate::decision::Auth;
use crate::decision::Decision;
use crate::request::Facts;
use crate::token::claims::{Activity, Identity};
use crate::token::error::TokenError;

mod edges;

const CONFIG: &str = r#"
[clerk]
issuer = "https://clerk.example.com"
public_key_pem = "-----BEGIN PUBLIC KEY-----"
[claims]
onboarding_status = "/metadata/onboarding"
[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"
[defaults]
access = "signed_in"
[[routes]]
name = "public"
path = "/public/**"
access = "public"
[[routes]]
name = "onboarding"
path = "/onboarding/**"
onboarding = "incomplete_only"
[[routes]]
name = "setup"
path = "/setup/**"
onboarding = "skip"
[[routes]]
name = "api"
path = "/api/**"
respond = "api"
[[routes]]
name = "page"
path = "/page/**"
respond = "page"
[[routes]]
name = "vendor"
path = "/vendor/**"
user_types = ["vendor_company"]
[[routes]]
name = "admin"
path = "/admin/**"
roles_any = ["admin", "staff"]
[[routes]]
name = "org"
path = "/org/**"
org_roles_any = ["org:admin"]
[[routes]]
name = "all"
path = "/all/**"
permissions_all = ["a", "b"]
[[routes]]
name = "any"
path = "/any/**"
permissions_any = ["a", "b"]
[[routes]]
name = "flag"
path = "/flag/**"
feature_flags_all = ["x"]
[[routes]]
name = "closed"
path = "/closed/**"
access = "deny"
"#;

fn config() -> Config {
    Config::parse(CONFIG, "test", &|_| None).unwrap()
}

fn user() -> Identity {
    Identity {
        user_id: "user_1".into(),
        session_id: "sess_1".into(),
        user_type: Some("freelancer".into()),
        org_id: None,
        org_slug: None,
        org_role: None,
        roles: vec!["member".into()],
        permissions: vec!["a".into()],
        feature_flags: vec![],
        onboarding_status: Some("completed".into()),
        onboarding_complete: true,
        active: Activity::Active,
        expires_at: i64::MAX,
        issued_at: None,
        ..Identity::default()
    }
}

fn valid(f: impl FnOnce(&mut Identity)) -> Auth {
    let mut u = user();
    f(&mut u);
    Auth::Valid(Arc::new(u))
}

fn run(config: &Config, path: &str, page: bool, auth: &Auth) -> Decision {
    let method = Method::GET;
    let uri: Uri = path.parse().unwrap();
    let mut headers = HeaderMap::new();
    if page {
        headers.insert("sec-fetch-mode", HeaderValue::from_static("navigate"));
    }
    let facts = Facts::read(&method, &uri, &headers).unwrap();
    let route = config.route_for(&method, &facts.path);
    decide(
        &facts,
        &route.policy,
        auth,
        &crate::decide::Settings::of(config),
    )
}

#[test]
fn decision_order_table() {
    let c = config();
    let fwd = Decision::Forward;
    let sign_in = |r| Decision::RedirectSignIn { reason: id(r) };
    let unauth = |r| Decision::Unauthorized { reason: id(r) };
    let forbid = |r| Decision::Forbidden { reason: id(r) };
    let incomplete = || valid(|u| u.onboarding_complete = false);
    let table: Vec<(&str, &str, bool, Auth, Decision)> = vec![
        (
            "public_anonymous",
            "/public/x",
            true,
            Auth::Anonymous,
            fwd.clone(),
        ),
        (
            "public_with_bad_token",
            "/public/x",
            false,
            Auth::Invalid(TokenError::BadSignature),
            fwd.clone(),
        ),
        (
            "deny_route_even_signed_in",
            "/closed/x",
            false,
            valid(|_| {}),
            forbid("route_denied"),
        ),
        (
            "anonymous_page",
            "/x",
            true,
            Auth::Anonymous,
            sign_in("token_missing"),
        ),
        (
            "anonymous_api",
            "/x",
            false,
            Auth::Anonymous,
            unauth("token_missing"),
        ),
        (
            "expired_page",
            "/x",
            true,
            Auth::Invalid(TokenError::Expired),
            sign_in("token_expired"),
        ),
        (
            "expired_api",
            "/x",
            false,
            Auth::Invalid(TokenError::Expired),
            unauth("token_expired"),
        ),
        (
            "keys_unavailable_is_503",
            "/x",
            true,
            Auth::Invalid(TokenError::KeysUnavailable),
            Decision::Unavailable {
                reason: id("keys_unavailable"),
            },
        ),
        (
            "respond_api_overrides_navigation",
            "/api/x",
            true,
            Auth::Anonymous,
            unauth("token_missing"),
        ),
        (
            "respond_page_overrides_api_client",
            "/page/x",
            false,
            Auth::Anonymous,
            sign_in("token_missing"),
        ),
        (
            "onboarding_incomplete_page",
            "/x",
            true,
            incomplete(),
            Decision::RedirectOnboarding {
                reason: crate::reason::Reason::OnboardingRequired,
            },
        ),
        (
            "onboarding_incomplete_api",
            "/x",
            false,
            incomplete(),
            forbid("onboarding_required"),
        ),
        (
            "onboarding_loop_guard",
            "/onboarding/step",
            true,
            incomplete(),
            fwd.clone(),
        ),
        (
            "onboarding_skip_route",
            "/setup/x",
            true,
            incomplete(),
            fwd.clone(),
        ),
        (
            "incomplete_only_finished_page",
            "/onboarding",
            true,
            valid(|_| {}),
            Decision::RedirectAfterOnboarding {
                to: "/dashboard".into(),
            },
        ),
        (
            "incomplete_only_finished_safe_return",
            "/onboarding?redirect_url=%2Fpage%2F1",
            true,
            valid(|_| {}),
            Decision::RedirectAfterOnboarding {
                to: "/page/1".into(),
            },
        ),
        (
            "incomplete_only_return_into_onboarding_ignored",
            "/onboarding?redirect_url=/onboarding/2",
            true,
            valid(|_| {}),
            Decision::RedirectAfterOnboarding {
                to: "/dashboard".into(),
            },
        ),
        (
            "incomplete_only_open_redirect_ignored",
            "/onboarding?redirect_url=/%5Cevil",
            true,
            valid(|_| {}),
            Decision::RedirectAfterOnboarding {
                to: "/dashboard".into(),
            },
        ),
        (
            "incomplete_only_finished_api_forwards",
            "/onboarding/x",
            false,
            valid(|_| {}),
            fwd.clone(),
        ),
        (
            "inactive_after_onboarding",
            "/x",
            false,
            valid(|u| u.active = Activity::Inactive),
            forbid("account_inactive"),
        ),
        (
            "inactive_not_onboarded_goes_to_onboarding_first",
            "/x",
            true,
            valid(|u| {
                u.active = Activity::Inactive;
                u.onboarding_complete = false;
            }),
            Decision::RedirectOnboarding {
                reason: crate::reason::Reason::OnboardingRequired,
            },
        ),
        (
            "active_invalid",
            "/x",
            false,
            valid(|u| u.active = Activity::Invalid),
            forbid("account_state_invalid"),
        ),
        (
            "user_type_denied",
            "/vendor/x",
            false,
            valid(|_| {}),
            forbid("user_type_not_allowed"),
        ),
        (
            "user_type_missing_denied",
            "/vendor/x",
            false,
            valid(|u| u.user_type = None),
            forbid("user_type_not_allowed"),
        ),
        (
            "user_type_allowed",
            "/vendor/x",
            false,
            valid(|u| u.user_type = Some("vendor_company".into())),
            fwd.clone(),
        ),
        (
            "role_denied",
            "/admin/x",
            false,
            valid(|_| {}),
            forbid("role_missing"),
        ),
        (
            "role_any_allowed",
            "/admin/x",
            false,
            valid(|u| u.roles = vec!["staff".into()]),
            fwd.clone(),
        ),
        (
            "org_role_denied",
            "/org/x",
            false,
            valid(|u| u.org_role = Some("org:member".into())),
            forbid("org_role_missing"),
        ),
        (
            "org_role_allowed",
            "/org/x",
            false,
            valid(|u| u.org_role = Some("org:admin".into())),
            fwd.clone(),
        ),
        (
            "permissions_all_partial_denied",
            "/all/x",
            false,
            valid(|_| {}),
            forbid("permission_missing"),
        ),
        (
            "permissions_all_allowed",
            "/all/x",
            false,
            valid(|u| u.permissions = vec!["a".into(), "b".into()]),
            fwd.clone(),
        ),
        (
            "permissions_any_allowed",
            "/any/x",
            false,
            valid(|u| u.permissions = vec!["b".into()]),
            fwd.clone(),
        ),
        (
            "permissions_any_denied",
            "/any/x",
            false,
            valid(|u| u.permissions = vec![]),
            forbid("permission_missing"),
        ),
        (
            "flag_denied",
            "/flag/x",
            false,
            valid(|_| {}),
            forbid("feature_flag_disabled"),
        ),
        (
            "flag_allowed",
            "/flag/x",
            false,
            valid(|u| u.feature_flags = vec!["x".into()]),
            fwd.clone(),
        ),
        (
            "default_signed_in_forwards",
            "/x",
            false,
            valid(|_| {}),
            fwd.clone(),
        ),
    ];
    let mut failures = Vec::new();
    for (name, path, page, auth, want) in table {
        let got = run(&c, path, page, &auth);
        if got != want {
            failures.push(format!(
                "{name}: {path} page={page}: want {want:?}, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The reason with the documented id `id`.
fn id(id: &str) -> crate::reason::Reason {
    crate::reason::Reason::from_id(id).unwrap_or_else(|| panic!("no reason {id:?}"))
}
