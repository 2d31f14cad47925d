//! Compiling `upgrades` (of a route or of `[defaults]`): the `Upgrade` protocols that may be
//! tunnelled (RFC 9110 §7.8). Protocol names are tokens compared case-insensitively and kept
//! lowercase; `h2c` and `h2` are refused outright, since a tunnelled HTTP/2 connection would
//! carry requests for any path that doorman never sees.

use super::Problems;

/// The protocols tunnelled when a route says nothing: WebSocket only.
pub(crate) const DEFAULT_UPGRADES: &[&str] = &["websocket"];

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Reads an `upgrades` list at `at` (e.g. `route "chat" (routes[2]).upgrades`): lowercase
/// protocol names, without duplicates. Absent: [`DEFAULT_UPGRADES`]; `[]`: none.
pub(super) fn compile_upgrades(p: &mut Problems, at: &str, raw: Option<&[String]>) -> Vec<String> {
    let Some(raw) = raw else {
        return DEFAULT_UPGRADES.iter().map(|s| s.to_string()).collect();
    };
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, item) in raw.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let name = item.to_ascii_lowercase();
        if name == "h2c" || name == "h2" {
            // RFC 7540 §3.2 defined `Upgrade: h2c`; RFC 9113 §3.1 removed it, and `h2` was
            // never an Upgrade token (ALPN only).
            p.err(
                here,
                format!("{item:?} can never be allowed: an upgrade to HTTP/2 turns the connection into one that carries requests for any path, which doorman would tunnel without seeing or authorizing them; remove it (HTTP/2 clients reach doorman directly: TLS with ALPN, or prior knowledge)"),
            );
            continue;
        }
        if name.contains('/') {
            p.err(
                here,
                format!("{item:?} has a version; list the protocol name only (\"websocket\"): every version of it is allowed"),
            );
            continue;
        }
        if name.is_empty() || !name.bytes().all(is_tchar) {
            p.err(
                here,
                format!("{item:?} is not a protocol name; write an Upgrade token like \"websocket\" (letters, digits and !#$%&'*+-.^_`|~, no spaces)"),
            );
            continue;
        }
        if out.contains(&name) {
            p.warn(
                here,
                format!("{item:?} is listed twice (names are compared case-insensitively)"),
            );
            continue;
        }
        out.push(name);
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};

    const MINIMAL: &str = r#"
[clerk]
issuer = "https://clerk.example.com"
jwks_url = "https://clerk.example.com/.well-known/jwks.json"
[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"
"#;

    fn parse(extra: &str) -> Result<Config, ConfigError> {
        Config::parse(&format!("{MINIMAL}\n{extra}"), "test.toml", &|_| None)
    }

    fn problems(extra: &str) -> Vec<String> {
        match parse(extra) {
            Ok(_) => panic!("config unexpectedly valid:\n{extra}"),
            Err(e) => e.problems(),
        }
    }

    #[test]
    fn routes_and_defaults_tunnel_websocket_only_unless_told_otherwise() {
        let config = parse("[[routes]]\nname = \"a\"\npath = \"/a/**\"\n").unwrap();
        assert_eq!(config.routes[0].upgrades, ["websocket"]);
        assert_eq!(config.defaults.upgrades, ["websocket"]);
    }

    #[test]
    fn upgrade_lists_are_lowercased_and_may_be_empty() {
        let config = parse(
            "[defaults]\nupgrades = []\n[[routes]]\nname = \"a\"\npath = \"/a/**\"\nupgrades = [\"WebSocket\", \"x-custom\"]\n",
        )
        .unwrap();
        assert_eq!(config.routes[0].upgrades, ["websocket", "x-custom"]);
        assert!(config.defaults.upgrades.is_empty());
    }

    #[test]
    fn h2c_is_refused_in_any_case_with_the_reason_and_the_route() {
        for spelled in ["h2c", "H2C", "h2"] {
            let all = problems(&format!(
                "[[routes]]\nname = \"chat\"\npath = \"/chat/**\"\nupgrades = [\"websocket\", \"{spelled}\"]\n"
            ));
            assert!(
                all.iter()
                    .any(|p| p.starts_with("route \"chat\" (routes[0]).upgrades[1]")
                        && p.contains("never be allowed")
                        && p.contains("any path")),
                "{spelled}: {all:#?}"
            );
        }
        let all = problems("[defaults]\nupgrades = [\"h2c\"]\n");
        assert!(
            all.iter()
                .any(|p| p.starts_with("defaults.upgrades[0]") && p.contains("never be allowed")),
            "{all:#?}"
        );
    }

    #[test]
    fn malformed_protocol_names_are_refused_with_the_fix() {
        for (bad, fragment) in [
            ("", "not a protocol name"),
            ("web socket", "not a protocol name"),
            ("websocket,h2c", "not a protocol name"),
            ("websocket/13", "protocol name only"),
        ] {
            let all = problems(&format!(
                "[[routes]]\nname = \"chat\"\npath = \"/chat/**\"\nupgrades = [{bad:?}]\n"
            ));
            assert!(
                all.iter()
                    .any(|p| p.starts_with("route \"chat\" (routes[0]).upgrades[0]")
                        && p.contains(fragment)),
                "{bad:?}: {all:#?}"
            );
        }
    }

    #[test]
    fn a_misspelled_upgrades_key_is_an_error_naming_the_right_one() {
        let err =
            parse("[[routes]]\nname = \"chat\"\npath = \"/chat/**\"\nupgrade = [\"websocket\"]\n")
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("upgrade") && err.contains("`upgrades`") && err.contains("line"),
            "{err}"
        );
    }
}
