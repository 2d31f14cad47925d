//! A deadline that recurs (one per request on a long-lived connection) with one timer for
//! the connection's life: starting a new deadline reads the clock, and the timer is re-armed
//! only when it fires before the current deadline. A timer registered and removed per
//! request costs a timer-wheel insert and removal each time; this costs neither.
//!
//! Times are tokio's, so tests that pause tokio's clock drive it.

use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Instant, Sleep};

pub struct Deadline {
    timeout: Duration,
    at: Instant,
    timer: Pin<Box<Sleep>>,
}

impl Deadline {
    pub fn new(timeout: Duration) -> Deadline {
        let at = Instant::now() + timeout;
        Deadline {
            timeout,
            at,
            timer: Box::pin(tokio::time::sleep_until(at)),
        }
    }

    /// A new deadline starts: `timeout` from now.
    pub fn start(&mut self) {
        self.at = Instant::now() + self.timeout;
    }

    /// A new deadline starts, at `at`.
    pub fn start_at(&mut self, at: Instant) {
        self.at = at;
    }

    /// Resolves when the current deadline passes.
    pub async fn expired(&mut self) {
        loop {
            self.timer.as_mut().await;
            if Instant::now() >= self.at {
                return;
            }
            self.timer.as_mut().reset(self.at);
        }
    }
}
