//! Borrowed views into JSON text that [`check_strict`](super::strict::check_strict) has
//! already accepted, over its [`tape`](super::tape) of nodes: an object's members, an array's
//! elements, RFC 6901 pointers, and typed reads (string, integer, bool) without building a
//! tree.
//!
//! Nothing here decides what is valid JSON, and every typed read goes through serde_json on
//! the value's exact text, so a value reads the same as it would out of a
//! `serde_json::Value` of the whole document (`payload/tests.rs` checks this against
//! `Value::pointer` on generated documents).

use std::borrow::Cow;

use serde_json::Value;

use crate::token::json::from_slice_strict;
use crate::token::tape::{Node, NONE};

/// One JSON value of a validated document: its text and its place in the document's nodes.
#[derive(Debug, Clone, Copy)]
pub struct Raw<'a> {
    text: &'a str,
    nodes: &'a [Node],
    at: u32,
}

impl<'a> Raw<'a> {
    /// The root value of `text`, whose nodes are `nodes` (see [`tape::build`](super::tape::build)).
    pub(crate) fn root(text: &'a str, nodes: &'a [Node]) -> Option<Raw<'a>> {
        nodes.first()?;
        Some(Raw { text, nodes, at: 0 })
    }

    fn node(self) -> Option<&'a Node> {
        self.nodes.get(self.at as usize)
    }

    fn at(self, index: u32) -> Option<Raw<'a>> {
        (index != NONE).then_some(Raw { at: index, ..self })
    }

    /// The value's JSON text.
    pub fn text(self) -> &'a str {
        self.node()
            .and_then(|n| self.text.get(n.value.0 as usize..n.value.1 as usize))
            .unwrap_or_default()
    }

    fn first(self) -> Option<u8> {
        self.text().as_bytes().first().copied()
    }

    pub fn is_null(self) -> bool {
        self.text() == "null"
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
        match self.text() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    /// The unescaped string, borrowed when it holds no escape; `None` for other types.
    pub fn as_str(self) -> Option<Cow<'a, str>> {
        string_text(self.text())
    }

    /// What `Value::as_i64` gives for this value: an integer number in `i64` range.
    pub fn as_i64(self) -> Option<i64> {
        let text = self.text();
        if !matches!(text.as_bytes().first(), Some(b'-' | b'0'..=b'9')) {
            return None;
        }
        serde_json::from_str::<serde_json::Number>(text)
            .ok()?
            .as_i64()
    }

    /// The value as a `serde_json::Value` (a tree of this value only).
    pub fn to_value(self) -> Value {
        from_slice_strict(self.text().as_bytes()).unwrap_or(Value::Null)
    }

    /// The members of an object, in document order, keys unescaped; empty for other types.
    pub fn members(self) -> impl Iterator<Item = (Cow<'a, str>, Raw<'a>)> {
        self.children()
            .filter(move |_| self.is_object())
            .map(|child| (child.key().unwrap_or_default(), child))
    }

    /// The elements of an array, in order; empty for other types.
    pub fn elements(self) -> impl Iterator<Item = Raw<'a>> {
        self.children().filter(move |_| self.is_array())
    }

    fn children(self) -> impl Iterator<Item = Raw<'a>> {
        let first = self.node().and_then(|n| self.at(n.first_child));
        std::iter::successors(first, |child| child.node().and_then(|n| child.at(n.next)))
    }

    /// This member's key, unescaped.
    fn key(self) -> Option<Cow<'a, str>> {
        let node = self.node()?;
        let inner = self.text.get(node.key.0 as usize..node.key.1 as usize)?;
        if node.key_escaped {
            let quoted = self
                .text
                .get(node.key.0.checked_sub(1)? as usize..node.key.1 as usize + 1)?;
            string_text(quoted)
        } else {
            Some(Cow::Borrowed(inner))
        }
    }

    /// Whether this member's key is `wanted` (compared unescaped).
    fn key_is(self, wanted: &str) -> bool {
        match self.node() {
            Some(node) if !node.key_escaped => {
                node.key.1.saturating_sub(node.key.0) as usize == wanted.len()
                    && self.text.get(node.key.0 as usize..node.key.1 as usize) == Some(wanted)
            }
            Some(_) => self.key().is_some_and(|key| key == wanted),
            None => false,
        }
    }

    /// The member `key` of an object (keys are unique in a strict document).
    pub fn get(self, key: &str) -> Option<Raw<'a>> {
        if !self.is_object() {
            return None;
        }
        self.children().find(|child| child.key_is(key))
    }

    /// `Value::pointer` on this value: `""` is the value itself; otherwise `/`-separated
    /// tokens (`~1` is `/`, `~0` is `~`), object keys or canonical array indexes.
    pub fn pointer(self, pointer: &str) -> Option<Raw<'a>> {
        if pointer.is_empty() {
            return Some(self);
        }
        let rest = pointer.strip_prefix('/')?;
        rest.split('/').try_fold(self, |target, token| {
            let token: Cow<'_, str> = if token.as_bytes().contains(&b'~') {
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

/// The unescaped text of a JSON string literal, borrowed when it holds no escape.
fn string_text(text: &str) -> Option<Cow<'_, str>> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if inner.as_bytes().contains(&b'\\') {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// serde_json's pointer rule for array indexes: no sign, no leading zero.
fn array_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}
