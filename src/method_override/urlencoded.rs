//! The `application/x-www-form-urlencoded` scanner (also used for query strings).
//!
//! Fields are split on `&` and on `;` (PHP splits on `&` only, older Rack on both: reading
//! both finds every key any of them sees). Keys and values are percent-decoded, `+` as a
//! space, byte by byte, so a chunk boundary anywhere changes nothing. State is fixed-size;
//! it never buffers the body and never judges what it finds.

use std::ops::ControlFlow;

use super::key::{Key, Percent, Value};
use super::{Event, Params};

/// Which part of a field the next byte belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Key,
    /// The value of an override key, kept (authorize mode).
    Keep,
    /// Any other value, skipped.
    Skip,
}

/// Finds override keys (and, when asked, their values) in urlencoded text.
#[derive(Debug, Clone)]
pub struct UrlScanner {
    need_value: bool,
    field: Field,
    pct: Percent,
    key: Key,
    value: Value,
}

impl UrlScanner {
    /// `need_value`: report each override's value (authorize mode) rather than stopping at
    /// the key.
    pub fn new(need_value: bool) -> Self {
        UrlScanner {
            need_value,
            field: Field::Key,
            pct: Percent::default(),
            key: Key::default(),
            value: Value::default(),
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
            match (self.field, b) {
                (Field::Key, b'=') => {
                    self.end_key(params);
                    self.field = if self.key.is_override(params) {
                        on(Event::Key)?;
                        if self.need_value {
                            Field::Keep
                        } else {
                            Field::Skip
                        }
                    } else {
                        Field::Skip
                    };
                }
                (_, b'&' | b';') => self.end_field(params, on)?,
                (Field::Key, b) => {
                    let (pct, key) = (&mut self.pct, &mut self.key);
                    pct.feed(b, true, &mut |d| key.push(d, params));
                    if self.key.is_settled_override() && !self.need_value {
                        // `_method[`: nothing that follows makes it anything else.
                        on(Event::Key)?;
                    }
                    if self.key.is_overlong() {
                        on(Event::Key)?;
                        on(Event::Unreadable)?;
                    }
                }
                (Field::Keep, b) => {
                    let (pct, value) = (&mut self.pct, &mut self.value);
                    pct.feed(b, true, &mut |d| value.push(d));
                    if self.value.is_overlong() {
                        on(Event::Value(None))?;
                    }
                }
                (Field::Skip, _) => {}
            }
        }
        ControlFlow::Continue(())
    }

    /// The text ended: a key or value still open is complete now.
    pub fn finish<B>(
        &mut self,
        params: &Params,
        on: &mut impl FnMut(Event<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        self.end_field(params, on)
    }

    /// True while the end of the text would complete a finding, so the bytes so far must
    /// not be released yet.
    pub fn undecided(&self, params: &Params) -> bool {
        match self.field {
            Field::Key => self.key.is_override(params) || self.key.is_settled_override(),
            Field::Keep => true,
            Field::Skip => false,
        }
    }

    fn end_key(&mut self, params: &Params) {
        let (pct, key) = (&mut self.pct, &mut self.key);
        pct.finish(&mut |d| key.push(d, params));
    }

    fn end_field<B>(
        &mut self,
        params: &Params,
        on: &mut impl FnMut(Event<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        match self.field {
            Field::Key => {
                self.end_key(params);
                if self.key.is_override(params) {
                    on(Event::Key)?;
                    if self.need_value {
                        on(Event::Value(Some(b"")))?;
                    }
                }
            }
            Field::Keep => {
                let (pct, value) = (&mut self.pct, &mut self.value);
                pct.finish(&mut |d| value.push(d));
                on(Event::Value(self.value.get()))?;
            }
            Field::Skip => {}
        }
        self.field = Field::Key;
        self.pct = Percent::default();
        self.key = Key::default();
        self.value = Value::default();
        ControlFlow::Continue(())
    }
}
