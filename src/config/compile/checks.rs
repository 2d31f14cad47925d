//! Warnings about configs that load but are probably mistakes: upstreams no route uses,
//! redirect targets that are themselves protected (a loop waiting to happen), and
//! permissions or roles that the `[roles]` catalog does not know, and a JWKS fetched over
//! plain http from a host other than loopback. Warnings never fail a load; `doorman check`
//! prints them.

use super::*;
use crate::config::WebhookSecret;
use crate::path::normalize;
use crate::policy::Requirement;

/// `[logging]`.
pub(super) fn compile_logging(raw: &RawLogging, p: &mut Problems) -> Logging {
    let json = match raw.format.as_deref() {
        None | Some("text") => false,
        Some("json") => true,
        Some(other) => {
            p.err(
                "logging.format",
                format!("{other:?} is not one of \"text\", \"json\""),
            );
            false
        }
    };
    let user_id = enum_value(
        p,
        "logging.user_id",
        raw.user_id.as_deref(),
        UserIdLogging::Plain,
        &[
            ("plain", UserIdLogging::Plain),
            ("hash", UserIdLogging::Hash),
            ("omit", UserIdLogging::Omit),
        ],
    );
    let header = raw.request_id_header.as_deref().unwrap_or("X-Request-Id");
    let request_id_header = HeaderName::try_from(header).unwrap_or_else(|_| {
        p.err(
            "logging.request_id_header",
            format!("{header:?} is not a valid header name"),
        );
        HeaderName::from_static("x-request-id")
    });
    Logging {
        json,
        user_id,
        request_id_header,
    }
}

/// `[webhooks]`.
pub(super) fn compile_webhooks(raw: Option<&RawWebhooks>, p: &mut Problems) -> Option<Webhooks> {
    let raw = raw?;
    let secret = match &raw.secret {
        Some(s) => WebhookSecret::parse(s)
            .map_err(|message| p.err("webhooks.secret", message))
            .ok(),
        None => {
            p.err("webhooks.secret", "missing; set it to the endpoint's signing secret, usually \"${CLERK_WEBHOOK_SECRET}\"");
            None
        }
    };
    let path = raw
        .path
        .clone()
        .unwrap_or_else(|| "/clerk/webhooks".to_string());
    if normalize(&path).is_err() || path.ends_with('/') {
        p.err(
            "webhooks.path",
            format!("{path:?} is not a plain path; write it like \"/clerk/webhooks\""),
        );
    }
    let max = raw.max_body_bytes.unwrap_or(256 * 1024);
    if !(1024..=16 * 1024 * 1024).contains(&max) {
        p.err(
            "webhooks.max_body_bytes",
            format!("{max} is out of range; use between 1024 and 16777216"),
        );
    }
    let tolerance = duration(
        p,
        "webhooks.tolerance",
        raw.tolerance.as_deref(),
        Duration::from_secs(300),
    );
    // With a bad secret the config is rejected anyway; the other keys are still checked.
    Some(Webhooks {
        secret: secret?,
        path,
        tolerance,
        max_body_bytes: usize::try_from(max).unwrap_or(256 * 1024),
        initialize: None,
        forward: None,
    })
}

/// `[revocation]`.
pub(super) fn compile_revocation(
    raw: &RawRevocation,
    clock_skew_secs: u64,
    p: &mut Problems,
) -> Revocation {
    if let Some(url) = &raw.redis_url {
        if !(url.starts_with("redis://") || url.starts_with("rediss://"))
            || redis::Client::open(url.as_str()).is_err()
        {
            p.err(
                "revocation.redis_url",
                format!("{url:?} is not a Redis URL; write it like \"rediss://:${{REDIS_PASSWORD}}@redis:6380\" (TLS) or \"redis://redis:6379\""),
            );
        }
    }
    let ttl = duration(
        p,
        "revocation.ttl",
        raw.ttl.as_deref(),
        Duration::from_secs(120),
    );
    if ttl.as_secs() < 60 + clock_skew_secs {
        p.err(
            "revocation.ttl",
            format!("{}s is shorter than a session token can stay valid (60 s + {clock_skew_secs} s skew); a revoked token could pass again", ttl.as_secs()),
        );
    }
    let prefix = raw.prefix.clone().unwrap_or_else(|| "doorman".to_string());
    if prefix.is_empty()
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    {
        p.err("revocation.prefix", "use letters, digits, _ - or .");
    }
    Revocation {
        redis_url: raw.redis_url.clone(),
        ttl,
        prefix,
    }
}

/// Adds the warnings of a compiled config.
pub(super) fn warn_about(config: &Config, p: &mut Problems) {
    unused_upstreams(config, p);
    protected_redirect_targets(config, p);
    unknown_permissions(config, p);
    plain_http_jwks(config, p);
    super::clerk::unknown_return_origin(config, p);
}

/// A `jwks_url` over plain HTTP to a host other than loopback: anyone on the path can
/// replace the keys and so mint any session. Loopback (`127.0.0.0/8`, `::1`, `localhost`)
/// stays silent: a local JWKS server or sidecar is a common, safe setup.
fn plain_http_jwks(config: &Config, p: &mut Problems) {
    let crate::config::KeySource::JwksUrl(url) = &config.clerk.keys else {
        return;
    };
    let Ok(uri) = url.parse::<http::Uri>() else {
        return;
    };
    if uri.scheme_str() != Some("http") {
        return;
    }
    let host = uri.host().unwrap_or("");
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        p.warn(
            "clerk.jwks_url",
            format!(
                "{url:?} fetches the signing keys over plain http from {host:?}; anyone on the \
                 network path can swap in their own key and sign any session: use https"
            ),
        );
    }
}

fn unused_upstreams(config: &Config, p: &mut Problems) {
    for (i, u) in config.upstreams.iter().enumerate() {
        let used = config.defaults.upstream == i || config.routes.iter().any(|r| r.upstream == i);
        if !used {
            p.warn(
                format!("upstreams[{i}]"),
                format!("upstream {:?} is used by no route and not by [defaults]; remove it or route to it", u.name),
            );
        }
    }
}

/// The route a browser's GET of `path` would be decided by.
fn route_of<'a>(config: &'a Config, path: &str) -> Option<&'a Route> {
    let normalized = normalize(path).ok()?;
    Some(config.route_for(&http::Method::GET, &normalized))
}

fn protected_redirect_targets(config: &Config, p: &mut Problems) {
    let r = &config.redirects;
    if let Some(route) = r
        .sign_in
        .local_path
        .as_deref()
        .and_then(|path| route_of(config, path))
    {
        if route.policy.access != Access::Public {
            p.warn(
                "redirects.sign_in_url",
                format!(
                    "{} is decided by route {:?}, which is not public: signed-out users sent there would be sent to sign in again (a loop); add a public route for it",
                    r.sign_in.url, route.name
                ),
            );
        }
    }
    if let Some(route) = r
        .onboarding
        .local_path
        .as_deref()
        .and_then(|path| route_of(config, path))
    {
        if route.policy.access == Access::Deny || has_requirements(route) {
            p.warn(
                "redirects.onboarding_url",
                format!(
                    "{} is decided by route {:?}, which denies or has requirements a new user may lack: users sent to onboarding could be refused there",
                    r.onboarding.url, route.name
                ),
            );
        }
    }
    if let Some(route) = r
        .after_onboarding
        .local_path
        .as_deref()
        .and_then(|path| route_of(config, path))
    {
        if route.policy.onboarding == Onboarding::IncompleteOnly
            || route.policy.access == Access::Deny
        {
            p.warn(
                "redirects.after_onboarding_url",
                format!(
                    "{} is decided by route {:?}, which sends onboarded users away or denies them: users who finish onboarding would bounce",
                    r.after_onboarding.url, route.name
                ),
            );
        }
    }
}

fn has_requirements(route: &Route) -> bool {
    !route.policy.requirements.is_empty()
}

/// With a `[roles]` catalog: permissions no role grants and roles the catalog lacks.
fn unknown_permissions(config: &Config, p: &mut Problems) {
    if config.roles.is_empty() {
        return;
    }
    let granted = |perm: &str| {
        config
            .roles
            .values()
            .any(|perms| perms.iter().any(|g| g == perm))
    };
    for (i, route) in config.routes.iter().enumerate() {
        let at = format!("route {:?} (routes[{i}])", route.name);
        let permissions = route.policy.names_of(|r| {
            matches!(
                r,
                Requirement::PermissionsAll(_) | Requirement::PermissionsAny(_)
            )
        });
        for perm in permissions {
            // Clerk organization permissions come from the organization, not from [roles].
            if !perm.starts_with("org:") && !granted(perm) {
                p.warn(at.clone(), format!("permission {perm:?} is granted by no role in [roles]; no user may ever pass"));
            }
        }
        for role in route
            .policy
            .names_of(|r| matches!(r, Requirement::RolesAny(_)))
        {
            if !config.roles.contains_key(role) {
                p.warn(
                    at.clone(),
                    format!("role {role:?} is not in [roles]; check the spelling"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn jwks_warnings(url: &str) -> Vec<String> {
        let text = format!(
            "[clerk]\nissuer = \"https://clerk.example.com\"\njwks_url = \"{url}\"\n\
             [[upstreams]]\nname = \"app\"\nurl = \"http://127.0.0.1:3000\"\n"
        );
        let config = Config::parse(&text, "test.toml", &|_| None).expect("valid config");
        config
            .warnings
            .iter()
            .filter(|w| w.at == "clerk.jwks_url")
            .map(|w| w.message.clone())
            .collect()
    }

    #[test]
    fn a_plain_http_jwks_url_to_a_remote_host_is_warned_about() {
        for url in [
            "http://clerk.example.com/.well-known/jwks.json",
            "http://10.0.0.5:8080/jwks.json",
            "http://[2001:db8::1]/jwks.json",
            "http://localhost.evil.example/jwks.json",
        ] {
            let warnings = jwks_warnings(url);
            assert_eq!(warnings.len(), 1, "{url}: {warnings:?}");
            assert!(warnings[0].contains("plain http"), "{}", warnings[0]);
        }
    }

    #[test]
    fn https_and_loopback_jwks_urls_are_not_warned_about() {
        for url in [
            "https://clerk.example.com/.well-known/jwks.json",
            "http://127.0.0.1:8080/jwks.json",
            "http://127.8.9.10/jwks.json",
            "http://[::1]:8080/jwks.json",
            "http://localhost:3000/jwks.json",
            "http://LOCALHOST/jwks.json",
        ] {
            assert_eq!(jwks_warnings(url), Vec::<String>::new(), "{url}");
        }
    }
}
