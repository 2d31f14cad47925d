//! The claims a condition reads, converted from JSON to CEL values once per verified token
//! and kept with the cached session, so a warm request evaluates without converting.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use cel::objects::{Key, Map};
use cel::Value;

/// A token payload as CEL sees it. Integers that fit `i64` are CEL `int` (so
/// `claims.metadata.maxBudgetApproval >= 10000` compares ints), larger ones `uint`, other
/// numbers `double`. `Debug` never prints the values.
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimData {
    value: Value,
}

impl ClaimData {
    /// Converts a verified payload.
    pub fn new(payload: &serde_json::Value) -> ClaimData {
        ClaimData {
            value: to_cel(payload),
        }
    }

    /// The payload as one CEL map.
    pub fn value(&self) -> &Value {
        &self.value
    }
}

fn to_cel(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::Int(i),
            (None, Some(u), _) => Value::UInt(u),
            (None, None, Some(f)) => Value::Float(f),
            (None, None, None) => Value::Null,
        },
        serde_json::Value::String(s) => Value::String(Arc::new(s.clone())),
        serde_json::Value::Array(items) => {
            Value::List(Arc::new(items.iter().map(to_cel).collect()))
        }
        serde_json::Value::Object(fields) => {
            let map: HashMap<Key, Value> = fields
                .iter()
                .map(|(k, v)| (Key::String(Arc::new(k.clone())), to_cel(v)))
                .collect();
            Value::Map(Map { map: Arc::new(map) })
        }
    }
}

impl fmt::Debug for ClaimData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClaimData(..)")
    }
}
