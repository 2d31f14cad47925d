//! The response body of a raw exchange: read from the upstream socket as its framing says,
//! handed on as slices of the connection's buffer, and the connection returned to the pool
//! the moment the body ends.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};

use super::super::chunked::{ChunkedDecoder, Decoded};
use super::super::pool::Lease;
use super::super::Target;
use super::{RawConn, READ_CHUNK};

/// How the end of the body is found (RFC 9112 §6.3).
#[derive(Debug)]
pub enum Framing {
    /// This many bytes remain.
    Length(u64),
    /// Chunked transfer coding.
    Chunked(ChunkedDecoder),
    /// Everything until the upstream closes.
    UntilClose,
}

/// Why a body broke off.
#[derive(Debug)]
pub enum BodyError {
    /// The upstream closed before the declared end.
    Truncated,
    /// The chunked coding was malformed.
    Chunked(super::super::chunked::ChunkError),
    Io(io::Error),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::Truncated => f.write_str("upstream closed before the end of the body"),
            BodyError::Chunked(e) => write!(f, "malformed chunked body from upstream: {e}"),
            BodyError::Io(e) => write!(f, "reading the upstream body: {e}"),
        }
    }
}

impl std::error::Error for BodyError {}

/// A response body reading its leased connection.
pub struct RawBody {
    /// `None` once the body ended (the connection was pooled or dropped) or broke.
    lease: Option<(Lease<RawConn>, Arc<Target>)>,
    framing: Framing,
    reusable: bool,
    done: bool,
}

impl RawBody {
    pub(in crate::upstream) fn new(
        lease: Lease<RawConn>,
        target: Arc<Target>,
        framing: Framing,
        reusable: bool,
    ) -> RawBody {
        let mut body = RawBody {
            lease: Some((lease, target)),
            framing,
            reusable,
            done: false,
        };
        if matches!(body.framing, Framing::Length(0)) {
            body.finish();
        }
        body
    }

    /// The body ended: the connection goes back to the pool when it can carry another
    /// request (nothing unread after the body), else it is closed.
    fn finish(&mut self) {
        self.done = true;
        if let Some((lease, target)) = self.lease.take() {
            if self.reusable && lease.conn.buf.is_empty() {
                target.release_raw(lease);
            }
        }
    }

    /// The next frame from what is buffered, if there is one.
    fn buffered(&mut self) -> Result<Option<Bytes>, BodyError> {
        let Some((lease, _)) = &mut self.lease else {
            return Ok(None);
        };
        let buf = &mut lease.conn.buf;
        match &mut self.framing {
            Framing::Length(remaining) => {
                if buf.is_empty() {
                    return Ok(None);
                }
                let take = usize::try_from(*remaining).map_or(buf.len(), |r| r.min(buf.len()));
                *remaining -= take as u64;
                let data = buf.split_to(take).freeze();
                if *remaining == 0 {
                    self.finish();
                }
                Ok(Some(data))
            }
            Framing::Chunked(decoder) => match decoder.decode(buf).map_err(BodyError::Chunked)? {
                Decoded::Data(data) => Ok(Some(data)),
                Decoded::NeedMore => Ok(None),
                Decoded::Done => {
                    self.finish();
                    Ok(None)
                }
            },
            Framing::UntilClose => {
                if buf.is_empty() {
                    return Ok(None);
                }
                Ok(Some(buf.split().freeze()))
            }
        }
    }
}

impl hyper::body::Body for RawBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.buffered() {
                Ok(Some(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                Ok(None) if this.done => return Poll::Ready(None),
                Ok(None) => {}
                Err(e) => {
                    this.lease = None;
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
            let Some((lease, _)) = &mut this.lease else {
                return Poll::Ready(None);
            };
            let conn = &mut lease.conn;
            conn.buf.reserve(READ_CHUNK);
            let read =
                match tokio_util::io::poll_read_buf(Pin::new(&mut conn.io), cx, &mut conn.buf) {
                    Poll::Ready(read) => read,
                    Poll::Pending => return Poll::Pending,
                };
            match read {
                Ok(0) => {
                    this.lease = None;
                    this.done = true;
                    return match this.framing {
                        // The end of an until-close body is the close itself.
                        Framing::UntilClose => Poll::Ready(None),
                        _ => Poll::Ready(Some(Err(BodyError::Truncated))),
                    };
                }
                Ok(_) => {}
                Err(e) => {
                    this.lease = None;
                    this.done = true;
                    return Poll::Ready(Some(Err(BodyError::Io(e))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        match self.framing {
            Framing::Length(n) if !self.done => SizeHint::with_exact(n),
            _ if self.done => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}
