use std::time::Duration;

use super::*;
use crate::config::Config;

fn load(section: &str) -> Result<Config, String> {
    let text = format!(
        "[clerk]\nissuer = \"https://clerk.example.com\"\njwks_url = \"https://clerk.example.com/jwks\"\n\
         [[upstreams]]\nname = \"app\"\nurl = \"http://127.0.0.1:3000\"\n\
         [[upstreams]]\nname = \"projects\"\nurl = \"http://127.0.0.1:4000\"\n{section}\n"
    );
    Config::parse(&text, "test.toml", &|_| None).map_err(|e| e.to_string())
}

#[test]
fn off_without_the_section_and_defaults_with_it() {
    let config = load("").unwrap();
    assert!(config.assertion.is_none());
    assert!(!config.headers.strip.iter().any(|s| s == DEFAULT_HEADER));
    let config = load("[assertion]").unwrap();
    let a = config.assertion.as_ref().unwrap();
    assert_eq!(a.header.as_str(), DEFAULT_HEADER);
    assert_eq!(a.algorithm, Algorithm::Es256);
    assert_eq!(a.issuer, "doorman");
    assert_eq!(a.lifetime, Duration::from_secs(60));
    assert_eq!(a.rotate_every, Duration::from_secs(6 * 3600));
    assert!(a.keys.is_empty() && a.jwks_path.is_none());
    assert_eq!(a.audiences, vec!["app".to_string(), "projects".to_string()]);
    assert!(config.headers.strip.iter().any(|s| s == DEFAULT_HEADER));
}

#[test]
fn disabled_still_strips_the_header_and_audiences_override_by_name() {
    let config = load("[assertion]\nenabled = false\nheader = \"X-Edge_Assertion\"").unwrap();
    assert!(config.assertion.is_none());
    assert!(config.headers.strip.iter().any(|s| s == "x-edge-assertion"));
    let config = load(
        "[assertion]\nalgorithm = \"EdDSA\"\n[assertion.audiences]\nprojects = \"api://projects\"",
    )
    .unwrap();
    let a = config.assertion.unwrap();
    assert_eq!(a.algorithm, Algorithm::EdDsa);
    assert_eq!(
        a.audiences,
        vec!["app".to_string(), "api://projects".to_string()]
    );
}

#[test]
fn every_bad_value_is_reported_with_its_key() {
    let err = load(
        "[assertion]\nalgorithm = \"HS256\"\nlifetime = \"2s\"\nrotate_every = \"30s\"\nissuer = \" \"\njwks_path = \"/a/../b\"\n[assertion.audiences]\nnope = \"x\"",
    )
    .unwrap_err();
    for key in [
        "assertion.algorithm",
        "assertion.lifetime",
        "assertion.rotate_every",
        "assertion.issuer",
        "assertion.jwks_path",
        "assertion.audiences.nope",
    ] {
        assert!(err.contains(key), "{key} missing from: {err}");
    }
    let err = load("[assertion]\nkeys = [\"a.pem\"]\nrotate_every = \"1h\"").unwrap_err();
    assert!(err.contains("only applies to generated keys"), "{err}");
    let err = load("[assertion]\nlifetime = \"90500ms\"").unwrap_err();
    assert!(err.contains("whole seconds"), "{err}");
}
