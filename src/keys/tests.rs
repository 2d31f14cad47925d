//! Key sets from JWKS and PEM: what is loaded, what is skipped and why, and lookup rules
//! (docs/security.md class 10: keys with the wrong use/alg/kty, emptied sets).

use super::*;
use crate::token::testkit::{key_a, key_b, KID_A, KID_B};
use aws_lc_rs::encoding::AsDer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

const CLERK_PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/clerk-sdk-fixtures/pemEncodedPublicKey.pem"
));
const CLERK_JWKS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/clerk-sdk-fixtures/mockJwks.json"
));

fn jwks(keys: Vec<Value>) -> Vec<u8> {
    json!({ "keys": keys }).to_string().into_bytes()
}

/// Signs `message` with key A (RS256) through a minted token: returns (signing input, signature).
fn signed_by_a() -> (Vec<u8>, Vec<u8>) {
    let token = crate::dev::mint::mint(key_a(), KID_A, &json!({"sub": "user_1"})).unwrap();
    let parsed = crate::token::ParsedToken::parse(&token, 8192).unwrap();
    (parsed.signing_input().to_vec(), parsed.signature().to_vec())
}

#[test]
fn jwks_keys_are_looked_up_by_exact_kid() {
    let doc = jwks(vec![key_a().public_jwk(KID_A), key_b().public_jwk(KID_B)]);
    let (set, warnings) = KeySet::from_jwks_json(&doc).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!((set.len(), set.is_empty(), set.is_pem()), (2, false, false));
    assert_eq!(set.kids(), [KID_A, KID_B]);
    let (message, signature) = signed_by_a();
    assert!(set
        .lookup(Some(KID_A))
        .unwrap()
        .verify(&message, &signature));
    assert!(!set
        .lookup(Some(KID_B))
        .unwrap()
        .verify(&message, &signature));
    for kid in [
        None,
        Some(""),
        Some("ins_test_A"),
        Some("ins_test_a "),
        Some("unknown"),
    ] {
        assert!(set.lookup(kid).is_none(), "{kid:?}");
    }
}

#[test]
fn unusable_jwks_entries_are_skipped_with_a_warning_naming_them() {
    let good = || key_a().public_jwk("good");
    let bend = |changes: Value| {
        let mut jwk = key_b().public_jwk("bad");
        if let (Some(target), Value::Object(changes)) = (jwk.as_object_mut(), changes) {
            for (k, v) in changes {
                if v.is_null() {
                    target.remove(&k);
                } else {
                    target.insert(k, v);
                }
            }
        }
        jwk
    };
    let small_modulus = URL_SAFE_NO_PAD.encode([0xC3u8; 128]);
    let table = [
        ("kty_ec", bend(json!({"kty": "EC"})), "kty \"EC\""),
        ("kty_missing", bend(json!({"kty": null})), "kty missing"),
        ("use_enc", bend(json!({"use": "enc"})), "use \"enc\""),
        (
            "key_ops_encrypt",
            bend(json!({"key_ops": ["encrypt"]})),
            "key_ops [\"encrypt\"]",
        ),
        (
            "key_ops_sign_only",
            bend(json!({"key_ops": ["sign", "wrapKey"]})),
            "without \"verify\"",
        ),
        ("key_ops_empty", bend(json!({"key_ops": []})), "key_ops []"),
        (
            "key_ops_not_a_list",
            bend(json!({"key_ops": "verify"})),
            "without \"verify\"",
        ),
        ("alg_rs512", bend(json!({"alg": "RS512"})), "alg \"RS512\""),
        ("alg_none", bend(json!({"alg": "none"})), "alg \"none\""),
        ("alg_hs256", bend(json!({"alg": "HS256"})), "alg \"HS256\""),
        ("kid_missing", bend(json!({"kid": null})), "has no \"kid\""),
        ("kid_empty", bend(json!({"kid": ""})), "has no \"kid\""),
        ("kid_number", bend(json!({"kid": 5})), "has no \"kid\""),
        ("n_missing", bend(json!({"n": null})), "no \"n\""),
        (
            "n_not_base64",
            bend(json!({"n": "!!!"})),
            "\"n\" that is not base64url",
        ),
        (
            "n_1024_bits",
            bend(json!({"n": small_modulus})),
            "1024 bits",
        ),
        ("e_even", bend(json!({"e": "Ag"})), "exponent"),
        (
            "not_an_object",
            json!("RSA"),
            "keys[1] is not a JSON object",
        ),
        ("duplicate_kid", key_b().public_jwk("good"), "repeats a kid"),
    ];
    for (name, entry, needle) in table {
        let (set, warnings) = KeySet::from_jwks_json(&jwks(vec![good(), entry])).unwrap();
        assert_eq!(set.kids(), ["good"], "case {name}");
        assert_eq!(warnings.len(), 1, "case {name}: {warnings:?}");
        assert!(warnings[0].contains(needle), "case {name}: {}", warnings[0]);
        assert!(
            warnings[0].contains("keys[1]"),
            "case {name}: {}",
            warnings[0]
        );
    }
    // The duplicate did not replace the first key.
    let (set, _) = KeySet::from_jwks_json(&jwks(vec![good(), key_b().public_jwk("good")])).unwrap();
    let (message, signature) = signed_by_a();
    assert!(set
        .lookup(Some("good"))
        .unwrap()
        .verify(&message, &signature));
}

#[test]
fn lenient_encodings_of_valid_keys_are_accepted() {
    let mut jwk = key_a().public_jwk(KID_A);
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let mut zero_led = vec![0u8];
    zero_led.extend(&n);
    jwk["n"] = json!(URL_SAFE_NO_PAD.encode(&zero_led));
    jwk["e"] = json!("AQAB");
    let mut padded = key_a().public_jwk("padded");
    let padded_n = format!("{}==", padded["n"].as_str().unwrap());
    padded["n"] = json!(padded_n);
    let no_use_no_alg = json!({"kty": "RSA", "kid": "bare", "n": jwk["n"], "e": "AQAB"});
    let (set, warnings) = KeySet::from_jwks_json(&jwks(vec![jwk, padded, no_use_no_alg])).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let (message, signature) = signed_by_a();
    for kid in [KID_A, "padded", "bare"] {
        let key = set.lookup(Some(kid)).unwrap();
        assert_eq!(key.modulus_bits(), 2048);
        assert!(key.verify(&message, &signature), "{kid}");
    }
}

#[test]
fn keys_whose_key_ops_list_verify_are_used() {
    let mut verify = key_a().public_jwk("verify");
    verify["key_ops"] = json!(["verify"]);
    let mut both = key_a().public_jwk("both");
    both["key_ops"] = json!(["sign", "verify"]);
    let (set, warnings) = KeySet::from_jwks_json(&jwks(vec![verify, both])).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let (message, signature) = signed_by_a();
    for kid in ["verify", "both"] {
        assert!(
            set.lookup(Some(kid)).unwrap().verify(&message, &signature),
            "{kid}"
        );
    }
}

#[test]
fn a_jwks_whose_only_key_is_for_encryption_has_no_usable_key() {
    let mut encrypt = key_a().public_jwk(KID_A);
    encrypt["key_ops"] = json!(["encrypt"]);
    let error = KeySet::from_jwks_json(&jwks(vec![encrypt])).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("key_ops [\"encrypt\"]"), "{text}");
    assert!(text.contains("\"verify\" among them"), "{text}");
}

#[test]
fn unusable_documents_are_errors_that_say_how_to_fix_them() {
    let bad_only = jwks(vec![json!({"kty": "EC", "kid": "ec1"})]);
    let table: [(&str, &[u8], &str); 6] = [
        (
            "not_json",
            b"<html>502 Bad Gateway</html>",
            "not valid JSON",
        ),
        ("keys_not_array", br#"{"keys": {}}"#, "no \"keys\" array"),
        ("top_level_array", b"[]", "no \"keys\" array"),
        ("empty_set", br#"{"keys": []}"#, "has no keys"),
        (
            "only_unusable",
            &bad_only,
            "no usable RS256 signing key (key \"ec1\"",
        ),
        ("empty_body", b"", "not valid JSON"),
    ];
    for (name, doc, needle) in table {
        let err = KeySet::from_jwks_json(doc).unwrap_err();
        assert!(err.to_string().contains(needle), "case {name}: {err}");
        assert!(
            err.to_string().to_lowercase().contains("jwks"),
            "case {name}: {err}"
        );
    }
    assert!(matches!(
        KeySet::from_jwks_json(&bad_only),
        Err(KeyError::NoUsableKeys { skipped }) if skipped.len() == 1
    ));
}

#[test]
fn pem_key_applies_to_every_kid() {
    let (message, signature) = signed_by_a();
    let spki = key_a().public_key_pem().unwrap();
    let (_, spki_der) = pem_decode(&spki).unwrap();
    let pkcs1 = aws_lc_rs::rsa::PublicKey::from_der(&spki_der).unwrap();
    let pkcs1_pem = pem_encode("RSA PUBLIC KEY", pkcs1.as_ref());
    let env_style = spki.trim_end().replace('\n', "\\n");
    for (name, pem) in [
        ("spki", spki.as_str()),
        ("pkcs1", &pkcs1_pem),
        ("env_escaped", &env_style),
    ] {
        let set = KeySet::from_pem(pem).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            set.is_pem() && set.len() == 1 && set.kids().is_empty(),
            "{name}"
        );
        for kid in [None, Some(KID_A), Some("anything")] {
            assert!(
                set.lookup(kid).unwrap().verify(&message, &signature),
                "{name} {kid:?}"
            );
        }
    }
    let clerk = KeySet::from_pem(CLERK_PEM).unwrap();
    let (clerk_jwks, _) = KeySet::from_jwks_json(CLERK_JWKS.as_bytes()).unwrap();
    assert_eq!(clerk.lookup(None).unwrap().modulus_bits(), 2048);
    assert_eq!(clerk_jwks.kids(), ["ins_2GIoQhbUpy0hX7B2cVkuTMinXoD"]);
}

#[test]
fn pem_errors_say_how_to_fix_them() {
    let private = key_a().to_pkcs8_pem().unwrap();
    let ec = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
    )
    .unwrap();
    let ec_der = aws_lc_rs::signature::KeyPair::public_key(&ec)
        .as_der()
        .unwrap();
    let ec_pem = pem_encode("PUBLIC KEY", ec_der.as_ref());
    let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let table = [
        ("private_key", private.as_str(), "private key"),
        ("certificate", cert, "expected \"PUBLIC KEY\""),
        ("ec_key", ec_pem.as_str(), "not an RSA public key"),
        ("not_pem", "ssh-rsa AAAAB3Nza", "not PEM"),
        (
            "garbage",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            "not an RSA public key",
        ),
    ];
    for (name, pem, needle) in table {
        let err = KeySet::from_pem(pem).unwrap_err().to_string();
        assert!(err.contains(needle), "case {name}: {err}");
    }
}

#[test]
fn a_key_of_another_algorithm_never_verifies() {
    let (set, _) = KeySet::from_jwks_json(&jwks(vec![key_a().public_jwk(KID_A)])).unwrap();
    let key = set.lookup(Some(KID_A)).unwrap();
    let (message, signature) = signed_by_a();
    assert!(key.verify(&message, &signature));
    for algorithm in [Algorithm::RS384, Algorithm::PS256, Algorithm::HS256] {
        let other = VerifyKey {
            algorithm,
            ..key.clone()
        };
        assert!(!other.verify(&message, &signature), "{algorithm:?}");
    }
    assert!(!key.verify(&message, &[]));
    assert!(!key.verify(b"other message", &signature));
}
