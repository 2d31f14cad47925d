//! Class 3: claims type confusion. Claims of the wrong shape deny (403 with the stable
//! reason of the unmet requirement) and never grant, crash or get substring-matched.

use serde_json::{json, Value};

use crate::support::{
    assert_nothing_forwarded, claims, outcome, refused, token, with, without, Harness,
};

/// Sends each case to `method path` and expects 403 with `reason`, nothing forwarded.
async fn expect_403(
    h: &Harness,
    method: &str,
    path: &str,
    reason: &str,
    cases: Vec<(String, Value)>,
) {
    let before = h.echo.count();
    for (name, c) in cases {
        let reply = h.client.api(method, path, &token(&c)).await;
        assert_eq!(outcome(&reply), refused(403, reason), "case {name}: {c}");
    }
    assert_nothing_forwarded(h, before, "wrong-typed claims");
}

async fn expect_200(h: &Harness, method: &str, path: &str, name: &str, c: &Value) {
    let reply = h.client.api(method, path, &token(c)).await;
    assert_eq!(reply.status, 200, "control {name}: {}", reply.text());
}

fn perms(value: Value) -> Value {
    with(claims(), "/metadata/permissions", value)
}

#[tokio::test]
async fn permissions_as_a_string_are_never_substring_matched() {
    let h = Harness::start().await;
    expect_200(
        &h,
        "POST",
        "/api/projects",
        "array",
        &perms(json!(["create_project"])),
    )
    .await;
    let cases = [
        json!("create_project"),
        json!("create_project,view_project"),
        json!("create_project view_project"),
        json!("xcreate_projectx"),
        json!("[\"create_project\"]"),
    ]
    .into_iter()
    .map(|v| (format!("permissions {v}"), perms(v)))
    .collect();
    expect_403(&h, "POST", "/api/projects", "permission_missing", cases).await;
}

#[tokio::test]
async fn permission_arrays_with_nulls_or_nested_wrong_types_grant_nothing() {
    let h = Harness::start().await;
    let cases = [
        json!(["create_project", null]),
        json!(["create_project", 1]),
        json!([["create_project"]]),
        json!([{"name": "create_project"}]),
        json!({"create_project": true}),
        json!({"0": "create_project"}),
        json!(null),
        json!(true),
    ]
    .into_iter()
    .map(|v| (format!("permissions {v}"), perms(v)))
    .collect();
    expect_403(&h, "POST", "/api/projects", "permission_missing", cases).await;
}

#[tokio::test]
async fn role_objects_without_names_or_with_wrong_types_void_the_roles_claim() {
    let h = Harness::start().await;
    let roles = |v: Value| with(claims(), "/metadata/roles", v);
    expect_200(&h, "GET", "/admin", "string role", &roles(json!(["admin"]))).await;
    expect_200(
        &h,
        "GET",
        "/admin",
        "object role",
        &roles(json!([{"name": "admin"}])),
    )
    .await;
    let cases = [
        json!([{"permissions": ["view_project"]}, "admin"]),
        json!([{"name": null}, "admin"]),
        json!([{"name": ["admin"]}]),
        json!([{"name": 1}, "admin"]),
        json!([{"name": "admin", "permissions": "create_project"}]),
        json!([{"name": "admin", "permissions": [null]}]),
        json!(["admin", null]),
        json!(["admin", ["admin"]]),
        json!("admin"),
        json!({"name": "admin"}),
        json!({"admin": true}),
    ]
    .into_iter()
    .map(|v| (format!("roles {v}"), roles(v)))
    .collect();
    expect_403(&h, "GET", "/admin", "role_missing", cases).await;
    // A nameless role object's permissions are not granted either.
    let cases = vec![(
        "nameless role with create_project".to_string(),
        roles(json!([{"permissions": ["create_project"]}])),
    )];
    expect_403(&h, "POST", "/api/projects", "permission_missing", cases).await;
}

fn org(fpm: Value) -> Value {
    with(
        with(claims(), "/fea", json!("o:projects")),
        "/o",
        json!({"id": "org_1", "rol": "member", "per": "manage", "fpm": fpm}),
    )
}

#[tokio::test]
async fn fpm_masks_that_are_negative_huge_or_not_numbers_grant_nothing() {
    let h = Harness::start().await;
    expect_200(&h, "PUT", "/api/projects/1", "fpm 1", &org(json!("1"))).await;
    // 2^64 + 1: huge but odd; bit 0 is set, so it grants exactly `manage` (and never panics).
    expect_200(
        &h,
        "PUT",
        "/api/projects/1",
        "fpm 2^64+1",
        &org(json!("18446744073709551617")),
    )
    .await;
    let ten_to_400 = format!("1{}", "0".repeat(400));
    let cases = [
        json!("-1"),
        json!("1.5"),
        json!("x"),
        json!(""),
        json!("0x1"),
        json!("1e0"),
        json!("+1"),
        json!("\u{0661}"),
        json!("1180591620717411303424"),
        json!(ten_to_400),
        json!(1),
        json!([1]),
        json!(null),
    ]
    .into_iter()
    .map(|v| (format!("fpm {v}"), org(v)))
    .collect();
    expect_403(&h, "PUT", "/api/projects/1", "permission_missing", cases).await;
}

#[tokio::test]
async fn fpm_masks_are_paired_with_org_features_only_as_clerk_decodes_them() {
    // @clerk/shared indexes o.fpm over the org-scoped `fea` entries only: with
    // fea "u:x,o:projects" and fpm "0,1", projects has mask 0 and Clerk grants nothing.
    let h = Harness::start().await;
    let with_fea = |fea: &str, fpm: &str| with(org(json!(fpm)), "/fea", json!(fea));
    let before = h.echo.count();
    let cases = vec![
        (
            "user feature first".to_string(),
            with_fea("u:x,o:projects", "0,1"),
        ),
        (
            "entry without colon".to_string(),
            with_fea("x,o:projects", "1"),
        ),
    ];
    expect_403(&h, "PUT", "/api/projects/1", "permission_missing", cases).await;
    assert_nothing_forwarded(&h, before, "masks counted over the whole fea list");
    let grant = with_fea("u:x,o:projects", "1,0");
    expect_200(&h, "PUT", "/api/projects/1", "org mask first", &grant).await;
    let seen = h.echo.last().expect("forwarded");
    assert_eq!(
        seen.header("x-user-permissions").as_deref(),
        Some("org:projects:manage,view_project"),
        "{:?}",
        seen.headers
    );
}

#[tokio::test]
async fn org_claims_of_the_wrong_shape_grant_no_org_permission_or_role() {
    let h = Harness::start().await;
    let admin_v2 = with(claims(), "/o", json!({"id": "org_1", "rol": "admin"}));
    expect_200(&h, "GET", "/org/settings", "v2 admin", &admin_v2).await;
    let cases = vec![
        (
            "rol array".into(),
            with(claims(), "/o", json!({"id": "org_1", "rol": ["admin"]})),
        ),
        (
            "rol object".into(),
            with(
                claims(),
                "/o",
                json!({"id": "org_1", "rol": {"name": "admin"}}),
            ),
        ),
        (
            "rol number".into(),
            with(claims(), "/o", json!({"id": "org_1", "rol": 1})),
        ),
        (
            "o string".into(),
            with(claims(), "/o", json!("org_1:admin")),
        ),
        (
            "o array".into(),
            with(claims(), "/o", json!([{"id": "org_1", "rol": "admin"}])),
        ),
        // v2 tokens read only `o`: flat v1 claims smuggled into a v2 token grant nothing.
        (
            "v1 flat role in a v2 token".into(),
            with(claims(), "/org_role", json!("org:admin")),
        ),
        (
            "v1 org_role as array".into(),
            with(without(claims(), "/v"), "/org_role", json!(["org:admin"])),
        ),
    ];
    expect_403(&h, "GET", "/org/settings", "org_role_missing", cases).await;
    let manage = "org:projects:manage";
    let cases = vec![
        (
            "per array".into(),
            with(org(json!("1")), "/o/per", json!(["manage"])),
        ),
        (
            "fea array".into(),
            with(org(json!("1")), "/fea", json!(["o:projects"])),
        ),
        (
            "fea user scope".into(),
            with(org(json!("1")), "/fea", json!("u:projects")),
        ),
        (
            "v1 org_permissions as string".into(),
            with(without(claims(), "/v"), "/org_permissions", json!(manage)),
        ),
        (
            "v1 org_permissions in a v2 token".into(),
            with(claims(), "/org_permissions", json!([manage])),
        ),
    ];
    expect_403(&h, "PUT", "/api/projects/1", "permission_missing", cases).await;
}

#[tokio::test]
async fn user_types_and_feature_flags_of_the_wrong_type_deny() {
    let h = Harness::start().await;
    let user_type = |v: Value| with(claims(), "/metadata/userType", v);
    expect_200(
        &h,
        "GET",
        "/vendor",
        "vendor",
        &user_type(json!("vendor_company")),
    )
    .await;
    let cases = [
        json!(["vendor_company"]),
        json!({"type": "vendor_company"}),
        json!("VENDOR_COMPANY"),
        json!("vendor_company "),
        json!(null),
        json!(1),
    ]
    .into_iter()
    .map(|v| (format!("userType {v}"), user_type(v)))
    .collect();
    expect_403(&h, "GET", "/vendor", "user_type_not_allowed", cases).await;
    let flags = |v: Value| with(claims(), "/metadata/featureFlags", v);
    let cases = [
        json!({"advanced_search": "true"}),
        json!({"advanced_search": 1}),
        json!({"advanced_search": [true]}),
        json!({"advanced_search": null}),
        json!(["advanced_search"]),
        json!("advanced_search"),
        json!(true),
    ]
    .into_iter()
    .map(|v| (format!("featureFlags {v}"), flags(v)))
    .collect();
    expect_403(
        &h,
        "GET",
        "/search/advanced",
        "feature_flag_disabled",
        cases,
    )
    .await;
}

#[tokio::test]
async fn is_active_of_the_wrong_type_is_account_state_invalid() {
    let h = Harness::start().await;
    expect_200(
        &h,
        "GET",
        "/dashboard",
        "isActive null",
        &with(claims(), "/metadata/isActive", Value::Null),
    )
    .await;
    let cases = [
        json!("false"),
        json!("true"),
        json!(0),
        json!(1),
        json!([]),
        json!({}),
    ]
    .into_iter()
    .map(|v| {
        (
            format!("isActive {v}"),
            with(claims(), "/metadata/isActive", v),
        )
    })
    .collect();
    expect_403(&h, "GET", "/dashboard", "account_state_invalid", cases).await;
    let cases = vec![(
        "isActive false".to_string(),
        with(claims(), "/metadata/isActive", json!(false)),
    )];
    expect_403(&h, "GET", "/dashboard", "account_inactive", cases).await;
}

#[tokio::test]
async fn onboarding_status_of_the_wrong_type_is_not_complete() {
    let h = Harness::start().await;
    let status = |v: Value| with(claims(), "/metadata/onboarding/status", v);
    let cases = [
        json!({"value": "completed"}),
        json!(["completed"]),
        json!(1),
        json!(true),
        json!(null),
        json!("Completed"),
        json!("completed "),
    ]
    .into_iter()
    .map(|v| (format!("status {v}"), status(v)))
    .chain([
        (
            "onboarding as string".to_string(),
            with(claims(), "/metadata/onboarding", json!("completed")),
        ),
        (
            "metadata null".to_string(),
            with(claims(), "/metadata", Value::Null),
        ),
        (
            "metadata string".to_string(),
            with(
                claims(),
                "/metadata",
                json!("{\"onboarding\":{\"status\":\"completed\"}}"),
            ),
        ),
    ])
    .collect();
    expect_403(&h, "GET", "/dashboard", "onboarding_required", cases).await;
}
