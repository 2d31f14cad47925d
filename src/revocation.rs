//! Revoked sessions, revoked users and stale claims learned from Clerk's webhooks, checked
//! on every request with a valid token.
//!
//! Entries expire by themselves once no token they could match can still be valid (the
//! configured `ttl`: the 60 s token lifetime plus skew), so memory stays bounded by the event
//! rate. With Redis ([`sync`]) every replica applies what any replica learned; without it the
//! set is local to this process. The per-request check is a few hash lookups under a read
//! lock, skipped entirely while the set is empty.

pub mod sync;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use crate::reason::Reason;
use crate::token::claims::Identity;

/// Replayed deliveries are recognised for this long.
const DELIVERY_MEMORY_SECS: i64 = 600;

/// One revocation, as stored locally and shared through Redis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: Kind,
    /// Session id or user id.
    pub id: String,
    /// Event time, unix milliseconds (what `Stale` compares `iat` against).
    pub at_ms: i64,
    /// Unix seconds after which the entry can match no valid token.
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Session,
    User,
    Stale,
}

/// What the set says about a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    SessionRevoked,
    UserRevoked,
    /// Issued before the user's claims changed.
    Stale,
}

impl Verdict {
    /// Why a token with this verdict is refused; `None` for [`Verdict::Pass`].
    pub fn reason(self) -> Option<Reason> {
        match self {
            Verdict::Pass => None,
            Verdict::SessionRevoked => Some(Reason::SessionRevoked),
            Verdict::UserRevoked => Some(Reason::UserRevoked),
            Verdict::Stale => Some(Reason::TokenStale),
        }
    }
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<String, i64>,
    users: HashMap<String, i64>,
    /// user → (event ms, expires_at)
    stale: HashMap<String, (i64, i64)>,
    /// svix-id → expires_at, for replays.
    deliveries: HashMap<String, i64>,
    /// Entries held when the next purge runs (keeps inserts O(1) amortized).
    purge_at: usize,
}

impl Inner {
    fn len(&self) -> usize {
        self.sessions.len() + self.users.len() + self.stale.len()
    }
}

/// The revocation set.
pub struct Revocations {
    inner: RwLock<Inner>,
    /// Entries held (sessions + users + stale), for the fast path and the gauge.
    count: AtomicUsize,
    ttl_secs: i64,
}

impl Revocations {
    pub fn new(ttl_secs: i64) -> Self {
        Revocations {
            inner: RwLock::new(Inner::default()),
            count: AtomicUsize::new(0),
            ttl_secs,
        }
    }

    /// How long entries live.
    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// Entries held.
    pub fn active(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// The verdict for a verified identity at unix time `now`.
    pub fn check(&self, identity: &Identity, now: i64) -> Verdict {
        if self.count.load(Ordering::Relaxed) == 0 {
            return Verdict::Pass;
        }
        let Ok(inner) = self.inner.read() else {
            return Verdict::Pass;
        };
        let live = |exp: &i64| *exp > now;
        if inner.sessions.get(&identity.session_id).is_some_and(live) {
            return Verdict::SessionRevoked;
        }
        if inner.users.get(&identity.user_id).is_some_and(live) {
            return Verdict::UserRevoked;
        }
        if let Some((at_ms, exp)) = inner.stale.get(&identity.user_id) {
            // A token issued in the event's second (or earlier, or without iat) is stale:
            // at worst a fresh token of that second is refreshed once more.
            let issued_ms = identity
                .issued_at
                .map_or(i64::MIN, |iat| iat.saturating_mul(1000));
            if *exp > now && issued_ms <= *at_ms {
                return Verdict::Stale;
            }
        }
        Verdict::Pass
    }

    /// Applies an entry; returns false when it was already known (or already expired).
    pub fn apply(&self, entry: &Entry, now: i64) -> bool {
        if entry.expires_at <= now {
            return false;
        }
        let Ok(mut inner) = self.inner.write() else {
            return false;
        };
        let changed = match entry.kind {
            Kind::Session => upsert(&mut inner.sessions, &entry.id, entry.expires_at),
            Kind::User => upsert(&mut inner.users, &entry.id, entry.expires_at),
            Kind::Stale => {
                let slot = inner.stale.entry(entry.id.clone()).or_insert((i64::MIN, 0));
                let newer = entry.at_ms > slot.0 || entry.expires_at > slot.1;
                slot.0 = slot.0.max(entry.at_ms);
                slot.1 = slot.1.max(entry.expires_at);
                newer
            }
        };
        if inner.len() >= inner.purge_at {
            purge_expired(&mut inner, now);
            inner.purge_at = (inner.len() * 2).max(1024);
        }
        self.count.store(inner.len(), Ordering::Relaxed);
        changed
    }

    /// Records a delivery id; true when it was seen before (a replay).
    pub fn seen_delivery(&self, id: &str, now: i64) -> bool {
        let Ok(mut inner) = self.inner.write() else {
            return false;
        };
        if inner.deliveries.get(id).is_some_and(|exp| *exp > now) {
            return true;
        }
        if inner.deliveries.len() > 100_000 {
            inner.deliveries.retain(|_, exp| *exp > now);
        }
        inner
            .deliveries
            .insert(id.to_string(), now.saturating_add(DELIVERY_MEMORY_SECS));
        false
    }

    /// Forgets a delivery id, so that Svix's retry of a delivery that failed is acted on.
    pub fn forget_delivery(&self, id: &str) {
        if let Ok(mut inner) = self.inner.write() {
            inner.deliveries.remove(id);
        }
    }

    /// Drops expired entries (also done on every apply).
    pub fn purge(&self, now: i64) {
        if let Ok(mut inner) = self.inner.write() {
            purge_expired(&mut inner, now);
            inner.deliveries.retain(|_, exp| *exp > now);
            self.count.store(inner.len(), Ordering::Relaxed);
        }
    }
}

fn upsert(map: &mut HashMap<String, i64>, id: &str, expires_at: i64) -> bool {
    match map.get_mut(id) {
        Some(exp) if *exp >= expires_at => false,
        Some(exp) => {
            *exp = expires_at;
            true
        }
        None => {
            map.insert(id.to_string(), expires_at);
            true
        }
    }
}

fn purge_expired(inner: &mut Inner, now: i64) {
    inner.sessions.retain(|_, exp| *exp > now);
    inner.users.retain(|_, exp| *exp > now);
    inner.stale.retain(|_, (_, exp)| *exp > now);
}

#[cfg(test)]
mod tests;
