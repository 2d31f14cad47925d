//! `doorman explain --call-header …` decides a forward-auth call as the authorizer would.

use std::process::Command;

use crate::support::process::temp_dir;

/// The repository's config with `[forward_auth]` on (and loopback trusted).
fn config() -> std::path::PathBuf {
    let text = std::fs::read_to_string(format!("{}/config.toml", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .replace(
            "trusted_proxies = []",
            "trusted_proxies = [\"127.0.0.1/32\"]",
        );
    let path = temp_dir("explain-fa").join("config.toml");
    std::fs::write(
        &path,
        format!("{text}\n[forward_auth]\nlisten = \"127.0.0.1:9191\"\n"),
    )
    .unwrap();
    path
}

fn explain(args: &[&str]) -> (bool, String, String) {
    let config = config();
    let out = Command::new(env!("CARGO_BIN_EXE_doorman"))
        .args(["explain", "--config"])
        .arg(&config)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn explain_decides_an_nginx_call_as_its_original_request() {
    let (ok, text, err) = explain(&[
        "--call-header",
        "X-Original-Method: GET",
        "--call-header",
        "X-Original-URI: /dashboard?x=1",
        "--call-header",
        "Sec-Fetch-Mode: navigate",
        "GET",
        "/nginx",
    ]);
    assert!(ok, "{err}");
    assert!(
        text.contains("forward-auth call (nginx): the original request is GET /dashboard?x=1"),
        "{text}"
    );
    // A navigation without a token: the sign-in redirect, as inline.
    assert!(
        text.contains("Location: /sign-in?redirect_url=/dashboard%3Fx%3D1"),
        "{text}"
    );
}

#[test]
fn explain_names_what_is_missing_from_a_call() {
    let (ok, _, err) = explain(&["--call-header", "X-Forwarded-Uri: /x", "GET", "/traefik"]);
    assert!(!ok);
    assert!(err.contains("forward_auth_incomplete"), "{err}");
    let (ok, _, err) = explain(&["--call-header", "X-Forwarded-Uri: /x", "GET", "/elsewhere"]);
    assert!(!ok);
    assert!(err.contains("not a forward-auth endpoint"), "{err}");
}
