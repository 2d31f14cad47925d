//! Reading Clerk's browser cookies: the session token and `__client_uat`, suffixed or not,
//! the handshake redirect counter, and the handshake nonce.
//!
//! Instances may write `__session_<suffix>` and `__client_uat_<suffix>` besides the
//! unsuffixed names. Which pair to trust follows Clerk's rules (a token that belongs to
//! another instance, a newer unsuffixed token, a suffixed "signed out" with an unsuffixed
//! "signed in"). Repeated cookies: the first occurrence wins. Never verifies anything: the
//! token chosen here still goes through full verification.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::HeaderMap;

use crate::token::extract::cookie_value;

/// Clerk's client-state cookie.
pub const CLIENT_UAT: &str = "__client_uat";
/// The handshake redirect counter cookie.
pub const REDIRECT_COUNT: &str = "__clerk_redirect_count";
/// The handshake nonce (query parameter, or cookie of the same name).
pub const HANDSHAKE_NONCE: &str = "__clerk_handshake_nonce";

/// The cookies that matter, already chosen between suffixed and unsuffixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClerkCookies<'a> {
    /// Name of the session cookie to read the token from.
    pub session_name: std::borrow::Cow<'a, str>,
    /// Whether the suffixed pair was chosen.
    pub suffixed: bool,
    /// `__client_uat` as unix seconds: `None` when absent or unreadable, `Some(0)` signed out.
    pub client_uat: Option<i64>,
    /// Handshakes in a row so far (from `__clerk_redirect_count`).
    pub redirect_count: u32,
}

/// The fields of an unverified token that the choice needs.
#[derive(Default)]
struct Peek {
    iss: Option<String>,
    iat: i64,
}

fn peek(token: &str) -> Option<Peek> {
    let payload = token.split('.').nth(1)?;
    if payload.len() > 16 * 1024 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Some(Peek {
        iss: value
            .get("iss")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        iat: value
            .get("iat")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0),
    })
}

impl<'a> ClerkCookies<'a> {
    /// The plain session cookie, nothing read: for configs without a cookie suffix and
    /// without the handshake, where nothing else in these cookies is ever used.
    pub fn plain(base: &'a str) -> ClerkCookies<'a> {
        ClerkCookies {
            session_name: std::borrow::Cow::Borrowed(base),
            suffixed: false,
            client_uat: None,
            redirect_count: 0,
        }
    }

    /// Reads the cookies. `base` is the configured session cookie name, `suffix` the
    /// instance's cookie suffix, `issuer` the configured issuer (to tell our tokens apart).
    pub fn read(
        headers: &HeaderMap,
        base: &'a str,
        suffix: Option<&str>,
        issuer: &str,
    ) -> ClerkCookies<'a> {
        let redirect_count = cookie_value(headers, REDIRECT_COUNT)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0);
        let uat = |name: &str| cookie_value(headers, name);
        let unsuffixed = ClerkCookies {
            session_name: std::borrow::Cow::Borrowed(base),
            suffixed: false,
            client_uat: uat(CLIENT_UAT).and_then(|v| v.parse().ok()),
            redirect_count,
        };
        let Some(suffix) = suffix else {
            return unsuffixed;
        };
        let session_s_name = format!("{base}_{suffix}");
        let uat_s_name = format!("{CLIENT_UAT}_{suffix}");
        let suffixed = ClerkCookies {
            session_name: std::borrow::Cow::Owned(session_s_name.clone()),
            suffixed: true,
            client_uat: uat(&uat_s_name).and_then(|v| v.parse().ok()),
            redirect_count,
        };
        let session = cookie_value(headers, base);
        let session_s = cookie_value(headers, &session_s_name);
        let uat_raw = uat(CLIENT_UAT);
        let uat_s_raw = uat(&uat_s_name);
        if use_unsuffixed(session, session_s, uat_raw, uat_s_raw, issuer) {
            unsuffixed
        } else {
            suffixed
        }
    }
}

/// Clerk's rules for preferring the unsuffixed cookies.
fn use_unsuffixed(
    session: Option<&str>,
    session_s: Option<&str>,
    uat: Option<&str>,
    uat_s: Option<&str>,
    issuer: &str,
) -> bool {
    if let Some(token) = session {
        match peek(token) {
            // A malformed unsuffixed token: use it, so the user is signed out, not looped.
            None => return true,
            Some(p) if p.iss.is_none() => return true,
            // It belongs to another instance on the same domain: trust the suffixed pair.
            Some(p) if p.iss.as_deref() != Some(issuer) => return false,
            Some(_) => {}
        }
    }
    if uat_s.is_none() && session_s.is_none() {
        return true;
    }
    let iat = |t: Option<&str>| t.and_then(peek).map_or(0, |p| p.iat);
    let signed_in = |u: Option<&str>| u.is_some_and(|v| v != "0");
    // Both signed in, and the unsuffixed token is newer.
    if signed_in(uat_s) && signed_in(uat) && iat(session) > iat(session_s) {
        return true;
    }
    // Suffixed says signed out, unsuffixed says signed in: the unsuffixed one is newer.
    if uat_s == Some("0") && signed_in(uat) {
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const ISS: &str = "https://clerk.example.com";

    fn jwt(iss: Option<&str>, iat: i64) -> String {
        let payload = match iss {
            Some(i) => format!("{{\"iss\":\"{i}\",\"iat\":{iat}}}"),
            None => format!("{{\"iat\":{iat}}}"),
        };
        format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(payload))
    }

    fn read(cookie: &str) -> ClerkCookies<'static> {
        let mut h = HeaderMap::new();
        h.insert("cookie", HeaderValue::from_str(cookie).unwrap());
        ClerkCookies::read(&h, "__session", Some("abcd1234"), ISS)
    }

    #[test]
    fn without_a_suffix_the_plain_names_are_used() {
        let mut h = HeaderMap::new();
        h.insert(
            "cookie",
            HeaderValue::from_static("__client_uat=5; __clerk_redirect_count=2"),
        );
        let c = ClerkCookies::read(&h, "__session", None, ISS);
        assert_eq!(
            (&*c.session_name, c.suffixed, c.client_uat, c.redirect_count),
            ("__session", false, Some(5), 2)
        );
    }

    #[test]
    fn suffixed_cookies_are_chosen_when_only_they_exist() {
        let c = read(&format!(
            "__session_abcd1234={}; __client_uat_abcd1234=100",
            jwt(Some(ISS), 90)
        ));
        assert!(c.suffixed);
        assert_eq!(c.session_name, "__session_abcd1234");
        assert_eq!(c.client_uat, Some(100));
    }

    #[test]
    fn plain_cookies_are_chosen_when_no_suffixed_ones_exist() {
        let c = read(&format!(
            "__session={}; __client_uat=100",
            jwt(Some(ISS), 90)
        ));
        assert!(!c.suffixed);
    }

    #[test]
    fn an_unsuffixed_token_of_another_instance_means_trust_the_suffixed_pair() {
        let c = read(&format!(
            "__session={}; __client_uat=200; __session_abcd1234={}; __client_uat_abcd1234=100",
            jwt(Some("https://other.example.com"), 300),
            jwt(Some(ISS), 90)
        ));
        assert!(c.suffixed);
    }

    #[test]
    fn a_newer_unsuffixed_token_wins_when_both_are_signed_in() {
        let c = read(&format!(
            "__session={}; __client_uat=200; __session_abcd1234={}; __client_uat_abcd1234=100",
            jwt(Some(ISS), 300),
            jwt(Some(ISS), 90)
        ));
        assert!(!c.suffixed);
        let c = read(&format!(
            "__session={}; __client_uat=200; __session_abcd1234={}; __client_uat_abcd1234=100",
            jwt(Some(ISS), 50),
            jwt(Some(ISS), 90)
        ));
        assert!(c.suffixed);
    }

    #[test]
    fn suffixed_signed_out_with_unsuffixed_signed_in_trusts_unsuffixed() {
        let c = read(&format!(
            "__session={}; __client_uat=200; __client_uat_abcd1234=0",
            jwt(Some(ISS), 10)
        ));
        assert!(!c.suffixed);
        assert_eq!(c.client_uat, Some(200));
    }

    #[test]
    fn a_malformed_or_issuerless_unsuffixed_token_is_used_as_is() {
        for bad in ["garbage".to_string(), jwt(None, 5)] {
            let c = read(&format!(
                "__session={bad}; __session_abcd1234={}; __client_uat_abcd1234=9",
                jwt(Some(ISS), 5)
            ));
            assert!(!c.suffixed, "{bad}");
        }
    }

    #[test]
    fn first_occurrence_of_a_repeated_cookie_wins() {
        let c = read("__client_uat_abcd1234=7; __client_uat_abcd1234=0; __clerk_redirect_count=1; __clerk_redirect_count=3");
        assert_eq!((c.client_uat, c.redirect_count), (Some(7), 1));
    }
}
