//! The background upkeep of one upstream's pool: closing idle connections that expired, and
//! resolving the upstream's host again so connections to addresses DNS no longer returns
//! (a Kubernetes headless Service's pods that left, a load balancer that moved) are closed.
//!
//! One task per upstream, holding only a weak reference: it ends by itself when the config
//! snapshot that owns the pool is dropped. It never touches a connection in use; those are
//! checked when they come back ([`super::Target::release`]).

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::Target;

/// The shortest period between two sweeps, whatever the settings.
const MIN_PERIOD: Duration = Duration::from_millis(50);

/// Starts the upkeep of `target` (nothing outside a Tokio runtime, e.g. in a unit test).
pub(super) fn spawn(target: &Arc<Target>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let settings = target.lock_idle_settings();
    // Sweep at half the idle timeout, so a connection outlives it by at most half again.
    let mut period = (settings.idle_timeout / 2).max(MIN_PERIOD);
    let host = hostname(target);
    if let (Some(every), Some(_)) = (target.resolve_every, &host) {
        period = period.min(every.max(MIN_PERIOD));
    }
    let weak = Arc::downgrade(target);
    runtime.spawn(run(weak, period, host));
}

async fn run(target: Weak<Target>, period: Duration, host: Option<String>) {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut last_resolve: Option<Instant> = None;
    loop {
        ticker.tick().await;
        let Some(t) = target.upgrade() else { return };
        t.lock_idle().sweep(Instant::now());
        if let Some(mut raw) = t.lock_raw() {
            raw.sweep(Instant::now());
        }
        let due = match (t.resolve_every, last_resolve) {
            (Some(every), Some(at)) => at.elapsed() >= every,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let Some(host) = host.as_deref().filter(|_| due) else {
            continue;
        };
        // Resolve without holding the target: a dropped snapshot ends the task meanwhile.
        drop(t);
        last_resolve = Some(Instant::now());
        let resolved = tokio::net::lookup_host(host).await;
        let Some(t) = target.upgrade() else { return };
        match resolved {
            Ok(addrs) => apply(&t, addrs.collect()),
            Err(e) => {
                tracing::debug!(upstream = &*t.name, error = %e, "upstream re-resolution failed; keeping its connections")
            }
        }
    }
}

/// Records the resolved addresses and closes idle connections to any other.
fn apply(target: &Target, current: Vec<SocketAddr>) {
    if current.is_empty() {
        return;
    }
    let closed = target.lock_idle().retain_addresses(&current)
        + target
            .lock_raw()
            .map_or(0, |mut raw| raw.retain_addresses(&current));
    if closed > 0 {
        tracing::info!(
            upstream = &*target.name,
            closed,
            "closed idle connections to addresses DNS no longer returns"
        );
    }
    *target
        .addresses
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(current);
}

/// `host:port` to resolve, or `None` for an IP literal (nothing to re-resolve).
fn hostname(target: &Target) -> Option<String> {
    let authority = target.base.authority()?;
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    if host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let port = authority
        .port_u16()
        .unwrap_or(if target.base.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    Some(format!("{host}:{port}"))
}
