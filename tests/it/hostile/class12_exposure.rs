//! Class 12: exposure. Metrics, health and readiness only on the admin listener (in no
//! spelling on the public one); no token, cookie, secret, query, path or user id in a
//! metric label or a log line, even at debug level; error answers echo nothing of what the
//! attacker sent and nothing of doorman's internals.

use std::io::Read;
use std::time::Duration;

use serde_json::json;

use crate::support::process::{sigterm, spawn_binary, wait_ready};
use crate::support::{
    assert_nothing_forwarded, b64, claims, key, live_claims, outcome, raw_token, refused, token,
    wall_now, with, Client, Harness, RequestExt, BASE_CONFIG, KID,
};

const ADMIN_PATHS: &[&str] = &[
    "/metrics",
    "/healthz",
    "/readyz",
    "/METRICS",
    "/Metrics/",
    "/metrics/",
    "/%6detrics",
    "/metrics?format=prometheus",
    "/healthz/",
    "/debug",
    "/debug/pprof",
    "/debug/vars",
    "/admin/metrics",
    "/.well-known/metrics",
    "/status",
];

fn is_doorman_metrics(text: &str) -> bool {
    text.contains("doorman_requests_total")
        || text.contains("# TYPE doorman_")
        || text.contains("\"ready\":")
}

#[tokio::test]
async fn admin_paths_are_never_served_on_the_public_listener_in_any_spelling() {
    let h = Harness::start().await;
    let admin_host = h.doorman.admin_addr.to_string();
    for path in ADMIN_PATHS {
        // Anonymous: the default rule (signed in) answers, never the admin endpoint.
        let reply = h.client.get(path).await;
        assert_eq!(reply.status, 401, "{path}");
        assert!(
            !is_doorman_metrics(&reply.text()),
            "{path} leaked admin output"
        );
        let reply = h.client.send_h2(h.client.request("GET", path)).await;
        assert!(
            !is_doorman_metrics(&reply.text()),
            "{path} over HTTP/2 leaked admin output"
        );
        // Naming the admin listener in Host changes nothing.
        let req = h
            .client
            .request("GET", path)
            .with_header("host", &admin_host);
        let reply = h.client.send(req).await;
        assert!(
            !is_doorman_metrics(&reply.text()),
            "{path} with the admin Host leaked"
        );
    }
    assert_nothing_forwarded(&h, 0, "anonymous admin paths");
    // Signed in: the request is the application's (forwarded upstream), still not doorman's.
    for path in ["/metrics", "/healthz", "/readyz"] {
        let reply = h.client.api("GET", path, &token(&claims())).await;
        assert_eq!(reply.status, 200);
        assert!(!is_doorman_metrics(&reply.text()), "{path}");
        assert_eq!(h.echo.last().unwrap().target, *path);
    }
}

#[tokio::test]
async fn the_admin_listener_serves_only_its_endpoints_and_never_proxies() {
    let h = Harness::start().await;
    let admin = Client::new(h.doorman.admin_addr);
    for path in [
        "/public/x",
        "/dashboard",
        "/metrics/../public/x",
        "/%2e%2e/public",
        "/api/projects/1",
    ] {
        let reply = admin
            .send(admin.request("GET", path).bearer(&token(&claims())))
            .await;
        assert_eq!(reply.status, 404, "{path}");
    }
    for method in ["POST", "PUT", "DELETE"] {
        assert_eq!(
            admin.send(admin.request(method, "/metrics")).await.status,
            405,
            "{method}"
        );
    }
    assert_nothing_forwarded(&h, 0, "the admin listener");
    assert_eq!(admin.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn metrics_never_carry_tokens_cookies_paths_kids_or_user_ids() {
    let config =
        format!("{BASE_CONFIG}\n[webhooks]\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n");
    let h = Harness::with_config(&config).await;
    let secret_claims = with(claims(), "/sub", json!("user_metricsecret1"));
    let valid = token(&secret_claims);
    let odd_kid = doorman::dev::mint::mint(key(), "ins_kidsecret2", &claims()).unwrap();
    let none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none"}"#),
        b64(secret_claims.to_string())
    );
    let requests = vec![
        h.client
            .request("GET", "/api/projects/1?q=querysecret3")
            .bearer(&valid),
        h.client.request("GET", "/pathsecret4/x").bearer(&valid),
        h.client.request("GET", "/api/projects/1").bearer(&odd_kid),
        h.client.request("GET", "/api/projects/1").bearer(&none),
        h.client
            .request("GET", "/dashboard")
            .cookie(&format!("__session={valid}; othercookie=cookiesecret5")),
        h.client
            .request("GET", "/public/%2e%2e/pathsecret6")
            .with_header("x-request-id", "reqidsecret7"),
        h.client
            .request("GET", "/admin")
            .with_header("x-user-id", "spoofsecret8"),
        h.client
            .request("POST", "/clerk/webhooks")
            .with_header("svix-signature", "v1,sigsecret9"),
        h.client
            .request("GET", "/dashboard?redirect_url=//redirectsecret10")
            .navigate(),
        h.client.request("PURGESECRET", "/public/x"),
    ];
    for req in requests {
        h.client.send(req).await;
    }
    let text = h.metrics().await;
    for needle in [
        "metricsecret1",
        "kidsecret2",
        "querysecret3",
        "pathsecret4",
        "cookiesecret5",
        "pathsecret6",
        "reqidsecret7",
        "spoofsecret8",
        "sigsecret9",
        "redirectsecret10",
        "PURGESECRET",
        &valid[..40],
        "whsec_",
    ] {
        assert!(!text.contains(needle), "{needle} appeared in /metrics");
    }
    // Every route label is a configured route name or a fixed value.
    let allowed = [
        "home",
        "public",
        "sign-in",
        "onboarding",
        "onboarding-api",
        "dashboard",
        "projects-read",
        "projects-create",
        "projects-edit",
        "vendor",
        "org-admin",
        "search",
        "admin",
        "api",
        "closed",
        "invalid",
        "default",
        "defaults",
        "clerk-webhooks",
    ];
    for label in text.split("route=\"").skip(1) {
        let value = label.split('"').next().unwrap();
        assert!(allowed.contains(&value), "unexpected route label {value:?}");
    }
}

#[tokio::test]
async fn error_answers_echo_nothing_the_attacker_sent() {
    let h = Harness::start().await;
    let marker = "zq<script>alert(1)</script>";
    let payload = with(claims(), "/sub", json!(marker)).to_string();
    let forged = raw_token(
        &format!(r#"{{"alg":"RS256","kid":"{KID}","x":"{}"}}"#, "zqhdr"),
        &payload,
    );
    let tampered = format!("{}.{}", forged.rsplit_once('.').unwrap().0, b64([7u8; 256]));
    for jwt in [tampered.as_str(), "zq.not.base64!", "zqzqzq"] {
        let reply = h.client.api("GET", "/api/projects/1", jwt).await;
        assert_eq!(reply.status, 401);
        let everything = format!("{:?}{}", reply.headers, reply.text());
        assert!(
            !everything.contains("zq"),
            "the answer echoed the token: {everything}"
        );
    }
    // Page answers (HTML) too: a 403 page for a user whose claims carry markup.
    let vendor_markup = with(claims(), "/metadata/userType", json!(marker));
    let reply = h
        .client
        .send(
            h.client
                .request("GET", "/vendor")
                .bearer(&token(&vendor_markup))
                .navigate(),
        )
        .await;
    assert_eq!(reply.status, 403);
    assert!(!reply.text().contains("zq"), "{}", reply.text());
    // Path errors do not reflect the path.
    let reply = h.client.get("/public/%2e%2e/zq%3Cscript%3E").await;
    assert_eq!(outcome(&reply), refused(400, "path_dot_segment"));
    assert!(!reply.text().contains("zq") && !reply.text().contains("script"));
    assert_nothing_forwarded(&h, 0, "error answers");
}

#[tokio::test]
async fn upstream_failures_do_not_reveal_internal_addresses() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = BASE_CONFIG.replace(
        "${UPSTREAM_URL}",
        &format!("http://127.0.0.1:{port}/internal-prefix"),
    );
    let h = Harness::with_config(&config).await;
    let reply = h
        .client
        .api("GET", "/api/projects/1", &token(&claims()))
        .await;
    assert_eq!(outcome(&reply), refused(502, "upstream_unreachable"));
    let everything = format!("{:?}{}", reply.headers, reply.text());
    for needle in [
        port.to_string().as_str(),
        "127.0.0.1",
        "internal-prefix",
        "Connection refused",
        "os error",
    ] {
        assert!(
            !everything.contains(needle),
            "{needle} leaked: {everything}"
        );
    }
}

#[tokio::test]
async fn logs_never_carry_tokens_cookies_secrets_or_queries_even_at_debug() {
    let echo = doorman::dev::echo::Echo::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let mut p = spawn_binary(
        &format!("http://{}", echo.addr),
        &format!("\n[webhooks]\nsecret = \"{secret}\"\n"),
        &[("DOORMAN_LOG_FORMAT", "json"), ("RUST_LOG", "debug")],
    );
    // Drain stderr concurrently: debug output can exceed a pipe buffer.
    let mut stderr = p.child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = stderr.read_to_string(&mut all);
        all
    });
    wait_ready(&p.admin).await;
    let client = Client::new(p.addr.parse().unwrap());
    let now = wall_now();
    let live = live_claims(60);
    let valid = doorman::dev::mint::mint(key(), KID, &live).unwrap();
    let cookie_token = doorman::dev::mint::mint(
        key(),
        KID,
        &with(live.clone(), "/sid", json!("sess_cookie")),
    )
    .unwrap();
    let forged = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(live.to_string()));
    let unknown = doorman::dev::mint::mint(key(), "ins_logkid", &live).unwrap();
    let signature = doorman::webhook::svix::Secret::parse(secret).unwrap().sign(
        "msg_log",
        &now.to_string(),
        b"{\"type\":\"session.revoked\",\"data\":{\"id\":\"sess_x\"}}",
    );
    let requests = vec![
        client
            .request("GET", "/dashboard?token=querysecret")
            .bearer(&valid),
        client
            .request("GET", "/dashboard")
            .cookie(&format!("__session={cookie_token}; other=cookiesecret")),
        client.request("GET", "/api/projects/1").bearer(&forged),
        client.request("GET", "/api/projects/1").bearer(&unknown),
        client
            .request("GET", "/public/x")
            .with_header("proxy-authorization", "Basic cHJveHlzZWNyZXQ="),
        client
            .request("GET", "/public/x")
            .with_header("authorization", "Basic dXNlcjpiYXNpY3NlY3JldA=="),
        client
            .request("POST", "/clerk/webhooks")
            .with_header("svix-id", "msg_log")
            .with_header("svix-timestamp", &now.to_string())
            .with_header("svix-signature", &format!("v1,{signature}")),
    ];
    for req in requests {
        client.send(req).await;
    }
    sigterm(&p.child);
    let status = tokio::task::spawn_blocking(move || p.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    let logs = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::task::spawn_blocking(move || reader.join().unwrap()),
    )
    .await
    .expect("stderr closed")
    .unwrap();
    assert!(
        logs.contains("\"message\":\"request\""),
        "no request lines logged: {logs}"
    );
    let payload_b64 = valid.split('.').nth(1).unwrap();
    let signature_b64 = valid.rsplit('.').next().unwrap();
    for (what, needle) in [
        ("a header token", valid.as_str()),
        ("a token payload", payload_b64),
        ("a token signature", signature_b64),
        ("a cookie token", cookie_token.as_str()),
        ("a forged token", forged.as_str()),
        ("an unknown-kid token", unknown.split('.').nth(2).unwrap()),
        ("another cookie", "cookiesecret"),
        ("a query string", "querysecret"),
        ("proxy credentials", "cHJveHlzZWNyZXQ="),
        ("basic credentials", "dXNlcjpiYXNpY3NlY3JldA=="),
        ("the webhook secret", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ("a webhook signature", signature.as_str()),
    ] {
        assert!(!logs.contains(needle), "{what} reached the logs");
    }
}
