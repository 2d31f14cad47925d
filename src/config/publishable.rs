//! Clerk publishable keys: the Frontend API host and the cookie suffix they encode.
//!
//! `pk_test_…` / `pk_live_…` followed by base64 of `<frontend api host>$`. The suffix of
//! `__session_<suffix>` and `__client_uat_<suffix>` is the first 8 characters of
//! base64url(SHA-1(publishable key)). Pure functions; errors say what is wrong.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;

/// What a publishable key tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishableKey {
    /// The Frontend API host, e.g. `clerk.example.com`.
    pub frontend_api_host: String,
    /// `true` for `pk_live_`, `false` for `pk_test_` (development instances).
    pub live: bool,
    /// The cookie suffix.
    pub cookie_suffix: String,
}

/// Parses a publishable key.
pub fn parse(key: &str) -> Result<PublishableKey, String> {
    let (live, encoded) = if let Some(rest) = key.strip_prefix("pk_live_") {
        (true, rest)
    } else if let Some(rest) = key.strip_prefix("pk_test_") {
        (false, rest)
    } else {
        return Err("a publishable key starts with pk_live_ or pk_test_; copy it from the Clerk dashboard (API keys)".into());
    };
    let decoded = STANDARD
        .decode(encoded)
        .or_else(|_| STANDARD_NO_PAD.decode(encoded))
        .map_err(|_| "the publishable key is not valid base64 after its pk_ prefix; copy it again from the Clerk dashboard".to_string())?;
    let text = String::from_utf8(decoded)
        .map_err(|_| "the publishable key does not decode to a host name".to_string())?;
    let host = text
        .strip_suffix('$')
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b))
        })
        .ok_or_else(|| {
            "the publishable key does not decode to a Frontend API host followed by $".to_string()
        })?;
    Ok(PublishableKey {
        frontend_api_host: host.to_string(),
        live,
        cookie_suffix: cookie_suffix(key),
    })
}

/// The first 8 characters of base64url(SHA-1(key)).
pub fn cookie_suffix(key: &str) -> String {
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, key.as_bytes());
    let mut encoded = URL_SAFE_NO_PAD.encode(digest.as_ref());
    encoded.truncate(8);
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_for(host: &str, live: bool) -> String {
        format!(
            "pk_{}_{}",
            if live { "live" } else { "test" },
            STANDARD.encode(format!("{host}$"))
        )
    }

    #[test]
    fn decodes_host_and_instance_type() {
        let k = parse(&key_for("clerk.example.com", true)).unwrap();
        assert_eq!(k.frontend_api_host, "clerk.example.com");
        assert!(k.live);
        let k = parse(&key_for("happy-cat-12.clerk.accounts.dev", false)).unwrap();
        assert_eq!(k.frontend_api_host, "happy-cat-12.clerk.accounts.dev");
        assert!(!k.live);
    }

    #[test]
    fn accepts_keys_without_base64_padding() {
        let padded = key_for("clerk.example.com", true);
        let unpadded = padded.trim_end_matches('=');
        assert_eq!(
            parse(unpadded).unwrap().frontend_api_host,
            "clerk.example.com"
        );
    }

    #[test]
    fn refuses_malformed_keys() {
        for bad in [
            "sk_live_abc",
            "pk_live_!!!",
            &format!("pk_live_{}", STANDARD.encode("clerk.example.com")),
            &format!("pk_test_{}", STANDARD.encode("evil host$")),
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cookie_suffix_is_eight_base64url_characters_of_sha1() {
        // SHA-1("pk_test_abc") = c40b24b6…, computed independently with Python's hashlib;
        // base64url of the digest starts "xAsktmsC".
        assert_eq!(cookie_suffix("pk_test_abc"), "xAsktmsC");
        assert_ne!(cookie_suffix("pk_test_abc"), cookie_suffix("pk_test_abd"));
    }
}
