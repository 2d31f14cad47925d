//! The key source seen from outside: rotation without restart, one fetch for a burst of a
//! new kid, a bounded number of fetches under a random-kid flood, and known keys that keep
//! working while the endpoint fails.

use futures_like::join_all;
use serde_json::json;

use crate::support::jwks_server::Mode;
use crate::support::{claims, key, other_key, outcome, Harness, KID};
use doorman::dev::mint::mint;

mod futures_like {
    /// Runs futures concurrently on the current task set and collects their outputs.
    pub async fn join_all<F: std::future::Future + Send + 'static>(futs: Vec<F>) -> Vec<F::Output>
    where
        F::Output: Send + 'static,
    {
        let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.expect("task"));
        }
        out
    }
}

async fn status_with(h: &Harness, jwt: &str) -> (u16, String) {
    outcome(&h.client.api("GET", "/api/projects/1", jwt).await)
}

#[tokio::test]
async fn a_new_kid_is_fetched_once_for_a_burst_of_concurrent_requests() {
    let h = Harness::start().await;
    let hits_after_start = h.jwks.hits();
    h.jwks.set_keys(&[(key(), KID), (other_key(), "ins_new")]);
    let jwt = mint(other_key(), "ins_new", &claims()).unwrap();
    let client = h.client.clone();
    let futs: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            let jwt = jwt.clone();
            async move {
                client
                    .api("GET", "/api/projects/1", &jwt)
                    .await
                    .status
                    .as_u16()
            }
        })
        .collect();
    let statuses = join_all(futs).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        h.jwks.hits() - hits_after_start,
        1,
        "exactly one fetch for the new kid"
    );
}

#[tokio::test]
async fn a_flood_of_random_kids_causes_at_most_one_fetch_per_interval() {
    let h = Harness::start().await;
    let hits_after_start = h.jwks.hits();
    for i in 0..1000 {
        let jwt = mint(key(), &format!("ins_random_{i}"), &claims()).unwrap();
        assert_eq!(
            status_with(&h, &jwt).await,
            (401, "token_unknown_kid".into())
        );
    }
    let fetches = h.jwks.hits() - hits_after_start;
    println!("JWKS fetches caused by 1000 random kids: {fetches}");
    assert!(
        fetches <= 1,
        "{fetches} fetches for 1000 random kids (interval 30s allows 1)"
    );
    // Known keys kept working through the flood.
    assert_eq!(
        status_with(&h, &mint(key(), KID, &claims()).unwrap())
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn a_rotated_key_set_takes_effect_without_restart_and_removed_keys_stop_verifying() {
    let h = Harness::start().await;
    let old = mint(key(), KID, &claims()).unwrap();
    assert_eq!(status_with(&h, &old).await.0, 200);
    // Rotate: the new key is added and the old one removed at the same time.
    h.jwks.set_keys(&[(other_key(), "ins_rotated")]);
    let new = mint(other_key(), "ins_rotated", &claims()).unwrap();
    assert_eq!(
        status_with(&h, &new).await.0,
        200,
        "new kid accepted after one refresh"
    );
    assert_eq!(
        status_with(&h, &old).await,
        (401, "token_unknown_kid".into()),
        "removed key no longer verifies"
    );
}

#[tokio::test]
async fn known_keys_keep_working_while_the_endpoint_fails() {
    let h = Harness::start().await;
    let jwt = mint(key(), KID, &claims()).unwrap();
    for mode in [Mode::Status(500), Mode::Html, Mode::Huge(10 * 1024 * 1024)] {
        h.jwks.set_mode(mode.clone());
        // An unknown kid makes doorman try the failing endpoint...
        let unknown = mint(key(), "ins_unknown", &json!({})).unwrap();
        assert_eq!(status_with(&h, &unknown).await.0, 401, "{mode:?}");
        // ...and the last good keys still verify.
        assert_eq!(status_with(&h, &jwt).await.0, 200, "{mode:?}");
    }
    assert!(h
        .metrics()
        .await
        .contains("doorman_jwks_fetches_total{result=\"error\"}"));
}

#[tokio::test]
async fn a_hanging_endpoint_does_not_hang_requests_with_known_keys() {
    let h = Harness::start().await;
    h.jwks.set_mode(Mode::Hang);
    let jwt = mint(key(), KID, &claims()).unwrap();
    let started = std::time::Instant::now();
    assert_eq!(status_with(&h, &jwt).await.0, 200);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

#[tokio::test]
async fn keys_with_the_wrong_use_alg_or_kty_are_skipped_never_used() {
    let h = Harness::start().await;
    let mut enc = other_key().public_jwk("ins_enc");
    enc["use"] = json!("enc");
    let mut hs = other_key().public_jwk("ins_hs");
    hs["alg"] = json!("HS256");
    let mut ec = other_key().public_jwk("ins_ec");
    ec["kty"] = json!("EC");
    let good = key().public_jwk(KID);
    h.jwks
        .set_body(&json!({"keys": [enc, hs, ec, good]}).to_string());
    for kid in ["ins_enc", "ins_hs", "ins_ec"] {
        let jwt = mint(other_key(), kid, &claims()).unwrap();
        assert_eq!(
            status_with(&h, &jwt).await,
            (401, "token_unknown_kid".into()),
            "{kid}"
        );
    }
    assert_eq!(
        status_with(&h, &mint(key(), KID, &claims()).unwrap())
            .await
            .0,
        200
    );
}
