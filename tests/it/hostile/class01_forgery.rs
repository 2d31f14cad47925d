//! Class 1: token forgery and JOSE header abuse. `alg: none` in every spelling, HMAC with the
//! RSA public key as the secret, tampered and non-canonical encodings, kid games, headers that
//! point at other keys, `crit`, JWE, huge tokens, duplicate JSON keys. Every one is a 401 (or
//! the sign-in redirect for a page) and nothing reaches the upstream.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine;
use serde_json::json;

use crate::support::{
    assert_nothing_forwarded, b64, claims, key, other_key, outcome, raw_token, refused, token,
    Harness, JwksServer, Req, RequestExt, KID,
};
use doorman::dev::mint::{mint, sign_raw};

const PATH: &str = "/api/projects/1";

/// Sends each `(name, jwt, reason)` as a bearer token and expects 401 with that reason.
async fn expect_401(h: &Harness, cases: &[(&str, String, &str)]) {
    let before = h.echo.count();
    for (name, jwt, reason) in cases {
        let reply = h.client.api("GET", PATH, jwt).await;
        assert_eq!(outcome(&reply), refused(401, reason), "case {name}");
        assert!(
            reply
                .header("www-authenticate")
                .is_some_and(|c| c.starts_with("Bearer")),
            "case {name}: no Bearer challenge"
        );
    }
    assert_nothing_forwarded(h, before, "forged tokens");
}

/// The DER inside a PEM block.
fn pem_body(pem: &str) -> Vec<u8> {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("PEM base64")
}

/// RS256 over exactly `signing_input` (any text, canonical or not) with the harness key.
fn rs256(signing_input: &str) -> Vec<u8> {
    let pem = key().to_pkcs8_pem().expect("pkcs8");
    let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&pem_body(&pem)).expect("key pair");
    let mut sig = vec![0; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut sig,
    )
    .expect("sign");
    sig
}

/// An HMAC token over `header.payload` with `secret` as the key.
fn hmac_token(alg: &str, secret: &[u8], payload: &str) -> String {
    let algorithm = match alg {
        "HS256" => aws_lc_rs::hmac::HMAC_SHA256,
        "HS384" => aws_lc_rs::hmac::HMAC_SHA384,
        _ => aws_lc_rs::hmac::HMAC_SHA512,
    };
    let input = format!(
        "{}.{}",
        b64(format!(r#"{{"alg":"{alg}","kid":"{KID}","typ":"JWT"}}"#)),
        b64(payload)
    );
    let tag = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(algorithm, secret),
        input.as_bytes(),
    );
    format!("{input}.{}", b64(tag.as_ref()))
}

/// Every form of the RSA public key an attacker might use as an HMAC secret.
fn public_key_forms() -> Vec<(&'static str, Vec<u8>)> {
    let pem = key().public_key_pem().unwrap();
    let jwk = key().public_jwk(KID);
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwk["n"].as_str().unwrap())
        .unwrap();
    vec![
        ("pem", pem.clone().into_bytes()),
        ("pem_trimmed", pem.trim_end().as_bytes().to_vec()),
        ("pem_crlf", pem.replace('\n', "\r\n").into_bytes()),
        ("spki_der", pem_body(&pem)),
        ("jwk_json", jwk.to_string().into_bytes()),
        (
            "jwks_json",
            doorman::dev::mint::jwks_json(&[(key(), KID)]).into_bytes(),
        ),
        ("modulus", n),
    ]
}

#[tokio::test]
async fn forged_and_malformed_tokens_are_refused_and_never_forwarded() {
    let h = Harness::start().await;
    let payload = claims().to_string();
    let valid = token(&claims());
    let sig = valid.rsplit('.').next().unwrap().to_string();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "alg_none",
            format!(
                "{}.{}.",
                b64(r#"{"alg":"none","typ":"JWT"}"#),
                b64(&payload)
            ),
            "token_bad_algorithm",
        ),
        (
            "alg_None",
            format!(
                "{}.{}.",
                b64(r#"{"alg":"None","kid":"ins_test_1"}"#),
                b64(&payload)
            ),
            "token_bad_algorithm",
        ),
        (
            "hs256_header",
            format!(
                "{}.{}.{sig}",
                b64(r#"{"alg":"HS256","kid":"ins_test_1"}"#),
                b64(&payload)
            ),
            "token_bad_algorithm",
        ),
        (
            "stripped_signature",
            format!("{}.", valid.rsplit_once('.').unwrap().0),
            "token_bad_signature",
        ),
        ("jwe_five_parts", format!("{valid}.a.b"), "token_malformed"),
        (
            "jku_header",
            raw_token(
                r#"{"alg":"RS256","kid":"ins_test_1","jku":"http://127.0.0.1:1/jwks"}"#,
                &payload,
            ),
            "token_malformed",
        ),
        (
            "duplicate_sub",
            raw_token(
                r#"{"alg":"RS256","kid":"ins_test_1"}"#,
                &payload.replacen('{', "{\"sub\":\"user_admin\",", 1),
            ),
            "token_malformed",
        ),
        (
            "template_token",
            raw_token(
                r#"{"alg":"RS256","kid":"ins_test_1","cat":"cl_B7d4PD222AAA"}"#,
                &payload,
            ),
            "token_type_mismatch",
        ),
        (
            "huge_token",
            format!("{}.{}.{sig}", b64(r#"{"alg":"RS256"}"#), "A".repeat(40_000)),
            "token_too_large",
        ),
    ];
    expect_401(&h, &cases).await;
}

#[tokio::test]
async fn alg_none_in_every_spelling_and_form_is_refused_and_never_forwarded() {
    let h = Harness::start().await;
    let payload = b64(claims().to_string());
    let real_sig = token(&claims()).rsplit('.').next().unwrap().to_string();
    let mut cases = Vec::new();
    for alg in [
        r#""none""#,
        r#""None""#,
        r#""NONE""#,
        r#""nOnE""#,
        r#"" none""#,
        r#""none ""#,
        r#""none\u0000""#,
        r#""""#,
        "null",
        r#"["RS256"]"#,
        r#"{"name":"RS256"}"#,
        r#""RS256\u0000""#,
        r#""rs256""#,
    ] {
        let header = b64(format!(r#"{{"alg":{alg},"kid":"{KID}","typ":"JWT"}}"#));
        for (form, sig) in [("empty", String::new()), ("real", real_sig.clone())] {
            cases.push((
                format!("alg {alg}, {form} signature"),
                format!("{header}.{payload}.{sig}"),
            ));
        }
    }
    // No alg at all.
    cases.push((
        "alg missing".into(),
        format!("{}.{payload}.", b64(format!(r#"{{"kid":"{KID}"}}"#))),
    ));
    let cases: Vec<(&str, String, &str)> = cases
        .iter()
        .map(|(n, t)| (n.as_str(), t.clone(), "token_bad_algorithm"))
        .collect();
    expect_401(&h, &cases).await;
}

#[tokio::test]
async fn hs256_signed_with_the_jwks_public_key_as_hmac_secret_is_refused() {
    let h = Harness::start().await;
    let payload = claims().to_string();
    let mut cases = Vec::new();
    for (form, secret) in public_key_forms() {
        for alg in ["HS256", "HS384", "HS512"] {
            cases.push((
                format!("{alg} with {form}"),
                hmac_token(alg, &secret, &payload),
            ));
        }
    }
    let cases: Vec<(&str, String, &str)> = cases
        .iter()
        .map(|(n, t)| (n.as_str(), t.clone(), "token_bad_algorithm"))
        .collect();
    expect_401(&h, &cases).await;
}

#[tokio::test]
async fn hs256_signed_with_the_configured_pem_as_hmac_secret_is_refused() {
    // The classic algorithm confusion: the verifier holds one PEM key for every token.
    let pem = key().public_key_pem().unwrap();
    let config = crate::support::BASE_CONFIG.replace(
        "jwks_url = \"${JWKS_URL}\"",
        "public_key_pem = \"${CLERK_JWT_KEY}\"",
    );
    let jwks = JwksServer::start(&[(key(), KID)]).await;
    let echo = doorman::dev::echo::Echo::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let h = Harness::with_parts(&config, jwks, echo, move |name| {
        (name == "CLERK_JWT_KEY").then(|| pem.clone())
    })
    .await;
    // The key works for a real token...
    assert_eq!(
        h.client.api("GET", PATH, &token(&claims())).await.status,
        200
    );
    let before = h.echo.count();
    let payload = claims().to_string();
    for (form, secret) in public_key_forms() {
        for alg in ["HS256", "HS384", "HS512"] {
            let reply = h
                .client
                .api("GET", PATH, &hmac_token(alg, &secret, &payload))
                .await;
            assert_eq!(
                outcome(&reply),
                refused(401, "token_bad_algorithm"),
                "{alg} with {form}"
            );
        }
    }
    assert_nothing_forwarded(&h, before, "HMAC-confused tokens");
    assert_eq!(h.jwks.hits(), 0, "a PEM source never fetches");
}

#[tokio::test]
async fn other_algorithms_carrying_an_rs256_signature_are_refused() {
    let h = Harness::start().await;
    let payload = claims().to_string();
    let mut cases = Vec::new();
    for alg in [
        "RS384", "RS512", "PS256", "PS512", "ES256", "ES256K", "EdDSA", "RSA-OAEP", "dir",
    ] {
        cases.push((
            alg,
            raw_token(
                &format!(r#"{{"alg":"{alg}","kid":"{KID}","typ":"JWT"}}"#),
                &payload,
            ),
            "token_bad_algorithm",
        ));
    }
    expect_401(&h, &cases).await;
}

#[tokio::test]
async fn stripped_truncated_flipped_and_transplanted_signatures_are_refused() {
    let h = Harness::start().await;
    let valid = token(&claims());
    let (input, sig) = valid.rsplit_once('.').unwrap();
    let mut sig_bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap();
    let mut flipped = sig_bytes.clone();
    flipped[100] ^= 0x01;
    let other_payload = token(&crate::support::with(claims(), "/sub", json!("user_other")));
    let transplanted = other_payload.rsplit('.').next().unwrap();
    let other_key_sig = mint(other_key(), KID, &claims()).unwrap();
    sig_bytes.extend_from_slice(&sig_bytes.clone());
    let cases: Vec<(&str, String, &str)> = vec![
        ("stripped", format!("{input}."), "token_bad_signature"),
        (
            "one_byte_flipped",
            format!("{input}.{}", b64(&flipped)),
            "token_bad_signature",
        ),
        (
            "first_byte_only",
            format!("{input}.{}", b64(&flipped[..1])),
            "token_bad_signature",
        ),
        (
            "last_three_bytes_cut",
            format!("{input}.{}", b64(&flipped[..253])),
            "token_bad_signature",
        ),
        (
            "doubled",
            format!("{input}.{}", b64(&sig_bytes)),
            "token_bad_signature",
        ),
        (
            "signature_of_another_payload",
            format!("{input}.{transplanted}"),
            "token_bad_signature",
        ),
        (
            "signed_by_another_key_same_kid",
            other_key_sig,
            "token_bad_signature",
        ),
        (
            "signature_of_zeroes",
            format!("{input}.{}", b64([0u8; 256])),
            "token_bad_signature",
        ),
    ];
    expect_401(&h, &cases).await;
}

#[tokio::test]
async fn non_canonical_base64url_is_refused_even_when_the_signature_covers_it() {
    // The signature is made over the non-canonical text itself, so only the strict decoder
    // stands between the attacker and a second spelling of a signed token.
    let h = Harness::start().await;
    let header = format!(r#"{{"alg":"RS256","kid":"{KID}","typ":"JWT"}}"#);
    // `???>>>` encodes to `_` and `-` characters; the padding claim makes the length
    // leave spare bits at the end.
    let payload = crate::support::with(claims(), "/pad", json!("???>>>~~"));
    let mut text = payload.to_string();
    while b64(&text).len() % 4 != 2 {
        text.push(' ');
    }
    let h64 = b64(&header);
    let p64 = b64(&text);
    assert!(p64.contains('_') || p64.contains('-'), "{p64}");
    let signed = |h64: &str, p64: &str| {
        let input = format!("{h64}.{p64}");
        let sig = b64(rs256(&input));
        format!("{input}.{sig}")
    };
    // Sanity: the canonical spelling verifies.
    assert_eq!(
        h.client.api("GET", PATH, &signed(&h64, &p64)).await.status,
        200
    );
    let before = h.echo.count();
    let mut spare_bits = p64.clone().into_bytes();
    let last = spare_bits.last_mut().unwrap();
    // The last character carries 4 spare bits; set one of them.
    *last = match *last {
        b'A' => b'B',
        b'Q' => b'R',
        b'g' => b'h',
        b'w' => b'x',
        other => other,
    };
    let spare_bits = String::from_utf8(spare_bits).unwrap();
    assert_ne!(
        spare_bits, p64,
        "the payload must end on a character with spare bits"
    );
    let std_alphabet = p64.replace('-', "+").replace('_', "/");
    let canonical = signed(&h64, &p64);
    let (canonical_input, canonical_sig) = canonical.rsplit_once('.').unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "header_padded",
            signed(&format!("{h64}=="), &p64),
            "token_malformed",
        ),
        (
            "payload_padded",
            signed(&h64, &format!("{p64}==")),
            "token_malformed",
        ),
        (
            "payload_standard_alphabet",
            signed(&h64, &std_alphabet),
            "token_malformed",
        ),
        (
            "payload_spare_bits_set",
            signed(&h64, &spare_bits),
            "token_malformed",
        ),
        (
            "signature_padded",
            format!("{canonical_input}.{canonical_sig}=="),
            "token_malformed",
        ),
        (
            "signature_standard_alphabet",
            format!(
                "{canonical_input}.{}",
                canonical_sig.replace('-', "+").replace('_', "/")
            ),
            if canonical_sig.contains(['-', '_']) {
                "token_malformed"
            } else {
                "token_bad_signature"
            },
        ),
    ];
    for (name, jwt, reason) in &cases {
        let reply = h.client.api("GET", PATH, jwt).await;
        assert_eq!(outcome(&reply), refused(401, reason), "case {name}");
    }
    assert_nothing_forwarded(&h, before, "non-canonical tokens");
}

#[tokio::test]
async fn unknown_missing_and_mismatched_kids_with_several_keys_are_refused() {
    let h = Harness::start().await;
    h.jwks.set_keys(&[(key(), KID), (other_key(), "ins_other")]);
    // Load the two-key set (a new kid triggers one refresh).
    let second = mint(other_key(), "ins_other", &claims()).unwrap();
    assert_eq!(h.client.api("GET", PATH, &second).await.status, 200);
    let hits = h.jwks.hits();
    let payload = claims().to_string();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "unknown_kid",
            mint(key(), "ins_nope", &claims()).unwrap(),
            "token_unknown_kid",
        ),
        (
            "missing_kid_is_not_tried_against_every_key",
            raw_token(r#"{"alg":"RS256","typ":"JWT"}"#, &payload),
            "token_unknown_kid",
        ),
        (
            "empty_kid",
            mint(key(), "", &claims()).unwrap(),
            "token_unknown_kid",
        ),
        (
            "kid_of_the_other_key",
            mint(key(), "ins_other", &claims()).unwrap(),
            "token_bad_signature",
        ),
        (
            "kid_path_traversal",
            mint(key(), "../../.well-known/jwks.json", &claims()).unwrap(),
            "token_unknown_kid",
        ),
        (
            "kid_case_variant",
            mint(key(), &KID.to_uppercase(), &claims()).unwrap(),
            "token_unknown_kid",
        ),
        (
            "kid_number",
            raw_token(r#"{"alg":"RS256","kid":1}"#, &payload),
            "token_malformed",
        ),
        (
            "kid_null",
            raw_token(r#"{"alg":"RS256","kid":null}"#, &payload),
            "token_malformed",
        ),
        (
            "kid_array",
            raw_token(&format!(r#"{{"alg":"RS256","kid":["{KID}"]}}"#), &payload),
            "token_malformed",
        ),
    ];
    expect_401(&h, &cases).await;
    assert!(
        h.jwks.hits() - hits <= 1,
        "unknown kids caused {} fetches",
        h.jwks.hits() - hits
    );
}

/// A listener that counts connections (a `jku`/`x5u` target that must never be contacted).
async fn tripwire() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((_stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (addr, hits)
}

#[tokio::test]
async fn jku_x5u_jwk_and_x5c_headers_never_cause_a_fetch_and_are_refused() {
    let h = Harness::start().await;
    let (addr, contacted) = tripwire().await;
    let jwks_hits = h.jwks.hits();
    let payload = claims().to_string();
    // The attacker's own key, embedded or pointed at, signing the attacker's token.
    let attacker_jwk = other_key().public_jwk("ins_attacker");
    let attacker = |extra: String| {
        sign_raw(
            other_key(),
            &format!(r#"{{"alg":"RS256","kid":"ins_attacker",{extra}}}"#),
            &payload,
        )
        .unwrap()
    };
    let x5c = b64(b"not really a certificate");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "jku",
            attacker(format!(r#""jku":"http://{addr}/jwks.json""#)),
            "token_malformed",
        ),
        (
            "x5u",
            attacker(format!(r#""x5u":"http://{addr}/cert.pem""#)),
            "token_malformed",
        ),
        (
            "jwk",
            attacker(format!(r#""jwk":{attacker_jwk}"#)),
            "token_malformed",
        ),
        (
            "x5c",
            attacker(format!(r#""x5c":["{x5c}"]"#)),
            "token_malformed",
        ),
        (
            "jku_with_the_real_kid_and_key",
            raw_token(
                &format!(r#"{{"alg":"RS256","kid":"{KID}","jku":"http://{addr}/jwks.json"}}"#),
                &payload,
            ),
            "token_malformed",
        ),
        (
            "jku_null",
            attacker(r#""jku":null"#.into()),
            "token_malformed",
        ),
    ];
    expect_401(&h, &cases).await;
    assert_eq!(
        contacted.load(Ordering::SeqCst),
        0,
        "a header URL was fetched"
    );
    assert_eq!(
        h.jwks.hits(),
        jwks_hits,
        "a refused header caused a JWKS fetch"
    );
}

#[tokio::test]
async fn crit_header_in_any_form_is_refused() {
    let h = Harness::start().await;
    let payload = claims().to_string();
    let cases: Vec<(&str, String, &str)> = [
        ("crit_exp", r#""crit":["exp"],"exp":1"#),
        ("crit_b64_false", r#""crit":["b64"],"b64":false"#),
        ("crit_empty", r#""crit":[]"#),
        ("crit_unknown", r#""crit":["urn:evil"],"urn:evil":true"#),
        ("crit_null", r#""crit":null"#),
    ]
    .into_iter()
    .map(|(name, extra)| {
        (
            name,
            raw_token(
                &format!(r#"{{"alg":"RS256","kid":"{KID}",{extra}}}"#),
                &payload,
            ),
            "token_malformed",
        )
    })
    .collect();
    expect_401(&h, &cases).await;
}

#[tokio::test]
async fn jwe_and_wrong_part_counts_are_refused() {
    let h = Harness::start().await;
    let valid = token(&claims());
    let parts: Vec<&str> = valid.split('.').collect();
    let jwe_header = b64(format!(
        r#"{{"alg":"RSA-OAEP","enc":"A256GCM","kid":"{KID}"}}"#
    ));
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "jwe_compact",
            format!(
                "{jwe_header}.{}.{}.{}.{}",
                b64([1u8; 256]),
                b64([2u8; 12]),
                b64(b"ciphertext"),
                b64([3u8; 16])
            ),
            "token_malformed",
        ),
        (
            "two_parts",
            format!("{}.{}", parts[0], parts[1]),
            "token_malformed",
        ),
        (
            "four_parts",
            format!("{valid}.{}", parts[2]),
            "token_malformed",
        ),
        ("trailing_dot", format!("{valid}."), "token_malformed"),
        ("leading_dot", format!(".{valid}"), "token_malformed"),
        ("only_dots", "..".into(), "token_malformed"),
        ("one_part", parts[1].to_string(), "token_malformed"),
        (
            "payload_not_json",
            format!("{}.{}.{}", parts[0], b64("user_1"), parts[2]),
            "token_malformed",
        ),
        (
            "payload_json_array",
            raw_token(r#"{"alg":"RS256","kid":"ins_test_1"}"#, "[1,2]"),
            "token_malformed",
        ),
        (
            "payload_trailing_garbage",
            raw_token(
                r#"{"alg":"RS256","kid":"ins_test_1"}"#,
                &format!("{} x", claims()),
            ),
            "token_malformed",
        ),
    ];
    expect_401(&h, &cases).await;
}

#[tokio::test]
async fn huge_and_deeply_nested_tokens_are_refused_quickly() {
    let h = Harness::start().await;
    let started = std::time::Instant::now();
    let valid = token(&claims());
    let sig = valid.rsplit('.').next().unwrap();
    // Just over the 16 KiB default, and far over it (still under the header limit).
    let padded = |n: usize| {
        raw_token(
            &format!(r#"{{"alg":"RS256","kid":"{KID}"}}"#),
            &crate::support::with(claims(), "/pad", json!("x".repeat(n))).to_string(),
        )
    };
    let just_over = padded(12_500);
    assert!(
        just_over.len() > 16_384 && just_over.len() < 18_000,
        "{}",
        just_over.len()
    );
    let deep = format!("{}{}{}", "[".repeat(5_000), "1", "]".repeat(5_000));
    let cases: Vec<(&str, String, &str)> = vec![
        ("just_over_the_limit", just_over, "token_too_large"),
        (
            "forty_kib",
            format!("{}.{}.{sig}", b64(r#"{"alg":"RS256"}"#), "A".repeat(40_000)),
            "token_too_large",
        ),
        (
            "deeply_nested_payload",
            raw_token(
                &format!(r#"{{"alg":"RS256","kid":"{KID}"}}"#),
                &format!(r#"{{"sub":"user_1","deep":{deep}}}"#),
            ),
            "token_malformed",
        ),
        (
            "deeply_nested_header",
            format!(
                "{}.{}.{sig}",
                b64(format!(r#"{{"alg":"RS256","x":{deep}}}"#)),
                b64(claims().to_string())
            ),
            "token_malformed",
        ),
    ];
    expect_401(&h, &cases).await;
    // The same through the cookie on a page: the sign-in redirect, never the upstream.
    let before = h.echo.count();
    let mut req = h.client.request("GET", "/dashboard").navigate();
    req = req.cookie(&format!("__session={}", padded(30_000)));
    let reply = h.client.send(req).await;
    assert_eq!(reply.status, 302);
    assert_eq!(
        reply.header("location"),
        Some("/sign-in?redirect_url=/dashboard")
    );
    assert_nothing_forwarded(&h, before, "huge cookie token");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn duplicate_json_keys_are_refused_at_any_depth_and_in_any_spelling() {
    let h = Harness::start().await;
    let payload = claims().to_string();
    let header = format!(r#"{{"alg":"RS256","kid":"{KID}","typ":"JWT"}}"#);
    let body = payload.trim_start_matches('{');
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "header_alg_twice",
            raw_token(
                &format!(r#"{{"alg":"none","alg":"RS256","kid":"{KID}"}}"#),
                &payload,
            ),
            "token_malformed",
        ),
        (
            "header_kid_twice",
            raw_token(
                &format!(r#"{{"alg":"RS256","kid":"ins_x","kid":"{KID}"}}"#),
                &payload,
            ),
            "token_malformed",
        ),
        (
            "payload_sub_twice",
            raw_token(&header, &format!(r#"{{"sub":"user_admin",{body}"#)),
            "token_malformed",
        ),
        (
            "payload_sub_escaped_duplicate",
            raw_token(&header, &format!(r#"{{"s\u0075b":"user_admin",{body}"#)),
            "token_malformed",
        ),
        (
            "payload_exp_twice",
            raw_token(&header, &format!(r#"{{"exp":9999999999,{body}"#)),
            "token_malformed",
        ),
        (
            "nested_metadata_roles_twice",
            raw_token(
                &header,
                &payload.replacen(
                    "\"metadata\":{",
                    "\"metadata\":{\"roles\":[{\"name\":\"admin\"}],",
                    1,
                ),
            ),
            "token_malformed",
        ),
    ];
    expect_401(&h, &cases).await;
}

#[tokio::test]
async fn typ_other_than_jwt_is_refused() {
    let h = Harness::start().await;
    let payload = claims().to_string();
    let cases: Vec<(&str, String, &str)> = [
        ("at_jwt", r#""at+jwt""#),
        ("application_at_jwt", r#""application/at+jwt""#),
        ("lowercase_jwt", r#""jwt""#),
        ("jose", r#""JOSE""#),
        ("number", "1"),
        ("null", "null"),
    ]
    .into_iter()
    .map(|(name, typ)| {
        (
            name,
            raw_token(
                &format!(r#"{{"alg":"RS256","kid":"{KID}","typ":{typ}}}"#),
                &payload,
            ),
            "token_type_mismatch",
        )
    })
    .collect();
    expect_401(&h, &cases).await;
}

#[tokio::test]
async fn forged_session_cookies_are_refused_and_the_header_token_always_wins() {
    let h = Harness::start().await;
    let payload = b64(claims().to_string());
    let none = format!("{}.{payload}.", b64(r#"{"alg":"none","typ":"JWT"}"#));
    let valid = token(&claims());
    let page = |cookie: String, auth: Option<&str>| {
        let mut req: Req = h.client.request("GET", "/dashboard").navigate();
        req = req.cookie(&cookie);
        if let Some(auth) = auth {
            req = req.with_header("authorization", auth);
        }
        req
    };
    let cases = vec![
        ("cookie_alg_none", page(format!("__session={none}"), None)),
        (
            "forged_first_cookie_then_valid_one",
            page(format!("__session={none}; __session={valid}"), None),
        ),
        (
            "forged_first_cookie_header_then_valid_one",
            page(format!("__session={none}"), None),
        ),
        (
            "forged_header_with_valid_cookie",
            page(
                format!("__session={valid}"),
                Some(&format!("Bearer {none}")),
            ),
        ),
        (
            "unknown_scheme_with_valid_cookie",
            page(
                format!("__session={valid}"),
                Some(&format!("Basic {valid}")),
            ),
        ),
        (
            "empty_authorization_with_valid_cookie",
            page(format!("__session={valid}"), Some("Bearer")),
        ),
    ];
    let before = h.echo.count();
    for (name, mut req) in cases {
        if name == "forged_first_cookie_header_then_valid_one" {
            req.headers_mut()
                .append("cookie", format!("__session={valid}").parse().unwrap());
        }
        let reply = h.client.send(req).await;
        assert_eq!(reply.status, 302, "{name}: {}", reply.text());
        assert_eq!(
            reply.header("location"),
            Some("/sign-in?redirect_url=/dashboard"),
            "{name}"
        );
    }
    assert_nothing_forwarded(&h, before, "forged cookies");
    // Two Authorization headers: refused, not "pick one".
    let mut req = h.client.request("GET", PATH);
    req.headers_mut()
        .append("authorization", format!("Bearer {none}").parse().unwrap());
    req.headers_mut()
        .append("authorization", format!("Bearer {valid}").parse().unwrap());
    let reply = h.client.send(req).await;
    assert_eq!(outcome(&reply), refused(401, "token_malformed"));
    assert_nothing_forwarded(&h, before, "two Authorization headers");
}
