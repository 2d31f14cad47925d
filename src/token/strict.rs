//! The strict check of a JOSE header or JWT payload without building anything: one pass of
//! serde_json's own parser over the bytes (so the grammar, the number and string rules, the
//! lone-surrogate rule and the recursion limit are exactly those of
//! [`from_slice_strict`](super::json::from_slice_strict)), refusing a repeated object key at
//! any depth, keys compared after unescaping (`"sub"` and `"s\u0075b"` are one key).
//!
//! It accepts exactly the documents `from_slice_strict` accepts (the property test in
//! `payload/tests.rs` and the `payload_differential` fuzz target compare them on the same
//! bytes). Keys are borrowed from the input unless they hold an escape. This module must
//! never log or echo the document or the repeated key.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Up to this many keys an object's duplicates are found pairwise; beyond, by sorting.
const PAIRWISE_KEYS: usize = 16;

/// Checks that `bytes` is one JSON value (nothing after it but whitespace) without a
/// duplicate object key anywhere.
pub(crate) fn check_strict(bytes: &[u8]) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut keys = Vec::new();
    (&mut de).deserialize_any(Strict { keys: &mut keys })?;
    de.end()
}

/// Validates one value (and everything inside it), producing nothing. `keys` is one stack
/// shared by all objects: each object's keys sit above those of the objects around it, and
/// are dropped when it closes (one allocation per document, not per object).
struct Strict<'k, 'de> {
    keys: &'k mut Vec<Cow<'de, str>>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value without duplicate object keys")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    /// The tree builder refuses what `serde_json::Number` cannot hold; so does this.
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        if v.is_finite() {
            Ok(())
        } else {
            Err(E::custom("non-finite number"))
        }
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Strict {
                keys: &mut *self.keys,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let base = self.keys.len();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let mine = self.keys.get(base..).unwrap_or_default();
            if mine.len() < PAIRWISE_KEYS && mine.contains(&key) {
                return Err(de::Error::custom("duplicate object key"));
            }
            self.keys.push(key);
            map.next_value_seed(Strict {
                keys: &mut *self.keys,
            })?;
        }
        let mine = self.keys.get_mut(base..).unwrap_or_default();
        if mine.len() > PAIRWISE_KEYS {
            mine.sort_unstable();
            if mine.windows(2).any(|pair| pair[0] == pair[1]) {
                return Err(de::Error::custom("duplicate object key"));
            }
        }
        self.keys.truncate(base);
        Ok(())
    }
}

/// An object key, unescaped, borrowed when it has no escape.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_string(KeySeed)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}
