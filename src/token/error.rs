//! The one error type of the token stage: every way a request's credential can fail, with a
//! stable metric label (`as_str`, the `result` label of
//! `doorman_token_verifications_total`, fixed by the metrics contract) and the [`Reason`] a
//! refusal gives (`reason`).
//!
//! The labels and reason ids are part of doorman's outside contract (metrics, JSON error
//! bodies, logs): they must never change once released, and a variant must never carry data
//! taken from the token (a token's contents never reach a metric label or a log line from
//! here).

use thiserror::Error;

use crate::reason::Reason;

/// Why a request has no usable session token.
///
/// Every variant but [`TokenError::KeysUnavailable`] is the client's problem (401);
/// `KeysUnavailable` is ours (503): see [`TokenError::is_server_fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum TokenError {
    #[error("no session token was sent (no Authorization header and no session cookie)")]
    Missing,
    #[error("the session token is larger than the configured maximum size")]
    TooLarge,
    #[error("the session token is not a well-formed JWT")]
    Malformed,
    #[error("the session token is not signed with RS256")]
    BadAlgorithm,
    #[error("the token is not a Clerk session token (template, machine or access token)")]
    TokenType,
    #[error("the session token was signed by a key that is not in the key set")]
    UnknownKid,
    #[error("the session token's signature does not verify")]
    BadSignature,
    #[error("a claim of the session token is missing or has the wrong type")]
    Claims,
    #[error("the session token was issued by another Clerk instance (iss mismatch)")]
    BadIssuer,
    #[error("the session token was requested by an origin that is not an authorized party")]
    BadAuthorizedParty,
    #[error("the session token carries no session id (sid)")]
    MissingSession,
    #[error("the session token has expired")]
    Expired,
    #[error("the session token is not valid yet (nbf in the future)")]
    NotYetValid,
    #[error("the session token was issued in the future (iat ahead of our clock)")]
    IssuedInFuture,
    #[error("the session is pending (the user still has a task to finish)")]
    SessionPending,
    #[error("no signing keys are available to verify session tokens")]
    KeysUnavailable,
}

impl TokenError {
    /// Every variant, in declaration order (to pre-register metric label values).
    pub const ALL: [TokenError; 16] = [
        TokenError::Missing,
        TokenError::TooLarge,
        TokenError::Malformed,
        TokenError::BadAlgorithm,
        TokenError::TokenType,
        TokenError::UnknownKid,
        TokenError::BadSignature,
        TokenError::Claims,
        TokenError::BadIssuer,
        TokenError::BadAuthorizedParty,
        TokenError::MissingSession,
        TokenError::Expired,
        TokenError::NotYetValid,
        TokenError::IssuedInFuture,
        TokenError::SessionPending,
        TokenError::KeysUnavailable,
    ];

    /// Stable metric label (`doorman_token_verifications_total{result=…}`).
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenError::Missing => "missing",
            TokenError::TooLarge => "too_large",
            TokenError::Malformed => "malformed",
            TokenError::BadAlgorithm => "bad_algorithm",
            TokenError::TokenType => "token_type",
            TokenError::UnknownKid => "unknown_kid",
            TokenError::BadSignature => "bad_signature",
            TokenError::Claims => "claims",
            TokenError::BadIssuer => "bad_issuer",
            TokenError::BadAuthorizedParty => "bad_azp",
            TokenError::MissingSession => "missing_sid",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::IssuedInFuture => "issued_in_future",
            TokenError::SessionPending => "session_pending",
            TokenError::KeysUnavailable => "keys_unavailable",
        }
    }

    /// Stable reason id for JSON error bodies (`{"error": …, "reason": …}`).
    pub const fn reason(self) -> Reason {
        match self {
            TokenError::Missing => Reason::TokenMissing,
            TokenError::TooLarge => Reason::TokenTooLarge,
            TokenError::Malformed => Reason::TokenMalformed,
            TokenError::BadAlgorithm => Reason::TokenBadAlgorithm,
            TokenError::TokenType => Reason::TokenTypeMismatch,
            TokenError::UnknownKid => Reason::TokenUnknownKid,
            TokenError::BadSignature => Reason::TokenBadSignature,
            TokenError::Claims => Reason::TokenInvalidClaims,
            TokenError::BadIssuer => Reason::TokenBadIssuer,
            TokenError::BadAuthorizedParty => Reason::TokenBadAzp,
            TokenError::MissingSession => Reason::TokenMissingSid,
            TokenError::Expired => Reason::TokenExpired,
            TokenError::NotYetValid => Reason::TokenNotYetValid,
            TokenError::IssuedInFuture => Reason::TokenIssuedInFuture,
            TokenError::SessionPending => Reason::SessionPending,
            TokenError::KeysUnavailable => Reason::KeysUnavailable,
        }
    }

    /// True when the failure is doorman's (no keys to verify with): answer 503, not 401.
    pub fn is_server_fault(self) -> bool {
        self.reason().fault() == crate::reason::Fault::Doorman
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn labels_and_reasons_are_unique_and_snake_case() {
        let labels: HashSet<_> = TokenError::ALL.iter().map(|e| e.as_str()).collect();
        let reasons: HashSet<_> = TokenError::ALL
            .iter()
            .map(|e| e.reason().as_str())
            .collect();
        assert_eq!(labels.len(), TokenError::ALL.len());
        assert_eq!(reasons.len(), TokenError::ALL.len());
        for s in labels.iter().chain(reasons.iter()) {
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s} is not snake_case"
            );
        }
    }

    #[test]
    fn contract_labels_and_reasons_are_stable() {
        let table = [
            (TokenError::Expired, "expired", "token_expired"),
            (TokenError::BadAuthorizedParty, "bad_azp", "token_bad_azp"),
            (
                TokenError::MissingSession,
                "missing_sid",
                "token_missing_sid",
            ),
            (TokenError::TokenType, "token_type", "token_type_mismatch"),
            (TokenError::Claims, "claims", "token_invalid_claims"),
            (
                TokenError::SessionPending,
                "session_pending",
                "session_pending",
            ),
            (
                TokenError::KeysUnavailable,
                "keys_unavailable",
                "keys_unavailable",
            ),
        ];
        for (err, label, reason) in table {
            assert_eq!(err.as_str(), label);
            assert_eq!(err.reason().as_str(), reason);
        }
    }

    #[test]
    fn only_missing_keys_are_our_fault() {
        for e in TokenError::ALL {
            assert_eq!(
                e.is_server_fault(),
                e == TokenError::KeysUnavailable,
                "{e:?}"
            );
            assert!(e
                .to_string()
                .ends_with(|c: char| c.is_alphanumeric() || c == ')'));
        }
    }
}
