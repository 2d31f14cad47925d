//! docs/security.md class 1 at the verification step: signatures are checked before any claim,
//! and forged, damaged or algorithm-confused signatures never verify.

use crate::dev::mint::sign_raw;
use crate::token::testkit::{
    b64, key_a, key_b, keys, options, session_claims, token, with, KID_A, NOW,
};
use crate::token::{verify_with_keys, TokenError};
use serde_json::json;

#[test]
fn signature_is_checked_before_any_claim() {
    let expired = with(
        session_claims(),
        &[("exp", json!(NOW - 1000)), ("sub", json!(1))],
    );
    let header = format!(r#"{{"alg":"RS256","kid":"{KID_A}","typ":"JWT"}}"#);
    let signed_by_b = sign_raw(key_b(), &header, &expired.to_string()).unwrap();
    let got = verify_with_keys(&signed_by_b, &keys(), &options(), NOW, 8192);
    assert_eq!(got.err(), Some(TokenError::BadSignature));
}

#[test]
fn forged_and_damaged_signatures_are_refused() {
    let good = token(&session_claims());
    let parts: Vec<&str> = good.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    let mut sig =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s).unwrap();
    let promoted = with(session_claims(), &[("sub", json!("user_admin"))]);
    let other = token(&with(session_claims(), &[("sid", json!("sess_other"))]));
    let other_sig = other.rsplit('.').next().unwrap();
    sig.pop();
    let truncated = b64(&sig);
    let table = [
        (
            "tampered_payload",
            format!("{h}.{}.{s}", b64(promoted.to_string().as_bytes())),
        ),
        ("stripped_signature", format!("{h}.{p}.")),
        ("truncated_signature", format!("{h}.{p}.{truncated}")),
        ("signature_of_another_token", format!("{h}.{p}.{other_sig}")),
        ("zero_signature", format!("{h}.{p}.{}", b64(&[0u8; 256]))),
    ];
    for (name, forged) in table {
        let got = verify_with_keys(&forged, &keys(), &options(), NOW, 8192).err();
        assert_eq!(got, Some(TokenError::BadSignature), "case {name}");
    }
}

#[test]
fn algorithm_confusion_is_refused() {
    use aws_lc_rs::hmac;
    let payload = session_claims().to_string();
    let pem = key_a().public_key_pem().unwrap();
    let jwk = key_a().public_jwk(KID_A).to_string();
    let hs256 = |alg: &str, secret: &[u8]| {
        let signing_input = format!(
            "{}.{}",
            b64(format!(r#"{{"alg":"{alg}","kid":"{KID_A}","typ":"JWT"}}"#).as_bytes()),
            b64(payload.as_bytes())
        );
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, secret),
            signing_input.as_bytes(),
        );
        format!("{signing_input}.{}", b64(tag.as_ref()))
    };
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(payload.as_bytes())
    );
    let table = [
        (
            "hs256_public_pem_as_secret",
            hs256("HS256", pem.as_bytes()),
            TokenError::BadAlgorithm,
        ),
        (
            "hs256_pem_trimmed_as_secret",
            hs256("HS256", pem.trim().as_bytes()),
            TokenError::BadAlgorithm,
        ),
        (
            "hs256_jwk_json_as_secret",
            hs256("HS256", jwk.as_bytes()),
            TokenError::BadAlgorithm,
        ),
        (
            "hmac_under_rs256_header",
            hs256("RS256", pem.as_bytes()),
            TokenError::BadSignature,
        ),
        ("alg_none_unsigned", none, TokenError::BadAlgorithm),
        (
            "rs384_real_signature",
            key_a().sign_rs384_for_tests(&payload),
            TokenError::BadAlgorithm,
        ),
    ];
    for (name, forged, want) in table {
        let got = verify_with_keys(&forged, &keys(), &options(), NOW, 8192).err();
        assert_eq!(got, Some(want), "case {name}");
    }
}
