//! Clerk's metadata merge (`PATCH /v1/users/{id}/metadata`: a deep merge in which `null`
//! removes a key, as RFC 7386 JSON Merge Patch) and the smallest patch that turns the current
//! public metadata into the wanted one. Pure functions over `serde_json` values.

use serde_json::{Map, Value};

/// Splits an RFC 6901 pointer into its unescaped tokens (`""` is the whole document).
pub fn tokens(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// `pointer` + one more key, escaped.
pub fn child(pointer: &str, key: &str) -> String {
    format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// Sets `value` at `pointer` inside `doc`, creating (or replacing non-object) parents;
/// `Value::Null` removes the key. Objects are stored without `null` members, as Clerk would.
pub fn set(doc: &mut Value, pointer: &str, value: &Value) {
    let tokens = tokens(pointer);
    let Some((last, parents)) = tokens.split_last() else {
        *doc = without_nulls(value);
        return;
    };
    if value.is_null() {
        let parent = parents
            .iter()
            .try_fold(&mut *doc, |node, token| node.get_mut(token.as_str()));
        if let Some(Value::Object(map)) = parent {
            map.remove(last);
        }
        return;
    }
    let mut target = doc;
    for token in parents {
        if !target.is_object() {
            *target = Value::Object(Map::new());
        }
        let Value::Object(map) = target else { return };
        target = map
            .entry(token.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        map.insert(last.clone(), without_nulls(value));
    }
}

/// `value` with every `null` object member removed (recursively).
pub fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Applies a merge patch as Clerk does: objects merge recursively, `null` removes, anything
/// else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (key, change) in changes {
            if change.is_null() {
                map.remove(key);
            } else {
                merge(map.entry(key.clone()).or_insert(Value::Null), change);
            }
        }
    }
}

/// Fills in, from `defaults`, every key `doc` lacks (recursively into objects both have);
/// never changes a value that is there.
pub fn fill_missing(doc: &mut Value, defaults: &Value) {
    let (Value::Object(map), Value::Object(defaults)) = (doc, defaults) else {
        return;
    };
    for (key, default) in defaults {
        match map.get_mut(key) {
            Some(Value::Null) | None => {
                if !default.is_null() {
                    map.insert(key.clone(), without_nulls(default));
                }
            }
            Some(existing) => fill_missing(existing, default),
        }
    }
}

/// The smallest merge patch taking `from` to `to` (both objects), or `None` when equal.
pub fn diff(from: &Value, to: &Value) -> Option<Value> {
    if from == to {
        return None;
    }
    let (Value::Object(a), Value::Object(b)) = (from, to) else {
        return Some(to.clone());
    };
    let mut patch = Map::new();
    for key in a.keys() {
        if !b.contains_key(key) {
            patch.insert(key.clone(), Value::Null);
        }
    }
    for (key, value) in b {
        match a.get(key) {
            Some(old) if old == value => {}
            Some(old @ Value::Object(_)) if value.is_object() => {
                if let Some(inner) = diff(old, value) {
                    patch.insert(key.clone(), inner);
                }
            }
            _ => {
                patch.insert(key.clone(), value.clone());
            }
        }
    }
    (!patch.is_empty()).then_some(Value::Object(patch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_then_merge_reaches_the_target() {
        let cases = [
            (json!({}), json!({"a": {"b": 1}})),
            (json!({"a": {"b": 1, "c": 2}}), json!({"a": {"b": 1}})),
            (json!({"a": [1, 2]}), json!({"a": [2]})),
            (json!({"a": "x"}), json!({"a": {"b": true}})),
            (json!({"a": {"b": 1}, "keep": 3}), json!({"keep": 3})),
        ];
        for (from, to) in cases {
            let patch = diff(&from, &to).unwrap();
            let mut got = from.clone();
            merge(&mut got, &patch);
            assert_eq!(got, to, "{from} → {to} via {patch}");
        }
        assert_eq!(diff(&json!({"a": 1}), &json!({"a": 1})), None);
    }

    #[test]
    fn set_creates_parents_and_null_removes() {
        let mut doc = json!({"onboarding": "legacy"});
        set(&mut doc, "/onboarding/status", &json!("completed"));
        set(
            &mut doc,
            "/feature~1flags/a",
            &json!({"x": null, "y": true}),
        );
        assert_eq!(
            doc,
            json!({"onboarding": {"status": "completed"}, "feature/flags": {"a": {"y": true}}})
        );
        set(&mut doc, "/onboarding/status", &Value::Null);
        set(&mut doc, "/missing/deep", &Value::Null);
        assert_eq!(
            doc,
            json!({"onboarding": {}, "feature/flags": {"a": {"y": true}}})
        );
    }

    #[test]
    fn fill_missing_never_overwrites() {
        let mut doc = json!({"onboarding": {"status": "in_progress", "step": 2}, "roles": null});
        fill_missing(
            &mut doc,
            &json!({"onboarding": {"status": "not_started", "step": 0, "totalSteps": 4}, "roles": ["r"]}),
        );
        assert_eq!(
            doc,
            json!({"onboarding": {"status": "in_progress", "step": 2, "totalSteps": 4}, "roles": ["r"]})
        );
    }
}
