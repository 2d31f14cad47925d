//! Every reason doorman gives for not forwarding a request, as one closed enum.
//!
//! A [`Reason`] is what a client reads in `{"error": …, "reason": …}`, what the log line's
//! `reason` field says and what `docs/decisions.md` lists. Each one has its HTTP status (the
//! API answer; browsers may get a redirect instead, which [`crate::respond`] decides from the
//! [`Decision`](crate::decision::Decision)), the JSON `error` kind that goes with that status,
//! and whose fault it is. The table below is the only place a reason id is spelled: tests
//! check it against the docs and metrics, so none can drift.
//!
//! Ids are part of doorman's outside contract: never rename one once released.

use http::StatusCode;

/// Who a refusal is attributed to (for alerting: a rise in `Doorman` or `Upstream` reasons
/// is an operator's problem, `Client` reasons are users and attackers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request, its credential or the user's rights.
    Client,
    /// doorman cannot decide (no keys, overloaded).
    Doorman,
    /// The application behind doorman.
    Upstream,
}

macro_rules! reasons {
    ($( $(#[$doc:meta])* $variant:ident = $id:literal, $status:literal, $fault:ident; )*) => {
        /// Why a request was not forwarded (or its answer was not the upstream's).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Reason {
            $( $(#[$doc])* $variant, )*
        }

        impl Reason {
            /// Every reason, in documentation order.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            /// The stable id, e.g. `token_expired`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Reason::$variant => $id,)* }
            }

            /// The status of the API answer (pages may be redirected instead).
            pub fn status(self) -> StatusCode {
                let code: u16 = match self { $(Reason::$variant => $status,)* };
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }

            /// Whose fault the refusal is.
            pub const fn fault(self) -> Fault {
                match self { $(Reason::$variant => Fault::$fault,)* }
            }
        }
    };
}

reasons! {
    // The session token (see `TokenError`).
    TokenMissing = "token_missing", 401, Client;
    TokenTooLarge = "token_too_large", 401, Client;
    TokenMalformed = "token_malformed", 401, Client;
    TokenBadAlgorithm = "token_bad_algorithm", 401, Client;
    TokenTypeMismatch = "token_type_mismatch", 401, Client;
    TokenUnknownKid = "token_unknown_kid", 401, Client;
    TokenBadSignature = "token_bad_signature", 401, Client;
    TokenInvalidClaims = "token_invalid_claims", 401, Client;
    TokenBadIssuer = "token_bad_issuer", 401, Client;
    TokenBadAzp = "token_bad_azp", 401, Client;
    TokenMissingSid = "token_missing_sid", 401, Client;
    TokenExpired = "token_expired", 401, Client;
    TokenNotYetValid = "token_not_yet_valid", 401, Client;
    TokenIssuedInFuture = "token_issued_in_future", 401, Client;
    SessionPending = "session_pending", 401, Client;
    /// No usable signing keys: doorman cannot tell valid tokens from forged ones.
    KeysUnavailable = "keys_unavailable", 503, Doorman;
    // What webhooks revoked.
    SessionRevoked = "session_revoked", 401, Client;
    UserRevoked = "user_revoked", 401, Client;
    TokenStale = "token_stale", 401, Client;
    /// Clerk's handshake gave no usable token after the allowed number of tries.
    HandshakeLimit = "handshake_limit", 401, Client;
    /// A handshake nonce the Backend API did not exchange, or whose payload held no session.
    HandshakeFailed = "handshake_failed", 401, Client;
    /// A session cookie while `__client_uat` says the browser is signed out (absent or `0`).
    ClientSignedOut = "client_signed_out", 401, Client;
    /// The cookie token was issued before `__client_uat`: the user signed in again since.
    TokenOlderThanClient = "token_older_than_client", 401, Client;
    /// A development instance's request without the dev-browser token (`__clerk_db_jwt`).
    DevBrowserMissing = "dev_browser_missing", 401, Client;
    /// A development instance's request with the dev-browser token in the URL.
    DevBrowserSync = "dev_browser_sync", 401, Client;
    // The route's rules.
    OnboardingRequired = "onboarding_required", 403, Client;
    OnboardingComplete = "onboarding_complete", 403, Client;
    /// Onboarding says complete, but the claims its user type requires are missing.
    OnboardingDataMissing = "onboarding_data_missing", 403, Client;
    AccountInactive = "account_inactive", 403, Client;
    AccountStateInvalid = "account_state_invalid", 403, Client;
    UserTypeNotAllowed = "user_type_not_allowed", 403, Client;
    RoleMissing = "role_missing", 403, Client;
    OrgRoleMissing = "org_role_missing", 403, Client;
    PermissionMissing = "permission_missing", 403, Client;
    FeatureFlagDisabled = "feature_flag_disabled", 403, Client;
    /// A route condition (CEL over the claims) did not hold, or could not be evaluated.
    ConditionFailed = "condition_failed", 403, Client;
    RouteDenied = "route_denied", 403, Client;
    // The request itself.
    /// `TRACE` (it echoes cookies and tokens back).
    MethodNotAllowed = "method_not_allowed", 400, Client;
    /// A standard method in another case (`get`, `Post`).
    MethodInvalid = "method_invalid", 400, Client;
    /// A `_method` override parameter the route refuses, or that names no method.
    MethodOverride = "method_override", 400, Client;
    HostAmbiguous = "host_ambiguous", 400, Client;
    HostInvalid = "host_invalid", 400, Client;
    HostMismatch = "host_mismatch", 400, Client;
    /// HTTP/1.1 without `Host`; HTTP/2 without `:authority` or `Host` (RFC 9112 §3.2).
    HostMissing = "host_missing", 400, Client;
    /// A forward-auth call without the headers that name the original request
    /// (`X-Original-URI`/`-URL` and `-Method`, or `X-Forwarded-Method`/`-Uri`).
    ForwardAuthIncomplete = "forward_auth_incomplete", 400, Client;
    /// A forward-auth call from a peer outside `[server] trusted_proxies`.
    ForwardAuthUntrusted = "forward_auth_untrusted", 403, Client;
    /// A request transfer coding other than exactly `chunked` (RFC 9112 §6.1: 501).
    TransferCodingUnsupported = "transfer_coding_unsupported", 501, Client;
    /// Both `Content-Length` and `Transfer-Encoding` (RFC 9112 §6.1): the connection closes.
    AmbiguousFraming = "ambiguous_framing", 400, Client;
    BodyTooLarge = "body_too_large", 413, Client;
    BodyInvalid = "body_invalid", 400, Client;
    /// The body arrived slower than `[limits] request_body_min_rate`.
    BodyTooSlow = "body_too_slow", 408, Client;
    // The path (see `PathError`).
    PathNotAbsolute = "path_not_absolute", 400, Client;
    PathInvalidChar = "path_invalid_char", 400, Client;
    PathBadPercentEncoding = "path_bad_percent_encoding", 400, Client;
    PathInvalidUtf8 = "path_invalid_utf8", 400, Client;
    PathEncodedSlash = "path_encoded_slash", 400, Client;
    PathBackslash = "path_backslash", 400, Client;
    PathNul = "path_nul", 400, Client;
    PathControlChar = "path_control_char", 400, Client;
    PathDoubleEncoding = "path_double_encoding", 400, Client;
    PathDotSegment = "path_dot_segment", 400, Client;
    PathTrailingDot = "path_trailing_dot", 400, Client;
    PathTrailingSpace = "path_trailing_space", 400, Client;
    PathSemicolon = "path_semicolon", 400, Client;
    PathEmptySegment = "path_empty_segment", 400, Client;
    PathUnicodeLookalike = "path_unicode_lookalike", 400, Client;
    // The upstream.
    UpstreamUnreachable = "upstream_unreachable", 502, Upstream;
    UpstreamFailed = "upstream_failed", 502, Upstream;
    UpstreamTimeout = "upstream_timeout", 504, Upstream;
    /// A `101` to a request that did not ask to upgrade, or for another protocol.
    UpstreamUnexpectedUpgrade = "upstream_unexpected_upgrade", 502, Upstream;
    // The session endpoint.
    /// The session endpoint answers `GET` (and `HEAD`) only.
    SessionGetOnly = "session_get_only", 405, Client;
    /// The session endpoint was asked from another origin (`Origin`, `Sec-Fetch-Site`).
    CrossOrigin = "cross_origin", 403, Client;
    // The webhook endpoint.
    WebhookPostOnly = "webhook_post_only", 405, Client;
    WebhookTooLarge = "webhook_too_large", 413, Client;
    WebhookBody = "webhook_body", 400, Client;
    /// Bad or expired signature (400 when the Svix headers are missing altogether).
    WebhookRejected = "webhook_rejected", 401, Client;
    WebhookPayload = "webhook_payload", 400, Client;
    /// `[webhooks] initialize` could not write the new user's metadata (Backend API down):
    /// 503, so Svix delivers again.
    WebhookInitializeFailed = "webhook_initialize_failed", 503, Doorman;
    // doorman itself.
    /// Over `[limits] max_connections`: answered before HTTP parsing, then closed.
    TooManyConnections = "too_many_connections", 503, Doorman;
    /// A bug: doorman was asked to render a decision it forwards. Never expected.
    Internal = "internal_error", 500, Doorman;
}

impl Reason {
    /// The reason with id `id`, e.g. for reading a documented table back.
    pub fn from_id(id: &str) -> Option<Reason> {
        Reason::ALL.iter().copied().find(|r| r.as_str() == id)
    }

    /// The JSON `error` kind of the API answer.
    pub fn kind(self) -> &'static str {
        if matches!(
            self,
            Reason::OnboardingRequired | Reason::OnboardingDataMissing
        ) {
            return "onboarding_required";
        }
        match self.status().as_u16() {
            400 => "bad_request",
            401 => "unauthorized",
            403 => "forbidden",
            405 => "method_not_allowed",
            408 => "request_timeout",
            413 => "payload_too_large",
            501 => "not_implemented",
            502 => "bad_gateway",
            503 => "unavailable",
            504 => "gateway_timeout",
            _ => "internal",
        }
        // `Internal` is the one reason whose kind is "internal".
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_snake_case_and_statuses_are_errors() {
        let ids: HashSet<_> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(ids.len(), Reason::ALL.len());
        for r in Reason::ALL {
            assert!(
                r.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{r} is not snake_case"
            );
            assert!(r.status().as_u16() >= 400, "{r}");
            assert_eq!(r.kind() == "internal", *r == Reason::Internal, "{r}");
        }
    }

    #[test]
    fn only_missing_keys_and_overload_are_doormans_fault() {
        let ours: Vec<_> = Reason::ALL
            .iter()
            .filter(|r| r.fault() == Fault::Doorman)
            .collect();
        assert_eq!(
            ours,
            [
                &Reason::KeysUnavailable,
                // Clerk's Backend API out of reach while initializing a new user.
                &Reason::WebhookInitializeFailed,
                &Reason::TooManyConnections,
                &Reason::Internal
            ]
        );
        for r in Reason::ALL {
            assert_eq!(
                r.fault() == Fault::Upstream,
                r.as_str().starts_with("upstream_"),
                "{r}"
            );
        }
    }
}
