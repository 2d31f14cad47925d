//! The assertion's signing keys: loaded from PKCS#8 PEM files or generated, each with its
//! public JWK and `kid` (the RFC 7638 thumbprint). Never logs or prints a private key.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use crate::config::assertion::Algorithm;

/// Why a signing key could not be loaded, made or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("assertion.keys[{index}]: cannot read {path}: {why}; check the path (a relative one is read next to the config file)")]
    Read {
        index: usize,
        path: String,
        why: std::io::Error,
    },
    #[error("assertion.keys[{index}]: {path} is not a PKCS#8 PEM private key (\"-----BEGIN PRIVATE KEY-----\"); make one with `{command}`, or convert an \"EC PRIVATE KEY\" with `openssl pkcs8 -topk8 -nocrypt -in old.pem -out {path}`")]
    NotPem {
        index: usize,
        path: String,
        command: &'static str,
    },
    #[error("assertion.keys[{index}]: {path} is not a {kind} private key, which algorithm = \"{alg}\" needs; make one with `{command}` or change assertion.algorithm")]
    WrongType {
        index: usize,
        path: String,
        kind: &'static str,
        alg: &'static str,
        command: &'static str,
    },
    #[error("assertion: cannot generate a signing key")]
    Generate,
    #[error("assertion: signing failed")]
    Sign,
}

/// The `openssl` command that writes a key file for `alg`.
pub const fn keygen_command(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::Es256 => {
            "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out assertion.pem"
        }
        Algorithm::EdDsa => "openssl genpkey -algorithm ed25519 -out assertion.pem",
    }
}

enum Pair {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// One key pair, ready to sign.
pub struct SigningKey {
    /// Unique per key made or loaded in this process: a prepared assertion remembers the
    /// key that signed it, and is signed again once another key signs.
    pub generation: u64,
    pub kid: String,
    /// The public JWK (`kty`, `crv`, `x`[, `y`], `kid`, `alg`, `use`).
    pub jwk: Value,
    /// base64url of the JOSE header `{"alg","typ":"JWT","kid"}`.
    pub header_b64: String,
    pair: Pair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

static GENERATION: AtomicU64 = AtomicU64::new(1);

impl SigningKey {
    /// A new random key.
    pub fn generate(alg: Algorithm) -> Result<SigningKey, KeyError> {
        let pair = match alg {
            Algorithm::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map(Pair::Ec)
                .map_err(|_| KeyError::Generate)?,
            Algorithm::EdDsa => Ed25519KeyPair::generate()
                .map(Pair::Ed)
                .map_err(|_| KeyError::Generate)?,
        };
        Ok(SigningKey::new(alg, pair))
    }

    /// The key in the PEM file at `path` (entry `index` of `assertion.keys`).
    pub fn load(alg: Algorithm, index: usize, path: &Path) -> Result<SigningKey, KeyError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|why| KeyError::Read {
            index,
            path: shown.clone(),
            why,
        })?;
        let not_pem = || KeyError::NotPem {
            index,
            path: shown.clone(),
            command: keygen_command(alg),
        };
        let der = pkcs8_der(&text).ok_or_else(not_pem)?;
        let wrong = || KeyError::WrongType {
            index,
            path: shown.clone(),
            kind: match alg {
                Algorithm::Es256 => "P-256 EC",
                Algorithm::EdDsa => "Ed25519",
            },
            alg: alg.as_str(),
            command: keygen_command(alg),
        };
        let pair = match alg {
            Algorithm::Es256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                .map(Pair::Ec)
                .map_err(|_| wrong())?,
            Algorithm::EdDsa => Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                .map(Pair::Ed)
                .map_err(|_| wrong())?,
        };
        Ok(SigningKey::new(alg, pair))
    }

    fn new(alg: Algorithm, pair: Pair) -> SigningKey {
        // RFC 7638: the required members only, in lexicographic order, no whitespace.
        let (thumb_input, mut jwk) = match &pair {
            Pair::Ec(p) => {
                let point = p.public_key().as_ref();
                // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
                let coords = point.get(1..).unwrap_or_default();
                let (x, y) = coords.split_at(coords.len() / 2);
                let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
                (
                    format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
                    json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
                )
            }
            Pair::Ed(p) => {
                let x = URL_SAFE_NO_PAD.encode(p.public_key().as_ref());
                (
                    format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
                    json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
                )
            }
        };
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, thumb_input.as_bytes());
        let kid = URL_SAFE_NO_PAD.encode(digest.as_ref());
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!(alg.as_str());
        jwk["use"] = json!("sig");
        let header = json!({"alg": alg.as_str(), "typ": "JWT", "kid": kid}).to_string();
        SigningKey {
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            kid,
            jwk,
            header_b64: URL_SAFE_NO_PAD.encode(header),
            pair,
        }
    }

    /// The raw signature of `input` (64 bytes for both algorithms).
    pub fn sign(&self, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.pair {
            Pair::Ec(p) => p
                .sign(&SystemRandom::new(), input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Sign),
            Pair::Ed(p) => Ok(p.sign(input).as_ref().to_vec()),
        }
    }
}

/// The DER inside the first `PRIVATE KEY` PEM block of `text`.
fn pkcs8_der(text: &str) -> Option<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let start = text.find(BEGIN)? + BEGIN.len();
    let end = start + text.get(start..)?.find(END)?;
    let body: String = text
        .get(start..end)?
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD.decode(body).ok().filter(|der| !der.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc_7638_shape_and_pem_round_trips() {
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let key = SigningKey::generate(alg).unwrap();
            assert_eq!(key.kid.len(), 43, "base64url of 32 bytes");
            assert_eq!(key.jwk["kid"], key.kid.as_str());
            assert_eq!(key.sign(b"x").unwrap().len(), 64);
        }
        assert!(
            pkcs8_der("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----")
                .is_none()
        );
        assert!(pkcs8_der("nothing").is_none());
    }
}
