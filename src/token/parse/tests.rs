//! Parsing: JOSE header rules, strict encoding and JSON, size limit (docs/security.md class 1).
use super::*;
use crate::dev::mint::sign_raw;
use crate::token::testkit::{b64, key_a, session_claims};
use serde_json::json;

const PAYLOAD: &str = r#"{"sub":"user_1","sid":"sess_1","exp":1}"#;

fn with_header(header: &str) -> Result<ParsedToken, TokenError> {
    let token = sign_raw(key_a(), header, PAYLOAD).unwrap();
    ParsedToken::parse(&token, DEFAULT_MAX_TOKEN_BYTES)
}

#[test]
fn accepts_a_clerk_session_header() {
    let headers = [
        r#"{"alg":"RS256","kid":"ins_1","typ":"JWT"}"#,
        r#"{"alg":"RS256","kid":"ins_1"}"#,
        r#"{"alg":"RS256"}"#,
        r#"{"alg":"RS256","kid":"ins_1","typ":"JWT","cat":"cl_B7d4PD111AAA","oiat":1}"#,
        r#"{"alg":"RS256","kid":"ins_1","cat":"cl_I7d4PD111III","x-extra":{"a":1}}"#,
    ];
    for header in headers {
        let parsed = with_header(header).unwrap_or_else(|e| panic!("{header}: {e:?}"));
        assert_eq!(parsed.payload().value().get("sub"), Some(&json!("user_1")));
    }
    let parsed = with_header(headers[0]).unwrap();
    let debug = format!("{parsed:?}");
    assert!(
        debug.contains("\"sub\"") && !debug.contains("user_1"),
        "{debug}"
    );
    assert_eq!(parsed.kid(), Some("ins_1"));
    assert_eq!(parsed.category(), None);
    assert_eq!(parsed.signature().len(), 256);
    assert_eq!(with_header(headers[2]).unwrap().kid(), None);
}

#[test]
fn refuses_hostile_headers() {
    let table = [
        (
            "alg_none",
            r#"{"alg":"none","typ":"JWT"}"#,
            TokenError::BadAlgorithm,
        ),
        ("alg_None", r#"{"alg":"None"}"#, TokenError::BadAlgorithm),
        ("alg_NONE", r#"{"alg":"NONE"}"#, TokenError::BadAlgorithm),
        ("alg_nOnE", r#"{"alg":"nOnE"}"#, TokenError::BadAlgorithm),
        ("alg_hs256", r#"{"alg":"HS256"}"#, TokenError::BadAlgorithm),
        ("alg_rs384", r#"{"alg":"RS384"}"#, TokenError::BadAlgorithm),
        ("alg_ps256", r#"{"alg":"PS256"}"#, TokenError::BadAlgorithm),
        (
            "alg_lowercase",
            r#"{"alg":"rs256"}"#,
            TokenError::BadAlgorithm,
        ),
        (
            "alg_missing",
            r#"{"kid":"ins_1"}"#,
            TokenError::BadAlgorithm,
        ),
        (
            "alg_array",
            r#"{"alg":["RS256"]}"#,
            TokenError::BadAlgorithm,
        ),
        ("alg_null", r#"{"alg":null}"#, TokenError::BadAlgorithm),
        (
            "typ_at_jwt",
            r#"{"alg":"RS256","typ":"at+jwt"}"#,
            TokenError::TokenType,
        ),
        (
            "typ_lowercase",
            r#"{"alg":"RS256","typ":"jwt"}"#,
            TokenError::TokenType,
        ),
        (
            "typ_not_string",
            r#"{"alg":"RS256","typ":1}"#,
            TokenError::TokenType,
        ),
        (
            "typ_before_alg",
            r#"{"alg":"none","typ":"at+jwt"}"#,
            TokenError::TokenType,
        ),
        (
            "cat_template",
            r#"{"alg":"RS256","cat":"cl_B7d4PD222AAA"}"#,
            TokenError::TokenType,
        ),
        (
            "cat_machine",
            r#"{"alg":"RS256","cat":"cl_B7d4PD333AAA"}"#,
            TokenError::TokenType,
        ),
        (
            "cat_not_string",
            r#"{"alg":"RS256","cat":null}"#,
            TokenError::TokenType,
        ),
        (
            "crit",
            r#"{"alg":"RS256","crit":["exp"]}"#,
            TokenError::Malformed,
        ),
        (
            "crit_empty",
            r#"{"alg":"RS256","crit":[]}"#,
            TokenError::Malformed,
        ),
        (
            "jku",
            r#"{"alg":"RS256","jku":"https://evil.example/jwks"}"#,
            TokenError::Malformed,
        ),
        (
            "x5u",
            r#"{"alg":"RS256","x5u":"https://evil.example/c"}"#,
            TokenError::Malformed,
        ),
        (
            "jwk",
            r#"{"alg":"RS256","jwk":{"kty":"RSA"}}"#,
            TokenError::Malformed,
        ),
        (
            "x5c",
            r#"{"alg":"RS256","x5c":["MIIB"]}"#,
            TokenError::Malformed,
        ),
        (
            "jku_null",
            r#"{"alg":"RS256","jku":null}"#,
            TokenError::Malformed,
        ),
        (
            "kid_number",
            r#"{"alg":"RS256","kid":7}"#,
            TokenError::Malformed,
        ),
        (
            "kid_object",
            r#"{"alg":"RS256","kid":{"a":1}}"#,
            TokenError::Malformed,
        ),
        (
            "duplicate_alg",
            r#"{"alg":"RS256","alg":"none"}"#,
            TokenError::Malformed,
        ),
        (
            "duplicate_kid",
            r#"{"alg":"RS256","kid":"a","kid":"b"}"#,
            TokenError::Malformed,
        ),
        ("header_array", r#"["RS256"]"#, TokenError::Malformed),
        ("header_string", r#""RS256""#, TokenError::Malformed),
        ("header_not_json", "alg=RS256", TokenError::Malformed),
    ];
    for (name, header, want) in table {
        assert_eq!(with_header(header).err(), Some(want), "case {name}");
    }
}

#[test]
fn refuses_bad_payloads() {
    let header = r#"{"alg":"RS256","kid":"k"}"#;
    let table = [
        ("duplicate_sub", r#"{"sub":"user_1","sub":"user_2"}"#),
        (
            "duplicate_nested",
            r#"{"metadata":{"roles":["a"],"roles":["admin"]}}"#,
        ),
        ("array", r#"[{"sub":"user_1"}]"#),
        ("null", "null"),
        ("number", "1"),
        ("truncated", r#"{"sub":"user_1""#),
        ("trailing_garbage", r#"{"sub":"user_1"}x"#),
        ("empty", ""),
    ];
    for (name, payload) in table {
        let token = sign_raw(key_a(), header, payload).unwrap();
        let got = ParsedToken::parse(&token, DEFAULT_MAX_TOKEN_BYTES).err();
        assert_eq!(got, Some(TokenError::Malformed), "case {name}");
    }
}

#[test]
fn refuses_bad_structure_and_encoding() {
    let good = sign_raw(key_a(), r#"{"alg":"RS256"}"#, PAYLOAD).unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    // 16 bytes: canonical standard base64 would end in "==".
    let padded_header = b64(r#"{"alg":"RS256"} "#.as_bytes()) + "==";
    // `{"alg":"RS256"}` is 15 bytes: its last base64 char carries 2 unused bits.
    let mut trailing_bits = b64(br#"{"alg":"RS256"}"#);
    trailing_bits.pop();
    trailing_bits.push('1');
    let url_safe = b64(br#"{"alg":"RS256","kid":"~~~???>>>"}"#);
    assert!(url_safe.contains(['-', '_']));
    let std_alphabet = url_safe.replace('_', "/").replace('-', "+");
    let table = [
        ("two_parts", format!("{h}.{p}")),
        ("four_parts", format!("{h}.{p}.{s}.{s}")),
        ("jwe_five_parts", format!("{h}.{p}.{s}.{s}.{s}")),
        ("empty", String::new()),
        ("dots_only", "..".to_owned()),
        ("padding", format!("{padded_header}.{p}.{s}")),
        (
            "non_canonical_trailing_bits",
            format!("{trailing_bits}.{p}.{s}"),
        ),
        ("standard_alphabet", format!("{std_alphabet}.{p}.{s}")),
        ("plus_in_signature", format!("{h}.{p}.{}+", &s[1..])),
        ("whitespace", format!("{h} .{p}.{s}")),
        ("impossible_length", format!("{h}.{p}.{s}AAA")),
    ];
    for (name, token) in table {
        let got = ParsedToken::parse(&token, DEFAULT_MAX_TOKEN_BYTES).err();
        assert_eq!(got, Some(TokenError::Malformed), "case {name}");
    }
    // An empty signature parses (it fails verification as a bad signature later).
    assert!(ParsedToken::parse(&format!("{h}.{p}."), 8192).is_ok());
    assert!(ParsedToken::parse(&good, 8192).is_ok());
}

#[test]
fn size_limit_comes_before_everything() {
    let token = sign_raw(key_a(), r#"{"alg":"RS256"}"#, &session_claims().to_string()).unwrap();
    assert!(ParsedToken::parse(&token, token.len()).is_ok());
    assert_eq!(
        ParsedToken::parse(&token, token.len() - 1).err(),
        Some(TokenError::TooLarge)
    );
    let huge = "a".repeat(1 << 20);
    assert_eq!(
        ParsedToken::parse(&huge, DEFAULT_MAX_TOKEN_BYTES).err(),
        Some(TokenError::TooLarge)
    );
    let huge_none = format!("{}.{}.", b64(br#"{"alg":"none"}"#), "e".repeat(10_000));
    assert_eq!(
        ParsedToken::parse(&huge_none, 8192).err(),
        Some(TokenError::TooLarge)
    );
}

#[test]
fn signing_input_is_exactly_the_first_two_parts() {
    let token = sign_raw(key_a(), r#"{"alg":"RS256","kid":"k"}"#, PAYLOAD).unwrap();
    let parsed = ParsedToken::parse(&token, 8192).unwrap();
    let dot = token.rfind('.').unwrap();
    assert_eq!(parsed.signing_input(), &token.as_bytes()[..dot]);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parse_never_panics_on_arbitrary_text(s in "\\PC{0,300}") {
            let _ = ParsedToken::parse(&s, 8192);
        }

        #[test]
        fn parse_never_panics_on_arbitrary_parts(
            header in proptest::collection::vec(any::<u8>(), 0..120),
            payload in proptest::collection::vec(any::<u8>(), 0..200),
            signature in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let token = format!("{}.{}.{}", b64(&header), b64(&payload), b64(&signature));
            let _ = ParsedToken::parse(&token, 8192);
        }

        #[test]
        fn parse_never_panics_on_json_shaped_parts(
            header in "\\{(\"(alg|typ|kid|cat|crit|jku)\":(\"[A-Za-z0-9+]{0,8}\"|null|1|\\[\\]|\\{\\}),?){0,5}\\}",
            payload in "\\{(\"[a-z]{1,3}\":(\"[a-z]{0,4}\"|-?[0-9]{1,25}|1\\.5|true|null|\\{\\}),?){0,6}\\}",
        ) {
            let token = format!("{}.{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()), b64(b"sig"));
            let _ = ParsedToken::parse(&token, 8192);
        }
    }
}
