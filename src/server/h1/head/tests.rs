use bytes::Bytes;

use super::*;

fn fast(head: &str) -> Parsed {
    match classify(head.as_bytes()) {
        Classified::Fast(parsed) => parsed,
        Classified::Partial => panic!("partial: {head:?}"),
        Classified::Hyper => panic!("handed to hyper: {head:?}"),
    }
}

fn is_hyper(head: &str) -> bool {
    matches!(classify(head.as_bytes()), Classified::Hyper)
}

#[test]
fn a_bodiless_request_is_served_and_sliced_from_its_head() {
    let text = "GET /a/b?c=1 HTTP/1.1\r\nHost: app\r\nX-Two: 1\r\nx-two: 2\r\n\r\nGET /next";
    let parsed = fast(text);
    assert_eq!(parsed.len, text.find("GET /next").unwrap_or_default());
    let head = Bytes::copy_from_slice(text.as_bytes());
    let Some(req) = parsed.request(&head, ()) else {
        panic!("request not built");
    };
    assert_eq!(req.method(), "GET");
    assert_eq!(req.uri(), "/a/b?c=1");
    assert_eq!(req.headers()["host"], "app");
    let two: Vec<_> = req.headers().get_all("x-two").iter().collect();
    assert_eq!(two, ["1", "2"]);
    assert!(!parsed.close);
}

#[test]
fn connection_close_is_remembered() {
    assert!(fast("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n").close);
}

#[test]
fn an_incomplete_head_is_partial() {
    for text in ["", "GET / HTTP/1.1\r\nHost: a\r\n", "GET / HTT"] {
        assert!(
            matches!(classify(text.as_bytes()), Classified::Partial),
            "{text:?}"
        );
    }
}

#[test]
fn both_framings_are_ambiguous_in_any_spelling_and_order() {
    for text in [
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 0\r\n\r\n",
        "GET / HTTP/1.1\r\nTRANSFER-ENCODING: identity\r\nCONTENT-LENGTH: 1\r\n\r\n",
    ] {
        // Served, so that the proxy refuses it (400 ambiguous_framing), and then closed.
        assert!(fast(text).close, "{text:?}");
    }
}

#[test]
fn bodies_upgrades_and_odd_forms_go_to_hyper() {
    for text in [
        "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        "GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n",
        "GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n",
        "GET / HTTP/1.1\r\nHTTP2-Settings: AAMA\r\n\r\n",
        "GET /chat HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
        "PUT / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "GET http://evil/ HTTP/1.1\r\n\r\n",
        "CONNECT evil:443 HTTP/1.1\r\n\r\n",
        "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "GET / HTTP/1.1\r\nX-Folded: a\r\n b\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: a\r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
        "G\0T / HTTP/1.1\r\n\r\n",
    ] {
        assert!(is_hyper(text), "{text:?}");
    }
}

#[test]
fn more_headers_than_the_loop_holds_go_to_hyper() {
    let mut text = String::from("GET / HTTP/1.1\r\n");
    for i in 0..=MAX_HEADERS {
        text.push_str(&format!("x-h{i}: v\r\n"));
    }
    text.push_str("\r\n");
    assert!(is_hyper(&text));
}

#[test]
fn bare_lf_line_ends_are_read_as_hyper_reads_them() {
    // httparse (hyper's parser too) accepts LF for CRLF; the head doorman sends upstream is
    // written anew with CRLF, so the upstream never sees the client's line ends.
    let parsed = fast("GET / HTTP/1.1\nHost: bare-lf\n\n");
    let head = Bytes::from_static(b"GET / HTTP/1.1\nHost: bare-lf\n\n");
    let req = parsed.request(&head, ());
    assert_eq!(
        req.map(|r| r.headers()["host"].clone()),
        Some(http::HeaderValue::from_static("bare-lf"))
    );
}
