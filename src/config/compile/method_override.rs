//! Compiling `[server] method_override_params` and the `method_override` mode of
//! `[defaults]` and `[[routes]]` (routes without one take `[defaults]`'s, which is `refuse`).

use super::*;
use crate::config::override_params::{Params, MAX_PARAM_LEN};

const MODES: &[(&str, MethodOverride)] = &[
    ("refuse", MethodOverride::Refuse),
    ("authorize", MethodOverride::Authorize),
];

/// `[server] method_override_params`: `["_method"]` unless given; `[]` disables the check.
pub(super) fn compile_params(raw: &RawServer, p: &mut Problems) -> Params {
    let Some(list) = &raw.method_override_params else {
        return Params::new(["_method"]).unwrap_or_default();
    };
    let mut ok = Vec::new();
    for (i, name) in list.iter().enumerate() {
        let at = format!("server.method_override_params[{i}]");
        if name.is_empty() || name.len() > MAX_PARAM_LEN {
            p.err(
                at,
                format!("{name:?} must be 1 to {MAX_PARAM_LEN} bytes long; write the parameter name as the application reads it, like \"_method\""),
            );
        } else if name.starts_with(' ')
            || name
                .bytes()
                .any(|b| (!b.is_ascii_graphic() && b != b' ') || b"=&;[]%+".contains(&b))
        {
            p.err(
                at,
                format!("{name:?} cannot be a form key as written; use the decoded name without =, &, ;, [, ], %, + or a leading space, like \"_method\""),
            );
        } else {
            ok.push(name.as_str());
        }
    }
    Params::new(ok).unwrap_or_default()
}

/// Sets every route's mode: its own `method_override`, else `[defaults] method_override`.
pub(super) fn apply(
    raw: &RawConfig,
    server: &Server,
    routes: &mut [Route],
    defaults: &mut Route,
    p: &mut Problems,
) {
    defaults.method_override = enum_value(
        p,
        "defaults.method_override",
        raw.defaults.method_override.as_deref(),
        MethodOverride::Refuse,
        MODES,
    );
    for (i, (route, raw_route)) in routes.iter_mut().zip(&raw.routes).enumerate() {
        let at = match &raw_route.name {
            Some(name) => format!("route {name:?} (routes[{i}]).method_override"),
            None => format!("routes[{i}].method_override"),
        };
        route.method_override = enum_value(
            p,
            &at,
            raw_route.method_override.as_deref(),
            defaults.method_override,
            MODES,
        );
    }
    let authorizes = raw.defaults.method_override.is_some()
        || raw.routes.iter().any(|r| r.method_override.is_some());
    if server.method_override_params.is_empty() && authorizes {
        p.warn(
            "server.method_override_params",
            "is empty, so `method_override` settings have no effect; list the parameter (\"_method\") or remove the settings",
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::config::override_params::Params;
    use crate::config::{Config, MethodOverride};

    const BASE: &str = r#"
[clerk]
issuer = "https://clerk.example.com"
jwks_url = "https://clerk.example.com/.well-known/jwks.json"
[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"
"#;

    fn parse(server: &str, rest: &str) -> Result<Config, Vec<String>> {
        let text = format!("[server]\n{server}\n{BASE}\n{rest}");
        Config::parse(&text, "test.toml", &|_| None).map_err(|e| e.problems())
    }

    #[test]
    fn overrides_are_refused_for_underscore_method_unless_configured_otherwise() {
        let config = parse("", "[[routes]]\npath = \"/a\"\n").unwrap();
        assert_eq!(
            config.server.method_override_params,
            Params::new(["_method"]).unwrap()
        );
        assert_eq!(config.defaults.method_override, MethodOverride::Refuse);
        assert_eq!(config.routes[0].method_override, MethodOverride::Refuse);
        let off = parse("method_override_params = []", "").unwrap();
        assert!(off.server.method_override_params.is_empty());
    }

    #[test]
    fn routes_take_the_defaults_mode_unless_they_set_their_own() {
        let config = parse(
            "",
            "[defaults]\nmethod_override = \"authorize\"\n[[routes]]\npath = \"/a\"\n\
             [[routes]]\npath = \"/b\"\nmethod_override = \"refuse\"\n",
        )
        .unwrap();
        assert_eq!(config.defaults.method_override, MethodOverride::Authorize);
        assert_eq!(config.routes[0].method_override, MethodOverride::Authorize);
        assert_eq!(config.routes[1].method_override, MethodOverride::Refuse);
    }

    #[test]
    fn bad_modes_and_names_are_errors_that_name_the_key_and_the_fix() {
        let problems = parse(
            "method_override_params = [\"\", \"_method[]\"]",
            "[[routes]]\nname = \"x\"\npath = \"/a\"\nmethod_override = \"allow\"\n",
        )
        .unwrap_err();
        let has = |at: &str, text: &str| {
            problems
                .iter()
                .any(|p| p.starts_with(at) && p.contains(text))
        };
        assert!(
            has("server.method_override_params[0]", "like \"_method\""),
            "{problems:#?}"
        );
        assert!(
            has("server.method_override_params[1]", "without =, &"),
            "{problems:#?}"
        );
        assert!(
            has(
                "route \"x\" (routes[0]).method_override",
                "\"refuse\", \"authorize\""
            ),
            "{problems:#?}"
        );
    }

    #[test]
    fn authorize_without_any_parameter_is_a_warning() {
        let config = parse(
            "method_override_params = []",
            "[defaults]\nmethod_override = \"authorize\"\n",
        )
        .unwrap();
        assert!(config
            .warnings
            .iter()
            .any(|w| w.at == "server.method_override_params"));
    }
}
