//! Compiling `[[upstreams]]`, `[defaults]` and `[[routes]]`, and building the route table
//! (ties are errors naming both routes; shadowed routes are warnings).

use super::upgrades::compile_upgrades;
use super::*;

pub(super) fn compile_upstreams(raw: &[RawUpstream], p: &mut Problems) -> Vec<Upstream> {
    if raw.is_empty() {
        p.err(
            "upstreams",
            "no upstream is configured; add [[upstreams]] with name = \"app\" and url = \"http://127.0.0.1:3000\"",
        );
    }
    let mut names = HashSet::new();
    raw.iter()
        .enumerate()
        .map(|(i, u)| {
            let at = format!("upstreams[{i}]");
            let name = u.name.clone().unwrap_or_default();
            if name.is_empty() {
                p.err(
                    format!("{at}.name"),
                    "missing; give the upstream a name routes can refer to",
                );
            } else if !names.insert(name.clone()) {
                p.err(
                    format!("{at}.name"),
                    format!("upstream {name:?} is defined twice; names must be unique"),
                );
            }
            let url = u.url.clone().unwrap_or_default();
            let (scheme, authority, path_prefix) = match parse_upstream_url(&url) {
                Ok(parts) => parts,
                Err(message) => {
                    p.err(format!("{at}.url"), message);
                    (Scheme::Http, String::new(), String::new())
                }
            };
            if u.ca_file.is_some() && scheme == Scheme::Http {
                p.warn(
                    format!("{at}.ca_file"),
                    "set on an http:// upstream, where it is not used",
                );
            }
            let (pool, resolve_every) = super::upstream_pool::compile_pool(u, &at, p);
            Upstream {
                pool,
                resolve_every,
                ca_file: u.ca_file.as_ref().map(std::path::PathBuf::from),
                name: Arc::from(name.as_str()),
                scheme,
                authority,
                path_prefix,
                connect_timeout: duration(
                    p,
                    &format!("{at}.connect_timeout"),
                    u.connect_timeout.as_deref(),
                    Duration::from_secs(2),
                ),
                timeout: duration(
                    p,
                    &format!("{at}.timeout"),
                    u.timeout.as_deref(),
                    Duration::from_secs(30),
                ),
            }
        })
        .collect()
}

pub(super) fn parse_upstream_url(url: &str) -> Result<(Scheme, String, String), String> {
    let fix = "write it like \"http://127.0.0.1:3000\" (an optional path prefix may follow)";
    let uri: http::Uri = url
        .parse()
        .map_err(|_| format!("{url:?} is not a URL; {fix}"))?;
    let scheme = match uri.scheme_str() {
        Some("http") => Scheme::Http,
        Some("https") => Scheme::Https,
        _ => {
            return Err(format!(
                "{url:?} must start with http:// or https://; {fix}"
            ))
        }
    };
    let authority = uri
        .authority()
        .filter(|a| !a.host().is_empty())
        .ok_or_else(|| format!("{url:?} has no host; {fix}"))?;
    if authority.as_str().contains('@') {
        return Err(format!(
            "{url:?} carries credentials; remove user:password@"
        ));
    }
    if uri.query().is_some() {
        return Err(format!(
            "{url:?} has a query string; upstream URLs take none"
        ));
    }
    let port = authority.port_u16().unwrap_or(match scheme {
        Scheme::Http => 80,
        Scheme::Https => 443,
    });
    let prefix = uri.path().trim_end_matches('/').to_string();
    Ok((scheme, format!("{}:{port}", authority.host()), prefix))
}

pub(super) fn upstream_index(
    p: &mut Problems,
    at: &str,
    name: Option<&str>,
    upstreams: &[Upstream],
) -> usize {
    let Some(name) = name else { return 0 };
    match upstreams.iter().position(|u| &*u.name == name) {
        Some(i) => i,
        None => {
            let known: Vec<&str> = upstreams.iter().map(|u| &*u.name).collect();
            p.err(
                at,
                format!(
                    "unknown upstream {name:?}; known upstreams: {}",
                    known.join(", ")
                ),
            );
            0
        }
    }
}

pub(super) const ONBOARDING: &[(&str, Onboarding)] = &[
    ("required", Onboarding::Required),
    ("skip", Onboarding::Skip),
    ("incomplete_only", Onboarding::IncompleteOnly),
];

pub(super) const RESPOND: &[(&str, Respond)] = &[
    ("page", Respond::Page),
    ("api", Respond::Api),
    ("auto", Respond::Auto),
];

pub(super) const MODE: &[(&str, Mode)] = &[("enforce", Mode::Enforce), ("report", Mode::Report)];

pub(super) fn compile_defaults(
    raw: &RawDefaults,
    upstreams: &[Upstream],
    global_mode: Mode,
    p: &mut Problems,
) -> Route {
    if raw.access.as_deref() == Some("public") {
        p.err(
            "defaults.access",
            "\"public\" would forward every unmatched path without a token (fail open); use \"signed_in\" or \"deny\" and list public paths as routes",
        );
    }
    Route {
        name: Arc::from("default"),
        pattern: None,
        methods: None,
        upstream: upstream_index(p, "defaults.upstream", raw.upstream.as_deref(), upstreams),
        policy: Policy::new(
            enum_value(
                p,
                "defaults.access",
                raw.access.as_deref().filter(|a| *a != "public"),
                Access::SignedIn,
                &[("signed_in", Access::SignedIn), ("deny", Access::Deny)],
            ),
            enum_value(
                p,
                "defaults.onboarding",
                raw.onboarding.as_deref(),
                Onboarding::Required,
                ONBOARDING,
            ),
            enum_value(
                p,
                "defaults.respond",
                raw.respond.as_deref(),
                Respond::Auto,
                RESPOND,
            ),
            RequirementLists::default(),
        ),
        mode: enum_value(p, "defaults.mode", raw.mode.as_deref(), global_mode, MODE),
        max_body_bytes: None,
        upgrades: compile_upgrades(p, "defaults.upgrades", raw.upgrades.as_deref()),
        // Set by `method_override::apply`, which knows `[defaults]`.
        method_override: MethodOverride::Refuse,
    }
}

pub(super) fn string_list(p: &mut Problems, at: &str, value: &Option<Vec<String>>) -> Vec<String> {
    let list = value.clone().unwrap_or_default();
    for (i, item) in list.iter().enumerate() {
        if item.trim().is_empty() || item.trim() != item {
            p.err(
                format!("{at}[{i}]"),
                format!("{item:?} is empty or has surrounding spaces; names are compared exactly"),
            );
        }
    }
    list
}

/// Compiles one route. `onboarding`, `respond`, `upstream` and `mode` fall back to the
/// compiled `defaults` when the route does not set them, so `[defaults]` is the default of
/// every route as well as the rule for paths no route matches (`[defaults] mode` itself
/// falls back to `[server] mode`).
///
/// `access` is the exception, on purpose: `[defaults] access` is `signed_in` (the route
/// default anyway) or `deny`, and inheriting `deny` would make every route that does not
/// repeat `access = "signed_in"` refuse everyone: a route exists to say who may pass, while
/// `[defaults] access = "deny"` says that paths no route lists are closed.
pub(super) fn compile_route(
    index: usize,
    raw: &RawRoute,
    upstreams: &[Upstream],
    defaults: &Route,
    p: &mut Problems,
) -> Route {
    let path = raw.path.clone().unwrap_or_default();
    let name = raw.name.clone().unwrap_or_else(|| path.clone());
    let at = if raw.name.is_some() {
        format!("route {name:?} (routes[{index}])")
    } else {
        format!("routes[{index}]")
    };
    let pattern = if raw.path.is_none() {
        p.err(
            format!("{at}.path"),
            "missing; every route needs a path pattern like \"/dashboard/**\"",
        );
        None
    } else {
        match Pattern::parse(&path) {
            Ok(pattern) => Some(pattern),
            Err(e) => {
                p.err(format!("{at}.path"), e.to_string());
                None
            }
        }
    };
    if name.is_empty()
        || name.len() > 128
        || name
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\')
    {
        p.err(format!("{at}.name"), "route names label metrics and logs: use 1-128 printable characters without quotes or backslashes");
    }
    let methods = raw.methods.as_ref().and_then(|list| {
        if list.is_empty() {
            p.err(
                format!("{at}.methods"),
                "an empty list matches nothing; remove `methods` to match every method",
            );
            return None;
        }
        match MethodSet::new(list) {
            Ok(set) => Some(set),
            Err(e) => {
                p.err(format!("{at}.methods"), e.to_string());
                None
            }
        }
    });
    let access = enum_value(
        p,
        &format!("{at}.access"),
        raw.access.as_deref(),
        Access::SignedIn,
        &[
            ("public", Access::Public),
            ("signed_in", Access::SignedIn),
            ("deny", Access::Deny),
        ],
    );
    let lists = RequirementLists {
        user_types: string_list(p, &format!("{at}.user_types"), &raw.user_types),
        roles_any: string_list(p, &format!("{at}.roles_any"), &raw.roles_any),
        org_roles_any: string_list(p, &format!("{at}.org_roles_any"), &raw.org_roles_any),
        permissions_all: string_list(p, &format!("{at}.permissions_all"), &raw.permissions_all),
        permissions_any: string_list(p, &format!("{at}.permissions_any"), &raw.permissions_any),
        feature_flags_all: string_list(
            p,
            &format!("{at}.feature_flags_all"),
            &raw.feature_flags_all,
        ),
    };
    for (i, role) in lists.org_roles_any.iter().enumerate() {
        if !role.starts_with("org:") {
            p.err(
                format!("{at}.org_roles_any[{i}]"),
                format!("{role:?} is not a Clerk organization role key; they start with \"org:\", write \"org:{role}\""),
            );
        }
    }
    let onboarding = enum_value(
        p,
        &format!("{at}.onboarding"),
        raw.onboarding.as_deref(),
        defaults.policy.onboarding,
        ONBOARDING,
    );
    let respond = enum_value(
        p,
        &format!("{at}.respond"),
        raw.respond.as_deref(),
        defaults.policy.respond,
        RESPOND,
    );
    let mut policy = Policy::new(access, onboarding, respond, lists);
    let conditions = super::conditions::compile_conditions(p, &at, raw.conditions.as_deref());
    policy
        .requirements
        .extend(conditions.into_iter().map(Requirement::Condition));
    if access != Access::SignedIn && (!policy.requirements.is_empty() || raw.onboarding.is_some()) {
        p.err(
            at.clone(),
            format!("a {} route never checks onboarding, permissions, roles, user types, flags or conditions; remove them or set access = \"signed_in\"", if access == Access::Public { "public" } else { "deny" }),
        );
    }
    let route = Route {
        name: Arc::from(name.as_str()),
        pattern,
        methods,
        upstream: match raw.upstream.as_deref() {
            Some(name) => upstream_index(p, &format!("{at}.upstream"), Some(name), upstreams),
            None => defaults.upstream,
        },
        policy,
        max_body_bytes: match raw.max_body_bytes {
            Some(0) => {
                p.err(
                    format!("{at}.max_body_bytes"),
                    "0 would refuse every body; leave it out for the [limits] default",
                );
                None
            }
            other => other.map(|b| usize::try_from(b).unwrap_or(usize::MAX)),
        },
        mode: enum_value(
            p,
            &format!("{at}.mode"),
            raw.mode.as_deref(),
            defaults.mode,
            MODE,
        ),
        upgrades: compile_upgrades(p, &format!("{at}.upgrades"), raw.upgrades.as_deref()),
        method_override: MethodOverride::Refuse,
    };
    route
}

pub(super) fn check_route_names(routes: &[Route], p: &mut Problems) {
    let mut seen = HashSet::new();
    for (i, r) in routes.iter().enumerate() {
        if &*r.name == "default" {
            p.err(
                format!("routes[{i}].name"),
                "\"default\" is reserved for requests that match no route; pick another name",
            );
        } else if !seen.insert(r.name.clone()) {
            p.err(
                format!("routes[{i}].name"),
                format!(
                    "route name {:?} is used twice; names label metrics and must be unique",
                    r.name
                ),
            );
        }
    }
}

pub(super) fn build_table(routes: &[Route], p: &mut Problems) -> RouteTable {
    let entries: Vec<(Pattern, Option<MethodSet>)> = routes
        .iter()
        .filter_map(|r| Some((r.pattern.clone()?, r.methods.clone())))
        .collect();
    if entries.len() != routes.len() {
        // Some patterns failed; their problems are already recorded.
        return RouteTable::build(&[]).unwrap_or_default();
    }
    match RouteTable::build(&entries) {
        Ok(table) => {
            for (shadowed, by) in table.shadowed() {
                if let (Some(a), Some(b)) = (routes.get(shadowed), routes.get(by)) {
                    p.warn(
                        format!("route {:?} (routes[{shadowed}])", a.name),
                        format!(
                            "can never match: route {:?} (routes[{by}]) always wins",
                            b.name
                        ),
                    );
                }
            }
            table
        }
        Err(ties) => {
            for tie in ties {
                let (Some(a), Some(b)) = (routes.get(tie.first), routes.get(tie.second)) else {
                    continue;
                };
                p.err(
                    format!("route {:?} (routes[{}])", b.name, tie.second),
                    format!(
                        "ties with route {:?} (routes[{}]): both match the same requests with the same precedence; make one path more specific or give them disjoint `methods`",
                        a.name, tie.first
                    ),
                );
            }
            RouteTable::build(&[]).unwrap_or_default()
        }
    }
}
