//! Browsers with an expired token: Clerk's handshake, the whole round trip, against a fake
//! Frontend/Backend API on loopback.

use base64::Engine;
use serde_json::json;

use crate::support::clerk_api::{FakeClerk, SECRET_KEY};
use crate::support::{
    claims, key, token, with, Harness, JwksServer, RequestExt, BASE_CONFIG, KID, NOW,
};

fn publishable_key() -> String {
    format!(
        "pk_test_{}",
        base64::engine::general_purpose::STANDARD.encode("clerk.test.example$")
    )
}

async fn harness(clerk: &FakeClerk, secret: bool) -> Harness {
    let mut extra = format!(
        "publishable_key = \"{}\"\nfrontend_api_url = \"{}\"\napi_url = \"{}\"\n",
        publishable_key(),
        clerk.url(),
        clerk.url()
    );
    if secret {
        extra.push_str(&format!("secret_key = \"{SECRET_KEY}\"\n"));
    }
    let config = BASE_CONFIG.replace(
        "jwks_unknown_kid_interval = \"30s\"\n",
        &format!("jwks_unknown_kid_interval = \"30s\"\n{extra}"),
    );
    let jwks = JwksServer::start(&[(key(), KID)]).await;
    let echo = doorman::dev::echo::Echo::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    Harness::with_parts(&config, jwks, echo, |_| None).await
}

fn expired() -> String {
    token(&with(
        with(claims(), "/exp", json!(NOW - 30)),
        "/iat",
        json!(NOW - 90),
    ))
}

fn document(
    h: &Harness,
    path: &str,
    cookie: &str,
) -> http::Request<http_body_util::Full<bytes::Bytes>> {
    let mut req = h.client.request("GET", path);
    req.headers_mut()
        .insert("host", "shop.test".parse().unwrap());
    req.headers_mut()
        .insert("sec-fetch-dest", "document".parse().unwrap());
    req.headers_mut()
        .insert("accept", "text/html".parse().unwrap());
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    req
}

#[tokio::test]
async fn expired_cookie_round_trip_handshake_then_forward_with_the_fresh_identity() {
    let clerk = FakeClerk::start().await;
    let h = harness(&clerk, true).await;
    let fresh = token(&with(claims(), "/sub", json!("user_fresh")));
    clerk.set_next_directives(vec![
        format!("__session={fresh}; Path=/; Secure; SameSite=Lax"),
        format!("__client_uat={NOW}; Path=/; Max-Age=315360000"),
    ]);
    let cookie = format!("__session={}; __client_uat={}", expired(), NOW - 100);

    // 1. doorman sends the browser to the handshake.
    let first = h
        .client
        .send(document(&h, "/dashboard?tab=2", &cookie))
        .await;
    assert_eq!(first.status, 307, "{}", first.text());
    let loc = first.header("location").unwrap().to_string();
    assert!(
        loc.starts_with(&format!(
            "{}/v1/client/handshake?redirect_url=http%3A%2F%2Fshop.test%2Fdashboard%3Ftab%3D2&",
            clerk.url()
        )),
        "{loc}"
    );
    for param in [
        "__clerk_api_version=2025-04-10",
        "suffixed_cookies=false",
        "__clerk_hs_reason=session-token-expired",
        "format=nonce",
    ] {
        assert!(loc.contains(param), "{param} missing in {loc}");
    }
    assert_eq!(first.header("cache-control"), Some("no-store"));
    assert!(first
        .header("set-cookie")
        .unwrap()
        .starts_with("__clerk_redirect_count=1;"));
    assert_eq!(h.echo.count(), 0);

    // 2. The Frontend API sends the browser back with a nonce.
    let fapi = crate::support::Client::new(clerk.addr);
    let back = fapi
        .send(fapi.request("GET", loc.strip_prefix(&clerk.url()).unwrap()))
        .await;
    assert_eq!(back.status, 307);
    let back_to = back.header("location").unwrap().to_string();
    let path = back_to.strip_prefix("http://shop.test").unwrap();
    assert_eq!(path, "/dashboard?tab=2&__clerk_handshake_nonce=nonce1");

    // 3. doorman exchanges the nonce, decides with the fresh token and forwards.
    let done = h
        .client
        .send(document(
            &h,
            path,
            &format!("{cookie}; __clerk_redirect_count=1"),
        ))
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(clerk.exchanges(), 1);
    let seen = h.echo.last().unwrap();
    assert_eq!(seen.header("x-user-id").as_deref(), Some("user_fresh"));
    let set: Vec<&str> = done
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        set.iter()
            .any(|c| c.starts_with(&format!("__session={fresh};"))),
        "{set:?}"
    );
    assert!(
        set.iter().any(|c| c.starts_with("__client_uat=")),
        "{set:?}"
    );
}

#[tokio::test]
async fn after_three_handshakes_in_a_row_the_browser_is_signed_out() {
    let clerk = FakeClerk::start().await;
    let h = harness(&clerk, true).await;
    let cookie = format!(
        "__session={}; __client_uat={}; __clerk_redirect_count=3",
        expired(),
        NOW - 100
    );
    let reply = h.client.send(document(&h, "/dashboard", &cookie)).await;
    assert_eq!(reply.status, 302);
    assert_eq!(
        reply.header("location"),
        Some("/sign-in?redirect_url=/dashboard")
    );
    assert!(clerk.handshakes().is_empty());
}

#[tokio::test]
async fn api_requests_never_get_a_handshake() {
    let clerk = FakeClerk::start().await;
    let h = harness(&clerk, true).await;
    let mut req = h.client.request("GET", "/api/projects/1");
    req.headers_mut()
        .insert("accept", "application/json".parse().unwrap());
    req.headers_mut().insert(
        "cookie",
        format!("__session={}; __client_uat={}", expired(), NOW - 100)
            .parse()
            .unwrap(),
    );
    let reply = h.client.send(req).await;
    assert_eq!(
        (reply.status.as_u16(), reply.reason()),
        (401, "token_expired".to_string())
    );
    // A header token on a document request: no handshake either.
    let req = document(&h, "/dashboard", &format!("__client_uat={}", NOW - 100)).bearer(&expired());
    assert_eq!(h.client.send(req).await.status, 302);
    assert!(clerk.handshakes().is_empty());
}

#[tokio::test]
async fn signed_out_clients_and_missing_secret_key_go_to_sign_in() {
    let clerk = FakeClerk::start().await;
    let h = harness(&clerk, true).await;
    for cookie in [
        "__client_uat=0".to_string(),
        String::new(),
        format!("__session={}; __client_uat=0", expired()),
    ] {
        let cookie = if cookie.is_empty() {
            "theme=dark".to_string()
        } else {
            cookie
        };
        let reply = h.client.send(document(&h, "/dashboard", &cookie)).await;
        assert_eq!(reply.status, 302, "{cookie}");
        assert_eq!(
            reply.header("location"),
            Some("/sign-in?redirect_url=/dashboard")
        );
    }
    // Without a secret key, no handshake: the documented sign-in redirect.
    let h = harness(&clerk, false).await;
    let reply = h
        .client
        .send(document(
            &h,
            "/dashboard",
            &format!("__session={}; __client_uat={}", expired(), NOW - 100),
        ))
        .await;
    assert_eq!(reply.status, 302);
    assert!(clerk.handshakes().is_empty());
}

#[tokio::test]
async fn a_missing_or_stale_token_of_a_signed_in_client_gets_a_handshake() {
    let clerk = FakeClerk::start().await;
    let h = harness(&clerk, true).await;
    let missing = h
        .client
        .send(document(
            &h,
            "/dashboard",
            &format!("__client_uat={}", NOW - 100),
        ))
        .await;
    assert_eq!(missing.status, 307);
    assert!(missing
        .header("location")
        .unwrap()
        .contains("__clerk_hs_reason=client-uat-but-no-session-token"));
    // Valid token, but issued before the client last changed (e.g. another sign-in).
    let stale = format!("__session={}; __client_uat={}", token(&claims()), NOW);
    let reply = h.client.send(document(&h, "/dashboard", &stale)).await;
    assert_eq!(reply.status, 307);
    assert!(reply
        .header("location")
        .unwrap()
        .contains("session-token-iat-before-client-uat"));
    assert_eq!(h.echo.count(), 0);
}

#[tokio::test]
async fn suffixed_cookies_are_read_and_announced() {
    let clerk = FakeClerk::start().await;
    let h = harness(&clerk, true).await;
    let suffix = doorman::config::publishable::cookie_suffix(&publishable_key());
    // A valid suffixed token is used.
    let ok = format!(
        "__session_{suffix}={}; __client_uat_{suffix}={}",
        token(&claims()),
        NOW - 100
    );
    assert_eq!(
        h.client.send(document(&h, "/dashboard", &ok)).await.status,
        200
    );
    assert_eq!(
        h.echo.last().unwrap().header("x-user-id").as_deref(),
        Some("user_1")
    );
    // An expired suffixed token gets a handshake that says so.
    let old = format!(
        "__session_{suffix}={}; __client_uat_{suffix}={}",
        expired(),
        NOW - 100
    );
    let reply = h.client.send(document(&h, "/dashboard", &old)).await;
    assert_eq!(reply.status, 307);
    assert!(reply
        .header("location")
        .unwrap()
        .contains("suffixed_cookies=true"));
}

#[tokio::test]
async fn a_failed_nonce_exchange_falls_back_to_the_cookies() {
    let clerk = FakeClerk::start().await;
    let h = harness(&clerk, true).await;
    let cookie = format!(
        "__session={}; __client_uat={}; __clerk_redirect_count=1",
        expired(),
        NOW - 100
    );
    let reply = h
        .client
        .send(document(
            &h,
            "/dashboard?__clerk_handshake_nonce=unknown",
            &cookie,
        ))
        .await;
    assert_eq!(clerk.exchanges(), 1);
    assert_eq!(reply.status, 307, "a new handshake, counted");
    assert!(reply
        .header("set-cookie")
        .unwrap()
        .starts_with("__clerk_redirect_count=2;"));
}
