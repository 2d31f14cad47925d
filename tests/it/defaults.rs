//! `[defaults]` reaches every route that does not set the key itself, over real sockets:
//! `onboarding`, `respond`, `upstream` and `mode`, each asserted on the client's answer and
//! on what the upstreams received; `access` is not inherited (see the last case).

use std::net::SocketAddr;

use doorman::dev::echo::Echo;
use serde_json::json;

use crate::support::{
    assert_nothing_forwarded, claims, outcome, refused, token, with, Harness, JwksServer,
    RequestExt, BASE_CONFIG, KID,
};

/// BASE_CONFIG with its `[defaults]` replaced by `defaults`.
fn config(defaults: &str) -> String {
    let base = "[defaults]\naccess = \"signed_in\"\nonboarding = \"required\"\n";
    assert!(BASE_CONFIG.contains(base));
    BASE_CONFIG.replace(base, &format!("[defaults]\n{defaults}\n"))
}

fn not_onboarded() -> String {
    token(&with(
        claims(),
        "/metadata/onboarding/status",
        json!("pending"),
    ))
}

#[tokio::test]
async fn defaults_onboarding_skip_reaches_routes_that_do_not_set_onboarding() {
    let h = Harness::with_config(&config("onboarding = \"skip\"")).await;
    // /dashboard/** sets nothing: it used to require onboarding and redirect.
    let reply = h
        .client
        .api("GET", "/dashboard/home", &not_onboarded())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = h.echo.last().expect("forwarded");
    assert_eq!(seen.target, "/dashboard/home");
    assert_eq!(seen.header("x-user-id").as_deref(), Some("user_1"));
    // A route that sets onboarding keeps its own: /onboarding/** is incomplete_only.
    let req = h
        .client
        .request("GET", "/onboarding/step")
        .bearer(&token(&claims()))
        .navigate();
    let reply = h.client.send(req).await;
    assert_eq!(reply.status, 302, "an onboarded user is sent on");
}

#[tokio::test]
async fn defaults_respond_api_reaches_routes_that_do_not_set_respond() {
    let h = Harness::with_config(&config("respond = \"api\"")).await;
    let reply = h
        .client
        .send(h.client.request("GET", "/dashboard/home").navigate())
        .await;
    assert_eq!(
        outcome(&reply),
        refused(401, "token_missing"),
        "not a redirect"
    );
    assert_nothing_forwarded(&h, 0, "anonymous navigation");
}

#[tokio::test]
async fn defaults_upstream_reaches_routes_that_do_not_set_upstream() {
    let jwks = JwksServer::start(&[(crate::support::key(), KID)]).await;
    let first = Echo::start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let second = Echo::start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let second_url = format!("http://{}", second.addr);
    let text = config("upstream = \"second\"").replace(
        "[defaults]",
        "[[upstreams]]\nname = \"second\"\nurl = \"${SECOND_URL}\"\n\n[defaults]",
    );
    let h = Harness::with_parts(&text, jwks, first, |name| {
        (name == "SECOND_URL").then(|| second_url.clone())
    })
    .await;
    let reply = h.client.get("/public/x").await;
    assert_eq!(reply.status, 200);
    assert_eq!(second.last().expect("second upstream").target, "/public/x");
    assert_nothing_forwarded(&h, 0, "the first upstream");
}

#[tokio::test]
async fn defaults_mode_report_reaches_routes_that_do_not_set_mode() {
    let h = Harness::with_config(&config("mode = \"report\"")).await;
    // /admin/** needs the admin role: in report mode the denial is logged, not enforced.
    let reply = h.client.api("GET", "/admin/users", &token(&claims())).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(h.echo.last().expect("forwarded").target, "/admin/users");
    let metrics = h.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("doorman_shadow_decisions_total{")
                && l.contains("route=\"admin\"")
                && l.ends_with(" 1")),
        "{metrics}"
    );
}

#[tokio::test]
async fn defaults_access_deny_closes_unmatched_paths_but_not_routes_without_access() {
    // `access` is the one key routes do not inherit: /dashboard/** (no access) stays
    // signed_in, while a path no route matches is denied.
    let h = Harness::with_config(&config("access = \"deny\"")).await;
    let reply = h
        .client
        .api("GET", "/dashboard/home", &token(&claims()))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(h.echo.last().expect("forwarded").target, "/dashboard/home");
    let reply = h.client.api("GET", "/unlisted", &token(&claims())).await;
    assert_eq!(outcome(&reply), refused(403, "route_denied"));
    assert_eq!(h.echo.count(), 1, "the unmatched path was forwarded");
}
