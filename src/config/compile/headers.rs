//! Compiling `[headers]`: identity header names and the full strip list.
//!
//! The strip list is what makes spoofing impossible: every identity header name, in its
//! `_`-for-`-` spelling too, plus any extra names the operator lists.

use super::*;

/// Headers a config may not claim as identity headers: framing, routing and credentials.
pub(super) const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
    "cookie",
    "authorization",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "forwarded",
];

pub(super) fn compile_headers(raw: &RawHeaders, p: &mut Problems) -> IdentityHeaders {
    let mut seen = HashSet::new();
    let mut name = |key: &str, value: &Option<String>, default: &'static str| -> HeaderName {
        let text = value.as_deref().unwrap_or(default);
        let at = format!("headers.{key}");
        let parsed = match HeaderName::try_from(text) {
            Ok(n) => n,
            Err(_) => {
                p.err(at, format!("{text:?} is not a valid header name; use letters, digits and -, like {default:?}"));
                return HeaderName::from_static(default_lower(default));
            }
        };
        if RESERVED_HEADERS.contains(&parsed.as_str()) {
            p.err(at, format!("{text:?} is a framing, routing or credential header and cannot carry identity; pick another name"));
        } else if !seen.insert(parsed.as_str().replace('_', "-")) {
            p.err(
                at,
                format!(
                    "{text:?} is already used for another identity header; give each its own name"
                ),
            );
        }
        parsed
    };
    let headers = IdentityHeaders {
        user_id: name("user_id", &raw.user_id, "X-User-Id"),
        session_id: name("session_id", &raw.session_id, "X-Session-Id"),
        user_type: name("user_type", &raw.user_type, "X-User-Type"),
        org_id: name("org_id", &raw.org_id, "X-Org-Id"),
        org_role: name("org_role", &raw.org_role, "X-Org-Role"),
        roles: name("roles", &raw.roles, "X-User-Roles"),
        permissions: name("permissions", &raw.permissions, "X-User-Permissions"),
        feature_flags: name("feature_flags", &raw.feature_flags, "X-Feature-Flags"),
        onboarding_status: name(
            "onboarding_status",
            &raw.onboarding_status,
            "X-Onboarding-Status",
        ),
        strip: Vec::new(),
        claims: Vec::new(),
    };
    let claims = super::conditions::compile_claim_headers(raw, &mut seen, p);
    let mut strip: Vec<String> = [
        &headers.user_id,
        &headers.session_id,
        &headers.user_type,
        &headers.org_id,
        &headers.org_role,
        &headers.roles,
        &headers.permissions,
        &headers.feature_flags,
        &headers.onboarding_status,
    ]
    .into_iter()
    .chain(claims.iter().map(|c| &c.name))
    .map(|h| h.as_str().replace('_', "-"))
    .collect();
    for (i, extra) in raw.strip.iter().flatten().enumerate() {
        match HeaderName::try_from(extra.as_str()) {
            Ok(h) => strip.push(h.as_str().replace('_', "-")),
            Err(_) => p.err(
                format!("headers.strip[{i}]"),
                format!("{extra:?} is not a valid header name"),
            ),
        }
    }
    strip.sort();
    strip.dedup();
    IdentityHeaders {
        strip,
        claims,
        ..headers
    }
}

/// The lowercase form of a default header name (all defaults are static ASCII).
pub(super) fn default_lower(default: &'static str) -> &'static str {
    match default {
        "X-User-Id" => "x-user-id",
        "X-Session-Id" => "x-session-id",
        "X-User-Type" => "x-user-type",
        "X-Org-Id" => "x-org-id",
        "X-Org-Role" => "x-org-role",
        "X-User-Roles" => "x-user-roles",
        "X-User-Permissions" => "x-user-permissions",
        "X-Feature-Flags" => "x-feature-flags",
        _ => "x-onboarding-status",
    }
}
