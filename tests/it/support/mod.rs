//! The one test kit: real servers on loopback ports, a clock the test controls, tokens
//! minted with real RSA keys from one claims builder.
//!
//! - Time and tokens ([`claims`] module): [`NOW`] is the instant of every test clock;
//!   [`claims()`] is the valid user at `NOW`, changed with [`with`]/[`without`] and signed
//!   with [`token`]; [`live_claims`] is the same user by the real clock ([`wall_now`]) for
//!   doorman binaries.
//! - Requests ([`client`] module): `h.client.request(method, path)` dressed with
//!   [`RequestExt`] (`.bearer(jwt)`, `.navigate()`, `.cookie(..)`, `.with_header(..)`),
//!   [`Client::api`] for a bearer call, [`outcome`]/[`refused`] to compare answers.
//! - Servers: [`Harness`] (doorman + JWKS + echo upstream + clock), [`BASE_CONFIG`] and its
//!   variants, the fake Clerk API and the doorman binary as a process.
//!
//! Raw-socket and hand-framed HTTP/2 helpers live with the hostile suite (`hostile::tools`,
//! `hostile::h2raw`).

pub mod bapi;
pub mod claims;
pub mod clerk_api;
pub mod client;
pub mod jwks_server;
pub mod openapi;
pub mod process;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use doorman::app::{self, Options, Running};
use doorman::clock::ManualClock;
use doorman::config::Config;
use doorman::dev::echo::Echo;

pub use claims::{
    b64, claims, key, live_claims, other_key, raw_token, token, wall_now, with, without, AZP,
    ISSUER, KID, NOW,
};
pub use client::{outcome, refused, Client, Req, RequestExt};
pub use jwks_server::JwksServer;

/// The config every test starts from; `${JWKS_URL}` and `${UPSTREAM_URL}` are filled in.
pub const BASE_CONFIG: &str = r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
shutdown_grace = "2s"

[clerk]
issuer = "https://clerk.test.example"
jwks_url = "${JWKS_URL}"
authorized_parties = ["https://app.test.example"]
jwks_unknown_kid_interval = "30s"

[claims]
user_type = "/metadata/userType"
roles = "/metadata/roles"
permissions = "/metadata/permissions"
feature_flags = "/metadata/featureFlags"
onboarding_status = "/metadata/onboarding/status"
active = "/metadata/isActive"

[[upstreams]]
name = "app"
url = "${UPSTREAM_URL}"
timeout = "2s"

[defaults]
access = "signed_in"
onboarding = "required"

[[routes]]
name = "home"
path = "/"
access = "public"

[[routes]]
name = "public"
path = "/public/**"
access = "public"

[[routes]]
name = "sign-in"
path = "/sign-in/**"
access = "public"

[[routes]]
name = "onboarding"
path = "/onboarding/**"
onboarding = "incomplete_only"

[[routes]]
name = "onboarding-api"
path = "/api/onboarding/**"
onboarding = "skip"
respond = "api"

[[routes]]
name = "dashboard"
path = "/dashboard/**"

[[routes]]
name = "projects-read"
path = "/api/projects/**"
methods = ["GET"]
respond = "api"
permissions_all = ["view_project"]

[[routes]]
name = "projects-create"
path = "/api/projects"
methods = ["POST"]
respond = "api"
permissions_all = ["create_project"]

[[routes]]
name = "projects-edit"
path = "/api/projects/{id}"
methods = ["PUT"]
respond = "api"
permissions_any = ["edit_project", "org:projects:manage"]

[[routes]]
name = "vendor"
path = "/vendor/**"
user_types = ["vendor_company"]

[[routes]]
name = "org-admin"
path = "/org/settings/**"
org_roles_any = ["org:admin"]

[[routes]]
name = "search"
path = "/search/advanced/**"
feature_flags_all = ["advanced_search"]

[[routes]]
name = "admin"
path = "/admin/**"
roles_any = ["admin"]

[[routes]]
name = "api"
path = "/api/**"
respond = "api"

[[routes]]
name = "closed"
path = "/closed/**"
access = "deny"
"#;

/// [`BASE_CONFIG`] with `extra` added to `[clerk]`.
pub fn clerk_config(extra: &str) -> String {
    BASE_CONFIG.replace(
        "jwks_unknown_kid_interval = \"30s\"\n",
        &format!("jwks_unknown_kid_interval = \"30s\"\n{extra}\n"),
    )
}

/// [`BASE_CONFIG`] with `extra` appended as new sections.
pub fn config_with_sections(extra: &str) -> String {
    format!("{BASE_CONFIG}\n{extra}\n")
}

/// A running doorman with its JWKS server, echo upstream and clock.
pub struct Harness {
    pub doorman: Running,
    pub jwks: JwksServer,
    pub echo: Echo,
    pub clock: Arc<ManualClock>,
    pub client: Client,
}

impl Harness {
    /// Starts everything with [`BASE_CONFIG`].
    pub async fn start() -> Harness {
        Harness::with_config(BASE_CONFIG).await
    }

    /// Starts everything with `config` (which may use `${JWKS_URL}` and `${UPSTREAM_URL}`).
    pub async fn with_config(config: &str) -> Harness {
        let jwks = JwksServer::start(&[(key(), KID)]).await;
        let echo = Echo::start(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("echo");
        Harness::with_parts(config, jwks, echo, |_| None).await
    }

    /// Starts doorman against existing servers; `env` answers other `${VAR}`s.
    pub async fn with_parts(
        config: &str,
        jwks: JwksServer,
        echo: Echo,
        env: impl Fn(&str) -> Option<String>,
    ) -> Harness {
        let jwks_url = jwks.url();
        let upstream_url = format!("http://{}", echo.addr);
        let config = Config::parse(config, "test config", &|name| match name {
            "JWKS_URL" => Some(jwks_url.clone()),
            "UPSTREAM_URL" => Some(upstream_url.clone()),
            other => env(other),
        })
        .unwrap_or_else(|e| panic!("test config invalid: {e}"));
        let clock = Arc::new(ManualClock::new(NOW));
        let doorman = app::start(
            config,
            Options {
                clock: clock.clone(),
                ..Options::default()
            },
        )
        .await
        .expect("start doorman");
        assert!(
            doorman.wait_ready(Duration::from_secs(10)).await,
            "keys never loaded"
        );
        let client = Client::new(doorman.addr);
        Harness {
            doorman,
            jwks,
            echo,
            clock,
            client,
        }
    }

    /// A client with its own connection pool (pooled connections do not survive clock
    /// jumps).
    pub fn fresh_client(&self) -> Client {
        Client::new(self.client.addr)
    }

    /// The body of `/metrics`.
    pub async fn metrics(&self) -> String {
        Client::new(self.doorman.admin_addr)
            .get("/metrics")
            .await
            .text()
    }
}

/// Asserts that the upstream received nothing since it had seen `before` requests.
#[track_caller]
pub fn assert_nothing_forwarded(h: &Harness, before: usize, what: &str) {
    let now = h.echo.count();
    assert_eq!(
        now,
        before,
        "{what}: the upstream received {} request(s): {:?}",
        now - before,
        h.echo.seen()[before..]
            .iter()
            .map(|s| format!("{} {}", s.method, s.target))
            .collect::<Vec<_>>()
    );
}

/// Polls `cond` every 10 ms until it holds or `deadline` passes; returns whether it held.
pub async fn eventually<F, Fut>(deadline: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + deadline;
    loop {
        if cond().await {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
