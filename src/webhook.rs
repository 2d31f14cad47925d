//! The Clerk webhook endpoint: verify the Svix signature, turn the event into a revocation,
//! share it, answer quickly.
//!
//! `POST` only, on the public listener at `[webhooks] path`. A bad signature or timestamp
//! gets 401 (400 for missing headers or an unreadable payload) with no detail and no effect;
//! a replayed delivery id gets 204 without effect; a valid delivery is applied and shared
//! before the 204. Bodies are bounded. Logs name the delivery id and event type, never the
//! body or the secret. With `[webhooks] initialize`, `user.created` also writes the new
//! user's defaults ([`initialize`]); with `forward_to`, every delivery acted on is queued for
//! the application ([`forward`]) without delaying the answer.

pub mod events;
pub mod forward;
pub mod initialize;
pub mod svix;

use crate::body::Inbound;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Limited};

use crate::reason::Reason;
use crate::revocation::sync::SyncHandle;
use crate::revocation::{Entry, Kind, Revocations};
use events::Effect;
use forward::Forwarder;
use initialize::{Initialized, Initializer};
use svix::Secret;

/// A configured endpoint.
pub struct Endpoint {
    pub path: String,
    secret: Secret,
    tolerance_secs: i64,
    max_body_bytes: usize,
    /// `user.created` writes the user type's defaults, when configured.
    initializer: Option<Initializer>,
    /// Verified deliveries are passed on to the application, when configured.
    forwarder: Option<Forwarder>,
}

impl Endpoint {
    pub fn new(config: &crate::config::Webhooks) -> Self {
        Endpoint {
            path: config.path.clone(),
            secret: Secret::new(&config.secret),
            tolerance_secs: i64::try_from(config.tolerance.as_secs()).unwrap_or(300),
            max_body_bytes: config.max_body_bytes,
            initializer: config.initialize.as_ref().and_then(|settings| {
                Initializer::new(settings)
                    .map_err(|e| tracing::error!(error = %e, "webhooks.initialize disabled"))
                    .ok()
            }),
            forwarder: config.forward.as_ref().and_then(|settings| {
                Forwarder::start(settings)
                    .map_err(|e| tracing::error!(error = %e, "webhooks.forward_to disabled"))
                    .ok()
            }),
        }
    }
}

/// Where a delivery's effect goes.
pub struct Sinks<'a> {
    pub store: &'a Revocations,
    pub sync: Option<&'a SyncHandle>,
    pub now: i64,
}

/// What became of one delivery: its metric labels (`result`, `event`) and, when it was
/// refused, why ([`crate::respond`] renders the answer; the proxy counts it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub result: &'static str,
    pub event: &'static str,
    pub refused: Option<Reason>,
}

impl Delivery {
    fn refused(result: &'static str, reason: Reason) -> Delivery {
        Delivery {
            result,
            event: "unknown",
            refused: Some(reason),
        }
    }

    fn done(result: &'static str, event: &'static str) -> Delivery {
        Delivery {
            result,
            event,
            refused: None,
        }
    }
}

/// Handles one request to the webhook path.
pub async fn handle(endpoint: &Endpoint, req: Request<Inbound>, sinks: &Sinks<'_>) -> Delivery {
    if req.method() != Method::POST {
        return Delivery::refused("method", Reason::WebhookPostOnly);
    }
    let (parts, body) = req.into_parts();
    let body: Bytes = match Limited::new(body, endpoint.max_body_bytes).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Delivery::refused("too_large", Reason::WebhookTooLarge);
        }
        Err(_) => return Delivery::refused("body_error", Reason::WebhookBody),
    };
    let verified = match svix::verify(
        &endpoint.secret,
        &parts.headers,
        &body,
        sinks.now,
        endpoint.tolerance_secs,
    ) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(result = e.as_str(), "webhook delivery refused");
            return Delivery::refused(e.as_str(), Reason::WebhookRejected);
        }
    };
    if sinks.store.seen_delivery(&verified.id, sinks.now) {
        tracing::info!(event_id = %verified.id, "webhook replay ignored");
        return Delivery::done("replay", "unknown");
    }
    let delivery = act(endpoint, &body, &verified, sinks).await;
    match (delivery.refused, &endpoint.forwarder) {
        (None, Some(forwarder)) => {
            let event: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
            forwarder.enqueue(&parts.headers, body.clone(), event.as_ref());
        }
        (None, None) => {}
        // Svix retries a refused delivery with the same id: let the retry act.
        (Some(_), _) => sinks.store.forget_delivery(&verified.id),
    }
    delivery
}

/// Acts on a verified, new delivery.
async fn act(
    endpoint: &Endpoint,
    body: &Bytes,
    verified: &svix::Verified,
    sinks: &Sinks<'_>,
) -> Delivery {
    let (event, effect) = match events::parse(body, verified.timestamp) {
        Ok(parsed) => parsed,
        Err(e) => {
            tracing::warn!(event_id = %verified.id, error = %e, "webhook payload not understood");
            return Delivery::refused("malformed", Reason::WebhookPayload);
        }
    };
    let expires_at = sinks.now.saturating_add(sinks.store.ttl_secs());
    let entry = match effect {
        Effect::RevokeSession(id) => Entry {
            kind: Kind::Session,
            id,
            at_ms: verified.timestamp.saturating_mul(1000),
            expires_at,
        },
        Effect::RevokeUser(id) => Entry {
            kind: Kind::User,
            id,
            at_ms: verified.timestamp.saturating_mul(1000),
            expires_at,
        },
        Effect::StaleUser { user, at_ms } => Entry {
            kind: Kind::Stale,
            id: user,
            at_ms,
            expires_at,
        },
        Effect::Ignore => return initialize(endpoint, body, verified, event).await,
    };
    sinks.store.apply(&entry, sinks.now);
    if let Some(sync) = sinks.sync {
        sync.publish(entry);
    }
    tracing::info!(event_id = %verified.id, event, "webhook applied");
    Delivery::done("applied", event)
}

/// `user.created` with `[webhooks] initialize`: the type's defaults where nothing is yet.
/// A failure is refused with 503 so that Svix delivers again.
async fn initialize(
    endpoint: &Endpoint,
    body: &[u8],
    verified: &svix::Verified,
    event: &'static str,
) -> Delivery {
    let Some(initializer) = endpoint
        .initializer
        .as_ref()
        .filter(|_| event == "user.created")
    else {
        tracing::info!(event_id = %verified.id, event, "webhook event ignored");
        return Delivery::done("ignored", event);
    };
    let parsed: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match initializer.user_created(&parsed).await {
        Ok(Initialized::Written { user, kind, .. }) => {
            tracing::info!(event_id = %verified.id, user = %user, user_type = %kind, "new user's metadata initialized");
            Delivery::done("initialized", event)
        }
        Ok(Initialized::Unchanged { user }) => {
            tracing::info!(event_id = %verified.id, user = %user, "new user already initialized");
            Delivery::done("initialized", event)
        }
        Ok(Initialized::Skipped { user }) => {
            tracing::info!(event_id = %verified.id, user = %user, "no configured user type for the new user; left alone");
            Delivery::done("ignored", event)
        }
        Err(e) => {
            tracing::warn!(event_id = %verified.id, error = %e, "new user's metadata not initialized; Svix will retry");
            Delivery {
                result: "initialize_failed",
                event,
                refused: Some(Reason::WebhookInitializeFailed),
            }
        }
    }
}
