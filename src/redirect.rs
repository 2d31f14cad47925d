//! Every `Location` doorman emits, and the rule that keeps them on this site.
//!
//! The return path (`redirect_url`) is a same-site relative path, made absolute with the
//! request's configured or proxy-given origin only for a target on another origin: it starts with
//! exactly one `/`, never `//` or `/\`, and contains no control characters or whitespace
//! even after percent-decoding (browsers strip tabs and newlines, turning `/%09/evil` into
//! `//evil`). Values that fail the rule are dropped, never repaired. Pure functions only.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::config::RedirectTarget;

/// Characters escaped in a query parameter value (everything but unreserved).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// `target` with `param=<return_to>` appended (when a return path is given and safe), for a
/// request whose public origin is `origin` (when known): a target on
/// another origin (Clerk's Account Portal, `https://accounts.<domain>/sign-in`) gets the
/// absolute return URL `origin + path`, as Clerk's `redirectToSignIn` sends, so the user comes
/// back here; a same-site target keeps the bare path. The path is checked either way.
pub fn location_from(
    target: &RedirectTarget,
    param: &str,
    return_to: Option<&str>,
    origin: Option<&str>,
) -> String {
    let Some(back) = return_to.filter(|r| is_safe_return_path(r)) else {
        return target.url.clone();
    };
    let sep = if target.url.contains('?') { '&' } else { '?' };
    let back = match origin.filter(|_| target.local_path.is_none()) {
        Some(origin) => format!("{origin}{back}"),
        None => back.to_string(),
    };
    format!(
        "{}{sep}{param}={}",
        target.url,
        utf8_percent_encode(&back, QUERY_VALUE)
    )
}

/// True when `value` decodes to a path on this site that every browser reads the same way.
pub fn is_safe_return_path(value: &str) -> bool {
    let Ok(decoded) = percent_decode_str(value).decode_utf8() else {
        return false;
    };
    // Check both the raw and the decoded form: a browser may see either.
    [value, decoded.as_ref()].iter().all(|s| {
        let b = s.as_bytes();
        b.first() == Some(&b'/')
            && !matches!(b.get(1), Some(b'/' | b'\\'))
            && !s
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
            // Dot segments resolve to another path (`/..//evil` becomes `//evil`).
            && !s
                .split(['?', '#'])
                .next()
                .unwrap_or("")
                .split('/')
                .any(|seg| seg == "." || seg == "..")
    })
}

/// The value of query parameter `name` in `query`, percent-decoded (first occurrence).
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| {
            percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> RedirectTarget {
        RedirectTarget {
            url: url.into(),
            local_path: Some(url.into()),
        }
    }

    #[test]
    fn open_redirect_spellings_are_not_safe_return_paths() {
        for evil in [
            "//evil.example",
            "/\\evil.example",
            "/%09/evil.example",
            "/%2F/evil.example",
            "/%5Cevil.example",
            "https://evil.example",
            "evil.example",
            "/\t/evil.example",
            "/ /evil",
            "/a\r\nLocation: x",
            "/%0d%0aSet-Cookie:x",
            "",
            "%2F%2Fevil.example",
            "/%E0%A4%A", // invalid percent/utf-8
            "/..//evil.example",
            "/a/../..//evil.example",
            "/%2e%2e//evil.example",
        ] {
            assert!(!is_safe_return_path(evil), "{evil:?} accepted");
        }
    }

    #[test]
    fn ordinary_paths_are_safe() {
        for ok in ["/", "/dashboard", "/projects/42?tab=files", "/caf%C3%A9"] {
            assert!(is_safe_return_path(ok), "{ok:?} refused");
        }
    }

    #[test]
    fn location_encodes_the_return_path_as_one_parameter() {
        assert_eq!(
            location_from(
                &target("/sign-in"),
                "redirect_url",
                Some("/projects/42?tab=a&b=c"),
                None,
            ),
            "/sign-in?redirect_url=/projects/42%3Ftab%3Da%26b%3Dc"
        );
        assert_eq!(
            location_from(&target("/sign-in?x=1"), "redirect_url", Some("/"), None),
            "/sign-in?x=1&redirect_url=/"
        );
        assert_eq!(
            location_from(&target("/sign-in"), "redirect_url", Some("//evil"), None),
            "/sign-in"
        );
    }

    #[test]
    fn a_target_on_another_origin_gets_the_absolute_return_url() {
        let portal = RedirectTarget {
            url: "https://accounts.example.com/sign-in".into(),
            local_path: None,
        };
        let origin = Some("https://app.example.com");
        assert_eq!(
            location_from(&portal, "redirect_url", Some("/p?a=1"), origin),
            "https://accounts.example.com/sign-in?redirect_url=https%3A//app.example.com/p%3Fa%3D1"
        );
        // Without a known origin: the bare path, as before (`doorman check` warns).
        assert_eq!(
            location_from(&portal, "redirect_url", Some("/p"), None),
            "https://accounts.example.com/sign-in?redirect_url=/p"
        );
        // Same-site targets keep the path; unsafe paths are still dropped.
        assert_eq!(
            location_from(&target("/sign-in"), "redirect_url", Some("/p"), origin),
            "/sign-in?redirect_url=/p"
        );
        assert_eq!(
            location_from(&portal, "redirect_url", Some("//evil"), origin),
            "https://accounts.example.com/sign-in"
        );
    }

    #[test]
    fn query_param_takes_the_first_occurrence_decoded() {
        assert_eq!(
            query_param(
                Some("a=1&redirect_url=%2Fx%3Fy&redirect_url=/z"),
                "redirect_url"
            )
            .as_deref(),
            Some("/x?y")
        );
        assert_eq!(query_param(Some("a=1"), "redirect_url"), None);
        assert_eq!(query_param(None, "redirect_url"), None);
    }
}
