//! The session endpoint phase: `GET [session] path` answers the caller's parsed identity as
//! JSON, for the front end's permission hooks (`hasPermission`, `isFeatureEnabled`,
//! `needsOnboarding`, …; docs/marketplace.md).
//!
//! **When it runs:** after authentication, before the route's policy, only on the configured
//! path. **What it does:** refuses other methods (405 `session_get_only`) and other origins
//! (403 `cross_origin`, from `Origin` or `Sec-Fetch-Site`), answers 401 when there is no
//! valid session, else 200 with the identity and `Cache-Control: no-store`. **What it must
//! never do:** echo the token, or any claim beyond the parsed identity.

use http::request::Parts;
use http::{header, HeaderValue, Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::config::{Config, SessionEndpoint};
use crate::decision::{Auth, Decision};
use crate::reason::Reason;
use crate::respond::{self, Rendering};
use crate::token::claims::Identity;
use crate::token::error::TokenError;

use super::outcome::Answer;

/// The endpoint's answer when `parts` asks for it, else `None` (the request goes on).
pub fn answer(parts: &Parts, auth: &Auth, config: &Config) -> Option<Answer> {
    let endpoint = config.session.as_ref()?;
    if parts.uri.path() != endpoint.path {
        return None;
    }
    let refuse =
        |decision: Decision| Answer::render(decision, &Rendering::api(&parts.method), config, None);
    if parts.method != Method::GET && parts.method != Method::HEAD {
        let mut answer = refuse(Decision::BadRequest {
            reason: Reason::SessionGetOnly,
        });
        answer
            .response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Some(answer);
    }
    if !same_origin(parts, endpoint) {
        return Some(refuse(Decision::Forbidden {
            reason: Reason::CrossOrigin,
        }));
    }
    let identity = match auth {
        Auth::Valid(identity) => identity,
        Auth::Invalid(TokenError::KeysUnavailable) => {
            return Some(refuse(Decision::Unavailable {
                reason: Reason::KeysUnavailable,
            }))
        }
        Auth::Invalid(e) => return Some(refuse(Decision::Unauthorized { reason: e.reason() })),
        Auth::SignedOut { reason } => {
            return Some(refuse(Decision::Unauthorized { reason: *reason }))
        }
        Auth::Refresh { .. } => {
            return Some(refuse(Decision::Unauthorized {
                reason: Reason::TokenExpired,
            }))
        }
        Auth::Anonymous => {
            return Some(refuse(Decision::Unauthorized {
                reason: Reason::TokenMissing,
            }))
        }
    };
    let body = identity_json(identity, config).to_string();
    let mut response = Response::new(respond::full(bytes::Bytes::from(body)));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Origin, Cookie, Authorization"),
    );
    Some(Answer::new(Decision::Session, response))
}

/// Same-origin only: a browser's `Sec-Fetch-Site` must say `same-origin` (or `none`, typed
/// in the address bar), and an `Origin` must be this host's or an allowed one. A request
/// with neither (curl, a server) carries its own credentials and is answered.
fn same_origin(parts: &Parts, endpoint: &SessionEndpoint) -> bool {
    let site = parts
        .headers
        .get("sec-fetch-site")
        .map(HeaderValue::as_bytes);
    if site.is_some_and(|s| s != b"same-origin" && s != b"none") {
        return false;
    }
    let origins: Vec<&HeaderValue> = parts.headers.get_all(header::ORIGIN).iter().collect();
    match origins.as_slice() {
        [] => true,
        [origin] => {
            let Ok(origin) = origin.to_str() else {
                return false;
            };
            let host = parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .or_else(|| parts.uri.authority().map(|a| a.as_str()));
            let own = origin
                .split_once("://")
                .is_some_and(|(_, rest)| Some(rest) == host);
            own || endpoint.allowed_origins.iter().any(|o| o == origin)
        }
        _ => false,
    }
}

/// What the front end may know: the parsed identity, never the token or raw claims.
pub fn identity_json(identity: &Identity, config: &Config) -> Value {
    let needs_onboarding = !identity.onboarding_complete;
    json!({
        "userId": identity.user_id,
        "sessionId": identity.session_id,
        "userType": identity.user_type,
        "organization": identity.org_id.as_ref().map(|id| json!({
            "id": id,
            "slug": identity.org_slug,
            "role": identity.org_role,
        })),
        "roles": identity.roles,
        "permissions": identity.permissions,
        "featureFlags": identity.feature_flags,
        "active": identity.active.as_str() == "active",
        "onboarding": {
            "status": identity.onboarding_status,
            "complete": identity.onboarding_complete,
            "needed": needs_onboarding,
            "missing": identity.onboarding_missing,
            "url": needs_onboarding.then(|| config.redirects.onboarding.url.clone()),
        },
        "expiresAt": identity.expires_at,
    })
}
