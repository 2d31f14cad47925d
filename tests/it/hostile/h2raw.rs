//! Hand-built HTTP/2 frames, for what the `h2` client refuses to send (connection-specific
//! headers, CR/LF in values, a body longer than its `content-length`, CONTINUATION floods).
//!
//! Header blocks use HPACK literals without indexing and without Huffman coding, which every
//! decoder must accept. Answers are read frame by frame; the `:status` of a response is
//! decoded from the static table or from a (Huffman-coded) literal of digits.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
pub const CONTINUATION: u8 = 0x9;

pub const END_STREAM: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;

/// One frame.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    assert!(len < 1 << 24);
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The client preface and an empty SETTINGS frame.
pub fn preface() -> Vec<u8> {
    let mut out = PREFACE.to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    out
}

fn integer(out: &mut Vec<u8>, first: u8, prefix_bits: u8, value: usize) {
    let max = (1usize << prefix_bits) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

/// An HPACK "literal header field without indexing — new name", no Huffman.
pub fn literal(name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = vec![0x00];
    integer(&mut out, 0x00, 7, name.len());
    out.extend_from_slice(name);
    integer(&mut out, 0x00, 7, value.len());
    out.extend_from_slice(value);
    out
}

/// A header block for `method path` at `authority`, then `extra` fields verbatim.
pub fn block(method: &str, path: &str, authority: &str, extra: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, v) in [
        (&b":method"[..], method.as_bytes()),
        (b":scheme", b"http"),
        (b":path", path.as_bytes()),
        (b":authority", authority.as_bytes()),
    ] {
        out.extend(literal(n, v));
    }
    for (n, v) in extra {
        out.extend(literal(n, v));
    }
    out
}

/// What came back for stream 1.
#[derive(Debug, Default)]
pub struct Answer {
    pub status: Option<u16>,
    /// RST_STREAM error code for stream 1 (1 = PROTOCOL_ERROR).
    pub reset: Option<u32>,
    /// GOAWAY error code.
    pub goaway: Option<u32>,
    /// The server closed the TCP connection.
    pub closed: bool,
    /// Frames received, as (type, flags, stream).
    pub frames: Vec<(u8, u8, u32)>,
    pub elapsed: Duration,
}

impl Answer {
    /// Refused as malformed: RST_STREAM or GOAWAY with PROTOCOL_ERROR (RFC 9113 §8.1.1).
    pub fn protocol_error(&self) -> bool {
        self.reset == Some(1) || self.goaway == Some(1)
    }

    /// Refused as malformed: a stream reset, a GOAWAY, or a 400/431.
    pub fn refused(&self) -> bool {
        self.reset.is_some()
            || self.goaway.is_some_and(|code| code != 0)
            || matches!(self.status, Some(400 | 431))
    }
}

/// Writes `bytes` (which must start with [`preface`]) and reads until stream 1 ends, is
/// reset, the connection goes away, or `deadline`.
pub async fn exchange(addr: SocketAddr, bytes: &[u8], deadline: Duration) -> Answer {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let _ = stream.write_all(bytes).await;
    read_answer(&mut stream, started, started + deadline).await
}

/// Reads frames from `stream` as [`exchange`] does.
pub async fn read_answer(stream: &mut TcpStream, started: Instant, until: Instant) -> Answer {
    let mut answer = Answer::default();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    'read: loop {
        // Parse every complete frame in the buffer.
        while buf.len() >= 9 {
            let len =
                (usize::from(buf[0]) << 16) | (usize::from(buf[1]) << 8) | usize::from(buf[2]);
            if buf.len() < 9 + len {
                break;
            }
            let (kind, flags) = (buf[3], buf[4]);
            let id = u32::from_be_bytes([buf[5], buf[6], buf[7], buf[8]]) & 0x7fff_ffff;
            let payload: Vec<u8> = buf[9..9 + len].to_vec();
            buf.drain(..9 + len);
            answer.frames.push((kind, flags, id));
            match kind {
                HEADERS if id == 1 && answer.status.is_none() => {
                    answer.status = status_of(&payload, flags);
                    if flags & END_STREAM != 0 {
                        break 'read;
                    }
                }
                DATA if id == 1 && flags & END_STREAM != 0 => break 'read,
                RST_STREAM if id == 1 => {
                    answer.reset = payload
                        .get(..4)
                        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                    break 'read;
                }
                GOAWAY => {
                    answer.goaway = payload
                        .get(4..8)
                        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                    break 'read;
                }
                _ => {}
            }
        }
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                answer.closed = true;
                break;
            }
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => break,
        }
    }
    answer.elapsed = started.elapsed();
    answer
}

/// The `:status` at the start of a response header block.
fn status_of(payload: &[u8], flags: u8) -> Option<u16> {
    const PADDED: u8 = 0x8;
    const PRIORITY: u8 = 0x20;
    let mut block = payload;
    let mut pad = 0;
    if flags & PADDED != 0 {
        pad = usize::from(*block.first()?);
        block = block.get(1..)?;
    }
    if flags & PRIORITY != 0 {
        block = block.get(5..)?;
    }
    let block = block.get(..block.len().checked_sub(pad)?)?;
    // Skip dynamic table size updates (001xxxxx).
    let mut i = 0;
    while block.get(i)? & 0xe0 == 0x20 {
        i += 1;
    }
    let first = *block.get(i)?;
    if first & 0x80 != 0 {
        return match first & 0x7f {
            8 => Some(200),
            9 => Some(204),
            10 => Some(206),
            11 => Some(304),
            12 => Some(400),
            13 => Some(404),
            14 => Some(500),
            _ => None,
        };
    }
    // A literal whose name is static index 8 (`:status`), with 4-, 6- or 4-bit prefixes.
    let name_index = if first & 0xc0 == 0x40 {
        first & 0x3f
    } else {
        first & 0x0f
    };
    if name_index != 8 {
        return None;
    }
    let len_byte = *block.get(i + 1)?;
    let len = usize::from(len_byte & 0x7f);
    let value = block.get(i + 2..i + 2 + len)?;
    let text = if len_byte & 0x80 != 0 {
        huffman_digits(value)?
    } else {
        String::from_utf8(value.to_vec()).ok()?
    };
    text.parse().ok()
}

/// Decodes a Huffman-coded string of ASCII digits (RFC 7541 Appendix B).
fn huffman_digits(bytes: &[u8]) -> Option<String> {
    const CODES: [(u32, u8, char); 10] = [
        (0x0, 5, '0'),
        (0x1, 5, '1'),
        (0x2, 5, '2'),
        (0x19, 6, '3'),
        (0x1a, 6, '4'),
        (0x1b, 6, '5'),
        (0x1c, 6, '6'),
        (0x1d, 6, '7'),
        (0x1e, 6, '8'),
        (0x1f, 6, '9'),
    ];
    let bits: Vec<u8> = bytes
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1))
        .collect();
    let mut out = String::new();
    let mut pos = 0;
    'next: while pos < bits.len() {
        for (code, len, ch) in CODES {
            let len = usize::from(len);
            if pos + len <= bits.len() {
                let value = bits[pos..pos + len]
                    .iter()
                    .fold(0u32, |acc, b| (acc << 1) | u32::from(*b));
                if value == code {
                    out.push(ch);
                    pos += len;
                    continue 'next;
                }
            }
        }
        // The rest must be EOS padding (all ones, fewer than 8 bits).
        return (bits.len() - pos < 8 && bits[pos..].iter().all(|b| *b == 1)).then_some(out);
    }
    Some(out)
}

#[test]
fn huffman_digits_decode() {
    // "401" = 011010 00000 00001 = 0110 1000 0000 0001.
    assert_eq!(huffman_digits(&[0x68, 0x01]).as_deref(), Some("401"));
    // "2" = 00010 + three bits of EOS padding.
    assert_eq!(huffman_digits(&[0x17]).as_deref(), Some("2"));
}
