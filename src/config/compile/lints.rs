//! Lints over the config as written: settings that load but quietly weaken security.
//!
//! Where a value can only be a mistake it is an error (an empty "any of" list, which reads as
//! "nobody" but means "no restriction"); where it may be deliberate it is a warning that says
//! what it costs and how to fix it. These look at the raw structs, because "written as `[]`"
//! and "not written" compile to the same value. Nothing here changes what is compiled.

use super::*;

/// Adds the errors and warnings of the raw config.
pub(super) fn lint_raw(raw: &RawConfig, p: &mut Problems) {
    empty_requirement_lists(raw, p);
    missing_authorized_parties(raw, p);
    trust_everyone(raw, p);
    report_mode_everywhere(raw, p);
    redis_without_auth(raw, p);
}

/// `user_types = []`, `roles_any = []`, … : the route ends up with no such requirement.
fn empty_requirement_lists(raw: &RawConfig, p: &mut Problems) {
    for (i, route) in raw.routes.iter().enumerate() {
        let at = match &route.name {
            Some(name) => format!("route {name:?} (routes[{i}])"),
            None => format!("routes[{i}]"),
        };
        let any_of = [
            ("user_types", &route.user_types),
            ("roles_any", &route.roles_any),
            ("permissions_any", &route.permissions_any),
            ("org_roles_any", &route.org_roles_any),
        ];
        for (key, value) in any_of {
            if value.as_ref().is_some_and(Vec::is_empty) {
                p.err(
                    format!("{at}.{key}"),
                    "is an empty list, which means no restriction: every signed-in user passes; \
                     list the allowed values, or remove the key if anyone signed in may pass",
                );
            }
        }
        for (key, value) in [
            ("permissions_all", &route.permissions_all),
            ("feature_flags_all", &route.feature_flags_all),
        ] {
            if value.as_ref().is_some_and(Vec::is_empty) {
                p.warn(
                    format!("{at}.{key}"),
                    "is an empty list and requires nothing; list what the route needs or remove the key",
                );
            }
        }
    }
}

/// No `authorized_parties`: a token Clerk issued for any other application of the same
/// instance (a staging site, a partner's origin) is accepted here.
fn missing_authorized_parties(raw: &RawConfig, p: &mut Problems) {
    let Some(clerk) = raw.clerk.as_ref() else {
        return;
    };
    if clerk.authorized_parties.as_ref().is_none_or(Vec::is_empty) {
        p.warn(
            "clerk.authorized_parties",
            "is empty, so a token's azp is not checked: a session minted for any other origin of \
             this Clerk instance passes; list your site's origins, e.g. [\"https://example.com\"]",
        );
    }
}

/// A `trusted_proxies` entry that covers every address lets any client set
/// `X-Forwarded-For`, so the client address in logs (and whatever the application keys on
/// it) is the client's choice.
fn trust_everyone(raw: &RawConfig, p: &mut Problems) {
    for (i, cidr) in raw.server.trusted_proxies.iter().flatten().enumerate() {
        if cidr.parse::<IpNet>().is_ok_and(|net| net.prefix_len() == 0) {
            p.warn(
                format!("server.trusted_proxies[{i}]"),
                format!(
                    "{cidr:?} trusts every address: any client can set X-Forwarded-For/-Proto/-Host; \
                     list only your load balancers' addresses or ranges"
                ),
            );
        }
    }
}

/// `[server] mode = "report"`: nothing is enforced; every request is forwarded.
fn report_mode_everywhere(raw: &RawConfig, p: &mut Problems) {
    if raw.server.mode.as_deref() == Some("report") {
        p.warn(
            "server.mode",
            "is \"report\": every request is forwarded and denials are only logged and counted; \
             set it back to \"enforce\" once the rollout is checked",
        );
    }
}

/// A Redis that is not on loopback, reached without a password: anyone who can reach it can
/// publish revocations (log users out) or read who was revoked.
fn redis_without_auth(raw: &RawConfig, p: &mut Problems) {
    let Some(url) = raw.revocation.redis_url.as_deref() else {
        return;
    };
    let Ok(info) = url.parse::<http::Uri>() else {
        return;
    };
    let host = info.host().unwrap_or("");
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let has_password = info
        .authority()
        .and_then(|a| a.as_str().rsplit_once('@'))
        .is_some_and(|(user_info, _)| user_info.contains(':') || !user_info.is_empty());
    if !loopback && !has_password {
        p.warn(
            "revocation.redis_url",
            format!(
                "reaches {host:?} without a password: anyone who can reach that Redis can publish \
                 revocations or read them; use \"rediss://:${{REDIS_PASSWORD}}@{host}:6379\" (TLS and auth)"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};

    const BASE: &str = "[clerk]\nissuer = \"https://clerk.example.com\"\n\
        jwks_url = \"https://clerk.example.com/.well-known/jwks.json\"\n\
        authorized_parties = [\"https://example.com\"]\n\
        [[upstreams]]\nname = \"app\"\nurl = \"http://127.0.0.1:3000\"\n";

    fn load(extra: &str) -> Result<Config, ConfigError> {
        Config::parse(&format!("{BASE}{extra}"), "test.toml", &|_| None)
    }

    fn warnings_at(config: &Config, at: &str) -> Vec<String> {
        config
            .warnings
            .iter()
            .filter(|w| w.at.contains(at))
            .map(|w| w.message.clone())
            .collect()
    }

    #[test]
    fn an_empty_any_of_list_is_an_error_naming_the_route_and_key() {
        for key in [
            "user_types",
            "roles_any",
            "permissions_any",
            "org_roles_any",
        ] {
            let err = load(&format!(
                "[[routes]]\nname = \"admin\"\npath = \"/admin/**\"\n{key} = []\n"
            ))
            .expect_err(key);
            let problems = err.problems();
            assert!(
                problems.iter().any(
                    |p| p.contains(&format!("route \"admin\" (routes[0]).{key}"))
                        && p.contains("no restriction")
                ),
                "{key}: {problems:?}"
            );
        }
    }

    #[test]
    fn an_empty_all_of_list_is_a_warning() {
        let config =
            load("[[routes]]\nname = \"a\"\npath = \"/a\"\nfeature_flags_all = []\n").unwrap();
        assert_eq!(warnings_at(&config, "feature_flags_all").len(), 1);
    }

    #[test]
    fn missing_or_empty_authorized_parties_are_warned_about() {
        let without = BASE.replace("authorized_parties = [\"https://example.com\"]\n", "");
        for text in [
            without.clone(),
            without.replace("[[upstreams]]", "authorized_parties = []\n[[upstreams]]"),
        ] {
            let config = Config::parse(&text, "t.toml", &|_| None).unwrap();
            let w = warnings_at(&config, "clerk.authorized_parties");
            assert_eq!(w.len(), 1, "{text}");
            assert!(w[0].contains("azp is not checked"));
        }
        assert!(warnings_at(&load("").unwrap(), "authorized_parties").is_empty());
    }

    #[test]
    fn trusting_every_address_is_warned_about() {
        let config =
            load("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"0.0.0.0/0\", \"::/0\"]\n")
                .unwrap();
        assert_eq!(warnings_at(&config, "server.trusted_proxies").len(), 2);
    }

    #[test]
    fn report_mode_for_everything_is_warned_about() {
        let config = load("[server]\nmode = \"report\"\n").unwrap();
        assert_eq!(warnings_at(&config, "server.mode").len(), 1);
    }

    #[test]
    fn a_remote_redis_without_a_password_is_warned_about() {
        for (url, warned) in [
            ("redis://redis:6379", true),
            ("rediss://redis.internal:6380", true),
            ("redis://127.0.0.1:6379", false),
            ("redis://:secret@redis:6379", false),
            ("rediss://doorman:secret@redis:6380/0", false),
        ] {
            let config = load(&format!("[revocation]\nredis_url = \"{url}\"\n")).unwrap();
            assert_eq!(
                warnings_at(&config, "revocation.redis_url").len(),
                usize::from(warned),
                "{url}"
            );
        }
    }

    #[test]
    fn rediss_urls_are_accepted() {
        load("[revocation]\nredis_url = \"rediss://:pw@redis.internal:6380\"\n").unwrap();
    }
}
