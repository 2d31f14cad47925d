//! `doorman users` as an operator runs it: the binary, a config file on disk, the secret key
//! from the environment, the fake Backend API. Each per-user command, `validate`, `sync`
//! from CSV with a dry run and a report, and the secret key never printed.

use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::bapi::{FakeBapi, Faults, SECRET_KEY};
use crate::support::process::temp_dir;
use crate::support::BASE_CONFIG;
use crate::users_sync::USERS;

struct Cli {
    config: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl Cli {
    fn new(bapi: &FakeBapi) -> Cli {
        let dir = temp_dir("users-cli");
        let config = BASE_CONFIG
            .replace("${JWKS_URL}", "http://127.0.0.1:9/jwks.json")
            .replace("${UPSTREAM_URL}", "http://127.0.0.1:9")
            .replace(
                "[clerk]\n",
                &format!("[clerk]\napi_url = \"{}\"\n", bapi.url()),
            );
        let config = format!(
            "{config}\n{USERS}\n[roles]\ncustomer_admin = [\"view_project\", \"create_project\"]\n"
        );
        std::fs::write(dir.join("doorman.toml"), config).unwrap();
        Cli {
            config: dir.join("doorman.toml"),
            dir,
        }
    }

    /// Runs `doorman --config … users <args>` with the key in the environment.
    async fn run(&self, args: &[&str]) -> Output {
        self.run_with_key(args, SECRET_KEY).await
    }

    async fn run_with_key(&self, args: &[&str], key: &str) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_doorman"));
        command
            .arg("--config")
            .arg(&self.config)
            .arg("users")
            .args(args)
            .env("CLERK_SECRET_KEY", key)
            .env_remove("DOORMAN_CONFIG");
        let out = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(key), "the secret key was printed: {all}");
        out
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_per_user_command_writes_where_the_claims_are_read() {
    let bapi = FakeBapi::start(Faults::polite(100, Duration::from_millis(100))).await;
    bapi.add_user("user_a", json!({"apiAccess": "standard"}));
    let cli = Cli::new(&bapi);
    let ok = |out: &Output| assert!(out.status.success(), "{}{}", stdout(out), stderr(out));

    let out = cli.run(&["init", "user_a", "--type", "freelancer"]).await;
    ok(&out);
    assert!(
        stdout(&out).starts_with("user_a: wrote {"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        bapi.metadata("user_a")["onboarding"],
        json!({"status": "not_started", "step": 0, "totalSteps": 4})
    );
    assert_eq!(bapi.metadata("user_a")["apiAccess"], "standard");
    let out = cli.run(&["init", "user_a", "--type", "freelancer"]).await;
    assert_eq!(stdout(&out).trim(), "user_a: unchanged (already as asked)");

    ok(&cli
        .run(&[
            "onboarding",
            "user_a",
            "--step",
            "2",
            "--status",
            "in_progress",
        ])
        .await);
    assert_eq!(
        bapi.metadata("user_a")["onboarding"],
        json!({"status": "in_progress", "step": 2, "totalSteps": 4})
    );
    let out = cli
        .run(&["onboarding", "user_a", "--status", "finished"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--status \"finished\" is not one of"),
        "{}",
        stderr(&out)
    );

    let out = cli
        .run(&[
            "get",
            "user_a",
            "--path",
            "/api/projects",
            "--method",
            "POST",
        ])
        .await;
    ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains("read as: type freelancer, roles [freelancer], permissions [view_project]"),
        "{text}"
    );
    assert!(
        text.contains("onboarding in_progress (not complete)"),
        "{text}"
    );
    assert!(
        text.contains("decision: forbidden (onboarding_required) → HTTP 403"),
        "{text}"
    );

    ok(&cli.run(&["roles", "user_a", "customer_admin"]).await);
    assert_eq!(
        bapi.metadata("user_a")["roles"],
        json!([{"name": "customer_admin", "permissions": ["view_project", "create_project"]}])
    );
    let out = cli.run(&["roles", "user_a", "wizard"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("role \"wizard\" is not in the [roles] catalog"),
        "{}",
        stderr(&out)
    );

    ok(&cli
        .run(&[
            "org", "user_a", "--id", "org_1", "--name", "Acme", "--role", "owner",
        ])
        .await);
    assert_eq!(
        bapi.metadata("user_a")["organization"],
        json!({"id": "org_1", "name": "Acme", "role": "owner"})
    );
    ok(&cli
        .run(&["flags", "user_a", "beta=true", "advanced_search=unset"])
        .await);
    assert_eq!(
        bapi.metadata("user_a")["featureFlags"],
        json!({"beta": true})
    );

    ok(&cli
        .run(&[
            "onboarding",
            "user_a",
            "--step",
            "4",
            "--status",
            "completed",
        ])
        .await);
    let text = stdout(
        &cli.run(&[
            "get",
            "user_a",
            "--path",
            "/api/projects",
            "--method",
            "POST",
        ])
        .await,
    );
    assert!(text.contains("decision: forward"), "{text}");
    assert!(text.contains("problems: none"), "{text}");
    assert_eq!(bapi.counts(|c| c.violations.clone()), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_lists_the_users_doorman_would_misread() {
    let bapi = FakeBapi::start(Faults::polite(100, Duration::from_millis(100))).await;
    let good = json!({"userType": "customer", "roles": ["customer_member"], "onboarding": {"status": "completed", "step": 2, "totalSteps": 2}, "isActive": true});
    for i in 0..1200 {
        bapi.add_user(&format!("user_{i:04}"), good.clone());
    }
    bapi.add_user("user_bad1", json!({"userType": "customer", "roles": [1], "isActive": "false", "onboarding": {"status": "completed", "step": 1, "totalSteps": 2}}));
    bapi.add_user(
        "user_bad2",
        json!({"userType": "robot", "onboarding": {"status": "done"}}),
    );
    let cli = Cli::new(&bapi);
    let out = cli.run(&["validate", "--json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(lines[0]["user"], "user_bad1");
    assert_eq!(
        lines[0]["problems"].as_array().unwrap().len(),
        3,
        "{:#}",
        lines[0]
    );
    assert!(
        lines[1]["problems"]
            .to_string()
            .contains("\\\"robot\\\" is not one of the configured types"),
        "{:#}",
        lines[1]
    );
    assert!(
        stderr(&out).contains("1202 users checked, 2 with problems"),
        "{}",
        stderr(&out)
    );
    assert_eq!(bapi.counts(|c| c.requests), 3, "three pages of 500");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_from_csv_dry_run_then_for_real_with_a_report_and_exit_status() {
    let bapi = FakeBapi::start(Faults::polite(100, Duration::from_millis(100))).await;
    bapi.add_user("user_1", json!({"userType": "customer"}));
    bapi.add_user(
        "user_2",
        json!({"userType": "freelancer", "isActive": true}),
    );
    let cli = Cli::new(&bapi);
    let csv = cli.dir.join("users.csv");
    std::fs::write(&csv, "user_id,user_type,roles,active,onboarding_status\nuser_1,customer,customer_member;beta_tester,true,completed\nuser_2,freelancer,,true,\nuser_3,customer,,,\n").unwrap();
    let from = csv.to_string_lossy().into_owned();

    let out = cli.run(&["sync", "--from", &from, "--dry-run"]).await;
    assert_eq!(out.status.code(), Some(1), "user_3 does not exist");
    assert_eq!(
        stdout(&out).trim(),
        r#"user_1 (record 2): {"isActive":true,"onboarding":{"status":"completed"},"roles":["customer_member","beta_tester"]}"#
    );
    assert!(
        stderr(&out).contains("dry run: 1 would change, 1 unchanged, 1 failed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(bapi.metadata("user_1"), json!({"userType": "customer"}));

    let report = cli.dir.join("report.ndjson");
    let out = cli
        .run(&[
            "sync",
            "--from",
            &from,
            "--report",
            &report.to_string_lossy(),
        ])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("1 succeeded, 1 unchanged, 1 failed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        bapi.metadata("user_1")["roles"],
        json!(["customer_member", "beta_tester"])
    );
    let text = std::fs::read_to_string(&report).unwrap();
    let failed: Value =
        serde_json::from_str(text.lines().find(|l| l.contains("user_3")).unwrap()).unwrap();
    assert_eq!(
        failed,
        json!({"user": "user_3", "outcome": "failed", "record": 4, "reason": "no such user in Clerk (404)"})
    );

    let out = cli
        .run_with_key(&["sync", "--from", &from], "sk_test_wrongwrongwrong")
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("refused the secret key (HTTP 401)"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&csv, "user_id,active\nuser_1,maybe\n").unwrap();
    let out = cli.run(&["sync", "--from", &from]).await;
    assert!(
        stderr(&out).contains("record 2: active: \"maybe\" is not true or false"),
        "{}",
        stderr(&out)
    );
}
