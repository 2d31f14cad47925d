//! Request path normalization: the one place that decides whether a request path is
//! unambiguous, and the one value that both route matching and forwarding read.
//!
//! [`normalize`] validates the path component of a request target and returns a
//! [`NormalizedPath`] holding the raw path exactly as received (what is forwarded) and its
//! percent-decoded segments (what is matched). It never rewrites a path into another one:
//! anything an upstream could read differently from us (dot segments, encoded `/` or `\`,
//! double encoding, `;` parameters, empty segments, trailing dots or spaces, control bytes,
//! invalid escapes or UTF-8, and Unicode look-alikes that compatibility normalization turns
//! into ASCII, such as `／` or `．`) is refused with a [`PathError`] whose [`PathError::as_str`] is a
//! stable reason id. This module must never forward or match a path it did not validate,
//! never "fix" a path (fixing is how matcher and upstream come to disagree), and never panic
//! on client input.

use crate::reason::Reason;
use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// Why a request path was refused. Each variant is one class of ambiguity; the reason ids
/// returned by [`PathError::as_str`] are stable (metrics labels, JSON error bodies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum PathError {
    #[error("the path must start with `/`")]
    NotAbsolute,
    #[error("the path contains a character that must be percent-encoded")]
    InvalidChar,
    #[error(
        "the path contains an invalid percent-encoding (`%` must be followed by two hex digits)"
    )]
    BadPercentEncoding,
    #[error("the percent-decoded path is not valid UTF-8")]
    InvalidUtf8,
    #[error("the path contains an encoded `/` (`%2F`)")]
    EncodedSlash,
    #[error("the path contains a `\\` (literal or `%5C`)")]
    Backslash,
    #[error("the path contains a NUL byte (`%00`)")]
    Nul,
    #[error("the path contains a control character")]
    ControlChar,
    #[error("the path is double percent-encoded (`%25`)")]
    DoubleEncoding,
    #[error("the path contains a `.` or `..` segment")]
    DotSegment,
    #[error("a path segment ends with `.`")]
    TrailingDot,
    #[error("a path segment ends with a space")]
    TrailingSpace,
    #[error("the path contains `;` (path parameters are not accepted)")]
    Semicolon,
    #[error("the path contains an empty segment (`//`)")]
    EmptySegment,
    #[error(
        "the path contains a character that Unicode compatibility normalization (NFKC) turns into ASCII, such as `／`, `．` or a full-width letter"
    )]
    UnicodeLookalike,
}

impl PathError {
    /// The reason a request with this path is refused (400), e.g. `path_encoded_slash`.
    pub fn reason(self) -> Reason {
        match self {
            PathError::NotAbsolute => Reason::PathNotAbsolute,
            PathError::InvalidChar => Reason::PathInvalidChar,
            PathError::BadPercentEncoding => Reason::PathBadPercentEncoding,
            PathError::InvalidUtf8 => Reason::PathInvalidUtf8,
            PathError::EncodedSlash => Reason::PathEncodedSlash,
            PathError::Backslash => Reason::PathBackslash,
            PathError::Nul => Reason::PathNul,
            PathError::ControlChar => Reason::PathControlChar,
            PathError::DoubleEncoding => Reason::PathDoubleEncoding,
            PathError::DotSegment => Reason::PathDotSegment,
            PathError::TrailingDot => Reason::PathTrailingDot,
            PathError::TrailingSpace => Reason::PathTrailingSpace,
            PathError::Semicolon => Reason::PathSemicolon,
            PathError::EmptySegment => Reason::PathEmptySegment,
            PathError::UnicodeLookalike => Reason::PathUnicodeLookalike,
        }
    }
}

/// A validated request path: the raw bytes to forward and the decoded segments to match.
///
/// Invariant: percent-decoding [`raw`](Self::raw) gives exactly [`decoded`](Self::decoded),
/// which is `/` followed by the segments joined by `/`, plus a final `/` when
/// [`has_trailing_slash`](Self::has_trailing_slash). Segments are never empty and never
/// contain `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NormalizedPath {
    /// The raw path followed by the decoded one, in one allocation.
    text: String,
    /// Where the decoded path starts in `text`.
    raw_len: usize,
    /// Byte ranges of each segment in the decoded path.
    spans: Spans,
    trailing_slash: bool,
}

/// Segments kept inline for the common path depths; deeper paths spill to the heap.
const INLINE_SPANS: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Spans {
    Inline {
        len: u8,
        items: [(u32, u32); INLINE_SPANS],
    },
    Heap(Vec<(u32, u32)>),
}

impl Spans {
    fn new() -> Spans {
        Spans::Inline {
            len: 0,
            items: [(0, 0); INLINE_SPANS],
        }
    }

    fn push(&mut self, span: (u32, u32)) {
        match self {
            Spans::Inline { len, items } => match items.get_mut(usize::from(*len)) {
                Some(slot) => {
                    *slot = span;
                    *len += 1;
                }
                None => {
                    let mut heap = Vec::with_capacity(INLINE_SPANS * 2);
                    heap.extend_from_slice(items);
                    heap.push(span);
                    *self = Spans::Heap(heap);
                }
            },
            Spans::Heap(heap) => heap.push(span),
        }
    }

    fn as_slice(&self) -> &[(u32, u32)] {
        match self {
            Spans::Inline { len, items } => items.get(..usize::from(*len)).unwrap_or_default(),
            Spans::Heap(heap) => heap,
        }
    }

    fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}

/// Iterator over the decoded segments of a [`NormalizedPath`].
#[derive(Debug, Clone)]
pub struct Segments<'a> {
    decoded: &'a str,
    spans: std::slice::Iter<'a, (u32, u32)>,
}

/// The segment at `span` of `decoded`.
fn span_of<'a>(decoded: &'a str, &(start, end): &(u32, u32)) -> Option<&'a str> {
    decoded.get(start as usize..end as usize)
}

impl NormalizedPath {
    /// The path exactly as received; this is what is forwarded upstream.
    pub fn raw(&self) -> &str {
        self.text.get(..self.raw_len).unwrap_or_default()
    }

    /// The percent-decoded path (`/` + segments joined by `/`, + trailing `/` if present).
    pub fn decoded(&self) -> &str {
        self.text.get(self.raw_len..).unwrap_or_default()
    }

    /// The decoded segments, in order; `/` has none, `/a/b/` has `a` and `b`.
    pub fn segments(&self) -> Segments<'_> {
        Segments {
            decoded: self.decoded(),
            spans: self.spans.as_slice().iter(),
        }
    }

    /// The decoded segment at `index`, if there is one.
    pub fn segment(&self, index: usize) -> Option<&str> {
        span_of(self.decoded(), self.spans.as_slice().get(index)?)
    }

    /// The number of segments (a trailing `/` adds none).
    pub fn segment_count(&self) -> usize {
        self.spans.as_slice().len()
    }

    /// Whether the path ends with a `/` after at least one segment (`/admin/`, not `/`).
    pub fn has_trailing_slash(&self) -> bool {
        self.trailing_slash
    }
}

impl fmt::Display for NormalizedPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw())
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        span_of(self.decoded, self.spans.next()?)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl<'a> DoubleEndedIterator for Segments<'a> {
    fn next_back(&mut self) -> Option<&'a str> {
        span_of(self.decoded, self.spans.next_back()?)
    }
}

impl ExactSizeIterator for Segments<'_> {}

/// Validates `raw_path` (the path component of a request target, without the query) and
/// decodes its segments. The first problem found, scanning left to right, is reported.
pub fn normalize(raw_path: &str) -> Result<NormalizedPath, PathError> {
    let rest = raw_path.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
    // One buffer: the raw path, then the decoded one (never longer than the raw).
    let raw_len = raw_path.len();
    let mut text: Vec<u8> = Vec::with_capacity(raw_len * 2);
    text.extend_from_slice(raw_path.as_bytes());
    let mut spans = Spans::new();
    let mut trailing_slash = false;
    text.push(b'/');
    // Offsets within the decoded part; a path longer than u32::MAX bytes never gets here
    // (hyper's head limits), and is refused rather than truncated if it did.
    let offset = |len: usize| u32::try_from(len - raw_len).map_err(|_| PathError::InvalidChar);
    if !rest.is_empty() {
        let mut raw_segments = rest.split('/').peekable();
        while let Some(raw_segment) = raw_segments.next() {
            let is_last = raw_segments.peek().is_none();
            if raw_segment.is_empty() {
                if is_last {
                    trailing_slash = true;
                    break;
                }
                return Err(PathError::EmptySegment);
            }
            if !spans.is_empty() {
                text.push(b'/');
            }
            let start = text.len();
            decode_segment(raw_segment.as_bytes(), &mut text)?;
            let segment = text.get(start..).unwrap_or_default();
            check_segment_shape(segment)?;
            if !segment.is_ascii() {
                check_unicode_segment(segment)?;
            }
            spans.push((offset(start)?, offset(text.len())?));
        }
        if trailing_slash {
            text.push(b'/');
        }
    }
    let text = String::from_utf8(text).map_err(|_| PathError::InvalidUtf8)?;
    Ok(NormalizedPath {
        text,
        raw_len,
        spans,
        trailing_slash,
    })
}

/// Percent-decodes one raw segment (no `/` in it) onto `out`, refusing ambiguous bytes.
fn decode_segment(raw: &[u8], out: &mut Vec<u8>) -> Result<(), PathError> {
    let mut bytes = raw.iter();
    while let Some(&byte) = bytes.next() {
        if byte == b'%' {
            let high = bytes.next().and_then(|&b| hex_value(b));
            let low = bytes.next().and_then(|&b| hex_value(b));
            let (Some(high), Some(low)) = (high, low) else {
                return Err(PathError::BadPercentEncoding);
            };
            let value = (high << 4) | low;
            check_decoded_byte(value)?;
            out.push(value);
        } else {
            check_literal_byte(byte)?;
            out.push(byte);
        }
    }
    Ok(())
}

/// Refuses a byte that came from a `%XX` escape when an upstream could read it differently.
fn check_decoded_byte(byte: u8) -> Result<(), PathError> {
    match byte {
        b'/' => Err(PathError::EncodedSlash),
        b'%' => Err(PathError::DoubleEncoding),
        _ => check_common_byte(byte),
    }
}

/// Refuses a literal byte outside RFC 3986 `pchar` (unreserved, sub-delims, `:`, `@`).
fn check_literal_byte(byte: u8) -> Result<(), PathError> {
    check_common_byte(byte)?;
    if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:@".contains(&byte) {
        Ok(())
    } else {
        Err(PathError::InvalidChar)
    }
}

/// Refusals shared by literal and decoded bytes.
fn check_common_byte(byte: u8) -> Result<(), PathError> {
    match byte {
        0 => Err(PathError::Nul),
        b'\\' => Err(PathError::Backslash),
        b';' => Err(PathError::Semicolon),
        b if b.is_ascii_control() => Err(PathError::ControlChar),
        _ => Ok(()),
    }
}

/// Refuses decoded segments that servers rewrite: `.`, `..`, trailing dots and spaces.
fn check_segment_shape(segment: &[u8]) -> Result<(), PathError> {
    match segment {
        b"." | b".." => Err(PathError::DotSegment),
        [.., b'.'] => Err(PathError::TrailingDot),
        [.., b' '] => Err(PathError::TrailingSpace),
        _ => Ok(()),
    }
}

/// Refuses a decoded non-ASCII segment that an upstream applying Unicode normalization
/// (NFKC, as some frameworks, file systems and WAFs do) would read as other ASCII text than
/// doorman matched: `..／admin` or `‥` become `../admin` and `..`, `．．` a dot segment,
/// `＼` a backslash, `％２ｅ` an escape, `ａｄｍｉｎ` the literal `admin` of another route.
///
/// The rule, per character: a non-ASCII character whose NFKC form contains an ASCII
/// character is refused. That covers every way the segment's NFKC form could gain a `/`,
/// `\`, `.`, `%`, `;` or letter the raw segment did not have (composition only ever
/// produces non-ASCII characters), while ordinary text passes: `café` composed or decomposed
/// (`é` normalizes to itself, a combining accent to itself), CJK, Cyrillic, Arabic, half-width
/// katakana. Only segments with non-ASCII bytes get here, so ASCII paths pay nothing.
fn check_unicode_segment(segment: &[u8]) -> Result<(), PathError> {
    let text = std::str::from_utf8(segment).map_err(|_| PathError::InvalidUtf8)?;
    let lookalike = text
        .chars()
        .filter(|c| !c.is_ascii())
        .any(|c| std::iter::once(c).nfkc().any(|n| n.is_ascii()));
    if lookalike {
        Err(PathError::UnicodeLookalike)
    } else {
        Ok(())
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
