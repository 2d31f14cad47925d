//! `ParsedToken::parse` on arbitrary UTF-8, then (when it parses) key lookup and `verify`
//! against the Clerk SDK fixture JWKS at a fixed instant. Must never panic; checks the
//! invariants `parse` documents for what it accepts.
#![no_main]

use std::sync::OnceLock;

use doorman::keys::KeySet;
use doorman::token::parse::{
    ParsedToken, CATEGORY_NO_INFORMATION, CATEGORY_SESSION, DEFAULT_MAX_TOKEN_BYTES,
};
use doorman::token::verify::VerifyOptions;
use doorman::token::{verify_with_keys, TokenError};
use libfuzzer_sys::fuzz_target;

/// The instant the Clerk SDK fixtures are valid at (2022-10-24T21:50:50Z).
const NOW: i64 = 1_666_648_250;

const JWKS: &str = include_str!("../../tests/vectors/clerk-sdk-fixtures/mockJwks.json");

fn keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| KeySet::from_jwks_json(JWKS.as_bytes()).expect("fixture JWKS").0)
}

fn options() -> &'static VerifyOptions {
    static OPTIONS: OnceLock<VerifyOptions> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut options = VerifyOptions::new("https://clerk.inspired.puma-74.lcl.dev");
        options.authorized_parties = vec!["https://accounts.inspired.puma-74.lcl.dev".to_owned()];
        options
    })
}

fuzz_target!(|token: &str| {
    // A small limit too, so the size check is exercised at both edges.
    let small = ParsedToken::parse(token, 64);
    if token.len() > 64 {
        assert!(matches!(small, Err(TokenError::TooLarge)));
    }
    let parsed = match ParsedToken::parse(token, DEFAULT_MAX_TOKEN_BYTES) {
        Ok(parsed) => parsed,
        Err(error) => {
            // The same error through the one-call path.
            let again = verify_with_keys(token, keys(), options(), NOW, DEFAULT_MAX_TOKEN_BYTES);
            assert_eq!(again.err(), Some(error));
            let _ = error.to_string();
            return;
        }
    };
    // Accepted: exactly three parts, signing input = the first two, as received.
    assert!(token.len() <= DEFAULT_MAX_TOKEN_BYTES);
    let (signing_input, _signature_b64) = token.rsplit_once('.').expect("three parts");
    assert_eq!(parsed.signing_input(), signing_input.as_bytes());
    assert_eq!(token.split('.').count(), 3);
    assert!(matches!(
        parsed.category(),
        None | Some(CATEGORY_SESSION) | Some(CATEGORY_NO_INFORMATION)
    ));
    let _ = format!("{parsed:?}");

    let result = match keys().lookup(parsed.kid()) {
        Some(key) => parsed.verify(key, options(), NOW),
        None => Err(TokenError::UnknownKid),
    };
    let again = verify_with_keys(token, keys(), options(), NOW, DEFAULT_MAX_TOKEN_BYTES);
    assert_eq!(result, again);
    if let Ok(claims) = result {
        assert!(!claims.sub.is_empty() && !claims.sub.starts_with("mch_"));
        assert!(!claims.sid.is_empty());
        assert!(claims.version == 1 || claims.version == 2);
        assert!(!claims.expired_at(NOW, options().clock_skew_secs));
        assert!(claims.payload.value().is_object());
    }
});
