//! An incremental decoder for the HTTP/1.1 chunked transfer coding (RFC 9112 §7.1), for
//! reading an upstream's response body straight out of the socket buffer.
//!
//! Each call to [`ChunkedDecoder::decode`] takes what it can from the front of a `BytesMut`:
//! chunk data is split off without copying, size lines, chunk extensions and the trailer
//! section are checked and dropped, and the bytes after the body (the next response on a
//! keep-alive connection) are left where they are. Any state resumes across a short read,
//! so the body may arrive a byte at a time or many chunks to one read.
//!
//! The grammar is applied strictly, and anything outside it is an error rather than a best
//! guess: a proxy that finds a body's end somewhere other than where the next hop finds it
//! lets one side smuggle a response past the other (response splitting, desynchronized
//! pools). So the chunk size is bare hex of at most 16 digits, every line ends in CRLF
//! (never a bare LF or CR), chunk data is followed by exactly CRLF, and trailer lines are
//! well-formed fields without obs-fold. Size lines and the trailer section are capped, and
//! the caps are enforced on what is buffered, not on what is complete, so an upstream that
//! never ends a line is refused instead of growing the buffer.

use std::fmt;

use bytes::{Buf, Bytes, BytesMut};

/// Longest chunk size line, size and extensions together, CRLF excluded.
const MAX_SIZE_LINE: usize = 4096;
/// Largest trailer section, every line's CRLF and the final empty line included.
const MAX_TRAILERS: usize = 16384;
/// Hex digits in a chunk size: 16 cover every `u64`, and a cap on the digits (rather than
/// on the value) also bounds runs of leading zeros.
const MAX_SIZE_DIGITS: usize = 16;

/// Why a chunked body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// The size line does not start with hex digits, or they are followed by something other
    /// than an extension (a sign, `0x`, stray whitespace, other text).
    BadSize,
    /// The chunk size has more than 16 hex digits.
    SizeTooLong,
    /// A chunk extension holds a control character or a byte outside ASCII.
    BadExtension,
    /// The size line is longer than 4096 bytes.
    ExtensionTooLong,
    /// A size or trailer line ends in a bare LF, or holds a CR not followed by LF.
    BadLineEnd,
    /// Chunk data is not followed by CRLF: the chunk is longer than its size says, or the
    /// line ending is wrong.
    BadDataEnd,
    /// A trailer line is not `name:value` with a token name, or holds a NUL.
    BadTrailer,
    /// The trailer section is larger than 16384 bytes.
    TrailersTooLarge,
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChunkError::BadSize => "invalid chunk size",
            ChunkError::SizeTooLong => "chunk size longer than 16 hex digits",
            ChunkError::BadExtension => "invalid byte in chunk extension",
            ChunkError::ExtensionTooLong => "chunk size line longer than 4096 bytes",
            ChunkError::BadLineEnd => "line not ended by CRLF in chunked body",
            ChunkError::BadDataEnd => "chunk data not followed by CRLF",
            ChunkError::BadTrailer => "invalid trailer field line",
            ChunkError::TrailersTooLarge => "trailer section larger than 16384 bytes",
        })
    }
}

impl std::error::Error for ChunkError {}

/// What one decode step produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Chunk data, split off the front of the buffer (no copy).
    Data(Bytes),
    /// The buffer holds no complete next element: read more into it and call again.
    NeedMore,
    /// The last chunk and the trailer section were consumed; bytes after the body stay in
    /// the buffer.
    Done,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a chunk size line (the first one, or the one after a chunk's CRLF).
    #[default]
    Size,
    /// Inside chunk data, with this many bytes still to come (never 0).
    Data(u64),
    /// After chunk data, before its CRLF.
    DataEnd,
    /// After the last chunk, before the next trailer line or the empty line ending the body.
    Trailer,
    Done,
    /// An error was returned. It is returned again: the position in the body is lost, so
    /// decoding on would be guessing.
    Failed(ChunkError),
}

/// Decodes one chunked body; a new decoder is needed for the next one.
#[derive(Debug, Default)]
pub struct ChunkedDecoder {
    state: State,
    /// How much of the line at the front of the buffer is known to hold no CR or LF, so a
    /// line that trickles in is scanned once rather than once per read.
    scanned: usize,
    /// Trailer section bytes consumed so far.
    trailers: usize,
}

impl ChunkedDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes from the front of `buf`, consuming (advancing past) what it used.
    ///
    /// Returns `Data` as soon as any chunk data is available (possibly a partial chunk: as
    /// much of the current chunk as `buf` holds, at most the chunk's remaining size; never
    /// empty), `NeedMore` when it must wait for more bytes, `Done` after the final CRLF of the
    /// trailer section (and again on every later call, leaving `buf` alone). After an error,
    /// every later call returns the same error.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, ChunkError> {
        let result = self.step(buf);
        if let Err(e) = result {
            self.state = State::Failed(e);
        }
        result
    }

    /// True once `Done` was returned.
    #[cfg(test)]
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn step(&mut self, buf: &mut BytesMut) -> Result<Decoded, ChunkError> {
        loop {
            match self.state {
                State::Size => {
                    let Some(line) = self.line(buf, MAX_SIZE_LINE, ChunkError::ExtensionTooLong)?
                    else {
                        return Ok(Decoded::NeedMore);
                    };
                    let size = chunk_size(line)?;
                    // `line` and its CRLF are in `buf`: this cannot run past its end.
                    buf.advance(line.len() + 2);
                    self.state = match size {
                        0 => State::Trailer,
                        n => State::Data(n),
                    };
                }
                State::Data(remaining) => {
                    if buf.is_empty() {
                        return Ok(Decoded::NeedMore);
                    }
                    let take = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
                    // `take` is at most `remaining`, so this cannot underflow.
                    self.state = match remaining - take as u64 {
                        0 => State::DataEnd,
                        left => State::Data(left),
                    };
                    return Ok(Decoded::Data(buf.split_to(take).freeze()));
                }
                // Checked byte by byte, so a chunk longer than its size is caught on its
                // first extra byte rather than after a wait for a second one.
                State::DataEnd => match buf.as_ref() {
                    [b'\r', b'\n', ..] => {
                        buf.advance(2);
                        self.state = State::Size;
                    }
                    [] | [b'\r'] => return Ok(Decoded::NeedMore),
                    _ => return Err(ChunkError::BadDataEnd),
                },
                State::Trailer => {
                    // Room for this line's content, keeping two bytes for the CRLF ending it.
                    let Some(room) = MAX_TRAILERS.checked_sub(self.trailers + 2) else {
                        return Err(ChunkError::TrailersTooLarge);
                    };
                    let Some(line) = self.line(buf, room, ChunkError::TrailersTooLarge)? else {
                        return Ok(Decoded::NeedMore);
                    };
                    if line.is_empty() {
                        buf.advance(2);
                        self.state = State::Done;
                        return Ok(Decoded::Done);
                    }
                    field_line(line)?;
                    let used = line.len() + 2;
                    self.trailers += used;
                    buf.advance(used);
                }
                State::Done => return Ok(Decoded::Done),
                State::Failed(e) => return Err(e),
            }
        }
    }

    /// The line at the front of `buf`, without its CRLF, once the CRLF is buffered; `None`
    /// while it is not. Refuses a line longer than `max` as soon as `max + 1` bytes of it
    /// are buffered, and any CR or LF that is not part of a CRLF.
    fn line<'b>(
        &mut self,
        buf: &'b [u8],
        max: usize,
        too_long: ChunkError,
    ) -> Result<Option<&'b [u8]>, ChunkError> {
        let window = buf.len().min(max.saturating_add(1));
        let found = buf
            .iter()
            .take(window)
            .skip(self.scanned)
            .position(|&b| b == b'\r' || b == b'\n')
            .map(|at| at + self.scanned);
        let Some(at) = found else {
            if buf.len() > max {
                return Err(too_long);
            }
            self.scanned = buf.len();
            return Ok(None);
        };
        match buf.split_at_checked(at) {
            Some((line, [b'\r', b'\n', ..])) => {
                self.scanned = 0;
                Ok(Some(line))
            }
            // The CR ends the buffer: its LF may be in the next read. Scanning resumes at the CR.
            Some((_, [b'\r'])) => {
                self.scanned = at;
                Ok(None)
            }
            _ => Err(ChunkError::BadLineEnd),
        }
    }
}

/// The size in a chunk size line (CRLF excluded), after checking the extensions that may
/// follow it. Extensions are not interpreted, so they are only held to bytes that cannot
/// confuse a line-based reader: visible ASCII, space and tab.
fn chunk_size(line: &[u8]) -> Result<u64, ChunkError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(ChunkError::BadSize);
    }
    if digits > MAX_SIZE_DIGITS {
        return Err(ChunkError::SizeTooLong);
    }
    let (hex, rest) = line.split_at_checked(digits).ok_or(ChunkError::BadSize)?;
    let size = hex
        .iter()
        .try_fold(0u64, |size, &b| {
            let digit = char::from(b).to_digit(16)?;
            size.checked_mul(16)?.checked_add(u64::from(digit))
        })
        .ok_or(ChunkError::SizeTooLong)?;
    if rest.is_empty() {
        return Ok(size);
    }
    // Whitespace after the size is only allowed as the BWS before `;`.
    let after_bws = rest.iter().position(|&b| b != b' ' && b != b'\t');
    if after_bws.and_then(|at| rest.get(at)) != Some(&b';') {
        return Err(ChunkError::BadSize);
    }
    if rest
        .iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        Ok(size)
    } else {
        Err(ChunkError::BadExtension)
    }
}

/// Checks a trailer field line (CRLF excluded; `line` holds no CR or LF). The name must be a
/// token directly followed by `:`, which also refuses obs-fold (a line starting with
/// whitespace) and whitespace before the colon (RFC 9112 §5.1).
fn field_line(line: &[u8]) -> Result<(), ChunkError> {
    let name = line.iter().take_while(|&&b| is_tchar(b)).count();
    if name > 0 && line.get(name) == Some(&b':') && !line.contains(&0) {
        Ok(())
    } else {
        Err(ChunkError::BadTrailer)
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests;
