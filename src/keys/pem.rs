//! Just enough PEM (RFC 7468) for keys: read the one `-----BEGIN <label>-----` block of a
//! string, write one block with 64-character lines.
//!
//! It only frames and base64-decodes; what the DER means is the caller's business. Errors
//! say what the input should look like and never echo the key material.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The label and DER bytes of the single PEM block in `text`.
///
/// Literal `\n` sequences (a PEM pasted into an environment variable) count as line breaks.
/// Text around the block is ignored; a second block is an error (which key was meant?).
pub(crate) fn pem_decode(text: &str) -> Result<(String, Vec<u8>), String> {
    let text = text.replace("\\n", "\n");
    let Some(begin) = text.find("-----BEGIN ") else {
        return Err(
            "the key is not PEM: expected a \"-----BEGIN …-----\" line, \
                    e.g. \"-----BEGIN PUBLIC KEY-----\""
                .to_owned(),
        );
    };
    let after_begin = &text[begin + "-----BEGIN ".len()..];
    let label_end = after_begin
        .find("-----")
        .filter(|&end| !after_begin[..end].contains('\n'))
        .ok_or_else(|| "the PEM \"-----BEGIN\" line is not closed by \"-----\"".to_owned())?;
    let label = after_begin[..label_end].trim().to_owned();
    let body_and_rest = &after_begin[label_end + "-----".len()..];
    let end_marker = format!("-----END {label}-----");
    let Some(body_end) = body_and_rest.find(&end_marker) else {
        return Err(format!(
            "the PEM block \"{label}\" has no \"{end_marker}\" line"
        ));
    };
    if body_and_rest[body_end + end_marker.len()..].contains("-----BEGIN ") {
        return Err("the text holds more than one PEM block; give exactly one key".to_owned());
    }
    let body: String = body_and_rest[..body_end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = STANDARD.decode(body).map_err(|_| {
        format!(
            "the body of the PEM block \"{label}\" is not base64 (encrypted PEM keys are \
             not supported: decrypt the key first)"
        )
    })?;
    if der.is_empty() {
        return Err(format!("the PEM block \"{label}\" is empty"));
    }
    Ok((label, der))
}

/// `der` as a PEM block with 64-character lines and a trailing newline.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        // base64 output is ASCII, so every 64-byte chunk is valid UTF-8.
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_tolerates_surroundings() {
        let der: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        let pem = pem_encode("PUBLIC KEY", &der);
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(
            pem_decode(&pem).unwrap(),
            ("PUBLIC KEY".to_owned(), der.clone())
        );
        let wrapped = format!("comment line\r\n{}\r\ntrailer", pem.replace('\n', "\r\n"));
        assert_eq!(pem_decode(&wrapped).unwrap().1, der);
        let env_style = pem.trim_end().replace('\n', "\\n");
        assert_eq!(pem_decode(&env_style).unwrap().1, der);
        let one_line = pem.replace('\n', "");
        assert_eq!(pem_decode(&one_line).unwrap().1, der);
    }

    #[test]
    fn explains_bad_input() {
        let table = [
            ("no_block", "MIIBIjANBgkq", "not PEM"),
            ("unterminated_begin", "-----BEGIN PUBLIC KEY\nAAAA", "not closed"),
            ("no_end", "-----BEGIN PUBLIC KEY-----\nAAAA\n", "no \"-----END PUBLIC KEY-----\""),
            ("mismatched_end", "-----BEGIN A-----\nAAAA\n-----END B-----", "no \"-----END A-----\""),
            ("bad_base64", "-----BEGIN A-----\n!!!!\n-----END A-----", "not base64"),
            ("empty", "-----BEGIN A-----\n-----END A-----", "is empty"),
            (
                "two_blocks",
                "-----BEGIN A-----\nAAAA\n-----END A-----\n-----BEGIN A-----\nAAAA\n-----END A-----",
                "more than one",
            ),
        ];
        for (name, text, needle) in table {
            let err = pem_decode(text).unwrap_err();
            assert!(err.contains(needle), "case {name}: {err}");
        }
    }
}
