//! `[assertion]`: the signed identity assertion doorman adds to every forwarded request that
//! has a session (a compact JWT the application verifies with doorman's JWKS). Off unless the
//! section is present. See `docs/assertion.md`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use http::HeaderName;
use serde::Deserialize;

use super::compile::{duration, Problems};
use super::{IdentityHeaders, Upstream};

/// `[assertion]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAssertion {
    /// Default true when the section is present.
    pub enabled: Option<bool>,
    /// The request header that carries it. Default `X-Doorman-Assertion`.
    pub header: Option<String>,
    /// `ES256` (default) or `EdDSA` (Ed25519).
    pub algorithm: Option<String>,
    /// `iss`. Default `doorman`.
    pub issuer: Option<String>,
    /// How long one assertion is valid. Default `60s`, between 10s and 10m.
    pub lifetime: Option<String>,
    /// PKCS#8 PEM private keys; the first signs, all are published. Without it doorman
    /// generates a key at start and rotates it every `rotate_every`.
    pub keys: Option<Vec<PathBuf>>,
    /// Generated keys only: how often a new key takes over. Default `6h`.
    pub rotate_every: Option<String>,
    /// A path on the public listener that serves the JWKS too (off by default).
    pub jwks_path: Option<String>,
    /// `aud` per upstream name; an upstream not listed gets its own name.
    pub audiences: Option<BTreeMap<String, String>>,
}

/// The signature algorithm of the assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl Algorithm {
    /// The JOSE `alg` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::EdDsa => "EdDSA",
        }
    }
}

/// `[assertion]`, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    pub header: HeaderName,
    pub algorithm: Algorithm,
    pub issuer: String,
    pub lifetime: Duration,
    /// Absolute after loading (see `paths`); empty: generated keys.
    pub keys: Vec<PathBuf>,
    pub rotate_every: Duration,
    pub jwks_path: Option<String>,
    /// `aud` of each upstream, by upstream index.
    pub audiences: Vec<String>,
}

/// The assertion header's default name.
pub const DEFAULT_HEADER: &str = "x-doorman-assertion";
const MIN_LIFETIME: Duration = Duration::from_secs(10);
const MAX_LIFETIME: Duration = Duration::from_secs(600);
const MIN_ROTATE: Duration = Duration::from_secs(300);

/// Compiles `[assertion]`; `None` (off) when absent or `enabled = false`. Adds the header
/// to `headers.strip`, so a client's copy never reaches an upstream.
pub(super) fn compile_assertion(
    raw: Option<&RawAssertion>,
    upstreams: &[Upstream],
    headers: &mut IdentityHeaders,
    p: &mut Problems,
) -> Option<Assertion> {
    let raw = raw?;
    let header_text = raw.header.as_deref().unwrap_or(DEFAULT_HEADER);
    let header = match HeaderName::from_bytes(header_text.trim().as_bytes()) {
        Ok(h) => h,
        Err(_) => {
            p.err(
                "assertion.header",
                format!(
                    "{header_text:?} is not a header name; write it like \"X-Doorman-Assertion\""
                ),
            );
            HeaderName::from_static(DEFAULT_HEADER)
        }
    };
    let lower = header.as_str().replace('_', "-");
    if !headers.strip.contains(&lower) {
        headers.strip.push(lower);
    } else if raw.header.is_some() {
        p.err(
            "assertion.header",
            format!("{header_text:?} is already an identity or claim header; give the assertion its own header"),
        );
    }
    if raw.enabled == Some(false) {
        return None;
    }
    let algorithm = match raw.algorithm.as_deref().map(str::trim) {
        None | Some("ES256") => Algorithm::Es256,
        Some("EdDSA") => Algorithm::EdDsa,
        Some(other) => {
            p.err(
                "assertion.algorithm",
                format!("{other:?} is not supported; write \"ES256\" (ECDSA P-256) or \"EdDSA\" (Ed25519)"),
            );
            Algorithm::Es256
        }
    };
    let issuer = raw.issuer.clone().unwrap_or_else(|| "doorman".to_string());
    if issuer.trim().is_empty() {
        p.err(
            "assertion.issuer",
            "empty; write the name your applications check as `iss`, e.g. \"doorman\"",
        );
    }
    let lifetime = duration(
        p,
        "assertion.lifetime",
        raw.lifetime.as_deref(),
        Duration::from_secs(60),
    );
    if lifetime.subsec_nanos() != 0 || !(MIN_LIFETIME..=MAX_LIFETIME).contains(&lifetime) {
        p.err(
            "assertion.lifetime",
            format!(
                "{} is out of range; write whole seconds from 10s to 10m (about a minute, e.g. \"60s\", is usual)",
                humantime::format_duration(lifetime)
            ),
        );
    }
    let rotate_every = duration(
        p,
        "assertion.rotate_every",
        raw.rotate_every.as_deref(),
        Duration::from_secs(6 * 3600),
    );
    if rotate_every < MIN_ROTATE {
        p.err(
            "assertion.rotate_every",
            format!(
                "{} is too short; write at least \"5m\" (\"6h\" is usual)",
                humantime::format_duration(rotate_every)
            ),
        );
    }
    let keys = raw.keys.clone().unwrap_or_default();
    if raw.keys.is_some() && keys.is_empty() {
        p.err(
            "assertion.keys",
            "empty; list PKCS#8 PEM private keys (the first signs), or remove `keys` to let doorman generate and rotate one",
        );
    }
    if !keys.is_empty() && raw.rotate_every.is_some() {
        p.err(
            "assertion.rotate_every",
            "only applies to generated keys; with `keys`, rotate by putting a new key first in the list and reloading",
        );
    }
    let jwks_path = raw.jwks_path.clone();
    if let Some(path) = &jwks_path {
        let plain = path.starts_with('/')
            && !path.ends_with('/')
            && crate::path::normalize(path).is_ok_and(|n| n.decoded() == path.as_str());
        if !plain {
            p.err(
                "assertion.jwks_path",
                format!("{path:?} is not a plain path; write it like \"/.well-known/doorman/jwks.json\""),
            );
        }
    }
    let overrides = raw.audiences.clone().unwrap_or_default();
    for (name, aud) in &overrides {
        if !upstreams.iter().any(|u| &*u.name == name.as_str()) {
            p.err(
                format!("assertion.audiences.{name}"),
                format!("no upstream is named {name:?}; use a name from [[upstreams]]"),
            );
        }
        if aud.trim().is_empty() {
            p.err(
                format!("assertion.audiences.{name}"),
                "empty; write the `aud` that upstream checks",
            );
        }
    }
    let audiences = upstreams
        .iter()
        .map(|u| {
            overrides
                .get(&*u.name)
                .cloned()
                .unwrap_or_else(|| u.name.to_string())
        })
        .collect();
    Some(Assertion {
        header,
        algorithm,
        issuer,
        lifetime,
        keys,
        rotate_every,
        jwks_path,
        audiences,
    })
}

#[cfg(test)]
mod tests;
