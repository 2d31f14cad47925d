//! The verified-token cache: a session token that verified once is not parsed, verified or
//! turned into an identity again until it expires, its key set changes, or it is evicted.
//!
//! Keyed by a seeded hash of the **whole** token; every entry keeps the whole token and a hit
//! compares it byte for byte, so no hash collision can ever hand one user's identity to
//! another token (never keyed by `kid` or `sub`). An entry holds the verified [`Identity`] and
//! the identity header values prepared once ([`Session`]). A hit is served only while
//!
//! - the token is still valid under the rule verification applies (`exp <= now - skew` is
//!   expired; `nbf` and `iat` not later than `now + skew`), with the same injected clock; and
//! - the key set that verified it is still the one in use. Every key load installs a new
//!   `Arc<KeySet>`; an entry remembers the set it was verified with and a hit on any other set
//!   is a miss, so the full verification that follows decides again (a removed `kid` then
//!   fails with `UnknownKid`; stale keys fail with `KeysUnavailable`).
//!
//! Only successful verifications are inserted; a refusal is never cached.
//!
//! Bounded: at most `max_entries` entries and about `max_bytes` bytes (token, identity,
//! header values and bookkeeping), split evenly over shards, each a mutex around a hash index
//! and a slab. A full shard evicts with CLOCK (second chance: an entry hit since the hand last
//! passed survives one more round; an expired one goes first), O(1) amortized. Expired
//! entries are dropped when hit, when the hand passes, by a two-slot sweep on every insert and
//! by [`TokenCache::sweep_expired`] (run periodically by [`spawn_sweeper`]), so they never pin
//! memory. This module never logs a token or a claim.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use prometheus_client::metrics::gauge::Gauge;

use crate::clock::Clock;
use crate::config::CacheSettings;
use crate::keys::KeySet;
use crate::token::claims::Identity;
use crate::token::VerifiedClaims;

/// How often [`spawn_sweeper`] drops expired entries.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(30);

/// Most shards a cache is split into.
const MAX_SHARDS: usize = 64;

/// Fewest entries a shard is sized for (a small cache gets fewer shards), so eviction
/// always has a few candidates to choose from.
const MIN_ENTRIES_PER_SHARD: usize = 64;

/// A verified token's identity and the headers that carry it upstream, shared by every
/// request that presents the token.
#[derive(Debug)]
pub struct Session {
    pub identity: Arc<Identity>,
    /// Identity header names and values, prepared once (see `identity::identity_headers`).
    pub headers: Box<[(HeaderName, HeaderValue)]>,
    /// The signed assertions prepared for this session (`[assertion]`; empty when off).
    pub assertions: crate::assertion::Slot,
}

/// The time claims of a verified token that bound how long its verification holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub exp: i64,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
}

impl Validity {
    pub fn of(claims: &VerifiedClaims) -> Validity {
        Validity {
            exp: claims.exp,
            nbf: claims.nbf,
            iat: claims.iat,
        }
    }

    /// True while verification at `now` would still accept these times: the same rule as
    /// `VerifiedClaims::expired_at` (`exp <= now - skew` is expired, the boundary included),
    /// and `nbf`/`iat` not after `now + skew` (a clock set back must not serve a token early).
    pub fn holds_at(&self, now: i64, skew_secs: i64) -> bool {
        let expired = self.exp <= now.saturating_sub(skew_secs);
        let latest = now.saturating_add(skew_secs);
        !expired
            && self.nbf.is_none_or(|nbf| nbf <= latest)
            && self.iat.is_none_or(|iat| iat <= latest)
    }
}

/// The default hasher: foldhash with a per-cache random seed (fast on ~1 KB tokens; the
/// stored token is compared on every hit, so the hash never decides who someone is).
pub type DefaultState = foldhash::quality::RandomState;

/// The cache. Cheap to share (`Arc`), safe to use from every worker at once.
pub struct TokenCache<S = DefaultState> {
    shards: Box<[Mutex<Shard>]>,
    state: S,
    /// `shards.len() - 1` (a power of two minus one).
    shard_mask: usize,
    entries_per_shard: usize,
    bytes_per_shard: usize,
    skew_secs: i64,
    gauges: Option<Gauges>,
}

/// `doorman_token_cache_entries` and `doorman_token_cache_bytes`, kept current.
#[derive(Clone)]
struct Gauges {
    entries: Gauge,
    bytes: Gauge,
}

struct Shard {
    /// Token hash → slot.
    index: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    hand: usize,
    sweep: usize,
    len: usize,
    bytes: usize,
}

struct Entry {
    hash: u64,
    token: Box<str>,
    session: Arc<Session>,
    validity: Validity,
    /// The key set that verified the token; a hit needs it to still be the current one.
    keys: Weak<KeySet>,
    weight: usize,
    referenced: bool,
}

/// Counts of what a cache holds (for tests, benches and the scale check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Occupancy {
    pub entries: usize,
    pub bytes: usize,
}

impl TokenCache<DefaultState> {
    /// A cache bounded by `settings`, for tokens verified with `skew_secs` of clock skew.
    pub fn new(settings: &CacheSettings, skew_secs: u64) -> Self {
        Self::with_hasher(settings, skew_secs, DefaultState::default())
    }
}

impl<S: BuildHasher> TokenCache<S> {
    /// A cache hashing tokens with `state` (tests use a constant hash to force collisions).
    pub fn with_hasher(settings: &CacheSettings, skew_secs: u64, state: S) -> Self {
        let max_entries = settings.max_entries.max(1);
        let parallelism = std::thread::available_parallelism().map_or(4, |n| n.get());
        let wanted = (parallelism * 4).next_power_of_two().min(MAX_SHARDS);
        // The per-shard bounds are whole divisions, so they add up to at most the totals.
        let shards = wanted.min(previous_power_of_two(max_entries / MIN_ENTRIES_PER_SHARD));
        TokenCache {
            shards: (0..shards).map(|_| Mutex::new(Shard::new())).collect(),
            state,
            shard_mask: shards - 1,
            entries_per_shard: max_entries / shards,
            bytes_per_shard: settings.max_bytes / shards,
            skew_secs: i64::try_from(skew_secs).unwrap_or(i64::MAX),
            gauges: None,
        }
    }

    /// Keeps `entries` and `bytes` equal to what this cache holds (and gives it back on drop).
    pub fn with_gauges(mut self, entries: Gauge, bytes: Gauge) -> Self {
        self.gauges = Some(Gauges { entries, bytes });
        self
    }

    /// Reports the change from `before` to what `shard` holds now.
    fn account(&self, before: Occupancy, shard: &Shard) {
        if let Some(g) = &self.gauges {
            let delta = |now: usize, then: usize| {
                i64::try_from(now).unwrap_or(i64::MAX) - i64::try_from(then).unwrap_or(i64::MAX)
            };
            g.entries.inc_by(delta(shard.len, before.entries));
            g.bytes.inc_by(delta(shard.bytes, before.bytes));
        }
    }

    /// The session cached for exactly `token` (bytes; only verified tokens are ever stored,
    /// so a hit also proves `token` is one), if it still holds at `now` under `current` keys.
    /// An entry that no longer holds is dropped.
    pub fn get(
        &self,
        token: impl AsRef<[u8]>,
        now: i64,
        current: &Arc<KeySet>,
    ) -> Option<Arc<Session>> {
        let token = token.as_ref();
        let hash = self.state.hash_one(token);
        let mut shard = self.lock(hash);
        let slot = *shard.index.get(&hash)?;
        let entry = shard.slots.get_mut(slot as usize)?.as_mut()?;
        if entry.token.as_bytes() != token {
            // Same hash, another token: never served, never disturbed.
            return None;
        }
        let same_keys = std::ptr::eq(entry.keys.as_ptr(), Arc::as_ptr(current));
        if same_keys && entry.validity.holds_at(now, self.skew_secs) {
            entry.referenced = true;
            return Some(entry.session.clone());
        }
        let before = shard.occupancy();
        shard.remove(slot as usize);
        self.account(before, &shard);
        None
    }

    /// Remembers that `token` verified with `keys` into `session`, valid for `validity`.
    /// A token that does not hold at `now`, or heavier than a shard's byte bound, is not kept.
    pub fn insert(
        &self,
        token: &str,
        session: Arc<Session>,
        validity: Validity,
        keys: &Arc<KeySet>,
        now: i64,
    ) {
        if !validity.holds_at(now, self.skew_secs) {
            return;
        }
        let weight = entry_weight(token, &session);
        if weight > self.bytes_per_shard {
            return;
        }
        let hash = self.state.hash_one(token.as_bytes());
        let skew = self.skew_secs;
        let (max_entries, max_bytes) = (self.entries_per_shard, self.bytes_per_shard);
        let mut shard = self.lock(hash);
        let before = shard.occupancy();
        if let Some(&slot) = shard.index.get(&hash) {
            // The same token verified again (or a colliding one): the newer entry wins.
            shard.remove(slot as usize);
        }
        while shard.len >= max_entries || shard.bytes + weight > max_bytes {
            if !shard.evict_one(now, skew) {
                self.account(before, &shard);
                return;
            }
        }
        shard.put(Entry {
            hash,
            token: token.into(),
            session,
            validity,
            keys: Arc::downgrade(keys),
            weight,
            referenced: false,
        });
        shard.sweep_some(2, now, skew);
        self.account(before, &shard);
    }

    /// Drops every entry that no longer holds at `now`; returns how many were dropped.
    pub fn sweep_expired(&self, now: i64) -> usize {
        let mut dropped = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            let before = shard.occupancy();
            let n = shard.slots.len();
            dropped += shard.sweep_some(n, now, self.skew_secs);
            self.account(before, &shard);
        }
        dropped
    }

    /// How many entries and (approximate) bytes are held.
    pub fn occupancy(&self) -> Occupancy {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).occupancy())
            .fold(Occupancy::default(), |a, b| Occupancy {
                entries: a.entries + b.entries,
                bytes: a.bytes + b.bytes,
            })
    }

    /// The most entries the cache will ever hold at once.
    pub fn capacity(&self) -> usize {
        self.entries_per_shard * self.shards.len()
    }

    fn lock(&self, hash: u64) -> MutexGuard<'_, Shard> {
        // Bits 32.. choose the shard: the index inside uses the low bits for buckets and the
        // top seven as tags, so neither loses entropy.
        let index = (hash >> 32) as usize & self.shard_mask;
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<S> Drop for TokenCache<S> {
    fn drop(&mut self) {
        let Some(g) = &self.gauges else { return };
        for shard in self.shards.iter() {
            let held = shard
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .occupancy();
            g.entries
                .dec_by(i64::try_from(held.entries).unwrap_or(i64::MAX));
            g.bytes
                .dec_by(i64::try_from(held.bytes).unwrap_or(i64::MAX));
        }
    }
}

impl Shard {
    fn occupancy(&self) -> Occupancy {
        Occupancy {
            entries: self.len,
            bytes: self.bytes,
        }
    }

    fn new() -> Shard {
        Shard {
            index: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            hand: 0,
            sweep: 0,
            len: 0,
            bytes: 0,
        }
    }

    fn put(&mut self, entry: Entry) {
        let (hash, weight) = (entry.hash, entry.weight);
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(entry);
                slot
            }
            None => {
                self.slots.push(Some(entry));
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.index.insert(hash, slot);
        self.len += 1;
        self.bytes += weight;
    }

    fn remove(&mut self, slot: usize) {
        let Some(entry) = self.slots.get_mut(slot).and_then(Option::take) else {
            return;
        };
        self.index.remove(&entry.hash);
        self.free.push(u32::try_from(slot).unwrap_or(u32::MAX));
        self.len -= 1;
        self.bytes -= entry.weight;
    }

    /// Evicts one entry (CLOCK); false when there is nothing to evict.
    fn evict_one(&mut self, now: i64, skew: i64) -> bool {
        let n = self.slots.len();
        if self.len == 0 || n == 0 {
            return false;
        }
        // Two full turns always find a victim: the first clears every reference bit.
        for _ in 0..=2 * n {
            let at = self.hand % n;
            self.hand = (at + 1) % n;
            let victim = match &mut self.slots[at] {
                None => false,
                Some(e) if !e.validity.holds_at(now, skew) => true,
                Some(e) if e.referenced => {
                    e.referenced = false;
                    false
                }
                Some(_) => true,
            };
            if victim {
                self.remove(at);
                return true;
            }
        }
        false
    }

    /// Looks at the next `count` slots after the sweep cursor and drops expired entries.
    fn sweep_some(&mut self, count: usize, now: i64, skew: i64) -> usize {
        let n = self.slots.len();
        let mut dropped = 0;
        for _ in 0..count.min(n) {
            let at = self.sweep % n;
            self.sweep = (at + 1) % n;
            if self.slots[at]
                .as_ref()
                .is_some_and(|e| !e.validity.holds_at(now, skew))
            {
                self.remove(at);
                dropped += 1;
            }
        }
        dropped
    }
}

/// Runs [`TokenCache::sweep_expired`] every [`SWEEP_INTERVAL`] on the current tokio runtime
/// until the cache is dropped. Does nothing outside a runtime.
pub fn spawn_sweeper<S>(cache: &Arc<TokenCache<S>>, clock: Arc<dyn Clock>)
where
    S: BuildHasher + Send + Sync + 'static,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let cache = Arc::downgrade(cache);
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_INTERVAL);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(cache) = cache.upgrade() else { return };
            cache.sweep_expired(clock.now_unix());
        }
    });
}

fn previous_power_of_two(n: usize) -> usize {
    match n {
        0 => 1,
        n => 1 << (usize::BITS - 1 - n.leading_zeros()),
    }
}

mod weight;

use weight::{entry_weight, PassThrough};

#[cfg(test)]
mod tests;
