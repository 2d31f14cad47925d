//! `${VAR}` interpolation of every string value in the parsed TOML tree.
//!
//! Runs on the `toml::Value` tree after the file parsed and before it is mapped onto the raw
//! structs, so values can hold any character (quotes, newlines of a PEM key) without breaking
//! TOML. A missing variable is a problem naming the key and the variable; it is never replaced
//! by an empty string, which could silently turn a secret or an issuer into "".

use crate::config::error::Problem;

/// Replaces `${NAME}` in every string of `value`, recording problems with their key path.
pub fn interpolate(
    value: &mut toml::Value,
    at: &str,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<Problem>,
) {
    match value {
        toml::Value::String(s) if s.contains("${") => match expand(s, env) {
            Ok(expanded) => *s = expanded,
            Err(message) => problems.push(Problem::new(at, message)),
        },
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate(item, &format!("{at}[{i}]"), env, problems);
            }
        }
        toml::Value::Table(table) => {
            for (key, item) in table.iter_mut() {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                interpolate(item, &path, env, problems);
            }
        }
        _ => {}
    }
}

/// Expands one string. `$` not followed by `{` is kept as is.
pub fn expand(input: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!(
                "unterminated \"${{\" in {input:?}; write ${{NAME}} to read the environment variable NAME"
            ));
        };
        let name = &after[..end];
        if !is_var_name(name) {
            return Err(format!(
                "\"${{{name}}}\" is not a valid environment variable reference; names use letters, digits and _ and do not start with a digit"
            ));
        }
        match env(name) {
            Some(value) => out.push_str(&value),
            None => {
                return Err(format!(
                    "environment variable {name} is not set; export it or remove ${{{name}}} from the value"
                ))
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("clerk.example.com".into()),
            "PEM" => Some("-----BEGIN\n\"quoted\"\n-----END".into()),
            _ => None,
        }
    }

    #[test]
    fn expands_known_variables_anywhere_in_a_string() {
        assert_eq!(
            expand("https://${HOST}/x", &env).as_deref(),
            Ok("https://clerk.example.com/x")
        );
        assert_eq!(
            expand("${PEM}", &env).as_deref(),
            Ok("-----BEGIN\n\"quoted\"\n-----END")
        );
        assert_eq!(expand("cost $5", &env).as_deref(), Ok("cost $5"));
    }

    #[test]
    fn missing_variable_is_an_error_naming_it() {
        let err = expand("${NOPE}", &env).unwrap_err();
        assert!(err.contains("NOPE is not set"), "{err}");
    }

    #[test]
    fn malformed_references_are_errors() {
        assert!(expand("${HOST", &env).unwrap_err().contains("unterminated"));
        assert!(expand("${1X}", &env).unwrap_err().contains("not a valid"));
        assert!(expand("${}", &env).unwrap_err().contains("not a valid"));
    }

    #[test]
    fn interpolation_reports_key_paths() {
        let mut value: toml::Value =
            toml::from_str("[clerk]\nissuer = \"${NOPE}\"\n[[routes]]\nname = \"${HOST}\"\n")
                .unwrap();
        let mut problems = Vec::new();
        interpolate(&mut value, "", &env, &mut problems);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].at, "clerk.issuer");
        assert_eq!(
            value["routes"][0]["name"].as_str(),
            Some("clerk.example.com")
        );
    }
}
