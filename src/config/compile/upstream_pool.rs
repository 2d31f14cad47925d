//! `[[upstreams]]` pool keys: `reuse`, `idle_timeout`, `max_connection_age`, `resolve_every`.

use super::*;
use crate::upstream::pool::{PoolSettings, Reuse};
use crate::upstream::MAX_IDLE_PER_UPSTREAM;

/// The pool settings of `upstreams[i]` and its re-resolution period.
pub(super) fn compile_pool(
    raw: &RawUpstream,
    at: &str,
    p: &mut Problems,
) -> (PoolSettings, Option<Duration>) {
    let reuse = enum_value(
        p,
        &format!("{at}.reuse"),
        raw.reuse.as_deref(),
        Reuse::Fifo,
        &[("fifo", Reuse::Fifo), ("lifo", Reuse::Lifo)],
    );
    let idle_timeout = duration(
        p,
        &format!("{at}.idle_timeout"),
        raw.idle_timeout.as_deref(),
        Duration::from_secs(60),
    );
    let max_age = duration(
        p,
        &format!("{at}.max_connection_age"),
        raw.max_connection_age.as_deref(),
        Duration::from_secs(300),
    );
    let resolve_every = duration(
        p,
        &format!("{at}.resolve_every"),
        raw.resolve_every.as_deref(),
        Duration::from_secs(30),
    );
    for (key, value) in [
        ("idle_timeout", idle_timeout),
        ("max_connection_age", max_age),
    ] {
        if value < Duration::from_millis(100) {
            p.err(
                format!("{at}.{key}"),
                format!("{value:?} would close every connection right after use; use at least \"100ms\" (typically \"60s\" / \"5m\")"),
            );
        }
    }
    let settings = PoolSettings {
        reuse,
        idle_timeout,
        max_age,
        max_idle: MAX_IDLE_PER_UPSTREAM,
    };
    (
        settings,
        (!resolve_every.is_zero()).then_some(resolve_every),
    )
}
