//! Compiling `[server] method_override_params` and the `method_override` mode of
//! `[defaults]` and `[[routes]]` (routes without one take `[defaults]`'s, which is `refuse`).

use super::*;
use crate::method_override::{Params, MAX_PARAM_LEN};

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
