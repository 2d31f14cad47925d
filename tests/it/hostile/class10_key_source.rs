//! Class 10: key-source faults. The JWKS endpoint down, hanging, answering HTML, huge or
//! unusable bodies, an emptied key set, a key replaced under the same kid. Known keys keep
//! working while the endpoint fails (up to `jwks_max_stale`), unknown kids fail closed
//! quickly with one fetch at a time, and readiness tells the truth.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::time::{advance, pause, resume};

use crate::support::jwks_server::Mode;
use crate::support::{
    assert_nothing_forwarded, claims, eventually, key, other_key, outcome, refused, token, Client,
    Harness, JwksServer, RequestExt, BASE_CONFIG, KID, NOW,
};
use doorman::dev::mint::mint;

const PATH: &str = "/api/projects/1";

/// BASE_CONFIG with the unknown-kid interval replaced and `extra` added to `[clerk]`.
fn config(interval: &str, extra: &str) -> String {
    BASE_CONFIG.replace(
        "jwks_unknown_kid_interval = \"30s\"\n",
        &format!("jwks_unknown_kid_interval = \"{interval}\"\n{extra}\n"),
    )
}

/// A fresh connection per request (pooled connections do not survive clock jumps).
async fn call(h: &Harness, jwt: &str) -> (u16, String) {
    outcome(&h.fresh_client().api("GET", PATH, jwt).await)
}

async fn readyz(h: &Harness) -> u16 {
    Client::new(h.doorman.admin_addr)
        .get("/readyz")
        .await
        .status
        .as_u16()
}

fn unknown(n: &str) -> String {
    mint(key(), &format!("ins_unknown_{n}"), &claims()).unwrap()
}

#[tokio::test]
async fn a_failing_endpoint_keeps_known_keys_and_fails_unknown_kids_closed_fast() {
    let h = Harness::with_config(&config("1ms", "")).await;
    let known = token(&claims());
    for (i, mode) in [
        Mode::Status(500),
        Mode::Status(503),
        Mode::Status(404),
        Mode::Status(302),
    ]
    .into_iter()
    .enumerate()
    {
        h.jwks.set_mode(mode.clone());
        let started = Instant::now();
        assert_eq!(
            call(&h, &unknown(&i.to_string())).await,
            refused(401, "token_unknown_kid"),
            "{mode:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{mode:?}: {:?}",
            started.elapsed()
        );
        assert_eq!(
            call(&h, &known).await.0,
            200,
            "{mode:?}: a known key stopped working"
        );
        assert_eq!(
            readyz(&h).await,
            200,
            "{mode:?}: not ready with good keys in hand"
        );
    }
    assert!(h
        .metrics()
        .await
        .contains("doorman_jwks_fetches_total{result=\"error\"} 4"));
}

#[tokio::test]
async fn a_hanging_endpoint_is_bounded_by_jwks_timeout_and_never_blocks_known_keys() {
    let h = Harness::with_config(&config("30s", "jwks_timeout = \"2s\"")).await;
    h.jwks.set_mode(Mode::Hang);
    let hits = h.jwks.hits();
    let known = token(&claims());
    // 30 concurrent requests with distinct unknown kids while the endpoint hangs...
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..30 {
        let client = h.fresh_client();
        let jwt = unknown(&format!("hang_{i}"));
        tasks.push(tokio::spawn(async move {
            outcome(&client.api("GET", PATH, &jwt).await)
        }));
    }
    // ...do not hold up a known key.
    let known_started = Instant::now();
    assert_eq!(call(&h, &known).await.0, 200);
    assert!(
        known_started.elapsed() < Duration::from_secs(1),
        "{:?}",
        known_started.elapsed()
    );
    for task in tasks {
        assert_eq!(task.await.unwrap(), refused(401, "token_unknown_kid"));
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "unknown kids took {:?}",
        started.elapsed()
    );
    assert_eq!(
        h.jwks.hits() - hits,
        1,
        "one fetch at a time, then none within the interval"
    );
    // Kids still unknown afterwards fail fast, without a fetch.
    let again = Instant::now();
    assert_eq!(
        call(&h, &unknown("hang_0")).await,
        refused(401, "token_unknown_kid")
    );
    assert!(again.elapsed() < Duration::from_secs(1));
    assert_eq!(h.jwks.hits() - hits, 1);
}

#[tokio::test]
async fn html_huge_and_unusable_bodies_never_replace_the_last_good_keys() {
    let h = Harness::with_config(&config("1ms", "")).await;
    let known = token(&claims());
    let mut enc = other_key().public_jwk("ins_enc");
    enc["use"] = json!("enc");
    let mut hs = key().public_jwk(KID);
    hs["alg"] = json!("HS256");
    let mut ec = key().public_jwk(KID);
    ec["kty"] = json!("EC");
    let mut small = key().public_jwk(KID);
    small["n"] = json!(crate::support::b64([0xffu8; 64]));
    let bodies = [
        ("not json", "<html>Maintenance</html>".to_string()),
        ("empty key set", json!({"keys": []}).to_string()),
        ("keys not an array", json!({"keys": "x"}).to_string()),
        (
            "only unusable keys",
            json!({"keys": [enc, hs, ec, small]}).to_string(),
        ),
        ("truncated", r#"{"keys":[{"kty":"RSA""#.to_string()),
        ("null", "null".to_string()),
    ];
    for (i, mode) in [Mode::Html, Mode::Huge(10 << 20), Mode::Huge(300 << 10)]
        .into_iter()
        .enumerate()
    {
        h.jwks.set_mode(mode.clone());
        assert_eq!(
            call(&h, &unknown(&format!("m{i}"))).await,
            refused(401, "token_unknown_kid"),
            "{mode:?}"
        );
        assert_eq!(call(&h, &known).await.0, 200, "{mode:?}");
    }
    h.jwks.set_mode(Mode::Serve);
    for (i, (name, body)) in bodies.iter().enumerate() {
        h.jwks.set_body(body);
        assert_eq!(
            call(&h, &unknown(&format!("b{i}"))).await,
            refused(401, "token_unknown_kid"),
            "{name}"
        );
        assert_eq!(
            call(&h, &known).await.0,
            200,
            "{name}: the last good key was dropped"
        );
    }
    let metrics = h.metrics().await;
    assert!(metrics.contains("doorman_jwks_keys 1"), "{metrics}");
    assert!(
        metrics.contains("doorman_jwks_fetches_total{result=\"error\"} 9"),
        "{metrics}"
    );
    assert_eq!(readyz(&h).await, 200);
}

#[tokio::test]
async fn a_key_replaced_under_the_same_kid_stops_verifying_the_old_signatures() {
    let h = Harness::start().await;
    let old = token(&claims());
    assert_eq!(call(&h, &old).await.0, 200);
    // Rotation that reuses the kid: the old key is gone, the new one has the same name.
    h.jwks.set_keys(&[(other_key(), KID)]);
    // An unknown kid makes doorman refresh now (instead of at the next schedule).
    assert_eq!(
        call(&h, &unknown("rotate")).await,
        refused(401, "token_unknown_kid")
    );
    assert_eq!(call(&h, &old).await, refused(401, "token_bad_signature"));
    assert_eq!(
        call(&h, &mint(other_key(), KID, &claims()).unwrap())
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn readiness_tells_the_truth_when_keys_never_loaded_and_tokens_get_503_not_401() {
    let jwks = JwksServer::start(&[(key(), KID)]).await;
    jwks.set_mode(Mode::Status(500));
    let echo = doorman::dev::echo::Echo::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (jwks_url, upstream) = (jwks.url(), format!("http://{}", echo.addr));
    let config = doorman::config::Config::parse(BASE_CONFIG, "test config", &|name| match name {
        "JWKS_URL" => Some(jwks_url.clone()),
        "UPSTREAM_URL" => Some(upstream.clone()),
        _ => None,
    })
    .unwrap();
    let clock = Arc::new(doorman::clock::ManualClock::new(NOW));
    let doorman = doorman::app::start(
        config,
        doorman::app::Options {
            clock,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client = Client::new(doorman.addr);
    let admin = Client::new(doorman.admin_addr);
    assert!(eventually(Duration::from_secs(5), || async { jwks.hits() >= 1 }).await);
    let ready = admin.get("/readyz").await;
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert_eq!(ready.json()["keys"], false);
    let jwt = token(&claims());
    let reply = client.send(client.request("GET", PATH).bearer(&jwt)).await;
    assert_eq!(outcome(&reply), refused(503, "keys_unavailable"));
    let reply = client
        .send(client.request("GET", "/dashboard").bearer(&jwt).navigate())
        .await;
    assert_eq!(
        reply.status, 503,
        "a page gets 503 too, not the sign-in redirect"
    );
    assert_eq!(echo.count(), 0);
    // The endpoint recovers: readiness and tokens follow.
    jwks.set_mode(Mode::Serve);
    assert!(
        eventually(Duration::from_secs(10), || async {
            admin.get("/readyz").await.status == 200
        })
        .await,
        "never became ready after the endpoint recovered"
    );
    let reply = client.send(client.request("GET", PATH).bearer(&jwt)).await;
    assert_eq!(reply.status, 200);
    doorman.shutdown().await;
}

/// Advances tokio's clock by `d` (waking the refresher), then resumes real time.
async fn jump(d: Duration) {
    pause();
    advance(d).await;
    resume();
}

#[tokio::test]
async fn an_endpoint_answering_200_with_garbage_does_not_count_as_fresh_and_keys_expire() {
    let h = Harness::with_config(&config(
        "30s",
        "jwks_refresh = \"5m\"\njwks_max_stale = \"10m\"",
    ))
    .await;
    let known = token(&claims());
    h.jwks.set_mode(Mode::Html);
    jump(Duration::from_secs(301)).await;
    assert!(eventually(Duration::from_secs(3), || async { h.jwks.hits() >= 2 }).await);
    assert_eq!(call(&h, &known).await.0, 200, "within jwks_max_stale");
    // Past jwks_max_stale, with the endpoint "answering" all along: fail closed.
    jump(Duration::from_secs(300)).await;
    assert_eq!(call(&h, &known).await, refused(503, "keys_unavailable"));
    assert_eq!(readyz(&h).await, 503);
    assert_nothing_forwarded(&h, 1, "stale keys");
    h.jwks.set_mode(Mode::Serve);
    let hits = h.jwks.hits();
    jump(Duration::from_secs(61)).await;
    assert!(eventually(Duration::from_secs(3), || async { h.jwks.hits() > hits }).await);
    assert!(eventually(Duration::from_secs(3), || async { readyz(&h).await == 200 }).await);
    assert_eq!(call(&h, &known).await.0, 200);
}

#[tokio::test]
async fn unknown_kids_through_the_cookie_and_api_share_one_fetch() {
    let h = Harness::start().await;
    let hits = h.jwks.hits();
    h.jwks.set_keys(&[(key(), KID), (other_key(), "ins_fresh")]);
    let fresh = mint(other_key(), "ins_fresh", &claims()).unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let client = Client::new(h.client.addr);
        let jwt = fresh.clone();
        tasks.push(tokio::spawn(async move {
            let req = client.request("GET", PATH);
            let req = if i % 2 == 0 {
                req.bearer(&jwt)
            } else {
                req.cookie(&format!("__session={jwt}"))
            };
            client.send(req).await.status.as_u16()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    assert_eq!(
        h.jwks.hits() - hits,
        1,
        "one fetch for a burst of the new kid"
    );
}

#[tokio::test]
async fn a_jwks_key_whose_key_ops_lack_verify_never_verifies_a_token() {
    // RFC 7517 §4.3: a key published for ["encrypt"] must not be used to verify signatures.
    let jwks = JwksServer::start(&[(key(), KID)]).await;
    let mut encrypt_only = other_key().public_jwk("ins_encrypt");
    encrypt_only["key_ops"] = json!(["encrypt"]);
    let mut verify = other_key().public_jwk("ins_verify");
    verify["key_ops"] = json!(["verify"]);
    jwks.set_body(&json!({"keys": [key().public_jwk(KID), encrypt_only, verify]}).to_string());
    let echo = doorman::dev::echo::Echo::start(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let h = Harness::with_parts(BASE_CONFIG, jwks, echo, |_| None).await;
    let forged = mint(other_key(), "ins_encrypt", &claims()).unwrap();
    assert_eq!(call(&h, &forged).await, refused(401, "token_unknown_kid"));
    assert_nothing_forwarded(&h, 0, "a token verified by an encryption key");
    let good = mint(other_key(), "ins_verify", &claims()).unwrap();
    assert_eq!(call(&h, &good).await.0, 200, "key_ops with verify is used");
    assert_eq!(h.echo.count(), 1);
}
