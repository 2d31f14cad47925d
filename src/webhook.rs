//! The Clerk webhook endpoint: verify the Svix signature, turn the event into a revocation,
//! share it, answer quickly.
//!
//! `POST` only, on the public listener at `[webhooks] path`. A bad signature or timestamp
//! gets 401 (400 for missing headers or an unreadable payload) with no detail and no effect;
//! a replayed delivery id gets 204 without effect; a valid delivery is applied and shared
//! before the 204. Bodies are bounded. Logs name the delivery id and event type, never the
//! body or the secret.

pub mod events;
pub mod forward;
pub mod initialize;
pub mod svix;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::metrics::{EventResult, Metrics};
use crate::respond::{error, full, Body};
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
    pub fn new(config: &crate::config::Webhooks) -> Result<Self, String> {
        Ok(Endpoint {
            path: config.path.clone(),
            secret: Secret::parse(&config.secret)?,
            tolerance_secs: i64::try_from(config.tolerance.as_secs()).unwrap_or(300),
            max_body_bytes: config.max_body_bytes,
            initializer: config
                .initialize
                .as_ref()
                .map(Initializer::new)
                .transpose()?,
            forwarder: config.forward.as_ref().map(Forwarder::start).transpose()?,
        })
    }
}

/// Where a delivery's effect goes.
pub struct Sinks<'a> {
    pub store: &'a Revocations,
    pub sync: Option<&'a SyncHandle>,
    pub metrics: &'a Metrics,
    pub now: i64,
}

/// Handles one request to the webhook path; returns the `result` label and the answer.
pub async fn handle(
    endpoint: &Endpoint,
    req: Request<Incoming>,
    sinks: &Sinks<'_>,
) -> (&'static str, Response<Body>) {
    let (result, event, resp) = process(endpoint, req, sinks).await;
    sinks
        .metrics
        .webhooks
        .get_or_create(&EventResult { event, result })
        .inc();
    (result, resp)
}

async fn process(
    endpoint: &Endpoint,
    req: Request<Incoming>,
    sinks: &Sinks<'_>,
) -> (&'static str, &'static str, Response<Body>) {
    if req.method() != Method::POST {
        let mut resp = error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "webhook_post_only",
            false,
        );
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return ("method", "unknown", resp);
    }
    let (parts, body) = req.into_parts();
    let body: Bytes = match Limited::new(body, endpoint.max_body_bytes).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return (
                "too_large",
                "unknown",
                error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "webhook_too_large",
                    false,
                ),
            );
        }
        Err(_) => {
            return (
                "body_error",
                "unknown",
                error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "webhook_body",
                    false,
                ),
            )
        }
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
            let status = if e == svix::SvixError::MissingHeaders {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::UNAUTHORIZED
            };
            return (
                e.as_str(),
                "unknown",
                error(status, "unauthorized", "webhook_rejected", false),
            );
        }
    };
    if sinks.store.seen_delivery(&verified.id, sinks.now) {
        tracing::info!(event_id = %verified.id, "webhook replay ignored");
        return ("replay", "unknown", no_content());
    }
    let out = act(endpoint, &body, &verified, sinks).await;
    if out.2.status().is_success() {
        if let Some(forwarder) = &endpoint.forwarder {
            let event: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
            forwarder.enqueue(&parts.headers, body.clone(), event.as_ref());
        }
    } else {
        // Svix retries a failed delivery with the same id: let the retry act.
        sinks.store.forget_delivery(&verified.id);
    }
    out
}

/// Acts on a verified, new delivery.
async fn act(
    endpoint: &Endpoint,
    body: &Bytes,
    verified: &svix::Verified,
    sinks: &Sinks<'_>,
) -> (&'static str, &'static str, Response<Body>) {
    let (event, effect) = match events::parse(body, verified.timestamp) {
        Ok(parsed) => parsed,
        Err(e) => {
            tracing::warn!(event_id = %verified.id, error = %e, "webhook payload not understood");
            return (
                "malformed",
                "unknown",
                error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "webhook_payload",
                    false,
                ),
            );
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
    ("applied", event, no_content())
}

/// `user.created` with `[webhooks] initialize`: the type's defaults where nothing is yet.
/// A failure answers 503 so that Svix delivers again.
async fn initialize(
    endpoint: &Endpoint,
    body: &[u8],
    verified: &svix::Verified,
    event: &'static str,
) -> (&'static str, &'static str, Response<Body>) {
    let Some(initializer) = endpoint
        .initializer
        .as_ref()
        .filter(|_| event == "user.created")
    else {
        tracing::info!(event_id = %verified.id, event, "webhook event ignored");
        return ("ignored", event, no_content());
    };
    let parsed: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match initializer.user_created(&parsed).await {
        Ok(Initialized::Written { user, kind, .. }) => {
            tracing::info!(event_id = %verified.id, user = %user, user_type = %kind, "new user's metadata initialized");
            ("initialized", event, no_content())
        }
        Ok(Initialized::Unchanged { user }) => {
            tracing::info!(event_id = %verified.id, user = %user, "new user already initialized");
            ("initialized", event, no_content())
        }
        Ok(Initialized::Skipped { user }) => {
            tracing::info!(event_id = %verified.id, user = %user, "no configured user type for the new user; left alone");
            ("ignored", event, no_content())
        }
        Err(e) => {
            tracing::warn!(event_id = %verified.id, error = %e, "new user's metadata not initialized; Svix will retry");
            let resp = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "webhook_initialize_failed",
                false,
            );
            ("initialize_failed", event, resp)
        }
    }
}

fn no_content() -> Response<Body> {
    let mut resp = Response::new(full(Bytes::new()));
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}
