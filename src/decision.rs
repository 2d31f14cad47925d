//! What doorman does with a request, as a value.
//!
//! `decide` returns a [`Decision`]; the proxy records metrics and the log line from it and
//! `respond` renders every non-forward decision. Reason ids are stable: they appear in JSON
//! bodies, logs and documentation, so they are never renamed casually.

use std::fmt;
use std::sync::Arc;

use crate::token::claims::Identity;
use crate::token::error::TokenError;

/// The outcome of authentication: what the token (or its absence) says about the caller.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No token was sent.
    Anonymous,
    /// A token was sent and verified.
    Valid(Arc<Identity>),
    /// A token was sent and refused.
    Invalid(TokenError),
    /// A signed-in browser whose token needs Clerk's handshake (see `handshake`).
    Refresh { reason: &'static str },
    /// Treated as signed out for a reason other than the token (e.g. the handshake limit).
    SignedOut { reason: &'static str },
}

impl Auth {
    /// The identity, when the token was valid.
    pub fn identity(&self) -> Option<&Identity> {
        match self {
            Auth::Valid(identity) => Some(identity),
            _ => None,
        }
    }
}

/// The outcome of the auth pipeline for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send it to the route's upstream (with identity headers when a valid token came).
    Forward,
    /// A page request without a valid session: go sign in.
    RedirectSignIn { reason: &'static str },
    /// A signed-in browser with a token to refresh: Clerk's handshake (307).
    Handshake { reason: &'static str },
    /// A page request of a user who has not finished onboarding.
    RedirectOnboarding,
    /// An onboarded user on an `incomplete_only` page: send them on to this same-site target.
    RedirectAfterOnboarding { to: String },
    /// An API request without a valid session (401).
    Unauthorized { reason: &'static str },
    /// Signed in but not allowed (403).
    Forbidden { reason: &'static str },
    /// The request itself is malformed or ambiguous (400).
    BadRequest { reason: &'static str },
    /// doorman cannot decide right now, e.g. no usable signing keys (503).
    Unavailable { reason: &'static str },
    /// A Clerk webhook delivery, answered by doorman itself (`result` as counted).
    Webhook { result: &'static str },
}

impl Decision {
    /// The `decision` label of `doorman_requests_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Forward => "forward",
            Decision::RedirectSignIn { .. } => "redirect_sign_in",
            Decision::Handshake { .. } => "redirect_handshake",
            Decision::RedirectOnboarding => "redirect_onboarding",
            Decision::RedirectAfterOnboarding { .. } => "redirect_after_onboarding",
            Decision::Unauthorized { .. } => "unauthorized",
            Decision::Forbidden { .. } => "forbidden",
            Decision::BadRequest { .. } => "bad_request",
            Decision::Unavailable { .. } => "unavailable",
            Decision::Webhook { .. } => "webhook",
        }
    }

    /// The stable reason id, or `""` for a plain forward.
    pub fn reason(&self) -> &'static str {
        match self {
            Decision::Forward => "",
            Decision::RedirectSignIn { reason }
            | Decision::Handshake { reason }
            | Decision::Unauthorized { reason }
            | Decision::Forbidden { reason }
            | Decision::BadRequest { reason }
            | Decision::Unavailable { reason } => reason,
            Decision::Webhook { result } => result,
            Decision::RedirectOnboarding => reason::ONBOARDING_REQUIRED,
            Decision::RedirectAfterOnboarding { .. } => reason::ONBOARDING_COMPLETE,
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
            "" => f.write_str(self.label()),
            r => write!(f, "{} ({r})", self.label()),
        }
    }
}

/// Stable reason ids that are not token errors (those come from `TokenError::reason`).
pub mod reason {
    pub const ONBOARDING_REQUIRED: &str = "onboarding_required";
    pub const ONBOARDING_COMPLETE: &str = "onboarding_complete";
    pub const ACCOUNT_INACTIVE: &str = "account_inactive";
    pub const ACCOUNT_STATE_INVALID: &str = "account_state_invalid";
    pub const USER_TYPE_NOT_ALLOWED: &str = "user_type_not_allowed";
    pub const ROLE_MISSING: &str = "role_missing";
    pub const ORG_ROLE_MISSING: &str = "org_role_missing";
    pub const PERMISSION_MISSING: &str = "permission_missing";
    pub const FEATURE_FLAG_DISABLED: &str = "feature_flag_disabled";
    pub const ROUTE_DENIED: &str = "route_denied";
    pub const UPSTREAM_UNREACHABLE: &str = "upstream_unreachable";
    pub const UPSTREAM_TIMEOUT: &str = "upstream_timeout";
    pub const UPSTREAM_FAILED: &str = "upstream_failed";
    /// The upstream answered 101 to a request that did not ask to upgrade, or switched to a
    /// protocol that was not forwarded (502; nothing is tunnelled).
    pub const UPSTREAM_UNEXPECTED_UPGRADE: &str = "upstream_unexpected_upgrade";
    pub const HOST_MISMATCH: &str = "host_mismatch";
    pub const BODY_TOO_LARGE: &str = "body_too_large";
    pub const BODY_INVALID: &str = "body_invalid";
    /// The request body arrived slower than `[limits] request_body_min_rate` (408).
    pub const BODY_TOO_SLOW: &str = "body_too_slow";
    pub const HOST_AMBIGUOUS: &str = "host_ambiguous";
    pub const HOST_INVALID: &str = "host_invalid";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    /// A `_method` override parameter (query or form body) that is refused, or that names a
    /// method that is not a token (400).
    pub const METHOD_OVERRIDE: &str = "method_override";
    /// A standard method in another case (`get`, `Post`): 400.
    pub const METHOD_INVALID: &str = "method_invalid";
    /// An HTTP/1.1 request without `Host`, or an HTTP/2 one without `:authority` or `Host`.
    pub const HOST_MISSING: &str = "host_missing";
    /// A request transfer coding other than exactly `chunked`: 501.
    pub const TRANSFER_CODING_UNSUPPORTED: &str = "transfer_coding_unsupported";
}
