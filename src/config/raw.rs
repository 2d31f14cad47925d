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
    #[serde(default)]
    pub logging: RawLogging,
    #[serde(default)]
    pub telemetry: RawTelemetry,
    pub webhooks: Option<RawWebhooks>,
    /// `[forward_auth]`: off when absent.
    pub forward_auth: Option<super::forward_auth::RawForwardAuth>,
    #[serde(default)]
    pub revocation: RawRevocation,
    /// `doorman users` and the webhook initializer: where claims live, defaults per type.
    #[serde(default)]
    pub users: RawUsers,
    /// `[session]`: the front end's session endpoint (off without it).
    pub session: Option<RawSession>,
    /// `[assertion]`: the signed identity assertion (off without it).
    pub assertion: Option<super::assertion::RawAssertion>,
    /// The role catalog: role name → the permissions it grants. Documentation that
    /// `doorman check` verifies routes against; the token's claims still decide.
    #[serde(default)]
    pub roles: std::collections::BTreeMap<String, Vec<String>>,
}

/// `[webhooks]`: Clerk's Svix-signed webhooks, verified and acted on at the edge.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhooks {
    /// `whsec_…`, usually `${CLERK_WEBHOOK_SECRET}`; enables the endpoint.
    pub secret: Option<String>,
    /// Path on the public listener (POST only). Default `/clerk/webhooks`.
    pub path: Option<String>,
    /// How far `svix-timestamp` may be from now. Default `5m`.
    pub tolerance: Option<String>,
    /// Largest accepted body. Default 262144 bytes.
    pub max_body_bytes: Option<u64>,
    /// On `user.created`, write the defaults of the user's type (`[users.types.*]`) where
    /// the metadata has nothing yet. Needs `[clerk] secret_key`. Default false.
    pub initialize: Option<bool>,
    /// JSON pointer into the event's user object naming the type chosen at sign-up.
    /// Default `/unsafe_metadata/userType`.
    pub initialize_type_from: Option<String>,
    /// The type of a user whose event names none or an unknown one. Default: none (left alone).
    pub initialize_default_type: Option<String>,
    /// Time allowed to read and write one user's metadata. Default `5s`.
    pub initialize_timeout: Option<String>,
    /// Pass verified deliveries on: `<upstream name>/<path>` or an `http(s)://` URL.
    pub forward_to: Option<String>,
    /// Time allowed for one forwarding attempt. Default `10s`.
    pub forward_timeout: Option<String>,
    /// First wait between forwarding attempts, doubling up to 1 minute. Default `1s`.
    pub forward_backoff: Option<String>,
    /// How long a delivery is retried before it is dropped. Default `4m` (Svix libraries
    /// refuse a `svix-timestamp` older than 5 minutes).
    pub forward_retry_for: Option<String>,
}

/// `[users]`: where the claims `doorman users` writes live, beyond `[claims]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUsers {
    /// The session token claim filled from public metadata. Default `/metadata`.
    pub metadata_claim: Option<String>,
    /// Claim pointer of the onboarding step (a number), e.g. `/metadata/onboarding/step`.
    pub onboarding_step: Option<String>,
    /// Claim pointer of the number of onboarding steps, e.g. `/metadata/onboarding/totalSteps`.
    pub onboarding_total_steps: Option<String>,
    /// Claim pointer of the organization object, e.g. `/metadata/organization`.
    pub organization: Option<String>,
    /// Onboarding statuses `validate` accepts. Default `["not_started", "in_progress",
    /// "completed"]` plus `[claims] onboarding_complete_values`.
    pub onboarding_statuses: Option<Vec<String>>,
    /// `[users.types.<name>]`: field → default value (`roles`, `permissions`,
    /// `feature_flags`, `onboarding_status`, `onboarding_step`, `onboarding_total_steps`,
    /// `active`, `organization`, and `metadata` for other public metadata).
    pub types: Option<std::collections::BTreeMap<String, toml::Table>>,
}

/// `[revocation]`: what webhooks revoke, and how replicas share it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRevocation {
    /// `redis://host:port[/db]`: share revocations across replicas. Without it they are local.
    pub redis_url: Option<String>,
    /// How long an entry lives: longer than a token can stay valid. Default `2m`.
    pub ttl: Option<String>,
    /// Redis key and channel prefix. Default `doorman`.
    pub prefix: Option<String>,
}

/// `[telemetry]`: OpenTelemetry tracing, off unless `otlp_endpoint` is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelemetry {
    /// OTLP/HTTP traces endpoint, e.g. `http://otel-collector:4318/v1/traces`. Default: off.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the spans. Default `doorman`.
    pub service_name: Option<String>,
    /// Share of new traces sampled, 0.0 to 1.0 (a trusted parent's choice is kept). Default 1.0.
    pub sample_ratio: Option<f64>,
    /// How often batches of spans are sent. Default `5s`.
    pub export_interval: Option<String>,
    /// Time allowed for one export. Default `10s`.
    pub export_timeout: Option<String>,
}

/// `[logging]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogging {
    /// `text` (default) or `json`; `DOORMAN_LOG_FORMAT` overrides.
    pub format: Option<String>,
    /// How user ids appear in logs: `plain` (default), `hash` or `omit`.
    pub user_id: Option<String>,
    /// Header carrying the request id (kept when valid, generated otherwise). Default `X-Request-Id`.
    pub request_id_header: Option<String>,
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
    /// `enforce` (default) or `report`: the default mode of every route.
    pub mode: Option<String>,
    /// CORS preflights (`OPTIONS` with `Origin` and `Access-Control-Request-Method`):
    /// `authenticate` (default: decided like any request) or `forward` (to the upstream,
    /// without identity, since browsers send preflights without credentials).
    pub cors_preflight: Option<String>,
    /// Form and query parameters that frameworks read as a method override (Rails, Laravel,
    /// Symfony, Sinatra): refused or authorized per route. Default `["_method"]`; `[]`
    /// turns the check off.
    pub method_override_params: Option<Vec<String>>,
    /// Who serves plain HTTP/1.1 connections: `doorman` (default: its own loop for bodiless
    /// requests, hyper for the rest) or `hyper` (hyper for every request).
    pub http1: Option<String>,
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
    /// `pk_live_…`/`pk_test_…`: gives the Frontend API host and the cookie suffix.
    pub publishable_key: Option<String>,
    /// `sk_live_…`/`sk_test_…`: Backend API key for the handshake nonce exchange (and sent as
    /// `Authorization: Bearer` to `jwks_url`). Usually `${CLERK_SECRET_KEY}`.
    pub secret_key: Option<String>,
    /// Backend API base URL. Default `https://api.clerk.com`.
    pub api_url: Option<String>,
    /// Frontend API base URL. Default `https://<host from publishable_key>`.
    pub frontend_api_url: Option<String>,
    /// The site's public origin (`https://example.com`) used in handshake `redirect_url`s.
    /// Default: from `Host` and a trusted `X-Forwarded-Proto`.
    pub app_origin: Option<String>,
    /// Refused: satellite domains are not supported (see `docs/clerk.md`).
    pub is_satellite: Option<bool>,
    /// Refused with `is_satellite`: a satellite's primary domain.
    pub domain: Option<String>,
    /// Time allowed for one nonce exchange with the Backend API. Default `5s`.
    pub handshake_timeout: Option<String>,
    /// Extra PEM CA certificates trusted for `jwks_url` and the Backend API (besides the
    /// built-in webpki roots).
    pub ca_file: Option<String>,
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
    /// Per user type, the pointers a finished onboarding must carry.
    pub onboarding_requires: Option<std::collections::BTreeMap<String, Vec<String>>>,
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
    /// `[headers.claims]`: header name → JSON pointer of a claim sent upstream as that header.
    pub claims: Option<std::collections::BTreeMap<String, String>>,
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
    /// Maximum size of the request head (431 beyond). Default 65536 bytes.
    pub max_header_bytes: Option<u64>,
    /// Client connections open at once; more are refused (503 and closed). Default 10000.
    pub max_connections: Option<u64>,
    /// Largest request body on any route (413 beyond); routes may set a smaller one.
    /// Default: no limit.
    pub max_body_bytes: Option<u64>,
    /// Concurrent streams per HTTP/2 connection. Default 256.
    pub http2_max_concurrent_streams: Option<u64>,
    /// Time a request body may spend waiting for the client before `request_body_min_rate`
    /// applies; each byte received earns `1 / min_rate` seconds more (Apache mod_reqtimeout's
    /// `body=20,MinRate=500`). A body that falls behind gets 408 and never completes
    /// upstream. Default `20s`.
    pub request_body_timeout: Option<String>,
    /// Minimum average rate of a request body once `request_body_timeout` is used up, in
    /// bytes per second. Default 500.
    pub request_body_min_rate: Option<u64>,
    /// Time a response may make no progress towards a client that stopped reading it; the
    /// connection (and the upstream exchange) is then closed. Default `60s`.
    pub response_write_timeout: Option<String>,
    /// Non-ACK PING frames an HTTP/2 client may send per `http2_flood_window`; more draw a
    /// GOAWAY (ENHANCE_YOUR_CALM). Default 100.
    pub http2_max_pings: Option<u64>,
    /// Non-ACK SETTINGS frames an HTTP/2 client may send per `http2_flood_window`; more draw
    /// a GOAWAY (ENHANCE_YOUR_CALM). Default 100.
    pub http2_max_settings: Option<u64>,
    /// The window of `http2_max_pings` and `http2_max_settings`. Default `10s`.
    pub http2_flood_window: Option<String>,
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
    /// Extra PEM CA certificates trusted for an `https://` upstream (besides webpki roots).
    pub ca_file: Option<String>,
    /// Close a pooled connection unused this long. Default `60s`.
    pub idle_timeout: Option<String>,
    /// Close a connection this old when it comes back to the pool. Default `5m`.
    pub max_connection_age: Option<String>,
    /// Resolve the host again this often; `"0s"` never. Default `30s`.
    pub resolve_every: Option<String>,
    /// Which idle connection the next request takes: `fifo` (default) or `lifo`.
    pub reuse: Option<String>,
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
    /// `enforce` or `report`; default `[server] mode`.
    pub mode: Option<String>,
    /// Upgrade protocols (`Upgrade` tokens) tunnelled for unmatched requests. Default
    /// `["websocket"]`; `h2c` is never allowed.
    pub upgrades: Option<Vec<String>>,
    /// `refuse` (default) or `authorize`: what a method override parameter gets, here and
    /// on every route without its own `method_override`.
    pub method_override: Option<String>,
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
    /// Claim conditions: CEL expressions over `claims`, all of which must hold.
    pub conditions: Option<Vec<RawCondition>>,
    pub respond: Option<String>,
    /// `enforce` or `report` (forward, but log and count what would have happened).
    pub mode: Option<String>,
    /// Largest request body on this route (413 beyond). Default `[limits] max_body_bytes`.
    pub max_body_bytes: Option<u64>,
    /// Upgrade protocols (`Upgrade` tokens) tunnelled on this route; others are stripped.
    /// Default `["websocket"]`; `[]` tunnels nothing; `h2c` is never allowed.
    pub upgrades: Option<Vec<String>>,
    /// `refuse` or `authorize` (the overridden method must pass the route table too).
    /// Default `[defaults] method_override`.
    pub method_override: Option<String>,
}

/// `[session]`: `GET <path>` answers the caller's parsed identity as JSON.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSession {
    /// The path it answers on, e.g. `/api/doorman/session`. Required.
    pub path: Option<String>,
    /// Origins allowed besides the request's own host (`https://app.example`). Default none.
    pub allowed_origins: Option<Vec<String>>,
}

/// One entry of a route's `conditions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCondition {
    /// Names the condition in logs, metrics and `explain`.
    pub label: Option<String>,
    /// A CEL expression over `claims` (the verified token's payload).
    pub cel: Option<String>,
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
