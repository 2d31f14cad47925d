//! Clerk organization claims → the active organization and its `org:` permissions, for both
//! claim versions (CLERK.md §1): v1 flat `org_id`/`org_slug`/`org_role`/`org_permissions`;
//! v2 the `o` object, with permissions decoded from `fea` × `o.per` × `o.fpm`.
//!
//! v2 decoding, as Clerk's session-token docs and Go SDK do it: mask *i* of `o.fpm` belongs to
//! entry *i* of the **whole** top-level `fea` list; bit *j* (least significant first) grants
//! `org:<feature>:<per[j]>`. Only org-scoped entries grant: scope `o`, `ou` or `uo`. A
//! user-only `u:` entry keeps its index (it still consumes mask *i*) but grants nothing: a
//! user-level feature is not a permission in the active organization, and letting it mint
//! `org:` permissions would turn a personal plan into organization rights. (`@clerk/shared`
//! instead indexes the masks over the org-scoped entries only; the two readings differ only
//! when a `u:` entry precedes an org entry, which Clerk's docs say does not happen while an
//! organization is active.)
//!
//! Hostile input grants nothing and never panics: a mask that is not plain ASCII digits
//! (`-1`, `1.5`, `x`, empty) grants nothing for its feature; masks of any length are decoded
//! exactly (only the low `per.len()` bits are computed, bits beyond `per` are ignored);
//! missing masks grant nothing; surplus masks are ignored; a wrong-typed claim contributes
//! nothing.

use serde_json::{Map, Value};

/// The active organization as the token states it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Organization {
    pub id: Option<String>,
    pub slug: Option<String>,
    /// Always `org:`-prefixed (v1 `org_role` as issued, v2 `o.rol` with `org:` added).
    pub role: Option<String>,
    /// `org:<feature>:<permission>` strings, unsorted, possibly repeated.
    pub permissions: Vec<String>,
}

impl Organization {
    /// The organization claims of a verified payload of claims `version` (1 or 2).
    pub fn from_payload(payload: &Value, version: u8) -> Organization {
        match (version, payload.as_object()) {
            (2, Some(claims)) => from_v2(claims),
            (_, Some(claims)) => from_v1(claims),
            (_, None) => Organization::default(),
        }
    }
}

fn from_v1(claims: &Map<String, Value>) -> Organization {
    Organization {
        id: non_empty_string(claims.get("org_id")),
        slug: non_empty_string(claims.get("org_slug")),
        role: non_empty_string(claims.get("org_role")),
        permissions: string_array(claims.get("org_permissions")).unwrap_or_default(),
    }
}

fn from_v2(claims: &Map<String, Value>) -> Organization {
    let Some(Value::Object(org)) = claims.get("o") else {
        return Organization::default();
    };
    let permissions = match (claims.get("fea"), org.get("per"), org.get("fpm")) {
        (Some(Value::String(fea)), Some(Value::String(per)), Some(Value::String(fpm))) => {
            feature_permissions(fea, per, fpm)
        }
        _ => Vec::new(),
    };
    Organization {
        id: non_empty_string(org.get("id")),
        slug: non_empty_string(org.get("slg")),
        role: non_empty_string(org.get("rol")).map(|role| format!("org:{role}")),
        permissions,
    }
}

/// Decodes v2 `fea` / `o.per` / `o.fpm` (comma lists) into `org:<feature>:<permission>`.
pub fn feature_permissions(fea: &str, per: &str, fpm: &str) -> Vec<String> {
    let names: Vec<&str> = per.split(',').map(str::trim).collect();
    let mut granted = Vec::new();
    for (entry, mask) in fea.split(',').zip(fpm.split(',')) {
        let Some(feature) = org_feature_name(entry.trim()) else {
            continue;
        };
        let Some(bits) = low_bits_of_decimal(mask.trim(), names.len()) else {
            continue;
        };
        for (j, name) in names.iter().enumerate() {
            if is_plain_name(name) && bit(&bits, j) {
                granted.push(format!("org:{feature}:{name}"));
            }
        }
    }
    granted
}

/// The feature name of an org-scoped `fea` entry (`o:x`, `ou:x`, `uo:x`), else `None`.
fn org_feature_name(entry: &str) -> Option<&str> {
    let (scope, name) = entry.split_once(':')?;
    let org_scoped = matches!(scope, "o" | "ou" | "uo");
    (org_scoped && is_plain_name(name)).then_some(name)
}

/// Non-empty, without the `:` that separates permission parts.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(':')
}

/// The low `width` bits (at least) of the decimal number `digits`, as little-endian 32-bit
/// limbs; `None` unless `digits` is one or more ASCII digits. Exact for any length: the
/// number is built modulo 2^(32·limbs), and carries only ever move upward.
fn low_bits_of_decimal(digits: &str, width: usize) -> Option<Vec<u32>> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // A d-digit number has fewer than 4d bits: never keep more limbs than it can fill.
    let limbs = width
        .div_ceil(32)
        .min((digits.len() * 4).div_ceil(32))
        .max(1);
    let mut acc = vec![0u32; limbs];
    for digit in digits.bytes().map(|b| u64::from(b - b'0')) {
        let mut carry = digit;
        for limb in acc.iter_mut() {
            let value = u64::from(*limb) * 10 + carry;
            *limb = (value & 0xFFFF_FFFF) as u32;
            carry = value >> 32;
        }
    }
    Some(acc)
}

fn bit(limbs: &[u32], index: usize) -> bool {
    limbs
        .get(index / 32)
        .is_some_and(|limb| (limb >> (index % 32)) & 1 == 1)
}

fn non_empty_string(value: Option<&Value>) -> Option<String> {
    match value {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// An array of strings; any other shape (or any non-string element) is `None`.
pub(crate) fn string_array(value: Option<&Value>) -> Option<Vec<String>> {
    let Some(Value::Array(items)) = value else {
        return None;
    };
    items
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests;
