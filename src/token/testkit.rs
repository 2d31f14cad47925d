//! Test-only fixtures shared by the token, keys and mint tests: two signing keys generated
//! once per test binary, a baseline Clerk v2 session claims set, and small builders to bend
//! it. Tokens in tests are always minted from these claims, never pasted.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::dev::mint::{jwks_json, mint, SigningKey};
use crate::keys::KeySet;
use crate::token::{
    verify_with_keys, TokenError, VerifiedClaims, VerifyOptions, DEFAULT_MAX_TOKEN_BYTES,
};

pub(crate) const KID_A: &str = "ins_test_a";
pub(crate) const KID_B: &str = "ins_test_b";
pub(crate) const NOW: i64 = 1_700_000_000;
pub(crate) const ISSUER: &str = "https://clerk.example.com";
pub(crate) const AZP: &str = "https://example.com";

pub(crate) fn key_a() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate_2048().expect("generate test key A"))
}

pub(crate) fn key_b() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate_2048().expect("generate test key B"))
}

/// The JWKS holding key A under `KID_A` and key B under `KID_B`.
pub(crate) fn keys() -> KeySet {
    let jwks = jwks_json(&[(key_a(), KID_A), (key_b(), KID_B)]);
    KeySet::from_jwks_json(jwks.as_bytes())
        .expect("test JWKS")
        .0
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A valid v2 session token's claims at `NOW`, 60 s lifetime, nbf 10 s back.
pub(crate) fn session_claims() -> Value {
    json!({
        "azp": AZP,
        "exp": NOW + 60,
        "iat": NOW,
        "iss": ISSUER,
        "jti": "jti_1",
        "nbf": NOW - 10,
        "sid": "sess_123",
        "sts": "active",
        "sub": "user_123",
        "v": 2,
    })
}

/// `claims` with each `(name, value)` set (added or replaced).
pub(crate) fn with(mut claims: Value, changes: &[(&str, Value)]) -> Value {
    for (name, value) in changes {
        claims[*name] = value.clone();
    }
    claims
}

/// `claims` without the named top-level claims.
pub(crate) fn without(mut claims: Value, names: &[&str]) -> Value {
    if let Some(object) = claims.as_object_mut() {
        for name in names {
            object.remove(*name);
        }
    }
    claims
}

/// Verification options matching `session_claims`: issuer, one authorized party, 5 s skew.
pub(crate) fn options() -> VerifyOptions {
    VerifyOptions {
        issuer: ISSUER.to_owned(),
        authorized_parties: vec![AZP.to_owned()],
        clock_skew_secs: 5,
        accept_pending: false,
    }
}

/// A token over `claims` signed by key A under `KID_A`.
pub(crate) fn token(claims: &Value) -> String {
    mint(key_a(), KID_A, claims).expect("mint test token")
}

/// The whole pipeline (parse, key lookup, verify) at `NOW` with `options()`.
pub(crate) fn check(claims: &Value) -> Result<VerifiedClaims, TokenError> {
    verify_with_keys(
        &token(claims),
        &keys(),
        &options(),
        NOW,
        DEFAULT_MAX_TOKEN_BYTES,
    )
}
