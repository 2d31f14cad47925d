//! The cache's promises, each as a specification: never past `exp` (the boundary counts as
//! expired, exactly as verification says), never under another key set, never one token for
//! another even when their hashes collide, and never more than its bounds.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use http::{HeaderName, HeaderValue};
use serde_json::json;

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::keys::KeySet;
use crate::token::claims::{Activity, Identity};
use crate::token::{SessionStatus, VerifiedClaims};

const NOW: i64 = 1_700_000_000;
const SKEW: u64 = 5;
const PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/clerk-sdk-fixtures/pemEncodedPublicKey.pem"
));

/// A fresh key set: every call is a new `Arc`, as every JWKS load is.
fn key_set() -> Arc<KeySet> {
    Arc::new(KeySet::from_pem(PEM).expect("fixture key"))
}

fn settings(max_entries: usize, max_bytes: usize) -> CacheSettings {
    CacheSettings {
        enabled: true,
        max_entries,
        max_bytes,
    }
}

fn session(user: &str) -> Arc<Session> {
    let identity = Identity {
        user_id: user.to_owned(),
        session_id: format!("sess_{user}"),
        user_type: None,
        org_id: None,
        org_slug: None,
        org_role: None,
        roles: vec!["member".to_owned()],
        permissions: vec!["view_project".to_owned()],
        feature_flags: Vec::new(),
        onboarding_status: Some("completed".to_owned()),
        onboarding_complete: true,
        active: Activity::Active,
        expires_at: NOW + 60,
        issued_at: Some(NOW),
        ..Identity::default()
    };
    Arc::new(Session {
        identity: Arc::new(identity),
        headers: vec![(
            HeaderName::from_static("x-user-id"),
            HeaderValue::from_str(user).unwrap(),
        )]
        .into_boxed_slice(),
        assertions: Default::default(),
    })
}

/// Valid from `NOW - 10` (nbf) to `NOW + 60` (exp), issued at `NOW`.
fn validity() -> Validity {
    Validity {
        exp: NOW + 60,
        nbf: Some(NOW - 10),
        iat: Some(NOW),
    }
}

/// A stand-in token string (the cache never parses tokens; it compares them).
fn token(n: usize) -> String {
    format!("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEifQ.signature-{n:06}")
}

fn user_of(found: Option<Arc<Session>>) -> Option<String> {
    found.map(|s| s.identity.user_id.clone())
}

#[test]
fn a_cached_token_is_served_until_exp_minus_skew_and_not_one_second_longer() {
    let cache = TokenCache::new(&settings(100, 1 << 20), SKEW);
    let keys = key_set();
    let clock = ManualClock::new(NOW);
    cache.insert(&token(1), session("user_1"), validity(), &keys, NOW);
    let exp = validity().exp;
    // Verification says: expired iff exp <= now - skew. The last good second is exp + skew - 1.
    let table = [
        ("at_issue", NOW, true),
        ("at_exp", exp, true),
        ("last_second_within_skew", exp + SKEW as i64 - 1, true),
        ("boundary_counts_as_expired", exp + SKEW as i64, false),
        ("and_stays_expired", exp + SKEW as i64 + 1, false),
    ];
    for (name, now, served) in table {
        clock.set(now);
        let found = cache.get(token(1), clock.now_unix(), &keys);
        assert_eq!(found.is_some(), served, "case {name}");
        if !served {
            // The expired entry is gone, not just hidden.
            assert_eq!(cache.occupancy().entries, 0, "case {name}");
            cache.insert(&token(1), session("user_1"), validity(), &keys, NOW);
        }
    }
}

#[test]
fn the_expiry_rule_is_the_verifiers_rule_at_every_boundary() {
    let claims = |exp| VerifiedClaims {
        sub: "user_1".into(),
        sid: "sess_1".into(),
        iat: None,
        nbf: None,
        exp,
        version: 2,
        status: SessionStatus::Active,
        payload: json!({}).into(),
    };
    for skew in [0u64, 1, 5, 60] {
        for offset in -3..=3 {
            let exp = NOW;
            let now = NOW + skew as i64 + offset;
            let validity = Validity::of(&claims(exp));
            assert_eq!(
                validity.holds_at(now, skew as i64),
                !claims(exp).expired_at(now, skew),
                "skew {skew}, now = exp + skew + {offset}"
            );
        }
    }
}

#[test]
fn a_clock_set_back_before_nbf_or_iat_is_a_miss() {
    let cache = TokenCache::new(&settings(100, 1 << 20), SKEW);
    let keys = key_set();
    cache.insert(&token(1), session("user_1"), validity(), &keys, NOW);
    // nbf is NOW - 10 and iat NOW: verification accepts from iat - skew on.
    let iat = validity().iat.unwrap();
    assert!(cache.get(token(1), iat - SKEW as i64, &keys).is_some());
    assert!(cache.get(token(1), iat - SKEW as i64 - 1, &keys).is_none());
    let only_nbf = Validity {
        iat: None,
        ..validity()
    };
    let nbf = only_nbf.nbf.unwrap();
    cache.insert(&token(2), session("user_2"), only_nbf, &keys, NOW);
    assert!(cache.get(token(2), nbf - SKEW as i64, &keys).is_some());
    assert!(cache.get(token(2), nbf - SKEW as i64 - 1, &keys).is_none());
}

#[test]
fn tokens_that_no_longer_hold_are_not_inserted() {
    let cache = TokenCache::new(&settings(100, 1 << 20), SKEW);
    let keys = key_set();
    let late = validity().exp + SKEW as i64;
    cache.insert(&token(1), session("user_1"), validity(), &keys, late);
    assert_eq!(cache.occupancy().entries, 0);
}

#[test]
fn an_entry_is_served_only_under_the_key_set_that_verified_it() {
    let cache = TokenCache::new(&settings(100, 1 << 20), SKEW);
    let verified_with = key_set();
    cache.insert(
        &token(1),
        session("user_1"),
        validity(),
        &verified_with,
        NOW,
    );
    assert!(cache.get(token(1), NOW, &verified_with).is_some());
    // A refresh installs a new set (here with the same key): the entry must be re-verified,
    // so a removed kid is noticed by the verification that follows.
    let refreshed = key_set();
    assert!(cache.get(token(1), NOW, &refreshed).is_none());
    assert_eq!(cache.occupancy().entries, 0, "the stale entry is dropped");
    // Even the original set no longer finds it: it was dropped, not hidden.
    assert!(cache.get(token(1), NOW, &verified_with).is_none());
}

#[test]
fn a_dropped_key_set_never_matches_a_new_one_at_the_same_address() {
    let cache = TokenCache::new(&settings(100, 1 << 20), SKEW);
    let old = key_set();
    cache.insert(&token(1), session("user_1"), validity(), &old, NOW);
    drop(old);
    // The entry's weak reference keeps the old allocation, so no new set can reuse it.
    for _ in 0..100 {
        let new = key_set();
        assert!(cache.get(token(1), NOW, &new).is_none());
    }
}

/// Every token hashes to the same value.
#[derive(Clone, Default)]
struct Colliding;

impl BuildHasher for Colliding {
    type Hasher = ConstantHasher;
    fn build_hasher(&self) -> ConstantHasher {
        ConstantHasher
    }
}

struct ConstantHasher;

impl Hasher for ConstantHasher {
    fn finish(&self) -> u64 {
        42
    }
    fn write(&mut self, _: &[u8]) {}
}

#[test]
fn colliding_hashes_never_confuse_two_tokens() {
    let cache = TokenCache::with_hasher(&settings(100, 1 << 20), SKEW, Colliding);
    let keys = key_set();
    let (alice, mallory) = (token(1), token(2));
    cache.insert(&alice, session("user_alice"), validity(), &keys, NOW);
    assert_eq!(user_of(cache.get(&mallory, NOW, &keys)), None);
    assert_eq!(
        user_of(cache.get(&alice, NOW, &keys)).as_deref(),
        Some("user_alice"),
        "a colliding miss does not disturb the entry"
    );
    cache.insert(&mallory, session("user_mallory"), validity(), &keys, NOW);
    assert_eq!(
        user_of(cache.get(&mallory, NOW, &keys)).as_deref(),
        Some("user_mallory")
    );
    assert_eq!(user_of(cache.get(&alice, NOW, &keys)), None);
    // A prefix or an extension of a cached token is another token.
    let prefix = &mallory[..mallory.len() - 1];
    assert_eq!(user_of(cache.get(prefix, NOW, &keys)), None);
    assert_eq!(user_of(cache.get(format!("{mallory}x"), NOW, &keys)), None);
}

#[test]
fn the_entry_bound_holds_under_any_number_of_tokens() {
    for max_entries in [1, 3, 64, 1000] {
        let cache = TokenCache::new(&settings(max_entries, 1 << 30), SKEW);
        let keys = key_set();
        assert!(cache.capacity() <= max_entries);
        for n in 0..5 * max_entries + 100 {
            cache.insert(&token(n), session("u"), validity(), &keys, NOW);
            assert!(
                cache.occupancy().entries <= max_entries,
                "max {max_entries}"
            );
        }
        assert!(cache.occupancy().entries > 0);
    }
}

#[test]
fn the_byte_bound_holds_and_oversized_entries_are_refused() {
    let max_bytes = 64 * 1024;
    let cache = TokenCache::new(&settings(1_000_000, max_bytes), SKEW);
    let keys = key_set();
    for n in 0..10_000 {
        cache.insert(&token(n), session("u"), validity(), &keys, NOW);
        assert!(cache.occupancy().bytes <= max_bytes);
    }
    let held = cache.occupancy();
    assert!(held.entries > 10, "{held:?}");
    let huge = "x".repeat(max_bytes);
    cache.insert(&huge, session("u"), validity(), &keys, NOW);
    assert!(cache.get(&huge, NOW, &keys).is_none());
}

#[test]
fn kept_claims_and_missing_onboarding_fields_count_against_the_byte_bound() {
    let cache = TokenCache::new(&settings(1_000, 1 << 20), SKEW);
    let keys = key_set();
    cache.insert(&token(1), session("u"), validity(), &keys, NOW);
    let plain = cache.occupancy().bytes;
    let mut identity = (*session("u").identity).clone();
    let metadata = json!({"bio": "b".repeat(2_000), "tags": ["a", "b", "c"]});
    identity.claims = Some(Arc::new(crate::condition::ClaimData::new(
        &json!({"sub": "u", "metadata": metadata}),
    )));
    identity.onboarding_missing = vec!["/metadata/freelancer/tier".to_owned()];
    let base = session("u");
    let with_claims = Arc::new(Session {
        identity: Arc::new(identity),
        headers: base.headers.clone(),
        assertions: Default::default(),
    });
    cache.insert(&token(2), with_claims, validity(), &keys, NOW);
    let second = cache.occupancy().bytes - plain;
    assert!(second > plain + 2_000, "{plain} then {second}");
}

#[test]
fn eviction_gives_recently_used_entries_a_second_chance() {
    // One shard of four: fill it, keep using token 0, then push four more tokens through.
    let cache = TokenCache::new(&settings(4, 1 << 20), SKEW);
    let keys = key_set();
    assert_eq!(cache.capacity(), 4);
    for n in 0..4 {
        cache.insert(&token(n), session("u"), validity(), &keys, NOW);
    }
    for n in 4..8 {
        assert!(cache.get(token(0), NOW, &keys).is_some(), "token 0 evicted");
        cache.insert(&token(n), session("u"), validity(), &keys, NOW);
    }
    assert!(cache.get(token(0), NOW, &keys).is_some());
}

#[test]
fn expired_entries_are_evicted_first_and_swept_away() {
    let cache = TokenCache::new(&settings(4, 1 << 20), SKEW);
    let keys = key_set();
    let short = Validity {
        exp: NOW + 1,
        ..validity()
    };
    cache.insert(&token(0), session("u"), validity(), &keys, NOW);
    cache.insert(&token(1), session("u"), short, &keys, NOW);
    cache.insert(&token(2), session("u"), validity(), &keys, NOW);
    cache.insert(&token(3), session("u"), validity(), &keys, NOW);
    let later = NOW + 1 + SKEW as i64;
    for n in [0, 2, 3] {
        assert!(cache.get(token(n), later, &keys).is_some(), "token {n}");
    }
    // Full: the expired token 1 makes room, not one of the live ones in use.
    cache.insert(&token(4), session("u"), validity(), &keys, later);
    for n in [0, 2, 3, 4] {
        assert!(cache.get(token(n), later, &keys).is_some(), "token {n}");
    }
    // Past every exp, a sweep frees everything.
    let dropped = cache.sweep_expired(NOW + 60 + SKEW as i64);
    assert_eq!(dropped, 4);
    assert_eq!(cache.occupancy(), Occupancy::default());
}

#[test]
fn concurrent_use_keeps_the_bounds() {
    let cache = Arc::new(TokenCache::new(&settings(256, 1 << 20), SKEW));
    let keys = key_set();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (cache, keys) = (cache.clone(), keys.clone());
            std::thread::spawn(move || {
                for n in 0..2000 {
                    let tok = token(t * 10_000 + n % 500);
                    if cache.get(&tok, NOW, &keys).is_none() {
                        cache.insert(&tok, session("u"), validity(), &keys, NOW);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(cache.occupancy().entries <= 256);
}
