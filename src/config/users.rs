//! The compiled `[users]` section and the `[webhooks]` keys that write metadata
//! (`initialize*`) and pass deliveries on (`forward_*`): plain data, built by
//! `compile::users`, read by `doorman users` and the webhook endpoint.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::users::client::SecretKey;
use crate::users::fields::Values;
use crate::users::layout::Layout;

/// `[users]`: where the claims `doorman users` writes live besides `[claims]`, and the
/// defaults of each user type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Users {
    /// The session token claim that holds public metadata (`/metadata`): a `[claims]`
    /// pointer under it names a place in public metadata.
    pub metadata_claim: String,
    /// Claim pointers (under `metadata_claim`) of fields `[claims]` has no key for.
    pub onboarding_step: Option<String>,
    pub onboarding_total_steps: Option<String>,
    pub organization: Option<String>,
    /// Onboarding statuses `validate` and `onboarding --status` accept.
    pub onboarding_statuses: Vec<String>,
    /// `[users.types.<name>]`: what `init` and the `user.created` webhook write.
    pub types: BTreeMap<String, Values>,
}

impl Default for Users {
    fn default() -> Self {
        Users {
            metadata_claim: "/metadata".into(),
            onboarding_step: None,
            onboarding_total_steps: None,
            organization: None,
            onboarding_statuses: ["not_started", "in_progress", "completed"]
                .map(String::from)
                .to_vec(),
            types: BTreeMap::new(),
        }
    }
}

/// The Backend API as the webhook endpoint reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendApi {
    /// `https://api.clerk.com` (no trailing `/`).
    pub url: String,
    pub secret_key: SecretKey,
    pub ca_file: Option<PathBuf>,
}

/// `[webhooks] initialize = true`: `user.created` writes the user type's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Initialize {
    pub api: BackendApi,
    pub layout: Layout,
    pub types: BTreeMap<String, Values>,
    /// Pointer into the event's `data` (the user) naming the type chosen at sign-up.
    pub type_from: String,
    /// The type of a user whose event names none (or an unknown one); `None`: left alone.
    pub default_type: Option<String>,
    /// Time allowed for reading and writing one user's metadata.
    pub timeout: Duration,
}

/// `[webhooks] forward_to`: verified deliveries passed on to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// Full URL, e.g. `http://127.0.0.1:3000/api/webhooks/clerk`.
    pub url: String,
    pub ca_file: Option<PathBuf>,
    /// Time allowed for one attempt.
    pub timeout: Duration,
    /// First wait between attempts; doubles up to a minute.
    pub backoff: Duration,
    /// How long a delivery is retried before it is dropped (and logged).
    pub retry_for: Duration,
}
