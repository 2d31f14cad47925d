//! Checks a [`ParsedToken`]'s signature and claims against the configured issuer, parties,
//! clock and skew, in the order of docs/clerk.md, "Tokens: what is verified" (signature first; the first failure wins),
//! producing [`VerifiedClaims`].
//!
//! Pure: the key and the current time are passed in. A claim of the wrong type is always a
//! rejection, never a skipped check (the CVE-2026-25537 class), and time arithmetic saturates
//! so hostile values cannot overflow or panic. Nothing here reads a claim before the signature
//! has verified, and nothing here logs.

use crate::keys::VerifyKey;
use crate::token::payload::Payload;
use crate::token::raw::Raw;
use crate::token::{ParsedToken, TokenError};

/// Clerk's default allowed clock skew, in seconds.
pub const DEFAULT_CLOCK_SKEW_SECS: u64 = 5;

/// What a session token must match besides its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Exact expected `iss` (the instance's Frontend API URL).
    pub issuer: String,
    /// When non-empty, `azp` must equal one entry exactly.
    pub authorized_parties: Vec<String>,
    /// Allowed clock difference in seconds (0 is honoured).
    pub clock_skew_secs: u64,
    /// Accept `sts: "pending"` sessions (Clerk treats them as signed out).
    pub accept_pending: bool,
}

impl VerifyOptions {
    /// Options for `issuer` with Clerk's defaults: no `azp` list, 5 s skew, pending refused.
    pub fn new(issuer: impl Into<String>) -> VerifyOptions {
        VerifyOptions {
            issuer: issuer.into(),
            authorized_parties: Vec::new(),
            clock_skew_secs: DEFAULT_CLOCK_SKEW_SECS,
            accept_pending: false,
        }
    }
}

/// The session's `sts` claim (absent on older tokens, which count as active).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionStatus {
    Active,
    Pending,
}

/// The claims of a token whose signature and standard claims have been verified.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedClaims {
    /// `sub`: the user id (`user_…`).
    pub sub: String,
    /// `sid`: the session id (`sess_…`).
    pub sid: String,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
    pub exp: i64,
    /// Claims version: 1 (no `v`) or 2.
    pub version: u8,
    pub status: SessionStatus,
    /// The whole payload (a JSON object), for custom claims and organization claims: read
    /// typed from its text, or as a tree with [`Payload::value`].
    pub payload: Payload,
}

impl VerifiedClaims {
    /// True once the token counts as expired at `now_unix` (`exp <= now - skew`). A cached
    /// verification must be dropped as soon as this is true.
    pub fn expired_at(&self, now_unix: i64, clock_skew_secs: u64) -> bool {
        is_expired(self.exp, now_unix, clock_skew_secs)
    }
}

impl ParsedToken {
    /// Verifies the signature with `key`, then the claims (docs/clerk.md, "Tokens: what is verified", first failure wins):
    ///
    /// signature → [`TokenError::BadSignature`]; `sub` a non-empty string → `Claims`, not
    /// `mch_…` → `TokenType`; `exp` an integer, `nbf`/`iat` integers when present → `Claims`;
    /// `azp` in `authorized_parties` when that is non-empty → `BadAuthorizedParty`;
    /// `exp <= now - skew` → `Expired`; `nbf > now + skew` → `NotYetValid`;
    /// `iat > now + skew` → `IssuedInFuture`; `iss == issuer` → `BadIssuer`; `sid` a
    /// non-empty string → `MissingSession`; `sts` `active`/`pending` → `Claims`; pending and
    /// not accepted → `SessionPending`; `v` 1 or 2 when present → `Claims`.
    pub fn verify(
        &self,
        key: &VerifyKey,
        opts: &VerifyOptions,
        now_unix: i64,
    ) -> Result<VerifiedClaims, TokenError> {
        let mut verified = self.verify_with(key, opts, now_unix)?;
        verified.payload = self.payload().clone();
        Ok(verified)
    }

    /// [`verify`](Self::verify) for a token not needed afterwards: the payload moves into the
    /// result instead of being copied (the proxy's path).
    pub fn into_verified(
        self,
        key: &VerifyKey,
        opts: &VerifyOptions,
        now_unix: i64,
    ) -> Result<VerifiedClaims, TokenError> {
        let mut verified = self.verify_with(key, opts, now_unix)?;
        verified.payload = self.into_payload();
        Ok(verified)
    }

    /// The checks, reading each claim typed from the payload's text; the result's payload
    /// is left empty for the caller to fill.
    fn verify_with(
        &self,
        key: &VerifyKey,
        opts: &VerifyOptions,
        now_unix: i64,
    ) -> Result<VerifiedClaims, TokenError> {
        if !key.verify(self.signing_input(), self.signature()) {
            return Err(TokenError::BadSignature);
        }
        let claims = self.payload();
        let sub = match claims.get("sub").and_then(Raw::as_str) {
            Some(sub) if !sub.is_empty() => sub,
            _ => return Err(TokenError::Claims),
        };
        if sub.starts_with("mch_") {
            return Err(TokenError::TokenType);
        }
        let exp = integer_claim(claims, "exp")?.ok_or(TokenError::Claims)?;
        let nbf = integer_claim(claims, "nbf")?;
        let iat = integer_claim(claims, "iat")?;
        check_authorized_party(claims.get("azp"), &opts.authorized_parties)?;

        let latest = now_unix.saturating_add(skew_as_i64(opts.clock_skew_secs));
        if is_expired(exp, now_unix, opts.clock_skew_secs) {
            return Err(TokenError::Expired);
        }
        if nbf.is_some_and(|nbf| nbf > latest) {
            return Err(TokenError::NotYetValid);
        }
        if iat.is_some_and(|iat| iat > latest) {
            return Err(TokenError::IssuedInFuture);
        }
        match claims.get("iss").and_then(Raw::as_str) {
            Some(iss) if iss == opts.issuer => {}
            _ => return Err(TokenError::BadIssuer),
        }
        let sid = match claims.get("sid").and_then(Raw::as_str) {
            Some(sid) if !sid.is_empty() => sid,
            _ => return Err(TokenError::MissingSession),
        };
        let status = session_status(claims.get("sts"))?;
        if status == SessionStatus::Pending && !opts.accept_pending {
            return Err(TokenError::SessionPending);
        }
        let version = match claims.get("v") {
            None => 1,
            Some(v) => match v.as_i64() {
                Some(1) => 1,
                Some(2) => 2,
                _ => return Err(TokenError::Claims),
            },
        };
        Ok(VerifiedClaims {
            sub: sub.into_owned(),
            sid: sid.into_owned(),
            iat,
            nbf,
            exp,
            version,
            status,
            payload: Payload::empty(),
        })
    }
}

/// `Ok(None)` when absent; an integer JSON number in i64 range, else `Claims` (strings,
/// floats, booleans and `null` never count as "absent").
fn integer_claim(claims: &Payload, name: &str) -> Result<Option<i64>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(n) => n.as_i64().map(Some).ok_or(TokenError::Claims),
    }
}

fn check_authorized_party(azp: Option<Raw<'_>>, allowed: &[String]) -> Result<(), TokenError> {
    if allowed.is_empty() {
        return Ok(());
    }
    match azp.and_then(Raw::as_str) {
        Some(azp) if allowed.iter().any(|party| *party == azp) => Ok(()),
        _ => Err(TokenError::BadAuthorizedParty),
    }
}

fn session_status(sts: Option<Raw<'_>>) -> Result<SessionStatus, TokenError> {
    match sts.map(Raw::as_str) {
        None => Ok(SessionStatus::Active),
        Some(Some(sts)) if sts == "active" => Ok(SessionStatus::Active),
        Some(Some(sts)) if sts == "pending" => Ok(SessionStatus::Pending),
        Some(_) => Err(TokenError::Claims),
    }
}

fn skew_as_i64(skew_secs: u64) -> i64 {
    i64::try_from(skew_secs).unwrap_or(i64::MAX)
}

/// Clerk's rule: the boundary counts as expired.
fn is_expired(exp: i64, now_unix: i64, skew_secs: u64) -> bool {
    exp <= now_unix.saturating_sub(skew_as_i64(skew_secs))
}

#[cfg(test)]
mod forgery_tests;
#[cfg(test)]
mod tests;
