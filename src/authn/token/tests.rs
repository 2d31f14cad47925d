//! Authentication through the cache: the fast `Bearer` lookup never answers for a header
//! that extraction would read differently, and a repeated token is verified once.

use std::sync::Arc;

use futures_like::block_on;
use http::{HeaderMap, HeaderValue};

use super::*;
use crate::clock::ManualClock;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::token::testkit::{key_a, session_claims, token, NOW};

mod futures_like {
    /// Runs a future on a fresh single-threaded runtime.
    pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f)
    }
}

struct Setup {
    config: Config,
    keys: KeyStore,
    cache: TokenCache,
    clock: ManualClock,
    metrics: Metrics,
}

fn setup() -> Setup {
    let pem = key_a().public_key_pem().unwrap();
    let text = format!(
        "[clerk]\nissuer = \"https://clerk.example.com\"\npublic_key_pem = \"\"\"{pem}\"\"\"\n\
         authorized_parties = [\"https://example.com\"]\n\
         [[upstreams]]\nname = \"app\"\nurl = \"http://127.0.0.1:3000\"\n"
    );
    let config = Config::parse(&text, "test.toml", &|_| None).expect("config");
    let keys = KeyStore::new(&config.clerk, Arc::new(Metrics::new())).expect("store");
    block_on(keys.load()).expect("keys");
    let cache = TokenCache::new(&config.cache, 5);
    Setup {
        config,
        keys,
        cache,
        clock: ManualClock::new(NOW),
        metrics: Metrics::new(),
    }
}

fn headers(pairs: &[(&str, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        h.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    h
}

fn authenticate_now(s: &Setup, h: &HeaderMap) -> Authenticated {
    let found = block_on(authenticate(
        h,
        &s.config,
        &s.keys,
        Some(&s.cache),
        &s.clock,
        &s.config.clerk.session_cookie,
    ));
    crate::proxy::record::count_auth(
        &s.metrics,
        &crate::authn::AuthEvents {
            token: found.events,
            ..Default::default()
        },
    );
    found
}

#[test]
fn a_repeated_token_is_verified_once_and_answered_from_the_cache() {
    let s = setup();
    let jwt = token(&session_claims());
    let h = headers(&[("authorization", format!("Bearer {jwt}"))]);
    for _ in 0..3 {
        let got = authenticate_now(&s, &h);
        assert_eq!(
            got.auth.identity().map(|i| i.user_id.as_str()),
            Some("user_123")
        );
        assert!(got.session.is_some());
    }
    assert_eq!(s.metrics.token_cache_misses.get(), 1);
    assert_eq!(s.metrics.token_cache_hits.get(), 2);
    assert_eq!(s.metrics.token_valid.get(), 3);
}

#[test]
fn the_fast_bearer_lookup_answers_only_where_extraction_agrees() {
    let s = setup();
    let jwt = token(&session_claims());
    // Verify once through the general path, so the token is cached.
    let plain = headers(&[("authorization", format!("Bearer {jwt}"))]);
    assert!(authenticate_now(&s, &plain).session.is_some());
    let cookie = s.config.clerk.session_cookie.clone();
    let table: Vec<(&str, HeaderMap, bool)> = vec![
        ("bearer", plain.clone(), true),
        (
            "lowercase_scheme",
            headers(&[("authorization", format!("bearer {jwt}"))]),
            true,
        ),
        (
            "uppercase_scheme",
            headers(&[("authorization", format!("BEARER {jwt}"))]),
            true,
        ),
        (
            "two_spaces",
            headers(&[("authorization", format!("Bearer  {jwt}"))]),
            false,
        ),
        (
            "trailing_space",
            headers(&[("authorization", format!("Bearer {jwt} "))]),
            false,
        ),
        (
            "leading_space",
            headers(&[("authorization", format!(" Bearer {jwt}"))]),
            false,
        ),
        (
            "tab",
            headers(&[("authorization", format!("Bearer\t{jwt}"))]),
            false,
        ),
        (
            "suffix",
            headers(&[("authorization", format!("Bearer {jwt}x"))]),
            false,
        ),
        (
            "prefix_only",
            headers(&[("authorization", format!("Bearer {}", &jwt[..jwt.len() - 1]))]),
            false,
        ),
        (
            "bare_token",
            headers(&[("authorization", jwt.clone())]),
            false,
        ),
        (
            "other_scheme",
            headers(&[("authorization", format!("Token {jwt}"))]),
            false,
        ),
        (
            "two_headers",
            headers(&[
                ("authorization", format!("Bearer {jwt}")),
                ("authorization", format!("Bearer {jwt}")),
            ]),
            false,
        ),
        (
            "cookie_only",
            headers(&[("cookie", format!("{cookie}={jwt}"))]),
            false,
        ),
    ];
    for (name, h, fast) in table {
        let hit = cached_bearer(&h, &s.keys, &s.cache, &s.clock);
        assert_eq!(hit.is_some(), fast, "case {name}");
        if hit.is_some() {
            let extracted = extract_token(&h, &cookie).unwrap().map(|(t, _)| t);
            assert_eq!(extracted, Some(jwt.as_str()), "case {name}");
        }
    }
}

#[test]
fn the_plain_bearer_shortcut_returns_exactly_what_extraction_returns() {
    let jwt = token(&session_claims());
    let values = [
        format!("Bearer {jwt}"),
        format!("bEaReR {jwt}"),
        "Bearer a.b.c".to_owned(),
        "Bearer abc".to_owned(),
        "Bearer a-b_c.d".to_owned(),
        "Bearer ".to_owned(),
        "Bearer  a.b.c".to_owned(),
        "Bearer a.b.c ".to_owned(),
        "Bearer a.b c".to_owned(),
        "Bearer a.b\tc".to_owned(),
        "Bearer a+b/c=".to_owned(),
        "Bearer a.b.c,".to_owned(),
        "Bearer \"a.b.c\"".to_owned(),
        "Bearera.b.c".to_owned(),
        "Basic dXNlcjpwYXNz".to_owned(),
        "a.b.c".to_owned(),
        format!("Bearer {jwt}é"),
    ];
    for value in values {
        let Ok(header) = HeaderValue::from_str(&value) else {
            continue;
        };
        let mut h = HeaderMap::new();
        h.insert("authorization", header);
        let extracted = extract_token(&h, "__session")
            .ok()
            .flatten()
            .map(|(t, _)| t);
        // `None` leaves the decision to the general path.
        if let Some(fast) = plain_bearer(&h) {
            assert_eq!(Some(fast), extracted, "{value:?}");
        }
    }
    // The usual header does take the shortcut.
    let mut h = HeaderMap::new();
    h.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {jwt}")).unwrap(),
    );
    assert_eq!(plain_bearer(&h), Some(jwt.as_str()));
    // Two headers: never the shortcut, whatever they hold.
    let mut h = HeaderMap::new();
    h.append("authorization", HeaderValue::from_static("Bearer a.b.c"));
    h.append("authorization", HeaderValue::from_static("Bearer a.b.c"));
    assert_eq!(plain_bearer(&h), None);
}

#[test]
fn refusals_are_counted_by_result_and_never_cached() {
    let s = setup();
    let expired = token(&crate::token::testkit::with(
        session_claims(),
        &[("exp", serde_json::json!(NOW - 100))],
    ));
    let h = headers(&[("authorization", format!("Bearer {expired}"))]);
    for _ in 0..2 {
        assert!(matches!(
            authenticate_now(&s, &h).auth,
            Auth::Invalid(TokenError::Expired)
        ));
    }
    assert_eq!(s.cache.occupancy().entries, 0);
    assert_eq!(s.metrics.token_cache_hits.get(), 0);
}

#[test]
fn moving_the_payload_verifies_exactly_like_copying_it() {
    use crate::token::testkit::{keys, options, with, without};
    use serde_json::json;
    let cases = [
        session_claims(),
        with(session_claims(), &[("exp", json!(NOW - 100))]),
        with(session_claims(), &[("iss", json!("https://evil.example"))]),
        with(
            session_claims(),
            &[("v", json!(1)), ("org_id", json!("org_1"))],
        ),
        without(session_claims(), &["sid"]),
        with(session_claims(), &[("exp", json!("9999999999"))]),
    ];
    let keys = keys();
    for claims in cases {
        let parsed = ParsedToken::parse(&token(&claims), 16 * 1024).unwrap();
        let key = keys.lookup(parsed.kid()).unwrap();
        let copied = parsed.verify(key, &options(), NOW);
        let moved = parsed.clone().into_verified(key, &options(), NOW);
        assert_eq!(moved, copied, "{claims}");
    }
}
