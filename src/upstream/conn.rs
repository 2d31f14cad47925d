//! One pooled HTTP/1.1 upstream connection, driven by the request that uses it.
//!
//! hyper splits a client connection in two: the `SendRequest` handle and the `Connection`
//! future that does the socket I/O. The usual way spawns the future as a task of its own,
//! so every exchange hops between two tasks (the client connection's and the upstream
//! connection's) and each hop is a wake-up through the scheduler. Here the future is not
//! spawned: it lives next to its handle ([`Conn`]) and whoever holds the connection polls
//! it — the request's task while it waits for the response head ([`Conn::until`]), then
//! the response body ([`PooledBody`]) that the client connection's task polls as it
//! writes the response. One task moves a request's bytes both ways.
//!
//! An idle connection in the pool is polled by nobody: an upstream that closed it is
//! noticed when it is next taken ([`Conn::ready`] polls the I/O first and sees the end of
//! stream), and a request written to a connection the upstream closed under it is handed
//! back unsent and retried by the caller. A response that finished while the request body
//! was still being written (an early answer) leaves a connection that is not ready for the
//! next request: its future is then spawned to finish that body and close, never pooled.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1;

use super::pool::Lease;
use super::{Io, RequestBody, Target};

type Driver = http1::Connection<Io, RequestBody>;

/// A connection's request handle and the future that does its I/O.
pub(super) struct Conn {
    pub(super) sender: http1::SendRequest<RequestBody>,
    driver: Pin<Box<Driver>>,
    /// The I/O future returned: the connection is closed and must not be polled again.
    closed: bool,
}

impl Conn {
    pub(super) fn new(sender: http1::SendRequest<RequestBody>, driver: Driver) -> Conn {
        Conn {
            sender,
            driver: Box::pin(driver),
            closed: false,
        }
    }

    /// Moves whatever bytes can move now (request out, response in); false once closed.
    fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.closed {
            if let Poll::Ready(result) = self.driver.as_mut().poll(cx) {
                self.closed = true;
                if let Err(e) = result {
                    tracing::debug!(error = %e, "upstream connection ended with an error");
                }
            }
        }
        !self.closed
    }

    /// Waits until the connection can take a request; `false` when it closed instead.
    pub(super) async fn ready(&mut self) -> bool {
        poll_fn(|cx| {
            if !self.drive(cx) {
                return Poll::Ready(false);
            }
            self.sender.poll_ready(cx).map(|r| r.is_ok())
        })
        .await
    }

    /// Drives the connection until `exchange` (a request sent on it) resolves; `None` when
    /// the connection closed and the exchange can no longer resolve.
    pub(super) async fn until<F: Future>(&mut self, exchange: F) -> Option<F::Output> {
        let mut exchange = pin!(exchange);
        poll_fn(|cx| {
            let open = self.drive(cx);
            match exchange.as_mut().poll(cx) {
                Poll::Ready(out) => Poll::Ready(Some(out)),
                // hyper resolves a pending exchange when its connection ends; this is the
                // guard against waiting forever should it not.
                Poll::Pending if !open => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// True when the last exchange is complete and the connection can be pooled. Polls the
    /// I/O once (without a waker: the next holder polls it again) so hyper can finish the
    /// exchange it just read to the end.
    fn settle(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        self.drive(&mut cx) && self.sender.is_ready()
    }

    /// Lets the I/O future finish on its own (an early response whose request body is still
    /// being written); the connection closes when it is done.
    fn finish_detached(self) {
        if self.closed {
            return;
        }
        let Conn { sender, driver, .. } = self;
        drop(sender);
        tokio::spawn(async move {
            if let Err(e) = driver.await {
                tracing::debug!(error = %e, "upstream connection ended with an error");
            }
        });
    }
}

/// A response body that drives its connection and returns it to the pool once read to the
/// end.
pub struct PooledBody {
    inner: Incoming,
    lease: Option<(Lease<Conn>, Arc<Target>)>,
    finished: bool,
}

impl PooledBody {
    pub(super) fn new(inner: Incoming, lease: Lease<Conn>, target: Arc<Target>) -> Self {
        PooledBody {
            inner,
            lease: Some((lease, target)),
            finished: false,
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        if let Some((lease, _)) = &mut this.lease {
            lease.conn.drive(cx);
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => this.finished = true,
            Poll::Ready(Some(Ok(_))) => this.finished = this.inner.is_end_stream(),
            Poll::Ready(Some(Err(_))) => this.lease = None,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        let Some((mut lease, target)) = self.lease.take() else {
            return;
        };
        // Read to the end (or empty): the connection can carry the next request once hyper
        // has finished the exchange. A body dropped half-way closes it (dropped here).
        if self.finished || self.inner.is_end_stream() {
            if lease.conn.settle() {
                target.release(lease);
            } else {
                lease.conn.finish_detached();
            }
        }
    }
}
