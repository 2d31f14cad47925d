//! `[webhooks] initialize = true`: on `user.created`, write the defaults of the new user's
//! type (`[users.types.<type>]`) into public metadata, at the places `[claims]` reads.
//!
//! Idempotent by construction: the user's *current* metadata is read from the Backend API
//! (never trusted from the event, which a retry delivers unchanged), and only keys that are
//! missing are written, so a retried or replayed `user.created` never resets a user who has
//! progressed. The type comes from the event (`initialize_type_from`, by default the
//! `unsafe_metadata.userType` the sign-up form set): users can choose it, so only configured
//! types are honoured, others get `initialize_default_type` or nothing.

use std::time::Duration;

use serde_json::Value;

use crate::config::users::Initialize;
use crate::users::client::{Api, Policy};
use crate::users::limiter::Backoff;
use crate::users::ops::{write, Written};

/// What an initialization did.
#[derive(Debug, Clone, PartialEq)]
pub enum Initialized {
    Written {
        user: String,
        kind: String,
        patch: Value,
    },
    /// Every default was already there.
    Unchanged { user: String },
    /// No configured type applies.
    Skipped { user: String },
}

pub struct Initializer {
    api: Api,
    settings: Initialize,
}

impl Initializer {
    pub fn new(settings: &Initialize) -> Result<Initializer, String> {
        let mut policy = Policy::for_key(&settings.api.secret_key);
        policy.attempts = 3;
        policy.backoff = Backoff {
            first: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        policy.timeout = settings.timeout;
        let api = Api::new(
            &settings.api.url,
            &settings.api.secret_key,
            policy,
            settings.api.ca_file.as_deref(),
        )?;
        Ok(Initializer {
            api,
            settings: settings.clone(),
        })
    }

    /// Handles a `user.created` event body; an error means "answer 5xx so Svix retries".
    pub async fn user_created(&self, event: &Value) -> Result<Initialized, String> {
        let data = event.get("data").unwrap_or(&Value::Null);
        let user = data
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or("user.created without data.id")?
            .to_string();
        let chosen = data
            .pointer(&self.settings.type_from)
            .and_then(Value::as_str);
        let kind = match chosen.filter(|t| self.settings.types.contains_key(*t)) {
            Some(t) => t.to_string(),
            None => match &self.settings.default_type {
                Some(t) => t.clone(),
                None => return Ok(Initialized::Skipped { user }),
            },
        };
        let Some(defaults) = self.settings.types.get(&kind) else {
            return Ok(Initialized::Skipped { user });
        };
        let layout = &self.settings.layout;
        let work = write(&self.api, &user, |current| layout.fill(current, defaults));
        // Bounded as a whole: Svix waits for the answer, and retries on a failure.
        let limit = self.settings.timeout.saturating_mul(2);
        match tokio::time::timeout(limit, work).await {
            Ok(Ok(Written::Changed(patch))) => Ok(Initialized::Written { user, kind, patch }),
            Ok(Ok(Written::Unchanged)) => Ok(Initialized::Unchanged { user }),
            Ok(Err(e)) => Err(format!("initializing {user}: {e}")),
            Err(_) => Err(format!("initializing {user}: no answer within {limit:?}")),
        }
    }
}
