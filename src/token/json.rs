//! Strict JSON for JOSE headers and JWT payloads: a `serde_json::Value` builder that refuses
//! a repeated object key at any depth.
//!
//! Two parsers that disagree on which duplicate wins (first or last) are the classic way to
//! make a verifier and an application read different claims from one signed token, so a
//! duplicate is an error, never resolved. Keys are compared after unescaping (`"sub"` and
//! `"s\u0075b"` are the same key). Nesting depth is bounded by serde_json's recursion limit
//! (128). This module must never log or echo the document or the repeated key.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses `bytes` as one JSON value (nothing after it but whitespace), refusing duplicate keys.
pub fn from_slice_strict(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = (&mut de).deserialize_any(StrictVisitor)?;
    de.end()?;
    Ok(value)
}

/// A value built by [`StrictVisitor`], so nested elements are strict too.
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value without duplicate object keys")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom("duplicate object key"));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_what_serde_json_accepts_without_duplicates() {
        let docs = [
            r#"{"a":1,"b":[1,2,{"c":null}],"d":{"e":true,"f":-3,"g":1.5,"h":"x"}}"#,
            r#"  {"u": 18446744073709551615, "i": -9223372036854775808}  "#,
            "[]",
            "\"s\"",
            "null",
        ];
        for doc in docs {
            let strict = from_slice_strict(doc.as_bytes()).unwrap();
            let plain: Value = serde_json::from_str(doc).unwrap();
            assert_eq!(strict, plain, "{doc}");
        }
    }

    #[test]
    fn refuses_duplicate_keys_at_any_depth() {
        let docs = [
            ("top_level", r#"{"sub":"a","sub":"b"}"#),
            ("same_value", r#"{"sub":"a","sub":"a"}"#),
            ("escaped_spelling", r#"{"sub":"a","s\u0075b":"b"}"#),
            (
                "nested_object",
                r#"{"metadata":{"roles":["a"],"roles":["admin"]}}"#,
            ),
            ("inside_array", r#"{"a":[{"k":1,"k":2}]}"#),
            ("deep", r#"{"a":{"b":{"c":{"d":{"e":1,"e":2}}}}}"#),
        ];
        for (name, doc) in docs {
            assert!(from_slice_strict(doc.as_bytes()).is_err(), "case {name}");
        }
    }

    #[test]
    fn refuses_trailing_data_and_bad_json() {
        for doc in [
            r#"{"a":1} x"#,
            r#"{"a":1}{"b":2}"#,
            "{",
            "",
            r#"{"a":NaN}"#,
            "1e999",
        ] {
            assert!(from_slice_strict(doc.as_bytes()).is_err(), "{doc}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let doc = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(from_slice_strict(doc.as_bytes()).is_err());
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(from_slice_strict(ok.as_bytes()).is_ok());
        assert_eq!(from_slice_strict(b"{}").unwrap(), json!({}));
    }
}
