//! Finds the session token in a request: the `Authorization` header first, else the session
//! cookie (docs/clerk.md), plus [`cookie_value`] for other Clerk cookies (`__client_uat`).
//!
//! Pure and allocation-free: it borrows from the [`HeaderMap`] and never decodes, verifies or
//! logs the token. It must never fall back to the cookie when an `Authorization` header is
//! present (a header token, even a broken one, means cookies are not looked at), and must
//! never pick a later duplicate of a cookie over the first one.

use http::header::{AUTHORIZATION, COOKIE};
use http::HeaderMap;

use crate::token::TokenError;

/// The cookie Clerk keeps the session token in.
pub const DEFAULT_SESSION_COOKIE: &str = "__session";

/// Where a token was found (a metric/log label; the token itself is never logged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenSource {
    Header,
    Cookie,
}

impl TokenSource {
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenSource::Header => "header",
            TokenSource::Cookie => "cookie",
        }
    }
}

/// The request's session token and where it came from; `Ok(None)` when there is none.
///
/// `Authorization: Bearer <jwt>` (scheme case-insensitive, one credential) or a bare
/// `Authorization: <jwt>` wins. More than one `Authorization` header, an empty one, or any
/// other scheme is [`TokenError::Malformed`], without looking at cookies. Otherwise the first
/// cookie named `cookie_name` across all `Cookie` headers; an empty value counts as absent.
pub fn extract_token<'a>(
    headers: &'a HeaderMap,
    cookie_name: &str,
) -> Result<Option<(&'a str, TokenSource)>, TokenError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    if let Some(first) = values.next() {
        if values.next().is_some() {
            return Err(TokenError::Malformed);
        }
        let value = first.to_str().map_err(|_| TokenError::Malformed)?;
        return token_from_authorization(value).map(|t| Some((t, TokenSource::Header)));
    }
    Ok(cookie_value(headers, cookie_name).map(|t| (t, TokenSource::Cookie)))
}

/// The value of the first cookie called `name` across every `Cookie` header, in order.
///
/// Pairs are split on `;` and trimmed of spaces and tabs; names compare case-sensitively; a
/// value wrapped in double quotes is unwrapped. The first occurrence wins even when it is
/// empty or not UTF-8 (then the cookie counts as absent): a later duplicate is never used.
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    for header in headers.get_all(COOKIE) {
        for pair in header.as_bytes().split(|&b| b == b';') {
            let pair = trim_ows(pair);
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                continue;
            };
            let (key, value) = (trim_ows(&pair[..eq]), trim_ows(&pair[eq + 1..]));
            if key != name.as_bytes() {
                continue;
            }
            let value = unquote(value);
            return match std::str::from_utf8(value) {
                Ok(v) if !v.is_empty() => Some(v),
                _ => None,
            };
        }
    }
    None
}

/// The token inside one `Authorization` header value.
fn token_from_authorization(value: &str) -> Result<&str, TokenError> {
    let value = value.trim_matches([' ', '\t']);
    match value.split_once(' ') {
        Some((scheme, credential)) if scheme.eq_ignore_ascii_case("bearer") => {
            // RFC 7235 allows 1*SP between scheme and credential.
            let credential = credential.trim_start_matches(' ');
            if credential.is_empty() || credential.contains([' ', '\t']) {
                Err(TokenError::Malformed)
            } else {
                Ok(credential)
            }
        }
        Some(_) => Err(TokenError::Malformed),
        None if looks_like_jwt(value) => Ok(value),
        None => Err(TokenError::Malformed),
    }
}

/// Three `.`-separated base64url segments, the first two non-empty (a bare JWS compact token).
fn looks_like_jwt(value: &str) -> bool {
    let mut parts = value.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let is_b64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    !header.is_empty()
        && !payload.is_empty()
        && is_b64url(header)
        && is_b64url(payload)
        && is_b64url(signature)
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn unquote(s: &[u8]) -> &[u8] {
    match s {
        [b'"', inner @ .., b'"'] => inner,
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln";

    type Extracted<'a> = Result<Option<(&'a str, TokenSource)>, TokenError>;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            let name = http::header::HeaderName::from_bytes(name.as_bytes()).unwrap();
            map.append(name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn authorization_header_forms() {
        let bearer = format!("Bearer {JWT}");
        let lower = format!("bearer {JWT}");
        let upper = format!("BEARER {JWT}");
        let padded = format!("  Bearer {JWT}  ");
        let two_creds = format!("Bearer {JWT} {JWT}");
        let basic = format!("Basic {JWT}");
        let double_space = format!("Bearer  {JWT}");
        let table: &[(&str, &str, Extracted)] = &[
            ("bearer", &bearer, Ok(Some((JWT, TokenSource::Header)))),
            (
                "scheme_lowercase",
                &lower,
                Ok(Some((JWT, TokenSource::Header))),
            ),
            (
                "scheme_uppercase",
                &upper,
                Ok(Some((JWT, TokenSource::Header))),
            ),
            (
                "surrounding_spaces",
                &padded,
                Ok(Some((JWT, TokenSource::Header))),
            ),
            (
                "bare_jwt_as_clerk_accepts",
                JWT,
                Ok(Some((JWT, TokenSource::Header))),
            ),
            (
                "bearer_without_credential",
                "Bearer",
                Err(TokenError::Malformed),
            ),
            (
                "bearer_with_empty_credential",
                "Bearer ",
                Err(TokenError::Malformed),
            ),
            ("two_credentials", &two_creds, Err(TokenError::Malformed)),
            (
                "double_space",
                &double_space,
                Ok(Some((JWT, TokenSource::Header))),
            ),
            ("basic_scheme", &basic, Err(TokenError::Malformed)),
            ("bare_garbage", "not-a-jwt", Err(TokenError::Malformed)),
            ("bare_two_parts", "abc.def", Err(TokenError::Malformed)),
            (
                "bare_jwe_five_parts",
                "a.b.c.d.e",
                Err(TokenError::Malformed),
            ),
            (
                "bare_with_bad_chars",
                "a+b.c/d.e",
                Err(TokenError::Malformed),
            ),
            ("empty_header", "", Err(TokenError::Malformed)),
        ];
        for (name, value, want) in table {
            let map = headers(&[
                ("authorization", value),
                ("cookie", "__session=cookie.tok.en"),
            ]);
            assert_eq!(&extract_token(&map, "__session"), want, "case {name}");
        }
    }

    #[test]
    fn two_authorization_headers_are_malformed_and_cookie_is_ignored() {
        let bearer = format!("Bearer {JWT}");
        let map = headers(&[
            ("authorization", &bearer),
            ("authorization", &bearer),
            ("cookie", "__session=a.b.c"),
        ]);
        assert_eq!(extract_token(&map, "__session"), Err(TokenError::Malformed));
    }

    #[test]
    fn non_ascii_authorization_is_malformed() {
        let mut map = HeaderMap::new();
        map.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff.a.b").unwrap(),
        );
        assert_eq!(extract_token(&map, "__session"), Err(TokenError::Malformed));
    }

    #[test]
    fn header_token_means_cookie_is_not_looked_at() {
        let bearer = format!("Bearer {JWT}");
        let map = headers(&[
            ("cookie", "__session=from.the.cookie"),
            ("authorization", &bearer),
        ]);
        assert_eq!(
            extract_token(&map, DEFAULT_SESSION_COOKIE),
            Ok(Some((JWT, TokenSource::Header)))
        );
    }

    #[test]
    fn cookie_rules() {
        let table: &[(&str, &[&str], Option<&str>)] = &[
            ("single", &["__session=a.b.c"], Some("a.b.c")),
            (
                "among_others",
                &["theme=dark; __session=a.b.c; x=1"],
                Some("a.b.c"),
            ),
            ("no_spaces", &["x=1;__session=a.b.c"], Some("a.b.c")),
            (
                "tabs_and_spaces",
                &["x=1;\t __session = a.b.c \t"],
                Some("a.b.c"),
            ),
            (
                "first_occurrence_wins",
                &["__session=first; __session=second"],
                Some("first"),
            ),
            (
                "first_wins_across_headers",
                &["theme=dark", "__session=first", "__session=second"],
                Some("first"),
            ),
            ("empty_value_is_absent", &["__session=; other=1"], None),
            (
                "empty_first_hides_later",
                &["__session=", "__session=second"],
                None,
            ),
            ("quoted_value", &["__session=\"a.b.c\""], Some("a.b.c")),
            ("name_is_case_sensitive", &["__Session=a.b.c"], None),
            ("prefix_is_not_the_name", &["__session_abc=a.b.c"], None),
            ("suffix_is_not_the_name", &["x__session=a.b.c"], None),
            ("no_equals_sign", &["__session"], None),
            ("value_with_equals", &["__session=a=b"], Some("a=b")),
            ("no_cookie", &[], None),
        ];
        for (name, cookies, want) in table {
            let pairs: Vec<(&str, &str)> = cookies.iter().map(|c| ("cookie", *c)).collect();
            let map = headers(&pairs);
            assert_eq!(cookie_value(&map, "__session"), *want, "case {name}");
            let got = extract_token(&map, "__session");
            assert_eq!(
                got,
                Ok(want.map(|t| (t, TokenSource::Cookie))),
                "case {name}"
            );
        }
    }

    #[test]
    fn cookie_value_reads_other_clerk_cookies() {
        let map = headers(&[("cookie", "__session=a.b.c; __client_uat=1700000000")]);
        assert_eq!(cookie_value(&map, "__client_uat"), Some("1700000000"));
        assert_eq!(extract_token(&map, "__session_suffix"), Ok(None));
    }

    #[test]
    fn non_utf8_first_cookie_counts_as_absent() {
        let mut map = HeaderMap::new();
        map.append(
            COOKIE,
            HeaderValue::from_bytes(b"__session=\xff\xfe").unwrap(),
        );
        map.append(COOKIE, HeaderValue::from_static("__session=later"));
        assert_eq!(cookie_value(&map, "__session"), None);
    }
}
