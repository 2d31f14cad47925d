//! The key ring: which key signs now and which public keys are published.
//!
//! From files: the first key signs, every listed key is published, nothing else; a reload
//! with a new list is the rotation (a key removed from the list is unpublished at once, so a
//! leaked key can be withdrawn). Generated: one key signs, the **next** one is published
//! already (verifiers that cache the JWKS know it before it signs), and every
//! `rotate_every` the next key takes over while the retired one stays published for the
//! assertion lifetime plus [`MARGIN`], so nothing it signed stops verifying early. Rotation
//! is driven by the injected clock on the first use after it is due (the warm path pays one
//! atomic load and a comparison).

use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use super::keys::{KeyError, SigningKey};
use crate::config::assertion::{Algorithm, Assertion};

/// How long a retired key stays published beyond the assertion lifetime (clock skew between
/// doorman and the verifiers, requests still in flight).
pub const MARGIN: i64 = 60;

struct Retired {
    key: Arc<SigningKey>,
    /// Unpublished once `now` reaches this.
    until: i64,
}

struct State {
    signing: Arc<SigningKey>,
    /// Generated keys: the key that signs after the next rotation.
    next: Option<Arc<SigningKey>>,
    /// Files: the other listed keys (never retire by time).
    listed: Vec<Arc<SigningKey>>,
    retired: Vec<Retired>,
    /// Generated keys: when `next` takes over.
    rotates_at: Option<i64>,
}

/// The keys of one `[assertion]` configuration.
pub struct KeyRing {
    algorithm: Algorithm,
    generated: bool,
    rotate_every: i64,
    /// How long a retired key stays published: lifetime + [`MARGIN`].
    keep: i64,
    state: ArcSwap<State>,
    rotating: Mutex<()>,
}

impl KeyRing {
    /// The ring for `settings` at `now`. A ring of generated keys carries on from
    /// `previous` (a reload): the same ring when nothing about the keys changed, else the
    /// previous published keys stay published as retired ones.
    pub fn new(
        settings: &Assertion,
        previous: Option<&Arc<KeyRing>>,
        now: i64,
    ) -> Result<Arc<KeyRing>, KeyError> {
        let generated = settings.keys.is_empty();
        let rotate_every = secs(settings.rotate_every);
        let keep = secs(settings.lifetime).saturating_add(MARGIN);
        if let Some(prev) = previous.filter(|p| {
            generated
                && p.generated
                && p.algorithm == settings.algorithm
                && p.rotate_every == rotate_every
                && p.keep == keep
        }) {
            return Ok(prev.clone());
        }
        let state = if generated {
            let mut retired = Vec::new();
            if let Some(prev) = previous.filter(|p| p.generated) {
                let old = prev.state.load();
                // Long enough for what the previous settings signed.
                let until = now.saturating_add(keep.max(prev.keep));
                retired.extend(old.published().map(|key| Retired { key, until }));
            }
            State {
                signing: Arc::new(SigningKey::generate(settings.algorithm)?),
                next: Some(Arc::new(SigningKey::generate(settings.algorithm)?)),
                listed: Vec::new(),
                retired,
                rotates_at: Some(now.saturating_add(rotate_every)),
            }
        } else {
            let mut loaded = settings
                .keys
                .iter()
                .enumerate()
                .map(|(i, path)| SigningKey::load(settings.algorithm, i, path).map(Arc::new))
                .collect::<Result<Vec<_>, _>>()?;
            if loaded.is_empty() {
                return Err(KeyError::Generate);
            }
            let signing = loaded.remove(0);
            State {
                signing,
                next: None,
                listed: loaded,
                retired: Vec::new(),
                rotates_at: None,
            }
        };
        Ok(Arc::new(KeyRing {
            algorithm: settings.algorithm,
            generated,
            rotate_every,
            keep,
            state: ArcSwap::from_pointee(state),
            rotating: Mutex::new(()),
        }))
    }

    /// The key that signs at `now`, rotating first when a rotation is due.
    pub fn signing(&self, now: i64) -> Arc<SigningKey> {
        self.rotate_if_due(now);
        self.state.load().signing.clone()
    }

    /// The [`SigningKey::generation`] of the key that signs at `now` (rotating first when
    /// due), without taking a reference to it: the warm path's check.
    pub fn signing_generation(&self, now: i64) -> u64 {
        self.rotate_if_due(now);
        self.state.load().signing.generation
    }

    fn rotate_if_due(&self, now: i64) {
        let due = self.state.load().rotates_at.is_some_and(|at| now >= at);
        if due {
            self.rotate(now);
        }
    }

    /// Every public key to publish at `now` (signing first), rotating first when due.
    pub fn published(&self, now: i64) -> Vec<Arc<SigningKey>> {
        self.signing(now);
        let state = self.state.load();
        let retired = state
            .retired
            .iter()
            .filter(|r| now < r.until)
            .map(|r| r.key.clone());
        state.published().chain(retired).collect()
    }

    /// Whether doorman made these keys itself (each replica then has its own).
    pub fn generated(&self) -> bool {
        self.generated
    }

    fn rotate(&self, now: i64) {
        let _one = self.rotating.lock().unwrap_or_else(PoisonError::into_inner);
        let old = self.state.load_full();
        if old.rotates_at.is_none_or(|at| now < at) {
            return; // another request rotated meanwhile
        }
        let fresh = match SigningKey::generate(self.algorithm) {
            Ok(key) => Arc::new(key),
            Err(e) => {
                tracing::warn!(error = %e, "assertion key rotation failed; the current key keeps signing");
                return;
            }
        };
        // Lazily, on the first use once due: the next period starts now (a clock that jumped
        // several periods ahead rotates once).
        let rotates_at = now.saturating_add(self.rotate_every);
        let until = now.saturating_add(self.keep);
        let mut retired: Vec<Retired> = old
            .retired
            .iter()
            .filter(|r| now < r.until)
            .map(|r| Retired {
                key: r.key.clone(),
                until: r.until,
            })
            .collect();
        retired.push(Retired {
            key: old.signing.clone(),
            until,
        });
        let signing = old.next.clone().unwrap_or_else(|| fresh.clone());
        self.state.store(Arc::new(State {
            signing,
            next: Some(fresh),
            listed: Vec::new(),
            retired,
            rotates_at: Some(rotates_at),
        }));
        tracing::info!("assertion signing key rotated");
    }
}

impl State {
    /// The signing key, the next one and the listed ones (not the retired ones).
    fn published(&self) -> impl Iterator<Item = Arc<SigningKey>> + '_ {
        std::iter::once(self.signing.clone())
            .chain(self.next.clone())
            .chain(self.listed.iter().cloned())
    }
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
