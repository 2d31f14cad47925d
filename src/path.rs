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
    raw: Box<str>,
    decoded: Box<str>,
    /// Byte ranges of each segment in `decoded`.
    spans: Box<[(usize, usize)]>,
    trailing_slash: bool,
}

/// Iterator over the decoded segments of a [`NormalizedPath`].
#[derive(Debug, Clone)]
pub struct Segments<'a> {
    decoded: &'a str,
    spans: std::slice::Iter<'a, (usize, usize)>,
}

impl NormalizedPath {
    /// The path exactly as received; this is what is forwarded upstream.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The percent-decoded path (`/` + segments joined by `/`, + trailing `/` if present).
    pub fn decoded(&self) -> &str {
        &self.decoded
    }

    /// The decoded segments, in order; `/` has none, `/a/b/` has `a` and `b`.
    pub fn segments(&self) -> Segments<'_> {
        Segments {
            decoded: &self.decoded,
            spans: self.spans.iter(),
        }
    }

    /// The decoded segment at `index`, if there is one.
    pub fn segment(&self, index: usize) -> Option<&str> {
        let &(start, end) = self.spans.get(index)?;
        self.decoded.get(start..end)
    }

    /// The number of segments (a trailing `/` adds none).
    pub fn segment_count(&self) -> usize {
        self.spans.len()
    }

    /// Whether the path ends with a `/` after at least one segment (`/admin/`, not `/`).
    pub fn has_trailing_slash(&self) -> bool {
        self.trailing_slash
    }
}

impl fmt::Display for NormalizedPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let &(start, end) = self.spans.next()?;
        self.decoded.get(start..end)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl<'a> DoubleEndedIterator for Segments<'a> {
    fn next_back(&mut self) -> Option<&'a str> {
        let &(start, end) = self.spans.next_back()?;
        self.decoded.get(start..end)
    }
}

impl ExactSizeIterator for Segments<'_> {}

/// Validates `raw_path` (the path component of a request target, without the query) and
/// decodes its segments. The first problem found, scanning left to right, is reported.
pub fn normalize(raw_path: &str) -> Result<NormalizedPath, PathError> {
    let rest = raw_path.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
    let mut decoded: Vec<u8> = Vec::with_capacity(raw_path.len());
    let mut spans = Vec::new();
    let mut trailing_slash = false;
    decoded.push(b'/');
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
                decoded.push(b'/');
            }
            let start = decoded.len();
            decode_segment(raw_segment.as_bytes(), &mut decoded)?;
            let segment = decoded.get(start..).unwrap_or_default();
            check_segment_shape(segment)?;
            if !segment.is_ascii() {
                check_unicode_segment(segment)?;
            }
            spans.push((start, decoded.len()));
        }
        if trailing_slash {
            decoded.push(b'/');
        }
    }
    let decoded = String::from_utf8(decoded).map_err(|_| PathError::InvalidUtf8)?;
    Ok(NormalizedPath {
        raw: raw_path.into(),
        decoded: decoded.into_boxed_str(),
        spans: spans.into_boxed_slice(),
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
