//! Minting RS256 tokens and publishing the matching public keys: the library behind
//! `doorman token mint`, `doorman demo` and every test that needs a signed token.
//!
//! This module owns private keys, so it must never log, print or put them in an error
//! message, and nothing on the request path may use it: doorman verifies Clerk's tokens, it
//! never issues its own. [`sign_raw`] signs exactly the bytes it is given (hostile headers,
//! duplicate keys, anything) so that tests can prove the verifier refuses them.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use thiserror::Error;

use crate::keys::{pem_decode, pem_encode};

/// Why a key could not be loaded or a token could not be signed.
#[derive(Debug, Error)]
pub enum MintError {
    #[error("could not generate an RSA key pair")]
    KeyGeneration,
    #[error("invalid signing key: {0}")]
    InvalidKey(String),
    #[error("could not sign the token with the RSA key")]
    Signing,
    #[error("could not encode the {0}")]
    Encoding(&'static str),
}

/// An RSA private key that signs RS256 tokens.
pub struct SigningKey {
    pair: KeyPair,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("bits", &self.modulus_bits())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh random 2048-bit key (the size Clerk uses).
    pub fn generate_2048() -> Result<SigningKey, MintError> {
        KeyPair::generate(KeySize::Rsa2048)
            .map(|pair| SigningKey { pair })
            .map_err(|_| MintError::KeyGeneration)
    }

    /// Loads a PEM private key: PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`.
    pub fn from_pem(pem: &str) -> Result<SigningKey, MintError> {
        let (label, der) = pem_decode(pem).map_err(MintError::InvalidKey)?;
        let pair = match label.as_str() {
            "PRIVATE KEY" => KeyPair::from_pkcs8(&der),
            "RSA PRIVATE KEY" => KeyPair::from_der(&der),
            other => {
                return Err(MintError::InvalidKey(format!(
                    "the PEM block is \"{other}\"; give an RSA private key \
                     (\"PRIVATE KEY\" or \"RSA PRIVATE KEY\"), e.g. from \
                     `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`"
                )))
            }
        };
        pair.map(|pair| SigningKey { pair }).map_err(|e| {
            MintError::InvalidKey(format!(
                "the \"{label}\" block is not a usable RSA private key ({e}); \
                 RSA keys of 2048 to 8192 bits are supported"
            ))
        })
    }

    /// The key as PKCS#8 `PRIVATE KEY` PEM (to save a generated key).
    pub fn to_pkcs8_pem(&self) -> Result<String, MintError> {
        let der = self
            .pair
            .as_der()
            .map_err(|_| MintError::Encoding("private key as PKCS#8"))?;
        Ok(pem_encode("PRIVATE KEY", der.as_ref()))
    }

    /// The public key as SPKI `PUBLIC KEY` PEM (what Clerk's dashboard shows as the JWT key).
    pub fn public_key_pem(&self) -> Result<String, MintError> {
        let der = self
            .pair
            .public_key()
            .as_der()
            .map_err(|_| MintError::Encoding("public key as SPKI"))?;
        Ok(pem_encode("PUBLIC KEY", der.as_ref()))
    }

    /// The public key as a JWK: `{"kty":"RSA","use":"sig","alg":"RS256","kid",n,e}`.
    pub fn public_jwk(&self, kid: &str) -> Value {
        let parts = PublicKeyComponents::<Vec<u8>>::from(self.pair.public_key());
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(&parts.n),
            "e": URL_SAFE_NO_PAD.encode(&parts.e),
        })
    }

    /// Size of the modulus in bits.
    pub fn modulus_bits(&self) -> usize {
        self.pair.public_modulus_len() * 8
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, MintError> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| MintError::Signing)?;
        Ok(signature)
    }
}

/// A JWKS document (`{"keys":[…]}`) publishing each key under its kid.
pub fn jwks_json(keys: &[(&SigningKey, &str)]) -> String {
    let keys: Vec<Value> = keys.iter().map(|(key, kid)| key.public_jwk(kid)).collect();
    json!({ "keys": keys }).to_string()
}

/// Signs exactly `header_json` and `payload_json` (not re-serialized) with RS256.
pub fn sign_raw(
    key: &SigningKey,
    header_json: &str,
    payload_json: &str,
) -> Result<String, MintError> {
    let mut token = URL_SAFE_NO_PAD.encode(header_json);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload_json, &mut token);
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

/// A session-shaped token: header `{"alg":"RS256","kid":…,"typ":"JWT"}` over `claims`.
pub fn mint(key: &SigningKey, kid: &str, claims: &Value) -> Result<String, MintError> {
    let header = json!({ "alg": "RS256", "kid": kid, "typ": "JWT" });
    sign_raw(key, &header.to_string(), &claims.to_string())
}

#[cfg(test)]
impl SigningKey {
    /// A genuinely RS384-signed token (header `alg: RS384`), to prove it is refused.
    pub(crate) fn sign_rs384_for_tests(&self, payload_json: &str) -> String {
        let header = r#"{"alg":"RS384","kid":"ins_test_a","typ":"JWT"}"#;
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload_json)
        );
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA384,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .expect("RS384 test signature");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeySet;
    use crate::token::testkit::{key_a, key_b};

    #[test]
    fn mint_produces_the_documented_header_and_exact_payload() {
        let claims = json!({"sub": "user_1", "n": [1, 2]});
        let token = mint(key_a(), "ins_a", &claims).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = URL_SAFE_NO_PAD.decode(parts[0]).unwrap();
        assert_eq!(header, br#"{"alg":"RS256","kid":"ins_a","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.decode(parts[1]).unwrap();
        assert_eq!(payload, claims.to_string().as_bytes());
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 256);
    }

    #[test]
    fn sign_raw_keeps_hostile_bytes_verbatim() {
        let token = sign_raw(
            key_a(),
            r#"{"alg":"RS256","alg":"none"}"#,
            r#"{"a":1,"a":2}"#,
        )
        .unwrap();
        let first = token.split('.').next().unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(first).unwrap(),
            br#"{"alg":"RS256","alg":"none"}"#
        );
    }

    #[test]
    fn pkcs8_pem_round_trips_and_pkcs1_is_accepted() {
        let pem = key_a().to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 64));
        let again = SigningKey::from_pem(&pem).unwrap();
        assert_eq!(again.public_jwk("k"), key_a().public_jwk("k"));

        // PKCS#1 is the inner RSAPrivateKey of PKCS#8: re-wrap it from the PKCS#8 DER.
        let (_, pkcs8) = pem_decode(&pem).unwrap();
        let pkcs1 = pkcs1_inside_pkcs8(&pkcs8);
        let pkcs1_pem = pem_encode("RSA PRIVATE KEY", pkcs1);
        let from_pkcs1 = SigningKey::from_pem(&pkcs1_pem).unwrap();
        assert_eq!(from_pkcs1.public_jwk("k"), key_a().public_jwk("k"));
    }

    /// The OCTET STRING at the end of a PKCS#8 PrivateKeyInfo (long-form lengths only).
    fn pkcs1_inside_pkcs8(der: &[u8]) -> &[u8] {
        // SEQUENCE { INTEGER 0, SEQUENCE { OID, NULL }, OCTET STRING { RSAPrivateKey } }
        let pos = der.windows(2).position(|w| w == [0x04, 0x82]).unwrap();
        let len = (usize::from(der[pos + 2]) << 8) | usize::from(der[pos + 3]);
        &der[pos + 4..pos + 4 + len]
    }

    #[test]
    fn from_pem_explains_what_is_wrong() {
        let public = key_a().public_key_pem().unwrap();
        let table = [
            ("public_key", public.as_str(), "give an RSA private key"),
            ("not_pem", "hello", "-----BEGIN"),
            (
                "garbage_body",
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                "not a usable",
            ),
        ];
        for (name, pem, needle) in table {
            let err = SigningKey::from_pem(pem).unwrap_err().to_string();
            assert!(err.contains(needle), "case {name}: {err}");
        }
    }

    #[test]
    fn public_forms_agree_and_load_as_verify_keys() {
        let jwk = key_b().public_jwk("ins_b");
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(key_b().modulus_bits(), 2048);
        let jwks = jwks_json(&[(key_a(), "ins_a"), (key_b(), "ins_b")]);
        let (set, warnings) = KeySet::from_jwks_json(jwks.as_bytes()).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(set.kids(), ["ins_a", "ins_b"]);
        let pem = KeySet::from_pem(&key_b().public_key_pem().unwrap()).unwrap();
        assert_eq!(pem.len(), 1);
        assert!(format!("{:?}", key_a()).contains("2048"));
    }
}
