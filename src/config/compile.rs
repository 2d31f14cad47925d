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
    RawCache, RawClaims, RawClerk, RawConfig, RawDefaults, RawHeaders, RawLimits, RawLogging,
    RawRedirects, RawRevocation, RawRoute, RawServer, RawUpstream, RawWebhooks,
};
use super::{
    Access, CacheSettings, Clerk, Config, Handshake, IdentityHeaders, KeySource, Limits, Logging,
    MethodOverride, Mode, Onboarding, RedirectTarget, Redirects, Respond, Revocation, Route,
    Scheme, Server, TlsFiles, Upstream, UserIdLogging, Webhooks,
};
use crate::policy::{Policy, Requirement, RequirementLists};
use crate::route::{MethodSet, Pattern, RouteTable};
use crate::token::claims::{validate_pointer, ClaimPointers};
use crate::token::verify::VerifyOptions;

mod checks;
mod clerk;
mod conditions;
mod headers;
mod lints;
mod method_override;
mod routes;
mod sections;
mod session;
mod telemetry;
mod upgrades;
mod upstream_pool;
mod users;

use clerk::compile_clerk;
use headers::compile_headers;
use routes::{build_table, check_route_names, compile_defaults, compile_route, compile_upstreams};
use sections::{compile_cache, compile_claims, compile_limits, compile_redirects, compile_server};

/// Parses, interpolates and compiles config text.
pub fn compile_text(
    text: &str,
    source: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    // Parse into the raw structs straight from the text first: serde's errors then carry
    // line and column, and unknown keys are caught before any variable is read.
    if let Err(e) = toml::from_str::<RawConfig>(text) {
        // A syntax error: report every one the parser can find; else serde's (unknown key…).
        let message = super::syntax::all_syntax_errors(text)
            .unwrap_or_else(|| e.to_string().trim_end().replace('\n', "\n    "));
        return Err(ConfigError::Syntax {
            path: source.to_string(),
            message,
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
    let mut config = compile(raw, source)?;
    config.hash = text_hash(text);
    Ok(config)
}

/// The first 16 hex digits of SHA-256 of the config text.
fn text_hash(text: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compiles the raw structs.
pub fn compile(raw: RawConfig, source: &str) -> Result<Config, ConfigError> {
    let mut p = Problems::default();
    let server = compile_server(&raw.server, &mut p);
    let clerk = compile_clerk(raw.clerk.as_ref(), &mut p);
    let redirects = compile_redirects(&raw.redirects, &mut p);
    let claims = compile_claims(&raw.claims, &mut p);
    let mut headers = compile_headers(&raw.headers, &mut p);
    let limits = compile_limits(&raw.limits, &mut p);
    let cache = compile_cache(&raw.cache, &mut p);
    let upstreams = compile_upstreams(&raw.upstreams, &mut p);
    let global_mode = enum_value(
        &mut p,
        "server.mode",
        raw.server.mode.as_deref(),
        Mode::Enforce,
        routes::MODE,
    );
    let defaults = compile_defaults(&raw.defaults, &upstreams, global_mode, &mut p);
    let routes: Vec<Route> = raw
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| compile_route(i, r, &upstreams, &defaults, &mut p))
        .collect();
    check_route_names(&routes, &mut p);
    let mut routes = routes;
    let mut defaults = defaults;
    for route in routes.iter_mut().chain(std::iter::once(&mut defaults)) {
        route.max_body_bytes = route.max_body_bytes.or(limits.max_body_bytes);
    }
    method_override::apply(&raw, &server, &mut routes, &mut defaults, &mut p);
    let table = build_table(&routes, &mut p);
    let mut claims = claims;
    claims.keep_payload = routes
        .iter()
        .chain(std::iter::once(&defaults))
        .any(|r| r.policy.has_conditions());
    if claims.onboarding_status.is_none()
        && routes
            .iter()
            .any(|r| r.policy.onboarding == Onboarding::IncompleteOnly)
    {
        p.warn(
            "claims.onboarding_status",
            "no onboarding claim is configured, so every user counts as onboarded and `incomplete_only` routes always redirect; set claims.onboarding_status",
        );
    }
    let logging = checks::compile_logging(&raw.logging, &mut p);
    let telemetry = telemetry::compile_telemetry(&raw.telemetry, &mut p);
    let mut webhooks = checks::compile_webhooks(raw.webhooks.as_ref(), &mut p);
    let users = users::compile_users(&raw.users, &claims, &mut p);
    if let (Some(compiled), Some(raw_webhooks)) = (webhooks.as_mut(), raw.webhooks.as_ref()) {
        users::compile_webhook_extras(
            raw_webhooks,
            compiled,
            &users,
            &claims,
            &clerk,
            &upstreams,
            &mut p,
        );
    }
    let forward_auth =
        super::forward_auth::compile_forward_auth(raw.forward_auth.as_ref(), &server, &mut p);
    let session = session::compile_session(raw.session.as_ref(), webhooks.as_ref(), &mut p);
    let assertion = super::assertion::compile_assertion(
        raw.assertion.as_ref(),
        &upstreams,
        &mut headers,
        &mut p,
    );
    let revocation =
        checks::compile_revocation(&raw.revocation, clerk.verify.clock_skew_secs, &mut p);
    lints::lint_raw(&raw, &mut p);
    if !p.errors.is_empty() {
        return Err(ConfigError::Invalid {
            path: source.to_string(),
            problems: p.errors,
        });
    }
    let mut config = Config {
        server,
        clerk,
        redirects,
        claims,
        headers,
        limits,
        upstreams,
        defaults,
        routes,
        cache,
        table,
        logging,
        telemetry,
        webhooks,
        revocation,
        users,
        session,
        roles: raw.roles,
        warnings: Vec::new(),
        source: source.to_string(),
        hash: String::new(),
        forward_auth,
        assertion,
    };
    checks::warn_about(&config, &mut p);
    config.warnings = p.warnings;
    Ok(config)
}

#[derive(Default)]
pub(super) struct Problems {
    pub(super) errors: Vec<Problem>,
    pub(super) warnings: Vec<Problem>,
}

impl Problems {
    pub(super) fn err(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Problem::new(at, message));
    }
    pub(super) fn warn(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Problem::new(at, message));
    }
}

pub(super) fn duration(
    p: &mut Problems,
    at: &str,
    value: Option<&str>,
    default: Duration,
) -> Duration {
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

pub(super) fn socket_addr(
    p: &mut Problems,
    at: &str,
    value: Option<&str>,
    default: &str,
) -> SocketAddr {
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

pub(super) fn enum_value<T: Copy>(
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
