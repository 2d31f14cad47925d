//! The per-user commands: `get` (the claims as doorman reads them, and what `explain`
//! decides for a path), and `init`, `onboarding`, `roles`, `org`, `flags`, each one read of
//! the user and at most one merge of the difference.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::client::{Api, ApiError};
use super::fields::{Field, Values};
use super::layout::Layout;
use super::patch;
use super::validate;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::explain::{explain_request, TokenInput};
use crate::jwks::KeyStore;
use crate::metrics::Metrics;
use crate::token::claims::Identity;
use crate::token::verify::{SessionStatus, VerifiedClaims};

/// What a write did.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// The merge patch sent.
    Changed(Value),
    Unchanged,
}

impl Written {
    pub fn line(&self, user: &str) -> String {
        match self {
            Written::Changed(patch) => format!("{user}: wrote {patch}"),
            Written::Unchanged => format!("{user}: unchanged (already as asked)"),
        }
    }
}

/// Reads the user, computes the wanted metadata with `want`, merges the difference.
pub async fn write(
    api: &Api,
    user: &str,
    want: impl FnOnce(&Value) -> Result<Value, String>,
) -> Result<Written, ApiError> {
    let current = api.get_user(user).await?.public_metadata;
    let target = want(&current).map_err(ApiError::Input)?;
    match patch::diff(&object(&current), &target) {
        Some(change) => {
            api.merge_public_metadata(user, &change).await?;
            Ok(Written::Changed(change))
        }
        None => Ok(Written::Unchanged),
    }
}

/// `init USER --type T`: the type's `[users.types]` defaults where nothing is yet (`force`:
/// everywhere).
pub async fn init(
    api: &Api,
    layout: &Layout,
    config: &Config,
    user: &str,
    kind: &str,
    force: bool,
) -> Result<Written, ApiError> {
    let defaults = config.users.types.get(kind).ok_or_else(|| {
        let known: Vec<&str> = config.users.types.keys().map(String::as_str).collect();
        ApiError::Input(if known.is_empty() {
            format!("no [users.types.{kind}] table in the config; add the defaults of each user type there")
        } else {
            format!("{kind:?} is not a configured user type; known: {}", known.join(", "))
        })
    })?;
    write(api, user, |current| {
        if force {
            layout.apply(current, defaults)
        } else {
            layout.fill(current, defaults)
        }
    })
    .await
}

/// Writes `values` exactly.
pub async fn set(
    api: &Api,
    layout: &Layout,
    user: &str,
    values: Values,
) -> Result<Written, ApiError> {
    for field in values.fields.keys() {
        layout.require(*field).map_err(ApiError::Input)?;
    }
    write(api, user, |current| layout.apply(current, &values)).await
}

/// `flags USER name=true other=false gone=unset`: only the named flags change.
pub async fn flags(
    api: &Api,
    layout: &Layout,
    user: &str,
    settings: &[String],
) -> Result<Written, ApiError> {
    let place = layout
        .require(Field::FeatureFlags)
        .map_err(ApiError::Input)?
        .to_string();
    let mut changes = Vec::new();
    for setting in settings {
        let (name, value) = setting.split_once('=').unwrap_or((setting, "true"));
        let value = match value {
            "true" | "on" => json!(true),
            "false" | "off" => json!(false),
            "unset" | "null" => Value::Null,
            other => {
                return Err(ApiError::Input(format!(
                    "{setting:?}: {other:?} is not true, false or unset; write NAME=true, NAME=false or NAME=unset"
                )))
            }
        };
        if name.is_empty() {
            return Err(ApiError::Input(format!(
                "{setting:?} names no flag; write NAME=true"
            )));
        }
        changes.push((patch::child(&place, name), value));
    }
    write(api, user, |current| {
        let mut target = object(current);
        for (pointer, value) in &changes {
            patch::set(&mut target, pointer, value);
        }
        Ok(target)
    })
    .await
}

/// `get USER [--path P]`: the claims as doorman reads them, the problems `validate` would
/// list, and the decision for a request.
pub async fn get(
    api: &Api,
    layout: &Layout,
    config: &Config,
    user: &str,
    request: Option<(&http::Method, &str)>,
) -> Result<String, ApiError> {
    let metadata = api.get_user(user).await?.public_metadata;
    let payload = layout.payload(user, &metadata);
    let claims = VerifiedClaims {
        sub: user.to_string(),
        sid: String::new(),
        iat: None,
        nbf: None,
        exp: i64::MAX,
        version: 2,
        status: SessionStatus::Active,
        payload: payload.clone().into(),
    };
    let identity = Identity::from_claims(&claims, &config.claims);
    let mut out = format!(
        "{user}: public metadata as doorman reads it (claim {})\n",
        layout.metadata_claim
    );
    for (field, place) in layout.places() {
        let value = metadata
            .pointer(place)
            .map_or("(missing)".to_string(), Value::to_string);
        out.push_str(&format!("  {:<23} {place} = {value}\n", field.name()));
    }
    out.push_str(&format!(
        "  read as: type {}, roles [{}], permissions [{}], flags [{}], onboarding {} ({}), account {}\n",
        identity.user_type.as_deref().unwrap_or("(none)"),
        identity.roles.join(", "),
        identity.permissions.join(", "),
        identity.feature_flags.join(", "),
        identity.onboarding_status.as_deref().unwrap_or("(none)"),
        if identity.onboarding_complete { "complete" } else { "not complete" },
        identity.active.as_str(),
    ));
    out.push_str(
        "  (organization claims come from the session's active organization, not from metadata)\n",
    );
    let found = validate::problems(
        layout,
        &config.users,
        &config.claims.onboarding_complete_values,
        &metadata,
    );
    if found.is_empty() {
        out.push_str("  problems: none\n");
    }
    for problem in found {
        out.push_str(&format!("  problem: {problem}\n"));
    }
    if let Some((method, path)) = request {
        let keys = KeyStore::new(&config.clerk, Arc::new(Metrics::new()))
            .map_err(|e| ApiError::Input(e.to_string()))?;
        let explanation = explain_request(
            config,
            &keys,
            &SystemClock,
            method,
            path,
            false,
            &TokenInput::Claims(payload),
        )
        .await;
        out.push_str(&explanation.to_text());
    }
    Ok(out)
}

/// `org USER --id … --name … --role …`: the organization object, or `None` to remove it.
pub fn organization(id: Option<String>, name: Option<String>, role: Option<String>) -> Value {
    let mut org = Map::new();
    for (key, value) in [("id", id), ("name", name), ("role", role)] {
        if let Some(v) = value {
            org.insert(key.to_string(), Value::String(v));
        }
    }
    Value::Object(org)
}

fn object(value: &Value) -> Value {
    if value.is_object() {
        value.clone()
    } else {
        json!({})
    }
}
