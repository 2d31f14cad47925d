//! The config file as written: serde structs that mirror `config.toml` one to one.
//!
//! Everything here is plain data with `deny_unknown_fields`, so a typo is an error and never
//! silently weakens a rule. Nothing here validates meaning: durations, URLs, patterns and
//! names stay strings until `compile` turns them into the checked [`crate::config::Config`],
//! reporting every problem at once. The server never sees these types.

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    /// Required: where the signing keys come from and what a valid token looks like.
    pub clerk: Option<RawClerk>,
    #[serde(default)]
    pub redirects: RawRedirects,
    #[serde(default)]
    pub claims: RawClaims,
    #[serde(default)]
    pub headers: RawHeaders,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub upstreams: Vec<RawUpstream>,
    #[serde(default)]
    pub defaults: RawDefaults,
    #[serde(default)]
    pub routes: Vec<RawRoute>,
    #[serde(default)]
    pub cache: RawCache,
}

/// `[server]`: listeners and the trust boundary.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// Public listener, `host:port`. Default `0.0.0.0:8080`.
    pub listen: Option<String>,
    /// Admin listener for `/metrics`, `/healthz`, `/readyz`. Default `127.0.0.1:9090`.
    pub admin_listen: Option<String>,
    /// PEM certificate chain; with `tls_key`, enables HTTPS (not yet supported: a config error).
    pub tls_cert: Option<String>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<String>,
    /// CIDRs (or plain IPs) whose `X-Forwarded-*` headers are trusted and appended to.
    pub trusted_proxies: Option<Vec<String>>,
    /// How long in-flight requests may take to finish on SIGTERM. Default `10s`.
    pub shutdown_grace: Option<String>,
    /// Worker threads of the runtime. Default: one per CPU.
    pub workers: Option<u64>,
}

/// `[clerk]`: the key source and the token rules.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClerk {
    /// Exact expected `iss`, e.g. `https://clerk.example.com`.
    pub issuer: Option<String>,
    /// Key source: a JWKS URL (http or https).
    pub jwks_url: Option<String>,
    /// Key source: a JWKS JSON file.
    pub jwks_file: Option<String>,
    /// Key source: the PEM public key text (usually `${CLERK_JWT_KEY}`).
    pub public_key_pem: Option<String>,
    /// Key source: a PEM public key file.
    pub public_key_file: Option<String>,
    /// Allowed `azp` values; empty or absent means `azp` is not checked.
    pub authorized_parties: Option<Vec<String>>,
    /// Tolerance for `exp`/`nbf`/`iat`. Default `5s`.
    pub clock_skew: Option<String>,
    /// Background JWKS refresh period. Default `5m`.
    pub jwks_refresh: Option<String>,
    /// How long the last good keys keep serving while the endpoint fails. Default `1h`.
    pub jwks_max_stale: Option<String>,
    /// Timeout of one JWKS fetch. Default `5s`.
    pub jwks_timeout: Option<String>,
    /// Minimum time between two refreshes caused by unknown `kid`s. Default `30s`.
    pub jwks_unknown_kid_interval: Option<String>,
    /// `sts = "pending"` counts as signed in when true. Default false.
    pub accept_pending_sessions: Option<bool>,
    /// Name of the session cookie. Default `__session`.
    pub session_cookie: Option<String>,
}

/// `[redirects]`: where browsers are sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRedirects {
    /// Default `/sign-in`.
    pub sign_in_url: Option<String>,
    /// Default `/onboarding`.
    pub onboarding_url: Option<String>,
    /// Default `/dashboard`.
    pub after_onboarding_url: Option<String>,
    /// Query parameter carrying the return path. Default `redirect_url`.
    pub return_to_param: Option<String>,
}

/// `[claims]`: RFC 6901 JSON pointers into the verified payload.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClaims {
    pub user_type: Option<String>,
    pub roles: Option<String>,
    pub permissions: Option<String>,
    pub feature_flags: Option<String>,
    pub onboarding_status: Option<String>,
    /// Values of `onboarding_status` that mean "done". Default `["completed"]`.
    pub onboarding_complete_values: Option<Vec<String>>,
    pub active: Option<String>,
}

/// `[headers]`: names of the identity headers sent upstream (and stripped from clients).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeaders {
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub user_type: Option<String>,
    pub org_id: Option<String>,
    pub org_role: Option<String>,
    pub roles: Option<String>,
    pub permissions: Option<String>,
    pub feature_flags: Option<String>,
    pub onboarding_status: Option<String>,
    /// More header names to remove from every incoming request.
    pub strip: Option<Vec<String>>,
}

/// `[limits]`: bounds on what a client can make doorman do.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Tokens longer than this are refused before parsing. Default 16384 bytes.
    pub max_token_bytes: Option<u64>,
    /// Time a client has to send the request head (slowloris). Default `10s`.
    pub header_read_timeout: Option<String>,
    /// Maximum size of the request head. Default 65536 bytes.
    pub max_header_bytes: Option<u64>,
}

/// `[[upstreams]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    pub name: Option<String>,
    /// `http://host:port[/prefix]` or `https://…`.
    pub url: Option<String>,
    /// Time to connect. Default `2s`.
    pub connect_timeout: Option<String>,
    /// Time from sending the request to the response head. Default `30s`.
    pub timeout: Option<String>,
}

/// `[defaults]`: the policy of a request that matches no route.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    /// `signed_in` (default) or `deny`.
    pub access: Option<String>,
    /// `required` (default), `skip` or `incomplete_only`.
    pub onboarding: Option<String>,
    /// `page`, `api` or `auto` (default).
    pub respond: Option<String>,
    /// Upstream name; default the first.
    pub upstream: Option<String>,
}

/// `[[routes]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub name: Option<String>,
    pub path: Option<String>,
    pub methods: Option<Vec<String>>,
    pub upstream: Option<String>,
    pub access: Option<String>,
    pub onboarding: Option<String>,
    pub permissions_all: Option<Vec<String>>,
    pub permissions_any: Option<Vec<String>>,
    pub roles_any: Option<Vec<String>>,
    pub user_types: Option<Vec<String>>,
    pub org_roles_any: Option<Vec<String>>,
    pub feature_flags_all: Option<Vec<String>>,
    pub respond: Option<String>,
}

/// `[cache]`: the verified-token cache (on by default).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCache {
    /// Cache verified tokens until their `exp`. Default true.
    pub enabled: Option<bool>,
    /// Most tokens held at once. Default 100000.
    pub max_entries: Option<u64>,
    /// Approximate memory bound of the cached tokens and identities, in bytes.
    /// Default 67108864 (64 MiB).
    pub max_bytes: Option<u64>,
}
