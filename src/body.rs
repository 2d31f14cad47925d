//! The request body on its way upstream: streamed as it arrives, refused once it passes the
//! route's `max_body_bytes`.
//!
//! A `Content-Length` above the limit is refused before anything is sent (413, the upstream
//! sees nothing). A body without a length (chunked, HTTP/2) is counted as it streams; the
//! frame that passes the limit ends the upstream request with an error that the proxy turns
//! into 413. No allocation, no buffering.

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

/// A client body with an optional byte limit.
pub struct RequestBody {
    inner: Incoming,
    /// Bytes still allowed; `None`: no limit.
    remaining: Option<u64>,
}

impl RequestBody {
    pub fn new(inner: Incoming, limit: Option<usize>) -> Self {
        RequestBody {
            inner,
            remaining: limit.map(|l| u64::try_from(l).unwrap_or(u64::MAX)),
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
            Poll::Pending => Poll::Pending,
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
