//! Clerk's published Backend API specification (the fragment `tests/fixtures/clerk/
//! extract.py` takes from it) and a validator of JSON values against its schemas: `$ref`,
//! `allOf`/`oneOf`/`anyOf`, `type` with `nullable`, `enum`, `properties`, `required`,
//! `additionalProperties`, `items`, `minimum`/`maximum`. Enough to hold the fake Backend API
//! and what doorman sends to the spec.

use std::sync::OnceLock;

use serde_json::Value;

pub struct Spec(Value);

/// The spec fragment, loaded once.
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = include_str!("../../fixtures/clerk/bapi-users.json");
        Spec(serde_json::from_str(text).expect("bapi-users.json is JSON"))
    })
}

impl Spec {
    /// The JSON schema of an operation's request body.
    pub fn request_body(&self, path: &str, method: &str) -> &Value {
        let pointer = format!(
            "/paths/{}/{method}/requestBody/content/application~1json/schema",
            path.replace('~', "~0").replace('/', "~1")
        );
        self.0
            .pointer(&pointer)
            .unwrap_or_else(|| panic!("no request body for {method} {path}"))
    }

    /// The schema of an operation's answer with `status`.
    pub fn response(&self, path: &str, method: &str, status: u16) -> &Value {
        let pointer = format!(
            "/paths/{}/{method}/responses/{status}",
            path.replace('/', "~1")
        );
        let response = self.resolve(
            self.0
                .pointer(&pointer)
                .unwrap_or_else(|| panic!("no {status} answer for {method} {path}")),
        );
        response
            .pointer("/content/application~1json/schema")
            .unwrap_or_else(|| panic!("no JSON schema for {status} of {method} {path}"))
    }

    /// A query parameter's schema (following `$ref`s).
    pub fn query_parameter(&self, path: &str, method: &str, name: &str) -> Option<&Value> {
        let pointer = format!("/paths/{}/{method}/parameters", path.replace('/', "~1"));
        self.0
            .pointer(&pointer)?
            .as_array()?
            .iter()
            .map(|p| self.resolve(p))
            .find(|p| p["name"] == name && p["in"] == "query")
            .map(|p| &p["schema"])
    }

    pub fn schema(&self, name: &str) -> &Value {
        self.0
            .pointer(&format!("/components/schemas/{name}"))
            .unwrap_or_else(|| panic!("no schema {name}"))
    }

    fn resolve<'a>(&'a self, mut node: &'a Value) -> &'a Value {
        while let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            node = self
                .0
                .pointer(reference.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling $ref {reference}"));
        }
        node
    }

    /// Every way `value` breaks `schema`, with JSON paths.
    pub fn validate(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(schema, value, "$", &mut errors);
        errors
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
            return;
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                self.check(s, value, at, errors);
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(options) = schema.get(key).and_then(Value::as_array) {
                if !options.iter().any(|s| self.validate(s, value).is_empty()) {
                    errors.push(format!("{at}: matches none of the {key} schemas"));
                }
            }
        }
        if let Some(kind) = schema.get("type").and_then(Value::as_str) {
            let ok = match kind {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                _ => true,
            };
            if !ok {
                errors.push(format!("{at}: expected {kind}, got {value}"));
                return;
            }
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array) {
            if !options.contains(value) {
                errors.push(format!("{at}: {value} is not one of {options:?}"));
            }
        }
        if let Some(n) = value.as_f64() {
            if schema
                .get("minimum")
                .and_then(Value::as_f64)
                .is_some_and(|m| n < m)
            {
                errors.push(format!("{at}: {n} is below the minimum"));
            }
            if schema
                .get("maximum")
                .and_then(Value::as_f64)
                .is_some_and(|m| n > m)
            {
                errors.push(format!("{at}: {n} is above the maximum"));
            }
        }
        if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
            for (i, item) in array.iter().enumerate() {
                self.check(items, item, &format!("{at}[{i}]"), errors);
            }
        }
        let Some(object) = value.as_object() else {
            return;
        };
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = name.as_str() {
                if !object.contains_key(name) {
                    errors.push(format!("{at}: required property {name:?} is missing"));
                }
            }
        }
        for (key, item) in object {
            let path = format!("{at}.{key}");
            match (
                properties.and_then(|p| p.get(key)),
                schema.get("additionalProperties"),
            ) {
                (Some(s), _) => self.check(s, item, &path, errors),
                (None, Some(Value::Bool(false)))
                    if properties.is_some() || schema.get("allOf").is_none() =>
                {
                    errors.push(format!("{path}: not allowed (additionalProperties: false)"))
                }
                (None, Some(extra)) if extra.is_object() => self.check(extra, item, &path, errors),
                _ => {}
            }
        }
    }
}
