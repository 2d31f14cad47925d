//! TOML syntax errors, all at once.
//!
//! `toml`'s deserializer stops at the first error. Its parser can recover and go on, so
//! when a file does not parse, [`all_syntax_errors`] reports every error the parser finds,
//! each with its line and column, and an operator fixes them in one pass. Errors that only
//! the deserializer sees (an unknown key, a wrong type) still come one at a time from serde.

/// Every TOML syntax error in `text`, rendered with line, column and the offending line;
/// `None` when the text is valid TOML.
pub fn all_syntax_errors(text: &str) -> Option<String> {
    let (_, mut errors) = toml::de::DeTable::parse_recoverable(text);
    errors.sort_by_key(|e| e.span().map_or(0, |s| s.start));
    if errors.is_empty() {
        return None;
    }
    let count = errors.len();
    let rendered: Vec<String> = errors
        .into_iter()
        .map(|mut e| {
            e.set_input(Some(text));
            e.to_string().trim_end().replace('\n', "\n    ")
        })
        .collect();
    Some(if count == 1 {
        rendered.join("")
    } else {
        format!("{count} syntax errors:\n{}", rendered.join("\n"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_syntax_error_is_reported_with_its_line() {
        let text =
            "[server]\nlisten = \"0.0.0.0:8080\nshutdown_grace = 10s\n[clerk\nissuer = \"x\"\n";
        let message = all_syntax_errors(text).expect("invalid");
        assert!(
            message.starts_with("3 syntax errors") || message.contains("syntax errors"),
            "{message}"
        );
        for line in ["line 2", "line 3", "line 4"] {
            assert!(message.contains(line), "{line} missing from: {message}");
        }
    }

    #[test]
    fn valid_toml_has_no_syntax_errors() {
        assert_eq!(
            all_syntax_errors("[server]\nlisten = \"0.0.0.0:8080\"\n"),
            None
        );
    }
}
