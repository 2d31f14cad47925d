//! The pieces both scanners share: an incremental percent-decoder, a form key compared the
//! way PHP registers it, and a bounded value buffer.
//!
//! Everything here is fixed-size state fed one byte at a time, so a key or value split
//! across chunks anywhere (even inside `%5F`) reads the same as in one piece. Nothing here
//! allocates or decides what a found override means.

use super::{Params, MAX_PARAM_LEN};

/// Longest override value kept (`DELETE`, `PATCH`, custom tokens); a longer one is not a
/// method anyone sends and is refused.
pub(super) const MAX_VALUE_LEN: usize = 32;

/// Key bytes allowed after `_method[` before the key counts as unreadable (authorize mode
/// waits for the `=`; this bounds how long it waits).
const MAX_BRACKET_LEN: usize = 256;

/// An incremental `%XX` decoder. Like PHP's `urldecode`, a `%` not followed by two hex
/// digits stays literal.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Percent {
    /// `None`: no escape open; `Some(None)`: `%` seen; `Some(Some(h))`: `%` and hex `h`.
    open: Option<Option<u8>>,
}

impl Percent {
    /// Feeds one raw byte; `plus` decodes `+` as a space (urlencoded, not multipart).
    pub(super) fn feed(&mut self, b: u8, plus: bool, out: &mut impl FnMut(u8)) {
        match self.open {
            None if b == b'%' => self.open = Some(None),
            None => out(if plus && b == b'+' { b' ' } else { b }),
            Some(None) => match hex(b) {
                Some(_) => self.open = Some(Some(b)),
                None => {
                    self.open = None;
                    out(b'%');
                    self.feed(b, plus, out);
                }
            },
            Some(Some(high)) => {
                self.open = None;
                match (hex(high), hex(b)) {
                    (Some(h), Some(l)) => out(h << 4 | l),
                    _ => {
                        out(b'%');
                        out(high);
                        self.feed(b, plus, out);
                    }
                }
            }
        }
    }

    /// Ends the text: an open escape is literal.
    pub(super) fn finish(&mut self, out: &mut impl FnMut(u8)) {
        match self.open.take() {
            Some(None) => out(b'%'),
            Some(Some(high)) => {
                out(b'%');
                out(high);
            }
            None => {}
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Where a key stands against the configured names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyState {
    /// Leading spaces (PHP drops them) or nothing yet.
    Leading,
    /// A prefix of some configured name so far.
    Matching,
    /// A configured name followed by `[` or NUL: PHP reads `_method[x]` as `_method`, and
    /// NUL ends a C string.
    Override { extra: usize },
    /// Cannot become a configured name any more.
    Other,
}

/// One form key, decoded bytes in, compared as PHP registers it: leading spaces dropped,
/// `.` and space read as `_`, ASCII case folded (refusing `_METHOD` is fail-safe).
#[derive(Debug, Clone)]
pub(super) struct Key {
    buf: [u8; MAX_PARAM_LEN],
    len: usize,
    state: KeyState,
}

impl Default for Key {
    fn default() -> Self {
        Key {
            buf: [0; MAX_PARAM_LEN],
            len: 0,
            state: KeyState::Leading,
        }
    }
}

impl Key {
    pub(super) fn push(&mut self, b: u8, params: &Params) {
        match self.state {
            KeyState::Other => {}
            KeyState::Override { ref mut extra } => *extra = extra.saturating_add(1),
            KeyState::Leading if b == b' ' => {}
            KeyState::Leading | KeyState::Matching => {
                if (b == b'[' || b == 0) && params.matches(&self.buf[..self.len]) {
                    self.state = KeyState::Override { extra: 0 };
                    return;
                }
                let Some(slot) = self.buf.get_mut(self.len) else {
                    self.state = KeyState::Other;
                    return;
                };
                *slot = match b {
                    b'.' | b' ' => b'_',
                    b => b.to_ascii_lowercase(),
                };
                self.len += 1;
                self.state = if params.has_prefix(&self.buf[..self.len]) {
                    KeyState::Matching
                } else {
                    KeyState::Other
                };
            }
        }
    }

    /// The key, as far as it went, is an override parameter.
    pub(super) fn is_override(&self, params: &Params) -> bool {
        match self.state {
            KeyState::Override { .. } => true,
            KeyState::Matching => params.matches(&self.buf[..self.len]),
            KeyState::Leading | KeyState::Other => false,
        }
    }

    /// Already an override, whatever follows (`_method[`).
    pub(super) fn is_settled_override(&self) -> bool {
        matches!(self.state, KeyState::Override { .. })
    }

    /// An override key that has gone on too long to wait for its `=`.
    pub(super) fn is_overlong(&self) -> bool {
        matches!(self.state, KeyState::Override { extra } if extra > MAX_BRACKET_LEN)
    }
}

/// A bounded value buffer: the first [`MAX_VALUE_LEN`] bytes, and whether more came.
#[derive(Debug, Clone)]
pub(super) struct Value {
    buf: [u8; MAX_VALUE_LEN],
    len: usize,
    overlong: bool,
}

impl Default for Value {
    fn default() -> Self {
        Value {
            buf: [0; MAX_VALUE_LEN],
            len: 0,
            overlong: false,
        }
    }
}

impl Value {
    pub(super) fn push(&mut self, b: u8) {
        match self.buf.get_mut(self.len) {
            Some(slot) => {
                *slot = b;
                self.len += 1;
            }
            None => self.overlong = true,
        }
    }

    /// The value, or `None` when it was longer than [`MAX_VALUE_LEN`].
    pub(super) fn get(&self) -> Option<&[u8]> {
        (!self.overlong).then_some(&self.buf[..self.len])
    }

    pub(super) fn is_overlong(&self) -> bool {
        self.overlong
    }
}
