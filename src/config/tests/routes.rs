//! Route keys: problems located and explained, names, ties, and the warnings about routes.

use super::*;

#[test]
fn route_problems() {
    let route = |body: &str| format!("{MINIMAL}[[routes]]\nname = \"r\"\n{body}\n");
    assert_problem(
        &route("access = \"public\""),
        "route \"r\" (routes[0]).path",
        "missing",
    );
    assert_problem(
        &route("path = \"admin\""),
        "route \"r\" (routes[0]).path",
        "",
    );
    assert_problem(
        &route("path = \"/a\"\nmethods = []"),
        "route \"r\" (routes[0]).methods",
        "empty list",
    );
    assert_problem(
        &route("path = \"/a\"\nmethods = [\"G T\"]"),
        "route \"r\" (routes[0]).methods",
        "",
    );
    assert_problem(
        &route("path = \"/a\"\naccess = \"everyone\""),
        "route \"r\" (routes[0]).access",
        "not one of",
    );
    assert_problem(
        &route("path = \"/a\"\nrespond = \"json\""),
        "route \"r\" (routes[0]).respond",
        "not one of",
    );
    assert_problem(
        &route("path = \"/a\"\norg_roles_any = [\"admin\"]"),
        "route \"r\" (routes[0]).org_roles_any[0]",
        "write \"org:admin\"",
    );
    assert_problem(
        &route("path = \"/a\"\naccess = \"public\"\nroles_any = [\"admin\"]"),
        "route \"r\" (routes[0])",
        "never checks",
    );
    assert_problem(
        &route("path = \"/a\"\naccess = \"public\"\nonboarding = \"skip\""),
        "route \"r\" (routes[0])",
        "never checks",
    );
    assert_problem(
        &route("path = \"/a\"\npermissions_all = [\" a\"]"),
        "route \"r\" (routes[0]).permissions_all[0]",
        "surrounding spaces",
    );
}

#[test]
fn route_names_are_unique_and_not_reserved() {
    let two = format!("{MINIMAL}[[routes]]\nname = \"x\"\npath = \"/a\"\n[[routes]]\nname = \"x\"\npath = \"/b\"\n");
    assert_problem(&two, "routes[1].name", "used twice");
    assert_problem(
        &format!("{MINIMAL}[[routes]]\nname = \"default\"\npath = \"/a\"\n"),
        "routes[0].name",
        "reserved",
    );
}

#[test]
fn tied_routes_are_an_error_naming_both() {
    let tie = format!("{MINIMAL}[[routes]]\nname = \"a\"\npath = \"/p/{{id}}\"\n[[routes]]\nname = \"b\"\npath = \"/P/*\"\n");
    assert_problem(
        &tie,
        "route \"b\" (routes[1])",
        "ties with route \"a\" (routes[0])",
    );
    let disjoint = format!("{MINIMAL}[[routes]]\nname = \"a\"\npath = \"/p\"\nmethods = [\"GET\"]\n[[routes]]\nname = \"b\"\npath = \"/p\"\nmethods = [\"POST\"]\n");
    assert!(parse(&disjoint).is_ok());
}

#[test]
fn incomplete_only_without_an_onboarding_claim_warns() {
    let c = parse(&format!("{MINIMAL}[[routes]]\nname = \"o\"\npath = \"/onboarding/**\"\nonboarding = \"incomplete_only\"\n")).unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.at == "claims.onboarding_status"),
        "{:?}",
        c.warnings
    );
}

#[test]
fn route_name_defaults_to_the_path() {
    let c = parse(&format!("{MINIMAL}[[routes]]\npath = \"/a/**\"\n")).unwrap();
    assert_eq!(&*c.routes[0].name, "/a/**");
}

#[test]
fn unused_upstreams_are_warned_about() {
    let c = parse(&format!(
        "{MINIMAL}[[upstreams]]\nname = \"spare\"\nurl = \"http://127.0.0.1:4000\"\n"
    ))
    .unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.at == "upstreams[1]" && w.message.contains("\"spare\" is used by no route")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn protected_redirect_targets_are_warned_about() {
    // No public route for /sign-in: signed-out users would loop.
    let c = parse(MINIMAL).unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.at == "redirects.sign_in_url" && w.message.contains("not public")),
        "{:?}",
        c.warnings
    );
    // after_onboarding_url on an incomplete_only route bounces finished users.
    let text = format!("{MINIMAL}[claims]\nonboarding_status = \"/o\"\n[[routes]]\nname = \"in\"\npath = \"/sign-in/**\"\naccess = \"public\"\n[[routes]]\nname = \"dash\"\npath = \"/dashboard/**\"\nonboarding = \"incomplete_only\"\n");
    let c = parse(&text).unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.at == "redirects.after_onboarding_url"),
        "{:?}",
        c.warnings
    );
    assert!(
        !c.warnings.iter().any(|w| w.at == "redirects.sign_in_url"),
        "{:?}",
        c.warnings
    );
}

#[test]
fn the_roles_catalog_finds_permissions_no_role_grants() {
    let text = format!(
        "{MINIMAL}[roles]\nmember = [\"view_project\"]\nadmin = [\"view_project\", \"create_project\"]\n[[routes]]\nname = \"r\"\npath = \"/r\"\npermissions_all = [\"view_project\", \"delete_everything\", \"org:projects:manage\"]\nroles_any = [\"admni\"]\n"
    );
    let c = parse(&text).unwrap();
    let mine: Vec<&str> = c
        .warnings
        .iter()
        .filter(|w| w.at.starts_with("route \"r\""))
        .map(|w| w.message.as_str())
        .collect();
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert!(mine
        .iter()
        .any(|m| m.contains("\"delete_everything\" is granted by no role")));
    assert!(mine
        .iter()
        .any(|m| m.contains("role \"admni\" is not in [roles]")));
}

#[test]
fn modes_and_logging_settings_compile() {
    let c = parse(&format!("[server]\nmode = \"report\"\n{MINIMAL}[logging]\nformat = \"json\"\nuser_id = \"hash\"\n[[routes]]\nname = \"a\"\npath = \"/a\"\n[[routes]]\nname = \"b\"\npath = \"/b\"\nmode = \"enforce\"\n")).unwrap();
    assert_eq!(c.routes[0].mode, crate::config::Mode::Report);
    assert_eq!(c.routes[1].mode, crate::config::Mode::Enforce);
    assert_eq!(c.defaults.mode, crate::config::Mode::Report);
    assert!(c.logging.json);
    assert_problem(
        &format!("{MINIMAL}[[routes]]\nname = \"a\"\npath = \"/a\"\nmode = \"audit\"\n"),
        "route \"a\" (routes[0]).mode",
        "not one of",
    );
    assert_problem(
        &format!("{MINIMAL}[logging]\nformat = \"xml\"\n"),
        "logging.format",
        "not one of",
    );
    assert_problem(
        &format!("{MINIMAL}[logging]\nuser_id = \"shown\"\n"),
        "logging.user_id",
        "not one of",
    );
}
