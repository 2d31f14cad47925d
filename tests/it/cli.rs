//! The binary's commands as a user runs them: exit codes and messages.

use crate::support::process::doorman;

fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn check_accepts_the_repository_config() {
    let out = doorman()
        .args(["check", "--config", &repo("config.toml")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok ("));
}

#[test]
fn check_reports_every_problem_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("doorman-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        r#"
[clerk]
issuer = "clerk.example.com"
jwks_url = "https://clerk.example.com/.well-known/jwks.json"
public_key_file = "key.pem"
[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"
[[routes]]
name = "a"
path = "/admin/**"
upstream = "ap"
[[routes]]
name = "b"
path = "/ADMIN/**"
org_roles_any = ["admin"]
"#,
    )
    .unwrap();
    let out = doorman()
        .args(["check", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "clerk.issuer",
        "2 key sources",
        "unknown upstream \"ap\"; known upstreams: app",
        "write \"org:admin\"",
        "ties with route \"a\"",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

#[test]
fn unknown_keys_are_refused_with_their_location() {
    let dir = std::env::temp_dir().join(format!("doorman-cli-unknown-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("typo.toml");
    std::fs::write(&file, "[clerk]\nissuer = \"https://c.example\"\njwks_url = \"https://c.example/jwks\"\n\n[[routes]]\npath = \"/x\"\npermisions_all = [\"a\"]\n").unwrap();
    let out = doorman()
        .args(["check", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("permisions_all") && err.contains("line"),
        "{err}"
    );
}

#[test]
fn missing_config_file_is_exit_1_with_one_line() {
    let out = doorman()
        .args(["check", "--config", "/nonexistent/doorman.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/doorman.toml") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = doorman().args(["explain"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn explain_shows_every_check_and_the_decision() {
    let out = doorman()
        .args(["explain", "--config", &repo("config.toml"), "--json", "--claims"])
        .arg(r#"{"sub":"user_1","sid":"sess_1","exp":9999999999,"metadata":{"userType":"freelancer","onboarding":{"status":"completed"},"freelancer":{"tier":"new"},"complianceStatus":"pending","roles":[{"name":"freelancer","permissions":["view_project"]}]}}"#)
        .args(["POST", "/api/projects"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["route"], "create-project");
    assert_eq!(v["decision"], "forbidden");
    assert_eq!(v["reason"], "permission_missing");
    assert_eq!(v["status"], 403);
    let steps: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["step"].as_str().unwrap())
        .collect();
    assert!(
        steps.contains(&"onboarding") && steps.contains(&"permissions_all"),
        "{steps:?}"
    );
}

#[test]
fn explain_for_a_page_without_a_token_shows_the_redirect() {
    let out = doorman()
        .args([
            "explain",
            "--config",
            &repo("config.toml"),
            "--navigate",
            "GET",
            "/dashboard?x=1",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Location: /sign-in?redirect_url=/dashboard%3Fx%3D1"),
        "{text}"
    );
}

#[test]
fn token_mint_prints_a_token_that_verifies() {
    let dir = std::env::temp_dir().join(format!("doorman-mint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = doorman::dev::mint::SigningKey::generate_2048().unwrap();
    let pem = dir.join("key.pem");
    std::fs::write(&pem, key.to_pkcs8_pem().unwrap()).unwrap();
    let out = doorman()
        .args(["token", "mint", "--key"])
        .arg(&pem)
        .args([
            "--claims",
            r#"{"sub":"user_1","sid":"sess_1","iss":"https://c.example"}"#,
            "--kid",
            "k1",
            "--ttl",
            "5m",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let jwt = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let keys = doorman::keys::KeySet::from_pem(&key.public_key_pem().unwrap()).unwrap();
    let opts = doorman::token::verify::VerifyOptions::new("https://c.example");
    let now = crate::support::wall_now();
    let claims = doorman::token::verify_with_keys(&jwt, &keys, &opts, now, 16384).unwrap();
    assert_eq!(claims.sub, "user_1");
    assert!(claims.exp >= now + 290 && claims.exp <= now + 310);
}

#[test]
fn token_mint_with_a_bad_key_file_is_exit_1() {
    let out = doorman()
        .args([
            "token",
            "mint",
            "--key",
            "/nonexistent.pem",
            "--claims",
            "{}",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.pem"));
}

#[test]
fn check_warns_about_a_plain_http_jwks_url_to_a_remote_host() {
    let dir = std::env::temp_dir().join(format!("doorman-cli-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("http.toml");
    let config = |url: &str| {
        format!(
            "[clerk]\nissuer = \"https://clerk.example.com\"\njwks_url = \"{url}\"\n\
             [[upstreams]]\nname = \"app\"\nurl = \"http://127.0.0.1:3000\"\n"
        )
    };
    let run = |url: &str| {
        std::fs::write(&file, config(url)).unwrap();
        let out = doorman()
            .args(["check", "--config"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{url}: {out:?}");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let text = run("http://clerk.example.com/.well-known/jwks.json");
    assert!(
        text.contains("clerk.jwks_url") && text.contains("plain http"),
        "{text}"
    );
    let text = run("http://127.0.0.1:8080/jwks.json");
    assert!(!text.contains("plain http"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn explain_names_a_failed_condition_and_missing_onboarding_data() {
    let run = |claims: &str, path: &str| {
        let out = doorman()
            .args([
                "explain",
                "--config",
                &repo("config.toml"),
                "--json",
                "--claims",
            ])
            .arg(claims)
            .args(["GET", path])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let v = run(
        r#"{"sub":"user_1","sid":"sess_1","exp":9999999999,"metadata":{"userType":"customer_organization","organization":{"name":"Globex"},"maxBudgetApproval":"50000","onboarding":{"status":"completed"}}}"#,
        "/api/approvals/large/1",
    );
    assert_eq!(v["reason"], "condition_failed");
    let detail = v["checks"].to_string();
    assert!(
        detail.contains("budget_10k") && detail.contains("wrong type"),
        "{detail}"
    );
    assert!(
        !detail.contains("50000"),
        "claim values never appear: {detail}"
    );
    let v = run(
        r#"{"sub":"user_1","sid":"sess_1","exp":9999999999,"metadata":{"userType":"vendor_company","onboarding":{"status":"completed"}}}"#,
        "/dashboard",
    );
    assert_eq!(v["reason"], "onboarding_data_missing");
    let detail = v["checks"].to_string();
    assert!(detail.contains("/metadata/organization/name"), "{detail}");
}
