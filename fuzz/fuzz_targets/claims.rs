//! Claims → identity and Clerk v2 organization permissions on hostile input.
//!
//! Input: one selector byte, then UTF-8 text. The text is used twice:
//! * as a JWT payload: if it is a JSON object, it becomes `VerifiedClaims` (as if its
//!   signature had verified) and `Identity::from_claims` runs with one of four pointer sets
//!   (the repo's `config.toml` `[claims]` first); the result is checked against a model of
//!   the documented rules (wrong types grant nothing, sorted sets, `org:` permissions);
//! * split on `\n` into `fea`, `per`, `fpm` for `feature_permissions`, checked against an
//!   independent decoder of the decimal masks.
#![no_main]

#[path = "common/identity.rs"]
mod identity;

use doorman::token::verify::{SessionStatus, VerifiedClaims};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };

    let mut lines = text.splitn(3, '\n');
    let fea = lines.next().unwrap_or_default();
    let per = lines.next().unwrap_or_default();
    let fpm = lines.next().unwrap_or_default();
    identity::check_feature_permissions(fea, per, fpm);

    let Ok(payload @ Value::Object(_)) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let string = |name: &str, default: &str| match payload.get(name) {
        Some(Value::String(s)) => s.clone(),
        _ => default.to_owned(),
    };
    let version = match payload.get("v").and_then(Value::as_i64) {
        Some(v @ (1 | 2)) => v as u8,
        _ => 1 + (selector & 1),
    };
    let claims = VerifiedClaims {
        sub: string("sub", "user_fuzz"),
        sid: string("sid", "sess_fuzz"),
        iat: payload.get("iat").and_then(Value::as_i64),
        nbf: payload.get("nbf").and_then(Value::as_i64),
        exp: payload.get("exp").and_then(Value::as_i64).unwrap_or(0),
        version,
        status: if selector & 2 == 0 { SessionStatus::Active } else { SessionStatus::Pending },
        payload: payload.into(),
    };
    let sets = identity::pointer_sets();
    let pointers = &sets[usize::from(selector >> 2) % sets.len()];
    identity::check_identity(&claims, pointers);
});
