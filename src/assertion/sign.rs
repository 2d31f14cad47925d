//! One assertion: the claims of an identity for one audience, signed as a compact JWS
//! (`base64url(header).base64url(claims).base64url(signature)`).
//!
//! Claims: `iss`, `aud`, `sub` (user id), `sid` (session id, when the token had one), `iat`,
//! `nbf` (= `iat`), `exp` (= `iat` + lifetime; never bounded by the Clerk token's own `exp`),
//! and the identity doorman forwards: `user_type`, `org_id`, `org_slug`, `org_role`
//! (absent when unknown), `roles`, `permissions`, `feature_flags` (lists, possibly empty),
//! `onboarding_status` (when known) and `onboarding_complete`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use super::keys::{KeyError, SigningKey};
use crate::token::claims::Identity;

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    sid: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    org_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    org_slug: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    org_role: Option<&'a str>,
    roles: &'a [String],
    permissions: &'a [String],
    feature_flags: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    onboarding_status: Option<&'a str>,
    onboarding_complete: bool,
}

/// What one assertion says besides the identity.
pub struct Stamp<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub iat: i64,
    pub lifetime: i64,
}

/// The compact JWS of `identity` under `stamp`, signed with `key`.
pub fn compact(
    key: &SigningKey,
    stamp: &Stamp<'_>,
    identity: &Identity,
) -> Result<String, KeyError> {
    let claims = Claims {
        iss: stamp.issuer,
        aud: stamp.audience,
        sub: &identity.user_id,
        sid: &identity.session_id,
        iat: stamp.iat,
        nbf: stamp.iat,
        exp: stamp.iat.saturating_add(stamp.lifetime),
        user_type: identity.user_type.as_deref(),
        org_id: identity.org_id.as_deref(),
        org_slug: identity.org_slug.as_deref(),
        org_role: identity.org_role.as_deref(),
        roles: &identity.roles,
        permissions: &identity.permissions,
        feature_flags: &identity.feature_flags,
        onboarding_status: identity.onboarding_status.as_deref(),
        onboarding_complete: identity.onboarding_complete,
    };
    let payload = serde_json::to_vec(&claims).map_err(|_| KeyError::Sign)?;
    let mut out = String::with_capacity(key.header_b64.len() + payload.len() * 4 / 3 + 100);
    out.push_str(&key.header_b64);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut out);
    let signature = key.sign(out.as_bytes())?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&signature, &mut out);
    Ok(out)
}

/// About how many bytes the assertion of `identity` takes (for the token cache's budget).
pub fn estimate(identity: &Identity) -> usize {
    let strings = |v: &[String]| v.iter().map(|s| s.len() + 3).sum::<usize>();
    let optional = [
        &identity.user_type,
        &identity.org_id,
        &identity.org_slug,
        &identity.org_role,
        &identity.onboarding_status,
    ]
    .iter()
    .map(|s| s.as_ref().map_or(0, |s| s.len() + 16))
    .sum::<usize>();
    let claims = 220
        + identity.user_id.len()
        + identity.session_id.len()
        + optional
        + strings(&identity.roles)
        + strings(&identity.permissions)
        + strings(&identity.feature_flags);
    // header (~110) + base64 of the claims + signature (86) + dots.
    110 + claims.div_ceil(3) * 4 + 88
}
