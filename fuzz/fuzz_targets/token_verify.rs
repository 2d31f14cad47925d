//! The claim checks of `ParsedToken::verify`, which `token_parse` cannot reach (a fuzzer
//! cannot forge an RS256 signature): the input is a payload, signed once per run with a key
//! generated at start-up (`doorman::mint::sign_raw`, header `{"alg":"RS256","kid":…}`), then
//! verified with `verify_with_keys` under one of four option sets chosen by the first byte
//! (including saturating extremes of `now` and skew). The result must equal a model of the
//! documented check order (docs/clerk.md, "Tokens: what is verified", "first failure wins"); a verified token then goes
//! through `Identity::from_claims` with the `config.toml` pointers and the identity model.
#![no_main]

#[path = "common/identity.rs"]
mod identity;

use std::sync::OnceLock;

use doorman::keys::KeySet;
use doorman::mint::{jwks_json, sign_raw, SigningKey};
use doorman::token::verify::{SessionStatus, VerifyOptions};
use doorman::token::{verify_with_keys, TokenError, DEFAULT_MAX_TOKEN_BYTES};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

const KID: &str = "ins_fuzz";
const ISSUER: &str = "https://clerk.fuzz.example";
const PARTY: &str = "https://app.fuzz.example";

struct Fixture {
    key: SigningKey,
    keys: KeySet,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = SigningKey::generate_2048().expect("RSA key");
        let keys = KeySet::from_jwks_json(jwks_json(&[(&key, KID)]).as_bytes()).expect("JWKS").0;
        Fixture { key, keys }
    })
}

fn options(selector: u8) -> (VerifyOptions, i64) {
    let mut options = VerifyOptions::new(ISSUER);
    match selector % 4 {
        0 => {
            options.authorized_parties = vec![PARTY.to_owned(), "https://other".to_owned()];
            (options, 1_700_000_000)
        }
        1 => {
            options.accept_pending = true;
            options.clock_skew_secs = 0;
            (options, 1_700_000_000)
        }
        2 => {
            options.clock_skew_secs = u64::MAX;
            (options, i64::MAX)
        }
        _ => (options, i64::MIN),
    }
}

/// docs/clerk.md, "Tokens: what is verified" as `verify`'s doc comment states it; time arithmetic saturates.
fn model(claims: &Map<String, Value>, options: &VerifyOptions, now: i64) -> Result<(), TokenError> {
    let integer = |name: &str| match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(TokenError::Claims),
        Some(_) => Err(TokenError::Claims),
    };
    let sub = match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() => s,
        _ => return Err(TokenError::Claims),
    };
    if sub.starts_with("mch_") {
        return Err(TokenError::TokenType);
    }
    let exp = integer("exp")?.ok_or(TokenError::Claims)?;
    let nbf = integer("nbf")?;
    let iat = integer("iat")?;
    if !options.authorized_parties.is_empty() {
        match claims.get("azp") {
            Some(Value::String(azp)) if options.authorized_parties.contains(azp) => {}
            _ => return Err(TokenError::BadAuthorizedParty),
        }
    }
    let skew = i128::from(options.clock_skew_secs.min(i64::MAX as u64));
    let clamp = |t: i128| t.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
    let (earliest, latest) = (clamp(i128::from(now) - skew), clamp(i128::from(now) + skew));
    if i128::from(exp) <= earliest {
        return Err(TokenError::Expired);
    }
    if nbf.is_some_and(|t| i128::from(t) > latest) {
        return Err(TokenError::NotYetValid);
    }
    if iat.is_some_and(|t| i128::from(t) > latest) {
        return Err(TokenError::IssuedInFuture);
    }
    if claims.get("iss") != Some(&Value::String(options.issuer.clone())) {
        return Err(TokenError::BadIssuer);
    }
    match claims.get("sid") {
        Some(Value::String(s)) if !s.is_empty() => {}
        _ => return Err(TokenError::MissingSession),
    }
    match claims.get("sts").map(Value::as_str) {
        None | Some(Some("active")) => {}
        Some(Some("pending")) if options.accept_pending => {}
        Some(Some("pending")) => return Err(TokenError::SessionPending),
        Some(_) => return Err(TokenError::Claims),
    }
    match claims.get("v").map(Value::as_i64) {
        None | Some(Some(1 | 2)) => Ok(()),
        Some(_) => Err(TokenError::Claims),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(payload) = std::str::from_utf8(rest) else {
        return;
    };
    // Skip what `parse` refuses before the signature anyway (cheaper than signing it).
    let Ok(Value::Object(claims)) = serde_json::from_str::<Value>(payload) else {
        return;
    };
    let fixture = fixture();
    let header = format!(r#"{{"alg":"RS256","kid":"{KID}","typ":"JWT"}}"#);
    let Ok(token) = sign_raw(&fixture.key, &header, payload) else {
        return;
    };
    let (options, now) = options(selector);
    let result = verify_with_keys(&token, &fixture.keys, &options, now, usize::MAX);
    if token.len() <= DEFAULT_MAX_TOKEN_BYTES {
        let limited = verify_with_keys(&token, &fixture.keys, &options, now, DEFAULT_MAX_TOKEN_BYTES);
        assert_eq!(limited, result);
    }
    // serde_json keeps the last of duplicate keys; the strict parser refuses them.
    if result == Err(TokenError::Malformed) {
        return;
    }
    let expected = model(&claims, &options, now);
    assert_eq!(result.clone().map(|_| ()), expected, "payload {payload:?}");
    let Ok(verified) = result else {
        return;
    };
    assert_eq!(verified.payload, Value::Object(claims.clone()));
    assert_eq!(Some(&Value::String(verified.sub.clone())), claims.get("sub"));
    assert_eq!(Some(&Value::String(verified.sid.clone())), claims.get("sid"));
    assert_eq!(claims.get("exp").and_then(Value::as_i64), Some(verified.exp));
    assert_eq!(claims.get("iat").and_then(Value::as_i64), verified.iat);
    assert_eq!(claims.get("nbf").and_then(Value::as_i64), verified.nbf);
    assert_eq!(claims.get("v").and_then(Value::as_i64).unwrap_or(1), i64::from(verified.version));
    let pending = claims.get("sts") == Some(&Value::String("pending".into()));
    assert_eq!(verified.status == SessionStatus::Pending, pending);
    assert!(!verified.expired_at(now, options.clock_skew_secs));
    identity::check_identity(&verified, &identity::config_pointers());
});
