//! Where each claim lives in a user's public metadata, derived from the config's claim
//! pointers: the single source of truth shared with the proxy.
//!
//! The session token template puts public metadata under one claim (`[users]
//! metadata_claim`, `/metadata` by default), so the `[claims]` pointer `/metadata/roles`
//! names public metadata `/roles`. A pointer outside that claim cannot be written and is a
//! problem naming its key. Pure.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::fields::{Field, Values, ALL};
use super::patch;
use crate::config::users::Users;
use crate::token::claims::ClaimPointers;

/// Field → pointer into public metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub metadata_claim: String,
    places: BTreeMap<Field, String>,
}

impl Layout {
    /// The layout of `claims` + `users`; every pointer outside `metadata_claim` is a problem.
    pub fn new(claims: &ClaimPointers, users: &Users) -> Result<Layout, Vec<String>> {
        let prefix = users.metadata_claim.as_str();
        let mut places = BTreeMap::new();
        let mut problems = Vec::new();
        for field in ALL {
            let Some(pointer) = claim_pointer(field, claims, users) else {
                continue;
            };
            match pointer.strip_prefix(prefix) {
                Some(rest) if rest.starts_with('/') => {
                    places.insert(field, rest.to_string());
                }
                _ => problems.push(format!(
                    "{}: {pointer:?} is not under the metadata claim {prefix:?} ([users] metadata_claim), so doorman cannot tell where it lives in public metadata; point it below {prefix:?} (as the session token template does) or set metadata_claim",
                    field.config_key()
                )),
            }
        }
        if problems.is_empty() {
            Ok(Layout {
                metadata_claim: prefix.to_string(),
                places,
            })
        } else {
            Err(problems)
        }
    }

    /// The public metadata pointer of `field`, if configured.
    pub fn place(&self, field: Field) -> Option<&str> {
        self.places.get(&field).map(String::as_str)
    }

    /// Like [`Layout::place`], or an error naming the config key to set.
    pub fn require(&self, field: Field) -> Result<&str, String> {
        self.place(field).ok_or_else(|| {
            format!(
                "{} is not configured, so doorman does not know where the {} lives; set it in the config",
                field.config_key(),
                field.name().replace('_', " ")
            )
        })
    }

    /// The configured fields with their places.
    pub fn places(&self) -> impl Iterator<Item = (Field, &str)> {
        self.places.iter().map(|(f, p)| (*f, p.as_str()))
    }

    /// `current` with `values` written exactly (fields replaced, `metadata` deep-merged).
    pub fn apply(&self, current: &Value, values: &Values) -> Result<Value, String> {
        let mut target = object(current);
        for (field, value) in &values.fields {
            patch::set(&mut target, self.require(*field)?, value);
        }
        patch::merge(&mut target, &Value::Object(values.extra.clone()));
        Ok(target)
    }

    /// `current` with `values` written only where nothing is yet (a retried `user.created`
    /// never resets a user who has progressed).
    pub fn fill(&self, current: &Value, values: &Values) -> Result<Value, String> {
        let mut defaults = json!({});
        for (field, value) in &values.fields {
            patch::set(&mut defaults, self.require(*field)?, value);
        }
        patch::merge(&mut defaults, &Value::Object(values.extra.clone()));
        let mut target = object(current);
        patch::fill_missing(&mut target, &defaults);
        Ok(target)
    }

    /// A session token payload carrying `metadata` where the template puts it, for reading
    /// it exactly as the proxy does.
    pub fn payload(&self, user_id: &str, metadata: &Value) -> Value {
        let mut payload =
            json!({"sub": user_id, "sid": "(no session: public metadata only)", "v": 2});
        patch::set(&mut payload, &self.metadata_claim, metadata);
        if self.metadata_claim.is_empty() {
            patch::set(&mut payload, "/sub", &json!(user_id));
        }
        payload
    }
}

/// The claim pointer of a field, from `[claims]` or `[users]`.
fn claim_pointer<'a>(field: Field, claims: &'a ClaimPointers, users: &'a Users) -> Option<&'a str> {
    match field {
        Field::UserType => claims.user_type.as_deref(),
        Field::Roles => claims.roles.as_deref(),
        Field::Permissions => claims.permissions.as_deref(),
        Field::FeatureFlags => claims.feature_flags.as_deref(),
        Field::OnboardingStatus => claims.onboarding_status.as_deref(),
        Field::Active => claims.active.as_deref(),
        Field::OnboardingStep => users.onboarding_step.as_deref(),
        Field::OnboardingTotalSteps => users.onboarding_total_steps.as_deref(),
        Field::Organization => users.organization.as_deref(),
    }
}

/// `value` if it is an object, else an empty object (Clerk's metadata is always an object).
fn object(value: &Value) -> Value {
    match value {
        Value::Object(_) => value.clone(),
        _ => Value::Object(Map::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> ClaimPointers {
        ClaimPointers {
            roles: Some("/metadata/roles".into()),
            onboarding_status: Some("/metadata/onboarding/status".into()),
            ..ClaimPointers::default()
        }
    }

    #[test]
    fn claim_pointers_become_metadata_places() {
        let users = Users {
            onboarding_step: Some("/metadata/onboarding/step".into()),
            ..Users::default()
        };
        let layout = Layout::new(&claims(), &users).unwrap();
        assert_eq!(
            layout.place(Field::OnboardingStatus),
            Some("/onboarding/status")
        );
        assert_eq!(
            layout.place(Field::OnboardingStep),
            Some("/onboarding/step")
        );
        assert!(layout
            .require(Field::Active)
            .unwrap_err()
            .contains("claims.active"));
    }

    #[test]
    fn a_pointer_outside_the_metadata_claim_is_named() {
        let mut c = claims();
        c.permissions = Some("/perms".into());
        let problems = Layout::new(&c, &Users::default()).unwrap_err();
        assert!(
            problems[0].starts_with("claims.permissions"),
            "{problems:?}"
        );
        // "/metadataX/..." is not under "/metadata".
        c.permissions = Some("/metadataX/p".into());
        assert!(Layout::new(&c, &Users::default()).is_err());
    }
}
