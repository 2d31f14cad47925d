//! Criterion benchmarks of issue 13's additions on the warm path (docs/performance.md,
//! "Claim conditions"): one CEL condition evaluated on cached claims against the same check
//! in a declarative TOML form (a JSON pointer and a comparison), the whole warm auth decision
//! (facts + route + cached token + decide) on a route with a condition against one without,
//! and the one-off cost per new token of keeping the claims as CEL values. The signed
//! identity assertion ("Signed identity assertion"): the warm request's token-to-upstream-head
//! work (cached token, `forward::prepare`) with the session's prepared assertion attached
//! against without it, the cached lookup alone, and signing one (a miss) per algorithm.
//!
//! `cargo bench --bench claims` (add `-- --quick` for a fast pass).

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderMap, HeaderValue, Method, Uri};
use serde_json::{json, Value};

use doorman::authn::token::{authenticate, session_for, Authenticated};
use doorman::cache::{TokenCache, Validity};
use doorman::clock::{Clock, SystemClock};
use doorman::condition::{ClaimData, Condition};
use doorman::config::{CacheSettings, Config};
use doorman::decide::decide;
use doorman::dev::mint::{mint, SigningKey};
use doorman::jwks::KeyStore;
use doorman::metrics::Metrics;
use doorman::request::Facts;
use doorman::token::verify_with_keys;

const KID: &str = "ins_bench";
const ISSUER: &str = "https://clerk.bench.example";

fn config(key: &SigningKey) -> Config {
    let pem = key.public_key_pem().expect("public key");
    let text = format!(
        r#"
[clerk]
issuer = "{ISSUER}"
public_key_pem = """{pem}"""
[claims]
roles = "/metadata/roles"
permissions = "/metadata/permissions"
onboarding_status = "/metadata/onboarding"
user_type = "/metadata/userType"
[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"
[[routes]]
name = "plain"
path = "/api/plain/**"
respond = "api"
permissions_all = ["view_project"]
[[routes]]
name = "condition"
path = "/api/condition/**"
respond = "api"
permissions_all = ["view_project"]
conditions = [{{ label = "budget_10k", cel = "claims.metadata.maxBudgetApproval >= 10000" }}]
[assertion]
"#
    );
    Config::parse(&text, "bench.toml", &|_| None).expect("bench config")
}

fn claims() -> Value {
    json!({
        "iss": ISSUER, "sub": "user_2abc", "sid": "sess_2abc", "iat": 1, "nbf": 1,
        "exp": 4_000_000_000i64, "v": 2,
        "metadata": {
            "userType": "customer_organization", "onboarding": "completed",
            "roles": [{"name": "member", "permissions": ["view_project", "create_project"]}],
            "permissions": ["edit_project"],
            "featureFlags": {"advanced_search": true, "beta": false},
            "organization": {"id": "org_1", "name": "Globex", "role": "admin"},
            "freelancer": {"tier": "premium", "verified": true},
            "complianceStatus": "compliant", "maxBudgetApproval": 25000, "apiAccess": "full",
        }
    })
}

/// The declarative alternative: `{ claim = "/metadata/x", equals = … | at_least = … | one_of = […] }`.
enum Rule {
    Equals(Value),
    AtLeast(f64),
    OneOf(Vec<Value>),
}

struct TomlCondition {
    pointer: &'static str,
    rule: Rule,
}

impl TomlCondition {
    fn holds(&self, payload: &Value) -> bool {
        let Some(value) = payload.pointer(self.pointer) else {
            return false;
        };
        match &self.rule {
            Rule::Equals(want) => value == want,
            Rule::AtLeast(min) => value.as_f64().is_some_and(|v| v >= *min),
            Rule::OneOf(items) => items.contains(value),
        }
    }
}

fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the benchmarked path awaited"),
    }
}

fn single_conditions(c: &mut Criterion) {
    let mut group = c.benchmark_group("conditions");
    let payload = claims();
    let data = ClaimData::new(&payload);
    let env = Condition::environment();
    let cases = [
        (
            "bool",
            "claims.metadata.freelancer.verified == true",
            TomlCondition {
                pointer: "/metadata/freelancer/verified",
                rule: Rule::Equals(json!(true)),
            },
        ),
        (
            "string",
            "claims.metadata.complianceStatus == 'compliant'",
            TomlCondition {
                pointer: "/metadata/complianceStatus",
                rule: Rule::Equals(json!("compliant")),
            },
        ),
        (
            "number",
            "claims.metadata.maxBudgetApproval >= 10000",
            TomlCondition {
                pointer: "/metadata/maxBudgetApproval",
                rule: Rule::AtLeast(10000.0),
            },
        ),
        (
            "one_of",
            "claims.metadata.freelancer.tier in ['premium', 'enterprise']",
            TomlCondition {
                pointer: "/metadata/freelancer/tier",
                rule: Rule::OneOf(vec![json!("premium"), json!("enterprise")]),
            },
        ),
    ];
    for (name, cel, toml) in cases {
        let condition = Condition::compile(name, cel, &env).expect("compiles");
        assert!(condition.evaluate(Some(&data)).is_ok() && toml.holds(&payload));
        group.bench_function(format!("cel_{name}"), |b| {
            b.iter(|| condition.evaluate(black_box(Some(&data))))
        });
        group.bench_function(format!("toml_{name}"), |b| {
            b.iter(|| toml.holds(black_box(&payload)))
        });
    }
    group.bench_function("claims_to_cel_once_per_token", |b| {
        b.iter(|| ClaimData::new(black_box(&payload)))
    });
    group.finish();
}

fn warm_path(c: &mut Criterion) {
    let key = SigningKey::generate_2048().expect("key");
    let config = config(&key);
    let store = KeyStore::new(&config.clerk, Arc::new(Metrics::new())).expect("key store");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(store.load()).expect("load keys");
    let keys = store.current_keys().expect("keys");
    let token = mint(&key, KID, &claims()).expect("mint");
    let verified =
        verify_with_keys(&token, &keys, &config.clerk.verify, 1_000_000, 16 * 1024).expect("ok");
    let cache = TokenCache::new(&CacheSettings::default(), 5);
    cache.insert(
        &token,
        Arc::new(session_for(&verified, &config)),
        Validity::of(&verified),
        &keys,
        SystemClock.now_unix(),
    );
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("app.example"));
    headers.insert("accept", HeaderValue::from_static("application/json"));
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
    );
    let mut group = c.benchmark_group("warm_decision");
    for (name, path) in [
        ("without_condition", "/api/plain/42"),
        ("with_condition", "/api/condition/42"),
    ] {
        let uri: Uri = path.parse().expect("uri");
        group.bench_function(name, |b| {
            b.iter(|| {
                let facts = Facts::read(&Method::GET, black_box(&uri), &headers).expect("facts");
                let route = config.route_for(facts.method, &facts.path);
                let Authenticated { auth, session, .. } = ready(authenticate(
                    &headers,
                    &config,
                    &store,
                    Some(&cache),
                    &SystemClock,
                    "__session",
                ));
                let settings = doorman::decide::Settings::of(&config);
                let decision = decide(&facts, &route.policy, &auth, &settings);
                assert_eq!(decision, doorman::decision::Decision::Forward);
                (decision, session)
            })
        });
    }
    group.finish();
}

/// The warm request from its token to the upstream head, with and without the assertion;
/// the cached lookup alone; one signature per algorithm (what a cache miss adds).
fn assertion(c: &mut Criterion) {
    use doorman::assertion::{sign, Assertions};
    use doorman::config::assertion::Algorithm;
    use prometheus_client::metrics::counter::Counter;

    let key = SigningKey::generate_2048().expect("key");
    let config = config(&key);
    let store = KeyStore::new(&config.clerk, Arc::new(Metrics::new())).expect("key store");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(store.load()).expect("load keys");
    let keys = store.current_keys().expect("keys");
    let token = mint(&key, KID, &claims()).expect("mint");
    let verified =
        verify_with_keys(&token, &keys, &config.clerk.verify, 1_000_000, 16 * 1024).expect("ok");
    let cache = TokenCache::new(&CacheSettings::default(), 5);
    cache.insert(
        &token,
        Arc::new(session_for(&verified, &config)),
        Validity::of(&verified),
        &keys,
        SystemClock.now_unix(),
    );
    let settings = config.assertion.clone().expect("[assertion]");
    let now = SystemClock.now_unix();
    let assertions = Assertions::new(&settings, None, Counter::default(), now).expect("keys");
    let authorization = HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
    let peer = std::net::IpAddr::from([203, 0, 113, 7]);
    let request = |authorization: &HeaderValue| {
        let (parts, ()) = http::Request::builder()
            .uri("/api/plain/42")
            .header("host", "app.example")
            .header("accept", "application/json")
            .header("authorization", authorization.clone())
            .body(())
            .expect("request")
            .into_parts();
        parts
    };
    let mut group = c.benchmark_group("assertion");
    for attach in [false, true] {
        let name = if attach {
            "warm_with_cached_assertion"
        } else {
            "warm_without_assertion"
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut parts = request(&authorization);
                let Authenticated { session, .. } = ready(authenticate(
                    &parts.headers,
                    &config,
                    &store,
                    Some(&cache),
                    &SystemClock,
                    "__session",
                ));
                let session = session.expect("cached session");
                let assertion = attach
                    .then(|| assertions.attach(&session, 0, SystemClock.now_unix()))
                    .flatten();
                doorman::forward::prepare(
                    &mut parts,
                    Some(&session.headers),
                    assertion,
                    peer,
                    false,
                    &config,
                );
                parts
            })
        });
    }
    let session = Arc::new(session_for(&verified, &config));
    assertions.attach(&session, 0, now).expect("signed");
    group.bench_function("cached_lookup_only", |b| {
        b.iter(|| assertions.attach(black_box(&session), 0, SystemClock.now_unix()))
    });
    let identity = session.identity.clone();
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let key = doorman::assertion::keys::SigningKey::generate(alg).expect("key");
        let stamp = sign::Stamp {
            issuer: "doorman",
            audience: "app",
            iat: now,
            lifetime: 60,
        };
        group.bench_function(format!("sign_miss_{}", alg.as_str()), |b| {
            b.iter(|| sign::compact(&key, black_box(&stamp), &identity).expect("signed"))
        });
    }
    group.finish();
}

fn all(c: &mut Criterion) {
    single_conditions(c);
    warm_path(c);
    assertion(c);
}

criterion_group!(benches, all);
criterion_main!(benches);
