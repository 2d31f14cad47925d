//! `[defaults]` is the default of every route, not only the rule for unmatched paths:
//! `onboarding`, `respond`, `upstream` and `mode` are inherited unless the route sets them;
//! `access` is not (see `compile_route`).

use crate::config::{Access, Config, ConfigError, Mode, Onboarding, Respond};

const BASE: &str = r#"
[clerk]
issuer = "https://clerk.example.com"
jwks_url = "https://clerk.example.com/.well-known/jwks.json"
[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"
[[upstreams]]
name = "second"
url = "http://127.0.0.1:3001"
"#;

/// `BASE` with `defaults` as `[defaults]` (and `server`, if any, as `[server]`), then a route
/// `inherits` setting nothing and a route `own` setting `own`.
fn parse(server: &str, defaults: &str, own: &str) -> Result<Config, ConfigError> {
    let text = format!(
        "[server]\n{server}\n{BASE}\n[defaults]\n{defaults}\n\
         [[routes]]\nname = \"inherits\"\npath = \"/a/**\"\n\
         [[routes]]\nname = \"own\"\npath = \"/b/**\"\n{own}\n"
    );
    Config::parse(&text, "test.toml", &|_| None)
}

fn routes(server: &str, defaults: &str, own: &str) -> (crate::config::Route, crate::config::Route) {
    let config = parse(server, defaults, own).unwrap_or_else(|e| panic!("{e}"));
    let find = |name: &str| {
        config
            .routes
            .iter()
            .find(|r| &*r.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("route {name}"))
    };
    (find("inherits"), find("own"))
}

#[test]
fn routes_inherit_defaults_onboarding_unless_they_set_it() {
    let (inherits, own) = routes("", "onboarding = \"skip\"", "onboarding = \"required\"");
    assert_eq!(inherits.policy.onboarding, Onboarding::Skip);
    assert_eq!(own.policy.onboarding, Onboarding::Required);
    let (inherits, _) = routes("", "", "");
    assert_eq!(
        inherits.policy.onboarding,
        Onboarding::Required,
        "documented default"
    );
}

#[test]
fn routes_inherit_defaults_respond_unless_they_set_it() {
    let (inherits, own) = routes("", "respond = \"api\"", "respond = \"page\"");
    assert_eq!(
        (inherits.policy.respond, own.policy.respond),
        (Respond::Api, Respond::Page)
    );
    let (inherits, _) = routes("", "", "");
    assert_eq!(inherits.policy.respond, Respond::Auto);
}

#[test]
fn routes_inherit_defaults_upstream_unless_they_set_it() {
    let (inherits, own) = routes("", "upstream = \"second\"", "upstream = \"app\"");
    assert_eq!((inherits.upstream, own.upstream), (1, 0));
    let (inherits, _) = routes("", "", "");
    assert_eq!(inherits.upstream, 0, "the first upstream");
}

#[test]
fn routes_inherit_defaults_mode_then_server_mode_unless_they_set_it() {
    let (inherits, own) = routes("", "mode = \"report\"", "mode = \"enforce\"");
    assert_eq!((inherits.mode, own.mode), (Mode::Report, Mode::Enforce));
    let (inherits, _) = routes("mode = \"report\"", "", "");
    assert_eq!(
        inherits.mode,
        Mode::Report,
        "[server] mode through [defaults]"
    );
    let (inherits, _) = routes("mode = \"report\"", "mode = \"enforce\"", "");
    assert_eq!(
        inherits.mode,
        Mode::Enforce,
        "[defaults] mode beats [server] mode"
    );
}

#[test]
fn routes_do_not_inherit_defaults_access_deny() {
    // `[defaults] access = "deny"` closes unlisted paths; a listed route without `access`
    // stays signed_in (inheriting deny would refuse everyone on every such route).
    let (inherits, own) = routes("", "access = \"deny\"", "access = \"public\"");
    assert_eq!(
        (inherits.policy.access, own.policy.access),
        (Access::SignedIn, Access::Public)
    );
    let config = parse("", "access = \"deny\"", "roles_any = [\"admin\"]").unwrap();
    assert_eq!(config.defaults.policy.access, Access::Deny);
}
