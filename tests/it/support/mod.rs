//! Test harness: real servers on loopback ports, a clock the test controls, tokens minted
//! with real RSA keys from a claims builder.

pub mod bapi;
pub mod clerk_api;
pub mod client;
pub mod jwks_server;
pub mod openapi;
pub mod process;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use doorman::app::{self, Options, Running};
use doorman::clock::ManualClock;
use doorman::config::Config;
use doorman::echo::Echo;
use doorman::mint::{mint, sign_raw, SigningKey};
use serde_json::{json, Value};

pub use client::Client;
pub use jwks_server::JwksServer;

/// The "now" of every test clock: a fixed, readable instant.
pub const NOW: i64 = 1_800_000_000;
pub const ISSUER: &str = "https://clerk.test.example";
pub const AZP: &str = "https://app.test.example";
pub const KID: &str = "ins_test_1";

/// One RSA key per test binary: generating 2048-bit keys is slow.
pub fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate_2048().expect("generate test key"))
}

/// A second key, for rotation and wrong-key tests.
pub fn other_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate_2048().expect("generate test key"))
}

/// Claims of a valid, onboarded, active user, valid at [`NOW`].
pub fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "sub": "user_1",
        "sid": "sess_1",
        "azp": AZP,
        "iat": NOW - 5,
        "nbf": NOW - 15,
        "exp": NOW + 55,
        "v": 2,
        "metadata": {
            "userType": "freelancer",
            "isActive": true,
            "roles": [{"name": "member", "permissions": ["view_project"]}],
            "permissions": [],
            "featureFlags": {"advanced_search": true, "beta": false},
            "onboarding": {"status": "completed"},
        }
    })
}

/// Sets `value` at the JSON pointer `pointer` inside `claims` (creating objects on the way).
pub fn with(mut claims: Value, pointer: &str, value: Value) -> Value {
    let mut target = &mut claims;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            target[*part] = value;
            break;
        }
        if target.get(*part).is_none() {
            target[*part] = json!({});
        }
        target = &mut target[*part];
    }
    claims
}

/// Removes the claim at `pointer`.
pub fn without(mut claims: Value, pointer: &str) -> Value {
    let (parent, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    if let Some(obj) = claims.pointer_mut(parent).and_then(Value::as_object_mut) {
        obj.remove(last);
    }
    claims
}

/// A token for `claims` signed by the test key.
pub fn token(claims: &Value) -> String {
    mint(key(), KID, claims).expect("mint")
}

/// A token with a hand-written header and payload (for hostile inputs).
pub fn raw_token(header: &str, payload: &str) -> String {
    sign_raw(key(), header, payload).expect("sign")
}

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

    /// The body of `/metrics`.
    pub async fn metrics(&self) -> String {
        Client::new(self.doorman.admin_addr)
            .get("/metrics")
            .await
            .text()
    }
}
