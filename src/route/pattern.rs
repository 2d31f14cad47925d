//! Path patterns as written in the config (`/admin/**`, `/api/projects/{id}`): parsing,
//! validation with fix-it messages, and matching of a single pattern. It owns the pattern
//! syntax; it must never accept a literal that a request path could not carry (a route that
//! can never match is a config error), and never panic on config input.

use std::fmt;
use std::str::FromStr;

use crate::path::{self, NormalizedPath, PathError};

/// The most segments a pattern may have (bounds the trie depth and its recursion).
pub const MAX_PATTERN_SEGMENTS: usize = 64;

/// A parsed path pattern. Literal segments are stored percent-decoded and ASCII-lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    source: Box<str>,
    segments: Box<[PatternSegment]>,
    tail: bool,
}

/// One segment of a pattern, before any trailing `/**`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum PatternSegment {
    /// Matches one segment equal to this, ASCII-case-insensitively (stored lowercase).
    Literal(Box<str>),
    /// `*` or `{name}`: matches exactly one segment.
    Wildcard,
}

/// A pattern that was refused, with the pattern text and what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path pattern {pattern:?} {kind}")]
pub struct PatternError {
    pub pattern: String,
    pub kind: PatternErrorKind,
}

/// What is wrong with a pattern; each message says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternErrorKind {
    #[error("must start with `/`; write {suggestion:?}")]
    NotAbsolute { suggestion: String },
    #[error(
        "ends with `/`; remove it: {suggestion:?} already matches requests with and without a trailing slash"
    )]
    TrailingSlash { suggestion: String },
    #[error("contains an empty segment (`//`); separate segments with a single `/`")]
    EmptySegment,
    #[error(
        "uses `**` before the last segment; `**` may only end a pattern (`/prefix/**`), use `*` or `{{name}}` to match one segment in the middle"
    )]
    DoubleStarNotLast,
    #[error("has segment {segment:?}; `**` must be a whole segment, as in `/prefix/**`")]
    DoubleStarInSegment { segment: String },
    #[error(
        "has segment {segment:?}; `*` must be a whole segment (partial wildcards like `a*b` are not supported), use `*` or `{{name}}` for the whole segment"
    )]
    StarInSegment { segment: String },
    #[error(
        "has segment {segment:?}; a parameter must be a whole segment `{{name}}`, with a name of letters, digits and `_` not starting with a digit"
    )]
    MalformedParam { segment: String },
    #[error("has segment {segment:?}, which requests can never carry ({reason}); {hint}", hint = refused_hint(*reason))]
    RefusedSegment { segment: String, reason: PathError },
    #[error("has {count} segments; at most {max} are allowed", max = MAX_PATTERN_SEGMENTS)]
    TooManySegments { count: usize },
}

/// What a raw pattern segment is, before validation of literals.
enum SegmentSyntax<'a> {
    Empty,
    DoubleStar,
    Wildcard,
    Literal(&'a str),
}

impl Pattern {
    /// Parses and validates a pattern such as `/`, `/**`, `/admin/**` or `/p/{id}/edit`.
    pub fn parse(source: &str) -> Result<Pattern, PatternError> {
        let fail = |kind| PatternError {
            pattern: source.to_string(),
            kind,
        };
        let Some(rest) = source.strip_prefix('/') else {
            let suggestion = format!("/{}", source.trim_start_matches(['.', '\\', '/']));
            return Err(fail(PatternErrorKind::NotAbsolute { suggestion }));
        };
        let (body, trailing_slash) = match rest.strip_suffix('/') {
            Some(body) => (body, true),
            None => (rest, false),
        };
        let mut segments = Vec::new();
        let mut tail = false;
        if !body.is_empty() {
            let raw_segments: Vec<&str> = body.split('/').collect();
            if raw_segments.len() > MAX_PATTERN_SEGMENTS + 1 {
                let count = raw_segments.len();
                return Err(fail(PatternErrorKind::TooManySegments { count }));
            }
            let last = raw_segments.len() - 1;
            for (index, raw) in raw_segments.iter().enumerate() {
                match classify(raw).map_err(fail)? {
                    SegmentSyntax::Empty => return Err(fail(PatternErrorKind::EmptySegment)),
                    SegmentSyntax::DoubleStar if index == last => tail = true,
                    SegmentSyntax::DoubleStar => {
                        return Err(fail(PatternErrorKind::DoubleStarNotLast));
                    }
                    SegmentSyntax::Wildcard => segments.push(PatternSegment::Wildcard),
                    SegmentSyntax::Literal(raw) => {
                        let literal = decode_literal(raw).map_err(fail)?;
                        segments.push(PatternSegment::Literal(literal));
                    }
                }
            }
            if segments.len() > MAX_PATTERN_SEGMENTS {
                let count = segments.len();
                return Err(fail(PatternErrorKind::TooManySegments { count }));
            }
        }
        if trailing_slash {
            let suggestion = format!("/{body}");
            return Err(fail(PatternErrorKind::TrailingSlash { suggestion }));
        }
        Ok(Pattern {
            source: source.into(),
            segments: segments.into_boxed_slice(),
            tail,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern ends with `/**`.
    pub fn has_tail(&self) -> bool {
        self.tail
    }

    /// Whether this pattern alone matches `path` (ignoring other routes and methods).
    pub fn matches(&self, path: &NormalizedPath) -> bool {
        let count = path.segment_count();
        let fits = if self.tail {
            count >= self.segments.len()
        } else {
            count == self.segments.len()
        };
        fits && self
            .segments
            .iter()
            .zip(path.segments())
            .all(|(pattern, segment)| pattern.matches(segment))
    }

    pub(super) fn segments(&self) -> &[PatternSegment] {
        &self.segments
    }
}

impl PatternSegment {
    pub(super) fn matches(&self, segment: &str) -> bool {
        match self {
            PatternSegment::Literal(literal) => literal.eq_ignore_ascii_case(segment),
            PatternSegment::Wildcard => true,
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for Pattern {
    type Err = PatternError;

    fn from_str(source: &str) -> Result<Pattern, PatternError> {
        Pattern::parse(source)
    }
}

/// Sorts a raw segment into wildcard syntax or a literal, refusing malformed wildcards.
fn classify(raw: &str) -> Result<SegmentSyntax<'_>, PatternErrorKind> {
    let segment = || raw.to_string();
    if raw.is_empty() {
        Ok(SegmentSyntax::Empty)
    } else if raw == "**" {
        Ok(SegmentSyntax::DoubleStar)
    } else if raw.contains("**") {
        Err(PatternErrorKind::DoubleStarInSegment { segment: segment() })
    } else if raw == "*" {
        Ok(SegmentSyntax::Wildcard)
    } else if raw.contains('*') {
        Err(PatternErrorKind::StarInSegment { segment: segment() })
    } else if raw.contains(['{', '}']) {
        let name = raw.strip_prefix('{').and_then(|r| r.strip_suffix('}'));
        match name {
            Some(name) if is_param_name(name) => Ok(SegmentSyntax::Wildcard),
            _ => Err(PatternErrorKind::MalformedParam { segment: segment() }),
        }
    } else {
        Ok(SegmentSyntax::Literal(raw))
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`
fn is_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Decodes a literal segment with the request path rules, so that a literal matches exactly
/// the requests that carry it; returns it ASCII-lowercased.
fn decode_literal(raw: &str) -> Result<Box<str>, PatternErrorKind> {
    let refused = |reason| PatternErrorKind::RefusedSegment {
        segment: raw.to_string(),
        reason,
    };
    let normalized = path::normalize(&format!("/{raw}")).map_err(refused)?;
    let decoded = normalized
        .segment(0)
        .ok_or_else(|| refused(PathError::EmptySegment))?;
    Ok(decoded.to_ascii_lowercase().into_boxed_str())
}

fn refused_hint(reason: PathError) -> &'static str {
    match reason {
        PathError::DotSegment => "remove the `.` or `..` segment and write the path it stands for",
        PathError::InvalidChar => {
            "percent-encode the character as browsers send it (a space as `%20`, `é` as `%C3%A9`)"
        }
        PathError::TrailingDot | PathError::TrailingSpace => {
            "remove the trailing character (servers that strip it would serve another path)"
        }
        _ => "remove the character or escape that doorman refuses in request paths",
    }
}
