use super::*;

/// What follows the body on a keep-alive connection: must survive decoding untouched.
const NEXT: &[u8] = b"HTTP/1.1 200 OK\r\n";

#[derive(Debug, PartialEq)]
enum Outcome {
    /// `Done`, with the data decoded and what was left in the buffer.
    Done {
        data: Vec<u8>,
        rest: Vec<u8>,
    },
    Failed(ChunkError),
    /// The input ran out before the body ended.
    Starved,
}

/// Feeds `pieces` to a decoder one at a time, reading more only on `NeedMore`, and checks on
/// every step what holds for any input: a step only takes bytes off the front of the
/// buffer, `Data` is non-empty and is the last of the bytes it took (split off without a
/// copy), and an outcome is final (asked again, the decoder answers the same and leaves the
/// buffer alone).
fn feed<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut pieces = pieces.into_iter();
    let mut decoder = ChunkedDecoder::new();
    let mut buf = BytesMut::new();
    let mut data = Vec::new();
    loop {
        let before = buf.clone().freeze();
        let front = buf.as_ptr();
        let step = decoder.decode(&mut buf);
        assert!(
            before.ends_with(&buf),
            "the buffer changed other than at its front"
        );
        let taken = before.len() - buf.len();
        match step {
            Ok(Decoded::Data(bytes)) => {
                assert!(!bytes.is_empty(), "empty Data");
                assert!(bytes.len() <= taken, "Data beyond the bytes taken");
                let start = taken - bytes.len();
                assert_eq!(
                    bytes,
                    before.slice(start..taken),
                    "Data not next to the rest"
                );
                assert_eq!(bytes.as_ptr(), front.wrapping_add(start), "Data was copied");
                assert!(!decoder.is_done());
                data.extend_from_slice(&bytes);
            }
            Ok(Decoded::NeedMore) => {
                assert!(!decoder.is_done());
                match pieces.next() {
                    Some(piece) => buf.extend_from_slice(piece),
                    None => return Outcome::Starved,
                }
            }
            Ok(Decoded::Done) => {
                assert!(decoder.is_done());
                let rest = buf.to_vec();
                assert_eq!(decoder.decode(&mut buf), Ok(Decoded::Done));
                assert_eq!(buf, rest, "decoding after Done touched the buffer");
                // What was never read belongs to the next response too.
                let rest = pieces.fold(rest, |rest, piece| [&rest, piece].concat());
                return Outcome::Done { data, rest };
            }
            Err(e) => {
                assert!(!decoder.is_done());
                assert_eq!(decoder.decode(&mut buf), Err(e), "error not sticky");
                return Outcome::Failed(e);
            }
        }
    }
}

fn whole(input: &[u8]) -> Outcome {
    feed([input])
}

fn bytewise(input: &[u8]) -> Outcome {
    feed(input.chunks(1))
}

fn with_next(body: &[u8]) -> Vec<u8> {
    [body, NEXT].concat()
}

/// A body whose trailer section is `MAX_TRAILERS + extra` bytes: 15 field lines of 1000
/// bytes, one with the rest, and the empty line.
fn trailers_of(extra: usize) -> Vec<u8> {
    let mut body = b"0\r\n".to_vec();
    for _ in 0..15 {
        body.extend_from_slice(format!("X-A:{}\r\n", "a".repeat(994)).as_bytes());
    }
    let last = MAX_TRAILERS + extra - 15 * 1000 - "X-B:\r\n\r\n".len();
    body.extend_from_slice(format!("X-B:{}\r\n\r\n", "b".repeat(last)).as_bytes());
    assert_eq!(body.len() - 3, MAX_TRAILERS + extra);
    body
}

fn valid_bodies() -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let long_ext = format!("5;{}\r\nhello\r\n0\r\n\r\n", "x".repeat(MAX_SIZE_LINE - 2));
    vec![
        (
            "simple",
            b"5\r\nhello\r\n0\r\n\r\n".to_vec(),
            b"hello".to_vec(),
        ),
        (
            "several chunks",
            b"3\r\nabc\r\n4\r\ndefg\r\n1\r\nh\r\n0\r\n\r\n".to_vec(),
            b"abcdefgh".to_vec(),
        ),
        (
            "hex sizes in both cases",
            b"a\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\n\r\n".to_vec(),
            b"0123456789abcdefghijk".to_vec(),
        ),
        (
            "leading zeros",
            b"0005\r\nhello\r\n000000000000000A\r\n0123456789\r\n0000\r\n\r\n".to_vec(),
            b"hello0123456789".to_vec(),
        ),
        (
            "extension without value",
            b"5;name\r\nhello\r\n0\r\n\r\n".to_vec(),
            b"hello".to_vec(),
        ),
        (
            "extension with value",
            b"5;name=value\r\nhello\r\n0;last=yes\r\n\r\n".to_vec(),
            b"hello".to_vec(),
        ),
        (
            "extensions with BWS and quoted values",
            b"5 ; a = b ;c=\"q s\"\t;\td\r\nhello\r\n0\t;e\r\n\r\n".to_vec(),
            b"hello".to_vec(),
        ),
        (
            "size line of exactly 4096 bytes",
            long_ext.into_bytes(),
            b"hello".to_vec(),
        ),
        (
            "trailers",
            b"5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:abc\r\nEmpty:\r\n\r\n".to_vec(),
            b"hello".to_vec(),
        ),
        (
            "trailers of exactly 16384 bytes",
            trailers_of(0),
            Vec::new(),
        ),
        ("empty body", b"0\r\n\r\n".to_vec(), Vec::new()),
        (
            "data holding CR, LF and a fake last chunk",
            b"7\r\n\r\n0\r\n\r\n\r\n0\r\n\r\n".to_vec(),
            b"\r\n0\r\n\r\n".to_vec(),
        ),
    ]
}

#[test]
fn valid_bodies_decode_whole_and_byte_by_byte_and_leave_what_follows() {
    for (name, body, data) in valid_bodies() {
        let input = with_next(&body);
        let want = Outcome::Done {
            data: data.clone(),
            rest: NEXT.to_vec(),
        };
        assert_eq!(whole(&input), want, "{name}, whole");
        assert_eq!(bytewise(&input), want, "{name}, byte by byte");
        assert_eq!(feed(input.chunks(7)), want, "{name}, 7 bytes at a time");
        let bare = Outcome::Done {
            data,
            rest: Vec::new(),
        };
        assert_eq!(whole(&body), bare, "{name}, nothing after");
    }
}

#[test]
fn data_is_returned_as_soon_as_it_arrives_and_never_past_the_chunk() {
    let mut decoder = ChunkedDecoder::new();
    let mut buf = BytesMut::from(&b"5\r\nhel"[..]);
    assert_eq!(
        decoder.decode(&mut buf),
        Ok(Decoded::Data(Bytes::from_static(b"hel")))
    );
    assert_eq!(decoder.decode(&mut buf), Ok(Decoded::NeedMore));
    buf.extend_from_slice(b"lo\r\n3\r\nabc\r\n0\r\n\r\nnext");
    assert_eq!(
        decoder.decode(&mut buf),
        Ok(Decoded::Data(Bytes::from_static(b"lo")))
    );
    assert_eq!(
        decoder.decode(&mut buf),
        Ok(Decoded::Data(Bytes::from_static(b"abc")))
    );
    assert_eq!(decoder.decode(&mut buf), Ok(Decoded::Done));
    assert!(decoder.is_done());
    assert_eq!(buf, &b"next"[..]);
}

#[test]
fn the_largest_size_streams_without_overflow() {
    let mut decoder = ChunkedDecoder::new();
    let mut buf = BytesMut::from(&b"FFFFFFFFFFFFFFFF\r\nabc"[..]);
    assert_eq!(
        decoder.decode(&mut buf),
        Ok(Decoded::Data(Bytes::from_static(b"abc")))
    );
    assert_eq!(decoder.decode(&mut buf), Ok(Decoded::NeedMore));
    assert_eq!(decoder.state, State::Data(u64::MAX - 3));
}

#[test]
fn invalid_bodies_are_refused_with_the_fault() {
    use ChunkError::*;
    let long_ext = format!("5;{}\r\nhello\r\n0\r\n\r\n", "x".repeat(MAX_SIZE_LINE - 1));
    let many_trailers = format!("0\r\n{}\r\n", "X-Long: aaaaaaaa\r\n".repeat(1000));
    let over_by_one = trailers_of(1);
    let cases: &[(&str, &[u8], ChunkError)] = &[
        ("bare LF in size line", b"5\nhello\r\n0\r\n\r\n", BadLineEnd),
        (
            "CR without LF in size line",
            b"5\rhello\r\n0\r\n\r\n",
            BadLineEnd,
        ),
        (
            "bare LF after last chunk",
            b"5\r\nhello\r\n0\n\r\n",
            BadLineEnd,
        ),
        ("bare LF after data", b"5\r\nhello\n0\r\n\r\n", BadDataEnd),
        (
            "CR without LF after data",
            b"5\r\nhello\r0\r\n\r\n",
            BadDataEnd,
        ),
        (
            "data longer than declared",
            b"3\r\nhello\r\n0\r\n\r\n",
            BadDataEnd,
        ),
        (
            "data shorter than declared",
            b"6\r\nhello\r\n0\r\n\r\n",
            BadDataEnd,
        ),
        (
            "0x prefix",
            b"0x10\r\n0123456789abcdef\r\n0\r\n\r\n",
            BadSize,
        ),
        ("plus sign", b"+5\r\nhello\r\n0\r\n\r\n", BadSize),
        ("minus sign", b"-5\r\nhello\r\n0\r\n\r\n", BadSize),
        ("leading space", b" 5\r\nhello\r\n0\r\n\r\n", BadSize),
        ("trailing space", b"5 \r\nhello\r\n0\r\n\r\n", BadSize),
        ("space then junk", b"5 x\r\nhello\r\n0\r\n\r\n", BadSize),
        ("two sizes", b"5 5\r\nhello\r\n0\r\n\r\n", BadSize),
        ("empty size line", b"\r\nhello\r\n0\r\n\r\n", BadSize),
        ("non-hex size", b"g\r\nhello\r\n0\r\n\r\n", BadSize),
        ("non-hex after digits", b"5g\r\nhello\r\n0\r\n\r\n", BadSize),
        (
            "17 hex digits",
            b"00000000000000005\r\nhello\r\n0\r\n\r\n",
            SizeTooLong,
        ),
        (
            "u64 overflow",
            b"10000000000000000\r\nhello\r\n0\r\n\r\n",
            SizeTooLong,
        ),
        (
            "17 zeros as last chunk",
            b"00000000000000000\r\n\r\n",
            SizeTooLong,
        ),
        (
            "control char in extension",
            b"5;a\x01b\r\nhello\r\n0\r\n\r\n",
            BadExtension,
        ),
        (
            "NUL in extension",
            b"5;a=\0\r\nhello\r\n0\r\n\r\n",
            BadExtension,
        ),
        (
            "DEL in extension",
            b"5;a=\x7f\r\nhello\r\n0\r\n\r\n",
            BadExtension,
        ),
        (
            "non-ASCII extension",
            b"5;caf\xc3\xa9\r\nhello\r\n0\r\n\r\n",
            BadExtension,
        ),
        (
            "size line over 4096 bytes",
            long_ext.as_bytes(),
            ExtensionTooLong,
        ),
        (
            "trailers over 16384 bytes",
            many_trailers.as_bytes(),
            TrailersTooLarge,
        ),
        ("trailers of 16385 bytes", &over_by_one, TrailersTooLarge),
        ("obs-fold trailer", b"0\r\nA: b\r\n c\r\n\r\n", BadTrailer),
        (
            "trailer without colon",
            b"0\r\nno-colon\r\n\r\n",
            BadTrailer,
        ),
        ("trailer with empty name", b"0\r\n: b\r\n\r\n", BadTrailer),
        ("space before colon", b"0\r\nA : b\r\n\r\n", BadTrailer),
        ("NUL in trailer", b"0\r\nA: b\0c\r\n\r\n", BadTrailer),
        ("bare LF in trailer", b"0\r\nA: b\nc\r\n\r\n", BadLineEnd),
        ("bare CR in trailer", b"0\r\nA: b\rc\r\n\r\n", BadLineEnd),
        ("bare LF ending trailers", b"0\r\nA: b\r\n\n", BadLineEnd),
    ];
    for &(name, body, error) in cases {
        let input = with_next(body);
        assert_eq!(whole(&input), Outcome::Failed(error), "{name}, whole");
        assert_eq!(
            bytewise(&input),
            Outcome::Failed(error),
            "{name}, byte by byte"
        );
    }
}

/// Feeds `piece` repeatedly, one at a time, until the decoder errors; returns the error and
/// how much was buffered when it did.
fn endless(prefix: &[u8], piece: &[u8]) -> (ChunkError, usize) {
    let mut decoder = ChunkedDecoder::new();
    let mut buf = BytesMut::from(prefix);
    for _ in 0..100_000 {
        match decoder.decode(&mut buf) {
            Ok(Decoded::NeedMore) => buf.extend_from_slice(piece),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => return (e, buf.len()),
        }
    }
    panic!("never refused, {} bytes buffered", buf.len());
}

#[test]
fn an_unended_size_line_is_refused_once_past_the_cap() {
    assert_eq!(
        endless(b"5;", b"x"),
        (ChunkError::ExtensionTooLong, MAX_SIZE_LINE + 1)
    );
}

#[test]
fn an_unended_trailer_section_is_refused_once_past_the_cap() {
    // One endless field line: refused once it can no longer fit with its CRLF.
    let (error, buffered) = endless(b"0\r\nX: ", b"y");
    assert_eq!(error, ChunkError::TrailersTooLarge);
    assert_eq!(buffered, MAX_TRAILERS - 1);
    // Endless complete lines: consumed as they come, refused once their total passes the cap.
    let (error, buffered) = endless(b"0\r\n", b"X-Many: zzzzzzzzzz\r\n");
    assert_eq!(error, ChunkError::TrailersTooLarge);
    assert!(buffered < MAX_TRAILERS);
}

#[test]
fn errors_display_as_short_lowercase_text() {
    for e in [
        ChunkError::BadSize,
        ChunkError::SizeTooLong,
        ChunkError::BadExtension,
        ChunkError::ExtensionTooLong,
        ChunkError::BadLineEnd,
        ChunkError::BadDataEnd,
        ChunkError::BadTrailer,
        ChunkError::TrailersTooLarge,
    ] {
        let text = e.to_string();
        assert!(text.len() < 50, "{text}");
        assert!(text.starts_with(|c: char| c.is_ascii_lowercase()), "{text}");
        assert!(!text.ends_with('.'), "{text}");
    }
}

mod props;
