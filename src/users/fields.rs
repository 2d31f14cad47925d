//! The claims `doorman users` writes, by name, and the JSON types doorman expects of each.
//!
//! A [`Field`] is one claim of `[claims]` (or of `[users]` for the onboarding step, total steps
//! and organization); its name is the key of an input record and of a `[users.types.*]` table.
//! [`Field::check`] mirrors what the proxy reads (`token::claims`): a value it would ignore or
//! deny on is a problem here. `null` always means "remove". Pure, no I/O.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A claim doorman reads from public metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    UserType,
    Roles,
    Permissions,
    FeatureFlags,
    OnboardingStatus,
    OnboardingStep,
    OnboardingTotalSteps,
    Active,
    Organization,
}

/// Every field, in the order they are shown.
pub const ALL: [Field; 9] = [
    Field::UserType,
    Field::Roles,
    Field::Permissions,
    Field::FeatureFlags,
    Field::OnboardingStatus,
    Field::OnboardingStep,
    Field::OnboardingTotalSteps,
    Field::Active,
    Field::Organization,
];

impl Field {
    /// The record key, e.g. `feature_flags`.
    pub const fn name(self) -> &'static str {
        match self {
            Field::UserType => "user_type",
            Field::Roles => "roles",
            Field::Permissions => "permissions",
            Field::FeatureFlags => "feature_flags",
            Field::OnboardingStatus => "onboarding_status",
            Field::OnboardingStep => "onboarding_step",
            Field::OnboardingTotalSteps => "onboarding_total_steps",
            Field::Active => "active",
            Field::Organization => "organization",
        }
    }

    /// Where the field's pointer is configured, e.g. `claims.roles`.
    pub const fn config_key(self) -> &'static str {
        match self {
            Field::UserType => "claims.user_type",
            Field::Roles => "claims.roles",
            Field::Permissions => "claims.permissions",
            Field::FeatureFlags => "claims.feature_flags",
            Field::OnboardingStatus => "claims.onboarding_status",
            Field::OnboardingStep => "users.onboarding_step",
            Field::OnboardingTotalSteps => "users.onboarding_total_steps",
            Field::Active => "claims.active",
            Field::Organization => "users.organization",
        }
    }

    pub fn from_name(name: &str) -> Option<Field> {
        ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether `value` has the type doorman reads for this claim (`null`, "remove", passes).
    pub fn check(self, value: &Value) -> Result<(), String> {
        if value.is_null() {
            return Ok(());
        }
        let ok = match self {
            Field::UserType => value.as_str().is_some_and(|s| !s.is_empty()),
            Field::Roles => return roles(value),
            Field::Permissions => strings(value),
            Field::FeatureFlags => {
                return match value.as_object() {
                    Some(flags) => match flags.iter().find(|(_, v)| !v.is_boolean()) {
                        Some((name, _)) => Err(format!(
                            "flag {name:?} is not true or false (doorman enables a flag only for a literal true)"
                        )),
                        None => Ok(()),
                    },
                    None => Err("must be an object of flag name → true/false".into()),
                }
            }
            Field::OnboardingStatus => value.as_str().is_some_and(|s| !s.is_empty()),
            Field::OnboardingStep => value.as_u64().is_some(),
            Field::OnboardingTotalSteps => value.as_u64().is_some_and(|n| n > 0),
            Field::Active => value.is_boolean(),
            Field::Organization => value.is_object(),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("must be {}", self.expected()))
        }
    }

    /// The expected type, in words.
    pub const fn expected(self) -> &'static str {
        match self {
            Field::UserType => "a non-empty string",
            Field::Roles => "an array of role names or {\"name\", \"permissions\": [..]} objects",
            Field::Permissions => "an array of strings",
            Field::FeatureFlags => "an object of flag name → true/false",
            Field::OnboardingStatus => "a non-empty string",
            Field::OnboardingStep => "a whole number ≥ 0",
            Field::OnboardingTotalSteps => "a whole number ≥ 1",
            Field::Active => "true or false",
            Field::Organization => "an object, like {\"id\", \"name\", \"role\"}",
        }
    }
}

fn strings(value: &Value) -> bool {
    value
        .as_array()
        .is_some_and(|items| items.iter().all(Value::is_string))
}

/// Roles as `token::claims` reads them: one malformed element voids the whole claim.
fn roles(value: &Value) -> Result<(), String> {
    let Some(items) = value.as_array() else {
        return Err(format!("must be {}", Field::Roles.expected()));
    };
    for (i, item) in items.iter().enumerate() {
        let ok = match item {
            Value::String(_) => true,
            Value::Object(role) => {
                role.get("name").is_some_and(Value::is_string)
                    && role.get("permissions").is_none_or(strings)
            }
            _ => false,
        };
        if !ok {
            return Err(format!(
                "element {i} is not a role name or a {{\"name\", \"permissions\": [strings]}} object; doorman ignores the whole roles claim"
            ));
        }
    }
    Ok(())
}

/// Claim values to write, by field (`Value::Null` removes), plus other public metadata keys
/// (`metadata`, deep-merged as given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub fields: BTreeMap<Field, Value>,
    pub extra: Map<String, Value>,
}

impl Values {
    /// Reads `{"roles": [...], "onboarding_status": "...", "metadata": {...}}`; `skip` names
    /// keys that belong to the caller (like `user_id`). Every problem is reported.
    pub fn from_object(object: &Map<String, Value>, skip: &[&str]) -> Result<Values, Vec<String>> {
        let mut values = Values::default();
        let mut problems = Vec::new();
        for (key, value) in object {
            if skip.contains(&key.as_str()) {
                continue;
            }
            if key == "metadata" {
                match value {
                    Value::Object(extra) => values.extra = extra.clone(),
                    Value::Null => {}
                    _ => {
                        problems.push("metadata: must be an object of public metadata keys".into())
                    }
                }
                continue;
            }
            let Some(field) = Field::from_name(key) else {
                let names: Vec<&str> = ALL.iter().map(|f| f.name()).collect();
                problems.push(format!(
                    "{key:?} is not a field; use {}, or put other public metadata under \"metadata\"",
                    names.join(", ")
                ));
                continue;
            };
            match field.check(value) {
                Ok(()) => {
                    values.fields.insert(field, value.clone());
                }
                Err(why) => problems.push(format!("{key}: {why}")),
            }
        }
        if problems.is_empty() {
            Ok(values)
        } else {
            Err(problems)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.extra.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_doorman_would_not_read_are_refused() {
        let bad = [
            (Field::Roles, json!([{"name": "a"}, 5])),
            (Field::Roles, json!([{"permissions": ["x"]}])),
            (Field::Permissions, json!("view_project")),
            (Field::FeatureFlags, json!({"beta": "true"})),
            (Field::Active, json!("false")),
            (Field::OnboardingStep, json!(-1)),
            (Field::OnboardingTotalSteps, json!(0)),
            (Field::UserType, json!("")),
        ];
        for (field, value) in bad {
            assert!(field.check(&value).is_err(), "{field:?} {value}");
        }
        let good = [
            (
                Field::Roles,
                json!(["admin", {"name": "m", "permissions": ["p"]}]),
            ),
            (Field::FeatureFlags, json!({"beta": false})),
            (Field::OnboardingStep, json!(0)),
            (Field::Active, Value::Null),
        ];
        for (field, value) in good {
            assert!(field.check(&value).is_ok(), "{field:?} {value}");
        }
    }

    #[test]
    fn records_name_every_unknown_or_mistyped_key() {
        let record = json!({"user_id": "u", "rols": [], "active": "yes", "metadata": {"tier": 1}});
        let problems = Values::from_object(record.as_object().unwrap(), &["user_id"]).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("active") || problems[1].contains("active"));
    }
}
