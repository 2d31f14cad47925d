//! The IO adapter around every accepted connection (plain TCP or TLS, after the handshake):
//! reports write progress to the connection's [`Progress`] (the response write timeout) and,
//! on HTTP/2, enforces the PING and SETTINGS flood limits with a real GOAWAY.
//!
//! Reads are scanned by [`Inbound`] (which switches itself off at the first byte that is not
//! the HTTP/2 preface, so HTTP/1.1 pays one comparison). When a limit is passed, the adapter
//! lets the server finish the frame it is writing ([`Outbound`] follows its frame
//! boundaries), then writes GOAWAY(ENHANCE_YOUR_CALM) itself (RFC 9113 §6.8), flushes, shuts
//! its write side and, like nginx's lingering close, reads and discards what the client
//! still sends for up to [`LINGER`] so the kernel does not answer those bytes with a reset
//! that could destroy the GOAWAY before the client reads it. hyper sees the end of the stream
//! and closes the connection; everything it still writes is discarded.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use super::flood::{FloodLimits, Goaway, Inbound, Outbound};
use super::watchdog::Progress;
use crate::metrics::Metrics;

/// How long a flooding client's remaining bytes are drained after the GOAWAY.
pub const LINGER: Duration = Duration::from_secs(1);

/// What the adapter is doing about a flood.
enum Calm {
    /// Nothing: bytes pass through.
    No,
    /// A GOAWAY is due at the next outbound frame boundary; `sent` bytes of it are out.
    Due { goaway: Goaway, sent: usize },
    /// GOAWAY sent, write side shut: draining the client until EOF or the timer.
    Lingering(Pin<Box<Sleep>>),
    /// Over: reads see EOF, writes are discarded.
    Done,
}

/// An accepted connection's IO, watched.
pub struct GuardedIo<T> {
    inner: T,
    progress: Arc<Progress>,
    inbound: Inbound,
    outbound: Outbound,
    calm: Calm,
    /// The read side's waker while a GOAWAY waits for the current outbound frame to end.
    read_waker: Option<Waker>,
    metrics: Arc<Metrics>,
}

impl<T> GuardedIo<T> {
    pub fn new(
        inner: T,
        progress: Arc<Progress>,
        limits: FloodLimits,
        metrics: Arc<Metrics>,
    ) -> Self {
        GuardedIo {
            inner,
            progress,
            inbound: Inbound::new(limits),
            outbound: Outbound::default(),
            calm: Calm::No,
            read_waker: None,
            metrics,
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> GuardedIo<T> {
    /// Writes the due GOAWAY (at a frame boundary), flushes and shuts the write side.
    /// `Ready` once that is done (or failed: the connection is over either way).
    fn poll_goaway(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        while let Calm::Due { goaway, sent } = &mut self.calm {
            let rest = goaway.bytes().get(*sent..).unwrap_or_default();
            if rest.is_empty() {
                let _ = std::task::ready!(Pin::new(&mut self.inner).poll_flush(cx));
                let _ = std::task::ready!(Pin::new(&mut self.inner).poll_shutdown(cx));
                self.calm = Calm::Lingering(Box::pin(tokio::time::sleep(LINGER)));
                if let Some(waker) = self.read_waker.take() {
                    waker.wake();
                }
                break;
            }
            match std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, rest)) {
                Ok(n) if n > 0 => *sent += n,
                _ => self.calm = Calm::Done,
            }
        }
        Poll::Ready(())
    }

    /// Drains the client after the GOAWAY; `Ready` when it is time to report EOF.
    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Calm::Lingering(timer) = &mut self.calm else {
            return Poll::Ready(());
        };
        if timer.as_mut().poll(cx).is_ready() {
            self.calm = Calm::Done;
            return Poll::Ready(());
        }
        let mut scratch = [0u8; 4096];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => continue,
                Poll::Ready(_) => {
                    self.calm = Calm::Done;
                    return Poll::Ready(());
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// A write while a GOAWAY is due: the rest of the current frame passes, then the GOAWAY
    /// goes out and everything after it is discarded.
    fn poll_write_calming(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if !self.outbound.at_boundary() {
            let n = self.outbound.step().min(buf.len());
            let written = std::task::ready!(
                Pin::new(&mut self.inner).poll_write(cx, buf.get(..n).unwrap_or_default())
            )?;
            self.outbound
                .advance(buf.get(..written).unwrap_or_default());
            if self.outbound.at_boundary() {
                if let Some(waker) = self.read_waker.take() {
                    waker.wake();
                }
            }
            return Poll::Ready(Ok(written));
        }
        std::task::ready!(self.poll_goaway(cx));
        Poll::Ready(Ok(buf.len()))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for GuardedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match this.calm {
                Calm::No => break,
                Calm::Due { .. } => {
                    if !this.outbound.at_boundary() {
                        // The server is part-way through a frame; its next write ends it.
                        this.read_waker = Some(cx.waker().clone());
                        return Poll::Pending;
                    }
                    std::task::ready!(this.poll_goaway(cx));
                }
                Calm::Lingering(_) => std::task::ready!(this.poll_linger(cx)),
                Calm::Done => return Poll::Ready(Ok(())),
            }
        }
        let before = buf.filled().len();
        std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if this.inbound.active() {
            let fresh = buf.filled().get(before..).unwrap_or_default();
            if let Some(flood) = this.inbound.scan(fresh) {
                this.metrics.limit(flood.metric());
                tracing::debug!(
                    kind = flood.metric(),
                    "HTTP/2 flood: GOAWAY(ENHANCE_YOUR_CALM)"
                );
                this.calm = Calm::Due {
                    goaway: this.inbound.goaway(flood),
                    sent: 0,
                };
                // hyper gets these bytes; the GOAWAY goes out on the next read or write.
                cx.waker().wake_by_ref();
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for GuardedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match this.calm {
            Calm::No => {}
            Calm::Due { .. } => return this.poll_write_calming(cx, buf),
            Calm::Lingering(_) | Calm::Done => return Poll::Ready(Ok(buf.len())),
        }
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.wrote(&polled, |out| {
            out.advance(buf.get(..*out_len(&polled)).unwrap_or_default())
        });
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if !matches!(this.calm, Calm::No) {
            let first = bufs
                .iter()
                .find(|b| !b.is_empty())
                .map_or(&[][..], |b| &**b);
            return Pin::new(this).poll_write(cx, first);
        }
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.wrote(&polled, |out| {
            let mut left = *out_len(&polled);
            for b in bufs {
                if left == 0 {
                    break;
                }
                let n = left.min(b.len());
                out.advance(b.get(..n).unwrap_or_default());
                left -= n;
            }
        });
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.calm {
            Calm::No | Calm::Due { .. } => Pin::new(&mut self.inner).poll_flush(cx),
            Calm::Lingering(_) | Calm::Done => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.calm {
            Calm::No | Calm::Due { .. } => Pin::new(&mut self.inner).poll_shutdown(cx),
            Calm::Lingering(_) | Calm::Done => Poll::Ready(Ok(())),
        }
    }
}

/// The byte count of a successful write, 0 otherwise.
fn out_len(polled: &Poll<io::Result<usize>>) -> &usize {
    match polled {
        Poll::Ready(Ok(n)) => n,
        _ => &0,
    }
}

impl<T> GuardedIo<T> {
    /// Reports a write to [`Progress`] and lets `track` follow the written bytes on HTTP/2.
    fn wrote(&mut self, polled: &Poll<io::Result<usize>>, track: impl FnOnce(&mut Outbound)) {
        match polled {
            Poll::Ready(Ok(n)) if *n > 0 => {
                self.progress.wrote(true);
                if self.inbound.active() {
                    track(&mut self.outbound);
                }
            }
            Poll::Pending => self.progress.wrote(false),
            _ => {}
        }
    }
}
