//! `doorman::path::normalize` on arbitrary UTF-8. Never panics; for every accepted path the
//! documented invariant holds: percent-decoding `raw()` (with the independent
//! `percent-encoding` crate) gives exactly `decoded()`, which is `/` + the segments joined by
//! `/` + a final `/` when `has_trailing_slash()`. Segments are never empty, never contain
//! `/`, and a canonical re-encoding of the decoded segments normalizes to the same path.
#![no_main]

use doorman::path::normalize;
use libfuzzer_sys::fuzz_target;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986 unreserved and the sub-delims `normalize` accepts literally.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

fuzz_target!(|raw: &str| {
    let Ok(path) = normalize(raw) else {
        return;
    };
    assert_eq!(path.raw(), raw);
    assert_eq!(path.to_string(), raw);

    // The documented invariant, with an independent decoder.
    let decoded: Vec<u8> = percent_decode_str(raw).collect();
    assert_eq!(decoded, path.decoded().as_bytes(), "raw {raw:?}");

    // decoded = "/" + segments.join("/") + ("/" if trailing).
    let segments: Vec<&str> = path.segments().collect();
    assert_eq!(segments.len(), path.segment_count());
    assert_eq!(path.segments().len(), segments.len());
    let back: Vec<&str> = path.segments().rev().collect();
    assert!(back.iter().rev().eq(segments.iter()));
    let mut rebuilt = format!("/{}", segments.join("/"));
    if path.has_trailing_slash() {
        rebuilt.push('/');
    }
    assert_eq!(rebuilt, path.decoded());
    assert_eq!(path.has_trailing_slash(), raw.len() > 1 && raw.ends_with('/'));
    for (index, segment) in segments.iter().enumerate() {
        assert_eq!(path.segment(index), Some(*segment));
        assert!(!segment.is_empty() && !segment.contains('/'));
        // Nothing an upstream could read differently survives.
        assert!(*segment != "." && *segment != "..");
        assert!(!segment.ends_with('.') && !segment.ends_with(' '));
        assert!(!segment.contains(['%', '\\', ';', '\0']));
        assert!(!segment.chars().any(|c| c.is_ascii_control()));
    }
    assert_eq!(path.segment(segments.len()), None);

    // Accepted raw paths use only pchar, `/` and `%` escapes.
    assert!(raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:@/%".contains(&b)));

    // A canonical re-encoding of the same segments is accepted and means the same.
    let mut encoded = String::from("/");
    for (index, segment) in segments.iter().enumerate() {
        if index > 0 {
            encoded.push('/');
        }
        encoded.extend(utf8_percent_encode(segment, SEGMENT));
    }
    if path.has_trailing_slash() {
        encoded.push('/');
    }
    let again = normalize(&encoded).unwrap_or_else(|e| panic!("{encoded:?} refused: {e:?}"));
    assert_eq!(again.decoded(), path.decoded());
    assert!(again.segments().eq(path.segments()));
});
