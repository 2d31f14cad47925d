//! Clerk's own SDK fixtures, through the whole proxy, with the clock at 1666648250.

use std::sync::Arc;

use doorman::app::{self, Options};
use doorman::clock::ManualClock;
use doorman::config::Config;
use doorman::dev::echo::Echo;

use crate::support::{outcome, Client};

/// The instant Clerk's fixtures were minted for (their own clock, not the suite's `NOW`).
const FIXTURE_NOW: i64 = 1_666_648_250;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/vectors/clerk-sdk-fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .to_string()
}

async fn start(key_line: &str, skew: &str, now: i64) -> (doorman::app::Running, Echo) {
    let echo = Echo::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = format!(
        "{}/tests/vectors/clerk-sdk-fixtures",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
[clerk]
issuer = "https://clerk.inspired.puma-74.lcl.dev"
{key_line}
authorized_parties = ["https://accounts.inspired.puma-74.lcl.dev"]
clock_skew = "{skew}"
[[upstreams]]
name = "app"
url = "http://{}"
[defaults]
access = "signed_in"
onboarding = "skip"
"#,
        echo.addr
    )
    .replace("{dir}", &dir);
    let config = Config::parse(&text, "fixture config", &|_| None).unwrap();
    let running = app::start(
        config,
        Options {
            clock: Arc::new(ManualClock::new(now)),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    (running, echo)
}

async fn call(running: &doorman::app::Running, jwt: &str) -> (u16, String) {
    outcome(&Client::new(running.addr).api("GET", "/anything", jwt).await)
}

const JWKS: &str = "jwks_file = \"{dir}/mockJwks.json\"";
const PEM: &str = "public_key_file = \"{dir}/pemEncodedPublicKey.pem\"";
const OTHER_PEM: &str = "public_key_file = \"{dir}/someOtherPublicKey.pem\"";

#[tokio::test]
async fn mock_jwt_is_accepted_with_the_jwks_and_with_the_pem_key() {
    for key in [JWKS, PEM] {
        let (running, echo) = start(key, "5s", FIXTURE_NOW).await;
        assert_eq!(
            call(&running, &fixture("mockJwt.jwt")).await,
            (200, String::new()),
            "{key}"
        );
        let seen = echo.last().unwrap();
        assert_eq!(
            seen.header("x-user-id").as_deref(),
            Some("user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr")
        );
        assert_eq!(
            seen.header("x-session-id").as_deref(),
            Some("sess_2GbDB4enNdCa5vS1zpC3Xzg9tK9")
        );
    }
}

#[tokio::test]
async fn mock_expired_jwt_is_expired() {
    let (running, _) = start(JWKS, "5s", FIXTURE_NOW).await;
    assert_eq!(
        call(&running, &fixture("mockExpiredJwt.jwt")).await,
        (401, "token_expired".into())
    );
}

#[tokio::test]
async fn tampered_and_malformed_fixtures_fail_the_signature() {
    let (running, echo) = start(JWKS, "5s", FIXTURE_NOW).await;
    for name in ["mockInvalidSignatureJwt.jwt", "mockMalformedJwt.jwt"] {
        assert_eq!(
            call(&running, &fixture(name)).await,
            (401, "token_bad_signature".into()),
            "{name}"
        );
    }
    assert_eq!(echo.count(), 0);
}

#[tokio::test]
async fn mock_jwt_against_another_key_fails_the_signature() {
    let (running, _) = start(OTHER_PEM, "5s", FIXTURE_NOW).await;
    assert_eq!(
        call(&running, &fixture("mockJwt.jwt")).await,
        (401, "token_bad_signature".into())
    );
}

#[tokio::test]
async fn exp_plus_one_is_accepted_with_default_skew_and_expired_with_zero_skew() {
    let exp = 1_666_648_310;
    let (running, _) = start(JWKS, "5s", exp + 1).await;
    assert_eq!(call(&running, &fixture("mockJwt.jwt")).await.0, 200);
    let (running, _) = start(JWKS, "0s", exp + 1).await;
    assert_eq!(
        call(&running, &fixture("mockJwt.jwt")).await,
        (401, "token_expired".into())
    );
}
