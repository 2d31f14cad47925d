//! Clerk organization claims → the active organization and its `org:` permissions, for both
//! claim versions (docs/clerk.md, "Tokens: what is verified"): v1 flat `org_id`/`org_slug`/`org_role`/`org_permissions`;
//! v2 the `o` object, with permissions decoded from `fea` × `o.per` × `o.fpm`.
//!
//! v2 decoding follows Clerk's own decoder in `@clerk/shared` (clerk/javascript,
//! `packages/shared/src/jwtPayloadParser.ts`: `parsePermissions` and `buildOrgPermissions`,
//! with `splitByScope` from `packages/shared/src/authorization.ts`, as of the 2026 change
//! "decode JWT v2 permission masks exactly"):
//!
//! - `fea` is split on `,` and each entry trimmed; an entry's scope is the text before its
//!   first `:`. The **organization features** are the entries of scope `o`, `ou` or `uo`, in
//!   order; `u:` and unknown scopes are not in that list at all.
//! - Mask *i* of `o.fpm` belongs to organization feature *i*: the masks are indexed over the
//!   organization features only, not over the whole `fea` list. So `fea = "u:x,o:reports"`
//!   with `fpm = "0,1"` gives `reports` the mask `0` and grants nothing.
//! - Bit *j* of a mask (least significant first) grants `org:<feature>:<per[j]>`; bits beyond
//!   `per` are ignored.
//! - An entry without `:` makes Clerk's `splitByScope` throw, so such a `fea` grants no
//!   organization permission at all.
//!
//! doorman is stricter in one way only: a feature or permission name that is empty or holds
//! a `:` keeps its place in the lists but grants nothing (Clerk would build a permission
//! string that can never be parsed back unambiguously).
//!
//! Hostile input grants nothing and never panics: a mask that is not plain ASCII digits
//! (`-1`, `1.5`, `x`, empty) grants nothing for its feature; masks of any length are decoded
//! exactly (only the low `per.len()` bits are computed, bits beyond `per` are ignored);
//! missing masks grant nothing; surplus masks are ignored; a wrong-typed claim contributes
//! nothing.

use serde_json::Value;

use crate::token::payload::Payload;
use crate::token::raw::Raw;

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
    /// The organization claims of a verified payload tree of claims `version` (1 or 2).
    pub fn from_payload(payload: &Value, version: u8) -> Organization {
        Organization::from_claims(&Payload::from_value(payload.clone()), version)
    }

    /// The organization claims of a verified payload of claims `version` (1 or 2), read
    /// typed from its text.
    pub fn from_claims(payload: &Payload, version: u8) -> Organization {
        if version == 2 {
            from_v2(payload)
        } else {
            from_v1(payload)
        }
    }
}

fn from_v1(claims: &Payload) -> Organization {
    Organization {
        id: non_empty_string(claims.get("org_id")),
        slug: non_empty_string(claims.get("org_slug")),
        role: non_empty_string(claims.get("org_role")),
        permissions: string_array(claims.get("org_permissions")).unwrap_or_default(),
    }
}

fn from_v2(claims: &Payload) -> Organization {
    let Some(org) = claims.get("o").filter(|o| o.is_object()) else {
        return Organization::default();
    };
    let permissions = match (
        claims.get("fea").and_then(Raw::as_str),
        org.get("per").and_then(Raw::as_str),
        org.get("fpm").and_then(Raw::as_str),
    ) {
        (Some(fea), Some(per), Some(fpm)) => feature_permissions(&fea, &per, &fpm),
        _ => Vec::new(),
    };
    Organization {
        id: non_empty_string(org.get("id")),
        slug: non_empty_string(org.get("slg")),
        role: non_empty_string(org.get("rol")).map(|role| format!("org:{role}")),
        permissions,
    }
}

/// Decodes v2 `fea` / `o.per` / `o.fpm` (comma lists) into `org:<feature>:<permission>`,
/// pairing mask *i* with organization feature *i* (see the module docs).
pub fn feature_permissions(fea: &str, per: &str, fpm: &str) -> Vec<String> {
    let Some(features) = org_features(fea) else {
        return Vec::new();
    };
    let names: Vec<&str> = per.split(',').map(str::trim).collect();
    let mut granted = Vec::new();
    for (feature, mask) in features.into_iter().zip(fpm.split(',')) {
        if !is_plain_name(feature) {
            continue;
        }
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

/// The organization features of `fea` in order (the names of entries scoped `o`, `ou` or
/// `uo`, as `splitByScope` lists them), or `None` when an entry has no `:` (Clerk throws).
fn org_features(fea: &str) -> Option<Vec<&str>> {
    let mut features = Vec::new();
    for entry in fea.split(',') {
        let (scope, name) = entry.trim().split_once(':')?;
        if matches!(scope, "o" | "ou" | "uo") {
            features.push(name);
        }
    }
    Some(features)
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

fn non_empty_string(value: Option<Raw<'_>>) -> Option<String> {
    value
        .and_then(Raw::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| s.into_owned())
}

/// An array of strings; any other shape (or any non-string element) is `None`.
pub(crate) fn string_array(value: Option<Raw<'_>>) -> Option<Vec<String>> {
    let items = value.filter(|v| v.is_array())?;
    items
        .elements()
        .map(|item| item.as_str().map(|s| s.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests;
