//! The structure of JSON text that [`check_strict`](super::strict::check_strict) has
//! accepted, found in one pass and kept as a flat list of nodes (byte ranges and sibling
//! links), so claims and pointers are found by comparing keys, never by rescanning the text.
//!
//! This pass decides nothing about validity: it only finds boundaries in text the strict
//! pass accepted (serde_json's grammar). Should it meet anything it does not expect, it gives
//! up (`None`, which the caller treats as a malformed token): it never panics and never
//! guesses.

use memchr::memchr2;

/// "No node" in the links.
pub(crate) const NONE: u32 = u32::MAX;

/// One JSON value: where its text is, its key when it is an object member, its links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Node {
    /// The key's text between its quotes (members only; else empty).
    pub key: (u32, u32),
    /// Whether that key text holds an escape (then it must be unescaped to compare).
    pub key_escaped: bool,
    /// The value's text.
    pub value: (u32, u32),
    /// First member or element (containers only), else [`NONE`].
    pub first_child: u32,
    /// The next member or element of the same container, else [`NONE`].
    pub next: u32,
}

/// The nodes of `text`, the root value first; `None` if `text` is not one JSON value the
/// scanner can follow (never the case for text `check_strict` accepted), or longer than
/// `u32::MAX` bytes.
pub(crate) fn build(text: &str) -> Option<Vec<Node>> {
    let b = text.as_bytes();
    u32::try_from(b.len()).ok()?;
    let mut nodes: Vec<Node> = Vec::with_capacity(b.len() / 12 + 2);
    // Open containers: (node, its last child so far).
    let mut open: Vec<(u32, u32)> = Vec::new();
    let mut at = skip_ws(b, 0);
    let mut key = ((0, 0), false);
    loop {
        // At the start of a value (the root, a member's value or an element).
        let index = u32::try_from(nodes.len()).ok()?;
        if let Some((container, last)) = open.last_mut() {
            match *last {
                NONE => nodes.get_mut(*container as usize)?.first_child = index,
                previous => nodes.get_mut(previous as usize)?.next = index,
            }
            *last = index;
        }
        let start = at;
        let container = matches!(b.get(at)?, b'{' | b'[');
        let end = match b.get(at)? {
            b'{' | b'[' => at + 1,
            b'"' => string_end(b, at)?,
            b',' | b':' | b'}' | b']' => return None,
            _ => scalar_end(b, at),
        };
        nodes.push(Node {
            key: key.0,
            key_escaped: key.1,
            value: (pos(start), pos(end)),
            first_child: NONE,
            next: NONE,
        });
        key = ((0, 0), false);
        if container {
            open.push((index, NONE));
        }
        at = end;
        // Close what ends here, then find the next value (and its key, in an object).
        loop {
            at = skip_ws(b, at);
            let Some(&(current, last)) = open.last() else {
                return (at == b.len()).then_some(nodes);
            };
            match b.get(at)? {
                b'}' | b']' => {
                    nodes.get_mut(current as usize)?.value.1 = pos(at + 1);
                    open.pop();
                    at += 1;
                    continue;
                }
                b',' if last != NONE => at = skip_ws(b, at + 1),
                _ if last == NONE => {}
                _ => return None,
            }
            let object = b.get(nodes.get(current as usize)?.value.0 as usize) == Some(&b'{');
            if object {
                if b.get(at) != Some(&b'"') {
                    return None;
                }
                let key_end = string_end(b, at)?;
                let inner = b.get(at + 1..key_end - 1)?;
                key = ((pos(at + 1), pos(key_end - 1)), inner.contains(&b'\\'));
                at = skip_ws(b, key_end);
                if b.get(at) != Some(&b':') {
                    return None;
                }
                at = skip_ws(b, at + 1);
            }
            break;
        }
    }
}

/// Fits: `build` refused text longer than `u32::MAX` bytes.
fn pos(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

fn skip_ws(b: &[u8], mut at: usize) -> usize {
    while matches!(b.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// Just past the string whose opening quote is at `at`.
fn string_end(b: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        i += memchr2(b'"', b'\\', b.get(i..)?)?;
        match b.get(i)? {
            b'\\' => i += 2,
            _ => return Some(i + 1),
        }
    }
}

/// Just past the number or literal starting at `at`.
fn scalar_end(b: &[u8], at: usize) -> usize {
    let mut i = at;
    while !matches!(
        b.get(i),
        None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
    ) {
        i += 1;
    }
    i
}
