//! The boundary of a `multipart/*` Content-Type, read by each parser's rule.
//!
//! PHP, Rack and RFC 2046 can read different boundaries out of one hostile header; every
//! distinct reading is returned so each can be scanned. Pure functions over the header
//! value; nothing here looks at a body.

/// The boundaries a `multipart/*` Content-Type value may mean: the parameter as RFC 2046
/// reads it, the first `boundary…=` as PHP reads it, and the last as Rack reads it. When
/// they differ, each is scanned.
pub fn boundaries(content_type: &[u8]) -> Vec<Vec<u8>> {
    let mut found: Vec<Vec<u8>> = Vec::new();
    let lower = content_type.to_ascii_lowercase();
    let mut candidates = Vec::new();
    // RFC 2046 parameters.
    for param in content_type.split(|&b| b == b';').skip(1) {
        let param = param.trim_ascii();
        if let Some(eq) = param.iter().position(|&b| b == b'=') {
            if param[..eq].trim_ascii().eq_ignore_ascii_case(b"boundary") {
                candidates.push(unquote(param[eq + 1..].trim_ascii()));
            }
        }
    }
    // PHP: the first "boundary", then the first `=` after it.
    if let Some(at) = find(&lower, b"boundary") {
        if let Some(eq) = content_type[at..].iter().position(|&b| b == b'=') {
            let rest = &content_type[at + eq + 1..];
            candidates.push(match rest.strip_prefix(b"\"") {
                Some(q) => q.split(|&b| b == b'"').next().unwrap_or_default().to_vec(),
                None => rest
                    .split(|&b| b == b',' || b == b';')
                    .next()
                    .unwrap_or_default()
                    .to_vec(),
            });
        }
    }
    // Rack: the last `boundary=`, then `"?([^";,]+)`.
    if let Some(at) = rfind(&lower, b"boundary=") {
        let rest = &content_type[at + 9..];
        let rest = rest.strip_prefix(b"\"").unwrap_or(rest);
        let end = rest
            .iter()
            .position(|b| b"\";,".contains(b))
            .unwrap_or(rest.len());
        candidates.push(rest[..end].to_vec());
    }
    for c in candidates {
        if !c.is_empty() && !c.iter().any(|&b| b == b'\r' || b == b'\n') && !found.contains(&c) {
            found.push(c);
        }
    }
    found
}

fn unquote(v: &[u8]) -> Vec<u8> {
    match v.strip_prefix(b"\"") {
        Some(q) => {
            let q = q.split(|&b| b == b'"').next().unwrap_or_default();
            q.iter().copied().filter(|&b| b != b'\\').collect()
        }
        None => v.to_vec(),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}
