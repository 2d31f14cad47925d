//! The admin listener: health, readiness and metrics, and none of it on the public one.

use crate::support::{claims, token, Client, Harness};

#[tokio::test]
async fn health_and_readiness_answer_on_the_admin_listener() {
    let h = Harness::start().await;
    let admin = Client::new(h.doorman.admin_addr);
    assert_eq!(admin.get("/healthz").await.status, 200);
    let ready = admin.get("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["ready"], true);
}

#[tokio::test]
async fn admin_paths_are_not_served_on_the_public_listener() {
    let h = Harness::start().await;
    for path in ["/metrics", "/healthz", "/readyz"] {
        let reply = h.client.get(path).await;
        // Unmatched paths need a session: an anonymous API client gets 401, never metrics.
        assert_eq!(reply.status, 401, "{path}");
        assert!(!reply.text().contains("doorman_"), "{path} leaked metrics");
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_decision_without_secrets() {
    let h = Harness::start().await;
    let t = token(&claims());
    for _ in 0..3 {
        h.client.api("GET", "/dashboard", &t).await;
    }
    h.client.get("/api/projects").await;
    let text = h.metrics().await;
    for want in [
        "doorman_requests_total{route=\"dashboard\",decision=\"forward\",mode=\"inline\"} 3",
        "doorman_requests_total{route=\"projects-read\",decision=\"unauthorized\",mode=\"inline\"} 1",
        "doorman_request_duration_seconds_bucket{",
        "doorman_auth_duration_seconds_count",
        "doorman_token_verifications_total{result=\"valid\"} 3",
        "doorman_jwks_fetches_total{result=\"ok\"}",
        "doorman_jwks_keys 1",
        "doorman_jwks_age_seconds",
        "doorman_upstream_duration_seconds_bucket{",
        "doorman_build_info{version=",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(!text.contains(&t), "a token appeared in /metrics");
    assert!(!text.contains("user_1"), "a user id appeared in /metrics");
}

#[tokio::test]
async fn readiness_turns_503_when_shutdown_begins_and_in_flight_requests_finish() {
    let h = Harness::start().await;
    let admin = Client::new(h.doorman.admin_addr);
    assert_eq!(admin.get("/readyz").await.status, 200);
    let shared = h.doorman.shared.clone();
    h.doorman.shutdown().await;
    // The listener is closed after shutdown: new connections are refused.
    assert!(tokio::net::TcpStream::connect(h.client.addr).await.is_err());
    assert!(
        shared.snapshot.load().keys.ready(),
        "keys stay loaded; only readiness drains"
    );
}

#[tokio::test]
async fn metrics_carry_process_figures_and_per_upstream_error_series() {
    let h = Harness::start().await;
    let metrics = h.metrics().await;
    #[cfg(target_os = "linux")]
    for family in [
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
        "process_virtual_memory_bytes ",
        "process_open_fds ",
        "process_max_fds ",
        "process_threads ",
        "process_start_time_seconds ",
    ] {
        assert!(
            metrics.lines().any(|l| l.starts_with(family)),
            "{family}missing:\n{metrics}"
        );
    }
    // Every upstream has its error series from the start, labelled with its name.
    for kind in ["connect", "timeout", "protocol", "unexpected_upgrade"] {
        let series = format!("doorman_upstream_errors_total{{upstream=\"app\",kind=\"{kind}\"}} 0");
        assert!(metrics.contains(&series), "{series} missing:\n{metrics}");
    }
}
