//! The bodiless exchange with a plain `http://` upstream, spoken by doorman itself.
//!
//! Most proxied requests carry no body (GET, HEAD, a DELETE). For them the hyper client is
//! mostly machinery: a request channel, a connection future, a dispatcher and its body
//! channel, all to write one head and read one response. Here the head is encoded straight
//! from the prepared request into one buffer and written with one call, and the response head
//! is parsed with `httparse` from the connection's own buffer; header values are slices of
//! that buffer, not copies. The response body ([`body::RawBody`]) reads from the same socket,
//! framed exactly as RFC 9112 §6.3 says, and returns the connection to the pool when it ends.
//!
//! Requests with a body, upgrades and `https://` upstreams stay on hyper ([`super::conn`]).
//!
//! The strictness a proxy needs: a response whose framing is ambiguous (several different or
//! malformed `Content-Length`s, a head over [`MAX_HEAD`], a header line `httparse` refuses,
//! obs-fold included) is a 502, never a guess; a connection is pooled again only after a
//! response framed by length or chunks, read exactly to its end with nothing after it, from
//! an HTTP/1.1 upstream that did not say `Connection: close`.

pub mod body;

use std::io;
use std::sync::Arc;
use std::time::Instant;

use bytes::{BufMut, BytesMut};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::chunked::ChunkedDecoder;
use super::pool::Lease;
use super::{RequestBody, Target, UpstreamBody, UpstreamError};
use crate::deadline::Deadline;
use crate::forward::list_members;
use body::{Framing, RawBody};

/// The largest response head read (status line and headers); larger is a 502.
pub const MAX_HEAD: usize = 64 * 1024;
/// The most header lines a response head may have; more is a 502.
const MAX_HEADERS: usize = 128;
/// Read buffer growth step.
const READ_CHUNK: usize = 8 * 1024;

/// An idle plain connection and what it has read but not yet used.
pub struct RawConn {
    pub(super) io: TcpStream,
    pub(super) buf: BytesMut,
    /// The upstream's response timeout, one timer for the connection's life.
    deadline: Deadline,
}

impl RawConn {
    pub(super) fn new(io: TcpStream, timeout: std::time::Duration) -> RawConn {
        RawConn {
            io,
            buf: BytesMut::new(),
            deadline: Deadline::new(timeout),
        }
    }

    /// False when the upstream closed the idle connection or sent something unasked (both
    /// end it): a non-blocking read must find nothing to read.
    fn idle_and_open(&mut self) -> bool {
        let mut probe = [0u8; 1];
        matches!(self.io.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// Why one attempt failed, and whether another connection may be tried.
enum Attempt {
    /// The reused connection was found closed before any byte of a response: the request
    /// may be sent again on a fresh connection (when its method is idempotent).
    Stale,
    Failed(UpstreamError),
}

impl Target {
    /// Sends a bodiless request on a pooled or new plain connection and reads the response
    /// head within the upstream's timeout (dialling included); the body follows in the
    /// returned response.
    pub(super) async fn exchange_raw(
        self: &Arc<Self>,
        req: Request<RequestBody>,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        // One deadline for the whole exchange, retries and dialling included.
        let until = tokio::time::Instant::now() + self.timeout;
        let (parts, _) = req.into_parts();
        let head = encode_head(&parts.method, &parts.uri, &parts.headers);
        let head_request = parts.method == Method::HEAD;
        let resend = is_idempotent(&parts.method);
        while let Some(mut lease) = self.take_raw() {
            if !lease.conn.idle_and_open() {
                continue;
            }
            match timed_roundtrip(&mut lease.conn, &head, head_request, until).await {
                Ok(parsed) => return Ok(self.respond(parsed, lease, head_request)),
                Err(Attempt::Stale) if resend => continue,
                Err(Attempt::Stale) => return Err(UpstreamError::Failed),
                Err(Attempt::Failed(e)) => return Err(e),
            }
        }
        let dialled = tokio::time::timeout_at(until, Box::pin(self.dial_raw())).await;
        let mut lease = dialled.map_err(|_| UpstreamError::Timeout)??;
        match timed_roundtrip(&mut lease.conn, &head, head_request, until).await {
            Ok(parsed) => Ok(self.respond(parsed, lease, head_request)),
            Err(Attempt::Stale) => Err(UpstreamError::Failed),
            Err(Attempt::Failed(e)) => Err(e),
        }
    }

    async fn dial_raw(&self) -> Result<Lease<RawConn>, UpstreamError> {
        let (io, addr) = self.dial().await?;
        let stream = match io {
            hyper_rustls::MaybeHttpsStream::Http(io) => io.into_inner(),
            // Only plain targets take this path; a TLS stream here is a wiring mistake.
            hyper_rustls::MaybeHttpsStream::Https(_) => return Err(UpstreamError::Failed),
        };
        let _ = stream.set_nodelay(true);
        Ok(Lease {
            conn: RawConn::new(stream, self.timeout),
            created: Instant::now(),
            addr,
        })
    }

    fn respond(
        self: &Arc<Self>,
        parsed: Parsed,
        lease: Lease<RawConn>,
        head_request: bool,
    ) -> Response<UpstreamBody> {
        let framing = if head_request || no_content(parsed.status) {
            Framing::Length(0)
        } else {
            parsed.framing
        };
        let body = RawBody::new(lease, self.clone(), framing, parsed.reusable);
        let mut response = Response::new(UpstreamBody::raw(body));
        *response.status_mut() = parsed.status;
        *response.version_mut() = parsed.version;
        *response.headers_mut() = parsed.headers;
        response
    }
}

/// `GET /path HTTP/1.1` and the prepared headers. `Content-Length` and `Transfer-Encoding`
/// are doorman's to write: a bodiless request says `content-length: 0` where its method gives
/// a body meaning (RFC 9110 §8.6), and nothing otherwise.
fn encode_head(method: &Method, uri: &http::Uri, headers: &HeaderMap) -> Vec<u8> {
    let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let size = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum::<usize>();
    let mut out = Vec::with_capacity(method.as_str().len() + target.len() + size + 40);
    out.put_slice(method.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(target.as_bytes());
    out.put_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        out.put_slice(name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    if !matches!(
        *method,
        Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS | Method::TRACE
    ) {
        out.put_slice(b"content-length: 0\r\n");
    }
    out.put_slice(b"\r\n");
    out
}

/// Methods a request may be repeated with (RFC 9110 §9.2.2) when a reused connection turned
/// out closed: the upstream never saw it.
fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// Statuses whose responses have no content whatever their headers say (RFC 9112 §6.3).
fn no_content(status: StatusCode) -> bool {
    status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED
}

/// [`roundtrip`] before `until` (a 504 after it), timed by the connection's own timer.
async fn timed_roundtrip(
    conn: &mut RawConn,
    head: &[u8],
    head_request: bool,
    until: tokio::time::Instant,
) -> Result<Parsed, Attempt> {
    // Split borrows: the deadline is not touched by the exchange.
    let RawConn { io, buf, deadline } = conn;
    deadline.start_at(until);
    tokio::select! {
        biased;
        parsed = roundtrip(io, buf, head, head_request) => parsed,
        () = deadline.expired() => Err(Attempt::Failed(UpstreamError::Timeout)),
    }
}

/// Writes the head and reads the final response head (skipping 1xx interim responses).
async fn roundtrip(
    io: &mut TcpStream,
    buf: &mut BytesMut,
    head: &[u8],
    head_request: bool,
) -> Result<Parsed, Attempt> {
    if let Err(e) = io.write_all(head).await {
        return Err(if is_reset(&e) {
            Attempt::Stale
        } else {
            Attempt::Failed(UpstreamError::Failed)
        });
    }
    let mut received = false;
    loop {
        if !buf.is_empty() {
            match parse_head(buf, head_request).map_err(Attempt::Failed)? {
                Some(Head::Final(parsed)) => return Ok(parsed),
                Some(Head::Interim) => continue,
                None => {}
            }
        }
        if buf.len() >= MAX_HEAD {
            return Err(Attempt::Failed(UpstreamError::Failed));
        }
        buf.reserve(READ_CHUNK);
        match io.read_buf(buf).await {
            Ok(0) if !received => return Err(Attempt::Stale),
            Ok(0) => return Err(Attempt::Failed(UpstreamError::Failed)),
            Ok(_) => received = true,
            Err(e) if !received && is_reset(&e) => return Err(Attempt::Stale),
            Err(_) => return Err(Attempt::Failed(UpstreamError::Failed)),
        }
    }
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

/// A final response head.
pub(super) struct Parsed {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    framing: Framing,
    /// The connection may carry another request once this body is read to its end.
    reusable: bool,
}

enum Head {
    Final(Parsed),
    /// A 1xx other than 101, consumed and dropped (hyper's client does the same).
    Interim,
}

/// Parses one response head from the front of `buf`, consuming it; `None` when incomplete.
fn parse_head(buf: &mut BytesMut, head_request: bool) -> Result<Option<Head>, UpstreamError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut slots);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(UpstreamError::Failed),
    };
    let code = resp.code.unwrap_or(0);
    let status = StatusCode::from_u16(code).map_err(|_| UpstreamError::Failed)?;
    if status == StatusCode::SWITCHING_PROTOCOLS {
        // Never asked for on this path (RFC 9110 §15.2.2): the connection is dropped with it.
        return Err(UpstreamError::UnexpectedUpgrade);
    }
    let version = if resp.version == Some(0) {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    // Where each name and value sits in the head, so the values become slices of it.
    let base = buf.as_ptr() as usize;
    let spans: Vec<(usize, usize, usize, usize)> = resp
        .headers
        .iter()
        .map(|h| {
            let name = h.name.as_ptr() as usize - base;
            let value = h.value.as_ptr() as usize - base;
            (name, name + h.name.len(), value, value + h.value.len())
        })
        .collect();
    let head = buf.split_to(len).freeze();
    if status.is_informational() {
        return Ok(Some(Head::Interim));
    }
    // Room for the request id the recorder adds, without a rehash.
    let mut headers = HeaderMap::with_capacity(spans.len() + 2);
    let mut declared = Declared::default();
    for &(name_start, name_end, start, end) in &spans {
        let name = head
            .get(name_start..name_end)
            .and_then(|n| HeaderName::from_bytes(n).ok())
            .ok_or(UpstreamError::Failed)?;
        let value = (start <= end && end <= head.len())
            .then(|| head.slice(start..end))
            .and_then(|v| HeaderValue::from_maybe_shared(v).ok())
            .ok_or(UpstreamError::Failed)?;
        declared.see(&name, &value)?;
        headers.append(name, value);
    }
    let (framing, mut reusable) = declared.framing(head_request || no_content(status));
    reusable &= version == Version::HTTP_11 && !declared.close;
    Ok(Some(Head::Final(Parsed {
        status,
        version,
        headers,
        framing,
        reusable,
    })))
}

/// What a response's headers say about its framing, gathered as the head is read.
#[derive(Default)]
struct Declared {
    /// The `Content-Length`: every field and list member the same decimal number, or the
    /// response is refused (RFC 9112 §6.3 point 5).
    length: Option<u64>,
    /// `Transfer-Encoding` was present; whether its last coding is `chunked`.
    coding: Option<bool>,
    /// `Connection: close` among the connection options.
    close: bool,
}

impl Declared {
    fn see(&mut self, name: &HeaderName, value: &HeaderValue) -> Result<(), UpstreamError> {
        if *name == CONTENT_LENGTH {
            let text = value.to_str().map_err(|_| UpstreamError::Failed)?;
            for member in text.split(',') {
                let member = member.trim();
                if member.is_empty()
                    || member.len() > 19
                    || !member.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(UpstreamError::Failed);
                }
                let n: u64 = member.parse().map_err(|_| UpstreamError::Failed)?;
                if self.length.is_some_and(|f| f != n) {
                    return Err(UpstreamError::Failed);
                }
                self.length = Some(n);
            }
        } else if *name == TRANSFER_ENCODING {
            // The last field's last coding decides (fields combine as one list).
            let last = list_members(value.as_bytes()).last().unwrap_or_default();
            self.coding = Some(last.eq_ignore_ascii_case(b"chunked"));
        } else if *name == http::header::CONNECTION {
            self.close |= list_members(value.as_bytes()).any(|o| o.eq_ignore_ascii_case(b"close"));
        }
        Ok(())
    }

    /// The body's framing (RFC 9112 §6.3) and whether it allows reusing the connection.
    fn framing(&self, bodiless: bool) -> (Framing, bool) {
        if bodiless {
            // Declared lengths describe what a GET would have returned; nothing follows here.
            return (Framing::Length(0), true);
        }
        match (self.coding, self.length) {
            // Both framings at once: chunks win, and the connection is not trusted again.
            (Some(true), length) => (Framing::Chunked(ChunkedDecoder::new()), length.is_none()),
            (Some(false), _) => (Framing::UntilClose, false),
            (None, Some(n)) => (Framing::Length(n), true),
            (None, None) => (Framing::UntilClose, false),
        }
    }
}

/// Bytes for tests: the encoded head of a request.
#[cfg(test)]
pub(super) fn encoded(req: &Request<()>) -> bytes::Bytes {
    bytes::Bytes::from(encode_head(req.method(), req.uri(), req.headers()))
}

#[cfg(test)]
mod tests;
