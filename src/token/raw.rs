//! Borrowed views into JSON text that [`check_strict`](super::strict::check_strict) has
//! already accepted: find an object's members or an array's elements by their byte ranges,
//! resolve RFC 6901 pointers, and read a value typed (string, integer, bool) without
//! building a tree.
//!
//! Nothing here decides what is valid JSON: the scanner only finds boundaries in text the
//! strict pass accepted, and every typed read goes through serde_json on the exact slice, so
//! a value reads the same as it would out of a `serde_json::Value` of the whole document
//! (`payload/tests.rs` checks this against `Value::pointer` on generated documents). On text
//! it was not meant for, the scanner stops (`None`, no member) instead of panicking.

use std::borrow::Cow;

use serde_json::Value;

use crate::token::json::from_slice_strict;

/// One JSON value of a validated document, as its exact text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raw<'a>(&'a str);

impl<'a> Raw<'a> {
    /// Wraps text the strict check accepted (surrounding whitespace allowed).
    pub(crate) fn new(text: &'a str) -> Raw<'a> {
        Raw(text.trim_matches(is_ws_char))
    }

    /// The value's JSON text.
    pub fn text(self) -> &'a str {
        self.0
    }

    fn first(self) -> Option<u8> {
        self.0.as_bytes().first().copied()
    }

    pub fn is_null(self) -> bool {
        self.0 == "null"
    }

    pub fn is_object(self) -> bool {
        self.first() == Some(b'{')
    }

    pub fn is_array(self) -> bool {
        self.first() == Some(b'[')
    }

    pub fn is_string(self) -> bool {
        self.first() == Some(b'"')
    }

    /// `Some` for `true`/`false` only.
    pub fn as_bool(self) -> Option<bool> {
        match self.0 {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    /// The unescaped string, borrowed when it holds no escape; `None` for other types.
    pub fn as_str(self) -> Option<Cow<'a, str>> {
        let inner = self.0.strip_prefix('"')?.strip_suffix('"')?;
        if inner.contains('\\') {
            serde_json::from_str::<String>(self.0).ok().map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(inner))
        }
    }

    /// What `Value::as_i64` gives for this value: an integer number in `i64` range.
    pub fn as_i64(self) -> Option<i64> {
        if !matches!(self.first(), Some(b'-' | b'0'..=b'9')) {
            return None;
        }
        serde_json::from_str::<serde_json::Number>(self.0)
            .ok()?
            .as_i64()
    }

    /// The value as a `serde_json::Value` (a tree of this value only).
    pub fn to_value(self) -> Value {
        from_slice_strict(self.0.as_bytes()).unwrap_or(Value::Null)
    }

    /// The members of an object, in document order, keys unescaped; empty for other types.
    pub fn members(self) -> Members<'a> {
        let start = if self.is_object() { 1 } else { self.0.len() };
        Members {
            text: self.0,
            at: start,
        }
    }

    /// The elements of an array, in order; empty for other types.
    pub fn elements(self) -> Elements<'a> {
        let start = if self.is_array() { 1 } else { self.0.len() };
        Elements {
            text: self.0,
            at: start,
        }
    }

    /// The member `key` of an object (keys are unique in a strict document).
    pub fn get(self, key: &str) -> Option<Raw<'a>> {
        self.members().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// `Value::pointer` on this value: `""` is the value itself; otherwise `/`-separated
    /// tokens (`~1` is `/`, `~0` is `~`), object keys or canonical array indexes.
    pub fn pointer(self, pointer: &str) -> Option<Raw<'a>> {
        if pointer.is_empty() {
            return Some(self);
        }
        let rest = pointer.strip_prefix('/')?;
        rest.split('/').try_fold(self, |target, token| {
            let token: Cow<'_, str> = if token.contains('~') {
                Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
            } else {
                Cow::Borrowed(token)
            };
            if target.is_object() {
                target.get(&token)
            } else if target.is_array() {
                target.elements().nth(array_index(&token)?)
            } else {
                None
            }
        })
    }
}

/// serde_json's pointer rule for array indexes: no sign, no leading zero.
fn array_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

/// Iterator over an object's members (see [`Raw::members`]).
pub struct Members<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (Cow<'a, str>, Raw<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.text.as_bytes();
        let key_start = skip_ws(b, self.at);
        if b.get(key_start) != Some(&b'"') {
            self.at = b.len();
            return None;
        }
        let key_end = string_end(b, key_start)?;
        let colon = skip_ws(b, key_end);
        let value_start = skip_ws(b, colon + 1);
        let value_end = (b.get(colon) == Some(&b':'))
            .then(|| value_end(b, value_start))
            .flatten();
        let (Some(value_end), Some(key), Some(value)) = (
            value_end,
            self.text.get(key_start..key_end),
            value_end.and_then(|end| self.text.get(value_start..end)),
        ) else {
            self.at = b.len();
            return None;
        };
        self.at = after_separator(b, value_end);
        let key = Raw(key).as_str()?;
        Some((key, Raw(value)))
    }
}

/// Iterator over an array's elements (see [`Raw::elements`]).
pub struct Elements<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Raw<'a>;

    fn next(&mut self) -> Option<Raw<'a>> {
        let b = self.text.as_bytes();
        let start = skip_ws(b, self.at);
        if matches!(b.get(start), None | Some(b']')) {
            self.at = b.len();
            return None;
        }
        let Some((end, value)) =
            value_end(b, start).and_then(|end| Some((end, self.text.get(start..end)?)))
        else {
            self.at = b.len();
            return None;
        };
        self.at = after_separator(b, end);
        Some(Raw(value))
    }
}

fn is_ws_char(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn skip_ws(b: &[u8], mut at: usize) -> usize {
    while matches!(b.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// Past the `,` after a member or element; at the end when the container closes.
fn after_separator(b: &[u8], at: usize) -> usize {
    let at = skip_ws(b, at);
    match b.get(at) {
        Some(b',') => at + 1,
        _ => b.len(),
    }
}

/// The index just past the string starting at `at` (which is `"`).
fn string_end(b: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        match b.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// The index just past the value starting at `at`.
fn value_end(b: &[u8], at: usize) -> Option<usize> {
    match b.get(at)? {
        b'"' => string_end(b, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match b.get(i)? {
                    b'"' => {
                        i = string_end(b, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        b',' | b'}' | b']' | b':' => None,
        _ => {
            let mut i = at;
            while !matches!(
                b.get(i),
                None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            ) {
                i += 1;
            }
            Some(i)
        }
    }
}
