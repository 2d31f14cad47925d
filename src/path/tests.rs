//! Specification of `normalize`: every refusal class with several spellings, what is
//! accepted, and the decode invariant under random input.

use super::{normalize, PathError};
use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;

fn refusal(path: &str) -> Option<PathError> {
    normalize(path).err()
}

#[test]
fn ambiguous_paths_are_refused_with_their_reason() {
    use PathError::*;
    let cases: &[(&str, PathError)] = &[
        // not absolute
        ("", NotAbsolute),
        ("admin", NotAbsolute),
        ("*", NotAbsolute),
        ("%2Fadmin", NotAbsolute),
        // dot segments, literal and encoded
        ("/public/../admin", DotSegment),
        ("/public/./admin", DotSegment),
        ("/public/%2e%2e/admin", DotSegment),
        ("/public/%2E%2E/admin", DotSegment),
        ("/%2E%2E", DotSegment),
        ("/.%2E", DotSegment),
        ("/%2e.", DotSegment),
        ("/%2e", DotSegment),
        ("/..", DotSegment),
        ("/.", DotSegment),
        ("/a/..", DotSegment),
        ("/a/../", DotSegment),
        // trailing dots (stripped by some servers)
        ("/admin.", TrailingDot),
        ("/admin..", TrailingDot),
        ("/admin%2e", TrailingDot),
        ("/admin./x", TrailingDot),
        ("/...", TrailingDot),
        // trailing spaces (stripped like trailing dots)
        ("/admin%20", TrailingSpace),
        ("/admin%20/x", TrailingSpace),
        // encoded slash
        ("/a%2Fb", EncodedSlash),
        ("/a%2fb", EncodedSlash),
        ("/%2F", EncodedSlash),
        ("/%2f%2fevil.example", EncodedSlash),
        // backslash, literal and encoded
        ("/a%5Cb", Backslash),
        ("/a%5cb", Backslash),
        ("/a\\b", Backslash),
        ("/\\evil.example", Backslash),
        // NUL and control characters, literal and encoded
        ("/a%00", Nul),
        ("/a\0b", Nul),
        ("/%09/evil", ControlChar),
        ("/a%0A", ControlChar),
        ("/a%0d%0aSet-Cookie:x", ControlChar),
        ("/a%7F", ControlChar),
        ("/a\tb", ControlChar),
        ("/a\nb", ControlChar),
        ("/a\u{7f}", ControlChar),
        // double encoding
        ("/a%252e%252e", DoubleEncoding),
        ("/a%25", DoubleEncoding),
        ("/%252F", DoubleEncoding),
        ("/a%2500", DoubleEncoding),
        // path parameters
        ("/admin;x=1", Semicolon),
        ("/admin;", Semicolon),
        ("/admin%3B", Semicolon),
        ("/admin%3bjsessionid=1", Semicolon),
        ("/..;/admin", Semicolon),
        // empty segments
        ("//admin", EmptySegment),
        ("/a//b", EmptySegment),
        ("//", EmptySegment),
        ("/a//", EmptySegment),
        ("///", EmptySegment),
        // invalid percent-encoding
        ("/%zz", BadPercentEncoding),
        ("/a%", BadPercentEncoding),
        ("/a%4", BadPercentEncoding),
        ("/a%4/b", BadPercentEncoding),
        ("/%%41", BadPercentEncoding),
        ("/%G0", BadPercentEncoding),
        ("/%+1", BadPercentEncoding),
        // invalid UTF-8 after decoding
        ("/%C3%28", InvalidUtf8),
        ("/%FF", InvalidUtf8),
        ("/%C3", InvalidUtf8),
        ("/%ED%A0%80", InvalidUtf8),
        // literal characters outside RFC 3986 pchar
        ("/a b", InvalidChar),
        ("/a?b", InvalidChar),
        ("/a#b", InvalidChar),
        ("/a\"b", InvalidChar),
        ("/<script>", InvalidChar),
        ("/a{b}", InvalidChar),
        ("/a|b", InvalidChar),
        ("/caf\u{e9}", InvalidChar),
        // Unicode look-alikes that NFKC turns into `/`, `\`, `.`, `%`, `;` or letters
        ("/public/..%EF%BC%8Fadmin", UnicodeLookalike),
        ("/public/%EF%BC%8E%EF%BC%8E/admin", UnicodeLookalike),
        ("/public/%E2%80%A5/admin", UnicodeLookalike),
        ("/public/%E2%80%A6/admin", UnicodeLookalike),
        ("/public/%EF%B9%92%EF%B9%92/admin", UnicodeLookalike),
        ("/public/..%EF%BC%BCadmin", UnicodeLookalike),
        ("/public/..%EF%B9%A8admin", UnicodeLookalike),
        ("/public/%EF%BC%85%EF%BC%92%EF%BD%86", UnicodeLookalike),
        ("/public/a%EF%BC%9Bb", UnicodeLookalike),
        (
            "/%EF%BD%81%EF%BD%84%EF%BD%8D%EF%BD%89%EF%BD%8E/users",
            UnicodeLookalike,
        ),
        ("/admin%C2%A0", UnicodeLookalike),
        ("/%CD%BE", UnicodeLookalike),
        ("/%E2%84%AA", UnicodeLookalike),
    ];
    for (path, expected) in cases {
        assert_eq!(refusal(path), Some(*expected), "path {path:?}");
    }
}

#[test]
fn unambiguous_paths_are_accepted_with_decoded_segments() {
    let cases: &[(&str, &[&str], &str)] = &[
        ("/", &[], "/"),
        ("/admin", &["admin"], "/admin"),
        ("/admin/", &["admin"], "/admin/"),
        ("/a/b/c", &["a", "b", "c"], "/a/b/c"),
        ("/caf%C3%A9", &["caf\u{e9}"], "/caf\u{e9}"),
        ("/caf%c3%a9", &["caf\u{e9}"], "/caf\u{e9}"),
        ("/a:b@c", &["a:b@c"], "/a:b@c"),
        ("/a%20b", &["a b"], "/a b"),
        ("/%41dmin", &["Admin"], "/Admin"),
        ("/a%2eb", &["a.b"], "/a.b"),
        (
            "/.well-known/jwks.json",
            &[".well-known", "jwks.json"],
            "/.well-known/jwks.json",
        ),
        ("/a%23b", &["a#b"], "/a#b"),
        ("/a%3Fb", &["a?b"], "/a?b"),
        (
            "/x/!$&'()*+,=~_-",
            &["x", "!$&'()*+,=~_-"],
            "/x/!$&'()*+,=~_-",
        ),
        ("/*", &["*"], "/*"),
        ("/%E2%9C%93/", &["\u{2713}"], "/\u{2713}/"),
        // Ordinary non-ASCII text: composed and decomposed accents, CJK, Cyrillic, kana.
        ("/cafe%CC%81", &["cafe\u{301}"], "/cafe\u{301}"),
        (
            "/%E6%97%A5%E6%9C%AC",
            &["\u{65e5}\u{672c}"],
            "/\u{65e5}\u{672c}",
        ),
        (
            "/%D0%BC%D0%B8%D1%80",
            &["\u{43c}\u{438}\u{440}"],
            "/\u{43c}\u{438}\u{440}",
        ),
        (
            "/%EF%BD%B6%EF%BE%80",
            &["\u{ff76}\u{ff80}"],
            "/\u{ff76}\u{ff80}",
        ),
    ];
    for (path, segments, decoded) in cases {
        let normalized = match normalize(path) {
            Ok(normalized) => normalized,
            Err(error) => panic!("{path:?} refused: {error}"),
        };
        assert_eq!(normalized.raw(), *path, "raw is forwarded unchanged");
        assert_eq!(normalized.decoded(), *decoded, "decoded {path:?}");
        let got: Vec<&str> = normalized.segments().collect();
        assert_eq!(got, *segments, "segments of {path:?}");
        assert_eq!(normalized.segment_count(), segments.len());
        for (index, segment) in segments.iter().enumerate() {
            assert_eq!(normalized.segment(index), Some(*segment));
        }
        assert_eq!(normalized.segment(segments.len()), None);
    }
}

#[test]
fn trailing_slash_is_kept_for_forwarding_and_ignored_for_matching() {
    let with = normalize("/admin/").unwrap();
    let without = normalize("/admin").unwrap();
    assert!(with.has_trailing_slash());
    assert!(!without.has_trailing_slash());
    assert_eq!(with.raw(), "/admin/");
    assert!(with.segments().eq(without.segments()));
    assert!(
        !normalize("/").unwrap().has_trailing_slash(),
        "the root has no trailing slash"
    );
}

#[test]
fn segments_iterate_from_both_ends() {
    let path = normalize("/a/b/c/").unwrap();
    let reversed: Vec<&str> = path.segments().rev().collect();
    assert_eq!(reversed, ["c", "b", "a"]);
    assert_eq!(path.segments().len(), 3);
}

#[test]
fn every_refusal_has_a_distinct_stable_reason_id_and_a_sentence() {
    use PathError::*;
    let all = [
        NotAbsolute,
        InvalidChar,
        BadPercentEncoding,
        InvalidUtf8,
        EncodedSlash,
        Backslash,
        Nul,
        ControlChar,
        DoubleEncoding,
        DotSegment,
        TrailingDot,
        TrailingSpace,
        Semicolon,
        EmptySegment,
        UnicodeLookalike,
    ];
    let ids: std::collections::HashSet<&str> = all.iter().map(|e| e.reason().as_str()).collect();
    assert_eq!(ids.len(), all.len());
    assert_eq!(EncodedSlash.reason().as_str(), "path_encoded_slash");
    for error in all {
        assert!(error.reason().as_str().starts_with("path_"));
        assert!(error.to_string().contains("path"), "{error}");
    }
}

/// Strings built from the characters that matter to normalization, so that random cases
/// often hit escapes, dots, slashes and their encodings.
fn pathish() -> impl Strategy<Value = String> {
    let atoms = prop_oneof![
        Just("/".to_string()),
        Just(".".to_string()),
        Just("%".to_string()),
        Just(";".to_string()),
        Just("\\".to_string()),
        Just(" ".to_string()),
        Just("\u{e9}".to_string()),
        Just("\0".to_string()),
        "[0-9a-fA-FxX]".prop_map(String::from),
        "%[0-9a-fA-F]{2}".prop_map(String::from),
        Just("%2e".to_string()),
        Just("%2F".to_string()),
        Just("%25".to_string()),
        Just("%C3%A9".to_string()),
        // Look-alikes of `/`, `.`, `\` and `a`, and a combining accent.
        Just("%EF%BC%8F".to_string()),
        Just("%EF%BC%8E".to_string()),
        Just("%E2%80%A5".to_string()),
        Just("%EF%B9%A8".to_string()),
        Just("%EF%BD%81".to_string()),
        Just("%CC%81".to_string()),
    ];
    (any::<bool>(), prop::collection::vec(atoms, 0..24)).prop_map(|(slash, atoms)| {
        let body = atoms.concat();
        if slash {
            format!("/{body}")
        } else {
            body
        }
    })
}

fn check_invariant(raw: &str) -> Result<(), TestCaseError> {
    let Ok(path) = normalize(raw) else {
        return Ok(());
    };
    prop_assert_eq!(path.raw(), raw);
    let redecoded = percent_encoding::percent_decode_str(raw).decode_utf8();
    prop_assert!(redecoded.is_ok(), "accepted input decodes as UTF-8");
    let redecoded = redecoded.unwrap_or_default();
    let segments: Vec<&str> = path.segments().collect();
    let mut expected = format!("/{}", segments.join("/"));
    if path.has_trailing_slash() {
        expected.push('/');
    }
    prop_assert_eq!(redecoded.as_ref(), expected.as_str());
    prop_assert_eq!(path.decoded(), expected.as_str());
    for segment in segments {
        prop_assert!(!segment.is_empty());
        prop_assert!(segment != "." && segment != "..");
        prop_assert!(!segment.ends_with('.') && !segment.ends_with(' '));
        prop_assert!(!segment.contains(['/', '\\', '%', ';']));
        prop_assert!(!segment.chars().any(|c| c.is_ascii_control()));
        // What an upstream applying NFKC reads is what was matched, as far as ASCII goes:
        // its ASCII characters are some of the segment's, in order (composing `e` and a
        // combining accent drops one), never a new separator, dot, escape or letter.
        let nfkc: String = segment.nfkc().collect();
        let mut ours = segment.chars().filter(char::is_ascii);
        let gained = nfkc
            .chars()
            .filter(char::is_ascii)
            .any(|c| !ours.any(|o| o == c));
        prop_assert!(!gained, "{:?} normalizes to {:?}", segment, nfkc);
        prop_assert!(
            nfkc != "." && nfkc != "..",
            "{:?} normalizes to a dot segment",
            segment
        );
        prop_assert!(
            !nfkc.contains(['/', '\\', '%', ';']),
            "{:?} normalizes to {:?}",
            segment,
            nfkc
        );
    }
    Ok(())
}

/// Percent-encodes every ASCII letter of an accepted path that is not part of an escape.
fn encode_letters_outside_escapes(raw: &str) -> String {
    let mut out = String::new();
    let mut escape_left = 0;
    for c in raw.chars() {
        if c == '%' {
            escape_left = 2;
            out.push(c);
        } else if escape_left > 0 {
            escape_left -= 1;
            out.push(c);
        } else if c.is_ascii_alphabetic() {
            out.push_str(&format!("%{:02X}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn normalize_never_panics_and_keeps_the_invariant_on_any_string(raw in any::<String>()) {
        check_invariant(&raw)?;
    }

    #[test]
    fn normalize_keeps_the_invariant_on_path_like_strings(raw in pathish()) {
        check_invariant(&raw)?;
    }

    #[test]
    fn encoding_a_valid_path_byte_by_byte_decodes_to_the_same_segments(raw in pathish()) {
        // Percent-encoding any unreserved letters must not change the match.
        if let Ok(path) = normalize(&raw) {
            let encoded = encode_letters_outside_escapes(&raw);
            let again = normalize(&encoded);
            prop_assert!(again.is_ok(), "{} refused after encoding letters", encoded);
            let again = again.unwrap_or_else(|_| path.clone());
            prop_assert!(again.segments().eq(path.segments()));
        }
    }
}

#[test]
fn deep_paths_keep_every_segment_past_the_inline_ones() {
    for depth in [11, 12, 13, 40] {
        let segments: Vec<String> = (0..depth).map(|i| format!("s%41{i}")).collect();
        let raw = format!("/{}/", segments.join("/"));
        let path = normalize(&raw).unwrap();
        assert_eq!(path.raw(), raw);
        assert_eq!(path.segment_count(), depth);
        let want: Vec<String> = (0..depth).map(|i| format!("sA{i}")).collect();
        assert!(path.segments().eq(want.iter().map(String::as_str)));
        assert!(path
            .segments()
            .rev()
            .eq(want.iter().rev().map(String::as_str)));
        assert_eq!(path.segment(depth - 1), Some(want[depth - 1].as_str()));
        assert_eq!(path.segment(depth), None);
        assert_eq!(path.decoded(), format!("/{}/", want.join("/")));
        assert!(path.has_trailing_slash());
    }
}
