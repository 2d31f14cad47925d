//! Identity from claims: pointers, roles, permissions, flags, onboarding, activity, and
//! docs/security.md class 3 (claims type confusion).

use super::*;
use crate::token::SessionStatus;
use serde_json::{json, Value};

pub(super) fn pointers() -> ClaimPointers {
    ClaimPointers {
        user_type: Some("/metadata/userType".into()),
        roles: Some("/metadata/roles".into()),
        permissions: Some("/metadata/permissions".into()),
        feature_flags: Some("/metadata/featureFlags".into()),
        onboarding_status: Some("/metadata/onboarding/status".into()),
        active: Some("/metadata/isActive".into()),
        onboarding_complete_values: vec!["completed".into()],
        onboarding_requires: Vec::new(),
        keep_payload: false,
    }
}

pub(super) fn verified(version: u8, extra: Value) -> VerifiedClaims {
    let mut payload =
        json!({"sub": "user_1", "sid": "sess_1", "exp": 1_700_000_060, "iat": 1_700_000_000});
    if let (Some(target), Value::Object(extra)) = (payload.as_object_mut(), extra) {
        target.extend(extra);
    }
    VerifiedClaims {
        sub: "user_1".into(),
        sid: "sess_1".into(),
        iat: Some(1_700_000_000),
        nbf: None,
        exp: 1_700_000_060,
        version,
        status: SessionStatus::Active,
        payload: payload.into(),
    }
}

pub(super) fn identity(metadata: Value) -> Identity {
    Identity::from_claims(&verified(2, json!({ "metadata": metadata })), &pointers())
}

#[test]
fn full_identity_from_v2_claims_and_metadata() {
    let claims = verified(
        2,
        json!({
            "fea": "o:dashboard,o:teams",
            "o": {"id": "org_1", "slg": "acme", "rol": "admin", "per": "manage,read", "fpm": "3,2"},
            "metadata": {
                "userType": "freelancer",
                "roles": ["editor", {"name": "billing", "permissions": ["invoices:read"]}, "editor"],
                "permissions": ["create_project", "invoices:read"],
                "featureFlags": {"beta": true, "alpha": true, "old": false, "weird": "true"},
                "onboarding": {"status": "completed"},
                "isActive": true,
            },
        }),
    );
    let id = Identity::from_claims(&claims, &pointers());
    assert_eq!(id.user_id, "user_1");
    assert_eq!(id.session_id, "sess_1");
    assert_eq!(id.user_type.as_deref(), Some("freelancer"));
    assert_eq!(id.org_id.as_deref(), Some("org_1"));
    assert_eq!(id.org_slug.as_deref(), Some("acme"));
    assert_eq!(id.org_role.as_deref(), Some("org:admin"));
    assert_eq!(id.roles, ["billing", "editor"]);
    assert_eq!(
        id.permissions,
        [
            "create_project",
            "invoices:read",
            "org:dashboard:manage",
            "org:dashboard:read",
            "org:teams:read"
        ]
    );
    assert_eq!(id.feature_flags, ["alpha", "beta"]);
    assert_eq!(id.onboarding_status.as_deref(), Some("completed"));
    assert!(id.onboarding_complete);
    assert_eq!(id.active, Activity::Active);
    assert_eq!(
        (id.expires_at, id.issued_at),
        (1_700_000_060, Some(1_700_000_000))
    );
    assert!(id.has_permission("org:teams:read"));
    assert!(id.has_permission("create_project"));
    assert!(!id.has_permission("org:teams:manage"));
    assert!(id.has_role("billing") && !id.has_role("admin"));
    assert!(id.has_feature_flag("beta") && !id.has_feature_flag("old"));
}

#[test]
fn v1_org_claims_merge_into_permissions() {
    let claims = verified(
        1,
        json!({
            "org_id": "org_9", "org_role": "org:member", "org_permissions": ["org:teams:read"],
            "metadata": {"permissions": ["a"]},
        }),
    );
    let id = Identity::from_claims(&claims, &pointers());
    assert_eq!(id.org_role.as_deref(), Some("org:member"));
    assert_eq!(id.permissions, ["a", "org:teams:read"]);
}

#[test]
fn feature_flags_only_literal_true() {
    let table: &[(&str, Value, &[&str])] = &[
        (
            "mixed",
            json!({"featureFlags": {"a": true, "b": false, "c": "true", "d": 1, "e": null}}),
            &["a"],
        ),
        ("array", json!({"featureFlags": ["a", "b"]}), &[]),
        ("string", json!({"featureFlags": "a"}), &[]),
        ("null", json!({"featureFlags": null}), &[]),
        ("missing", json!({}), &[]),
    ];
    for (name, metadata, want) in table {
        assert_eq!(
            identity(metadata.clone()).feature_flags,
            *want,
            "case {name}"
        );
    }
}

#[test]
fn onboarding_state() {
    let table: &[(&str, Value, Option<&str>, bool)] = &[
        (
            "completed",
            json!({"onboarding": {"status": "completed"}}),
            Some("completed"),
            true,
        ),
        (
            "in_progress",
            json!({"onboarding": {"status": "started"}}),
            Some("started"),
            false,
        ),
        (
            "case_differs",
            json!({"onboarding": {"status": "Completed"}}),
            Some("Completed"),
            false,
        ),
        ("missing_value", json!({}), None, false),
        (
            "null_value",
            json!({"onboarding": {"status": null}}),
            None,
            false,
        ),
        ("number", json!({"onboarding": {"status": 1}}), None, false),
        (
            "object",
            json!({"onboarding": {"status": {"done": true}}}),
            None,
            false,
        ),
        (
            "bool_true_not_listed",
            json!({"onboarding": {"status": true}}),
            Some("true"),
            false,
        ),
        (
            "wrong_nesting",
            json!({"onboarding": "completed"}),
            None,
            false,
        ),
    ];
    for (name, metadata, status, complete) in table {
        let id = identity(metadata.clone());
        assert_eq!(id.onboarding_status.as_deref(), *status, "case {name}");
        assert_eq!(id.onboarding_complete, *complete, "case {name}");
    }

    let mut with_true = pointers();
    with_true.onboarding_complete_values.push("true".into());
    for (value, complete) in [
        (json!(true), true),
        (json!(false), false),
        (json!("true"), true),
    ] {
        let claims = verified(2, json!({"metadata": {"onboarding": {"status": value}}}));
        assert_eq!(
            Identity::from_claims(&claims, &with_true).onboarding_complete,
            complete
        );
    }

    let no_onboarding = ClaimPointers {
        onboarding_status: None,
        ..pointers()
    };
    let id = Identity::from_claims(&verified(2, json!({})), &no_onboarding);
    assert!(id.onboarding_complete && id.onboarding_status.is_none());
}

#[test]
fn activity_from_the_active_claim() {
    let table: &[(&str, Value, Activity)] = &[
        ("true", json!({"isActive": true}), Activity::Active),
        ("false", json!({"isActive": false}), Activity::Inactive),
        ("missing", json!({}), Activity::Active),
        ("null", json!({"isActive": null}), Activity::Active),
        (
            "string_false",
            json!({"isActive": "false"}),
            Activity::Invalid,
        ),
        ("number", json!({"isActive": 0}), Activity::Invalid),
        ("object", json!({"isActive": {}}), Activity::Invalid),
    ];
    for (name, metadata, want) in table {
        assert_eq!(identity(metadata.clone()).active, *want, "case {name}");
    }
    let unconfigured = ClaimPointers {
        active: None,
        ..pointers()
    };
    let claims = verified(2, json!({"metadata": {"isActive": false}}));
    assert_eq!(
        Identity::from_claims(&claims, &unconfigured).active,
        Activity::Active
    );
    assert_eq!(Activity::Invalid.as_str(), "invalid");
}

#[test]
fn user_type_is_a_string_or_nothing() {
    assert_eq!(
        identity(json!({"userType": "vendor"})).user_type.as_deref(),
        Some("vendor")
    );
    for value in [
        json!(1),
        json!(null),
        json!(["vendor"]),
        json!({"t": "vendor"}),
    ] {
        assert_eq!(identity(json!({ "userType": value })).user_type, None);
    }
}

#[test]
fn pointers_are_validated_with_a_fix() {
    let table = [
        ("", Ok(())),
        ("/", Ok(())),
        ("/metadata/roles", Ok(())),
        ("/a~0b/c~1d", Ok(())),
        ("/arr/0", Ok(())),
        ("metadata/roles", Err("write \"/metadata/roles\"")),
        ("/a~2b", Err("\"~0\" for a literal \"~\"")),
        ("/a~", Err("not followed by 0 or 1")),
    ];
    for (pointer, want) in table {
        match (validate_pointer(pointer), want) {
            (Ok(()), Ok(())) => {}
            (Err(msg), Err(needle)) => assert!(msg.contains(needle), "{pointer}: {msg}"),
            (got, want) => panic!("{pointer}: got {got:?}, want {want:?}"),
        }
    }
    let bad = ClaimPointers {
        roles: Some("roles".into()),
        active: Some("/~x".into()),
        ..pointers()
    };
    let problems = bad.validate().unwrap_err();
    assert_eq!(problems.len(), 2);
    assert!(problems[0].starts_with("claims.roles: "));
    assert!(problems[1].starts_with("claims.active: "));
    assert_eq!(pointers().validate(), Ok(()));
}

#[test]
fn escaped_pointer_tokens_reach_odd_keys() {
    let odd = ClaimPointers {
        permissions: Some("/a~1b/c~0d".into()),
        ..ClaimPointers::default()
    };
    let claims = verified(2, json!({"a/b": {"c~d": ["p"]}}));
    assert_eq!(Identity::from_claims(&claims, &odd).permissions, ["p"]);
}
