//! docs/security.md class 3, claims type confusion: permissions as a string, nulls, nested wrong
//! types, role objects without names. Wrong types deny; they never crash or grant.

use super::tests::{identity, pointers, verified};
use super::*;
use serde_json::{json, Value};

#[test]
fn wrong_types_in_permissions_and_roles_grant_nothing() {
    let table: &[(&str, Value, &[&str], &[&str])] = &[
        (
            "permissions_as_string_never_substring_matched",
            json!({"permissions": "create_project,admin"}),
            &[],
            &[],
        ),
        (
            "permissions_with_a_number",
            json!({"permissions": ["a", 1]}),
            &[],
            &[],
        ),
        ("permissions_null", json!({"permissions": null}), &[], &[]),
        (
            "permissions_object",
            json!({"permissions": {"admin": true}}),
            &[],
            &[],
        ),
        (
            "permissions_nested_array",
            json!({"permissions": [["admin"]]}),
            &[],
            &[],
        ),
        ("roles_as_string", json!({"roles": "admin"}), &[], &[]),
        (
            "role_object_without_name",
            json!({"roles": ["a", {"permissions": ["x"]}]}),
            &[],
            &[],
        ),
        (
            "role_name_not_string",
            json!({"roles": [{"name": 1, "permissions": ["x"]}]}),
            &[],
            &[],
        ),
        (
            "role_permissions_string",
            json!({"roles": [{"name": "r", "permissions": "x"}]}),
            &[],
            &[],
        ),
        (
            "role_permissions_null",
            json!({"roles": [{"name": "r", "permissions": null}]}),
            &[],
            &[],
        ),
        (
            "role_permissions_mixed",
            json!({"roles": [{"name": "r", "permissions": ["x", 2]}]}),
            &[],
            &[],
        ),
        (
            "role_element_number",
            json!({"roles": ["admin", 7]}),
            &[],
            &[],
        ),
        (
            "role_element_null",
            json!({"roles": ["admin", null]}),
            &[],
            &[],
        ),
        (
            "role_element_array",
            json!({"roles": [["admin"]]}),
            &[],
            &[],
        ),
        ("roles_null", json!({"roles": null}), &[], &[]),
        (
            "role_object_without_permissions",
            json!({"roles": [{"name": "r"}]}),
            &["r"],
            &[],
        ),
        (
            "bad_roles_keep_good_permissions",
            json!({"roles": [1], "permissions": ["p"]}),
            &[],
            &["p"],
        ),
        (
            "empty_strings_dropped",
            json!({"roles": [""], "permissions": [""]}),
            &[],
            &[],
        ),
    ];
    for (name, metadata, roles, permissions) in table {
        let id = identity(metadata.clone());
        assert_eq!(id.roles, *roles, "case {name}");
        assert_eq!(id.permissions, *permissions, "case {name}");
    }
}

#[test]
fn metadata_of_the_wrong_shape_yields_a_bare_identity() {
    for metadata in [json!(null), json!("x"), json!([1, 2]), json!(42)] {
        let id = identity(metadata.clone());
        assert!(
            id.roles.is_empty() && id.permissions.is_empty(),
            "{metadata}"
        );
        assert!(!id.onboarding_complete, "{metadata}");
        assert_eq!(id.active, Activity::Active, "{metadata}");
    }
    let id = Identity::from_claims(&verified(2, json!({})), &ClaimPointers::default());
    assert_eq!(id.user_id, "user_1");
    assert!(id.onboarding_complete);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z:,0-9 ~/]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(
                    "(name|permissions|roles|o|fea|per|fpm|id|rol|[a-z]{1,3})",
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn from_claims_never_panics(metadata in json_value(), o in json_value(), fea in json_value(), v in 1u8..=2) {
            let claims = verified(v, json!({"metadata": metadata, "o": o, "fea": fea, "org_permissions": fea}));
            let id = Identity::from_claims(&claims, &pointers());
            prop_assert!(id.permissions.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(id.roles.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
