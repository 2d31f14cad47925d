//! The request body on its way upstream: streamed as it arrives, refused once it passes the
//! route's `max_body_bytes`, cut off when the client sends it too slowly.
//!
//! A `Content-Length` above the limit is refused before anything is sent (413, the upstream
//! sees nothing). A body without a length (chunked, HTTP/2) is counted as it streams; the
//! frame that passes the limit ends the upstream request with an error that the proxy turns
//! into 413. No allocation, no buffering.
//!
//! A body that falls below `[limits] request_body_min_rate` after `request_body_timeout`
//! ([`min_rate`]) ends the upstream request with [`TooSlow`] (408 for the client, the upstream
//! never sees the end of the body, its connection is closed rather than reused). A body that
//! arrives with its head never arms a timer.

mod min_rate;

pub use min_rate::MinRate;
use min_rate::RateGuard;

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};

/// The body passed `max_body_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("request body larger than the route's max_body_bytes")
    }
}

impl StdError for TooLarge {}

/// The client sent its body slower than `[limits] request_body_min_rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooSlow;

impl fmt::Display for TooSlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("request body slower than [limits] request_body_min_rate")
    }
}

impl StdError for TooSlow {}

/// The client's body broke (a malformed chunk, a reset): the client's fault, not the
/// upstream's.
#[derive(Debug)]
pub struct ClientBody(hyper::Error);

impl fmt::Display for ClientBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the client's request body failed: {}", self.0)
    }
}

impl StdError for ClientBody {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.0)
    }
}

/// A request's body as the client connection delivers it: hyper's, or none at all (a
/// bodiless request read by doorman's own HTTP/1 loop, [`crate::server::h1`]).
pub enum Inbound {
    Hyper(Incoming),
    Empty,
}

impl Body for Inbound {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            Inbound::Hyper(body) => Pin::new(body).poll_frame(cx),
            Inbound::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Inbound::Hyper(body) => body.is_end_stream(),
            Inbound::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Inbound::Hyper(body) => body.size_hint(),
            Inbound::Empty => SizeHint::with_exact(0),
        }
    }
}

/// A client body with an optional byte limit and a minimum rate.
pub struct RequestBody {
    inner: Inbound,
    /// Bytes still allowed; `None`: no limit.
    remaining: Option<u64>,
    /// The rate check; `None` for a body that is already complete.
    rate: Option<RateGuard>,
}

impl RequestBody {
    pub fn new(inner: Inbound, limit: Option<usize>, rate: MinRate) -> Self {
        let rate = (!inner.is_end_stream()).then(|| RateGuard::new(rate));
        RequestBody {
            inner,
            remaining: limit.map(|l| u64::try_from(l).unwrap_or(u64::MAX)),
            rate,
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(rate) = this.rate.as_mut() {
                    rate.on_frame(frame.data_ref().map_or(0, Bytes::len));
                }
                if let (Some(remaining), Some(data)) = (this.remaining.as_mut(), frame.data_ref()) {
                    let len = u64::try_from(data.len()).unwrap_or(u64::MAX);
                    if len > *remaining {
                        return Poll::Ready(Some(Err(Box::new(TooLarge))));
                    }
                    *remaining -= len;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(ClientBody(e))))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.rate.as_mut().map(|r| r.on_pending(cx)) {
                Some(Poll::Ready(())) => Poll::Ready(Some(Err(Box::new(TooSlow)))),
                _ => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// True when a `Content-Length` already says the body is over `limit`.
pub fn declared_too_large(headers: &http::HeaderMap, limit: Option<usize>) -> bool {
    let Some(limit) = limit else { return false };
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|len| len > u64::try_from(limit).unwrap_or(u64::MAX))
}

/// True when `err`'s chain holds [`TooLarge`].
pub fn is_too_large(err: &(dyn StdError + 'static)) -> bool {
    chain_has::<TooLarge>(err)
}

/// True when `err`'s chain holds [`TooSlow`].
pub fn is_too_slow(err: &(dyn StdError + 'static)) -> bool {
    chain_has::<TooSlow>(err)
}

/// True when `err`'s chain holds [`ClientBody`].
pub fn is_client_body(err: &(dyn StdError + 'static)) -> bool {
    chain_has::<ClientBody>(err)
}

fn chain_has<T: StdError + 'static>(err: &(dyn StdError + 'static)) -> bool {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cause {
        if e.is::<T>() {
            return true;
        }
        cause = e.source();
    }
    false
}
