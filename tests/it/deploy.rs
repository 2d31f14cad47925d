//! deploy/ against the product: every metric its alerts, dashboard and scrape configs name is
//! one doorman exports (so renaming a metric breaks CI, not a dashboard in production), and
//! the Kubernetes ConfigMap holds a valid config with the repository's route table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use doorman::app::{self, Options};
use doorman::clock::ManualClock;
use doorman::config::Config;
use doorman::dev::echo::Echo;

use crate::support::{claims, key, token, Client, JwksServer, BASE_CONFIG, KID, NOW};

/// Metrics announced for newer versions, which deploy/ may reference before they exist,
/// and one this test does not make appear (a family shows in /metrics only once it has a
/// series, and a handshake needs Clerk's keys and API).
const NOT_CHECKED: &[&str] = &[
    "doorman_webhooks_total",
    "doorman_revocations_active",
    "doorman_revocation_sync_errors_total",
    "doorman_handshakes_total",
];

/// The test config plus an upstream nobody listens on (`doorman_upstream_errors_total`) and
/// a report-mode route (`doorman_shadow_decisions_total`).
const EXTRA_CONFIG: &str = r#"
[[routes]]
name = "beta"
path = "/beta/**"
mode = "report"

[[upstreams]]
name = "dead"
url = "http://127.0.0.1:1"
connect_timeout = "1s"

[[routes]]
name = "dead"
path = "/dead/**"
access = "public"
upstream = "dead"
"#;

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Every `doorman_[a-z0-9_]+` word in `text` (not preceded by a word character).
fn metric_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in text.match_indices("doorman_") {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let name: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        let name = name.trim_end_matches('_');
        if name.len() > "doorman_".len() {
            names.push(name.to_string());
        }
    }
    names
}

/// The metric families in an exposition, with their type, from the `# TYPE` lines
/// (counters appear there without `_total`).
fn exported_families(exposition: &str) -> BTreeMap<String, String> {
    exposition
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| {
            let mut words = rest.split_whitespace();
            Some((words.next()?.to_string(), words.next()?.to_string()))
        })
        .collect()
}

/// True when `name`, as written in a query, is a series of an exported family.
fn is_exported(name: &str, families: &BTreeMap<String, String>) -> bool {
    let family_type = |base: &str| families.get(base).map(String::as_str);
    if families.contains_key(name) {
        return true;
    }
    if let Some(base) = name.strip_suffix("_total") {
        return family_type(base) == Some("counter");
    }
    ["_bucket", "_sum", "_count"].iter().any(|suffix| {
        name.strip_suffix(suffix)
            .is_some_and(|base| family_type(base) == Some("histogram"))
    })
}

/// The `/metrics` text of a doorman that has forwarded, refused, failed upstream, shadowed
/// a decision and reloaded its config, so that its families have series.
async fn metrics_after_some_of_everything() -> String {
    let jwks = JwksServer::start(&[(key(), KID)]).await;
    let echo = Echo::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let text = BASE_CONFIG
        .replace("${JWKS_URL}", &jwks.url())
        .replace("${UPSTREAM_URL}", &format!("http://{}", echo.addr))
        + EXTRA_CONFIG;
    let dir = std::env::temp_dir().join(format!("doorman-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("doorman.toml");
    std::fs::write(&path, &text).unwrap();
    let options = Options {
        clock: Arc::new(ManualClock::new(NOW)),
        config_path: Some(path.clone()),
        ..Options::default()
    };
    let running = app::start(Config::load(&path).unwrap(), options)
        .await
        .expect("start doorman");
    assert!(running.wait_ready(Duration::from_secs(10)).await);

    let client = Client::new(running.addr);
    assert_eq!(
        client
            .api("GET", "/dashboard", &token(&claims()))
            .await
            .status,
        200
    );
    assert_eq!(client.get("/api/projects").await.status, 401);
    assert_eq!(client.get("/dead/x").await.status, 502);
    assert_eq!(client.get("/beta/x").await.status, 200);
    std::fs::write(&path, format!("{text}\n# changed\n")).unwrap();
    running
        .reload()
        .await
        .expect("reloads enabled")
        .expect("reload");

    let metrics = Client::new(running.admin_addr).get("/metrics").await.text();
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    metrics
}

#[tokio::test]
async fn every_metric_named_in_deploy_is_exported() {
    let families = exported_families(&metrics_after_some_of_everything().await);

    let mut referenced: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let deploy = repo_file("deploy");
    for file in files_under(&deploy) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue; // not text
        };
        let shown = file.strip_prefix(&deploy).unwrap().display().to_string();
        for name in metric_names(&text) {
            referenced.entry(name).or_default().insert(shown.clone());
        }
    }
    assert!(
        referenced.len() >= 15,
        "deploy/ should name most of doorman's metrics; found only {:?}",
        referenced.keys()
    );

    let missing: Vec<String> = referenced
        .iter()
        .filter(|(name, _)| !NOT_CHECKED.contains(&name.as_str()))
        .filter(|(name, _)| !is_exported(name, &families))
        .map(|(name, files)| format!("{name} (in {})", Vec::from_iter(files.clone()).join(", ")))
        .collect();
    assert!(
        missing.is_empty(),
        "deploy/ names metrics that /metrics does not export:\n  {}\nexported families: {:?}",
        missing.join("\n  "),
        families.keys()
    );
}

#[test]
fn the_kubernetes_config_is_valid_and_keeps_the_repository_route_table() {
    // kustomization.yaml's configMapGenerator makes the ConfigMap from this file.
    let text = std::fs::read_to_string(repo_file("deploy/kubernetes/config.toml"))
        .expect("deploy/kubernetes/config.toml");
    // The Secret's variables, with values in the format doorman checks.
    let publishable = format!(
        "pk_live_{}",
        base64::engine::general_purpose::STANDARD.encode("clerk.marketplace.example$")
    );
    let env = |name: &str| match name {
        "CLERK_PUBLISHABLE_KEY" => Some(publishable.clone()),
        "CLERK_SECRET_KEY" => Some("sk_live_placeholder".to_string()),
        "CLERK_WEBHOOK_SECRET" => Some("whsec_cGxhY2Vob2xkZXI=".to_string()),
        "TRUSTED_PROXY_CIDR" => Some("10.244.0.0/16".to_string()),
        "REDIS_PASSWORD" => Some("placeholder".to_string()),
        _ => None,
    };
    let config = Config::parse(&text, "deploy/kubernetes/config.toml", &env)
        .unwrap_or_else(|e| panic!("the ConfigMap's config.toml is invalid: {e}"));
    // Probes and Prometheus reach the admin listener on the pod IP (deployment.yaml: 9090).
    assert_eq!(
        config.server.admin_listen.to_string(),
        "0.0.0.0:9090",
        "the probes and Prometheus reach the admin listener on the pod IP, port 9090"
    );
    assert_eq!(config.server.listen.to_string(), "0.0.0.0:8080");

    let repo = std::fs::read_to_string(repo_file("config.toml")).expect("config.toml");
    let repo: toml::Table = toml::from_str(&repo).expect("config.toml is TOML");
    let prod: toml::Table = toml::from_str(&text).expect("the ConfigMap's config is TOML");
    for section in ["redirects", "claims", "roles", "defaults", "routes"] {
        assert_eq!(
            prod.get(section),
            repo.get(section),
            "[{section}] of deploy/kubernetes/config.toml differs from config.toml's: copy it over"
        );
    }
}
