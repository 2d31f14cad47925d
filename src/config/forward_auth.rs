//! `[forward_auth]`: doorman as the authorizer another proxy calls (nginx `auth_request`,
//! Traefik ForwardAuth, Caddy `forward_auth`, Envoy `ext_authz`). Off unless the section is
//! present; its listener is never the public one. See `docs/forward-auth.md`.

use std::net::SocketAddr;

use serde::Deserialize;

use super::compile::{socket_addr, Problems};
use super::Server;

/// `[forward_auth]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawForwardAuth {
    /// The authorization listener, `host:port` (required). Only peers in
    /// `[server] trusted_proxies` are answered; everyone else gets 403.
    pub listen: Option<String>,
    /// Envoy HTTP `ext_authz`: the `path_prefix` configured in Envoy. A call for
    /// `<prefix>/orders?x=1` decides the original request `/orders?x=1`. Default `/envoy`.
    pub envoy_path_prefix: Option<String>,
}

/// `[forward_auth]`, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardAuth {
    pub listen: SocketAddr,
    /// Starts with `/`, never ends with one.
    pub envoy_path_prefix: String,
}

/// Compiles `[forward_auth]`; `None` (off) when the section is absent.
pub(super) fn compile_forward_auth(
    raw: Option<&RawForwardAuth>,
    server: &Server,
    p: &mut Problems,
) -> Option<ForwardAuth> {
    let raw = raw?;
    let Some(text) = raw.listen.as_deref() else {
        p.err(
            "forward_auth.listen",
            "missing; set the authorization listener, e.g. listen = \"127.0.0.1:9191\" (or remove [forward_auth] to turn forward-auth off)",
        );
        return None;
    };
    let listen = socket_addr(p, "forward_auth.listen", Some(text), "");
    for (other, key) in [
        (server.listen, "server.listen"),
        (server.admin_listen, "server.admin_listen"),
    ] {
        if listen == other && listen.port() != 0 {
            p.err(
                "forward_auth.listen",
                format!("{listen} is also {key}; the authorization listener must be its own (it believes X-Forwarded-* from trusted proxies), pick another port"),
            );
        }
    }
    if server.trusted_proxies.is_empty() {
        p.err(
            "forward_auth.listen",
            "[server] trusted_proxies is empty, so every forward-auth call would be refused; list the proxies that call doorman, e.g. trusted_proxies = [\"10.0.0.0/8\"]",
        );
    }
    let prefix = raw.envoy_path_prefix.as_deref().unwrap_or("/envoy");
    let prefix_ok = prefix.len() > 1
        && prefix.starts_with('/')
        && !prefix.ends_with('/')
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b));
    if !prefix_ok {
        p.err(
            "forward_auth.envoy_path_prefix",
            format!("{prefix:?} must be a path like \"/envoy\": starting with /, not ending with one, letters, digits and -._~/ only"),
        );
    }
    Some(ForwardAuth {
        listen,
        envoy_path_prefix: prefix.to_string(),
    })
}
