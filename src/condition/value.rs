//! The claims a condition reads, converted from JSON to CEL values once per verified token
//! and kept with the cached session, so a warm request evaluates without converting: an
//! evaluation lends them to the interpreter through a [`VariableResolver`] rather than
//! binding a copy (binding a `Value` deep-converts the whole payload on every call).

use std::collections::HashMap;
use std::fmt;

use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt,
};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;

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

/// CEL's equality of the two payloads (as `==` in an expression would compare them); used
/// where identities are compared, in tests.
impl PartialEq for ClaimData {
    fn eq(&self, other: &Self) -> bool {
        self.value.equals(other.value.as_ref())
    }
}

impl Eq for ClaimData {}

impl ClaimData {
    /// Converts a verified payload.
    pub fn new(payload: &serde_json::Value) -> ClaimData {
        ClaimData {
            value: to_val(payload),
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

/// The payload as the `cel` crate's boxed values, built straight from the JSON tree.
fn to_val(json: &serde_json::Value) -> Box<dyn Val> {
    match json {
        serde_json::Value::Null => Box::new(CelNull),
        serde_json::Value::Bool(b) => Box::new(CelBool::from(*b)),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Box::new(CelInt::from(i)),
            (None, Some(u), _) => Box::new(CelUInt::from(u)),
            (None, None, Some(f)) => Box::new(CelDouble::from(f)),
            (None, None, None) => Box::new(CelNull),
        },
        serde_json::Value::String(s) => Box::new(CelString::from(s.clone())),
        serde_json::Value::Array(items) => {
            Box::new(CelList::from(items.iter().map(to_val).collect::<Vec<_>>()))
        }
        serde_json::Value::Object(fields) => {
            let map: HashMap<CelMapKey, Box<dyn Val>> = fields
                .iter()
                .map(|(k, v)| (CelMapKey::from(k.clone()), to_val(v)))
                .collect();
            Box::new(CelMap::from(map))
        }
    }
}

impl fmt::Debug for ClaimData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClaimData(..)")
    }
}
