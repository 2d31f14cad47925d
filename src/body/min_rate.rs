//! The minimum rate of a request body: a grace period, then a minimum average of bytes per
//! second (Apache mod_reqtimeout's `body=20,MinRate=500`, nginx's `client_body_timeout`).
//!
//! Only time spent *waiting for the client* counts: from the moment the client's body had
//! nothing to give until its next bytes arrive. Time the upstream takes to accept what was
//! already received (back-pressure) is not the client's fault and is not counted. A body
//! may wait `grace + received / bytes_per_second` in total; one timer (allocated the first
//! time the body has to wait, never for a body that arrives with its head) fires when that
//! allowance runs out. Time comes from `tokio::time`, so tests can pause it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// `[limits] request_body_timeout` and `request_body_min_rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinRate {
    /// Waiting time allowed before the rate applies.
    pub grace: Duration,
    /// Each byte received earns `1 / bytes_per_second` seconds more waiting time. Never 0.
    pub bytes_per_second: u64,
}

impl Default for MinRate {
    fn default() -> Self {
        MinRate {
            grace: Duration::from_secs(20),
            bytes_per_second: 500,
        }
    }
}

/// The rate check of one body.
pub(crate) struct RateGuard {
    rate: MinRate,
    received: u64,
    /// Waiting time used up by earlier waits.
    waited: Duration,
    /// When the current wait began (the body had nothing to give).
    waiting_since: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl RateGuard {
    pub(crate) fn new(rate: MinRate) -> Self {
        RateGuard {
            rate,
            received: 0,
            waited: Duration::ZERO,
            waiting_since: None,
            timer: None,
        }
    }

    /// The total waiting time earned so far.
    fn allowance(&self) -> Duration {
        let per = u128::from(self.rate.bytes_per_second.max(1));
        let nanos = u128::from(self.received).saturating_mul(1_000_000_000) / per;
        let earned = u64::try_from(nanos).map_or(Duration::MAX, Duration::from_nanos);
        self.rate.grace.saturating_add(earned)
    }

    /// The body produced a frame (`len` data bytes): the current wait, if any, ends.
    pub(crate) fn on_frame(&mut self, len: usize) {
        if let Some(since) = self.waiting_since.take() {
            self.waited = self.waited.saturating_add(since.elapsed());
        }
        self.received = self
            .received
            .saturating_add(u64::try_from(len).unwrap_or(u64::MAX));
    }

    /// The body has nothing to give: `Ready` when the client has used up its allowance,
    /// else `Pending` with the timer armed for the moment it will have.
    pub(crate) fn on_pending(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let now = Instant::now();
        let since = *self.waiting_since.get_or_insert(now);
        let left = self.allowance().saturating_sub(self.waited);
        if now.saturating_duration_since(since) >= left {
            return Poll::Ready(());
        }
        let deadline = since + left;
        let timer = match &mut self.timer {
            Some(timer) => {
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                timer
            }
            None => self
                .timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        timer.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    fn rate(grace_ms: u64, bytes_per_second: u64) -> MinRate {
        MinRate {
            grace: Duration::from_millis(grace_ms),
            bytes_per_second,
        }
    }

    /// Waits until the guard fires; returns how long that took.
    async fn wait_out(g: &mut RateGuard) -> Duration {
        let started = Instant::now();
        poll_fn(|cx| g.on_pending(cx)).await;
        started.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_body_is_cut_at_the_grace_period() {
        let mut g = RateGuard::new(rate(1000, 500));
        assert_eq!(wait_out(&mut g).await, Duration::from_millis(1000));
    }

    #[tokio::test(start_paused = true)]
    async fn each_byte_earns_more_waiting_time() {
        let mut g = RateGuard::new(rate(1000, 500));
        // 500 bytes at once: one more second.
        g.on_frame(500);
        assert_eq!(wait_out(&mut g).await, Duration::from_millis(2000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_below_the_rate_is_cut_and_one_above_it_is_not() {
        // 1 byte every 100 ms = 10 B/s against a minimum of 100 B/s: cut after ~1.1 s.
        let mut g = RateGuard::new(rate(1000, 100));
        let started = Instant::now();
        let cut = loop {
            let waited =
                tokio::time::timeout(Duration::from_millis(100), poll_fn(|cx| g.on_pending(cx)))
                    .await;
            if waited.is_ok() {
                break started.elapsed();
            }
            g.on_frame(1);
        };
        assert!(cut < Duration::from_millis(1300), "{cut:?}");
        // 50 bytes every 100 ms = 500 B/s: never cut within 30 s.
        let mut g = RateGuard::new(rate(1000, 100));
        for _ in 0..300 {
            let waited =
                tokio::time::timeout(Duration::from_millis(100), poll_fn(|cx| g.on_pending(cx)))
                    .await;
            assert!(waited.is_err(), "a 500 B/s body was cut");
            g.on_frame(50);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn time_the_upstream_takes_is_not_counted() {
        let mut g = RateGuard::new(rate(1000, 500));
        // The body had data ready; the upstream then took 10 s to ask for more.
        g.on_frame(10);
        tokio::time::advance(Duration::from_secs(10)).await;
        g.on_frame(10);
        let waited = wait_out(&mut g).await;
        assert_eq!(waited, Duration::from_millis(1040));
    }

    #[test]
    fn the_allowance_saturates() {
        let mut g = RateGuard::new(rate(1000, 1));
        g.on_frame(usize::MAX);
        g.on_frame(usize::MAX);
        assert!(g.allowance() > Duration::from_secs(1 << 40));
    }
}
