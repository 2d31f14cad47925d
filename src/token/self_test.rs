//! Start-up check that RS256 verification really works in this build.
//!
//! jsonwebtoken panics at run time on its first encode/decode when no crypto backend, or
//! more than one, is enabled. [`self_test`] installs the aws-lc provider as the process
//! default and verifies a known-good signature (Clerk's own SDK test vector) through both
//! the explicit provider doorman uses and the process default, and checks that a tampered
//! signature is refused. It generates nothing, does no I/O and turns a backend panic into an
//! error, so `main` can report one clear sentence and exit instead of failing per request.

use std::panic::{catch_unwind, AssertUnwindSafe};

use jsonwebtoken::crypto::{self, aws_lc, CryptoProvider};
use jsonwebtoken::Algorithm;

use super::{ParsedToken, DEFAULT_MAX_TOKEN_BYTES};
use crate::keys::{KeyError, KeySet};

/// Clerk SDK fixture `mockJwks.json` (public key, kid `ins_2GIoQhbUpy0hX7B2cVkuTMinXoD`).
const KNOWN_JWKS: &str = concat!(
    r#"{"keys":[{"use":"sig","kty":"RSA","kid":"ins_2GIoQhbUpy0hX7B2cVkuTMinXoD","alg":"RS256","n":""#,
    r#"qYy3MY8fOneEyzNDu9lp6iGXKkNUF-u_dUnrlkadZYyB35efzKFJEr9fftmWv5PUj1uRHTQ3bh6X1cceOYsIjy00"#,
    r#"8dHWZJsKhGOxgdTjeK91rjaklxt7tyFXEiKHIOr1LSgKzopClOfCIjxK_oPUOf38pVh7WnekcSBQmU5fqA-EzKMi"#,
    r#"6k9VwvbzqKlZM4XQsiFyn28d9VubJWjTU8nNot0n1NE-9k6TxM8nglM4RwkBH4Ni4B0LhKKOOV-AG8tBNiZVil41"#,
    r#"5dpBldmJ_j0wk7Ad4VFi9en3Z17oCKr-K-zuT7vKMKSb1548dk0vnmi0vj2QGXSo-61wM5yQWpk6sQ"#,
    r#"","e":"AQAB"}]}"#,
);

/// Clerk SDK fixture `mockJwt.jwt`, signed by [`KNOWN_JWKS`] (its claims expired in 2022;
/// only the signature is checked here).
const KNOWN_TOKEN: &str = concat!(
    "eyJhbGciOiJSUzI1NiIsImtpZCI6Imluc18yR0lvUWhiVXB5MGhYN0IyY1ZrdVRNaW5Yb0QiLCJ0eXAiOiJKV1QifQ.",
    "eyJhenAiOiJodHRwczovL2FjY291bnRzLmluc3BpcmVkLnB1bWEtNzQubGNsLmRldiIsImV4cCI6MTY2NjY0ODMxMC",
    "wiaWF0IjoxNjY2NjQ4MjUwLCJpc3MiOiJodHRwczovL2NsZXJrLmluc3BpcmVkLnB1bWEtNzQubGNsLmRldiIsIm5i",
    "ZiI6MTY2NjY0ODI0MCwic2lkIjoic2Vzc18yR2JEQjRlbk5kQ2E1dlMxenBDM1h6Zzl0SzkiLCJzdWIiOiJ1c2VyXz",
    "JHSXBYT0VwVnlKdzUxcmtabjlLbW5jNlN4ciJ9.",
    "j3rB92k32WqbQDkFB093H4GoQsBVLH4HLGF6ObcwUaVGiHC8SEu6T31FuPf257SL8A5sSGtWWM1fqhQpdLohgZb_hb",
    "JswGBuYI-Clxl9BtpIRHbWFZkLBIj8yS9W9aVtD3fWBbF6PHx7BY1udio-rbGWg1YAOZNtVcxF02p-MvX-8XIK92Vw",
    "u3Un5zyfCoVIg__qo3Xntzw3tznsZ4XDe212c6kVz1R_L1d5DKjeWXpjUPAS_zFeZSIJEQLf4JNr4JCY38tfdnc3aj",
    "fDA3p36saf1XwmTdWXQKCXi75c2TJAXROs3Pgqr5Kw_5clygoFuxN5OEMhFWFSnvIBdi3M6w",
);

/// Makes aws-lc the process-wide jsonwebtoken provider (so `jsonwebtoken::decode` and friends
/// never hit the "no backend" panic). Harmless when a provider is already installed.
pub fn install_crypto_provider() {
    let _already_installed = CryptoProvider::install_default(&aws_lc::DEFAULT_PROVIDER);
}

/// Installs the provider and proves RS256 verification accepts a good signature and refuses
/// a tampered one. Call once at start-up; an error means this build cannot verify tokens.
pub fn self_test() -> Result<(), KeyError> {
    install_crypto_provider();
    match catch_unwind(AssertUnwindSafe(run_checks)) {
        Ok(result) => result.map_err(KeyError::SelfTest),
        Err(_) => Err(KeyError::SelfTest("the crypto backend panicked".to_owned())),
    }
}

fn run_checks() -> Result<(), String> {
    let (keys, _) = KeySet::from_jwks_json(KNOWN_JWKS.as_bytes()).map_err(|e| e.to_string())?;
    let token = ParsedToken::parse(KNOWN_TOKEN, DEFAULT_MAX_TOKEN_BYTES)
        .map_err(|e| format!("the known-good token does not parse: {e}"))?;
    let key = keys
        .lookup(token.kid())
        .ok_or("the known-good key is missing from its key set")?;
    if !key.verify(token.signing_input(), token.signature()) {
        return Err("a known-good RS256 signature did not verify".to_owned());
    }
    let mut tampered = token.signature().to_vec();
    if let Some(last) = tampered.last_mut() {
        *last ^= 1;
    }
    if key.verify(token.signing_input(), &tampered) {
        return Err("a tampered RS256 signature verified".to_owned());
    }
    let signature_b64 = KNOWN_TOKEN.rsplit('.').next().unwrap_or_default();
    let via_default = crypto::verify(
        signature_b64,
        token.signing_input(),
        key.decoding_key(),
        Algorithm::RS256,
    );
    match via_default {
        Ok(true) => Ok(()),
        Ok(false) => Err("the process-default provider refused a good signature".to_owned()),
        Err(e) => Err(format!("the process-default provider failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_test_passes_in_this_build() {
        assert_eq!(self_test(), Ok(()));
        // Idempotent: a second call (provider already installed) passes too.
        assert_eq!(self_test(), Ok(()));
    }

    #[test]
    fn embedded_vectors_match_the_clerk_fixture_files() {
        let jwks: serde_json::Value = serde_json::from_str(KNOWN_JWKS).unwrap();
        let fixture: serde_json::Value = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/clerk-sdk-fixtures/mockJwks.json"
        )))
        .unwrap();
        assert_eq!(jwks, fixture);
        let token = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/clerk-sdk-fixtures/mockJwt.jwt"
        ));
        assert_eq!(KNOWN_TOKEN, token.trim());
    }
}
