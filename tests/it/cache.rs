//! The verified-token cache seen from outside: a repeated token is answered from the cache
//! (and still gets its identity headers), and a cached token stops working exactly when a
//! fresh verification would refuse it: past `exp` by the test clock, or once a JWKS rotation
//! removed its key. Refused tokens are never cached.

use crate::support::{claims, other_key, outcome, token, with, Harness, BASE_CONFIG, NOW};
use doorman::dev::mint::mint;
use serde_json::json;

/// Status and (for refusals) reason of a protected API request with `jwt`.
async fn call(h: &Harness, jwt: &str) -> (u16, String) {
    outcome(&h.client.api("GET", "/api/projects/1", jwt).await)
}

/// The value of an unlabelled counter in the metrics text.
async fn counter(h: &Harness, name: &str) -> u64 {
    let text = h.metrics().await;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
}

#[tokio::test]
async fn the_second_request_with_a_token_is_a_cache_hit_with_the_same_identity() {
    let h = Harness::start().await;
    let jwt = token(&claims());
    assert_eq!(call(&h, &jwt).await.0, 200);
    let first = h.echo.last().unwrap();
    assert_eq!(call(&h, &jwt).await.0, 200);
    let second = h.echo.last().unwrap();
    assert_eq!(counter(&h, "doorman_token_cache_misses_total").await, 1);
    assert_eq!(counter(&h, "doorman_token_cache_hits_total").await, 1);
    assert_eq!(second.header("x-user-id").as_deref(), Some("user_1"));
    for name in [
        "x-user-id",
        "x-session-id",
        "x-user-roles",
        "x-user-permissions",
    ] {
        assert_eq!(first.header(name), second.header(name), "{name}");
    }
}

#[tokio::test]
async fn a_cached_token_stops_working_when_the_clock_passes_exp() {
    let h = Harness::start().await;
    let exp = NOW + 55; // from claims(); the config keeps the default 5 s skew
    let jwt = token(&claims());
    assert_eq!(call(&h, &jwt).await.0, 200);
    h.clock.set(exp + 4);
    assert_eq!(call(&h, &jwt).await.0, 200, "last second within the skew");
    assert_eq!(counter(&h, "doorman_token_cache_hits_total").await, 1);
    h.clock.set(exp + 5);
    assert_eq!(
        call(&h, &jwt).await,
        (401, "token_expired".into()),
        "exp <= now - skew is expired, cached or not"
    );
    assert_eq!(counter(&h, "doorman_token_cache_hits_total").await, 1);
}

#[tokio::test]
async fn a_cached_token_stops_working_after_a_rotation_removes_its_key() {
    let h = Harness::start().await;
    let old = token(&claims());
    assert_eq!(call(&h, &old).await.0, 200);
    assert_eq!(call(&h, &old).await.0, 200);
    assert_eq!(counter(&h, "doorman_token_cache_hits_total").await, 1);
    // Rotate: the old key is removed and a new one added; a token of the new kid makes
    // doorman refresh.
    h.jwks.set_keys(&[(other_key(), "ins_rotated")]);
    let new = mint(other_key(), "ins_rotated", &claims()).unwrap();
    assert_eq!(call(&h, &new).await.0, 200);
    assert_eq!(
        call(&h, &old).await,
        (401, "token_unknown_kid".into()),
        "a cached token of a removed key is refused"
    );
    assert_eq!(counter(&h, "doorman_token_cache_hits_total").await, 1);
}

#[tokio::test]
async fn refused_tokens_are_never_cached() {
    let h = Harness::start().await;
    let forged = mint(other_key(), crate::support::KID, &claims()).unwrap();
    let expired = token(&with(claims(), "/exp", json!(NOW - 60)));
    for _ in 0..3 {
        assert_eq!(call(&h, &forged).await, (401, "token_bad_signature".into()));
        assert_eq!(call(&h, &expired).await, (401, "token_expired".into()));
    }
    assert_eq!(counter(&h, "doorman_token_cache_hits_total").await, 0);
    assert_eq!(counter(&h, "doorman_token_cache_misses_total").await, 6);
}

#[tokio::test]
async fn with_the_cache_disabled_every_request_verifies() {
    let config = format!("{BASE_CONFIG}\n[cache]\nenabled = false\n");
    let h = Harness::with_config(&config).await;
    let jwt = token(&claims());
    for _ in 0..3 {
        assert_eq!(call(&h, &jwt).await.0, 200);
    }
    assert_eq!(counter(&h, "doorman_token_cache_hits_total").await, 0);
    assert_eq!(counter(&h, "doorman_token_cache_misses_total").await, 3);
}
