//! Shared by the `claims` and `token_verify` targets: an independent model of what
//! `Identity::from_claims` and `feature_permissions` must produce, written from the module
//! docs of `src/token/claims.rs` and `src/token/org.rs` (not from their code).

#![allow(dead_code)]

use doorman::token::claims::{Activity, ClaimPointers, Identity};
use doorman::token::org::{feature_permissions, Organization};
use doorman::token::verify::VerifiedClaims;
use serde_json::Value;

/// The `[claims]` section of the repo's `config.toml`.
pub fn config_pointers() -> ClaimPointers {
    ClaimPointers {
        user_type: Some("/metadata/userType".into()),
        roles: Some("/metadata/roles".into()),
        permissions: Some("/metadata/permissions".into()),
        feature_flags: Some("/metadata/featureFlags".into()),
        onboarding_status: Some("/metadata/onboarding/status".into()),
        onboarding_complete_values: vec!["completed".into()],
        active: Some("/metadata/isActive".into()),
    }
}

/// Other pointer sets: top-level claims, the whole payload, escaped keys, nothing.
pub fn pointer_sets() -> [ClaimPointers; 4] {
    let top = ClaimPointers {
        user_type: Some("/user_type".into()),
        roles: Some("/roles".into()),
        permissions: Some("/permissions".into()),
        feature_flags: Some("/flags".into()),
        onboarding_status: Some("/onboarding".into()),
        onboarding_complete_values: vec!["done".into(), "true".into()],
        active: Some("/active".into()),
    };
    let whole = ClaimPointers {
        user_type: Some("".into()),
        roles: Some("/r/0".into()),
        permissions: Some("/p~1q/~0".into()),
        feature_flags: Some("".into()),
        onboarding_status: Some("/o/1".into()),
        onboarding_complete_values: vec![],
        active: Some("".into()),
    };
    [config_pointers(), top, whole, ClaimPointers::default()]
}

fn at<'a>(payload: &'a Value, pointer: &Option<String>) -> Option<&'a Value> {
    payload.pointer(pointer.as_deref()?)
}

fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    match value {
        Some(Value::Array(items)) => items.iter().map(|v| v.as_str().map(String::from)).collect(),
        _ => None,
    }
}

/// Roles claim per the docs: strings or `{"name": string, "permissions"?: [string]}`; one
/// malformed element and the whole claim contributes nothing.
fn roles_model(value: Option<&Value>) -> (Vec<String>, Vec<String>) {
    let Some(Value::Array(items)) = value else {
        return Default::default();
    };
    let (mut names, mut perms) = (Vec::new(), Vec::new());
    for item in items {
        match item {
            Value::String(name) => names.push(name.clone()),
            Value::Object(role) => {
                let Some(Value::String(name)) = role.get("name") else {
                    return Default::default();
                };
                names.push(name.clone());
                if let Some(granted) = role.get("permissions") {
                    let Some(granted) = strings(Some(granted)) else {
                        return Default::default();
                    };
                    perms.extend(granted);
                }
            }
            _ => return Default::default(),
        }
    }
    (names, perms)
}

fn set(mut items: Vec<String>) -> Vec<String> {
    items.retain(|s| !s.is_empty());
    items.sort();
    items.dedup();
    items
}

fn strictly_sorted(items: &[String]) -> bool {
    items.windows(2).all(|w| w[0] < w[1]) && items.iter().all(|s| !s.is_empty())
}

/// The organization per docs/clerk.md, "Tokens: what is verified" as the org module docs describe it.
fn org_model(payload: &Value, version: u8) -> (Option<String>, Option<String>, Option<String>, Vec<String>) {
    let non_empty = |v: Option<&Value>| match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let Some(claims) = payload.as_object() else {
        return (None, None, None, vec![]);
    };
    if version == 2 {
        let Some(Value::Object(org)) = claims.get("o") else {
            return (None, None, None, vec![]);
        };
        let perms = match (claims.get("fea"), org.get("per"), org.get("fpm")) {
            (Some(Value::String(f)), Some(Value::String(p)), Some(Value::String(m))) => {
                feature_permissions_model(f, p, m)
            }
            _ => vec![],
        };
        (
            non_empty(org.get("id")),
            non_empty(org.get("slg")),
            non_empty(org.get("rol")).map(|r| format!("org:{r}")),
            perms,
        )
    } else {
        (
            non_empty(claims.get("org_id")),
            non_empty(claims.get("org_slug")),
            non_empty(claims.get("org_role")),
            strings(claims.get("org_permissions")).unwrap_or_default(),
        )
    }
}

/// Calls `Identity::from_claims` and checks it against the model. Returns the identity.
pub fn check_identity(claims: &VerifiedClaims, pointers: &ClaimPointers) -> Identity {
    let id = Identity::from_claims(claims, pointers);
    let payload = claims.payload.value();

    assert_eq!(id.user_id, claims.sub);
    assert_eq!(id.session_id, claims.sid);
    assert_eq!(id.expires_at, claims.exp);
    assert_eq!(id.issued_at, claims.iat);
    assert!(strictly_sorted(&id.roles), "roles not a sorted set: {:?}", id.roles);
    assert!(strictly_sorted(&id.permissions), "permissions not a sorted set: {:?}", id.permissions);
    assert!(strictly_sorted(&id.feature_flags), "flags not a sorted set: {:?}", id.feature_flags);
    for p in &id.permissions {
        assert!(id.has_permission(p));
    }
    for r in &id.roles {
        assert!(id.has_role(r));
    }
    for f in &id.feature_flags {
        assert!(id.has_feature_flag(f));
    }
    assert!(!id.has_permission("") && !id.has_role("") && !id.has_feature_flag(""));

    // Organization.
    let org = Organization::from_payload(payload, claims.version);
    let (org_id, org_slug, org_role, org_perms) = org_model(payload, claims.version);
    assert_eq!(org.id, org_id);
    assert_eq!(org.slug, org_slug);
    assert_eq!(org.role, org_role);
    assert_eq!(org.permissions, org_perms);
    assert_eq!(id.org_id, org.id);
    assert_eq!(id.org_slug, org.slug);
    assert_eq!(id.org_role, org.role);
    if claims.version == 2 {
        if let Some(role) = &id.org_role {
            assert!(role.starts_with("org:"));
        }
    }

    // Roles and effective permissions: exactly the union, wrong types contribute nothing.
    let (role_names, role_perms) = roles_model(at(payload, &pointers.roles));
    assert_eq!(id.roles, set(role_names));
    let mut perms = strings(at(payload, &pointers.permissions)).unwrap_or_default();
    perms.extend(role_perms);
    perms.extend(org_perms);
    assert_eq!(id.permissions, set(perms));

    // Feature flags: only a literal `true`, never an empty name.
    let flags = match at(payload, &pointers.feature_flags) {
        Some(Value::Object(map)) => set(
            map.iter()
                .filter(|(_, v)| **v == Value::Bool(true))
                .map(|(k, _)| k.clone())
                .collect(),
        ),
        _ => vec![],
    };
    assert_eq!(id.feature_flags, flags);

    // user_type: a string or nothing.
    let user_type = at(payload, &pointers.user_type).and_then(Value::as_str).map(String::from);
    assert_eq!(id.user_type, user_type);

    // Onboarding.
    let listed = |s: &str| pointers.onboarding_complete_values.iter().any(|v| v == s);
    let onboarding = if pointers.onboarding_status.is_none() {
        (None, true)
    } else {
        match at(payload, &pointers.onboarding_status) {
            Some(Value::String(s)) => (Some(s.clone()), listed(s)),
            Some(Value::Bool(b)) => (Some(b.to_string()), *b && listed("true")),
            _ => (None, false),
        }
    };
    assert_eq!((id.onboarding_status.clone(), id.onboarding_complete), onboarding);

    // Activity: wrong types are Invalid (deny), never Active.
    let active = if pointers.active.is_none() {
        Activity::Active
    } else {
        match at(payload, &pointers.active) {
            None | Some(Value::Null) | Some(Value::Bool(true)) => Activity::Active,
            Some(Value::Bool(false)) => Activity::Inactive,
            Some(_) => Activity::Invalid,
        }
    };
    assert_eq!(id.active, active);
    let _ = id.active.as_str();
    id
}

/// The low `width` bits of a decimal digit string, least significant first, by repeated
/// halving of the decimal number (independent of the limb arithmetic in `org.rs`).
fn decimal_low_bits(digits: &str, width: usize) -> Vec<bool> {
    let mut number: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
    let mut bits = vec![false; width];
    let mut start = 0; // number[start..] is the value; leading zeros skipped
    for bit in bits.iter_mut() {
        while start < number.len() && number[start] == 0 {
            start += 1;
        }
        if start == number.len() {
            break; // zero: every higher bit is 0
        }
        *bit = number[number.len() - 1] % 2 == 1;
        let mut remainder = 0u8;
        for d in number[start..].iter_mut() {
            let value = remainder * 10 + *d;
            *d = value / 2;
            remainder = value % 2;
        }
    }
    bits
}

fn plain(name: &str) -> bool {
    !name.is_empty() && !name.contains(':')
}

/// `feature_permissions` as the org module docs specify it.
pub fn feature_permissions_model(fea: &str, per: &str, fpm: &str) -> Vec<String> {
    // @clerk/shared's splitByScope: the org-scoped entries, in order; an entry without `:`
    // throws there, so nothing is granted.
    let mut features = Vec::new();
    for entry in fea.split(',') {
        let Some((scope, feature)) = entry.trim().split_once(':') else {
            return Vec::new();
        };
        if matches!(scope, "o" | "ou" | "uo") {
            features.push(feature);
        }
    }
    let names: Vec<&str> = per.split(',').map(str::trim).collect();
    let mut out = Vec::new();
    // Mask i belongs to org feature i (not to fea entry i).
    for (feature, mask) in features.into_iter().zip(fpm.split(',')) {
        if !plain(feature) {
            continue;
        }
        let mask = mask.trim();
        if mask.is_empty() || !mask.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let bits = decimal_low_bits(mask, names.len());
        for (j, name) in names.iter().enumerate() {
            if plain(name) && bits[j] {
                out.push(format!("org:{feature}:{name}"));
            }
        }
    }
    out
}

/// Calls `feature_permissions` and checks it against the model and the documented shape.
pub fn check_feature_permissions(fea: &str, per: &str, fpm: &str) {
    let got = feature_permissions(fea, per, fpm);
    let per_items: Vec<&str> = per.split(',').map(str::trim).collect();
    let features: Vec<&str> = fea
        .split(',')
        .filter_map(|e| e.trim().split_once(':'))
        .filter(|(scope, _)| matches!(*scope, "o" | "ou" | "uo"))
        .map(|(_, name)| name)
        .collect();
    let bound = fea.split(',').count().min(fpm.split(',').count()) * per_items.len();
    assert!(got.len() <= bound, "{} permissions from at most {bound}", got.len());
    for permission in &got {
        let rest = permission.strip_prefix("org:").expect("org: prefix");
        let (feature, perm) = rest.split_once(':').expect("org:<feature>:<perm>");
        assert!(plain(feature) && plain(perm), "{permission:?}");
        assert!(features.contains(&feature), "{feature:?} is not an org-scoped fea entry");
        assert!(per_items.contains(&perm), "{perm:?} is not an item of per");
    }
    assert_eq!(got, feature_permissions_model(fea, per, fpm), "fea={fea:?} per={per:?} fpm={fpm:?}");
}
