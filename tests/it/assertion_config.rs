//! `[assertion]` config errors as `doorman check` reports them: each names the key, says
//! how to fix it, and a key file is reported with the absolute path that was tried.

use std::path::Path;
use std::process::Command;

use jsonwebtoken::Algorithm;

use crate::assertion::write_key;
use crate::support::process::temp_dir;

/// Runs `doorman check` on a config with `assertion` as its `[assertion]` section, in
/// `dir`: (exit success, stdout + stderr).
fn check(dir: &Path, assertion: &str) -> (bool, String) {
    let file = dir.join("doorman.toml");
    let text = format!(
        "[clerk]\nissuer = \"https://clerk.example.com\"\njwks_url = \"https://clerk.example.com/.well-known/jwks.json\"\n\
         [[upstreams]]\nname = \"app\"\nurl = \"http://127.0.0.1:3000\"\n\
         [assertion]\n{assertion}\n"
    );
    std::fs::write(&file, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_doorman"))
        .args(["check", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn bad_values_name_the_key_and_the_fix() {
    let dir = temp_dir("assertion-check");
    for (section, key, hint) in [
        ("algorithm = \"RS256\"", "assertion.algorithm", "\"ES256\""),
        ("lifetime = \"5s\"", "assertion.lifetime", "10s to 10m"),
        ("lifetime = \"1h\"", "assertion.lifetime", "10s to 10m"),
        (
            "rotate_every = \"1m\"",
            "assertion.rotate_every",
            "at least",
        ),
        (
            "header = \"X-User-Id\"",
            "assertion.header",
            "its own header",
        ),
        ("jwks_path = \"jwks\"", "assertion.jwks_path", "plain path"),
        (
            "[assertion.audiences]\nbilling = \"x\"",
            "assertion.audiences.billing",
            "[[upstreams]]",
        ),
        ("keys = []", "assertion.keys", "PKCS#8"),
        ("colour = \"blue\"", "colour", "unknown field"),
    ] {
        let (ok, text) = check(&dir, section);
        assert!(!ok, "{section}: accepted: {text}");
        assert!(
            text.contains(key) && text.contains(hint),
            "{section}: {text}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn key_files_are_read_relative_to_the_config_and_checked_for_their_type() {
    let dir = temp_dir("assertion-keys");
    let (ok, text) = check(&dir, "keys = [\"keys/missing.pem\"]");
    assert!(!ok, "{text}");
    let absolute = dir.join("keys/missing.pem");
    assert!(
        text.contains("assertion.keys[0]") && text.contains(&absolute.display().to_string()),
        "{text}"
    );
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    write_key(&dir.join("keys"), "ed.pem", Algorithm::EdDSA);
    let (ok, text) = check(&dir, "keys = [\"keys/ed.pem\"]");
    assert!(!ok, "an Ed25519 key for ES256: {text}");
    assert!(
        text.contains("assertion.keys[0]")
            && text.contains("P-256")
            && text.contains("openssl genpkey"),
        "{text}"
    );
    let (ok, text) = check(&dir, "algorithm = \"EdDSA\"\nkeys = [\"keys/ed.pem\"]");
    assert!(ok, "{text}");
    assert!(!text.contains("assertion.keys"), "{text}");
    std::fs::write(
        dir.join("keys/rsa.pem"),
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
    )
    .unwrap();
    let (ok, text) = check(&dir, "keys = [\"keys/rsa.pem\"]");
    assert!(
        !ok && text.contains("not a PKCS#8 PEM private key"),
        "{text}"
    );
    // Generated keys load, with a warning about replicas.
    let (ok, text) = check(&dir, "");
    assert!(ok, "{text}");
    assert!(
        text.contains("warning: assertion.keys") && text.contains("replica"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
