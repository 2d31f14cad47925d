//! The validated, compiled configuration: what the server runs on.
//!
//! `Config::load` reads a file, interpolates `${VAR}`, maps it onto the raw structs
//! ([`raw`]) and compiles it ([`compile`]) into these types: parsed durations and addresses,
//! resolved upstream indexes, a pre-built route matcher. Every problem is reported at once
//! ([`error`]). Nothing here does network I/O; key files are read by the key stage.

pub mod assertion;
pub mod compile;
pub mod error;
pub mod forward_auth;
pub mod interp;
pub mod override_params;
pub mod paths;
pub mod publishable;
pub mod raw;
pub mod syntax;
pub mod users;
mod webhook_secret;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;
use ipnet::IpNet;

pub use crate::policy::{Access, Onboarding, Policy, Respond};
pub use error::{ConfigError, Problem};
pub use paths::absolute;
pub use webhook_secret::WebhookSecret;

use crate::route::{MethodSet, Pattern, RouteTable};
use crate::token::claims::ClaimPointers;
use crate::token::verify::VerifyOptions;

/// A loaded, valid config.
#[derive(Debug)]
pub struct Config {
    pub server: Server,
    pub clerk: Clerk,
    pub redirects: Redirects,
    pub claims: ClaimPointers,
    pub headers: IdentityHeaders,
    pub limits: Limits,
    pub upstreams: Vec<Upstream>,
    /// The policy of requests that match no route (its name is `default`).
    pub defaults: Route,
    pub routes: Vec<Route>,
    /// `[cache]`: the verified-token cache.
    pub cache: CacheSettings,
    /// Matcher over `routes` (indexes into it).
    pub table: RouteTable,
    pub logging: Logging,
    /// `[telemetry]`: OpenTelemetry tracing.
    pub telemetry: Telemetry,
    pub webhooks: Option<Webhooks>,
    pub revocation: Revocation,
    /// `[users]`: what `doorman users` writes where.
    pub users: users::Users,
    /// `[session]`: the session endpoint, when configured.
    pub session: Option<SessionEndpoint>,
    /// The role catalog (`[roles]`), for `doorman check`.
    pub roles: std::collections::BTreeMap<String, Vec<String>>,
    /// Things that load but are probably mistakes.
    pub warnings: Vec<Problem>,
    /// Where the config came from, for messages.
    pub source: String,
    /// A short hash of the config text (hex), to tell loaded versions apart.
    pub hash: String,
    /// `[forward_auth]`: the authorization listener for other proxies, when configured.
    pub forward_auth: Option<forward_auth::ForwardAuth>,
    /// `[assertion]`: the signed identity for upstreams, when configured.
    pub assertion: Option<assertion::Assertion>,
}

/// `[server]`.
#[derive(Debug, Clone)]
pub struct Server {
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub trusted_proxies: Vec<IpNet>,
    pub shutdown_grace: Duration,
    /// Runtime worker threads; `None` means one per CPU.
    pub workers: Option<usize>,
    /// Forward CORS preflights without authentication.
    pub forward_preflight: bool,
    /// HTTPS on the public listener, when set.
    pub tls: Option<TlsFiles>,
    /// Method override parameter names (`_method`), normalized; empty: not checked.
    pub method_override_params: override_params::Params,
    /// Plain HTTP/1.1 connections start in doorman's own loop ([`crate::server::h1`]);
    /// `false` (`http1 = "hyper"`): hyper serves them whole.
    pub own_http1: bool,
}

/// Where verification keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    JwksUrl(String),
    JwksFile(PathBuf),
    PemText(String),
    PemFile(PathBuf),
}

/// `[clerk]`.
#[derive(Debug, Clone)]
pub struct Clerk {
    pub keys: KeySource,
    pub verify: VerifyOptions,
    pub jwks_refresh: Duration,
    pub jwks_max_stale: Duration,
    pub jwks_timeout: Duration,
    pub jwks_unknown_kid_interval: Duration,
    pub session_cookie: String,
    /// Sent as `Authorization: Bearer` to the key endpoint and the Backend API.
    pub secret_key: Option<String>,
    /// Suffix of `__session_<suffix>` / `__client_uat_<suffix>` (from the publishable key).
    pub cookie_suffix: Option<String>,
    /// The Frontend API host from the publishable key (tokens' `iss` without the scheme);
    /// `Some` exactly when Clerk's browser rules apply (see `docs/clerk.md`).
    pub frontend_api_host: Option<String>,
    /// A development instance (`pk_test_`): the dev-browser token is required.
    pub development: bool,
    /// The site's public origin (`clerk.app_origin`): `redirect_url`s of the handshake and
    /// of sign-in or onboarding pages on another origin are built on it.
    pub app_origin: Option<String>,
    /// The Clerk handshake for browsers with an expired token; `None` without both keys.
    pub handshake: Option<Handshake>,
    /// Extra CA certificates for outgoing HTTPS to Clerk.
    pub ca_file: Option<PathBuf>,
    /// Backend API base, e.g. `https://api.clerk.com` (no trailing `/`).
    pub api_url: String,
}

impl Clerk {
    /// True when `other` needs the same key store (source, credentials and timings), so a
    /// reload can keep the keys it has instead of fetching again.
    pub fn same_keys(&self, other: &Clerk) -> bool {
        self.keys == other.keys
            && self.secret_key == other.secret_key
            && self.ca_file == other.ca_file
            && self.jwks_refresh == other.jwks_refresh
            && self.jwks_max_stale == other.jwks_max_stale
            && self.jwks_timeout == other.jwks_timeout
            && self.jwks_unknown_kid_interval == other.jwks_unknown_kid_interval
    }
}

/// Where and how the Clerk handshake runs (`publishable_key` and `secret_key` both set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// Frontend API base, e.g. `https://clerk.example.com` (no trailing `/`).
    pub frontend_api: String,
    /// Backend API base, e.g. `https://api.clerk.com` (no trailing `/`).
    pub api_url: String,
    pub secret_key: String,
    /// The site's origin for `redirect_url`, when configured.
    pub app_origin: Option<String>,
    pub timeout: Duration,
}

/// `[session]`: where the front end asks who the user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEndpoint {
    pub path: String,
    /// Origins allowed besides the request's own host, without a trailing `/`.
    pub allowed_origins: Vec<String>,
}

/// A redirect destination: a same-site path or an absolute URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectTarget {
    /// What goes into `Location` (before the return parameter).
    pub url: String,
    /// The path on this site, when `url` is relative (used by the loop guards).
    pub local_path: Option<String>,
}

/// `[redirects]`.
#[derive(Debug, Clone)]
pub struct Redirects {
    pub sign_in: RedirectTarget,
    pub onboarding: RedirectTarget,
    pub after_onboarding: RedirectTarget,
    pub return_to_param: String,
}

/// `[headers]`: identity header names, and every name stripped from incoming requests.
#[derive(Debug, Clone)]
pub struct IdentityHeaders {
    pub user_id: HeaderName,
    pub session_id: HeaderName,
    pub user_type: HeaderName,
    pub org_id: HeaderName,
    pub org_role: HeaderName,
    pub roles: HeaderName,
    pub permissions: HeaderName,
    pub feature_flags: HeaderName,
    pub onboarding_status: HeaderName,
    /// Lowercase names, with `_` written as `-`, of every header removed from clients.
    pub strip: Vec<String>,
    /// `[headers.claims]`: claims sent as headers of their own (also in `strip`).
    pub claims: Vec<crate::claim_headers::ClaimHeader>,
}

/// `[limits]`.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub http2_max_concurrent_streams: u32,
    /// The default request body limit of every route.
    pub max_body_bytes: Option<usize>,
    pub max_token_bytes: usize,
    pub header_read_timeout: Duration,
    pub max_header_bytes: usize,
    /// The request body's minimum rate (grace period and bytes per second).
    pub body_min_rate: crate::body::MinRate,
    /// How long a response may make no progress towards its client.
    pub response_write_timeout: Duration,
    /// HTTP/2 control-frame flood limits.
    pub http2_flood: FloodLimits,
}

/// The certificate and key files of the public listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Whether the upstream is reached over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

/// `[[upstreams]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub name: Arc<str>,
    pub scheme: Scheme,
    /// `host:port`.
    pub authority: String,
    /// Prefix put before every forwarded path, without a trailing `/` (often empty).
    pub path_prefix: String,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// Extra CA certificates for an `https://` upstream.
    pub ca_file: Option<PathBuf>,
    /// Reuse order, idle timeout, maximum age and size of the connection pool.
    pub pool: crate::upstream::pool::PoolSettings,
    /// How often the host is resolved again (`None`: never).
    pub resolve_every: Option<Duration>,
}

/// `[telemetry]`: where spans go; `otlp_endpoint: None` is off.
#[derive(Debug, Clone, PartialEq)]
pub struct Telemetry {
    pub otlp_endpoint: Option<String>,
    pub service_name: String,
    pub sample_ratio: f64,
    pub export_interval: Duration,
    pub export_timeout: Duration,
}

/// Whether a route's decisions are applied or only reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    /// Forward everything; log and count the decision that would have been taken.
    Report,
}

/// What a method override parameter (`_method=DELETE`) gets on a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodOverride {
    /// 400 `method_override`, whatever the overridden method.
    Refuse,
    /// Forwarded only when the overridden request would itself be forwarded.
    Authorize,
}

/// How user ids appear in logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserIdLogging {
    Plain,
    Hash,
    Omit,
}

/// `[logging]`.
#[derive(Debug, Clone)]
pub struct Logging {
    pub json: bool,
    pub user_id: UserIdLogging,
    pub request_id_header: HeaderName,
}

/// `[webhooks]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhooks {
    pub secret: WebhookSecret,
    pub path: String,
    pub tolerance: Duration,
    pub max_body_bytes: usize,
    /// `user.created` initializes metadata, when set.
    pub initialize: Option<users::Initialize>,
    /// Verified deliveries are passed on, when set.
    pub forward: Option<users::Forward>,
}

/// `[revocation]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub redis_url: Option<String>,
    pub ttl: Duration,
    pub prefix: String,
}

/// One compiled route (or the defaults).
#[derive(Debug, Clone)]
pub struct Route {
    pub name: Arc<str>,
    /// `None` only for the defaults.
    pub pattern: Option<Pattern>,
    pub methods: Option<MethodSet>,
    /// Index into `Config::upstreams`.
    pub upstream: usize,
    /// Who may pass and what is checked, in the decision order.
    pub policy: Policy,
    pub mode: Mode,
    /// Largest request body (413 beyond); `None`: no limit.
    pub max_body_bytes: Option<usize>,
    /// `Upgrade` protocols tunnelled on this route (lowercase; never `h2c`); an upgrade to
    /// anything else is stripped and the request forwarded as a plain one.
    pub upgrades: Vec<String>,
    /// What a method override parameter gets here.
    pub method_override: MethodOverride,
}

/// `[cache]`: bounds of the verified-token cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    pub enabled: bool,
    /// Most tokens held at once (at least 1).
    pub max_entries: usize,
    /// Approximate bytes held by cached tokens, identities and header values.
    pub max_bytes: usize,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            enabled: true,
            max_entries: 100_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

impl Config {
    /// Reads and compiles the file at `path`, reading `${VAR}` from the process environment.
    pub fn load(path: &std::path::Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: absolute(path).display().to_string(),
            source,
        })?;
        Config::from_file_text(&text, path)
    }

    /// Compiles `text` read from the file at `path`: messages name the file, and relative
    /// file paths in it resolve against its directory ([`paths`]).
    pub fn from_file_text(text: &str, path: &std::path::Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let mut config = Config::parse(text, &shown, &|name| std::env::var(name).ok())?;
        paths::resolve_relative(&mut config, &paths::base_dir(path));
        Ok(config)
    }

    /// Compiles config text; `source` names it in messages, `env` answers `${VAR}`.
    pub fn parse(
        text: &str,
        source: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        compile::compile_text(text, source, env)
    }

    /// The route that decides `method` + `path`, or the defaults.
    pub fn route_for(&self, method: &http::Method, path: &crate::path::NormalizedPath) -> &Route {
        self.table
            .lookup(method, path)
            .and_then(|i| self.routes.get(i))
            .unwrap_or(&self.defaults)
    }

    /// The upstream a route forwards to.
    pub fn upstream_of(&self, route: &Route) -> Option<&Upstream> {
        self.upstreams.get(route.upstream)
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

/// `[limits] http2_max_pings`, `http2_max_settings` and `http2_flood_window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloodLimits {
    /// Non-ACK PING frames allowed per window.
    pub max_pings: u32,
    /// Non-ACK SETTINGS frames allowed per window.
    pub max_settings: u32,
    pub window: Duration,
}

impl Default for FloodLimits {
    fn default() -> Self {
        FloodLimits {
            max_pings: 100,
            max_settings: 100,
            window: Duration::from_secs(10),
        }
    }
}
