//! The idle connections of one upstream, and the rules that retire them.
//!
//! A pure data structure over any connection type: every operation takes `now`, so the
//! rules are tested with made-up instants instead of sleeps. It knows nothing of sockets;
//! [`super`] puts connections in after a response and takes them out for the next request.
//!
//! - **Reuse order** ([`Reuse`]): `fifo` takes the connection idle longest, so every pooled
//!   connection carries requests in turn. Behind a Kubernetes Service (kube-proxy picks a pod
//!   per *connection*), that spreads requests over the pods the pool is connected to. `lifo`
//!   takes the most recent, which keeps fewer connections busy but pins traffic to a few pods.
//! - **Idle timeout**: a connection unused for longer is closed (at the next take, put or
//!   sweep), before the upstream's own keep-alive timeout closes it under a request.
//! - **Maximum age**: a connection older than this is closed when it comes back, so the pool
//!   re-dials (and re-resolves DNS) regularly and reaches pods that started since.
//! - **Addresses**: when DNS re-resolution says an address is gone, connections to it are
//!   closed ([`Pool::retain_addresses`]) instead of carrying traffic to a pod that left.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Which idle connection the next request takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// The one idle longest: spreads requests over every pooled connection.
    Fifo,
    /// The most recently used: fewest connections in use.
    Lifo,
}

/// How long connections may live and stay idle, and how many are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub reuse: Reuse,
    pub idle_timeout: Duration,
    pub max_age: Duration,
    pub max_idle: usize,
}

/// One idle connection with what the rules need to know about it.
#[derive(Debug)]
struct Idle<C> {
    conn: C,
    created: Instant,
    idle_since: Instant,
    /// The address it is connected to, when known.
    addr: Option<SocketAddr>,
}

/// A connection taken from the pool, with its birth time and address (handed back to
/// [`Pool::put`] after the response).
#[derive(Debug)]
pub struct Lease<C> {
    pub conn: C,
    pub created: Instant,
    pub addr: Option<SocketAddr>,
}

/// The idle connections of one upstream.
#[derive(Debug)]
pub struct Pool<C> {
    settings: PoolSettings,
    /// Front: idle longest. Back: most recently returned.
    idle: VecDeque<Idle<C>>,
}

impl<C> Pool<C> {
    pub fn new(settings: PoolSettings) -> Self {
        Pool {
            settings,
            idle: VecDeque::new(),
        }
    }

    /// A usable idle connection in the configured order, closing (dropping) the expired
    /// ones it passes.
    pub fn take(&mut self, now: Instant) -> Option<Lease<C>> {
        loop {
            let next = match self.settings.reuse {
                Reuse::Fifo => self.idle.pop_front(),
                Reuse::Lifo => self.idle.pop_back(),
            }?;
            if self.fresh(next.created, next.idle_since, now) {
                return Some(Lease {
                    conn: next.conn,
                    created: next.created,
                    addr: next.addr,
                });
            }
        }
    }

    /// Returns a connection after a complete response. It is dropped (closed) instead when
    /// it is past its maximum age or the pool is full. True when it was kept.
    pub fn put(&mut self, lease: Lease<C>, now: Instant) -> bool {
        let too_old = now.saturating_duration_since(lease.created) >= self.settings.max_age;
        if too_old || self.idle.len() >= self.settings.max_idle {
            return false;
        }
        self.idle.push_back(Idle {
            conn: lease.conn,
            created: lease.created,
            idle_since: now,
            addr: lease.addr,
        });
        true
    }

    /// Drops every idle connection past its idle timeout or maximum age; returns how many.
    pub fn sweep(&mut self, now: Instant) -> usize {
        let before = self.idle.len();
        let settings = self.settings;
        self.idle
            .retain(|c| fresh(&settings, c.created, c.idle_since, now));
        before - self.idle.len()
    }

    /// Drops idle connections to addresses no longer in `current` (connections whose
    /// address is unknown are kept); returns how many.
    pub fn retain_addresses(&mut self, current: &[SocketAddr]) -> usize {
        let before = self.idle.len();
        self.idle
            .retain(|c| c.addr.is_none_or(|addr| current.contains(&addr)));
        before - self.idle.len()
    }

    /// The rules this pool applies.
    pub fn settings(&self) -> PoolSettings {
        self.settings
    }

    /// Idle connections held.
    pub fn len(&self) -> usize {
        self.idle.len()
    }

    fn fresh(&self, created: Instant, idle_since: Instant, now: Instant) -> bool {
        fresh(&self.settings, created, idle_since, now)
    }
}

fn fresh(settings: &PoolSettings, created: Instant, idle_since: Instant, now: Instant) -> bool {
    now.saturating_duration_since(idle_since) < settings.idle_timeout
        && now.saturating_duration_since(created) < settings.max_age
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn settings(reuse: Reuse) -> PoolSettings {
        PoolSettings {
            reuse,
            idle_timeout: 60 * SEC,
            max_age: 300 * SEC,
            max_idle: 3,
        }
    }

    fn lease(conn: u32, created: Instant) -> Lease<u32> {
        Lease {
            conn,
            created,
            addr: None,
        }
    }

    #[test]
    fn fifo_takes_every_connection_in_turn_and_lifo_the_latest() {
        let t0 = Instant::now();
        for (reuse, expected) in [(Reuse::Fifo, [1, 2, 3, 1, 2, 3]), (Reuse::Lifo, [3; 6])] {
            let mut pool = Pool::new(settings(reuse));
            for c in 1..=3 {
                assert!(pool.put(lease(c, t0), t0));
            }
            let mut taken = Vec::new();
            for i in 0..6 {
                let now = t0 + SEC * i;
                let got = pool.take(now).unwrap();
                taken.push(got.conn);
                pool.put(got, now);
            }
            assert_eq!(taken, expected, "{reuse:?}");
        }
    }

    #[test]
    fn connections_idle_past_the_timeout_are_closed_not_reused() {
        let t0 = Instant::now();
        let mut pool = Pool::new(settings(Reuse::Fifo));
        pool.put(lease(1, t0), t0);
        pool.put(lease(2, t0), t0 + 30 * SEC);
        // At 70 s, connection 1 has been idle 70 s (closed), connection 2 for 40 s.
        assert_eq!(pool.take(t0 + 70 * SEC).map(|l| l.conn), Some(2));
        assert_eq!(pool.len(), 0);
        pool.put(lease(3, t0), t0);
        assert_eq!(pool.sweep(t0 + 59 * SEC), 0);
        assert_eq!(pool.sweep(t0 + 60 * SEC), 1);
    }

    #[test]
    fn connections_past_their_maximum_age_are_closed_when_they_come_back() {
        let t0 = Instant::now();
        let mut pool = Pool::new(settings(Reuse::Lifo));
        assert!(pool.put(lease(1, t0), t0 + 299 * SEC));
        let busy = pool.take(t0 + 299 * SEC).unwrap();
        assert!(!pool.put(busy, t0 + 300 * SEC), "kept past max_age");
        // An idle one past its age is not handed out either.
        pool.put(lease(2, t0), t0 + 250 * SEC);
        assert!(pool.take(t0 + 301 * SEC).is_none());
    }

    #[test]
    fn a_full_pool_closes_the_extra_connection() {
        let t0 = Instant::now();
        let mut pool = Pool::new(settings(Reuse::Fifo));
        for c in 0..3 {
            assert!(pool.put(lease(c, t0), t0));
        }
        assert!(!pool.put(lease(9, t0), t0));
        assert_eq!(pool.len(), 3);
    }

    #[test]
    fn connections_to_addresses_dns_no_longer_returns_are_closed() {
        let t0 = Instant::now();
        let a: SocketAddr = "10.0.0.1:80".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let mut pool = Pool::new(settings(Reuse::Fifo));
        for addr in [Some(a), Some(b), None] {
            pool.put(
                Lease {
                    conn: 0,
                    created: t0,
                    addr,
                },
                t0,
            );
        }
        assert_eq!(pool.retain_addresses(&[b]), 1);
        assert_eq!(pool.len(), 2);
    }
}
