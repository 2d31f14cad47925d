//! The revocation set's rules.

use super::*;
use crate::token::claims::Identity;

fn id(sub: &str, sid: &str, iat: Option<i64>) -> Identity {
    Identity {
        user_id: sub.into(),
        session_id: sid.into(),
        onboarding_complete: true,
        expires_at: 0,
        issued_at: iat,
        ..Identity::default()
    }
}

fn entry(kind: Kind, who: &str, at_ms: i64, expires_at: i64) -> Entry {
    Entry {
        kind,
        id: who.into(),
        at_ms,
        expires_at,
    }
}

#[test]
fn revoked_sessions_and_users_are_refused_until_they_expire() {
    let r = Revocations::new(120);
    assert_eq!(
        r.check(&id("user_1", "sess_1", Some(100)), 100),
        Verdict::Pass
    );
    assert!(r.apply(&entry(Kind::Session, "sess_1", 100_000, 220), 100));
    assert!(r.apply(&entry(Kind::User, "user_2", 100_000, 220), 100));
    assert_eq!(
        r.check(&id("user_1", "sess_1", Some(100)), 150),
        Verdict::SessionRevoked
    );
    assert_eq!(
        r.check(&id("user_1", "sess_other", Some(100)), 150),
        Verdict::Pass
    );
    assert_eq!(
        r.check(&id("user_2", "sess_9", Some(100)), 150),
        Verdict::UserRevoked
    );
    assert_eq!(r.active(), 2);
    // Expired: no valid token can match any more; they pass and are purged.
    assert_eq!(
        r.check(&id("user_1", "sess_1", Some(100)), 220),
        Verdict::Pass
    );
    r.purge(220);
    assert_eq!(r.active(), 0);
}

#[test]
fn stale_applies_to_tokens_issued_up_to_the_event_second() {
    let r = Revocations::new(120);
    r.apply(&entry(Kind::Stale, "user_1", 1_000_500, 1_120), 1_000);
    assert_eq!(
        r.check(&id("user_1", "s", Some(999)), 1_001),
        Verdict::Stale
    );
    assert_eq!(
        r.check(&id("user_1", "s", Some(1_000)), 1_001),
        Verdict::Stale,
        "same second counts as before"
    );
    assert_eq!(
        r.check(&id("user_1", "s", Some(1_001)), 1_001),
        Verdict::Pass,
        "issued after the event"
    );
    assert_eq!(
        r.check(&id("user_1", "s", None), 1_001),
        Verdict::Stale,
        "no iat: cannot prove it is newer"
    );
    // A later event moves the line.
    r.apply(&entry(Kind::Stale, "user_1", 1_010_000, 1_130), 1_010);
    assert_eq!(
        r.check(&id("user_1", "s", Some(1_005)), 1_011),
        Verdict::Stale
    );
}

#[test]
fn applying_twice_or_applying_expired_entries_changes_nothing() {
    let r = Revocations::new(120);
    let e = entry(Kind::Session, "sess_1", 0, 500);
    assert!(r.apply(&e, 100));
    assert!(!r.apply(&e, 100));
    assert!(!r.apply(&entry(Kind::User, "user_1", 0, 50), 100));
    assert_eq!(r.active(), 1);
}

#[test]
fn deliveries_are_remembered_for_replay_detection() {
    let r = Revocations::new(120);
    assert!(!r.seen_delivery("msg_1", 100));
    assert!(r.seen_delivery("msg_1", 200));
    assert!(!r.seen_delivery("msg_1", 100 + DELIVERY_MEMORY_SECS + 1));
}
