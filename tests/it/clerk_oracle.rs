//! The differential test against Clerk itself: every vector of
//! `tests/vectors/clerk-oracle.json` (what `@clerk/backend`'s `authenticateRequest` decided,
//! run offline by `tools/clerk-oracle`) is replayed against doorman over real sockets, with
//! the same key, clock, cookies and Backend API answers, and must end the same way: signed
//! in as the same user, signed out, or a handshake with the same `Location` parameters.
//!
//! The only exceptions are in [`DIFFERENCES`], each with doorman's outcome and the reason;
//! they are the rows of the differences table in `docs/clerk.md`. Regenerate the vectors
//! with `cd tools/clerk-oracle && npm ci && npm run generate`.

use std::collections::BTreeMap;
use std::sync::Arc;

use doorman::app::{self, Options, Running};
use doorman::clock::ManualClock;
use doorman::config::Config;
use doorman::dev::echo::Echo;
use serde_json::Value;

use crate::support::clerk_api::{FakeClerk, SECRET_KEY};
use crate::support::Client;

/// Scenarios where doorman deliberately decides otherwise: (scenario, doorman's outcome,
/// why). Every entry must still differ from Clerk, and doorman must give exactly this.
const DIFFERENCES: &[(&str, &str, &str)] = &[
    // RFC 9110 §11.1: the scheme is case-insensitive. Clerk only knows `Bearer`.
    (
        "header lowercase bearer",
        "signed-in user_a",
        "RFC 9110: auth scheme is case-insensitive",
    ),
    (
        "header uppercase BEARER",
        "signed-in user_a",
        "RFC 9110: auth scheme is case-insensitive",
    ),
    // Strictness doorman documents (docs/clerk.md, "Tokens: what is verified").
    ("header without sid", "signed-out", "sid is required"),
    (
        "header issuer with http scheme",
        "signed-out",
        "iss is compared exactly",
    ),
    (
        "suffix: unsuffixed without iss next to a suffixed pair",
        "signed-out",
        "iss is required and compared exactly",
    ),
    // Clerk only stops at exactly 3 (`=== 3`); a tampered counter above 3 loops again.
    (
        "redirect count 4 with an expired cookie",
        "signed-out",
        "the loop guard is >= 3",
    ),
    // Clerk answers a development handshake return with a redirect to the cleaned URL;
    // doorman forwards the request (with the fresh cookies) at once.
    (
        "dev: handshake nonce in the query",
        "signed-in user_fresh",
        "no extra redirect after a development handshake",
    ),
];

struct Instance {
    running: Running,
    echo: Echo,
    clerk: FakeClerk,
    frontend_api: String,
}

fn vectors() -> Value {
    let path = format!(
        "{}/tests/vectors/clerk-oracle.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn start(v: &Value, name: &str) -> Instance {
    let inst = &v["instances"][name];
    let s = |k: &str| inst[k].as_str().unwrap().to_string();
    let echo = Echo::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let clerk = FakeClerk::start().await;
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
[clerk]
issuer = "{issuer}"
public_key_pem = """{pem}"""
authorized_parties = ["{app}"]
publishable_key = "{pk}"
secret_key = "{SECRET_KEY}"
api_url = "{bapi}"
app_origin = "{app}"
[[upstreams]]
name = "app"
url = "http://{echo}"
[defaults]
access = "signed_in"
onboarding = "skip"
"#,
        issuer = s("issuer"),
        pem = v["public_key_pem"].as_str().unwrap(),
        app = s("app"),
        pk = s("publishableKey"),
        bapi = clerk.url(),
        echo = echo.addr,
    );
    let config = Config::parse(&text, "oracle config", &|_| None).unwrap();
    let now = v["now"].as_i64().unwrap();
    let running = app::start(
        config,
        Options {
            clock: Arc::new(ManualClock::new(now)),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let host = s("issuer").replace("https://", "");
    Instance {
        running,
        echo,
        clerk,
        frontend_api: format!("https://{host}/v1/client/handshake"),
    }
}

/// `a=1&b=x+y` as ordered, form-decoded pairs (as `URLSearchParams` reads them).
fn params(query: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// A handshake `Location` as comparable text: the endpoint, then each parameter, with
/// `redirect_url` itself split into its URL and parameters.
fn handshake_shape(location: &str) -> String {
    let (endpoint, query) = location.split_once('?').unwrap_or((location, ""));
    let mut out = vec![endpoint.to_string()];
    for (k, v) in params(query) {
        if k == "redirect_url" {
            let (url, q) = v.split_once('?').unwrap_or((&v, ""));
            out.push(format!("redirect_url={url} {:?}", params(q)));
        } else {
            out.push(format!("{k}={v}"));
        }
    }
    out.join("\n  ")
}

/// Clerk's recorded outcome, in the comparable form.
fn expected(e: &Value) -> String {
    match e["status"].as_str().unwrap() {
        "signed-in" if e.get("location").is_some() => format!(
            "signed-in {} and redirect",
            e["user_id"].as_str().unwrap_or("")
        ),
        "signed-in" => format!("signed-in {}", e["user_id"].as_str().unwrap_or("")),
        "handshake" => format!(
            "handshake {}",
            handshake_shape(e["location"].as_str().unwrap())
        ),
        _ => "signed-out".to_string(),
    }
}

/// Sends one vector's request to doorman; its outcome in the comparable form.
async fn replay(inst: &Instance, vector: &Value) -> String {
    if let Some(nonces) = vector["nonces"].as_object() {
        for (nonce, directives) in nonces {
            let d = directives.as_array().unwrap();
            let d = d.iter().map(|x| x.as_str().unwrap().to_string()).collect();
            inst.clerk.add_nonce(nonce, d);
        }
    }
    let client = Client::new(inst.running.addr);
    let mut req = client.request(
        vector["method"].as_str().unwrap(),
        vector["path"].as_str().unwrap(),
    );
    for (k, v) in vector["headers"].as_object().unwrap() {
        req.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v.as_str().unwrap()).unwrap(),
        );
    }
    let before = inst.echo.count();
    let reply = client.send(req).await;
    let location = reply.header("location").unwrap_or("");
    match reply.status.as_u16() {
        200 if inst.echo.count() == before + 1 => {
            let seen = inst.echo.last().unwrap();
            format!("signed-in {}", seen.header("x-user-id").unwrap_or_default())
        }
        307 if location.starts_with(&inst.frontend_api) => {
            format!("handshake {}", handshake_shape(location))
        }
        302 | 303 if location.starts_with("/sign-in") => "signed-out".to_string(),
        401 => "signed-out".to_string(),
        status => format!("unexpected {status} {location} {}", reply.text()),
    }
}

#[tokio::test]
async fn doorman_decides_every_vector_as_clerk_does_or_as_documented() {
    let v = vectors();
    let all = v["vectors"].as_array().unwrap();
    assert!(all.len() >= 80, "only {} vectors", all.len());
    let mut instances = BTreeMap::new();
    for name in ["production", "development"] {
        instances.insert(name, start(&v, name).await);
    }
    let mut failures = Vec::new();
    let mut differing = Vec::new();
    for vector in all {
        let name = vector["name"].as_str().unwrap();
        let inst = &instances[vector["instance"].as_str().unwrap()];
        let clerk = expected(&vector["expect"]);
        let ours = replay(inst, vector).await;
        match DIFFERENCES.iter().find(|(n, _, _)| *n == name) {
            Some((_, documented, why)) => {
                differing.push(name);
                if ours != *documented || clerk == ours {
                    failures.push(format!(
                        "{name} (documented difference: {why})\n  clerk:   {clerk}\n  doorman: {ours}\n  documented: {documented}"
                    ));
                }
            }
            None if ours != clerk => {
                failures.push(format!("{name}\n  clerk:   {clerk}\n  doorman: {ours}"));
            }
            None => {}
        }
    }
    let stale: Vec<_> = DIFFERENCES
        .iter()
        .filter(|(n, _, _)| !differing.contains(n))
        .map(|(n, _, _)| n)
        .collect();
    assert!(stale.is_empty(), "differences without a vector: {stale:?}");
    assert!(
        failures.is_empty(),
        "{} of {} vectors disagree with Clerk:\n\n{}",
        failures.len(),
        all.len(),
        failures.join("\n\n")
    );
}
