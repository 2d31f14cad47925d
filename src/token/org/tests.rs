//! Organization claims: v1 flat claims, v2 `fea`/`per`/`fpm` decoding, hostile masks.

use super::*;
use serde_json::json;

fn perms(fea: &str, per: &str, fpm: &str) -> Vec<String> {
    let mut granted = feature_permissions(fea, per, fpm);
    granted.sort();
    granted
}

fn strings(items: &[&str]) -> Vec<String> {
    let mut items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    items.sort();
    items
}

#[test]
fn clerk_docs_example_decodes_to_exactly_three_permissions() {
    let got = perms("o:dashboard,o:teams", "manage,read", "3,2");
    let want = strings(&[
        "org:dashboard:manage",
        "org:dashboard:read",
        "org:teams:read",
    ]);
    assert_eq!(got, want);
}

#[test]
fn decodes_masks_least_significant_bit_first() {
    let five = "read,create,update,delete,revoke";
    let table: &[(&str, &str, &str, &str, &[&str])] = &[
        (
            "one_bit_each",
            "o:impersonation,o:memberships",
            "read,manage",
            "1,3",
            &[
                "org:impersonation:read",
                "org:memberships:manage",
                "org:memberships:read",
            ],
        ),
        (
            "five_permissions",
            "o:repositories,o:projects",
            five,
            "7,21",
            &[
                "org:projects:read",
                "org:projects:revoke",
                "org:projects:update",
                "org:repositories:create",
                "org:repositories:read",
                "org:repositories:update",
            ],
        ),
        (
            "zero_mask_grants_nothing",
            "o:a,o:b",
            "read",
            "0,1",
            &["org:b:read"],
        ),
        (
            "leading_zeros",
            "o:a",
            "read,manage",
            "0002",
            &["org:a:manage"],
        ),
        (
            "spaces_are_trimmed",
            " o:a , o:b ",
            " read , manage ",
            " 1 , 2 ",
            &["org:a:read", "org:b:manage"],
        ),
        (
            "bits_beyond_per_are_ignored",
            "o:a",
            "read",
            "3",
            &["org:a:read"],
        ),
        (
            "empty_permission_names_skipped",
            "o:a",
            "read,,manage",
            "7",
            &["org:a:manage", "org:a:read"],
        ),
    ];
    for (name, fea, per, fpm, want) in table {
        assert_eq!(perms(fea, per, fpm), strings(want), "case {name}");
    }
}

#[test]
fn masks_are_indexed_over_org_scoped_features_only_as_clerk_shared_does() {
    // per = "manage,read": bit 0 is manage, bit 1 is read.
    let table: &[(&str, &str, &str, &[&str])] = &[
        // The case: mask 0 is reports' mask, so nothing is granted.
        ("issue_user_feature_first", "u:x,o:reports", "0,1", &[]),
        (
            "user_feature_first",
            "u:impersonation,o:dashboard",
            "3,1",
            &["org:dashboard:manage", "org:dashboard:read"],
        ),
        (
            "user_feature_last",
            "o:dashboard,u:impersonation",
            "1,3",
            &["org:dashboard:manage"],
        ),
        (
            "user_features_between",
            "o:a,u:x,u:y,o:b",
            "1,2",
            &["org:a:manage", "org:b:read"],
        ),
        (
            "ou_scope_counts_as_org",
            "ou:payments,u:x",
            "3,3",
            &["org:payments:manage", "org:payments:read"],
        ),
        (
            "uo_scope_counts_as_org",
            "u:x,uo:payments",
            "2",
            &["org:payments:read"],
        ),
        (
            "unknown_scopes_are_not_listed",
            "x:a,org:b,O:c,o:d",
            "3",
            &["org:d:manage", "org:d:read"],
        ),
        // splitByScope throws on an entry without `:`: no organization permission at all.
        (
            "entry_without_colon_grants_nothing",
            "dashboard,o:teams",
            "3,1",
            &[],
        ),
        ("trailing_empty_entry_grants_nothing", "o:teams,", "1", &[]),
        // Stricter than Clerk: unusable names keep their index but grant nothing.
        ("empty_feature_name", "o:,o:b", "1,1", &["org:b:manage"]),
        (
            "colon_in_feature_name",
            "o:a:b,o:c",
            "1,1",
            &["org:c:manage"],
        ),
    ];
    for (name, fea, fpm, want) in table {
        assert_eq!(perms(fea, "manage,read", fpm), strings(want), "case {name}");
    }
}

/// Clerk's decoder as `@clerk/shared` (packages/shared/src/jwtPayloadParser.ts with
/// splitByScope from authorization.ts) states it, written out independently: the reference
/// the property below compares against. `None` where Clerk throws.
fn clerk_reference(fea: &str, per: &str, fpm: &str) -> Option<Vec<String>> {
    let mut org = Vec::new();
    if !fea.is_empty() {
        for part in fea.split(',') {
            let part = part.trim();
            let colon = part.find(':')?;
            let (scope, value) = (&part[..colon], &part[colon + 1..]);
            if scope == "o" || scope == "ou" || scope == "uo" {
                org.push(value.to_string());
            }
        }
    }
    if per.is_empty() || fpm.is_empty() {
        return Some(Vec::new());
    }
    let permissions: Vec<&str> = per.split(',').map(str::trim).collect();
    let masks: Vec<Vec<u8>> = fpm
        .split(',')
        .map(|m| {
            let m = m.trim();
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_digit()) {
                return Vec::new();
            }
            // Repeated halving of the decimal string, least significant bit first.
            let mut digits: Vec<u8> = m.bytes().map(|b| b - b'0').collect();
            let mut bits = Vec::new();
            while digits.iter().any(|d| *d != 0) {
                let mut remainder = 0;
                for d in digits.iter_mut() {
                    let value = remainder * 10 + *d;
                    *d = value / 2;
                    remainder = value % 2;
                }
                bits.push(remainder);
            }
            bits
        })
        .collect();
    let mut out = Vec::new();
    for (i, feature) in org.iter().enumerate() {
        let Some(bits) = masks.get(i) else { continue };
        for (j, bit) in bits.iter().enumerate().take(permissions.len()) {
            if *bit == 1 {
                out.push(format!("org:{feature}:{}", permissions[j]));
            }
        }
    }
    Some(out)
}

#[test]
fn hostile_masks_grant_nothing_for_their_feature() {
    let masks = [
        "-1", "1.5", "x", "", " ", "+3", "0x3", "3e0", "1_0", "٣", "３", "3 3", "NaN", "Infinity",
    ];
    for mask in masks {
        let got = perms("o:a,o:b", "read,manage", &format!("{mask},1"));
        assert_eq!(got, strings(&["org:b:read"]), "mask {mask:?}");
    }
}

#[test]
fn mask_and_feature_counts_may_differ() {
    assert_eq!(perms("o:a", "read", "1,1,1,1"), strings(&["org:a:read"]));
    assert_eq!(perms("o:a,o:b,o:c", "read", "1"), strings(&["org:a:read"]));
    assert_eq!(perms("o:a", "read", ""), Vec::<String>::new());
    assert_eq!(perms("", "read", "1"), Vec::<String>::new());
    assert_eq!(perms("o:a", "", "1"), Vec::<String>::new());
}

/// The low 64 bits of a decimal string, computed independently with wrapping u64 arithmetic.
fn low_u64(digits: &str) -> u64 {
    digits.bytes().fold(0u64, |acc, d| {
        acc.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
    })
}

#[test]
fn huge_masks_are_decoded_exactly_without_overflow() {
    let per: Vec<String> = (0..70).map(|j| format!("p{j}")).collect();
    let per = per.join(",");
    let masks = [
        "18446744073709551619".to_owned(),                    // 2^64 + 3
        "18446744073709551616".to_owned(),                    // 2^64
        "340282366920938463463374607431768211457".to_owned(), // 2^128 + 1
        "9".repeat(300),
        format!("1{}", "0".repeat(299)),
        "123456789".repeat(40),
    ];
    for mask in masks {
        let got = perms("o:f", &per, &mask);
        let low = low_u64(&mask);
        for j in 0..64 {
            let has = got.contains(&format!("org:f:p{j}"));
            assert_eq!(has, (low >> j) & 1 == 1, "mask {mask} bit {j}");
        }
    }
    // 2^64: bit 64 is the only one set.
    assert_eq!(
        perms("o:f", &per, "18446744073709551616"),
        strings(&["org:f:p64"])
    );
    // Long masks with few permissions stay cheap and exact.
    assert_eq!(
        perms("o:f", "a,b", &format!("{}3", "0".repeat(5000))),
        strings(&["org:f:a", "org:f:b"])
    );
}

#[test]
fn v1_flat_claims() {
    let payload = json!({
        "org_id": "org_1", "org_slug": "acme", "org_role": "org:admin",
        "org_permissions": ["org:billing:manage", "org:teams:read"],
    });
    let org = Organization::from_payload(&payload, 1);
    assert_eq!(org.id.as_deref(), Some("org_1"));
    assert_eq!(org.slug.as_deref(), Some("acme"));
    assert_eq!(org.role.as_deref(), Some("org:admin"));
    assert_eq!(org.permissions, ["org:billing:manage", "org:teams:read"]);

    let hostile = [
        json!({"org_permissions": "org:billing:manage"}),
        json!({"org_permissions": ["org:billing:manage", 1]}),
        json!({"org_permissions": [["org:billing:manage"]]}),
        json!({"org_permissions": {"org:billing:manage": true}}),
        json!({"org_permissions": null, "org_id": 5, "org_role": ["org:admin"], "org_slug": null}),
    ];
    for payload in hostile {
        assert_eq!(
            Organization::from_payload(&payload, 1),
            Organization::default(),
            "{payload}"
        );
    }
}

#[test]
fn v2_org_object() {
    let payload = json!({
        "v": 2, "fea": "o:dashboard,o:teams",
        "o": {"id": "org_1", "slg": "acme", "rol": "admin", "per": "manage,read", "fpm": "3,2"},
        "org_permissions": ["org:ignored:in_v2"],
    });
    let org = Organization::from_payload(&payload, 2);
    assert_eq!(org.id.as_deref(), Some("org_1"));
    assert_eq!(org.slug.as_deref(), Some("acme"));
    assert_eq!(org.role.as_deref(), Some("org:admin"));
    let mut got = org.permissions;
    got.sort();
    assert_eq!(
        got,
        strings(&[
            "org:dashboard:manage",
            "org:dashboard:read",
            "org:teams:read"
        ])
    );
    // v1 readers ignore `o`.
    assert_eq!(
        Organization::from_payload(&payload, 1).permissions,
        ["org:ignored:in_v2"]
    );
}

#[test]
fn v2_wrong_types_contribute_nothing() {
    let base =
        || json!({"fea": "o:a", "o": {"id": "org_1", "rol": "admin", "per": "read", "fpm": "1"}});
    let mutations: &[(&str, &str, serde_json::Value)] = &[
        ("fea_array", "/fea", json!(["o:a"])),
        ("per_array", "/o/per", json!(["read"])),
        ("fpm_number", "/o/fpm", json!(1)),
        ("fpm_array", "/o/fpm", json!([1])),
        ("fea_null", "/fea", json!(null)),
    ];
    for (name, pointer, value) in mutations {
        let mut payload = base();
        *payload.pointer_mut(pointer).unwrap() = value.clone();
        let org = Organization::from_payload(&payload, 2);
        assert!(org.permissions.is_empty(), "case {name}");
        assert_eq!(org.role.as_deref(), Some("org:admin"), "case {name}");
    }
    for o in [json!("org_1"), json!(null), json!([1]), json!(3)] {
        let payload = json!({"fea": "o:a", "o": o});
        assert_eq!(
            Organization::from_payload(&payload, 2),
            Organization::default()
        );
    }
    let empty_role = json!({"o": {"id": "org_1", "rol": ""}});
    assert_eq!(Organization::from_payload(&empty_role, 2).role, None);
    assert_eq!(
        Organization::from_payload(&json!([1, 2]), 2),
        Organization::default()
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decoding_never_grants_outside_per_and_org_features(
            fea in proptest::collection::vec("(o|u|ou|uo|x|)(:)?[a-c:]{0,3}", 0..8),
            per in proptest::collection::vec("[a-c: ]{0,3}", 0..8),
            fpm in proptest::collection::vec("[0-9]{0,30}|-1|x|1\\.5|[0-9 +-]{0,4}", 0..10),
        ) {
            let (fea, per, fpm) = (fea.join(","), per.join(","), fpm.join(","));
            let names: Vec<&str> = per.split(',').map(str::trim).collect();
            let features: Vec<&str> = fea.split(',').map(str::trim).collect();
            for granted in feature_permissions(&fea, &per, &fpm) {
                let rest = granted.strip_prefix("org:").expect("org: prefix");
                let (feature, name) = rest.split_once(':').expect("two parts");
                prop_assert!(!name.contains(':') && !name.is_empty());
                prop_assert!(names.contains(&name), "{granted} not in per {per:?}");
                let org_entry = ["o:", "ou:", "uo:"].map(|scope| format!("{scope}{feature}"));
                prop_assert!(features.iter().all(|entry| entry.contains(':')));
                prop_assert!(
                    features.iter().any(|entry| org_entry.iter().any(|e| e == entry)),
                    "{granted} not from an org feature of {fea:?}"
                );
            }
        }

        #[test]
        fn decoding_equals_clerks_decoder_for_usable_names(
            fea in proptest::collection::vec("(o|u|ou|uo|x):[a-d]{1,2}", 0..8),
            per in proptest::collection::vec("[a-d]{1,2}", 1..8),
            fpm in proptest::collection::vec("[0-9]{0,25}|x|-1", 0..10),
        ) {
            let (fea, per, fpm) = (fea.join(","), per.join(","), fpm.join(","));
            let mut want = clerk_reference(&fea, &per, &fpm).unwrap_or_default();
            want.sort();
            prop_assert_eq!(perms(&fea, &per, &fpm), want, "fea {:?} fpm {:?}", fea, fpm);
        }

        #[test]
        fn decoding_never_panics_on_arbitrary_text(fea in ".{0,40}", per in ".{0,40}", fpm in ".{0,60}") {
            let _ = feature_permissions(&fea, &per, &fpm);
        }
    }
}
