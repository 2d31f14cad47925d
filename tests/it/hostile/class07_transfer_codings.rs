//! Class 7, continued: request transfer codings. hyper accepts any list whose last coding is
//! `chunked`, removes the chunking and hands the rest over unread, so `gzip, chunked` would
//! reach the upstream as gzip bytes without the coding that says so. doorman accepts exactly
//! one `Transfer-Encoding: chunked` and answers anything else with 501 on a closed connection
//! (RFC 9112 §6.1, as nginx does); the upstream never sees such a request.

use std::time::Duration;

use super::raw;
use crate::support::assert_nothing_forwarded;
use crate::support::Harness;

/// The request hidden behind the body: on a public route, so it would be visible upstream.
const SMUGGLED: &str = "GET /public/smuggled HTTP/1.1\r\nHost: shop.test\r\n\r\n";

#[tokio::test]
async fn transfer_codings_other_than_exactly_chunked_are_501_and_close() {
    let h = Harness::start().await;
    for (name, framing) in [
        ("gzip_chunked", "Transfer-Encoding: gzip, chunked\r\n"),
        ("chunked_chunked", "Transfer-Encoding: chunked, chunked\r\n"),
        (
            "identity_chunked",
            "Transfer-Encoding: identity, chunked\r\n",
        ),
        ("empty_element", "Transfer-Encoding: , chunked\r\n"),
        (
            "gzip_line_then_chunked_line",
            "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
        ),
        (
            "chunked_twice_in_two_lines",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
        ),
    ] {
        let request = format!(
            "POST /public/outer HTTP/1.1\r\nHost: shop.test\r\n{framing}\r\n5\r\nhello\r\n0\r\n\r\n{SMUGGLED}"
        );
        let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(3)).await;
        assert_eq!(
            (answer.status(), answer.reason()),
            (Some(501), "transfer_coding_unsupported".to_string()),
            "{name}: {}",
            answer.text
        );
        assert_eq!(answer.responses(), 1, "{name}: {}", answer.text);
        assert!(answer.closed, "{name}: the connection stayed open");
    }
    // Lists that do not end in `chunked` never get past hyper: 400.
    for (name, framing) in [
        ("gzip_alone", "Transfer-Encoding: gzip\r\n"),
        ("identity_alone", "Transfer-Encoding: identity\r\n"),
        ("chunked_gzip", "Transfer-Encoding: chunked, gzip\r\n"),
    ] {
        let request = format!(
            "POST /public/outer HTTP/1.1\r\nHost: shop.test\r\n{framing}\r\n5\r\nhello\r\n0\r\n\r\n{SMUGGLED}"
        );
        let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(3)).await;
        assert_eq!(answer.status(), Some(400), "{name}: {}", answer.text);
        assert!(answer.closed, "{name}: the connection stayed open");
    }
    assert_nothing_forwarded(&h, 0, "unsupported transfer codings");
    // Exactly `chunked`, in any case, is forwarded with the body de-chunked and re-framed.
    for framing in [
        "Transfer-Encoding: chunked\r\n",
        "Transfer-Encoding: Chunked\r\n",
    ] {
        let request = format!(
            "POST /public/ok HTTP/1.1\r\nHost: shop.test\r\n{framing}Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        );
        let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(3)).await;
        assert_eq!(answer.status(), Some(200), "{framing:?}: {}", answer.text);
        let seen = h.echo.last().expect("forwarded");
        assert_eq!(
            (seen.target.as_str(), &seen.body[..]),
            ("/public/ok", &b"hello"[..])
        );
        assert!(seen
            .header_all("transfer-encoding")
            .iter()
            .all(|v| *v == "chunked"));
    }
}
