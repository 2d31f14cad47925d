//! The body of an upstream response, whichever client read its head.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

use super::conn::PooledBody;
use super::raw::body::RawBody;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response body that returns its connection to the pool when read to the end.
pub enum UpstreamBody {
    /// Read by hyper's client (requests with a body, `https://` upstreams).
    Hyper(PooledBody),
    /// Read by doorman's own bodiless exchange ([`super::raw`]).
    Raw(RawBody),
}

impl UpstreamBody {
    pub(super) fn raw(body: RawBody) -> UpstreamBody {
        UpstreamBody::Raw(body)
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            UpstreamBody::Hyper(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
            UpstreamBody::Raw(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            UpstreamBody::Hyper(b) => b.is_end_stream(),
            UpstreamBody::Raw(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            UpstreamBody::Hyper(b) => b.size_hint(),
            UpstreamBody::Raw(b) => b.size_hint(),
        }
    }
}
