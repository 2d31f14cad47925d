//! Claim headers: any claim (an RFC 6901 pointer into the verified payload) sent upstream as
//! a header of its own (`[headers.claims]`), computed once per token and cached with the
//! identity header values, and stripped from clients like every identity header.
//!
//! The type rule, chosen so a value is never sent ambiguous or mangled:
//! - a string: as is, when it is visible ASCII (else the header is left out);
//! - a number or a bool: its JSON text (`10000`, `true`);
//! - a list of strings, numbers and bools: the items joined with `,`; left out whole if an
//!   item holds a comma or is not visible ASCII (never a partial list);
//! - an object, or a list holding objects or lists: `base64url(compact JSON)`, no padding;
//! - `null` or missing: no header.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::header::{HeaderName, HeaderValue};
use serde_json::Value;

use crate::token::Payload;

/// One `[headers.claims]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimHeader {
    pub name: HeaderName,
    /// RFC 6901 pointer into the payload.
    pub pointer: String,
}

/// The claim headers `payload` yields, in config order (each claim read as a tree of that
/// claim only).
pub fn claim_headers<'a>(
    payload: &'a Payload,
    headers: &'a [ClaimHeader],
) -> impl Iterator<Item = (HeaderName, HeaderValue)> + 'a {
    headers.iter().filter_map(|h| {
        let value = header_value(&payload.pointer(&h.pointer)?.to_value())?;
        Some((h.name.clone(), value))
    })
}

/// A claim's header value under the type rule; `None` when it is left out.
pub fn header_value(value: &Value) -> Option<HeaderValue> {
    let text = match value {
        Value::Null => return None,
        Value::String(s) => plain(s)?.to_owned(),
        Value::Number(_) | Value::Bool(_) => value.to_string(),
        Value::Array(items) if items.iter().all(is_scalar) => {
            let mut joined = Vec::with_capacity(items.len());
            for item in items {
                let text = match item {
                    Value::String(s) => plain(s)?.to_owned(),
                    other => other.to_string(),
                };
                if text.contains(',') {
                    return None;
                }
                joined.push(text);
            }
            joined.join(",")
        }
        Value::Array(_) | Value::Object(_) => URL_SAFE_NO_PAD.encode(value.to_string()),
    };
    HeaderValue::from_str(&text).ok()
}

fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

fn plain(s: &str) -> Option<&str> {
    s.bytes().all(|b| (0x20..0x7f).contains(&b)).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_type_rule() {
        let cases = [
            (json!("premium"), Some("premium".to_string())),
            (json!("Société"), None),
            (json!(25000), Some("25000".into())),
            (json!(true), Some("true".into())),
            (json!(["rust", "go", 3]), Some("rust,go,3".into())),
            (json!(["a,b", "c"]), None),
            (json!([]), Some(String::new())),
            (json!(null), None),
            (
                json!({"name": "Acme", "role": "admin"}),
                Some(URL_SAFE_NO_PAD.encode(r#"{"name":"Acme","role":"admin"}"#)),
            ),
            (
                json!([{"id": 1}]),
                Some(URL_SAFE_NO_PAD.encode(r#"[{"id":1}]"#)),
            ),
        ];
        for (claim, want) in cases {
            let got = header_value(&claim).map(|v| v.to_str().unwrap_or("?").to_string());
            assert_eq!(got, want, "{claim}");
        }
    }
}
