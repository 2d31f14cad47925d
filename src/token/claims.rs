//! Verified claims → the request's [`Identity`]: who the user is, their roles, effective
//! permissions, feature flags, onboarding state and whether the account is active, read
//! through the RFC 6901 pointers of the `[claims]` config section.
//!
//! Effective permissions = the `permissions` claim ∪ permissions of role objects ∪ Clerk
//! organization permissions (see [`crate::token::org`]). Wrong types deny, never grant: a
//! `permissions` claim that is a string is never substring-matched, a roles claim with one
//! malformed element contributes nothing at all, and only a literal `true` enables a flag.
//! This module never fails and never panics: whatever the payload, it yields an identity that
//! grants at most what the claims state exactly.

use std::sync::Arc;

use crate::condition::ClaimData;

use crate::token::org::{string_array, Organization};
use crate::token::payload::Payload;
use crate::token::raw::Raw;
use crate::token::VerifiedClaims;

/// Where the custom claims live in the payload (`[claims]` in the config), as RFC 6901
/// pointers. `None` means the feature is not used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimPointers {
    pub user_type: Option<String>,
    pub roles: Option<String>,
    pub permissions: Option<String>,
    pub feature_flags: Option<String>,
    pub onboarding_status: Option<String>,
    pub active: Option<String>,
    /// Values of `onboarding_status` that mean "onboarding finished".
    pub onboarding_complete_values: Vec<String>,
    /// `[claims.onboarding_requires]`: per user type, the pointers a finished onboarding
    /// must carry (present, not `null`, not `""`); lacking any, onboarding is not finished.
    pub onboarding_requires: Vec<(String, Vec<String>)>,
    /// Keep the payload with the identity (as CEL values), because a route has conditions.
    pub keep_payload: bool,
}

impl ClaimPointers {
    /// Every configured pointer checked; each problem reads "`claims.<field>`: `<how to fix>`".
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let fields = [
            ("user_type", &self.user_type),
            ("roles", &self.roles),
            ("permissions", &self.permissions),
            ("feature_flags", &self.feature_flags),
            ("onboarding_status", &self.onboarding_status),
            ("active", &self.active),
        ];
        let problems: Vec<String> = fields
            .iter()
            .filter_map(|(name, pointer)| {
                let pointer = pointer.as_deref()?;
                validate_pointer(pointer)
                    .err()
                    .map(|why| format!("claims.{name}: {why}"))
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// Checks an RFC 6901 JSON pointer: empty (the whole payload) or `/`-separated tokens in
/// which `~` is only ever followed by `0` (a literal `~`) or `1` (a literal `/`).
pub fn validate_pointer(pointer: &str) -> Result<(), String> {
    if pointer.is_empty() {
        return Ok(());
    }
    if !pointer.starts_with('/') {
        return Err(format!(
            "JSON pointer {pointer:?} must start with \"/\" (write \"/{pointer}\"; \
             \"/metadata/roles\" reads the roles key of the metadata claim)"
        ));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!(
                "JSON pointer {pointer:?} has a \"~\" not followed by 0 or 1; \
                 write \"~0\" for a literal \"~\" and \"~1\" for a literal \"/\" in a key"
            ));
        }
    }
    Ok(())
}

/// What the `active` claim says about the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Activity {
    /// `true`, or no pointer configured, or the value is missing/`null`.
    #[default]
    Active,
    /// `false`.
    Inactive,
    /// Any other type: treat as not active (deny).
    Invalid,
}

impl Activity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Activity::Active => "active",
            Activity::Inactive => "inactive",
            Activity::Invalid => "invalid",
        }
    }
}

/// The signed-in user as doorman's rules see them. `Default` is an empty identity (no
/// roles, permissions or flags, onboarding not complete), for building test values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    pub user_id: String,
    pub session_id: String,
    pub user_type: Option<String>,
    pub org_id: Option<String>,
    pub org_slug: Option<String>,
    /// Clerk organization role, always `org:`-prefixed.
    pub org_role: Option<String>,
    /// Role names, sorted, deduplicated.
    pub roles: Vec<String>,
    /// Effective permissions, sorted, deduplicated.
    pub permissions: Vec<String>,
    /// Names of enabled flags, sorted.
    pub feature_flags: Vec<String>,
    pub onboarding_status: Option<String>,
    pub onboarding_complete: bool,
    pub active: Activity,
    pub expires_at: i64,
    pub issued_at: Option<i64>,
    /// What `[claims.onboarding_requires]` lists for the user type and the token lacks,
    /// as the configured pointers (names, never values). Non-empty only when the status
    /// said complete; `onboarding_complete` is then false.
    pub onboarding_missing: Vec<String>,
    /// The payload for route conditions, when any route has one (see `ClaimPointers`).
    pub claims: Option<Arc<ClaimData>>,
}

impl Identity {
    /// Reads the identity out of verified claims, typed from the payload's text (a tree of
    /// the whole payload is built only when a route has conditions). Never fails: unreadable
    /// claims grant nothing.
    pub fn from_claims(claims: &VerifiedClaims, pointers: &ClaimPointers) -> Identity {
        let payload = &claims.payload;
        let at = |pointer: &Option<String>| pointer.as_deref().and_then(|p| payload.pointer(p));

        let org = Organization::from_claims(payload, claims.version);
        let (mut roles, role_permissions) = roles_claim(at(&pointers.roles)).unwrap_or_default();
        let mut permissions = string_array(at(&pointers.permissions)).unwrap_or_default();
        permissions.extend(role_permissions);
        permissions.extend(org.permissions);
        let (onboarding_status, mut onboarding_complete) = onboarding(pointers, at);
        let user_type = at(&pointers.user_type)
            .and_then(Raw::as_str)
            .map(|t| t.into_owned());
        let onboarding_missing = if onboarding_complete {
            missing_onboarding_data(pointers, user_type.as_deref(), payload)
        } else {
            Vec::new()
        };
        onboarding_complete &= onboarding_missing.is_empty();

        Identity {
            user_id: claims.sub.clone(),
            session_id: claims.sid.clone(),
            user_type,
            org_id: org.id,
            org_slug: org.slug,
            org_role: org.role,
            roles: sorted_set(&mut roles),
            permissions: sorted_set(&mut permissions),
            feature_flags: enabled_flags(at(&pointers.feature_flags)),
            onboarding_status,
            onboarding_complete,
            active: activity(pointers.active.is_some(), at(&pointers.active)),
            expires_at: claims.exp,
            issued_at: claims.iat,
            onboarding_missing,
            claims: pointers
                .keep_payload
                .then(|| Arc::new(ClaimData::new(payload.value()))),
        }
    }

    pub fn has_permission(&self, permission: &str) -> bool {
        contains_sorted(&self.permissions, permission)
    }

    pub fn has_role(&self, role: &str) -> bool {
        contains_sorted(&self.roles, role)
    }

    pub fn has_feature_flag(&self, flag: &str) -> bool {
        contains_sorted(&self.feature_flags, flag)
    }
}

/// The pointers `[claims.onboarding_requires]` lists for `user_type` that `payload` lacks.
fn missing_onboarding_data(
    pointers: &ClaimPointers,
    user_type: Option<&str>,
    payload: &Payload,
) -> Vec<String> {
    let Some(user_type) = user_type else {
        return Vec::new();
    };
    pointers
        .onboarding_requires
        .iter()
        .filter(|(t, _)| t == user_type)
        .flat_map(|(_, required)| required)
        .filter(|p| match payload.pointer(p) {
            None => true,
            Some(value) if value.is_null() => true,
            Some(value) => value.as_str().is_some_and(|s| s.is_empty()),
        })
        .cloned()
        .collect()
}

/// Role names and the permissions of role objects; `None` if any element is malformed.
///
/// Elements are strings or `{"name": string, "permissions"?: [string, …]}`; anything else
/// (a number, an object without a string `name`, `permissions` not an array of strings)
/// makes the whole claim contribute nothing.
fn roles_claim(value: Option<Raw<'_>>) -> Option<(Vec<String>, Vec<String>)> {
    let items = value.filter(|v| v.is_array())?;
    let (mut names, mut permissions) = (Vec::new(), Vec::new());
    for item in items.elements() {
        if let Some(name) = item.as_str() {
            names.push(name.into_owned());
        } else if item.is_object() {
            names.push(item.get("name")?.as_str()?.into_owned());
            if let Some(granted) = item.get("permissions") {
                permissions.extend(string_array(Some(granted))?);
            }
        } else {
            return None;
        }
    }
    Some((names, permissions))
}

/// Names of the members that are literally `true`, sorted (keys are unique: the payload
/// was checked strictly).
fn enabled_flags(value: Option<Raw<'_>>) -> Vec<String> {
    let mut names: Vec<String> = value
        .into_iter()
        .flat_map(Raw::members)
        .filter(|(name, enabled)| !name.is_empty() && enabled.as_bool() == Some(true))
        .map(|(name, _)| name.into_owned())
        .collect();
    names.sort_unstable();
    names
}

/// `(status, complete)`: no pointer configured → complete; missing value → incomplete.
fn onboarding<'a>(
    pointers: &ClaimPointers,
    at: impl Fn(&Option<String>) -> Option<Raw<'a>>,
) -> (Option<String>, bool) {
    if pointers.onboarding_status.is_none() {
        return (None, true);
    }
    let listed = |value: &str| {
        pointers
            .onboarding_complete_values
            .iter()
            .any(|v| v == value)
    };
    let Some(value) = at(&pointers.onboarding_status) else {
        return (None, false);
    };
    if let Some(status) = value.as_str() {
        let complete = listed(&status);
        (Some(status.into_owned()), complete)
    } else if let Some(done) = value.as_bool() {
        (Some(done.to_string()), done && listed("true"))
    } else {
        (None, false)
    }
}

fn activity(configured: bool, value: Option<Raw<'_>>) -> Activity {
    if !configured {
        return Activity::Active;
    }
    match value {
        None => Activity::Active,
        Some(value) if value.is_null() => Activity::Active,
        Some(value) => match value.as_bool() {
            Some(true) => Activity::Active,
            Some(false) => Activity::Inactive,
            None => Activity::Invalid,
        },
    }
}

/// Sorted, deduplicated, without empty names.
fn sorted_set(items: &mut Vec<String>) -> Vec<String> {
    items.retain(|item| !item.is_empty());
    items.sort_unstable();
    items.dedup();
    std::mem::take(items)
}

fn contains_sorted(items: &[String], wanted: &str) -> bool {
    items
        .binary_search_by(|item| item.as_str().cmp(wanted))
        .is_ok()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod type_confusion_tests;
