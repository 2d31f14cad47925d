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
/// The development instances' dev-browser token (cookie, suffixed or not, or query parameter).
pub const DEV_BROWSER: &str = "__clerk_db_jwt";
/// The dev-browser query parameter of older SDKs, dropped from `redirect_url` as Clerk does.
pub const LEGACY_DEV_BROWSER: &str = "__dev_session";

/// The cookies that matter, already chosen between suffixed and unsuffixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClerkCookies<'a> {
    /// Name of the session cookie to read the token from.
    pub session_name: std::borrow::Cow<'a, str>,
    /// The chosen session cookie's value (empty counts as absent).
    pub session: Option<&'a str>,
    /// Whether the suffixed pair was chosen.
    pub suffixed: bool,
    /// `__client_uat` read as JavaScript's `parseInt(v) || 0` reads it: `0` means no
    /// signed-in client (absent, `0`, or not a number).
    pub client_uat: i64,
    /// Handshakes in a row so far (from `__clerk_redirect_count`).
    pub redirect_count: u32,
    /// `__clerk_db_jwt` (suffixed or not, like the other cookies).
    pub dev_browser: Option<&'a str>,
}

/// The fields of an unverified token that the choice needs.
#[derive(Default)]
pub struct Peek {
    pub iss: Option<serde_json::Value>,
    pub iat: Option<f64>,
    pub exp: Option<f64>,
    pub sub: Option<String>,
    /// The header's `cat` (token category), when it is a string.
    pub cat: Option<String>,
}

impl Peek {
    /// Clerk's machine-token and non-session-category tests (`mch_` subject, a `cat` other
    /// than the session or "no information" category): such tokens are signed out before
    /// any `__client_uat` comparison.
    pub fn is_session_token(&self) -> bool {
        let machine = self.sub.as_deref().is_some_and(|s| s.starts_with("mch_"));
        let other_category = self
            .cat
            .as_deref()
            .is_some_and(|c| c != "cl_B7d4PD111AAA" && c != "cl_I7d4PD111III");
        !machine && !other_category
    }
}

/// Decodes a token's payload without verifying anything, as Clerk's `decodeJwt` does before
/// it chooses cookies; `None` when it is not three parts with a JSON object payload.
pub fn peek(token: &str) -> Option<Peek> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if payload.len() > 16 * 1024 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let value = value.as_object()?;
    let header: serde_json::Value = URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())?;
    Some(Peek {
        cat: header
            .get("cat")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        iss: value.get("iss").cloned(),
        iat: value.get("iat").and_then(serde_json::Value::as_f64),
        exp: value.get("exp").and_then(serde_json::Value::as_f64),
        sub: value
            .get("sub")
            .and_then(|v| v.as_str())
            .map(str::to_string),
    })
}

/// JavaScript's `parseInt(value) || 0`: optional leading whitespace and sign, then the
/// leading decimal digits; anything else is 0. Saturates instead of overflowing.
pub fn parse_int(value: &str) -> i64 {
    let s = value.trim_start();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| {
            n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    if negative {
        n.saturating_neg()
    } else {
        n
    }
}

/// What the suffixed-or-unsuffixed choice needs to know about the instance.
pub struct Instance<'a> {
    /// The instance's cookie suffix.
    pub suffix: &'a str,
    /// The Frontend API host from the publishable key (tokens' `iss` without the scheme).
    pub frontend_api_host: &'a str,
    /// A development instance (`pk_test_`).
    pub development: bool,
    /// Unix seconds, for the development rule on expired suffixed tokens.
    pub now: i64,
}

impl<'a> ClerkCookies<'a> {
    /// Reads the cookies. `base` is the configured session cookie name.
    pub fn read(headers: &'a HeaderMap, base: &'a str, instance: &Instance<'_>) -> Self {
        let redirect_count = cookie_value(headers, REDIRECT_COUNT)
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(0);
        let suffix = instance.suffix;
        let session_s_name = format!("{base}_{suffix}");
        let session = cookie_value(headers, base);
        let session_s = cookie_value(headers, &session_s_name);
        let uat = cookie_value(headers, CLIENT_UAT);
        let uat_s = cookie_value(headers, &format!("{CLIENT_UAT}_{suffix}"));
        let suffixed = uses_suffixed(session, session_s, uat, uat_s, instance);
        let (session_name, session, uat, dev_browser) = if suffixed {
            let dev = cookie_value(headers, &format!("{DEV_BROWSER}_{suffix}"));
            (
                std::borrow::Cow::Owned(session_s_name),
                session_s,
                uat_s,
                dev,
            )
        } else {
            let dev = cookie_value(headers, DEV_BROWSER);
            (std::borrow::Cow::Borrowed(base), session, uat, dev)
        };
        ClerkCookies {
            session_name,
            session,
            suffixed,
            client_uat: uat.map_or(0, parse_int),
            redirect_count,
            dev_browser,
        }
    }
}

/// Clerk's `usesSuffixedCookies`, rule by rule. `None` is an absent (or empty) cookie.
fn uses_suffixed(
    session: Option<&str>,
    session_s: Option<&str>,
    uat: Option<&str>,
    uat_s: Option<&str>,
    instance: &Instance<'_>,
) -> bool {
    let peeked = session.and_then(peek);
    if session.is_some() {
        // A malformed or issuer-less unsuffixed token: use it, so the user ends signed
        // out rather than in a handshake.
        let Some(issuer) = peeked
            .as_ref()
            .and_then(|p| p.iss.as_ref())
            .filter(|i| is_truthy(i))
        else {
            return false;
        };
        // It belongs to another instance on the same domain: trust the suffixed pair.
        if !issuer.as_str().is_some_and(|iss| belongs_to(iss, instance)) {
            return true;
        }
    }
    if uat_s.is_none() && session_s.is_none() {
        return false;
    }
    let iat = |p: Option<&Peek>| p.and_then(|p| p.iat).filter(|v| *v != 0.0).unwrap_or(0.0);
    let peeked_s = session_s.and_then(peek);
    // Both say signed in (absent counts as "not 0"), and the unsuffixed token is newer.
    if uat_s != Some("0") && uat != Some("0") && iat(peeked.as_ref()) > iat(peeked_s.as_ref()) {
        return false;
    }
    // Suffixed says signed out, unsuffixed does not: the unsuffixed one is newer.
    if uat_s == Some("0") && uat != Some("0") {
        return false;
    }
    // Development only: clerk-js may not keep the suffixed uat current; an expired suffixed
    // token beside an unsuffixed sign-out means the unsuffixed state is newer.
    if instance.development {
        let expired = peeked_s
            .as_ref()
            .is_some_and(|p| p.exp.is_none_or(|exp| exp <= instance.now as f64));
        if uat_s != Some("0") && uat == Some("0") && expired {
            return false;
        }
    }
    // A suffixed session without its uat: the feature is off for this instance.
    if uat_s.is_none() && session_s.is_some() {
        return false;
    }
    true
}

/// JavaScript truthiness of a JSON value.
fn is_truthy(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => false,
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        serde_json::Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// Clerk's `tokenBelongsToInstance`: the issuer with every `http://`/`https://` removed
/// (any case) equals the Frontend API host.
fn belongs_to(iss: &str, instance: &Instance<'_>) -> bool {
    strip_schemes(iss) == instance.frontend_api_host
}

fn strip_schemes(iss: &str) -> String {
    let mut out = String::with_capacity(iss.len());
    let mut rest = iss;
    while !rest.is_empty() {
        let lower = rest.get(..8).map(str::to_ascii_lowercase);
        if lower.as_deref() == Some("https://") {
            rest = &rest[8..];
            continue;
        }
        if rest.get(..7).map(str::to_ascii_lowercase).as_deref() == Some("http://") {
            rest = &rest[7..];
            continue;
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const HOST: &str = "clerk.example.com";
    const ISS: &str = "https://clerk.example.com";
    const NOW: i64 = 1_000;

    fn jwt(iss: Option<&str>, iat: i64) -> String {
        let payload = match iss {
            Some(i) => format!("{{\"iss\":\"{i}\",\"iat\":{iat},\"exp\":{}}}", iat + 60),
            None => format!("{{\"iat\":{iat}}}"),
        };
        format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(payload))
    }

    fn read_in(cookie: &str, development: bool) -> (bool, Option<String>, i64) {
        let mut h = HeaderMap::new();
        h.insert("cookie", HeaderValue::from_str(cookie).unwrap());
        let instance = Instance {
            suffix: "abcd1234",
            frontend_api_host: HOST,
            development,
            now: NOW,
        };
        let c = ClerkCookies::read(&h, "__session", &instance);
        (c.suffixed, c.session.map(str::to_string), c.client_uat)
    }

    fn suffixed(cookie: &str) -> bool {
        read_in(cookie, false).0
    }

    #[test]
    fn only_suffixed_cookies_choose_the_suffixed_pair() {
        let t = jwt(Some(ISS), 90);
        let (s, session, uat) = read_in(
            &format!("__session_abcd1234={t}; __client_uat_abcd1234=100"),
            false,
        );
        assert_eq!((s, session.as_deref(), uat), (true, Some(t.as_str()), 100));
        assert!(!suffixed(&format!("__session={t}; __client_uat=100")));
    }

    #[test]
    fn another_instances_unsuffixed_token_means_trust_the_suffixed_pair() {
        let c = format!(
            "__session={}; __client_uat=200; __session_abcd1234={}; __client_uat_abcd1234=100",
            jwt(Some("https://other.example.com"), 300),
            jwt(Some(ISS), 90)
        );
        assert!(suffixed(&c));
    }

    #[test]
    fn an_issuer_differing_only_in_scheme_belongs_to_the_instance() {
        let c = format!(
            "__session={}; __client_uat=200; __session_abcd1234={}; __client_uat_abcd1234=100",
            jwt(Some("http://clerk.example.com"), 50),
            jwt(Some(ISS), 90)
        );
        assert!(suffixed(&c), "same instance, older: the suffixed pair");
        let newer = format!(
            "__session={}; __client_uat=200; __session_abcd1234={}; __client_uat_abcd1234=100",
            jwt(Some("HTTP://clerk.example.com"), 300),
            jwt(Some(ISS), 90)
        );
        assert!(
            !suffixed(&newer),
            "same instance, newer: the unsuffixed pair"
        );
    }

    #[test]
    fn newer_token_wins_when_neither_uat_says_signed_out() {
        let pair = |plain: i64, sfx: i64| {
            format!(
                "__session={}; __client_uat=200; __session_abcd1234={}; __client_uat_abcd1234=100",
                jwt(Some(ISS), plain),
                jwt(Some(ISS), sfx)
            )
        };
        assert!(!suffixed(&pair(300, 90)));
        assert!(suffixed(&pair(50, 90)));
        assert!(suffixed(&pair(90, 90)));
    }

    #[test]
    fn suffixed_session_without_its_uat_falls_back_to_unsuffixed() {
        // Regression: doorman chose the suffixed session here, i.e. another user.
        let c = format!(
            "__session_abcd1234={}; __session={}; __client_uat=100",
            jwt(Some(ISS), 90),
            jwt(Some(ISS), 90)
        );
        assert!(!suffixed(&c));
        assert!(!suffixed(&format!(
            "__session_abcd1234={}",
            jwt(Some(ISS), 90)
        )));
    }

    #[test]
    fn suffixed_signed_out_with_unsuffixed_not_signed_out_trusts_unsuffixed() {
        let t = jwt(Some(ISS), 10);
        assert!(!suffixed(&format!(
            "__session_abcd1234={t}; __client_uat_abcd1234=0"
        )));
        let (s, _, uat) = read_in(
            &format!("__session={t}; __client_uat=200; __client_uat_abcd1234=0"),
            false,
        );
        assert_eq!((s, uat), (false, 200));
    }

    #[test]
    fn development_prefers_unsuffixed_sign_out_over_an_expired_suffixed_token() {
        let expired = jwt(Some(ISS), NOW - 100);
        let c = format!("__client_uat=0; __session_abcd1234={expired}; __client_uat_abcd1234=100");
        assert!(!read_in(&c, true).0);
        assert!(read_in(&c, false).0);
        let fresh = jwt(Some(ISS), NOW - 5);
        let c = format!("__client_uat=0; __session_abcd1234={fresh}; __client_uat_abcd1234=100");
        assert!(read_in(&c, true).0);
    }

    #[test]
    fn malformed_or_issuerless_unsuffixed_tokens_are_used_as_they_are() {
        for bad in ["garbage".to_string(), jwt(None, 5)] {
            let c = format!(
                "__session={bad}; __session_abcd1234={}; __client_uat_abcd1234=9",
                jwt(Some(ISS), 5)
            );
            assert!(!suffixed(&c), "{bad}");
        }
    }

    #[test]
    fn client_uat_reads_like_parse_int() {
        for (raw, want) in [
            ("170", 170),
            ("0", 0),
            ("abc", 0),
            ("12x", 12),
            (" 7", 7),
            ("-3", -3),
            ("1e3", 1),
            ("99999999999999999999999", i64::MAX),
        ] {
            assert_eq!(parse_int(raw), want, "{raw}");
        }
    }

    #[test]
    fn first_occurrence_of_a_repeated_cookie_wins_and_dev_browser_follows_the_choice() {
        let mut h = HeaderMap::new();
        h.insert(
            "cookie",
            HeaderValue::from_static("__client_uat_abcd1234=7; __client_uat_abcd1234=0; __clerk_redirect_count=1; __clerk_redirect_count=3; __clerk_db_jwt=plain; __clerk_db_jwt_abcd1234=sfx"),
        );
        let instance = Instance {
            suffix: "abcd1234",
            frontend_api_host: HOST,
            development: true,
            now: NOW,
        };
        let c = ClerkCookies::read(&h, "__session", &instance);
        assert_eq!(
            (c.suffixed, c.client_uat, c.redirect_count, c.dev_browser),
            (true, 7, 1, Some("sfx"))
        );
    }
}
