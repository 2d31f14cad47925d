//! The admin listener: `/healthz`, `/readyz`, `/metrics` and, with `[assertion]`,
//! `/.well-known/jwks.json`. Never served on the public one.
//!
//! `/healthz` answers 200 while the process runs. `/readyz` answers 200 only when a config
//! is loaded, signing keys are usable and shutdown has not begun; otherwise 503 with a JSON
//! detail. `/metrics` is the Prometheus text exposition.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::respond::{full, Body};
use crate::snapshot::Shared;

/// Admin state besides the shared proxy state.
pub struct AdminState {
    pub shared: Arc<Shared>,
    /// Set when shutdown begins, so readiness turns 503 first.
    pub draining: Arc<AtomicBool>,
}

/// Serves the admin listener until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AdminState>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = shutdown.changed() => return,
        };
        let state = state.clone();
        let service = service_fn(move |req| answer(state.clone(), req));
        tokio::spawn(async move {
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    state: Arc<AdminState>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(text(
            StatusCode::METHOD_NOT_ALLOWED,
            "use GET\n",
            "text/plain",
        ));
    }
    let resp = match req.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n", "text/plain"),
        crate::assertion::ADMIN_JWKS_PATH => {
            let snapshot = state.shared.snapshot.load();
            match &snapshot.assertions {
                Some(a) => a.jwks_response(state.shared.clock.now_unix()),
                None => text(
                    StatusCode::NOT_FOUND,
                    "no [assertion] configured\n",
                    "text/plain",
                ),
            }
        }
        "/readyz" => readiness(&state),
        "/metrics" => {
            let snapshot = state.shared.snapshot.load();
            let metrics = &state.shared.metrics;
            if let Some(age) = snapshot.keys.age() {
                metrics.jwks_age_seconds.set(age.as_secs_f64());
            }
            metrics
                .jwks_keys
                .set(i64::try_from(snapshot.keys.key_count()).unwrap_or(i64::MAX));
            state
                .shared
                .revocations
                .purge(state.shared.clock.now_unix());
            metrics
                .revocations_active
                .set(i64::try_from(state.shared.revocations.active()).unwrap_or(i64::MAX));
            text(
                StatusCode::OK,
                &metrics.encode(),
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try /healthz, /readyz or /metrics\n",
            "text/plain",
        ),
    };
    Ok(resp)
}

fn readiness(state: &AdminState) -> Response<Body> {
    let snapshot = state.shared.snapshot.load();
    let keys = snapshot.keys.ready();
    let draining = state.draining.load(Ordering::SeqCst);
    let ready = keys && !draining;
    // Redis being down does not make doorman unready (it serves with what it knows), but
    // the detail says so.
    let sync = match &state.shared.sync {
        None => "local",
        Some(s) if s.connected() => "connected",
        Some(_) => "disconnected",
    };
    let body = format!(
        "{{\"ready\":{ready},\"keys\":{keys},\"key_count\":{},\"draining\":{draining},\"revocation_sync\":\"{sync}\"}}\n",
        snapshot.keys.key_count()
    );
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    text(status, &body, "application/json")
}

fn text(status: StatusCode, body: &str, content_type: &'static str) -> Response<Body> {
    let mut resp = Response::new(full(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
