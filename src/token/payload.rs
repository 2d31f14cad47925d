//! A token payload as its decoded JSON text plus an index of its top-level claims: what the
//! verifier and the identity read, typed, straight from the text ([`Raw`]), without a
//! `serde_json::Value` tree.
//!
//! The text is checked once, strictly ([`check_strict`]: duplicate keys at any depth refused,
//! exactly as strict as the tree builder), when the token is parsed. The whole `Value` is
//! built only when a feature needs it (claim conditions, explain) and then kept
//! ([`Payload::value`]). `Debug` names the claims, never their values.

use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::token::json::from_slice_strict;
use crate::token::raw::Raw;
use crate::token::strict::check_strict;

/// A strict JSON document (normally an object) and where its top-level members are.
#[derive(Clone)]
pub struct Payload {
    text: String,
    /// Top-level members: the unescaped key and the value's byte range in `text`.
    claims: Vec<(Key, Range<usize>)>,
    tree: OnceLock<Value>,
}

/// A top-level key: its byte range in the text when it has no escape, else its unescaped text.
#[derive(Clone)]
enum Key {
    Span(Range<usize>),
    Unescaped(Box<str>),
}

impl Payload {
    /// Checks `bytes` strictly and indexes it; `None` unless it is one JSON object without a
    /// duplicate key at any depth.
    pub fn parse(bytes: Vec<u8>) -> Option<Payload> {
        check_strict(&bytes).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let root = Raw::new(&text);
        if !root.is_object() {
            return None;
        }
        let base = text.as_ptr() as usize;
        let offset = |s: &str| s.as_ptr() as usize - base;
        let claims = root
            .members()
            .map(|(key, value)| {
                let key = match key {
                    std::borrow::Cow::Borrowed(k) => Key::Span(offset(k)..offset(k) + k.len()),
                    std::borrow::Cow::Owned(k) => Key::Unescaped(k.into_boxed_str()),
                };
                let start = offset(value.text());
                (key, start..start + value.text().len())
            })
            .collect();
        Some(Payload {
            text,
            claims,
            tree: OnceLock::new(),
        })
    }

    /// A payload from a tree (`explain --claims`, tests): the tree is kept as is, its text
    /// indexed for the typed reads.
    pub fn from_value(value: Value) -> Payload {
        let text = value.to_string();
        let mut payload = match Payload::parse(text.clone().into_bytes()) {
            Some(payload) => payload,
            None => Payload {
                text,
                claims: Vec::new(),
                tree: OnceLock::new(),
            },
        };
        payload.tree = OnceLock::from(value);
        payload
    }

    /// `{}`.
    pub fn empty() -> Payload {
        Payload {
            text: "{}".to_owned(),
            claims: Vec::new(),
            tree: OnceLock::new(),
        }
    }

    /// The top-level claim `name`.
    pub fn get(&self, name: &str) -> Option<Raw<'_>> {
        self.claims
            .iter()
            .find(|(key, _)| self.key(key) == name)
            .and_then(|(_, range)| self.text.get(range.clone()))
            .map(Raw::new)
    }

    /// `Value::pointer` on the payload, without building it.
    pub fn pointer(&self, pointer: &str) -> Option<Raw<'_>> {
        if pointer.is_empty() {
            return Some(Raw::new(&self.text));
        }
        let rest = pointer.strip_prefix('/')?;
        let (first, rest) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        };
        let claim = if first.contains('~') {
            self.get(&first.replace("~1", "/").replace("~0", "~"))
        } else {
            self.get(first)
        }?;
        claim.pointer(rest)
    }

    /// The claim names, in document order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.claims.iter().map(|(key, _)| self.key(key))
    }

    /// The decoded JSON text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The whole payload as a tree, built on first use and kept.
    pub fn value(&self) -> &Value {
        self.tree.get_or_init(|| {
            from_slice_strict(self.text.as_bytes()).unwrap_or(Value::Object(Map::new()))
        })
    }

    fn key<'a>(&'a self, key: &'a Key) -> &'a str {
        match key {
            Key::Span(range) => self.text.get(range.clone()).unwrap_or_default(),
            Key::Unescaped(key) => key,
        }
    }
}

impl From<Value> for Payload {
    fn from(value: Value) -> Payload {
        Payload::from_value(value)
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        self.value() == other.value()
    }
}

impl PartialEq<Value> for Payload {
    fn eq(&self, other: &Value) -> bool {
        self.value() == other
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Payload")
            .field(&self.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests;
