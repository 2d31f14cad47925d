//! Operating doorman: hot reload under load, invalid configs rejected, every contract
//! metric present and moving, JSON log lines without secrets, shadow mode, and SIGTERM with
//! requests in flight.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use doorman::app::{self, Options};
use doorman::clock::ManualClock;
use doorman::config::Config;
use doorman::dev::echo::Echo;
use serde_json::Value;

use crate::support::process::{sigterm, spawn_binary, temp_dir, wait_ready};
use crate::support::{
    claims, key, live_claims, token, Client, JwksServer, RequestExt, BASE_CONFIG, KID, NOW,
};

/// The base config with real addresses written in (a file has no test env to read).
fn config_text(jwks: &JwksServer, echo: &Echo) -> String {
    BASE_CONFIG
        .replace("${JWKS_URL}", &jwks.url())
        .replace("${UPSTREAM_URL}", &format!("http://{}", echo.addr))
}

struct FileHarness {
    running: app::Running,
    path: PathBuf,
    client: Client,
    base: String,
    #[allow(dead_code)]
    echo: Echo,
}

async fn start_from_file(extra: &str) -> FileHarness {
    let jwks = JwksServer::start(&[(key(), KID)]).await;
    let echo = Echo::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = config_text(&jwks, &echo);
    let path = temp_dir("reload").join("doorman.toml");
    std::fs::write(&path, format!("{base}{extra}")).unwrap();
    let config = Config::load(&path).unwrap();
    let running = app::start(
        config,
        Options {
            clock: Arc::new(ManualClock::new(NOW)),
            config_path: Some(path.clone()),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    assert!(running.wait_ready(Duration::from_secs(10)).await);
    let client = Client::new(running.addr);
    FileHarness {
        running,
        path,
        client,
        base,
        echo,
    }
}

const EXTRA_ROUTE_A: &str =
    "\n[[routes]]\nname = \"reports\"\npath = \"/reports/**\"\nrespond = \"api\"\n";
const EXTRA_ROUTE_B: &str = "\n[[routes]]\nname = \"reports\"\npath = \"/reports/**\"\nrespond = \"api\"\nroles_any = [\"auditor\"]\n";

#[tokio::test]
async fn reload_under_load_fails_no_request_and_invalid_configs_are_rejected_whole() {
    let h = start_from_file(EXTRA_ROUTE_A).await;
    let hash_before = h.running.shared.snapshot.load().config.hash.clone();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for _ in 0..8 {
        let (client, stop, failures, served) = (
            h.client.clone(),
            stop.clone(),
            failures.clone(),
            served.clone(),
        );
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let reply = client.api("GET", "/dashboard", &token(&claims())).await;
                if reply.status != 200 {
                    failures.fetch_add(1, Ordering::SeqCst);
                }
                served.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    for i in 0..6 {
        // Alternate the rule; the last good version (i = 5) requires the role.
        let extra = if i % 2 == 1 {
            EXTRA_ROUTE_B
        } else {
            EXTRA_ROUTE_A
        };
        std::fs::write(&h.path, format!("{}{extra}\n# version {i}\n", h.base)).unwrap();
        let outcome = h.running.reload().await.unwrap();
        assert!(
            matches!(outcome, Ok(doorman::reload::Outcome::Loaded { .. })),
            "{outcome:?}"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    // An invalid config is rejected whole: the previous one keeps serving.
    std::fs::write(
        &h.path,
        format!(
            "{}\n[[routes]]\nname = \"broken\"\npath = \"no-slash\"\n",
            h.base
        ),
    )
    .unwrap();
    assert!(h.running.reload().await.unwrap().is_err());
    // Keep the load going until it has served enough to mean something (a busy CI machine
    // is slow), within a deadline.
    for _ in 0..1000 {
        if served.load(Ordering::SeqCst) > 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for t in load {
        t.await.unwrap();
    }
    assert!(
        served.load(Ordering::SeqCst) > 50,
        "too little load: {}",
        served.load(Ordering::SeqCst)
    );
    assert_eq!(
        failures.load(Ordering::SeqCst),
        0,
        "requests failed during reloads"
    );
    // The last good config (roles_any on /reports) is the one serving.
    let reply = h.client.api("GET", "/reports/q3", &token(&claims())).await;
    assert_eq!(
        (reply.status.as_u16(), reply.reason()),
        (403, "role_missing".to_string())
    );
    let metrics = Client::new(h.running.admin_addr)
        .get("/metrics")
        .await
        .text();
    // The file watcher may also have picked up some of the writes: at least what we asked.
    let counted = samples(&metrics);
    assert!(
        counted["doorman_config_reloads_total{result=\"ok\"}"] >= 6.0,
        "{metrics}"
    );
    assert!(
        counted["doorman_config_reloads_total{result=\"error\"}"] >= 1.0,
        "{metrics}"
    );
    let hash_after = h.running.shared.snapshot.load().config.hash.clone();
    assert_ne!(hash_before, hash_after);
    assert!(metrics.contains(&format!("doorman_config_info{{hash=\"{hash_after}\"}} 1")));
    assert!(
        !metrics.contains(&format!("hash=\"{hash_before}\"")),
        "the old hash is forgotten"
    );
}

#[tokio::test]
async fn a_change_to_the_config_file_is_picked_up_by_the_watcher() {
    let h = start_from_file(EXTRA_ROUTE_A).await;
    assert_eq!(
        h.client
            .api("GET", "/reports/q3", &token(&claims()))
            .await
            .status,
        200
    );
    std::fs::write(&h.path, format!("{}{EXTRA_ROUTE_B}", h.base)).unwrap();
    let mut picked_up = false;
    for _ in 0..500 {
        if h.client
            .api("GET", "/reports/q3", &token(&claims()))
            .await
            .status
            == 403
        {
            picked_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(picked_up, "the edited config never took effect");
}

#[tokio::test]
async fn report_mode_forwards_while_counting_what_it_would_have_done() {
    let h = start_from_file("\n[[routes]]\nname = \"new-rule\"\npath = \"/beta/**\"\nrespond = \"api\"\nmode = \"report\"\nroles_any = [\"beta_tester\"]\n").await;
    let reply = h
        .client
        .api("GET", "/beta/feature", &token(&claims()))
        .await;
    assert_eq!(reply.status, 200, "report mode must forward");
    assert_eq!(
        h.echo.last().unwrap().header("x-user-id").as_deref(),
        Some("user_1")
    );
    let anon = h.client.get("/beta/feature").await;
    assert_eq!(anon.status, 200);
    let metrics = Client::new(h.running.admin_addr)
        .get("/metrics")
        .await
        .text();
    assert!(
        metrics.contains(
            "doorman_shadow_decisions_total{route=\"new-rule\",decision=\"forbidden\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains(
        "doorman_shadow_decisions_total{route=\"new-rule\",decision=\"unauthorized\"} 1"
    ));
    assert!(metrics.contains(
        "doorman_requests_total{route=\"new-rule\",decision=\"forward\",mode=\"inline\"} 2"
    ));
    // Path confusion is still refused in report mode.
    assert_eq!(h.client.get("/beta/%2e%2e/admin").await.status, 400);
}

/// The contract's metric names, as exposed (counters with `_total`).
const CONTRACT_METRICS: &[&str] = &[
    "doorman_requests_total",
    "doorman_request_duration_seconds_bucket",
    "doorman_auth_duration_seconds_bucket",
    "doorman_token_verifications_total",
    "doorman_token_cache_hits_total",
    "doorman_token_cache_misses_total",
    "doorman_jwks_fetches_total",
    "doorman_jwks_keys",
    "doorman_jwks_age_seconds",
    "doorman_upstream_duration_seconds_bucket",
    "doorman_config_reloads_total",
    "doorman_build_info",
];

/// Sample values by series (name plus labels) of a Prometheus text exposition.
fn samples(text: &str) -> std::collections::HashMap<String, f64> {
    text.lines()
        .filter(|l| l.starts_with("doorman_"))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn every_contract_metric_is_present_and_moves_with_traffic() {
    let h = start_from_file("").await;
    let admin = Client::new(h.running.admin_addr);
    // Touch every family once so each has a series, then scrape.
    h.client.api("GET", "/dashboard", &token(&claims())).await;
    h.running.reload().await.unwrap().unwrap();
    let before = samples(&admin.get("/metrics").await.text());
    for _ in 0..20 {
        h.client.api("GET", "/dashboard", &token(&claims())).await;
        h.client.get("/api/projects").await;
    }
    let text = admin.get("/metrics").await.text();
    let after = samples(&text);
    for name in CONTRACT_METRICS {
        assert!(
            after.keys().any(|s| s.starts_with(name)),
            "{name} missing from /metrics:\n{text}"
        );
    }
    let moved = |series: &str| {
        after.get(series).copied().unwrap_or(0.0) > before.get(series).copied().unwrap_or(0.0)
    };
    for series in [
        "doorman_requests_total{route=\"dashboard\",decision=\"forward\",mode=\"inline\"}",
        "doorman_requests_total{route=\"projects-read\",decision=\"unauthorized\",mode=\"inline\"}",
        "doorman_request_duration_seconds_count{route=\"dashboard\",decision=\"forward\",mode=\"inline\"}",
        "doorman_auth_duration_seconds_count",
        "doorman_token_verifications_total{result=\"valid\"}",
        "doorman_upstream_duration_seconds_count{upstream=\"app\",status_class=\"2xx\"}",
    ] {
        assert!(
            moved(series),
            "{series} did not move: before {:?}, after {:?}",
            before.get(series),
            after.get(series)
        );
    }
    assert_eq!(after.get("doorman_jwks_keys"), Some(&1.0));
    assert!(after
        .keys()
        .any(|s| s.starts_with("doorman_build_info{version=")));
}

// ---- the binary as an operator runs it ------------------------------------------------

#[tokio::test]
async fn json_log_lines_carry_the_fields_and_never_the_token() {
    let echo = Echo::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let mut p = spawn_binary(
        &format!("http://{}", echo.addr),
        "",
        &[("DOORMAN_LOG_FORMAT", "json"), ("RUST_LOG", "info")],
    );
    wait_ready(&p.admin).await;
    let client = Client::new(p.addr.parse().unwrap());
    // The binary uses the real clock: mint a token valid now.
    let jwt = token(&live_claims(60));
    let req = client
        .request("GET", "/dashboard?secret_query=1")
        .bearer(&jwt)
        .cookie(&format!("__session={jwt}"))
        .with_header("x-request-id", "req-42");
    let reply = client.send(req).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-request-id"), Some("req-42"));
    assert_eq!(
        echo.last().unwrap().header("x-request-id").as_deref(),
        Some("req-42")
    );
    client.get("/api/projects").await;
    sigterm(&p.child);
    let stderr = p.child.stderr.take().unwrap();
    let lines: Vec<String> = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .collect();
    assert!(p.child.wait().unwrap().success());
    let all = lines.join("\n");
    assert!(!all.contains(&jwt), "a token reached the logs");
    assert!(
        !all.contains("secret_query"),
        "a query string reached the logs"
    );
    let requests: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == "request")
        .collect();
    assert_eq!(requests.len(), 2, "{all}");
    let first = &requests[0];
    for field in [
        "request_id",
        "method",
        "path",
        "route",
        "decision",
        "reason",
        "status",
        "total_ms",
        "auth_us",
        "upstream_ms",
        "user",
        "level",
        "timestamp",
    ] {
        assert!(first.get(field).is_some(), "{field} missing in {first}");
    }
    assert_eq!(first["request_id"], "req-42");
    assert_eq!(first["route"], "dashboard");
    assert_eq!(first["decision"], "forward");
    assert_eq!(first["user"], "user_1");
    assert_eq!(first["path"], "/dashboard");
    assert_eq!(first["client"], "127.0.0.1");
    assert_eq!(first["upstream"], "app");
    assert!(requests[1].get("upstream").is_none_or(Value::is_null));
    // Latencies are rounded: at most 3 decimals of a millisecond, 1 of a microsecond.
    for (field, places) in [("total_ms", 3), ("upstream_ms", 3), ("auth_us", 1)] {
        let text = first[field].to_string();
        let decimals = text.split_once('.').map_or(0, |(_, d)| d.len());
        assert!(decimals <= places, "{field} = {text}");
    }
    assert_eq!(requests[1]["decision"], "unauthorized");
    assert_eq!(requests[1]["reason"], "token_missing");
    assert_eq!(
        requests[1]["request_id"].as_str().unwrap().len(),
        32,
        "generated ids are 128-bit hex"
    );
}

/// An upstream that holds each request for `delay` and signals when one arrived.
async fn slow_upstream(delay: Duration) -> (String, tokio::sync::mpsc::Receiver<()>) {
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(()).await;
                        tokio::time::sleep(delay).await;
                        Ok::<_, std::convert::Infallible>(http::Response::new(
                            http_body_util::Full::new(bytes::Bytes::from_static(b"slow ok")),
                        ))
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            });
        }
    });
    (format!("http://{addr}"), rx)
}

#[tokio::test]
async fn sigterm_lets_requests_in_flight_finish_then_exits_0() {
    let (upstream, mut arrived) = slow_upstream(Duration::from_millis(800)).await;
    let mut p = spawn_binary(&upstream, "", &[]);
    wait_ready(&p.admin).await;
    let client = Client::new(p.addr.parse().unwrap());
    let in_flight = tokio::spawn(async move { client.get("/public/slow").await });
    tokio::time::timeout(Duration::from_secs(5), arrived.recv())
        .await
        .expect("request never reached the upstream");
    sigterm(&p.child);
    let reply = tokio::time::timeout(Duration::from_secs(5), in_flight)
        .await
        .expect("in-flight request hung")
        .unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "slow ok");
    let addr = p.addr.clone();
    let status = tokio::task::spawn_blocking(move || p.child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "still accepting after exit"
    );
}
