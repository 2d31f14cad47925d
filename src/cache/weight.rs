//! What an entry costs the cache's byte budget, and the index's pass-through hasher.

use std::hash::Hasher;

use http::{HeaderName, HeaderValue};

use super::{Entry, Session};
use crate::token::claims::Identity;

/// Approximate bytes an entry keeps alive: the token, the identity's strings, the header
/// values, and the fixed-size parts (entry, session, identity, index slot).
pub(super) fn entry_weight(token: &str, session: &Session) -> usize {
    let id = &session.identity;
    let strings =
        |v: &[String]| v.iter().map(String::capacity).sum::<usize>() + std::mem::size_of_val(v);
    let optional = [
        &id.user_type,
        &id.org_id,
        &id.org_slug,
        &id.org_role,
        &id.onboarding_status,
    ]
    .iter()
    .map(|s| s.as_ref().map_or(0, String::capacity))
    .sum::<usize>();
    let identity = id.user_id.capacity()
        + id.session_id.capacity()
        + optional
        + strings(&id.roles)
        + strings(&id.permissions)
        + strings(&id.feature_flags)
        + strings(&id.onboarding_missing)
        + id.claims.as_ref().map_or(0, |c| c.bytes());
    // Each value owns its bytes plus a shared-buffer header.
    let headers = session
        .headers
        .iter()
        .map(|(_, v)| v.len() + 32 + std::mem::size_of::<(HeaderName, HeaderValue)>())
        .sum::<usize>();
    // Every heap block also costs the allocator a header and rounding (about 24 bytes).
    let blocks = 5 // token, session, identity, headers slice, index growth share
        + 2
        + id.roles.len()
        + id.permissions.len()
        + id.feature_flags.len()
        + 3
        + session.headers.len();
    const FIXED: usize = std::mem::size_of::<Option<Entry>>()
        + std::mem::size_of::<Session>()
        + std::mem::size_of::<Identity>()
        + 2 * 16 // two Arc headers
        + 16 // index slot
        + 4; // free-list slot
    token.len()
        + identity
        + headers
        + session.assertions.reserved()
        + blocks * ALLOCATION_OVERHEAD
        + FIXED
}

/// What one heap block costs beyond its size, on average (malloc header and rounding).
const ALLOCATION_OVERHEAD: usize = 24;

/// The index hasher: token hashes are already uniformly distributed, so use them as they are.
#[derive(Default)]
pub(super) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed here; fold anything else in anyway, for completeness.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
