//! doorman's own HTTP/1.1 head reader (`server::h1::head::classify`) against hyper's HTTP/1
//! server on the same bytes (the check of `tests/it/h1_differential.rs`, on fuzzer input).
//! When `classify` says `Fast` and the request builds (the loop serves it), hyper, fed the
//! same head followed by a known request, with doorman's `connection_builder` settings,
//! reads (a) a request, (b) with the same method, target, version and header fields in the
//! same order, (c) without a body, and (d) then exactly the known request, unless the loop
//! closes after this one. When `classify` says `Partial`, hyper reads no request from the
//! bytes. A disagreement is a request the loop frames or reads differently from hyper. A head
//! with both `Content-Length` and `Transfer-Encoding` (a body for hyper) is served only to be
//! refused: the loop closes after it and `request::check_message` refuses it.
//!
//! Known disagreements are skipped here (reported by ignored tests in
//! `tests/it/h1_differential.rs`): `CONNECT` in origin form (hyper treats it as an upgrade).

#![no_main]

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, Uri, Version};
use http_body_util::Empty;
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use doorman::h1_head::{classify, Classified};

/// `[limits] max_header_bytes` and `header_read_timeout` defaults (src/config/compile).
const MAX_HEADER_BYTES: usize = 64 * 1024;
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

const NEXT: &[u8] = b"GET /__next HTTP/1.1\r\nHost: x\r\n\r\n";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    method: String,
    uri: String,
    version: Version,
    headers: Vec<(String, Vec<u8>)>,
    bodiless: bool,
}

impl Seen {
    fn of(
        method: &Method,
        uri: &Uri,
        version: Version,
        headers: &HeaderMap,
        bodiless: bool,
    ) -> Seen {
        Seen {
            method: method.as_str().to_owned(),
            uri: uri.to_string(),
            version,
            headers: headers
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                .collect(),
            bodiless,
        }
    }
}

/// Reads `input` (at most `chunk` bytes at a time), then end of stream; writes are dropped.
struct MemIo {
    input: Vec<u8>,
    at: usize,
    chunk: usize,
}

impl AsyncRead for MemIo {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let rest = this.input.get(this.at..).unwrap_or_default();
        let n = rest.len().min(buf.remaining()).min(this.chunk);
        buf.put_slice(&rest[..n]);
        this.at += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for MemIo {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(b.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The requests hyper reads from `input`, each answered 200.
async fn hyper_reads(input: &[u8], chunk: usize) -> Vec<Seen> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let service = service_fn(move |req: Request<Incoming>| {
        let body = req.body();
        let bodiless = body.is_end_stream() && body.size_hint().exact() == Some(0);
        let s = Seen::of(
            req.method(),
            req.uri(),
            req.version(),
            req.headers(),
            bodiless,
        );
        if let Ok(mut all) = record.lock() {
            all.push(s);
        }
        let mut response = Response::new(Empty::<Bytes>::new());
        if req.method() != Method::CONNECT {
            response.headers_mut().insert(
                http::header::CONTENT_LENGTH,
                http::HeaderValue::from_static("0"),
            );
        }
        async move { Ok::<_, Infallible>(response) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES)
        .keep_alive(true);
    let io = MemIo {
        input: input.to_vec(),
        at: 0,
        chunk,
    };
    let conn = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    // Errors are expected (garbage, or the end of input while answering); a hang is not.
    if tokio::time::timeout(Duration::from_secs(5), conn)
        .await
        .is_err()
    {
        panic!("hyper hung on {:?}", input.escape_ascii().to_string());
    }
    let all = seen.lock().map(|s| s.clone()).unwrap_or_default();
    all
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
}

fn check(bytes: &[u8]) {
    let parsed = match classify(bytes) {
        Classified::Partial => {
            let seen = RUNTIME.with(|rt| rt.block_on(hyper_reads(bytes, usize::MAX)));
            assert!(
                seen.is_empty(),
                "classify: Partial; hyper read {seen:?} from {:?}",
                bytes.escape_ascii().to_string()
            );
            return;
        }
        Classified::Hyper => return,
        Classified::Fast(parsed) => parsed,
    };
    // `server::h1::serve` answers a complete head over `max_header_bytes` with 431 itself
    // (fuzzer inputs stay far below it anyway).
    if parsed.len > MAX_HEADER_BYTES {
        return;
    }
    let head = Bytes::copy_from_slice(bytes);
    let Some(request) = parsed.request(&head, ()) else {
        return; // `http` refuses a part: the loop hands the bytes to hyper
    };
    if request.method() == Method::CONNECT {
        return; // known: hyper reads CONNECT as an upgrade
    }
    let headers = request.headers();
    if headers.contains_key(http::header::CONTENT_LENGTH)
        && headers.contains_key(http::header::TRANSFER_ENCODING)
    {
        // hyper reads a body here; the loop serves the head only for the proxy to refuse it,
        // and closes after the answer with the body unread.
        let checked = doorman::request::check_message(request.version(), request.uri(), headers);
        assert!(
            parsed.close && checked.is_err(),
            "CL + TE served with close {}, check {checked:?}: {:?}",
            parsed.close,
            bytes.escape_ascii().to_string()
        );
        return;
    }
    let ours = Seen::of(
        request.method(),
        request.uri(),
        request.version(),
        request.headers(),
        true,
    );
    let mut input = bytes[..parsed.len].to_vec();
    input.extend_from_slice(NEXT);
    let next = Seen {
        method: "GET".to_owned(),
        uri: "/__next".to_owned(),
        version: Version::HTTP_11,
        headers: vec![("host".to_owned(), b"x".to_vec())],
        bodiless: true,
    };
    for chunk in [usize::MAX, 1] {
        let seen = RUNTIME.with(|rt| rt.block_on(hyper_reads(&input, chunk)));
        let shown = input.escape_ascii().to_string();
        assert_eq!(
            seen.first(),
            Some(&ours),
            "(a)-(c), chunks of {chunk}: {shown:?}"
        );
        assert!(
            seen.len() <= 2,
            "more than two requests: {shown:?}: {seen:?}"
        );
        match seen.get(1) {
            Some(second) => assert_eq!(second, &next, "(d), chunks of {chunk}: {shown:?}"),
            // The loop closes after this request; hyper closing too is the agreement.
            None => assert!(
                parsed.close,
                "(d) no next request, chunks of {chunk}: {shown:?}"
            ),
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    check(bytes);
});
