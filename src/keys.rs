//! The public keys that verify Clerk session tokens: a [`KeySet`] built from a JWKS document
//! (keys chosen by `kid`) or from one PEM public key (used whatever the `kid`). The start-up
//! self-test of the crypto backend lives in `token::self_test`.
//!
//! Only RS256 RSA keys of 2048–8192 bits meant for signatures (`use` absent or `sig`,
//! `key_ops` absent or listing `verify`) are ever loaded; anything else in a JWKS is skipped
//! with a warning naming the key, so one odd key never takes the whole set down. This module
//! does no I/O (fetching and caching the JWKS belong to the `jwks` stage), never chooses a
//! key from anything but the configured set (a token's own `jwk`/`jku` headers are refused
//! earlier, in `token::parse`), and never panics on a hostile document.

use std::collections::HashMap;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use thiserror::Error;

mod pem;

pub(crate) use pem::{pem_decode, pem_encode};

/// Smallest and largest RSA modulus accepted, in bits (aws-lc's RS256 limits).
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;

/// JWK `n`/`e` are unpadded base64url; tolerate padding, never the standard alphabet.
const JWK_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a key source could not be used. Each message names the input and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error(
        "the JWKS is not valid JSON ({0}); expected a document like \
         {{\"keys\": [{{\"kty\": \"RSA\", \"kid\": \"ins_…\", \"n\": \"…\", \"e\": \"AQAB\"}}]}}, \
         as served at <issuer>/.well-known/jwks.json"
    )]
    JwksNotJson(String),
    #[error(
        "the JWKS has no \"keys\" array; expected {{\"keys\": [ … ]}} \
         as served at <issuer>/.well-known/jwks.json"
    )]
    JwksShape,
    #[error("{}", no_usable_keys_message(skipped))]
    NoUsableKeys { skipped: Vec<String> },
    #[error("{0}")]
    InvalidPem(String),
    #[error(
        "the RS256 crypto self-test failed ({0}); doorman must be built with exactly one \
         jsonwebtoken crypto backend (the `aws_lc_rs` feature)"
    )]
    SelfTest(String),
}

fn no_usable_keys_message(skipped: &[String]) -> String {
    if skipped.is_empty() {
        "the JWKS has no keys; check that jwks_url points at your Clerk instance's \
         <issuer>/.well-known/jwks.json"
            .to_owned()
    } else {
        format!(
            "the JWKS has no usable RS256 signing key ({}); doorman needs at least one key \
             with \"kty\": \"RSA\", a \"kid\", no \"use\"/\"alg\" other than \"sig\"/\"RS256\" \
             and, if it has \"key_ops\", \"verify\" among them",
            skipped.join("; ")
        )
    }
}

/// One RS256 public key.
#[derive(Debug, Clone)]
pub struct VerifyKey {
    decoding: DecodingKey,
    algorithm: Algorithm,
    modulus_bits: usize,
    /// The key as aws-lc uses it, parsed once: verifying through it skips rebuilding the
    /// key and its Montgomery context for every token (about 15 % of a verification).
    parsed: aws_lc_rs::signature::ParsedPublicKey,
}

impl VerifyKey {
    /// An RS256 key from its big-endian modulus and exponent (leading zero bytes allowed).
    pub fn from_rsa_components(n: &[u8], e: &[u8]) -> Result<VerifyKey, String> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let Some(&first) = n.first() else {
            return Err("the RSA modulus is empty".to_owned());
        };
        let modulus_bits = (n.len() - 1) * 8 + (8 - first.leading_zeros() as usize);
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&modulus_bits) {
            return Err(format!(
                "the RSA modulus has {modulus_bits} bits; only {MIN_RSA_BITS} to {MAX_RSA_BITS} \
                 bits are accepted"
            ));
        }
        let even = e.last().is_some_and(|b| b & 1 == 0);
        if e.is_empty() || e == [1] || e.len() > 8 || even {
            return Err("the RSA public exponent is not a small odd number".to_owned());
        }
        let parsed = aws_lc_rs::rsa::PublicKeyComponents { n, e }
            .to_parsed_public_key(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256)
            .map_err(|err| format!("not a valid RSA public key ({err})"))?;
        Ok(VerifyKey {
            decoding: DecodingKey::from_rsa_raw_components(n, e),
            algorithm: Algorithm::RS256,
            modulus_bits,
            parsed,
        })
    }

    /// The only algorithm this key verifies (always RS256).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Size of the RSA modulus in bits.
    pub fn modulus_bits(&self) -> usize {
        self.modulus_bits
    }

    /// The key for jsonwebtoken's own APIs.
    pub fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    /// True iff `signature` is a valid RS256 signature of `message` under this key.
    ///
    /// Uses aws-lc (RSASSA-PKCS1-v1_5 with SHA-256, 2048–8192 bits, as jsonwebtoken's
    /// aws-lc backend does) on the key parsed at load, so it never depends on the
    /// process-wide provider and never re-parses the key per token.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        if self.algorithm != Algorithm::RS256 {
            return false;
        }
        self.parsed.verify_sig(message, signature).is_ok()
    }
}

/// The configured verification keys: by `kid` (JWKS) or one PEM key for every token.
#[derive(Debug, Clone)]
pub struct KeySet {
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    Pem(VerifyKey),
    Jwks(HashMap<String, VerifyKey>),
}

impl KeySet {
    /// Parses a JWKS document. Keys that cannot verify RS256 session tokens are skipped and
    /// described in the returned warnings; no usable key at all is [`KeyError::NoUsableKeys`].
    pub fn from_jwks_json(bytes: &[u8]) -> Result<(KeySet, Vec<String>), KeyError> {
        let doc: Value =
            serde_json::from_slice(bytes).map_err(|e| KeyError::JwksNotJson(e.to_string()))?;
        let Some(Value::Array(entries)) = doc.get("keys") else {
            return Err(KeyError::JwksShape);
        };
        let mut keys = HashMap::new();
        let mut warnings = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            match jwk_to_key(index, entry) {
                Ok((kid, _)) if keys.contains_key(&kid) => warnings.push(format!(
                    "key {} (keys[{index}]) repeats a kid already in the set; keeping the first",
                    quoted(&kid)
                )),
                Ok((kid, key)) => {
                    keys.insert(kid, key);
                }
                Err(why) => warnings.push(why),
            }
        }
        if keys.is_empty() {
            return Err(KeyError::NoUsableKeys { skipped: warnings });
        }
        Ok((
            KeySet {
                source: Source::Jwks(keys),
            },
            warnings,
        ))
    }

    /// One PEM public key (SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`, as in
    /// `CLERK_JWT_KEY`); literal `\n` escapes from environment variables are accepted.
    pub fn from_pem(pem: &str) -> Result<KeySet, KeyError> {
        let (label, der) = pem_decode(pem).map_err(KeyError::InvalidPem)?;
        match label.as_str() {
            "PUBLIC KEY" | "RSA PUBLIC KEY" => {}
            "PRIVATE KEY" | "RSA PRIVATE KEY" => {
                return Err(KeyError::InvalidPem(format!(
                    "the PEM block is a private key (\"{label}\"); give doorman the public key \
                     instead (Clerk dashboard → API keys → JWT public key, or \
                     `openssl pkey -in key.pem -pubout`)"
                )))
            }
            other => {
                return Err(KeyError::InvalidPem(format!(
                    "the PEM block is \"{other}\"; expected \"PUBLIC KEY\" or \"RSA PUBLIC KEY\" \
                     (Clerk dashboard → API keys → JWT public key)"
                )))
            }
        }
        let public = aws_lc_rs::rsa::PublicKey::from_der(&der).map_err(|e| {
            KeyError::InvalidPem(format!(
                "the \"{label}\" block is not an RSA public key ({e}); Clerk signs with RSA \
                 (RS256), so the key must be an RSA public key"
            ))
        })?;
        let parts = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(&public);
        let key = VerifyKey::from_rsa_components(&parts.n, &parts.e)
            .map_err(|why| KeyError::InvalidPem(format!("the \"{label}\" block: {why}")))?;
        Ok(KeySet {
            source: Source::Pem(key),
        })
    }

    /// The key for a token's `kid`. A PEM key applies to every token; a JWKS key only to its
    /// exact `kid` (a token without `kid` gets none).
    pub fn lookup(&self, kid: Option<&str>) -> Option<&VerifyKey> {
        match &self.source {
            Source::Pem(key) => Some(key),
            Source::Jwks(keys) => kid.and_then(|kid| keys.get(kid)),
        }
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        match &self.source {
            Source::Pem(_) => 1,
            Source::Jwks(keys) => keys.len(),
        }
    }

    /// Always false (an empty set is refused when built); here for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key ids, sorted (empty for a PEM key, which has none).
    pub fn kids(&self) -> Vec<&str> {
        let mut kids: Vec<&str> = match &self.source {
            Source::Pem(_) => Vec::new(),
            Source::Jwks(keys) => keys.keys().map(String::as_str).collect(),
        };
        kids.sort_unstable();
        kids
    }

    /// True when the set is a single PEM key rather than a JWKS.
    pub fn is_pem(&self) -> bool {
        matches!(self.source, Source::Pem(_))
    }
}

/// One JWKS entry as `(kid, key)`, or a warning saying why it is skipped.
fn jwk_to_key(index: usize, entry: &Value) -> Result<(String, VerifyKey), String> {
    let Value::Object(jwk) = entry else {
        return Err(format!("keys[{index}] is not a JSON object; skipped"));
    };
    let kid = match jwk.get("kid") {
        Some(Value::String(kid)) if !kid.is_empty() => kid,
        _ => {
            return Err(format!(
                "keys[{index}] has no \"kid\" (tokens name their key by kid); skipped"
            ))
        }
    };
    let name = format!("key {} (keys[{index}])", quoted(kid));
    if jwk.get("kty").and_then(Value::as_str) != Some("RSA") {
        let kty = describe(jwk.get("kty"));
        return Err(format!("{name} has kty {kty}, not \"RSA\"; skipped"));
    }
    if let Some(usage) = jwk.get("use").filter(|u| u.as_str() != Some("sig")) {
        let usage = describe(Some(usage));
        return Err(format!("{name} has use {usage}, not \"sig\"; skipped"));
    }
    // RFC 7517 §4.3: `key_ops` lists what the key is for; like `use` other than "sig", a list
    // without "verify" (e.g. ["encrypt"]) means the key must not verify signatures.
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            let ops = describe(Some(ops));
            return Err(format!(
                "{name} has key_ops {ops}, without \"verify\"; skipped"
            ));
        }
    }
    if let Some(alg) = jwk.get("alg").filter(|a| a.as_str() != Some("RS256")) {
        let alg = describe(Some(alg));
        return Err(format!(
            "{name} has alg {alg}; doorman verifies RS256 only; skipped"
        ));
    }
    let component = |field: &str| match jwk.get(field) {
        Some(Value::String(text)) => JWK_BASE64
            .decode(text)
            .map_err(|_| format!("{name} has a \"{field}\" that is not base64url; skipped")),
        _ => Err(format!("{name} has no \"{field}\" string; skipped")),
    };
    let (n, e) = (component("n")?, component("e")?);
    let key =
        VerifyKey::from_rsa_components(&n, &e).map_err(|why| format!("{name}: {why}; skipped"))?;
    Ok((kid.clone(), key))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// A JSON value for a warning, cut short so a hostile document cannot flood the log.
fn describe(value: Option<&Value>) -> String {
    value.map_or_else(|| "missing".to_owned(), |v| shorten(&v.to_string()))
}

fn quoted(text: &str) -> String {
    shorten(&format!("{text:?}"))
}

fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests;
