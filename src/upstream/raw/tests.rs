use bytes::BytesMut;
use http::{Method, Request};

use super::body::Framing;
use super::*;

fn parse(bytes: &str, head_request: bool) -> Result<Option<Head>, UpstreamError> {
    let mut buf = BytesMut::from(bytes);
    parse_head(&mut buf, head_request)
}

fn final_head(bytes: &str) -> Parsed {
    match parse(bytes, false) {
        Ok(Some(Head::Final(parsed))) => parsed,
        Ok(Some(Head::Interim)) => panic!("interim: {bytes:?}"),
        Ok(None) => panic!("incomplete: {bytes:?}"),
        Err(e) => panic!("refused {bytes:?}: {e:?}"),
    }
}

#[test]
fn a_length_framed_response_is_reusable_and_keeps_its_headers() {
    let parsed =
        final_head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\nhello");
    assert_eq!(parsed.status, 200);
    assert!(matches!(parsed.framing, Framing::Length(5)));
    assert!(parsed.reusable);
    let values: Vec<_> = parsed.headers.get_all("x-a").iter().collect();
    assert_eq!(values, ["1", "2"]);
}

#[test]
fn the_head_is_consumed_and_the_body_left_in_the_buffer() {
    let mut buf = BytesMut::from("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    assert!(matches!(
        parse_head(&mut buf, false),
        Ok(Some(Head::Final(_)))
    ));
    assert_eq!(&buf[..], b"hello");
}

#[test]
fn framing_follows_rfc_9112_section_6_3() {
    let chunked = final_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert!(matches!(chunked.framing, Framing::Chunked(_)) && chunked.reusable);
    // Both: chunks win and the connection is not trusted again.
    let both =
        final_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n");
    assert!(matches!(both.framing, Framing::Chunked(_)) && !both.reusable);
    // A coding other than chunked last: read until close.
    let gzip = final_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
    assert!(matches!(gzip.framing, Framing::UntilClose) && !gzip.reusable);
    let neither = final_head("HTTP/1.1 200 OK\r\n\r\n");
    assert!(matches!(neither.framing, Framing::UntilClose) && !neither.reusable);
    let same = final_head("HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\nContent-Length: 7\r\n\r\n");
    assert!(matches!(same.framing, Framing::Length(7)));
}

#[test]
fn responses_without_content_ignore_their_declared_length() {
    for status in ["204 No Content", "304 Not Modified"] {
        let parsed = final_head(&format!("HTTP/1.1 {status}\r\nContent-Length: 10\r\n\r\n"));
        assert!(matches!(parsed.framing, Framing::Length(0)), "{status}");
        assert!(parsed.reusable, "{status}");
    }
    let Ok(Some(Head::Final(head))) = parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true)
    else {
        panic!("HEAD response not parsed");
    };
    assert!(matches!(head.framing, Framing::Length(0)));
}

#[test]
fn ambiguous_or_malformed_heads_are_refused() {
    for bad in [
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0x3\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: a\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "SSH-2.0-OpenSSH\r\n\r\n",
    ] {
        assert!(parse(bad, false).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn an_unasked_switch_is_an_unexpected_upgrade() {
    let result = parse(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
        false,
    );
    assert!(matches!(result, Err(UpstreamError::UnexpectedUpgrade)));
}

#[test]
fn interim_responses_are_skipped() {
    let mut buf = BytesMut::from("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(
        parse_head(&mut buf, false),
        Ok(Some(Head::Interim))
    ));
    assert!(matches!(
        parse_head(&mut buf, false),
        Ok(Some(Head::Final(_)))
    ));
    assert!(buf.is_empty());
}

#[test]
fn http_1_0_and_connection_close_are_not_reused() {
    let old = final_head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert!(!old.reusable);
    let close =
        final_head("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n");
    assert!(!close.reusable);
}

#[test]
fn an_incomplete_head_waits_for_more() {
    assert!(matches!(
        parse("HTTP/1.1 200 OK\r\nContent-Len", false),
        Ok(None)
    ));
}

#[test]
fn the_encoded_head_carries_no_client_framing() {
    let req = Request::builder()
        .method(Method::GET)
        .uri("/a?b=1")
        .header("host", "app")
        .header("content-length", "0")
        .header("transfer-encoding", "chunked")
        .header("x-user-id", "user_1")
        .body(())
        .unwrap_or_default();
    let head = encoded(&req);
    assert_eq!(
        &head[..],
        b"GET /a?b=1 HTTP/1.1\r\nhost: app\r\nx-user-id: user_1\r\n\r\n"
    );
    let post = Request::post("/form").body(()).unwrap_or_default();
    assert_eq!(
        &encoded(&post)[..],
        b"POST /form HTTP/1.1\r\ncontent-length: 0\r\n\r\n"
    );
}
