//! Forward-auth: doorman as the authorizer another proxy calls. [`calls`] speaks each
//! dialect to the authorization listener directly (and compares every decision with the
//! same request inline); [`proxies`] runs the same scenarios through real nginx, Traefik and
//! Caddy processes with doorman as their authorizer in front of the echo upstream.

mod calls;
mod explain;
mod grpc;
mod proxies;

use serde_json::json;

use crate::support::clerk_api::{FakeClerk, SECRET_KEY};
use crate::support::{claims, key, token, with, Harness, JwksServer, BASE_CONFIG, KID, NOW};

/// doorman with `[forward_auth]` on a loopback port, trusting `trusted`, with Clerk's
/// handshake configured (its Frontend API is `clerk`).
pub async fn harness(clerk: &FakeClerk, trusted: &str) -> Harness {
    let publishable = format!(
        "pk_live_{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "clerk.test.example$"
        )
    );
    let config = BASE_CONFIG
        .replace(
            "shutdown_grace = \"2s\"\n",
            &format!("shutdown_grace = \"2s\"\ntrusted_proxies = [\"{trusted}\"]\n"),
        )
        .replace(
            "jwks_unknown_kid_interval = \"30s\"\n",
            &format!(
                "jwks_unknown_kid_interval = \"30s\"\npublishable_key = \"{publishable}\"\nfrontend_api_url = \"{url}\"\napi_url = \"{url}\"\nsecret_key = \"{SECRET_KEY}\"\n",
                url = clerk.url()
            ),
        );
    let config = format!("{config}\n[forward_auth]\nlisten = \"127.0.0.1:0\"\n");
    let jwks = JwksServer::start(&[(key(), KID)]).await;
    let echo = doorman::dev::echo::Echo::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    Harness::with_parts(&config, jwks, echo, |_| None).await
}

/// An onboarded member (role `member`, no `admin`).
pub fn member() -> String {
    token(&claims())
}

/// A user who has not finished onboarding.
pub fn onboarding() -> String {
    token(&with(
        claims(),
        "/metadata/onboarding/status",
        json!("pending"),
    ))
}

/// The cookies of a browser whose token expired after Clerk's last sign-in: a document
/// request for it gets the handshake.
pub fn expired_browser() -> String {
    let expired = token(&with(
        with(claims(), "/exp", json!(NOW - 30)),
        "/iat",
        json!(NOW - 90),
    ));
    format!("__session={expired}; __client_uat={}", NOW - 100)
}
