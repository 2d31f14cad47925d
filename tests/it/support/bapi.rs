//! A fake Clerk Backend API on loopback that answers as the published specification says:
//! `GET /v1/users` (user_id filter, limit, offset, `starting_after` cursor, created_at order),
//! `GET /v1/users/{id}`, `PATCH /v1/users/{id}/metadata` (deep merge, `null` removes). Every
//! request body is validated against the spec's schema (violations are recorded and answered
//! 422), answers are built from the spec's own `User` example. It enforces a sliding-window
//! rate limit with `429` + `Retry-After`, and injects faults by request count: 503s before
//! any effect, 502s after a write took effect, 429s, and slow answers. Counters let tests
//! check what was sent.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::openapi::spec;

pub const SECRET_KEY: &str = "sk_test_fakebackendapi";

/// How the fake misbehaves. A `*_every` of 0 never does.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Requests accepted per `window`.
    pub limit: usize,
    pub window: Duration,
    /// Every n-th request: 503 before doing anything.
    pub unavailable_every: usize,
    /// Every n-th PATCH: applied, then answered 502 (a gateway lost the answer).
    pub lost_answer_every: usize,
    /// Every n-th request: 429 whatever the window says.
    pub throttle_every: usize,
    /// Every n-th request waits `slow` before answering.
    pub slow_every: usize,
    pub slow: Duration,
}

impl Faults {
    /// Only the rate limit.
    pub fn polite(limit: usize, window: Duration) -> Faults {
        Faults {
            limit,
            window,
            unavailable_every: 0,
            lost_answer_every: 0,
            throttle_every: 0,
            slow_every: 0,
            slow: Duration::ZERO,
        }
    }
}

#[derive(Default)]
pub struct Counts {
    pub requests: usize,
    pub rate_limited: usize,
    pub unavailable: usize,
    pub lost_answers: usize,
    /// PATCHes that took effect, by user.
    pub patches: HashMap<String, usize>,
    /// Request bodies or queries that break the spec.
    pub violations: Vec<String>,
    /// Most requests in flight at once.
    pub max_in_flight: usize,
    in_flight: usize,
    /// Most accepted requests within any window.
    pub max_in_window: usize,
    /// When each PATCH took effect, and when each request was accepted (within the limit).
    pub patch_times: Vec<Instant>,
    pub accepted_times: Vec<Instant>,
}

struct State {
    users: BTreeMap<String, Value>,
    counts: Counts,
    accepted: VecDeque<Instant>,
}

#[derive(Clone)]
pub struct FakeBapi {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    faults: Arc<Faults>,
    patched: Arc<watch::Sender<usize>>,
    down: Arc<AtomicBool>,
}

/// The spec's example user (from the `user.created` webhook example), as a template.
fn template() -> Value {
    let event: Value = serde_json::from_str(include_str!(
        "../../fixtures/clerk/webhooks/user.created.json"
    ))
    .expect("fixture");
    event["data"].clone()
}

impl FakeBapi {
    pub async fn start(faults: Faults) -> FakeBapi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = FakeBapi {
            addr: listener.local_addr().unwrap(),
            state: Arc::new(Mutex::new(State {
                users: BTreeMap::new(),
                counts: Counts::default(),
                accepted: VecDeque::new(),
            })),
            faults: Arc::new(faults),
            patched: Arc::new(watch::channel(0).0),
            down: Arc::default(),
        };
        let f = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let f = f.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let f = f.clone();
                        async move { Ok::<_, Infallible>(f.answer(req).await) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        fake
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds a user with `public_metadata`; ids sort in creation order.
    pub fn add_user(&self, id: &str, public_metadata: Value) {
        let mut state = self.state.lock().unwrap();
        let n = state.users.len() as i64;
        let mut user = template();
        user["id"] = json!(id);
        user["public_metadata"] = public_metadata;
        user["created_at"] = json!(1_716_883_200_000_i64 + n);
        user["updated_at"] = user["created_at"].clone();
        state.users.insert(id.to_string(), user);
    }

    /// While down, every request gets 503.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn metadata(&self, id: &str) -> Value {
        self.state.lock().unwrap().users[id]["public_metadata"].clone()
    }

    pub fn counts<T>(&self, read: impl FnOnce(&Counts) -> T) -> T {
        read(&self.state.lock().unwrap().counts)
    }

    /// Resolves once at least `n` PATCHes took effect.
    pub async fn patched_at_least(&self, n: usize) {
        let mut rx = self.patched.subscribe();
        let _ = rx.wait_for(|count| *count >= n).await;
    }

    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let n = {
            let mut state = self.state.lock().unwrap();
            state.counts.requests += 1;
            state.counts.in_flight += 1;
            state.counts.max_in_flight = state.counts.max_in_flight.max(state.counts.in_flight);
            state.counts.requests
        };
        let every = |k: usize| k > 0 && n.is_multiple_of(k);
        if every(self.faults.slow_every) {
            tokio::time::sleep(self.faults.slow).await;
        }
        let resp = self.route(
            &parts.method,
            &parts.uri,
            &parts.headers,
            &body,
            n,
            every(self.faults.throttle_every),
            every(self.faults.unavailable_every) || self.down.load(Ordering::SeqCst),
        );
        self.state.lock().unwrap().counts.in_flight -= 1;
        resp
    }

    #[allow(clippy::too_many_arguments)]
    fn route(
        &self,
        method: &Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        body: &[u8],
        n: usize,
        throttle: bool,
        unavailable: bool,
    ) -> Response<Full<Bytes>> {
        let mut state = self.state.lock().unwrap();
        if headers.get("authorization").and_then(|v| v.to_str().ok())
            != Some(&format!("Bearer {SECRET_KEY}"))
        {
            return errors(
                StatusCode::UNAUTHORIZED,
                "authentication_invalid",
                "The provided secret key is invalid.",
            );
        }
        // The sliding window: accepted requests in the last `window`.
        let now = Instant::now();
        while state
            .accepted
            .front()
            .is_some_and(|t| now - *t >= self.faults.window)
        {
            state.accepted.pop_front();
        }
        if throttle || state.accepted.len() >= self.faults.limit {
            state.counts.rate_limited += 1;
            let wait = state.accepted.front().map_or(self.faults.window / 4, |t| {
                self.faults.window.saturating_sub(now - *t)
            });
            let mut resp = errors(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "Too many requests, retry later.",
            );
            resp.headers_mut().insert(
                "retry-after",
                format!("{:.3}", wait.as_secs_f64()).parse().unwrap(),
            );
            return resp;
        }
        state.accepted.push_back(now);
        state.counts.accepted_times.push(now);
        state.counts.max_in_window = state.counts.max_in_window.max(state.accepted.len());
        if unavailable {
            state.counts.unavailable += 1;
            return errors(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "Try again.",
            );
        }
        let path = uri.path().to_string();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["v1", "users"]) => self.list(&mut state, uri.query().unwrap_or("")),
            ("GET", ["v1", "users", id]) => match state.users.get(*id) {
                Some(user) => ok(user.clone()),
                None => errors(StatusCode::NOT_FOUND, "resource_not_found", "not found"),
            },
            ("PATCH", ["v1", "users", id, "metadata"]) => self.patch(&mut state, id, body, n),
            _ => {
                state.counts.violations.push(format!(
                    "{method} {path}: not an operation doorman should call"
                ));
                errors(
                    StatusCode::NOT_FOUND,
                    "resource_not_found",
                    "no such endpoint",
                )
            }
        }
    }

    fn list(&self, state: &mut State, query: &str) -> Response<Full<Bytes>> {
        let (mut limit, mut offset, mut after, mut order, mut ids) =
            (10usize, 0usize, None, "-created_at".to_string(), Vec::new());
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_encoding::percent_decode_str(value)
                .decode_utf8_lossy()
                .to_string();
            if spec().query_parameter("/users", "get", key).is_none() {
                state
                    .counts
                    .violations
                    .push(format!("GET /v1/users: unknown query parameter {key}"));
            }
            match key {
                "limit" => limit = value.parse().unwrap_or(0),
                "offset" => offset = value.parse().unwrap_or(0),
                "starting_after" => after = Some(value),
                "order_by" => order = value,
                "user_id" => ids.push(value),
                _ => {}
            }
        }
        let limit_schema = spec().query_parameter("/users", "get", "limit").unwrap();
        let problems = spec().validate(limit_schema, &json!(limit));
        if !problems.is_empty()
            || (after.is_some() && offset > 0)
            || (after.is_some() && !order.ends_with("created_at"))
        {
            state
                .counts
                .violations
                .push(format!("GET /v1/users?{query}: {problems:?}"));
            return errors(
                StatusCode::UNPROCESSABLE_ENTITY,
                "form_param_invalid",
                "invalid query",
            );
        }
        let mut users: Vec<&Value> = state
            .users
            .values()
            .filter(|u| ids.is_empty() || ids.iter().any(|id| u["id"] == *id))
            .collect();
        users.sort_by_key(|u| u["created_at"].as_i64());
        if order.starts_with('-') {
            users.reverse();
        }
        if let Some(after) = after {
            match users.iter().position(|u| u["id"] == after) {
                Some(i) => users.drain(..=i).for_each(drop),
                None => users.clear(),
            }
        }
        let page: Vec<Value> = users
            .into_iter()
            .skip(offset)
            .take(limit)
            .cloned()
            .collect();
        ok(Value::Array(page))
    }

    fn patch(&self, state: &mut State, id: &str, body: &[u8], n: usize) -> Response<Full<Bytes>> {
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            state
                .counts
                .violations
                .push(format!("PATCH {id}: body is not JSON"));
            return errors(StatusCode::BAD_REQUEST, "malformed_request", "not JSON");
        };
        let problems = spec().validate(
            spec().request_body("/users/{user_id}/metadata", "patch"),
            &body,
        );
        if !problems.is_empty() {
            state
                .counts
                .violations
                .push(format!("PATCH {id}: {problems:?}"));
            return errors(
                StatusCode::UNPROCESSABLE_ENTITY,
                "form_param_invalid",
                "invalid body",
            );
        }
        let Some(user) = state.users.get_mut(id) else {
            return errors(StatusCode::NOT_FOUND, "resource_not_found", "not found");
        };
        for key in ["public_metadata", "private_metadata", "unsafe_metadata"] {
            if let Some(patch) = body.get(key) {
                deep_merge(&mut user[key], patch);
            }
        }
        user["updated_at"] = json!(user["updated_at"].as_i64().unwrap_or(0) + 1);
        let user = user.clone();
        *state.counts.patches.entry(id.to_string()).or_default() += 1;
        state.counts.patch_times.push(Instant::now());
        let total: usize = state.counts.patches.values().sum();
        self.patched.send_replace(total);
        if self.faults.lost_answer_every > 0 && n.is_multiple_of(self.faults.lost_answer_every) {
            state.counts.lost_answers += 1;
            return errors(
                StatusCode::BAD_GATEWAY,
                "bad_gateway",
                "upstream answer lost",
            );
        }
        ok(user)
    }
}

/// Clerk's merge: objects merge recursively, `null` removes, anything else replaces.
fn deep_merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(map), Some(changes)) => {
            for (key, change) in changes {
                if change.is_null() {
                    map.remove(key);
                } else {
                    deep_merge(map.entry(key.clone()).or_insert(Value::Null), change);
                }
            }
        }
        (None, Some(_)) => {
            *target = json!({});
            deep_merge(target, patch);
        }
        _ => *target = patch.clone(),
    }
}

fn ok(body: Value) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    resp.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    resp
}

/// Clerk's `ClerkErrors` body.
fn errors(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let mut resp = ok(
        json!({"errors": [{"message": message, "long_message": message, "code": code}], "clerk_trace_id": "trace_fake"}),
    );
    *resp.status_mut() = status;
    resp
}
