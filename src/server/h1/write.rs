//! Writing one response: the head (with `Date` and doorman's own framing) and the body,
//! gathered into one buffer and written with as few system calls as the body allows.
//!
//! Framing is always doorman's: the `Content-Length` and `Transfer-Encoding` a response
//! carries are dropped and written again from what the body says it is: its exact length
//! when known, else chunks. A body that turns out longer or shorter than the length written,
//! or that breaks off, closes the connection, so the client never reads one response's bytes
//! as the start of the next.

use std::io::Write as _;
use std::time::Duration;

use bytes::Buf;
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Body as _;
use tokio::net::TcpStream;

use crate::respond::Body;

use super::date;

/// Buffered body bytes written before more are gathered.
const FLUSH_AT: usize = 64 * 1024;

/// What became of the connection after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Complete, and the connection may carry another request.
    KeepAlive,
    /// Complete or not, the connection ends (asked to, or its body broke off).
    Close,
    /// The client stopped reading for the response write timeout.
    TimedOut,
}

/// Writes `response` and says whether the connection goes on.
pub async fn response(
    stream: &TcpStream,
    out: &mut Vec<u8>,
    response: Response<Body>,
    head_request: bool,
    close: bool,
    timeout: Duration,
) -> Written {
    let (parts, mut body) = response.into_parts();
    // doorman's refusals of requests it does not trust with another one say `close`.
    let close = close || crate::forward::has_connection_option(&parts.headers, "close");
    let status = parts.status;
    // No content follows these, whatever the body holds (RFC 9112 §6.3).
    let bodiless = head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let length = body.size_hint().exact();
    out.clear();
    status_line(out, status);
    // The upstream's own `Date` is kept (RFC 9110 §6.6.1: one origin date per response).
    if !parts.headers.contains_key(DATE) {
        date::append(out);
    }
    for (name, value) in &parts.headers {
        if name == CONNECTION || name == TRANSFER_ENCODING {
            continue;
        }
        // A HEAD or 304 answer keeps the length it describes; others get doorman's below.
        if name == CONTENT_LENGTH && !(bodiless && status != StatusCode::NO_CONTENT) {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let chunked = !bodiless && length.is_none();
    if !bodiless {
        match length {
            Some(n) => {
                let _ = write!(out, "content-length: {n}\r\n");
            }
            None => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        }
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if bodiless {
        return write_all(stream, out, timeout).await.and(keep(!close));
    }
    let mut written: u64 = 0;
    while !body.is_end_stream() {
        let frame = match body.frame().await {
            None => break,
            Some(Ok(frame)) => frame,
            // The body broke off: the client sees the connection close before its end.
            Some(Err(e)) => {
                tracing::debug!(error = %e, "response body failed; closing the connection");
                return write_all(stream, out, timeout).await.and(Written::Close);
            }
        };
        let Ok(mut data) = frame.into_data() else {
            continue; // trailers are not relayed
        };
        if !data.has_remaining() {
            continue;
        }
        written += data.remaining() as u64;
        if chunked {
            let _ = write!(out, "{:x}\r\n", data.remaining());
        }
        while data.has_remaining() {
            let chunk = data.chunk();
            out.extend_from_slice(chunk);
            let n = chunk.len();
            data.advance(n);
        }
        if chunked {
            out.extend_from_slice(b"\r\n");
        }
        if out.len() >= FLUSH_AT {
            if let stop @ (Written::Close | Written::TimedOut) =
                write_all(stream, out, timeout).await
            {
                return stop;
            }
            out.clear();
        }
    }
    if chunked {
        out.extend_from_slice(b"0\r\n\r\n");
    }
    let complete = length.is_none_or(|n| n == written);
    if !complete {
        tracing::debug!(
            declared = length,
            written,
            "response body length differs from its size; closing the connection"
        );
    }
    write_all(stream, out, timeout)
        .await
        .and(keep(complete && !close))
}

fn keep(yes: bool) -> Written {
    if yes {
        Written::KeepAlive
    } else {
        Written::Close
    }
}

impl Written {
    /// `next` when this write went through, else this failure.
    fn and(self, next: Written) -> Written {
        match self {
            Written::KeepAlive => next,
            failed => failed,
        }
    }
}

/// The 431 to a head over `max_header_bytes` (what hyper answers to one it reads itself);
/// the caller closes.
pub async fn too_large(stream: &TcpStream, out: &mut Vec<u8>, timeout: Duration) {
    out.clear();
    status_line(out, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    date::append(out);
    out.extend_from_slice(b"content-length: 0\r\nconnection: close\r\n\r\n");
    let _ = write_all(stream, out, timeout).await;
}

fn status_line(out: &mut Vec<u8>, status: StatusCode) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Writes all of `bytes`: straight away when the socket takes them, else waiting for it to
/// drain for at most `timeout` (a client that stopped reading loses the connection).
/// `KeepAlive` when everything was written.
async fn write_all(stream: &TcpStream, bytes: &[u8], timeout: Duration) -> Written {
    let mut rest = bytes;
    while !rest.is_empty() {
        match stream.try_write(rest) {
            Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                match tokio::time::timeout(timeout, stream.writable()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Written::Close,
                    Err(_) => return Written::TimedOut,
                }
            }
            Err(_) => return Written::Close,
        }
    }
    Written::KeepAlive
}
