//! Every config problem, with its location and its fix, reported all at once.

use super::{Access, Config, ConfigError, KeySource, Onboarding, Respond, Scheme};

mod defaults;
mod routes;
mod slow_clients;

pub(super) const MINIMAL: &str = r#"
[clerk]
issuer = "https://clerk.example.com"
jwks_url = "https://clerk.example.com/.well-known/jwks.json"
[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"
"#;

pub(super) fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, "test.toml", &|name| {
        (name == "SET").then(|| "value".to_string())
    })
}

/// Problems of an invalid config, as "at: message" lines.
pub(super) fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("config unexpectedly valid:\n{text}"),
        Err(e) => e.problems(),
    }
}

pub(super) fn assert_problem(text: &str, at: &str, fragment: &str) {
    let all = problems(text);
    assert!(
        all.iter()
            .any(|p| p.starts_with(at) && p.contains(fragment)),
        "no problem at {at:?} containing {fragment:?} in {all:#?}"
    );
}

#[test]
fn minimal_config_gets_documented_defaults() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.server.listen.to_string(), "0.0.0.0:8080");
    assert_eq!(c.server.admin_listen.to_string(), "127.0.0.1:9090");
    assert_eq!(c.clerk.verify.clock_skew_secs, 5);
    assert_eq!(c.clerk.jwks_refresh.as_secs(), 300);
    assert_eq!(c.clerk.jwks_max_stale.as_secs(), 3600);
    assert_eq!(c.clerk.session_cookie, "__session");
    assert!(!c.clerk.verify.accept_pending);
    assert_eq!(c.redirects.sign_in.url, "/sign-in");
    assert_eq!(
        c.redirects.onboarding.local_path.as_deref(),
        Some("/onboarding")
    );
    assert_eq!(c.redirects.return_to_param, "redirect_url");
    assert_eq!(c.claims.onboarding_complete_values, vec!["completed"]);
    assert_eq!(c.headers.user_id.as_str(), "x-user-id");
    assert_eq!(c.defaults.policy.access, Access::SignedIn);
    assert_eq!(c.defaults.policy.onboarding, Onboarding::Required);
    assert_eq!(c.defaults.policy.respond, Respond::Auto);
    assert_eq!(c.limits.max_token_bytes, 16384);
    assert_eq!(c.upstreams[0].authority, "127.0.0.1:3000");
    assert_eq!(c.upstreams[0].scheme, Scheme::Http);
}

#[test]
fn the_repository_config_is_valid_and_warning_free() {
    let text = include_str!("../../config.toml");
    let c = parse(text).unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!(c.routes.len() >= 20);
}

#[test]
fn environment_variables_are_interpolated_and_missing_ones_named() {
    let c = parse(&MINIMAL.replace(
        "clerk.example.com\"\njwks",
        "clerk.example.com\"\nsession_cookie = \"${SET}\"\njwks",
    ))
    .unwrap();
    assert_eq!(c.clerk.session_cookie, "value");
    assert_problem(
        &MINIMAL.replace("http://127.0.0.1:3000", "${UNSET_VAR}"),
        "upstreams[0].url",
        "UNSET_VAR is not set",
    );
}

#[test]
fn syntax_and_unknown_keys_are_reported_with_their_location() {
    let err = parse(&format!(
        "{MINIMAL}\n[[routes]]\npath = \"/x\"\npermisions_all = []\n"
    ))
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("permisions_all") && text.contains("line"),
        "{text}"
    );
    let err = parse("[clerk\n").unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = r#"
[server]
listen = "localhost:80"
shutdown_grace = "ten seconds"
trusted_proxies = ["10.0.0.0/33"]
[clerk]
issuer = "clerk.example.com"
[redirects]
sign_in_url = "//evil.example"
[claims]
roles = "metadata/roles"
[[upstreams]]
name = "app"
url = "ftp://x"
[[routes]]
path = "/a"
upstream = "nope"
"#;
    let all = problems(text);
    for (at, fragment) in [
        ("server.listen", "IP:PORT"),
        ("server.shutdown_grace", "not a duration"),
        ("server.trusted_proxies[0]", "not a CIDR"),
        ("clerk.issuer", "not a URL"),
        ("clerk", "no key source"),
        ("redirects.sign_in_url", "not a redirect target"),
        ("claims.roles", ""),
        ("upstreams[0].url", "http:// or https://"),
        (
            "routes[0].upstream",
            "unknown upstream \"nope\"; known upstreams: app",
        ),
    ] {
        assert!(
            all.iter()
                .any(|p| p.starts_with(at) && p.contains(fragment)),
            "missing {at}: {fragment} in {all:#?}"
        );
    }
}

#[test]
fn clerk_section_problems() {
    assert_problem(
        "[[upstreams]]\nname = \"a\"\nurl = \"http://a:1\"\n",
        "clerk",
        "section is missing",
    );
    assert_problem(
        &MINIMAL.replace("jwks_url", "public_key_file = \"k.pem\"\njwks_url"),
        "clerk",
        "2 key sources",
    );
    assert_problem(
        &MINIMAL.replace("jwks_url = \"https", "jwks_url = \"ftp"),
        "clerk.jwks_url",
        "not an http(s) URL",
    );
    assert_problem(
        &MINIMAL.replace("jwks_url =", "public_key_pem = \"abc\"\n#"),
        "clerk.public_key_pem",
        "PEM",
    );
    assert_problem(
        &MINIMAL.replace(
            "[[upstreams]]",
            "authorized_parties = [\"https://a.example/\"]\n[[upstreams]]",
        ),
        "clerk.authorized_parties[0]",
        "remove the final /",
    );
    assert_problem(
        &MINIMAL.replace(
            "[[upstreams]]",
            "authorized_parties = [\"a.example\"]\n[[upstreams]]",
        ),
        "clerk.authorized_parties[0]",
        "not an origin",
    );
    assert_problem(
        &MINIMAL.replace("[[upstreams]]", "clock_skew = \"10m\"\n[[upstreams]]"),
        "clerk.clock_skew",
        "more than 5m",
    );
    assert_problem(
        &MINIMAL.replace("[[upstreams]]", "session_cookie = \"a b\"\n[[upstreams]]"),
        "clerk.session_cookie",
        "not a cookie name",
    );
    let c =
        parse(&MINIMAL.replace("clerk.example.com\"\njwks", "clerk.example.com/\"\njwks")).unwrap();
    assert!(
        c.warnings.iter().any(|w| w.at == "clerk.issuer"),
        "{:?}",
        c.warnings
    );
    let c = parse(&MINIMAL.replace(
        "jwks_url = \"https://clerk.example.com/.well-known/jwks.json\"",
        "jwks_file = \"keys.json\"",
    ))
    .unwrap();
    assert_eq!(c.clerk.keys, KeySource::JwksFile("keys.json".into()));
}

#[test]
fn server_problems() {
    assert_problem(
        &format!("[server]\nlisten = \"127.0.0.1:9\"\nadmin_listen = \"127.0.0.1:9\"\n{MINIMAL}"),
        "server.admin_listen",
        "must not share",
    );
    assert_problem(
        &format!("[server]\ntls_cert = \"c.pem\"\n{MINIMAL}"),
        "server.tls_cert",
        "go together",
    );
    let c = parse(&format!(
        "[server]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n{MINIMAL}"
    ))
    .unwrap();
    assert_eq!(
        c.server.tls.unwrap().cert,
        std::path::PathBuf::from("c.pem")
    );
    assert_problem(
        &format!("{MINIMAL}[limits]\nmax_connections = 0\n"),
        "limits.max_connections",
        "out of range",
    );
    assert_problem(
        &format!("{MINIMAL}[limits]\nhttp2_max_concurrent_streams = 0\n"),
        "limits.http2_max_concurrent_streams",
        "out of range",
    );
    assert_problem(
        &format!("{MINIMAL}[limits]\nmax_body_bytes = 0\n"),
        "limits.max_body_bytes",
        "refuse every body",
    );
    let c = parse(&format!("{MINIMAL}[limits]\nmax_body_bytes = 1000\n[[routes]]\nname = \"up\"\npath = \"/up\"\nmax_body_bytes = 10\n[[routes]]\nname = \"other\"\npath = \"/other\"\n")).unwrap();
    assert_eq!(
        (
            c.routes[0].max_body_bytes,
            c.routes[1].max_body_bytes,
            c.defaults.max_body_bytes
        ),
        (Some(10), Some(1000), Some(1000))
    );
}

#[test]
fn header_problems() {
    assert_problem(
        &format!("{MINIMAL}[headers]\nuser_id = \"Bad Header\"\n"),
        "headers.user_id",
        "not a valid header name",
    );
    assert_problem(
        &format!("{MINIMAL}[headers]\nuser_id = \"Authorization\"\n"),
        "headers.user_id",
        "credential header",
    );
    assert_problem(
        &format!("{MINIMAL}[headers]\nuser_id = \"X-Org-Id\"\n"),
        "headers.org_id",
        "already used",
    );
    assert_problem(
        &format!("{MINIMAL}[headers]\nstrip = [\"bad name\"]\n"),
        "headers.strip[0]",
        "not a valid header name",
    );
}

#[test]
fn limit_and_redirect_problems() {
    assert_problem(
        &format!("{MINIMAL}[limits]\nmax_token_bytes = 10\n"),
        "limits.max_token_bytes",
        "out of range",
    );
    assert_problem(
        &format!("{MINIMAL}[limits]\nmax_header_bytes = 10\n"),
        "limits.max_header_bytes",
        "out of range",
    );
    assert_problem(
        &format!("{MINIMAL}[redirects]\nonboarding_url = \"/\\\\evil\"\n"),
        "redirects.onboarding_url",
        "not a redirect target",
    );
    assert_problem(
        &format!("{MINIMAL}[redirects]\nreturn_to_param = \"a&b\"\n"),
        "redirects.return_to_param",
        "plain query parameter",
    );
    let c = parse(&format!(
        "{MINIMAL}[redirects]\nsign_in_url = \"https://accounts.example.com/sign-in\"\n"
    ))
    .unwrap();
    assert_eq!(c.redirects.sign_in.local_path, None);
}

#[test]
fn upstream_problems() {
    assert_problem(
        "[clerk]\nissuer = \"https://c.example\"\njwks_url = \"https://c.example/j\"\n",
        "upstreams",
        "no upstream",
    );
    assert_problem(
        &format!("{MINIMAL}[[upstreams]]\nname = \"app\"\nurl = \"http://b:1\"\n"),
        "upstreams[1].name",
        "defined twice",
    );
    assert_problem(
        &format!("{MINIMAL}[[upstreams]]\nurl = \"http://b:1\"\n"),
        "upstreams[1].name",
        "missing",
    );
    assert_problem(
        &format!("{MINIMAL}[[upstreams]]\nname = \"b\"\nurl = \"http://b:1/?x=1\"\n"),
        "upstreams[1].url",
        "query string",
    );
    assert_problem(
        &format!("{MINIMAL}[[upstreams]]\nname = \"b\"\nurl = \"http://u:p@b:1\"\n"),
        "upstreams[1].url",
        "credentials",
    );
    let c = parse(&format!(
        "{MINIMAL}[[upstreams]]\nname = \"b\"\nurl = \"https://b.example/base/\"\n"
    ))
    .unwrap();
    assert_eq!(
        (
            c.upstreams[1].authority.as_str(),
            c.upstreams[1].path_prefix.as_str(),
            c.upstreams[1].scheme
        ),
        ("b.example:443", "/base", Scheme::Https)
    );
}

#[test]
fn defaults_problems() {
    assert_problem(
        &format!("{MINIMAL}[defaults]\naccess = \"public\"\n"),
        "defaults.access",
        "fail open",
    );
    assert_problem(
        &format!("{MINIMAL}[defaults]\nonboarding = \"maybe\"\n"),
        "defaults.onboarding",
        "not one of",
    );
    assert_problem(
        &format!("{MINIMAL}[defaults]\nupstream = \"nope\"\n"),
        "defaults.upstream",
        "unknown upstream",
    );
}
