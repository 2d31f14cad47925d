//! Compiling `[users]` and the `[webhooks]` keys that initialize (`initialize*`) and pass on
//! (`forward_*`): pointers checked, per-type defaults typed like input records, the forward
//! target resolved against `[[upstreams]]`. No I/O.

use std::collections::BTreeMap;

use super::*;
use crate::config::raw::RawUsers;
use crate::config::users::{BackendApi, Forward, Initialize, Users};
use crate::users::client::SecretKey;
use crate::users::fields::{Field, Values};
use crate::users::layout::Layout;

pub(super) fn compile_users(raw: &RawUsers, claims: &ClaimPointers, p: &mut Problems) -> Users {
    let defaults = Users::default();
    let mut pointer = |key: &str, value: &Option<String>| -> Option<String> {
        let v = value.as_ref()?;
        if let Err(message) = validate_pointer(v) {
            p.err(format!("users.{key}"), message);
        }
        Some(v.clone())
    };
    let metadata_claim =
        pointer("metadata_claim", &raw.metadata_claim).unwrap_or(defaults.metadata_claim);
    let onboarding_step = pointer("onboarding_step", &raw.onboarding_step);
    let onboarding_total_steps = pointer("onboarding_total_steps", &raw.onboarding_total_steps);
    let organization = pointer("organization", &raw.organization);
    let mut onboarding_statuses = raw
        .onboarding_statuses
        .clone()
        .unwrap_or(defaults.onboarding_statuses);
    for done in &claims.onboarding_complete_values {
        if !onboarding_statuses.contains(done) {
            onboarding_statuses.push(done.clone());
        }
    }
    let mut types = BTreeMap::new();
    for (name, table) in raw.types.iter().flatten() {
        let at = format!("users.types.{name}");
        let object = match serde_json::to_value(table) {
            Ok(serde_json::Value::Object(object)) => object,
            _ => {
                p.err(at, "is not a table of field = value");
                continue;
            }
        };
        match Values::from_object(&object, &[]) {
            Ok(mut values) => {
                if values.fields.contains_key(&Field::UserType) {
                    p.err(
                        format!("{at}.user_type"),
                        "is the table's own name; remove it",
                    );
                }
                values
                    .fields
                    .insert(Field::UserType, serde_json::Value::String(name.clone()));
                types.insert(name.clone(), values);
            }
            Err(problems) => {
                for problem in problems {
                    p.err(at.clone(), problem);
                }
            }
        }
    }
    let users = Users {
        metadata_claim,
        onboarding_step,
        onboarding_total_steps,
        organization,
        onboarding_statuses,
        types,
    };
    // Only a config that uses `doorman users` needs every claim to be writable.
    if !users.types.is_empty() {
        match Layout::new(claims, &users) {
            Ok(layout) => {
                for (name, values) in &users.types {
                    for field in values.fields.keys() {
                        if let Err(why) = layout.require(*field) {
                            p.err(format!("users.types.{name}.{}", field.name()), why);
                        }
                    }
                }
            }
            Err(problems) => {
                for problem in problems {
                    p.err("users", problem);
                }
            }
        }
    }
    users
}

/// `initialize*` and `forward_*` of `[webhooks]`.
pub(super) fn compile_webhook_extras(
    raw: &RawWebhooks,
    webhooks: &mut Webhooks,
    users: &Users,
    claims: &ClaimPointers,
    clerk: &Clerk,
    upstreams: &[Upstream],
    p: &mut Problems,
) {
    if raw.initialize.unwrap_or(false) {
        webhooks.initialize = initialize(raw, users, claims, clerk, p);
    } else if raw.initialize_default_type.is_some() || raw.initialize_type_from.is_some() {
        p.warn(
            "webhooks.initialize",
            "initialize_* keys are set but initialize is not true; nothing is initialized",
        );
    }
    if let Some(target) = &raw.forward_to {
        webhooks.forward = forward(raw, target, upstreams, p);
    }
}

fn initialize(
    raw: &RawWebhooks,
    users: &Users,
    claims: &ClaimPointers,
    clerk: &Clerk,
    p: &mut Problems,
) -> Option<Initialize> {
    let Some(secret_key) = clerk.secret_key.clone() else {
        p.err(
            "webhooks.initialize",
            "needs [clerk] secret_key to write metadata; set it to \"${CLERK_SECRET_KEY}\"",
        );
        return None;
    };
    if users.types.is_empty() {
        p.err(
            "webhooks.initialize",
            "no [users.types.<name>] tables: there are no defaults to write; add one per user type",
        );
        return None;
    }
    let type_from = raw
        .initialize_type_from
        .clone()
        .unwrap_or_else(|| "/unsafe_metadata/userType".to_string());
    if let Err(message) = validate_pointer(&type_from) {
        p.err("webhooks.initialize_type_from", message);
    }
    if let Some(default) = &raw.initialize_default_type {
        if !users.types.contains_key(default) {
            let known: Vec<&str> = users.types.keys().map(String::as_str).collect();
            p.err(
                "webhooks.initialize_default_type",
                format!(
                    "{default:?} has no [users.types.{default}] table; known types: {}",
                    known.join(", ")
                ),
            );
        }
    }
    let layout = Layout::new(claims, users).ok()?;
    Some(Initialize {
        api: BackendApi {
            url: clerk.api_url.clone(),
            secret_key: SecretKey::new(secret_key),
            ca_file: clerk.ca_file.clone(),
        },
        layout,
        types: users.types.clone(),
        type_from,
        default_type: raw.initialize_default_type.clone(),
        timeout: duration(
            p,
            "webhooks.initialize_timeout",
            raw.initialize_timeout.as_deref(),
            Duration::from_secs(5),
        ),
    })
}

fn forward(
    raw: &RawWebhooks,
    target: &str,
    upstreams: &[Upstream],
    p: &mut Problems,
) -> Option<Forward> {
    let at = "webhooks.forward_to";
    let (url, ca_file) = if target.starts_with("http://") || target.starts_with("https://") {
        (target.to_string(), None)
    } else {
        let (name, path) = target.split_once('/').unwrap_or((target, ""));
        let Some(upstream) = upstreams.iter().find(|u| &*u.name == name) else {
            let known: Vec<&str> = upstreams.iter().map(|u| &*u.name).collect();
            p.err(
                at,
                format!("{target:?} names no upstream {name:?}; write \"<upstream>/<path>\" with one of {} or a full http(s):// URL", known.join(", ")),
            );
            return None;
        };
        let scheme = match upstream.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        (
            format!(
                "{scheme}://{}{}/{path}",
                upstream.authority, upstream.path_prefix
            ),
            upstream.ca_file.clone(),
        )
    };
    match url.parse::<http::Uri>() {
        Ok(uri) if uri.host().is_some() => {}
        _ => {
            p.err(at, format!("{target:?} does not make a URL ({url:?}); write it like \"app/api/webhooks/clerk\""));
            return None;
        }
    }
    Some(Forward {
        url,
        ca_file,
        timeout: duration(
            p,
            "webhooks.forward_timeout",
            raw.forward_timeout.as_deref(),
            Duration::from_secs(10),
        ),
        backoff: duration(
            p,
            "webhooks.forward_backoff",
            raw.forward_backoff.as_deref(),
            Duration::from_secs(1),
        ),
        retry_for: duration(
            p,
            "webhooks.forward_retry_for",
            raw.forward_retry_for.as_deref(),
            Duration::from_secs(240),
        ),
    })
}
