//! [`ScannedBody`]: the request body on its way upstream, scanned for method overrides
//! when it is a form.
//!
//! It wraps [`RequestBody`] from outside and passes frames through unchanged, except that a
//! frame is released only once nothing in it could still complete an override (a key or
//! value running up to the end of the body). When the policy refuses, the frames not yet
//! released are dropped and the stream ends with [`Refused`], so the upstream never has a
//! complete body (form parsers need all of it), and the verdict is left in a shared slot
//! for the proxy to answer from. It never copies or buffers body bytes beyond the
//! scanners' bounded state; frames it holds are reference-counted `Bytes`.

use std::collections::VecDeque;
use std::error::Error as StdError;
use std::fmt;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

use super::multipart::MultipartScanner;
use super::urlencoded::UrlScanner;
use super::{Event, Judge, Params};
use crate::body::RequestBody;
use crate::decision::Decision;

/// The body was stopped because of a method override.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused;

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("request body stopped: it carries a method override that is not allowed")
    }
}

impl StdError for Refused {}

/// Where a stopped body leaves its decision for the proxy.
#[derive(Debug, Clone, Default)]
pub struct Verdict(Arc<OnceLock<Decision>>);

impl Verdict {
    /// The decision that stopped the body, if it was stopped.
    pub fn get(&self) -> Option<&Decision> {
        self.0.get()
    }
}

/// What to scan a body for and how to judge what is found.
pub struct Scan {
    pub(super) params: Params,
    pub(super) urlencoded: Option<UrlScanner>,
    pub(super) multipart: Vec<MultipartScanner>,
    /// `None`: refuse mode.
    pub(super) judge: Option<Judge>,
}

/// The client's body as sent upstream (`B` is generic only so tests can stream frames).
pub struct ScannedBody<B = RequestBody> {
    inner: B,
    scan: Option<Box<Scanning>>,
}

struct Scanning {
    scan: Scan,
    verdict: Verdict,
    /// Frames read but not yet passed on; the first `released` of them may go.
    queue: VecDeque<Frame<Bytes>>,
    released: usize,
    /// The inner body ended (and the scanners were finished).
    ended: bool,
    stopped: bool,
}

impl<B> ScannedBody<B> {
    /// A body passed through as it is.
    pub fn plain(inner: B) -> Self {
        ScannedBody { inner, scan: None }
    }

    /// A body scanned by `scan`; the returned slot holds the decision if it is stopped.
    pub fn scanned(inner: B, scan: Scan) -> (Self, Verdict) {
        let verdict = Verdict::default();
        let scanning = Scanning {
            scan,
            verdict: verdict.clone(),
            queue: VecDeque::new(),
            released: 0,
            ended: false,
            stopped: false,
        };
        let body = ScannedBody {
            inner,
            scan: Some(Box::new(scanning)),
        };
        (body, verdict)
    }
}

impl Scan {
    /// Feeds one data chunk (or the end, with `None`) to every scanner.
    fn feed(&mut self, chunk: Option<&[u8]>) -> ControlFlow<Decision> {
        let Scan {
            params,
            urlencoded,
            multipart,
            judge,
        } = self;
        let mut on = |event: Event<'_>| super::judge_event(event, judge.as_ref());
        if let Some(scanner) = urlencoded {
            match chunk {
                Some(bytes) => scanner.feed(bytes, params, &mut on)?,
                None => scanner.finish(params, &mut on)?,
            }
        }
        for scanner in multipart {
            match chunk {
                Some(bytes) => scanner.feed(bytes, params, &mut on)?,
                None => scanner.finish(params, &mut on)?,
            }
        }
        ControlFlow::Continue(())
    }

    /// Whether the end of the body could still complete a finding.
    fn undecided(&self) -> bool {
        self.urlencoded
            .as_ref()
            .is_some_and(|s| s.undecided(&self.params))
            || self.multipart.iter().any(MultipartScanner::undecided)
    }
}

impl Scanning {
    fn stop(&mut self, decision: Decision) -> Box<dyn StdError + Send + Sync> {
        let _ = self.verdict.0.set(decision);
        self.queue.clear();
        self.released = 0;
        self.stopped = true;
        Box::new(Refused)
    }

    fn release_all(&mut self) {
        self.released = self.queue.len();
    }
}

impl<B> Body for ScannedBody<B>
where
    B: Body<Data = Bytes, Error = Box<dyn StdError + Send + Sync>> + Unpin,
{
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let Some(s) = this.scan.as_deref_mut() else {
            return Pin::new(&mut this.inner).poll_frame(cx);
        };
        loop {
            if s.stopped {
                return Poll::Ready(Some(Err(Box::new(Refused))));
            }
            if s.released > 0 {
                s.released -= 1;
                return Poll::Ready(s.queue.pop_front().map(Ok));
            }
            if s.ended {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => {
                    let flow = match frame.data_ref() {
                        Some(data) if data.is_empty() => continue,
                        Some(data) => s.scan.feed(Some(data)),
                        // Trailers: the data has ended.
                        None => {
                            s.ended = true;
                            s.scan.feed(None)
                        }
                    };
                    if let ControlFlow::Break(d) = flow {
                        return Poll::Ready(Some(Err(s.stop(d))));
                    }
                    s.queue.push_back(frame);
                    if s.ended || !s.scan.undecided() {
                        s.release_all();
                    }
                }
                Poll::Ready(None) => {
                    if let ControlFlow::Break(d) = s.scan.feed(None) {
                        return Poll::Ready(Some(Err(s.stop(d))));
                    }
                    s.release_all();
                    s.ended = true;
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.scan {
            None => self.inner.is_end_stream(),
            Some(s) => {
                !s.stopped
                    && s.queue.is_empty()
                    && (s.ended || (self.inner.is_end_stream() && !s.scan.undecided()))
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
