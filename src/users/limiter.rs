//! Pacing requests to Clerk's Backend API: a sliding-window limit (never more than `requests`
//! sent in any `per`), a pause every caller honours after a `429` (its `Retry-After`), and
//! the backoff between retries of a transient failure.
//!
//! Clerk publishes 100 requests per 10 s for development instances (`sk_test_` keys) and
//! 1,000 per 10 s for production (`sk_live_`). Time is `tokio::time`, so tests can pause it;
//! windows are configurable so a fake Backend API can run the same rules in milliseconds.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::{sleep_until, Instant};

/// `requests` per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
}

impl RateLimit {
    /// Clerk's published limit for the instance a secret key belongs to.
    pub fn for_key(secret_key: &str) -> RateLimit {
        let requests = if secret_key.starts_with("sk_live_") {
            1000
        } else {
            100
        };
        RateLimit {
            requests,
            per: Duration::from_secs(10),
        }
    }

    /// Parses `1000/10s` (count, slash, duration).
    pub fn parse(text: &str) -> Result<RateLimit, String> {
        let bad = || {
            format!("{text:?} is not a rate limit; write requests/duration, like \"1000/10s\" or \"100/10s\"")
        };
        let (count, per) = text.split_once('/').ok_or_else(bad)?;
        let requests: u32 = count.trim().parse().map_err(|_| bad())?;
        let per = humantime::parse_duration(per.trim()).map_err(|_| bad())?;
        if requests == 0 || per.is_zero() {
            return Err(format!(
                "{text:?} allows nothing; use at least 1 request per a non-zero duration"
            ));
        }
        Ok(RateLimit { requests, per })
    }

    /// Requests per second at this limit.
    pub fn per_second(&self) -> f64 {
        f64::from(self.requests) / self.per.as_secs_f64()
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}",
            self.requests,
            humantime::format_duration(self.per)
        )
    }
}

struct State {
    /// When each of the last `requests` requests was sent.
    sent: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

/// Shared by every request of one run.
pub struct Limiter {
    limit: RateLimit,
    state: Mutex<State>,
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit,
            state: Mutex::new(State {
                sent: VecDeque::new(),
                paused_until: None,
            }),
        }
    }

    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Waits until one more request fits the window (and any pause is over), and counts it.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().await;
                let now = Instant::now();
                while state
                    .sent
                    .front()
                    .is_some_and(|t| now.saturating_duration_since(*t) >= self.limit.per)
                {
                    state.sent.pop_front();
                }
                match state.paused_until {
                    Some(until) if until > now => until,
                    _ if state.sent.len() < self.limit.requests as usize => {
                        state.sent.push_back(now);
                        return;
                    }
                    _ => match state.sent.front() {
                        Some(oldest) => *oldest + self.limit.per,
                        None => now,
                    },
                }
            };
            sleep_until(wait).await;
        }
    }

    /// Nobody sends for `wait` (a `429` said so).
    pub async fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut state = self.state.lock().await;
        if state.paused_until.is_none_or(|u| u < until) {
            state.paused_until = Some(until);
        }
    }
}

/// Exponential backoff between retries: `first`, ×1.5 each time (Clerk's published retry
/// policy), at most `max`, with jitter between half and all of it.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The wait before retry number `attempt` (1 = the first retry).
    pub fn wait(&self, attempt: u32) -> Duration {
        let factor = 1.5_f64.powi(i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX));
        let full = self.first.mul_f64(factor.min(1e6)).min(self.max);
        full.mul_f64(rand::random_range(0.5..=1.0))
    }
}

/// Reads `Retry-After` as seconds (fractions accepted, as some fakes and proxies send).
pub fn retry_after(value: Option<&http::HeaderValue>) -> Option<Duration> {
    let text = value?.to_str().ok()?.trim();
    let secs: f64 = text.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_in_any_window() {
        let limiter = Limiter::new(RateLimit::parse("10/1s").unwrap());
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..35 {
            limiter.acquire().await;
            times.push(Instant::now() - start);
        }
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .filter(|u| **u < *t + Duration::from_secs(1))
                .count();
            assert!(in_window <= 10, "{in_window} requests within 1s of {t:?}");
        }
        assert_eq!(times[34], Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_everyone() {
        let limiter = Limiter::new(RateLimit::parse("100/1s").unwrap());
        let start = Instant::now();
        limiter.pause(Duration::from_millis(700)).await;
        limiter.acquire().await;
        assert_eq!(Instant::now() - start, Duration::from_millis(700));
    }

    #[test]
    fn limits_by_key_and_by_flag() {
        assert_eq!(RateLimit::for_key("sk_live_x").requests, 1000);
        assert_eq!(RateLimit::for_key("sk_test_x").requests, 100);
        assert_eq!(
            RateLimit::parse("1000/10s").unwrap(),
            RateLimit {
                requests: 1000,
                per: Duration::from_secs(10)
            }
        );
        for bad in ["", "10", "0/1s", "10/0s", "x/1s", "10/soon"] {
            assert!(RateLimit::parse(bad).is_err(), "{bad}");
        }
        let h = |s: &'static str| http::HeaderValue::from_static(s);
        assert_eq!(retry_after(Some(&h("2"))), Some(Duration::from_secs(2)));
        assert_eq!(
            retry_after(Some(&h("0.25"))),
            Some(Duration::from_millis(250))
        );
        assert_eq!(retry_after(Some(&h("-1"))), None);
        assert_eq!(retry_after(None), None);
    }
}
