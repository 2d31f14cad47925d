//! Criterion benchmarks of the pure stages (docs/performance.md): route lookup with 10 / 100 / 1,000
//! routes, token verification uncached (RS256, 2048-bit) and cached, claims decoding (v1,
//! and v2 with an `fpm` bitmask), `decide`, header preparation, and the auth decision alone
//! (facts + route + cached token + decide), which must stay under 2 µs.
//!
//! `cargo bench --bench stages` (add `-- --quick` for a fast pass). Everything is built
//! from doorman's own public API; tokens are minted here from readable claims.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use serde_json::{json, Value};

use doorman::authn::token::{authenticate, session_for, Authenticated};
use doorman::cache::{TokenCache, Validity};
use doorman::clock::{Clock, SystemClock};
use doorman::config::{CacheSettings, Config};
use doorman::decide::decide;
use doorman::dev::mint::{mint, SigningKey};
use doorman::jwks::KeyStore;
use doorman::keys::KeySet;
use doorman::metrics::Metrics;
use doorman::path::normalize;
use doorman::request::Facts;
use doorman::token::claims::Identity;
use doorman::token::{from_slice_strict, verify_with_keys, ParsedToken, VerifiedClaims};

const KID: &str = "ins_bench";
const ISSUER: &str = "https://clerk.bench.example";

/// A config with `extra` routes besides a few realistic ones, keyed by a PEM public key.
fn config(key: &SigningKey, extra: usize) -> Config {
    let pem = key.public_key_pem().expect("public key");
    let mut text = format!(
        r#"
[clerk]
issuer = "{ISSUER}"
public_key_pem = """{pem}"""
[claims]
roles = "/metadata/roles"
permissions = "/metadata/permissions"
feature_flags = "/metadata/featureFlags"
onboarding_status = "/metadata/onboarding"
user_type = "/metadata/userType"
[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"
[[routes]]
name = "public"
path = "/public/**"
access = "public"
[[routes]]
name = "projects"
path = "/api/projects/{{id}}"
methods = ["GET"]
respond = "api"
permissions_all = ["view_project"]
"#
    );
    for i in 0..extra {
        text.push_str(&format!(
            "[[routes]]\nname = \"r{i}\"\npath = \"/area{}/section{}/{{id}}/item{i}/**\"\n",
            i % 10,
            i % 7
        ));
    }
    Config::parse(&text, "bench.toml", &|_| None).expect("bench config")
}

fn claims_v1() -> Value {
    json!({
        "iss": ISSUER, "sub": "user_2abc", "sid": "sess_2abc", "iat": 1, "nbf": 1,
        "exp": 4_000_000_000i64,
        "org_id": "org_1", "org_role": "org:admin",
        "org_permissions": ["org:projects:manage", "org:billing:read"],
        "metadata": {
            "userType": "freelancer", "onboarding": "completed",
            "roles": [{"name": "member", "permissions": ["view_project", "create_project"]}],
            "permissions": ["edit_project"],
            "featureFlags": {"advanced_search": true, "beta": false},
        }
    })
}

fn claims_v2() -> Value {
    let mut claims = claims_v1();
    let object = claims.as_object_mut().expect("object");
    for key in ["org_id", "org_role", "org_permissions"] {
        object.remove(key);
    }
    object.insert("v".into(), json!(2));
    object.insert(
        "fea".into(),
        json!("o:projects,o:billing,u:personal,o:reports"),
    );
    object.insert(
        "o".into(),
        json!({"id": "org_1", "slg": "acme", "rol": "admin", "per": "read,manage,delete", "fpm": "3,1,7,5"}),
    );
    claims
}

fn verified(token: &str, keys: &KeySet, config: &Config) -> VerifiedClaims {
    verify_with_keys(token, keys, &config.clerk.verify, 1_000_000, 16 * 1024).expect("valid")
}

/// What parsing cost before the typed read (issue 16): decode the three parts and build a
/// strict `Value` tree of header and payload. Kept for a same-run comparison with
/// `verify/parse_only`.
fn tree_parse(token: &str) -> Option<(Value, Value, Vec<u8>)> {
    let mut parts = token.split('.');
    let mut decode = || URL_SAFE_NO_PAD.decode(parts.next()?).ok();
    let header = from_slice_strict(&decode()?).ok()?;
    let payload = from_slice_strict(&decode()?).ok()?;
    Some((header, payload, decode()?))
}

/// Polls a future that never waits (a cache hit) to completion.
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

struct Fixture {
    config: Config,
    store: KeyStore,
    keys: Arc<KeySet>,
    cache: TokenCache,
    token: String,
}

fn fixture(key: &SigningKey) -> Fixture {
    let config = config(key, 0);
    let metrics = Arc::new(Metrics::new());
    let store = KeyStore::new(&config.clerk, metrics).expect("key store");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(store.load()).expect("load keys");
    let keys = store.current_keys().expect("keys");
    let token = mint(key, KID, &claims_v1()).expect("mint");
    let cache = TokenCache::new(&CacheSettings::default(), 5);
    let claims = verified(&token, &keys, &config);
    let now = SystemClock.now_unix();
    cache.insert(
        &token,
        Arc::new(session_for(&claims, &config)),
        Validity::of(&claims),
        &keys,
        now,
    );
    Fixture {
        config,
        store,
        keys,
        cache,
        token,
    }
}

fn route_lookup(c: &mut Criterion, key: &SigningKey) {
    let mut group = c.benchmark_group("route_lookup");
    for routes in [10, 100, 1000] {
        let config = config(key, routes - 2);
        let hit = normalize("/area3/section4/42/item123/deep/path").expect("path");
        let miss = normalize("/nowhere/at/all").expect("path");
        group.bench_with_input(BenchmarkId::new("match", routes), &hit, |b, path| {
            b.iter(|| black_box(config.route_for(&Method::GET, black_box(path))))
        });
        group.bench_with_input(BenchmarkId::new("no_match", routes), &miss, |b, path| {
            b.iter(|| black_box(config.route_for(&Method::GET, black_box(path))))
        });
    }
    group.finish();
}

fn verification(c: &mut Criterion, key: &SigningKey, f: &Fixture) {
    let mut group = c.benchmark_group("verify");
    let opts = &f.config.clerk.verify;
    group.bench_function("uncached_rs256_2048", |b| {
        b.iter(|| verify_with_keys(black_box(&f.token), &f.keys, opts, 1_000_000, 16 * 1024))
    });
    group.bench_function("parse_only", |b| {
        b.iter(|| ParsedToken::parse(black_box(&f.token), 16 * 1024))
    });
    group.bench_function("parse_tree_baseline", |b| {
        b.iter(|| tree_parse(black_box(&f.token)))
    });
    group.bench_function("uncached_to_session", |b| {
        b.iter(|| {
            let claims = verified(black_box(&f.token), &f.keys, &f.config);
            session_for(&claims, &f.config)
        })
    });
    let now = SystemClock.now_unix();
    group.bench_function("cached_lookup", |b| {
        b.iter(|| f.cache.get(black_box(&f.token), now, &f.keys).expect("hit"))
    });
    group.bench_function("cached_with_key_check", |b| {
        b.iter(|| {
            let current = f.store.current_keys().expect("keys");
            f.cache
                .get(black_box(&f.token), now, &current)
                .expect("hit")
        })
    });
    let _ = key;
    group.finish();
}

fn claims_decoding(c: &mut Criterion, key: &SigningKey, f: &Fixture) {
    let mut group = c.benchmark_group("claims");
    for (name, claims) in [("v1", claims_v1()), ("v2_fpm", claims_v2())] {
        let token = mint(key, KID, &claims).expect("mint");
        let verified = verified(&token, &f.keys, &f.config);
        group.bench_function(name, |b| {
            b.iter(|| Identity::from_claims(black_box(&verified), &f.config.claims))
        });
    }
    group.finish();
}

fn request_headers(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("app.example"));
    headers.insert("accept", HeaderValue::from_static("application/json"));
    headers.insert("user-agent", HeaderValue::from_static("bench/1.0"));
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
    );
    headers
}

fn decisions(c: &mut Criterion, f: &Fixture) {
    let mut group = c.benchmark_group("decide");
    let uri: Uri = "/api/projects/42?tab=1".parse().expect("uri");
    let headers = request_headers(&f.token);
    let auth = ready(authenticate(
        &headers,
        &f.config,
        &f.store,
        Some(&f.cache),
        &SystemClock,
        "__session",
    ))
    .auth;
    let facts = Facts::read(&Method::GET, &uri, &headers).expect("facts");
    let route = f.config.route_for(facts.method, &facts.path);
    group.bench_function("decide_only", |b| {
        let settings = doorman::decide::Settings::of(&f.config);
        b.iter(|| decide(black_box(&facts), &route.policy, &auth, &settings))
    });
    group.bench_function("auth_decision_cached", |b| {
        b.iter(|| {
            let facts = Facts::read(&Method::GET, black_box(&uri), &headers).expect("facts");
            let route = f.config.route_for(facts.method, &facts.path);
            let Authenticated { auth, session, .. } = ready(authenticate(
                &headers,
                &f.config,
                &f.store,
                Some(&f.cache),
                &SystemClock,
                "__session",
            ));
            let settings = doorman::decide::Settings::of(&f.config);
            (decide(&facts, &route.policy, &auth, &settings), session)
        })
    });
    group.finish();
}

fn forwarding(c: &mut Criterion, f: &Fixture) {
    let mut group = c.benchmark_group("forward");
    let session = ready(authenticate(
        &request_headers(&f.token),
        &f.config,
        &f.store,
        Some(&f.cache),
        &SystemClock,
        "__session",
    ))
    .session
    .expect("session");
    let browser: &[(&str, &str)] = &[
        ("host", "app.example"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0",
        ),
        ("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
        ("accept-language", "en-US,en;q=0.5"),
        ("accept-encoding", "gzip, deflate, br"),
        ("connection", "keep-alive"),
        ("cookie", "__session=abc; theme=dark"),
        ("sec-fetch-dest", "document"),
        ("sec-fetch-mode", "navigate"),
        ("upgrade-insecure-requests", "1"),
    ];
    let request = || {
        let mut req = Request::builder().uri("/dashboard?x=1");
        for (name, value) in browser {
            req = req.header(*name, *value);
        }
        req.body(()).expect("request").into_parts().0
    };
    let peer = "192.0.2.10".parse().expect("ip");
    group.bench_function("build_request_only", |b| b.iter(request));
    group.bench_function("prepare_browser_request", |b| {
        b.iter(|| {
            let mut parts = request();
            doorman::forward::prepare(
                &mut parts,
                Some(&session.headers),
                None,
                peer,
                false,
                &f.config,
            );
            parts
        })
    });
    group.finish();
}

/// The hash and map choices behind the cache, measured (README: why not dashmap's map).
fn cache_choices(c: &mut Criterion, f: &Fixture) {
    use std::hash::BuildHasher;
    let mut group = c.benchmark_group("cache_choice");
    let fold = foldhash::quality::RandomState::default();
    let sip = std::collections::hash_map::RandomState::new();
    let token = f.token.as_bytes();
    group.bench_function("hash_foldhash", |b| {
        b.iter(|| fold.hash_one(black_box(token)))
    });
    group.bench_function("hash_siphash13", |b| {
        b.iter(|| sip.hash_one(black_box(token)))
    });
    let map: dashmap::DashMap<u64, (Box<str>, Arc<Identity>)> = dashmap::DashMap::new();
    let identity = f
        .cache
        .get(&f.token, SystemClock.now_unix(), &f.keys)
        .expect("hit")
        .identity
        .clone();
    for i in 0..10_000u64 {
        map.insert(
            i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            ("x".into(), identity.clone()),
        );
    }
    let key = fold.hash_one(token);
    map.insert(key, (f.token.clone().into(), identity));
    group.bench_function("dashmap_get_compare_clone", |b| {
        b.iter(|| {
            let key = fold.hash_one(black_box(token));
            let entry = map.get(&key).expect("hit");
            assert!(*entry.0 == f.token);
            entry.1.clone()
        })
    });
    let now = SystemClock.now_unix();
    group.bench_function("token_cache_get", |b| {
        b.iter(|| f.cache.get(black_box(&f.token), now, &f.keys).expect("hit"))
    });
    group.finish();
}

fn stages(c: &mut Criterion) {
    let key = SigningKey::generate_2048().expect("key");
    let f = fixture(&key);
    route_lookup(c, &key);
    verification(c, &key, &f);
    claims_decoding(c, &key, &f);
    decisions(c, &f);
    forwarding(c, &f);
    cache_choices(c, &f);
}

criterion_group!(benches, stages);
criterion_main!(benches);
