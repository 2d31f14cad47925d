//! `doorman explain` as a user runs it (issue 17): a token taken from `--cookie` or
//! `--header` as the proxy would, every token rule with expected against actual, wrongly
//! typed claims called out, and the JSON keys unchanged.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::process::{doorman, keygen, temp_dir};

/// A config verifying with a generated key (`jwks_file`), and the key to mint with.
fn setup() -> (PathBuf, PathBuf) {
    let dir = temp_dir("explain");
    std::fs::write(dir.join("jwks.json"), keygen(&dir.join("key.pem"), "k1")).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        r#"
[clerk]
issuer = "https://clerk.test.example"
jwks_file = "jwks.json"
authorized_parties = ["https://app.test.example"]
[claims]
roles = "/metadata/roles"
[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"
[[routes]]
name = "sign-in"
path = "/sign-in/**"
access = "public"
[[routes]]
name = "admin"
path = "/admin/**"
onboarding = "skip"
roles_any = ["admin"]
"#,
    )
    .unwrap();
    (config, dir.join("key.pem"))
}

fn mint(key: &Path, claims: &str) -> String {
    let out = doorman()
        .args(["token", "mint", "--kid", "k1", "--key"])
        .arg(key)
        .args(["--claims", claims])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn explain_json(config: &Path, args: &[&str]) -> Value {
    let out = doorman()
        .args(["explain", "--json", "--config"])
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn step<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["step"] == name)
        .unwrap_or_else(|| panic!("no {name} step in {v}"))
}

const GOOD: &str = r#"{"sub":"user_1","sid":"sess_1","iss":"https://clerk.test.example","azp":"https://app.test.example","metadata":{"roles":["admin"]}}"#;

#[test]
fn a_token_in_a_cookie_is_verified_and_every_rule_shown() {
    let (config, key) = setup();
    let token = mint(&key, GOOD);
    let v = explain_json(
        &config,
        &[
            "--cookie",
            &format!("__session={token}"),
            "--header",
            "Accept: text/html",
            "GET",
            "/admin/x",
        ],
    );
    // The JSON keys are the ones scripts already read.
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["checks", "decision", "location", "method", "reason", "route", "status", "target"]
    );
    assert_eq!(v["decision"], "forward", "{v}");
    assert_eq!(step(&v, "token")["outcome"], "pass");
    let kid = step(&v, "kid");
    assert_eq!(kid["outcome"], "pass");
    assert!(
        kid["detail"]
            .as_str()
            .unwrap()
            .contains("expected one of [k1]; token has \"k1\""),
        "{kid}"
    );
    for rule in ["signature", "iss", "azp", "exp", "sub", "sid"] {
        assert_eq!(step(&v, rule)["outcome"], "pass", "{rule}: {v}");
    }
    assert!(!v.to_string().contains(&token), "the token was printed");
}

#[test]
fn a_wrong_issuer_and_a_wrongly_typed_claim_say_expected_and_actual() {
    let (config, key) = setup();
    let token = mint(
        &key,
        r#"{"sub":"user_1","sid":"sess_1","iss":"https://clerk.other.example","azp":"https://app.test.example","metadata":{"roles":"admin"}}"#,
    );
    let v = explain_json(
        &config,
        &[
            "--header",
            &format!("Authorization: Bearer {token}"),
            "GET",
            "/admin/x",
        ],
    );
    assert_eq!(v["decision"], "unauthorized", "{v}");
    let iss = step(&v, "iss");
    assert_eq!(iss["outcome"], "fail");
    let detail = iss["detail"].as_str().unwrap();
    assert!(
        detail.contains("\"https://clerk.test.example\"")
            && detail.contains("\"https://clerk.other.example\""),
        "{detail}"
    );
    // The signature verified (the issuer is checked after it).
    assert_eq!(step(&v, "signature")["outcome"], "pass");
    let roles = step(&v, "claims.roles");
    assert_eq!(roles["outcome"], "fail");
    assert!(
        roles["detail"].as_str().unwrap().contains("is a string"),
        "{roles}"
    );
}

#[test]
fn claims_mode_lists_the_rules_it_skipped() {
    let (config, _) = setup();
    let v = explain_json(&config, &["--claims", GOOD, "GET", "/admin/x"]);
    for rule in ["kid", "signature"] {
        let c = step(&v, rule);
        assert_eq!(c["outcome"], "skip", "{c}");
        assert!(c["detail"].as_str().unwrap().contains("--claims"));
    }
    // sid is checked even without a token (it used to be skipped silently).
    assert_eq!(step(&v, "sid")["outcome"], "pass");
    assert_eq!(step(&v, "exp")["outcome"], "fail", "no exp in the payload");
}

#[test]
fn a_malformed_header_is_a_usage_error_naming_it() {
    let (config, _) = setup();
    let out = doorman()
        .args(["explain", "--config"])
        .arg(&config)
        .args(["--header", "no colon here", "GET", "/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--header \"no colon here\""));
}
