//! The response write timeout: a connection whose client stopped reading is closed, which
//! drops the in-flight response bodies and with them the upstream exchanges.
//!
//! A body wrapper cannot time itself out, because a client that does not read makes hyper
//! stop polling the body, and nothing wakes a body that is not polled. So progress is
//! recorded per connection and judged by one watchdog per connection:
//!
//! - [`WatchedBody`] (every response body) bumps a tick each time hyper polls it, and counts
//!   itself as *waiting on the client* from the moment it handed hyper data until hyper asks
//!   again. A body waiting on its upstream (SSE, long poll) is not waiting on the client.
//! - [`super::guard::GuardedIo`] bumps the tick on every successful socket write and marks
//!   the connection *blocked* while a write cannot proceed (the socket buffer is full: this
//!   covers a response already handed to hyper in full).
//! - [`stalled`] wakes every quarter of `response_write_timeout` and returns once four checks
//!   in a row saw the connection busy (a body waiting on the client, or a blocked write) and
//!   the tick unchanged: between 1 and 1.25 times the timeout without progress.
//!
//! Costs: two relaxed atomic operations per body poll and per write, one timer per
//! connection firing four times per timeout period, nothing per request.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};

/// What one connection has done lately.
#[derive(Debug, Default)]
pub struct Progress {
    ticks: AtomicU64,
    /// Response bodies that handed hyper data and wait for it to ask for more.
    waiting: AtomicUsize,
    /// The last socket write could not proceed.
    blocked: AtomicBool,
}

impl Progress {
    pub fn tick(&self) {
        self.ticks.fetch_add(1, Ordering::Relaxed);
    }

    /// A write went through (`true`) or could not proceed (`false`).
    pub fn wrote(&self, done: bool) {
        if done {
            self.tick();
        }
        if self.blocked.load(Ordering::Relaxed) == done {
            self.blocked.store(!done, Ordering::Relaxed);
        }
    }

    /// The client owes the connection a read.
    fn busy(&self) -> bool {
        self.waiting.load(Ordering::Relaxed) > 0 || self.blocked.load(Ordering::Relaxed)
    }
}

/// Returns once the connection has been busy without progress for `timeout` (to
/// 1.25 × `timeout`); never returns while it keeps moving or idles.
pub async fn stalled(progress: &Progress, timeout: Duration) {
    const CHECKS: u32 = 4;
    let period = timeout / CHECKS;
    let mut last = progress.ticks.load(Ordering::Relaxed);
    let mut still = 0;
    loop {
        tokio::time::sleep(period).await;
        let ticks = progress.ticks.load(Ordering::Relaxed);
        if progress.busy() && ticks == last {
            still += 1;
            if still >= CHECKS {
                return;
            }
        } else {
            still = 0;
            last = ticks;
        }
    }
}

/// A response body that reports to its connection's [`Progress`].
pub struct WatchedBody<B> {
    inner: B,
    progress: Arc<Progress>,
    /// Counted in `progress.waiting`.
    waiting: bool,
}

impl<B> WatchedBody<B> {
    pub fn new(inner: B, progress: Arc<Progress>) -> Self {
        WatchedBody {
            inner,
            progress,
            waiting: false,
        }
    }

    fn set_waiting(&mut self, waiting: bool) {
        if self.waiting == waiting {
            return;
        }
        self.waiting = waiting;
        if waiting {
            self.progress.waiting.fetch_add(1, Ordering::Relaxed);
        } else {
            self.progress.waiting.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl<B: Body + Unpin> Body for WatchedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = &mut *self;
        this.progress.tick();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        let waiting = matches!(polled, Poll::Ready(Some(Ok(_)))) && !this.inner.is_end_stream();
        this.set_waiting(waiting);
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for WatchedBody<B> {
    fn drop(&mut self) {
        self.set_waiting(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::{BodyExt, StreamBody};

    #[tokio::test(start_paused = true)]
    async fn an_idle_or_moving_connection_is_never_stalled() {
        let progress = Progress::default();
        let idle = tokio::time::timeout(
            Duration::from_secs(600),
            stalled(&progress, Duration::from_secs(1)),
        );
        assert!(idle.await.is_err());
        // Busy, but a write goes through every 900 ms.
        progress.wrote(false);
        let moving = async {
            loop {
                tokio::time::sleep(Duration::from_millis(900)).await;
                progress.wrote(true);
                progress.wrote(false);
            }
        };
        let judged = tokio::time::timeout(Duration::from_secs(600), async {
            tokio::select! {
                () = stalled(&progress, Duration::from_secs(1)) => {}
                () = moving => {}
            }
        });
        assert!(judged.await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_blocked_write_is_stalled_after_the_timeout() {
        let progress = Progress::default();
        progress.wrote(false);
        let started = tokio::time::Instant::now();
        stalled(&progress, Duration::from_secs(60)).await;
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(60) && took <= Duration::from_secs(75),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_waits_on_the_client_between_frames_only() {
        let progress = Arc::new(Progress::default());
        let frames = futures_util::stream::iter(
            [Bytes::from_static(b"a"), Bytes::from_static(b"b")]
                .map(|b| Ok::<_, std::convert::Infallible>(Frame::data(b))),
        );
        let mut body = WatchedBody::new(StreamBody::new(frames), progress.clone());
        assert!(!progress.busy());
        let _ = body.frame().await;
        assert!(progress.busy(), "handed data, waiting for the next poll");
        let _ = body.frame().await;
        let _ = body.frame().await;
        assert!(!progress.busy(), "ended");
        let _ = body.frame().await;
        drop(body);
        assert_eq!(progress.waiting.load(Ordering::Relaxed), 0);
        let mut body = WatchedBody::new(
            StreamBody::new(futures_util::stream::iter([Ok::<
                _,
                std::convert::Infallible,
            >(Frame::data(
                Bytes::from_static(b"a"),
            ))])),
            progress.clone(),
        );
        let _ = body.frame().await;
        drop(body);
        assert!(!progress.busy(), "a dropped body no longer waits");
    }
}
