//! The token stage: find the session token in a request ([`extract`]), parse it strictly
//! ([`parse`]), verify signature and claims against the configured keys and clock
//! ([`verify`]), and turn the verified claims into an [`Identity`] ([`claims`]).
//!
//! Everything here is pure: headers, keys and `now` come in as arguments, results go out as
//! values ([`TokenError`] has the stable ids for metrics and JSON bodies). This stage never
//! logs a token or a claim, never fetches anything a token points at, and never grants on a
//! claim it cannot read exactly: a wrong type denies.

pub mod claims;
pub mod error;
pub mod extract;
mod json;
pub mod org;
pub mod parse;
pub mod payload;
pub mod raw;
mod self_test;
mod strict;
mod tape;
pub mod verify;

#[cfg(test)]
pub(crate) mod testkit;

pub use claims::{validate_pointer, Activity, ClaimPointers, Identity};
pub use error::TokenError;
pub use extract::{cookie_value, extract_token, TokenSource, DEFAULT_SESSION_COOKIE};
/// The tree builder the typed payload read is checked against (tests, fuzz targets, benches).
#[doc(hidden)]
pub use json::from_slice_strict;
pub use parse::{ParsedToken, CATEGORY_NO_INFORMATION, CATEGORY_SESSION, DEFAULT_MAX_TOKEN_BYTES};
pub use payload::Payload;
pub use self_test::{install_crypto_provider, self_test};
pub use verify::{SessionStatus, VerifiedClaims, VerifyOptions, DEFAULT_CLOCK_SKEW_SECS};

use crate::keys::KeySet;

/// Parse, pick the key by `kid`, verify: the synchronous path for a key set already in hand
/// (`doorman explain`, tests). An unknown or missing `kid` with a JWKS is
/// [`TokenError::UnknownKid`]; the proxy's JWKS cache may refresh once and call
/// [`ParsedToken::verify`] itself instead.
pub fn verify_with_keys(
    token: &str,
    keys: &KeySet,
    opts: &VerifyOptions,
    now_unix: i64,
    max_bytes: usize,
) -> Result<VerifiedClaims, TokenError> {
    let parsed = ParsedToken::parse(token, max_bytes)?;
    let key = keys.lookup(parsed.kid()).ok_or(TokenError::UnknownKid)?;
    parsed.verify(key, opts, now_unix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev::mint::sign_raw;
    use crate::token::testkit::{
        b64, key_a, key_b, keys, options, session_claims, with, without, KID_A, KID_B, NOW,
    };
    use serde_json::json;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/clerk-sdk-fixtures"
    );
    const MOCK_JWT: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/clerk-sdk-fixtures/mockJwt.jwt"
    ));
    const SIGNED_JWT: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/clerk-sdk-fixtures/signedJwt.jwt"
    ));
    const EXPIRED_JWT: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/clerk-sdk-fixtures/mockExpiredJwt.jwt"
    ));
    const BAD_SIGNATURE_JWT: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/clerk-sdk-fixtures/mockInvalidSignatureJwt.jwt"
    ));
    const MALFORMED_JWT: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/clerk-sdk-fixtures/mockMalformedJwt.jwt"
    ));
    const JWKS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/clerk-sdk-fixtures/mockJwks.json"
    ));
    const PEM: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/clerk-sdk-fixtures/pemEncodedPublicKey.pem"
    ));
    const OTHER_PEM: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/clerk-sdk-fixtures/someOtherPublicKey.pem"
    ));

    /// The fixtures are valid only at this instant (2022-10-24T21:50:50Z).
    const CLERK_NOW: i64 = 1_666_648_250;
    /// `exp` of mockJwt.
    const MOCK_EXP: i64 = 1_666_648_310;

    fn clerk_options(skew: u64) -> VerifyOptions {
        VerifyOptions {
            issuer: "https://clerk.inspired.puma-74.lcl.dev".to_owned(),
            authorized_parties: vec!["https://accounts.inspired.puma-74.lcl.dev".to_owned()],
            clock_skew_secs: skew,
            accept_pending: false,
        }
    }

    #[test]
    fn clerk_sdk_fixtures_verify_as_clerk_says() {
        let jwks = KeySet::from_jwks_json(JWKS.as_bytes()).unwrap().0;
        let pem = KeySet::from_pem(PEM).unwrap();
        let other = KeySet::from_pem(OTHER_PEM).unwrap();
        let table = [
            ("mock_jwt_via_jwks", MOCK_JWT, &jwks, CLERK_NOW, 5, Ok(())),
            ("mock_jwt_via_pem", MOCK_JWT, &pem, CLERK_NOW, 5, Ok(())),
            (
                "signed_jwt_via_jwks",
                SIGNED_JWT,
                &jwks,
                CLERK_NOW,
                5,
                Ok(()),
            ),
            (
                "expired",
                EXPIRED_JWT,
                &jwks,
                CLERK_NOW,
                5,
                Err(TokenError::Expired),
            ),
            (
                "invalid_signature",
                BAD_SIGNATURE_JWT,
                &jwks,
                CLERK_NOW,
                5,
                Err(TokenError::BadSignature),
            ),
            (
                "malformed_payload",
                MALFORMED_JWT,
                &jwks,
                CLERK_NOW,
                5,
                Err(TokenError::BadSignature),
            ),
            (
                "other_public_key",
                MOCK_JWT,
                &other,
                CLERK_NOW,
                5,
                Err(TokenError::BadSignature),
            ),
            (
                "one_second_late_within_skew",
                MOCK_JWT,
                &jwks,
                MOCK_EXP + 1,
                5,
                Ok(()),
            ),
            (
                "one_second_late_zero_skew",
                MOCK_JWT,
                &jwks,
                MOCK_EXP + 1,
                0,
                Err(TokenError::Expired),
            ),
        ];
        for (name, token, keys, now, skew, want) in table {
            let got = verify_with_keys(token.trim(), keys, &clerk_options(skew), now, 8192);
            assert_eq!(got.map(|_| ()), want, "case {name} ({FIXTURES})");
        }
        let verified = verify_with_keys(MOCK_JWT.trim(), &jwks, &clerk_options(5), CLERK_NOW, 8192);
        let verified = verified.unwrap();
        assert_eq!(verified.sub, "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr");
        assert_eq!(verified.sid, "sess_2GbDB4enNdCa5vS1zpC3Xzg9tK9");
        assert_eq!(verified.version, 1);
        assert_eq!(verified.exp, MOCK_EXP);
    }

    #[test]
    fn key_selection_by_kid() {
        let claims = session_claims().to_string();
        let header = |kid: Option<&str>| match kid {
            Some(kid) => format!(r#"{{"alg":"RS256","kid":"{kid}","typ":"JWT"}}"#),
            None => r#"{"alg":"RS256","typ":"JWT"}"#.to_owned(),
        };
        let pem = KeySet::from_pem(&key_a().public_key_pem().unwrap()).unwrap();
        let jwks = keys();
        let table = [
            ("kid_a_by_a", Some(KID_A), key_a(), &jwks, Ok(())),
            ("kid_b_by_b", Some(KID_B), key_b(), &jwks, Ok(())),
            (
                "kid_a_signed_by_b",
                Some(KID_A),
                key_b(),
                &jwks,
                Err(TokenError::BadSignature),
            ),
            (
                "unknown_kid",
                Some("ins_forged"),
                key_a(),
                &jwks,
                Err(TokenError::UnknownKid),
            ),
            (
                "missing_kid_with_jwks",
                None,
                key_a(),
                &jwks,
                Err(TokenError::UnknownKid),
            ),
            ("missing_kid_with_pem", None, key_a(), &pem, Ok(())),
            (
                "any_kid_with_pem",
                Some("ins_whatever"),
                key_a(),
                &pem,
                Ok(()),
            ),
            (
                "pem_but_other_signer",
                Some(KID_B),
                key_b(),
                &pem,
                Err(TokenError::BadSignature),
            ),
        ];
        for (name, kid, signer, keys, want) in table {
            let token = sign_raw(signer, &header(kid), &claims).unwrap();
            let got = verify_with_keys(&token, keys, &options(), NOW, 8192).map(|_| ());
            assert_eq!(got, want, "case {name}");
        }
    }

    #[test]
    fn non_session_tokens_signed_by_the_instance_key_are_refused() {
        let claims = session_claims().to_string();
        let machine = without(with(session_claims(), &[("sub", json!("mch_1"))]), &["sid"]);
        let hdr = |extra: &str| format!(r#"{{"alg":"RS256","kid":"{KID_A}"{extra}}}"#);
        let table = [
            (
                "jwt_template_cat",
                hdr(r#","cat":"cl_B7d4PD222AAA""#),
                claims.clone(),
            ),
            (
                "machine_cat",
                hdr(r#","cat":"cl_B7d4PD333AAA""#),
                claims.clone(),
            ),
            (
                "access_token_typ",
                hdr(r#","typ":"at+jwt""#),
                claims.clone(),
            ),
            ("machine_subject", hdr(""), machine.to_string()),
        ];
        for (name, header, payload) in table {
            let token = sign_raw(key_a(), &header, &payload).unwrap();
            let got = verify_with_keys(&token, &keys(), &options(), NOW, 8192).err();
            assert_eq!(got, Some(TokenError::TokenType), "case {name}");
        }
        let session = sign_raw(key_a(), &hdr(r#","cat":"cl_B7d4PD111AAA""#), &claims).unwrap();
        assert!(verify_with_keys(&session, &keys(), &options(), NOW, 8192).is_ok());
    }

    #[test]
    fn structural_attacks_fail_before_key_lookup() {
        let valid = crate::token::testkit::token(&session_claims());
        let parts: Vec<&str> = valid.split('.').collect();
        let dup_payload = format!(
            r#"{{"sub":"user_1","sub":"user_admin",{}"#,
            &session_claims().to_string()[1..]
        );
        let header = format!(r#"{{"alg":"RS256","kid":"{KID_A}"}}"#);
        let nested_dup = r#"{"sub":"u","metadata":{"roles":["a"],"roles":["admin"]}}"#;
        let table = [
            (
                "jwe_five_parts",
                format!("{}.{}.{}.{}.{}", parts[0], "", parts[1], "", parts[2]),
                TokenError::Malformed,
            ),
            (
                "duplicate_claim_signed",
                sign_raw(key_a(), &header, &dup_payload).unwrap(),
                TokenError::Malformed,
            ),
            (
                "nested_duplicate_signed",
                sign_raw(key_a(), &header, nested_dup).unwrap(),
                TokenError::Malformed,
            ),
            (
                "huge",
                format!("{valid}{}", "A".repeat(DEFAULT_MAX_TOKEN_BYTES)),
                TokenError::TooLarge,
            ),
            (
                "jku_pointing_elsewhere",
                sign_raw(
                    key_a(),
                    &format!(
                        r#"{{"alg":"RS256","kid":"{KID_A}","jku":"http://127.0.0.1:1/jwks"}}"#
                    ),
                    "{}",
                )
                .unwrap(),
                TokenError::Malformed,
            ),
            (
                "embedded_jwk",
                sign_raw(
                    key_a(),
                    &format!(r#"{{"alg":"RS256","jwk":{}}}"#, key_a().public_jwk("x")),
                    "{}",
                )
                .unwrap(),
                TokenError::Malformed,
            ),
        ];
        for (name, token, want) in table {
            let got = verify_with_keys(&token, &keys(), &options(), NOW, DEFAULT_MAX_TOKEN_BYTES);
            assert_eq!(got.err(), Some(want), "case {name}");
        }
        assert_eq!(b64(b"{}"), "e30");
    }
}
