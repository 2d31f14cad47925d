//! The key lifecycle in time, with tokio's paused clock: scheduled refresh (honouring a
//! shorter `max-age`, with a floor), retry with backoff, staleness up to `jwks_max_stale`
//! then failing closed, removal of rotated keys, recovery.
//!
//! Time is advanced with `tokio::time::advance` while paused and the outcome is checked over
//! the wire after `resume` (time stays where it was advanced to).

use std::time::Duration;

use tokio::time::{advance, pause, resume};

use crate::support::jwks_server::Mode;
use crate::support::{
    claims, key, other_key, outcome, Client, Harness, RequestExt, BASE_CONFIG, KID,
};
use doorman::dev::mint::mint;

fn config(extra: &str) -> String {
    BASE_CONFIG.replace(
        "jwks_unknown_kid_interval = \"30s\"\n",
        &format!("jwks_unknown_kid_interval = \"30s\"\n{extra}"),
    )
}

/// Waits (real time, bounded) until the JWKS server has seen `n` hits.
async fn until_hits(h: &Harness, n: usize) -> bool {
    for _ in 0..300 {
        if h.jwks.hits() >= n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// Lets background tasks that `advance` woke run, in paused time, then resumes real time.
async fn jump(d: Duration) {
    pause();
    advance(d).await;
    resume();
}

/// On a fresh client: jumping the clock expires idle keep-alive connections.
async fn status(h: &Harness, kid: &str, key: &doorman::dev::mint::SigningKey) -> (u16, String) {
    let jwt = mint(key, kid, &claims()).unwrap();
    outcome(&h.fresh_client().api("GET", "/api/projects/1", &jwt).await)
}

#[tokio::test]
async fn refresh_runs_every_jwks_refresh_and_sooner_when_max_age_is_shorter() {
    let h = Harness::with_config(&config("jwks_refresh = \"5m\"\n")).await;
    assert_eq!(h.jwks.hits(), 1);
    jump(Duration::from_secs(299)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(h.jwks.hits(), 1, "no refresh before jwks_refresh");
    jump(Duration::from_secs(2)).await;
    assert!(until_hits(&h, 2).await, "refresh after jwks_refresh");

    let h = Harness::with_config(&config("jwks_refresh = \"5m\"\n")).await;
    h.jwks.set_cache_control("public, max-age=60");
    // The first fetch saw no max-age; the next scheduled one (5m) sees it...
    jump(Duration::from_secs(301)).await;
    assert!(until_hits(&h, 2).await);
    // ...and the one after comes 60 s later, not 5 minutes.
    jump(Duration::from_secs(61)).await;
    assert!(until_hits(&h, 3).await, "max-age=60 honoured");
}

#[tokio::test]
async fn a_tiny_max_age_is_floored() {
    let h = Harness::with_config(&config("jwks_refresh = \"5m\"\n")).await;
    h.jwks.set_cache_control("max-age=1");
    jump(Duration::from_secs(301)).await;
    assert!(until_hits(&h, 2).await);
    jump(Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        h.jwks.hits(),
        2,
        "max-age=1 must not cause a refresh every second"
    );
    jump(Duration::from_secs(30)).await;
    assert!(until_hits(&h, 3).await, "refresh after the 30 s floor");
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_with_backoff_and_known_keys_serve_until_max_stale() {
    let h =
        Harness::with_config(&config("jwks_refresh = \"5m\"\njwks_max_stale = \"10m\"\n")).await;
    h.jwks.set_mode(Mode::Status(503));
    jump(Duration::from_secs(301)).await;
    assert!(until_hits(&h, 2).await, "scheduled refresh tried");
    // Retries come after about 1 s, then 2 s, not after another 5 minutes.
    jump(Duration::from_millis(1300)).await;
    assert!(until_hits(&h, 3).await, "first retry ~1 s later");
    jump(Duration::from_millis(2500)).await;
    assert!(until_hits(&h, 4).await, "second retry ~2 s later");
    // Still within jwks_max_stale: the last good keys verify.
    assert_eq!(status(&h, KID, key()).await.0, 200);
    let admin = || Client::new(h.doorman.admin_addr);
    assert_eq!(admin().get("/readyz").await.status, 200);

    // Past jwks_max_stale: fail closed, and it's our fault (503), not the user's.
    jump(Duration::from_secs(300)).await;
    assert_eq!(
        status(&h, KID, key()).await,
        (503, "keys_unavailable".into())
    );
    assert_eq!(admin().get("/readyz").await.status, 503);
    let page = h
        .fresh_client()
        .request("GET", "/dashboard")
        .navigate()
        .bearer(&mint(key(), KID, &claims()).unwrap());
    assert_eq!(h.fresh_client().send(page).await.status, 503);
    assert_eq!(
        h.echo.count(),
        1,
        "only the request within max_stale was forwarded"
    );

    // The endpoint recovers: the next retry loads keys and readiness returns.
    h.jwks.set_mode(Mode::Serve);
    let before = h.jwks.hits();
    jump(Duration::from_secs(61)).await;
    assert!(until_hits(&h, before + 1).await);
    for _ in 0..300 {
        if admin().get("/readyz").await.status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(status(&h, KID, key()).await.0, 200);
}

#[tokio::test]
async fn a_key_removed_by_a_scheduled_refresh_stops_verifying() {
    let h = Harness::with_config(&config("jwks_refresh = \"5m\"\n")).await;
    assert_eq!(status(&h, KID, key()).await.0, 200);
    h.jwks.set_keys(&[(other_key(), "ins_next")]);
    jump(Duration::from_secs(301)).await;
    assert!(until_hits(&h, 2).await);
    // Wait for the refresh to be installed (the fetch completes asynchronously).
    let mut removed = false;
    for _ in 0..300 {
        if status(&h, KID, key()).await == (401, "token_unknown_kid".to_string()) {
            removed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(removed, "the removed key kept verifying");
    assert_eq!(status(&h, "ins_next", other_key()).await.0, 200);
}

#[tokio::test]
async fn a_new_kid_is_accepted_on_its_first_request() {
    let h = Harness::start().await;
    h.jwks
        .set_keys(&[(key(), KID), (other_key(), "ins_rotated")]);
    let started = std::time::Instant::now();
    assert_eq!(status(&h, "ins_rotated", other_key()).await.0, 200);
    println!(
        "rotation to acceptance: {:?} (one fetch on the first request with the new kid)",
        started.elapsed()
    );
    assert_eq!(h.jwks.hits(), 2);
}
