//! What doorman does with a request, as a value.
//!
//! `decide` returns a [`Decision`]; the proxy records metrics and the log line from it and
//! `respond` renders every non-forward decision. Reason ids are stable: they appear in JSON
//! bodies, logs and documentation, so they are never renamed casually.

use std::fmt;
use std::sync::Arc;

pub use crate::reason::Reason;
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
    Refresh { reason: HandshakeReason },
    /// Treated as signed out for a reason other than the token (e.g. the handshake limit).
    SignedOut { reason: Reason },
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
    RedirectSignIn { reason: Reason },
    /// A signed-in browser with a token to refresh: Clerk's handshake (307).
    Handshake { reason: HandshakeReason },
    /// A page request of a user who has not finished onboarding (`onboarding_required`,
    /// or `onboarding_data_missing` when the status said complete).
    RedirectOnboarding { reason: Reason },
    /// An onboarded user on an `incomplete_only` page: send them on to this same-site target.
    RedirectAfterOnboarding { to: String },
    /// An API request without a valid session (401).
    Unauthorized { reason: Reason },
    /// Signed in but not allowed (403).
    Forbidden { reason: Reason },
    /// The request itself is malformed or ambiguous (400).
    BadRequest { reason: Reason },
    /// doorman cannot decide right now, e.g. no usable signing keys (503).
    Unavailable { reason: Reason },
    /// The session endpoint's answer (200 with the caller's identity), built by
    /// `proxy::session` itself.
    Session,
    /// The assertion JWKS on `[assertion] jwks_path` (200), built by `proxy` itself.
    Jwks,
    /// A Clerk webhook delivery, answered by doorman itself: `result` as counted, and the
    /// reason it was refused (`None`: accepted, 204).
    Webhook {
        result: &'static str,
        refused: Option<Reason>,
    },
}

impl Decision {
    /// Every `decision` label of `doorman_requests_total`: each [`Decision::label`], and
    /// [`UPSTREAM_ERROR`] for forwarded requests whose upstream failed.
    pub const LABELS: [&'static str; 13] = [
        "forward",
        "redirect_sign_in",
        "redirect_handshake",
        "redirect_onboarding",
        "redirect_after_onboarding",
        "unauthorized",
        "forbidden",
        "bad_request",
        "unavailable",
        "webhook",
        "session",
        "jwks",
        UPSTREAM_ERROR,
    ];

    /// The `decision` label of `doorman_requests_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Forward => "forward",
            Decision::RedirectSignIn { .. } => "redirect_sign_in",
            Decision::Handshake { .. } => "redirect_handshake",
            Decision::RedirectOnboarding { .. } => "redirect_onboarding",
            Decision::RedirectAfterOnboarding { .. } => "redirect_after_onboarding",
            Decision::Unauthorized { .. } => "unauthorized",
            Decision::Forbidden { .. } => "forbidden",
            Decision::BadRequest { .. } => "bad_request",
            Decision::Unavailable { .. } => "unavailable",
            Decision::Webhook { .. } => "webhook",
            Decision::Session => "session",
            Decision::Jwks => "jwks",
        }
    }

    /// The stable reason id, or `""` for a plain forward.
    pub fn reason(&self) -> &'static str {
        match self {
            Decision::Forward | Decision::Session | Decision::Jwks => "",
            Decision::Handshake { reason } => reason.as_str(),
            Decision::RedirectSignIn { reason }
            | Decision::Unauthorized { reason }
            | Decision::Forbidden { reason }
            | Decision::BadRequest { reason }
            | Decision::Unavailable { reason }
            | Decision::RedirectOnboarding { reason } => reason.as_str(),
            Decision::Webhook { result, .. } => result,
            Decision::RedirectAfterOnboarding { .. } => Reason::OnboardingComplete.as_str(),
        }
    }
}

/// The `decision` label of a forwarded request whose upstream failed (502/504).
pub const UPSTREAM_ERROR: &str = "upstream_error";

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
            "" => f.write_str(self.label()),
            r => write!(f, "{} ({r})", self.label()),
        }
    }
}

/// Why a browser is sent through Clerk's handshake: Clerk's own vocabulary (the
/// `__clerk_hs_reason` parameter and the log line's `reason`), not a doorman reason id.
/// The strings are those of `@clerk/backend` 3.x (`AuthErrorReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeReason {
    /// `__client_uat` says signed in, but no session cookie came.
    NoSessionToken,
    /// A session cookie came, but `__client_uat` is absent or `0` (signed out).
    SessionTokenWithoutClientUat,
    /// Expired; doorman never holds a refresh cookie, so Clerk's refresh is not eligible.
    SessionTokenExpired,
    SessionTokenNbf,
    SessionTokenIatInTheFuture,
    /// The user signed in again (or switched accounts) after this token was issued.
    SessionTokenIatBeforeClientUat,
    /// A webhook said the user's claims changed after this token was issued.
    SessionTokenStaleClaims,
    /// Development instance without the dev-browser token.
    DevBrowserMissing,
    /// Development instance with the dev-browser token in the URL.
    DevBrowserSync,
    /// A navigation from another site: the session may have changed there.
    PrimaryDomainCrossOriginSync,
}

impl HandshakeReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            HandshakeReason::NoSessionToken => "client-uat-but-no-session-token",
            HandshakeReason::SessionTokenWithoutClientUat => "session-token-but-no-client-uat",
            HandshakeReason::SessionTokenExpired => {
                "session-token-expired-refresh-non-eligible-no-refresh-cookie"
            }
            HandshakeReason::SessionTokenNbf => "session-token-nbf",
            HandshakeReason::SessionTokenIatInTheFuture => "session-token-iat-in-the-future",
            HandshakeReason::SessionTokenIatBeforeClientUat => {
                "session-token-iat-before-client-uat"
            }
            HandshakeReason::SessionTokenStaleClaims => "session-token-stale-claims",
            HandshakeReason::DevBrowserMissing => "dev-browser-missing",
            HandshakeReason::DevBrowserSync => "dev-browser-sync",
            HandshakeReason::PrimaryDomainCrossOriginSync => "primary-domain-cross-origin-sync",
        }
    }
}

impl fmt::Display for HandshakeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
