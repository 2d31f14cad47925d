//! The claims a condition reads, converted from JSON to CEL values once per verified token
//! and kept with the cached session, so a warm request evaluates without converting: an
//! evaluation lends them to the interpreter through a [`VariableResolver`] rather than
//! binding a copy (binding a `Value` deep-converts the whole payload on every call).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::objects::{Key, Map};
use cel::Value;

use super::VARIABLE;

/// A token payload as CEL sees it. Integers that fit `i64` are CEL `int` (so
/// `claims.metadata.maxBudgetApproval >= 10000` compares ints), larger ones `uint`, other
/// numbers `double`. `Debug` never prints the values.
#[derive(Clone)]
pub struct ClaimData {
    value: Box<dyn Val>,
    /// About how many heap bytes `value` keeps alive, for the cache's byte budget.
    bytes: usize,
}

impl PartialEq for ClaimData {
    fn eq(&self, other: &Self) -> bool {
        self.value.equals(other.value.as_ref())
    }
}

impl Eq for ClaimData {}

impl ClaimData {
    /// Converts a verified payload.
    pub fn new(payload: &serde_json::Value) -> ClaimData {
        // Only functions, types and opaque values fail to convert; JSON makes none of them.
        let value = Box::<dyn Val>::try_from(to_cel(payload))
            .unwrap_or_else(|_| Box::new(cel::common::types::CelNull));
        ClaimData {
            value,
            bytes: heap_bytes(payload),
        }
    }

    /// About how many heap bytes the converted claims keep alive (each value boxed with
    /// the allocator's overhead, strings and keys with their bytes, map slots).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// A boxed CEL value with its allocation overhead, and one map slot (key, value, control).
const NODE: usize = 48;
const SLOT: usize = 48;

fn heap_bytes(json: &serde_json::Value) -> usize {
    NODE + match json {
        serde_json::Value::String(s) => s.len(),
        serde_json::Value::Array(items) => items.iter().map(|v| 16 + heap_bytes(v)).sum(),
        serde_json::Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| SLOT + NODE + k.len() + heap_bytes(v))
            .sum(),
        _ => 0,
    }
}

/// Resolves the variable `claims` to the kept values, borrowed.
impl VariableResolver for ClaimData {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        (variable == VARIABLE).then(|| CowVal::Borrowed(self.value.as_ref()))
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
