//! The `multipart/*` scanner: finds parts whose `Content-Disposition` names an override
//! parameter, and (authorize mode) reads such a part's value.
//!
//! Delimiters are `\n--boundary` (PHP searches for exactly that; `\r\n--boundary` contains
//! it), found by a streaming matcher; a boundary never contains CR or LF, so the matcher
//! needs no table. Part headers are read line by line into a buffer of at most
//! [`MAX_LINE`] bytes, folded lines joined (PHP unfolds them); a `Content-Disposition`
//! line longer than that is reported as unreadable. Part bodies other than an override's
//! value are never kept, so a file whose content says `name="_method"` is just content.

use std::ops::ControlFlow;

use super::key::{Key, Percent, MAX_VALUE_LEN};
use super::{Event, Params};

/// Longest part header line kept.
pub(super) const MAX_LINE: usize = 4096;

const DISPOSITION: &[u8] = b"content-disposition";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Looking for the next delimiter (preamble, or a part body that is not an override).
    Body,
    /// After a delimiter: skipping `--` or padding up to the end of the line.
    DelimiterLine,
    /// Part headers; `at_line_start` says whether the next byte starts a line.
    Headers { at_line_start: bool },
    /// The body of an override part, kept up to the next delimiter (authorize mode).
    Value,
}

/// Scans one multipart body with one boundary.
#[derive(Debug, Clone)]
pub struct MultipartScanner {
    need_value: bool,
    /// `\n--` + boundary.
    delimiter: Box<[u8]>,
    matched: usize,
    state: State,
    /// The current header (folded lines joined), at most [`MAX_LINE`] bytes.
    line: Vec<u8>,
    line_overflow: bool,
    /// This part's headers named an override parameter.
    part_is_override: bool,
    /// Header bytes read since the override name was seen (bounded in authorize mode).
    after_name: usize,
    /// The override value so far, delimiter candidate bytes included.
    value: Vec<u8>,
}

impl MultipartScanner {
    pub fn new(boundary: &[u8], need_value: bool) -> Self {
        let mut delimiter = b"\n--".to_vec();
        delimiter.extend_from_slice(boundary);
        MultipartScanner {
            need_value,
            delimiter: delimiter.into_boxed_slice(),
            // The body may open with the first delimiter, without a line break before it.
            matched: 1,
            state: State::Body,
            line: Vec::new(),
            line_overflow: false,
            part_is_override: false,
            after_name: 0,
            value: Vec::new(),
        }
    }

    /// Scans the next bytes; `on` may stop the scan.
    pub fn feed<B>(
        &mut self,
        chunk: &[u8],
        params: &Params,
        on: &mut impl FnMut(Event<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        for &b in chunk {
            match self.state {
                State::Body => {
                    if self.delimiter_ends_at(b) {
                        self.state = State::DelimiterLine;
                    }
                }
                State::DelimiterLine => {
                    if b == b'\n' {
                        self.state = State::Headers {
                            at_line_start: true,
                        };
                        self.part_is_override = false;
                        self.after_name = 0;
                        self.line.clear();
                        self.line_overflow = false;
                    }
                }
                State::Headers { at_line_start } => {
                    self.header_byte(b, at_line_start, params, on)?
                }
                State::Value => {
                    self.value.push(b);
                    if self.delimiter_ends_at(b) {
                        // Without the leading `\n` kept from the blank line, and the delimiter.
                        let end = self.value.len().saturating_sub(self.delimiter.len());
                        let value = strip_cr(self.value.get(1..end.max(1)).unwrap_or_default());
                        on(Event::Value(Some(value)))?;
                        self.value.clear();
                        self.state = State::DelimiterLine;
                    } else if self.value.len() > 1 + MAX_VALUE_LEN + 1 + self.delimiter.len() {
                        on(Event::Value(None))?;
                    }
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// The body ended: a pending header line is read, an open override value is complete.
    pub fn finish<B>(
        &mut self,
        params: &Params,
        on: &mut impl FnMut(Event<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        match self.state {
            State::Headers { .. } => {
                self.end_header(params, on)?;
                if self.part_is_override && self.need_value {
                    on(Event::Value(Some(b"")))?;
                }
            }
            State::Value => {
                let value = self.value.get(1..).unwrap_or_default();
                on(Event::Value(Some(strip_cr(value))))?;
            }
            State::Body | State::DelimiterLine => {}
        }
        self.state = State::Body;
        ControlFlow::Continue(())
    }

    /// True while the end of the body would complete a finding.
    pub fn undecided(&self) -> bool {
        match self.state {
            State::Headers { .. } => {
                (self.part_is_override && self.need_value) || could_be_disposition(&self.line)
            }
            State::Value => true,
            State::Body | State::DelimiterLine => false,
        }
    }

    fn delimiter_ends_at(&mut self, b: u8) -> bool {
        if self.delimiter.get(self.matched) == Some(&b) {
            self.matched += 1;
            if self.matched == self.delimiter.len() {
                self.matched = 0;
                return true;
            }
        } else {
            // `\n` occurs only first in the delimiter, so a mismatch restarts there or nowhere.
            self.matched = usize::from(b == b'\n');
        }
        false
    }

    fn header_byte<B>(
        &mut self,
        b: u8,
        at_line_start: bool,
        params: &Params,
        on: &mut impl FnMut(Event<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if self.part_is_override && self.need_value {
            self.after_name += 1;
            if self.after_name > MAX_LINE {
                on(Event::Unreadable)?;
            }
        }
        match b {
            // Bare CRs are dropped: `\r\n` and `\n` both end a line.
            b'\r' => {}
            b'\n' if at_line_start => {
                self.end_header(params, on)?;
                // The blank line's `\n` may begin the next delimiter (an empty part body).
                self.matched = 1;
                self.state = if self.part_is_override && self.need_value {
                    // Kept from the blank line's `\n` on, so an empty value is found too.
                    self.value.clear();
                    self.value.push(b'\n');
                    State::Value
                } else {
                    State::Body
                };
            }
            b'\n' => {
                self.state = State::Headers {
                    at_line_start: true,
                }
            }
            b => {
                if at_line_start {
                    self.state = State::Headers {
                        at_line_start: false,
                    };
                    // A line starting with a space or tab continues the previous header.
                    if b != b' ' && b != b'\t' {
                        self.end_header(params, on)?;
                    }
                }
                if self.line.len() < MAX_LINE {
                    self.line.push(b);
                } else {
                    self.line_overflow = true;
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// Reads the header collected so far and starts a new one.
    fn end_header<B>(
        &mut self,
        params: &Params,
        on: &mut impl FnMut(Event<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        let line = std::mem::take(&mut self.line);
        let overflow = std::mem::replace(&mut self.line_overflow, false);
        let result = self.read_header(&line, overflow, params, on);
        self.line = line;
        self.line.clear();
        result
    }

    fn read_header<B>(
        &mut self,
        line: &[u8],
        overflow: bool,
        params: &Params,
        on: &mut impl FnMut(Event<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            if overflow && could_be_disposition(line) {
                on(Event::Unreadable)?;
            }
            return ControlFlow::Continue(());
        };
        if !line[..colon].trim_ascii().eq_ignore_ascii_case(DISPOSITION) {
            return ControlFlow::Continue(());
        }
        if overflow {
            return on(Event::Unreadable);
        }
        if names(&line[colon + 1..]).any(|name| is_override_name(name, params)) {
            self.part_is_override = true;
            on(Event::Key)?;
        }
        ControlFlow::Continue(())
    }
}

/// The header so far could be (or is) a `Content-Disposition` header.
fn could_be_disposition(line: &[u8]) -> bool {
    let name = line.split(|&b| b == b':').next().unwrap_or_default();
    let name = name.trim_ascii_start();
    if line.contains(&b':') {
        name.trim_ascii_end().eq_ignore_ascii_case(DISPOSITION)
    } else {
        let n = name.len().min(DISPOSITION.len());
        !line.is_empty() && name[..n].eq_ignore_ascii_case(&DISPOSITION[..n])
    }
}

fn strip_cr(value: &[u8]) -> &[u8] {
    value.strip_suffix(b"\r").unwrap_or(value)
}

/// Every `name` / `name*` parameter value of a `Content-Disposition` value, read the way
/// the laxest parser does: at the start and after every `;`, even one inside a quoted
/// `filename` (Rack's pattern `;\s*name=` matches there), with spaces around `=` allowed.
fn names(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    let starts = std::iter::once(0).chain(
        value
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b';')
            .map(|(i, _)| i + 1),
    );
    starts.filter_map(move |start| name_at(value.get(start..)?))
}

fn name_at(text: &[u8]) -> Option<&[u8]> {
    let text = text.trim_ascii_start();
    let rest = text
        .get(..4)?
        .eq_ignore_ascii_case(b"name")
        .then(|| &text[4..])?;
    let (extended, rest) = match rest.strip_prefix(b"*") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let rest = rest
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let value = match rest.strip_prefix(b"\"") {
        // Quoted: up to the closing quote; `\"` does not close it.
        Some(quoted) => {
            let mut escaped = false;
            let end = quoted
                .iter()
                .position(|&b| {
                    let closes = b == b'"' && !escaped;
                    escaped = b == b'\\' && !escaped;
                    closes
                })
                .unwrap_or(quoted.len());
            &quoted[..end]
        }
        None => {
            let end = rest
                .iter()
                .position(|&b| b == b';' || b.is_ascii_whitespace())
                .unwrap_or(rest.len());
            &rest[..end]
        }
    };
    // RFC 5987 `name*=utf-8''%5Fmethod`: the value follows the second `'`.
    if extended {
        let mut quotes = value.iter().enumerate().filter(|&(_, &b)| b == b'\'');
        if let (Some(_), Some((second, _))) = (quotes.next(), quotes.next()) {
            return value.get(second + 1..);
        }
    }
    Some(value)
}

/// A part name compared like a form key (percent-decoded too, which only adds matches).
fn is_override_name(name: &[u8], params: &Params) -> bool {
    let mut key = Key::default();
    let mut pct = Percent::default();
    for &b in name {
        if b == b'\\' {
            continue; // quoted-pair: `\_method` is `_method`
        }
        pct.feed(b, false, &mut |d| key.push(d, params));
    }
    pct.finish(&mut |d| key.push(d, params));
    key.is_override(params)
}
