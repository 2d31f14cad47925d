//! A token payload as its decoded JSON text plus its structure (a flat list of nodes): what the
//! verifier and the identity read, typed, straight from the text ([`Raw`]), without a
//! `serde_json::Value` tree.
//!
//! The text is checked once, strictly ([`check_strict`]: duplicate keys at any depth refused,
//! exactly as strict as the tree builder), when the token is parsed. The whole `Value` is
//! built only when a feature needs it (claim conditions, explain) and then kept
//! ([`Payload::value`]). `Debug` names the claims, never their values.

use std::fmt;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::token::json::from_slice_strict;
use crate::token::raw::Raw;
use crate::token::strict::check_strict;
use crate::token::tape::{self, Node};

/// A strict JSON document (normally an object) and its nodes.
#[derive(Clone)]
pub struct Payload {
    text: String,
    /// The structure of `text` (see [`tape`](super::tape)); empty only for `empty()`.
    nodes: Vec<Node>,
    tree: OnceLock<Value>,
}

impl Payload {
    /// Checks `bytes` strictly and finds its structure; `None` unless it is one JSON object
    /// without a duplicate key at any depth.
    pub fn parse(bytes: Vec<u8>) -> Option<Payload> {
        check_strict(&bytes).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let nodes = tape::build(&text)?;
        if !Raw::root(&text, &nodes)?.is_object() {
            return None;
        }
        Some(Payload {
            text,
            nodes,
            tree: OnceLock::new(),
        })
    }

    /// A payload from a tree (`explain --claims`, tests): the tree is kept as is, its text
    /// indexed for the typed reads.
    pub fn from_value(value: Value) -> Payload {
        let text = value.to_string();
        let nodes = tape::build(&text).unwrap_or_default();
        Payload {
            text,
            nodes,
            tree: OnceLock::from(value),
        }
    }

    /// `{}`.
    pub fn empty() -> Payload {
        Payload {
            text: "{}".to_owned(),
            nodes: Vec::new(),
            tree: OnceLock::new(),
        }
    }

    fn root(&self) -> Option<Raw<'_>> {
        Raw::root(&self.text, &self.nodes)
    }

    /// The top-level claim `name`.
    pub fn get(&self, name: &str) -> Option<Raw<'_>> {
        self.root()?.get(name)
    }

    /// `Value::pointer` on the payload, without building it.
    pub fn pointer(&self, pointer: &str) -> Option<Raw<'_>> {
        self.root()?.pointer(pointer)
    }

    /// The claim names, in document order.
    pub fn keys(&self) -> impl Iterator<Item = std::borrow::Cow<'_, str>> {
        self.root()
            .into_iter()
            .flat_map(|root| root.members().map(|(key, _)| key))
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
