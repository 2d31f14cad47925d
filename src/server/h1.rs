//! doorman's own HTTP/1.1 loop for plain connections: bodiless requests are read, decided and
//! answered here; the first request it does not serve hands the whole connection to hyper.
//!
//! Most requests through an edge proxy are GETs. hyper serves them through a dispatcher, a
//! service future, a body channel and a timer per request; this loop reads the head into the
//! connection's buffer, parses it with `httparse` (header values become slices of that
//! buffer), runs [`crate::proxy::handle`] and writes the response head and body with one
//! system call when the body is ready, as it is for doorman's own answers and for an
//! upstream body that arrived with its head.
//!
//! **What it serves:** HTTP/1.1 requests in origin form with neither `Content-Length` nor
//! `Transfer-Encoding`, no `Upgrade` (nor `upgrade` among the `Connection` options, nor
//! `HTTP2-Settings`) and no `Expect`. **What it hands over** (the unread bytes and the socket,
//! [`End::Handoff`], served by hyper from there on): everything else, including anything
//! `httparse` refuses, a head over `max_header_bytes`, HTTP/1.0 and the HTTP/2 preface. So
//! message bodies, upgrades and errors keep hyper's framing and answers; this loop's framing
//! is the end of a head and nothing else. **What it refuses:** a request with both
//! `Content-Length` and `Transfer-Encoding` goes through the proxy like any request, where
//! `request::check_message` refuses it (400 `ambiguous_framing`, counted and logged), and
//! the connection closes after the answer with the body unread (RFC 9112 §6.1 lets a server
//! refuse it; no request a proxy and its upstream might frame differently goes on). **Timers:** one per connection, for the header read timeout, re-armed only when
//! it fires (not per request); writes that would block wait at most the response write
//! timeout.

mod date;
pub mod head;
mod write;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::body::Inbound;
use crate::deadline::Deadline;
use crate::snapshot::Shared;
use head::Classified;
use write::Written;

/// Initial read buffer; it grows up to `max_header_bytes` for a large head.
const READ_BUFFER: usize = 8 * 1024;

/// How the loop ended.
pub enum End {
    /// The connection is finished (closed by either side, timed out, or refused).
    Closed,
    /// hyper serves the rest of the connection, starting with these unread bytes.
    Handoff(BytesMut, TcpStream),
}

/// The connection limits the loop applies.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_header_bytes: usize,
    pub response_write_timeout: Duration,
}

/// Serves `stream` until it closes or a request needs hyper.
pub async fn serve(
    mut stream: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) -> End {
    let mut buf = BytesMut::with_capacity(READ_BUFFER);
    let mut out = Vec::with_capacity(READ_BUFFER);
    let mut deadline = Deadline::new(limits.header_read_timeout);
    loop {
        // Read until a whole head is buffered (pipelined requests may already be).
        deadline.start();
        let parsed = loop {
            match head::classify(&buf) {
                Classified::Partial if buf.len() < limits.max_header_bytes => {}
                Classified::Partial | Classified::Hyper => return End::Handoff(buf, stream),
                // Complete, but larger than allowed (it came pipelined behind another).
                Classified::Fast(parsed) if parsed.len > limits.max_header_bytes => {
                    write::too_large(&stream, &mut out, limits.response_write_timeout).await;
                    linger(stream).await;
                    return End::Closed;
                }
                Classified::Fast(parsed) => break parsed,
            }
            match read_more(&mut stream, &mut buf, &mut deadline, &mut shutdown).await {
                Read::Data => {}
                Read::Closed => return End::Closed,
            }
        };
        let head = buf.split_to(parsed.len).freeze();
        let Some(request) = parsed.request(&head, Inbound::Empty) else {
            // A name or value `http` refuses although `httparse` took it: hyper answers it.
            let mut rest = BytesMut::from(&head[..]);
            rest.extend_from_slice(&buf);
            return End::Handoff(rest, stream);
        };
        drop(head);
        let head_request = request.method() == http::Method::HEAD;
        let handled = crate::proxy::handle(shared.clone(), request, peer, false);
        let Some(response) = unless_gone(handled, &stream, &mut buf, limits.max_header_bytes).await
        else {
            return End::Closed;
        };
        let close = parsed.close || *shutdown.borrow();
        let written = write::response(
            &stream,
            &mut out,
            response,
            head_request,
            close,
            limits.response_write_timeout,
        )
        .await;
        match written {
            Written::KeepAlive => {}
            Written::Close => {
                linger(stream).await;
                return End::Closed;
            }
            Written::TimedOut => {
                shared.metrics.limit("response_write_timeout");
                tracing::debug!(%peer, "response write timeout: the client stopped reading");
                return End::Closed;
            }
        }
        if out.capacity() > 4 * READ_BUFFER {
            out = Vec::with_capacity(READ_BUFFER);
        }
    }
}

/// Runs `handled` (the request's answer) unless the client goes away first: a closed or
/// broken connection drops the request, and with it any upstream exchange it waits for (as
/// hyper does). Bytes the client pipelines meanwhile are kept in `buf`, up to `max` bytes.
async fn unless_gone<F>(
    handled: F,
    stream: &TcpStream,
    buf: &mut BytesMut,
    max: usize,
) -> Option<http::Response<crate::respond::Body>>
where
    F: std::future::Future<
        Output = Result<http::Response<crate::respond::Body>, std::convert::Infallible>,
    >,
{
    let mut handled = std::pin::pin!(handled);
    let mut watch = true;
    loop {
        tokio::select! {
            biased;
            answered = &mut handled => return match answered {
                Ok(response) => Some(response),
                Err(never) => match never {},
            },
            ready = stream.readable(), if watch => {
                if ready.is_err() {
                    return None;
                }
                if buf.capacity() - buf.len() < 1024 {
                    buf.reserve(READ_BUFFER);
                }
                match stream.try_read_buf(buf) {
                    Ok(0) => return None,
                    // Enough pipelined: stop reading (and watching) until this answer is out.
                    Ok(_) => watch = buf.len() < max,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => return None,
                }
            }
        }
    }
}

/// Closes after a complete answer: FIN first, then what the client still sends (a body
/// left unread, a pipelined request) is read and dropped for a moment. Closing with unread
/// bytes would make the kernel send a reset, which can destroy the answer before the
/// client has read it.
async fn linger(mut stream: TcpStream) {
    const LINGER: Duration = Duration::from_millis(500);
    const DRAIN: usize = 64 * 1024;
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 4096];
    let mut left = DRAIN;
    let _ = tokio::time::timeout(LINGER, async {
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
}

enum Read {
    Data,
    /// End of stream, an error, the header read timeout, or shutdown while idle.
    Closed,
}

/// Reads what the socket has into `buf`, waiting (until the head's deadline) when it has
/// nothing yet. Through `poll_read`, which (unlike `try_read`) takes a short read as proof
/// that the socket is drained, saving the `EAGAIN` read a keep-alive request would
/// otherwise cost.
async fn read_more(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    deadline: &mut Deadline,
    shutdown: &mut watch::Receiver<bool>,
) -> Read {
    loop {
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(READ_BUFFER);
        }
        let idle = buf.is_empty();
        let read = std::future::poll_fn(|cx| {
            tokio_util::io::poll_read_buf(std::pin::Pin::new(&mut *stream), cx, &mut *buf)
        });
        tokio::select! {
            biased;
            read = read => return match read {
                Ok(0) | Err(_) => Read::Closed,
                Ok(_) => Read::Data,
            },
            () = deadline.expired() => return Read::Closed,
            // Shutting down: an idle connection closes now; one mid-head finishes its request.
            changed = shutdown.changed(), if idle => {
                if changed.is_err() || *shutdown.borrow() {
                    return Read::Closed;
                }
            }
        }
    }
}
