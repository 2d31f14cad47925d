//! Sign-in and onboarding pages on another origin (Clerk's Account Portal,
//! `https://accounts.<domain>/sign-in`): the return URL is absolute, built on this site's
//! origin, so the user comes back here after signing in (as Clerk's `redirectToSignIn`
//! does). Regression: doorman sent a bare path, and users landed on the accounts host.

use serde_json::json;

use crate::support::{claims, token, with, Harness, RequestExt, BASE_CONFIG};

const PORTAL: &str = "\n[redirects]\nsign_in_url = \"https://accounts.test.example/sign-in\"\nonboarding_url = \"https://accounts.test.example/onboarding\"\n";

fn config(app_origin: bool) -> String {
    let origin = if app_origin {
        "jwks_unknown_kid_interval = \"30s\"\napp_origin = \"https://app.test.example\"\n"
    } else {
        "jwks_unknown_kid_interval = \"30s\"\n"
    };
    format!(
        "{}{PORTAL}",
        BASE_CONFIG.replace("jwks_unknown_kid_interval = \"30s\"\n", origin)
    )
}

#[tokio::test]
async fn sign_in_and_onboarding_on_another_origin_get_an_absolute_return_url() {
    let h = Harness::with_config(&config(true)).await;
    let reply = h
        .client
        .send(h.client.request("GET", "/dashboard/x?tab=1").navigate())
        .await;
    assert_eq!(reply.status, 302, "{}", reply.text());
    assert_eq!(
        reply.header("location"),
        Some("https://accounts.test.example/sign-in?redirect_url=https%3A//app.test.example/dashboard/x%3Ftab%3D1")
    );
    let pending = token(&with(
        claims(),
        "/metadata/onboarding/status",
        json!("pending"),
    ));
    let reply = h
        .client
        .send(
            h.client
                .request("GET", "/dashboard")
                .navigate()
                .bearer(&pending),
        )
        .await;
    assert_eq!(reply.status, 302, "{}", reply.text());
    assert_eq!(
        reply.header("location"),
        Some("https://accounts.test.example/onboarding?redirect_url=https%3A//app.test.example/dashboard")
    );
}

#[tokio::test]
async fn without_a_known_origin_the_return_url_stays_a_path() {
    // The test client is not a trusted proxy, so its Host is not taken for the site's name.
    let h = Harness::with_config(&config(false)).await;
    let reply = h
        .client
        .send(h.client.request("GET", "/dashboard").navigate())
        .await;
    assert_eq!(
        reply.header("location"),
        Some("https://accounts.test.example/sign-in?redirect_url=/dashboard")
    );
}
