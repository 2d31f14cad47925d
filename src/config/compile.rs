//! Raw config → validated [`Config`], reporting every problem at once.
//!
//! Each section has one `compile_*` function that reads its raw struct, pushes a
//! [`Problem`] for every invalid value (naming the key and the fix) and returns a usable
//! value anyway, so later sections are still checked. Only when the list is empty does a
//! `Config` come out. This module never touches the network or key files.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;
use ipnet::IpNet;
use serde::Deserialize;

use super::error::{ConfigError, Problem};
use super::interp::interpolate;
use super::raw::{
    RawClaims, RawClerk, RawConfig, RawDefaults, RawHeaders, RawLimits, RawRedirects, RawRoute,
    RawServer, RawUpstream,
};
use super::{
    Access, Clerk, Config, IdentityHeaders, KeySource, Limits, Onboarding, RedirectTarget,
    Redirects, Respond, Route, Scheme, Server, Upstream,
};
use crate::route::{MethodSet, Pattern, RouteTable};
use crate::token::claims::{validate_pointer, ClaimPointers};
use crate::token::verify::VerifyOptions;

/// Parses, interpolates and compiles config text.
pub fn compile_text(
    text: &str,
    source: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    // Parse into the raw structs straight from the text first: serde's errors then carry
    // line and column, and unknown keys are caught before any variable is read.
    if let Err(e) = toml::from_str::<RawConfig>(text) {
        return Err(ConfigError::Syntax {
            path: source.to_string(),
            message: e.to_string().trim_end().replace('\n', "\n    "),
        });
    }
    let mut value: toml::Value = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: source.to_string(),
        message: e.to_string(),
    })?;
    let mut problems = Vec::new();
    interpolate(&mut value, "", env, &mut problems);
    if !problems.is_empty() {
        return Err(ConfigError::Invalid {
            path: source.to_string(),
            problems,
        });
    }
    let raw = RawConfig::deserialize(value).map_err(|e| ConfigError::Syntax {
        path: source.to_string(),
        message: e.to_string(),
    })?;
    compile(raw, source)
}

/// Compiles the raw structs.
pub fn compile(raw: RawConfig, source: &str) -> Result<Config, ConfigError> {
    let mut p = Problems::default();
    let server = compile_server(&raw.server, &mut p);
    let clerk = compile_clerk(raw.clerk.as_ref(), &mut p);
    let redirects = compile_redirects(&raw.redirects, &mut p);
    let claims = compile_claims(&raw.claims, &mut p);
    let headers = compile_headers(&raw.headers, &mut p);
    let limits = compile_limits(&raw.limits, &mut p);
    let upstreams = compile_upstreams(&raw.upstreams, &mut p);
    let defaults = compile_defaults(&raw.defaults, &upstreams, &mut p);
    let routes: Vec<Route> = raw
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| compile_route(i, r, &upstreams, &mut p))
        .collect();
    check_route_names(&routes, &mut p);
    let table = build_table(&routes, &mut p);
    if claims.onboarding_status.is_none()
        && routes
            .iter()
            .any(|r| r.onboarding == Onboarding::IncompleteOnly)
    {
        p.warn(
            "claims.onboarding_status",
            "no onboarding claim is configured, so every user counts as onboarded and `incomplete_only` routes always redirect; set claims.onboarding_status",
        );
    }
    if !p.errors.is_empty() {
        return Err(ConfigError::Invalid {
            path: source.to_string(),
            problems: p.errors,
        });
    }
    Ok(Config {
        server,
        clerk,
        redirects,
        claims,
        headers,
        limits,
        upstreams,
        defaults,
        routes,
        table,
        warnings: p.warnings,
        source: source.to_string(),
    })
}

#[derive(Default)]
struct Problems {
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Problems {
    fn err(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Problem::new(at, message));
    }
    fn warn(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Problem::new(at, message));
    }
}

fn duration(p: &mut Problems, at: &str, value: Option<&str>, default: Duration) -> Duration {
    let Some(text) = value else { return default };
    match humantime::parse_duration(text.trim()) {
        Ok(d) => d,
        Err(_) => {
            p.err(
                at,
                format!("{text:?} is not a duration; write a number with a unit, like \"500ms\", \"5s\", \"5m\" or \"1h\""),
            );
            default
        }
    }
}

fn socket_addr(p: &mut Problems, at: &str, value: Option<&str>, default: &str) -> SocketAddr {
    let text = value.unwrap_or(default);
    match text.parse() {
        Ok(addr) => addr,
        Err(_) => {
            p.err(
                at,
                format!("{text:?} is not an address; write IP:PORT, like \"0.0.0.0:8080\" or \"[::1]:8080\""),
            );
            SocketAddr::from(([127, 0, 0, 1], 0))
        }
    }
}

fn compile_server(raw: &RawServer, p: &mut Problems) -> Server {
    let listen = socket_addr(p, "server.listen", raw.listen.as_deref(), "0.0.0.0:8080");
    let admin_listen = socket_addr(
        p,
        "server.admin_listen",
        raw.admin_listen.as_deref(),
        "127.0.0.1:9090",
    );
    if listen == admin_listen && listen.port() != 0 {
        p.err(
            "server.admin_listen",
            "the admin listener must not share the public listener's address (metrics would be public); pick another port",
        );
    }
    if raw.tls_cert.is_some() || raw.tls_key.is_some() {
        p.err(
            "server.tls_cert",
            "TLS termination is not available in this version of doorman; terminate TLS in front of it or remove tls_cert and tls_key",
        );
    }
    let mut trusted_proxies = Vec::new();
    for (i, text) in raw.trusted_proxies.iter().flatten().enumerate() {
        let parsed = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<IpAddr>().map(IpNet::from));
        match parsed {
            Ok(net) => trusted_proxies.push(net),
            Err(_) => p.err(
                format!("server.trusted_proxies[{i}]"),
                format!("{text:?} is not a CIDR or IP address; write e.g. \"10.0.0.0/8\" or \"127.0.0.1\""),
            ),
        }
    }
    let shutdown_grace = duration(
        p,
        "server.shutdown_grace",
        raw.shutdown_grace.as_deref(),
        Duration::from_secs(10),
    );
    Server {
        listen,
        admin_listen,
        trusted_proxies,
        shutdown_grace,
    }
}

fn compile_clerk(raw: Option<&RawClerk>, p: &mut Problems) -> Clerk {
    let default = RawClerk::default();
    let raw = match raw {
        Some(raw) => raw,
        None => {
            p.err(
                "clerk",
                "the [clerk] section is missing; add it with `issuer` and one key source (jwks_url, jwks_file, public_key_pem or public_key_file)",
            );
            &default
        }
    };
    let issuer = match raw.issuer.as_deref().map(str::trim) {
        Some(i) if !i.is_empty() => {
            if !(i.starts_with("https://") || i.starts_with("http://")) {
                p.err(
                    "clerk.issuer",
                    format!("{i:?} is not a URL; use your Frontend API URL, like \"https://clerk.example.com\""),
                );
            } else if i.ends_with('/') {
                p.warn(
                    "clerk.issuer",
                    "Clerk issuers have no trailing slash and `iss` is compared exactly; remove the final /",
                );
            }
            i.to_string()
        }
        _ => {
            if raw.issuer.is_some() || !p.errors.iter().any(|e| e.at == "clerk") {
                p.err(
                    "clerk.issuer",
                    "missing; set it to your Frontend API URL (the tokens' `iss`), like \"https://clerk.example.com\"",
                );
            }
            String::new()
        }
    };
    let keys = key_source(raw, p);
    let authorized_parties: Vec<String> = raw.authorized_parties.clone().unwrap_or_default();
    for (i, party) in authorized_parties.iter().enumerate() {
        let at = format!("clerk.authorized_parties[{i}]");
        if !(party.starts_with("https://") || party.starts_with("http://")) {
            p.err(
                at,
                format!("{party:?} is not an origin; write it like \"https://example.com\""),
            );
        } else if party.ends_with('/') {
            p.err(
                at,
                format!("{party:?} ends with /, but `azp` is an origin without one and is compared exactly; remove the final /"),
            );
        }
    }
    let clock_skew = duration(
        p,
        "clerk.clock_skew",
        raw.clock_skew.as_deref(),
        Duration::from_secs(5),
    );
    if clock_skew > Duration::from_secs(300) {
        p.err(
            "clerk.clock_skew",
            "more than 5m of skew would keep expired 60-second session tokens alive for long; use a few seconds",
        );
    }
    let session_cookie = raw
        .session_cookie
        .clone()
        .unwrap_or_else(|| "__session".to_string());
    if session_cookie.is_empty()
        || !session_cookie
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    {
        p.err(
            "clerk.session_cookie",
            format!("{session_cookie:?} is not a cookie name; use letters, digits, _ - or ., like \"__session\""),
        );
    }
    let jwks_refresh = duration(
        p,
        "clerk.jwks_refresh",
        raw.jwks_refresh.as_deref(),
        Duration::from_secs(300),
    );
    if jwks_refresh < Duration::from_secs(1) {
        p.err("clerk.jwks_refresh", "must be at least 1s");
    }
    Clerk {
        keys,
        verify: VerifyOptions {
            issuer,
            authorized_parties,
            clock_skew_secs: clock_skew.as_secs(),
            accept_pending: raw.accept_pending_sessions.unwrap_or(false),
        },
        jwks_refresh,
        jwks_max_stale: duration(
            p,
            "clerk.jwks_max_stale",
            raw.jwks_max_stale.as_deref(),
            Duration::from_secs(3600),
        ),
        jwks_timeout: duration(
            p,
            "clerk.jwks_timeout",
            raw.jwks_timeout.as_deref(),
            Duration::from_secs(5),
        ),
        jwks_unknown_kid_interval: duration(
            p,
            "clerk.jwks_unknown_kid_interval",
            raw.jwks_unknown_kid_interval.as_deref(),
            Duration::from_secs(30),
        ),
        session_cookie,
    }
}

fn key_source(raw: &RawClerk, p: &mut Problems) -> KeySource {
    let mut sources = Vec::new();
    if let Some(url) = &raw.jwks_url {
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.parse::<http::Uri>().is_err()
        {
            p.err(
                "clerk.jwks_url",
                format!("{url:?} is not an http(s) URL; use e.g. \"https://clerk.example.com/.well-known/jwks.json\""),
            );
        }
        sources.push(("jwks_url", KeySource::JwksUrl(url.clone())));
    }
    if let Some(file) = &raw.jwks_file {
        sources.push(("jwks_file", KeySource::JwksFile(PathBuf::from(file))));
    }
    if let Some(pem) = &raw.public_key_pem {
        if !pem.contains("-----BEGIN") {
            p.err(
                "clerk.public_key_pem",
                "does not look like a PEM public key (no -----BEGIN line); paste the key from Clerk's dashboard (API keys → Show JWT public key → PEM)",
            );
        }
        sources.push(("public_key_pem", KeySource::PemText(pem.clone())));
    }
    if let Some(file) = &raw.public_key_file {
        sources.push(("public_key_file", KeySource::PemFile(PathBuf::from(file))));
    }
    match sources.len() {
        1 => sources.remove(0).1,
        0 => {
            p.err(
                "clerk",
                "no key source; set exactly one of jwks_url, jwks_file, public_key_pem or public_key_file",
            );
            KeySource::PemText(String::new())
        }
        _ => {
            let names: Vec<&str> = sources.iter().map(|(n, _)| *n).collect();
            p.err(
                "clerk",
                format!(
                    "{} key sources are set ({}); keep exactly one",
                    names.len(),
                    names.join(", ")
                ),
            );
            sources.remove(0).1
        }
    }
}

fn redirect_target(
    p: &mut Problems,
    at: &str,
    value: Option<&str>,
    default: &str,
) -> RedirectTarget {
    let url = value.unwrap_or(default).trim().to_string();
    let bytes = url.as_bytes();
    let is_path = bytes.first() == Some(&b'/') && !matches!(bytes.get(1), Some(b'/' | b'\\'));
    let is_absolute = url.starts_with("https://") || url.starts_with("http://");
    let clean = url.bytes().all(|b| b.is_ascii_graphic()) && !url.contains('\\');
    if !clean || !(is_path || is_absolute) {
        p.err(
            at,
            format!("{url:?} is not a redirect target; use a path on this site starting with one /, like \"/sign-in\", or an absolute https:// URL"),
        );
    }
    let local_path = is_path.then(|| {
        let end = url.find(['?', '#']).unwrap_or(url.len());
        url[..end].to_string()
    });
    RedirectTarget { url, local_path }
}

fn compile_redirects(raw: &RawRedirects, p: &mut Problems) -> Redirects {
    let return_to_param = raw
        .return_to_param
        .clone()
        .unwrap_or_else(|| "redirect_url".to_string());
    if return_to_param.is_empty()
        || !return_to_param
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    {
        p.err(
            "redirects.return_to_param",
            format!("{return_to_param:?} is not a plain query parameter name; use letters, digits, _ - or ."),
        );
    }
    Redirects {
        sign_in: redirect_target(
            p,
            "redirects.sign_in_url",
            raw.sign_in_url.as_deref(),
            "/sign-in",
        ),
        onboarding: redirect_target(
            p,
            "redirects.onboarding_url",
            raw.onboarding_url.as_deref(),
            "/onboarding",
        ),
        after_onboarding: redirect_target(
            p,
            "redirects.after_onboarding_url",
            raw.after_onboarding_url.as_deref(),
            "/dashboard",
        ),
        return_to_param,
    }
}

fn compile_claims(raw: &RawClaims, p: &mut Problems) -> ClaimPointers {
    let mut pointer = |key: &str, value: &Option<String>| -> Option<String> {
        let v = value.as_ref()?;
        if let Err(message) = validate_pointer(v) {
            p.err(format!("claims.{key}"), message);
        }
        Some(v.clone())
    };
    ClaimPointers {
        user_type: pointer("user_type", &raw.user_type),
        roles: pointer("roles", &raw.roles),
        permissions: pointer("permissions", &raw.permissions),
        feature_flags: pointer("feature_flags", &raw.feature_flags),
        onboarding_status: pointer("onboarding_status", &raw.onboarding_status),
        active: pointer("active", &raw.active),
        onboarding_complete_values: raw
            .onboarding_complete_values
            .clone()
            .unwrap_or_else(|| vec!["completed".to_string()]),
    }
}

/// Headers a config may not claim as identity headers: framing, routing and credentials.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
    "cookie",
    "authorization",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "forwarded",
];

fn compile_headers(raw: &RawHeaders, p: &mut Problems) -> IdentityHeaders {
    let mut seen = HashSet::new();
    let mut name = |key: &str, value: &Option<String>, default: &'static str| -> HeaderName {
        let text = value.as_deref().unwrap_or(default);
        let at = format!("headers.{key}");
        let parsed = match HeaderName::try_from(text) {
            Ok(n) => n,
            Err(_) => {
                p.err(at, format!("{text:?} is not a valid header name; use letters, digits and -, like {default:?}"));
                return HeaderName::from_static(default_lower(default));
            }
        };
        if RESERVED_HEADERS.contains(&parsed.as_str()) {
            p.err(at, format!("{text:?} is a framing, routing or credential header and cannot carry identity; pick another name"));
        } else if !seen.insert(parsed.as_str().replace('_', "-")) {
            p.err(
                at,
                format!(
                    "{text:?} is already used for another identity header; give each its own name"
                ),
            );
        }
        parsed
    };
    let headers = IdentityHeaders {
        user_id: name("user_id", &raw.user_id, "X-User-Id"),
        session_id: name("session_id", &raw.session_id, "X-Session-Id"),
        user_type: name("user_type", &raw.user_type, "X-User-Type"),
        org_id: name("org_id", &raw.org_id, "X-Org-Id"),
        org_role: name("org_role", &raw.org_role, "X-Org-Role"),
        roles: name("roles", &raw.roles, "X-User-Roles"),
        permissions: name("permissions", &raw.permissions, "X-User-Permissions"),
        feature_flags: name("feature_flags", &raw.feature_flags, "X-Feature-Flags"),
        onboarding_status: name(
            "onboarding_status",
            &raw.onboarding_status,
            "X-Onboarding-Status",
        ),
        strip: Vec::new(),
    };
    let mut strip: Vec<String> = [
        &headers.user_id,
        &headers.session_id,
        &headers.user_type,
        &headers.org_id,
        &headers.org_role,
        &headers.roles,
        &headers.permissions,
        &headers.feature_flags,
        &headers.onboarding_status,
    ]
    .iter()
    .map(|h| h.as_str().replace('_', "-"))
    .collect();
    for (i, extra) in raw.strip.iter().flatten().enumerate() {
        match HeaderName::try_from(extra.as_str()) {
            Ok(h) => strip.push(h.as_str().replace('_', "-")),
            Err(_) => p.err(
                format!("headers.strip[{i}]"),
                format!("{extra:?} is not a valid header name"),
            ),
        }
    }
    strip.sort();
    strip.dedup();
    IdentityHeaders { strip, ..headers }
}

/// The lowercase form of a default header name (all defaults are static ASCII).
fn default_lower(default: &'static str) -> &'static str {
    match default {
        "X-User-Id" => "x-user-id",
        "X-Session-Id" => "x-session-id",
        "X-User-Type" => "x-user-type",
        "X-Org-Id" => "x-org-id",
        "X-Org-Role" => "x-org-role",
        "X-User-Roles" => "x-user-roles",
        "X-User-Permissions" => "x-user-permissions",
        "X-Feature-Flags" => "x-feature-flags",
        _ => "x-onboarding-status",
    }
}

fn compile_limits(raw: &RawLimits, p: &mut Problems) -> Limits {
    let max_token_bytes = raw.max_token_bytes.unwrap_or(16 * 1024);
    if !(1024..=1024 * 1024).contains(&max_token_bytes) {
        p.err(
            "limits.max_token_bytes",
            format!("{max_token_bytes} is out of range; use between 1024 and 1048576 (Clerk session tokens are a few KB)"),
        );
    }
    let max_header_bytes = raw.max_header_bytes.unwrap_or(64 * 1024);
    if !(8192..=1024 * 1024).contains(&max_header_bytes) {
        p.err(
            "limits.max_header_bytes",
            format!("{max_header_bytes} is out of range; use between 8192 and 1048576"),
        );
    }
    Limits {
        max_token_bytes: usize::try_from(max_token_bytes).unwrap_or(16 * 1024),
        header_read_timeout: duration(
            p,
            "limits.header_read_timeout",
            raw.header_read_timeout.as_deref(),
            Duration::from_secs(10),
        ),
        max_header_bytes: usize::try_from(max_header_bytes).unwrap_or(64 * 1024),
    }
}

fn compile_upstreams(raw: &[RawUpstream], p: &mut Problems) -> Vec<Upstream> {
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
            Upstream {
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

fn parse_upstream_url(url: &str) -> Result<(Scheme, String, String), String> {
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

fn upstream_index(p: &mut Problems, at: &str, name: Option<&str>, upstreams: &[Upstream]) -> usize {
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

fn enum_value<T: Copy>(
    p: &mut Problems,
    at: &str,
    value: Option<&str>,
    default: T,
    options: &[(&str, T)],
) -> T {
    let Some(text) = value else { return default };
    match options.iter().find(|(name, _)| *name == text) {
        Some((_, v)) => *v,
        None => {
            let names: Vec<String> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
            p.err(at, format!("{text:?} is not one of {}", names.join(", ")));
            default
        }
    }
}

const ONBOARDING: &[(&str, Onboarding)] = &[
    ("required", Onboarding::Required),
    ("skip", Onboarding::Skip),
    ("incomplete_only", Onboarding::IncompleteOnly),
];
const RESPOND: &[(&str, Respond)] = &[
    ("page", Respond::Page),
    ("api", Respond::Api),
    ("auto", Respond::Auto),
];

fn compile_defaults(raw: &RawDefaults, upstreams: &[Upstream], p: &mut Problems) -> Route {
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
        access: enum_value(
            p,
            "defaults.access",
            raw.access.as_deref().filter(|a| *a != "public"),
            Access::SignedIn,
            &[("signed_in", Access::SignedIn), ("deny", Access::Deny)],
        ),
        onboarding: enum_value(
            p,
            "defaults.onboarding",
            raw.onboarding.as_deref(),
            Onboarding::Required,
            ONBOARDING,
        ),
        respond: enum_value(
            p,
            "defaults.respond",
            raw.respond.as_deref(),
            Respond::Auto,
            RESPOND,
        ),
        permissions_all: Vec::new(),
        permissions_any: Vec::new(),
        roles_any: Vec::new(),
        user_types: Vec::new(),
        org_roles_any: Vec::new(),
        feature_flags_all: Vec::new(),
    }
}

fn string_list(p: &mut Problems, at: &str, value: &Option<Vec<String>>) -> Vec<String> {
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

fn compile_route(index: usize, raw: &RawRoute, upstreams: &[Upstream], p: &mut Problems) -> Route {
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
    let route = Route {
        name: Arc::from(name.as_str()),
        pattern,
        methods,
        upstream: upstream_index(
            p,
            &format!("{at}.upstream"),
            raw.upstream.as_deref(),
            upstreams,
        ),
        access,
        onboarding: enum_value(
            p,
            &format!("{at}.onboarding"),
            raw.onboarding.as_deref(),
            Onboarding::Required,
            ONBOARDING,
        ),
        respond: enum_value(
            p,
            &format!("{at}.respond"),
            raw.respond.as_deref(),
            Respond::Auto,
            RESPOND,
        ),
        permissions_all: string_list(p, &format!("{at}.permissions_all"), &raw.permissions_all),
        permissions_any: string_list(p, &format!("{at}.permissions_any"), &raw.permissions_any),
        roles_any: string_list(p, &format!("{at}.roles_any"), &raw.roles_any),
        user_types: string_list(p, &format!("{at}.user_types"), &raw.user_types),
        org_roles_any: string_list(p, &format!("{at}.org_roles_any"), &raw.org_roles_any),
        feature_flags_all: string_list(
            p,
            &format!("{at}.feature_flags_all"),
            &raw.feature_flags_all,
        ),
    };
    for (i, role) in route.org_roles_any.iter().enumerate() {
        if !role.starts_with("org:") {
            p.err(
                format!("{at}.org_roles_any[{i}]"),
                format!("{role:?} is not a Clerk organization role key; they start with \"org:\", write \"org:{role}\""),
            );
        }
    }
    let has_requirements = !(route.permissions_all.is_empty()
        && route.permissions_any.is_empty()
        && route.roles_any.is_empty()
        && route.user_types.is_empty()
        && route.org_roles_any.is_empty()
        && route.feature_flags_all.is_empty());
    if access != Access::SignedIn && (has_requirements || raw.onboarding.is_some()) {
        p.err(
            at.clone(),
            format!("a {} route never checks onboarding, permissions, roles, user types or flags; remove them or set access = \"signed_in\"", if access == Access::Public { "public" } else { "deny" }),
        );
    }
    route
}

fn check_route_names(routes: &[Route], p: &mut Problems) {
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

fn build_table(routes: &[Route], p: &mut Problems) -> RouteTable {
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
