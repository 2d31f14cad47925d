//! Envoy's gRPC `ext_authz` (`envoy.service.auth.v3.Authorization/Check`, the API Istio's
//! `CUSTOM` action calls), served on the forward-auth listener next to the HTTP dialects.
//!
//! **What it owns:** decoding a `CheckRequest` into the original request head (method,
//! scheme, host, path and query, headers) and encoding the answer as a `CheckResponse`:
//! allowed → `OK` with the identity headers to set upstream (overwriting), every other
//! identity header in `headers_to_remove`, and `Set-Cookie` in `response_headers_to_add`;
//! refused → `UNAUTHENTICATED` (401) or `PERMISSION_DENIED` with the status, headers and body
//! the client must get, exactly as `respond` rendered them. gRPC framing, compression and
//! status trailers are tonic's (`tonic::server::Grpc` with `tonic_prost::ProstCodec`).
//! **What it must never do:** decide anything itself: the call goes through the same trust
//! check and phases as every other forward-auth call.

pub mod proto;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{header, HeaderMap, HeaderName, Method, Request, Response};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::body::Incoming;

use super::dialect::{Dialect, Original};
use crate::metrics::RequestMode;
use crate::proxy::record;
use crate::reason::Reason;
use crate::respond::Body;
use crate::snapshot::{Shared, Snapshot};
use proto::{code, CheckRequest, CheckResponse, HttpResponse};

/// The gRPC method path of `Authorization/Check`.
pub const CHECK_PATH: &str = "/envoy.service.auth.v3.Authorization/Check";

/// A gRPC `Check` call (rather than an HTTP dialect).
pub fn is_check(req: &Request<Incoming>) -> bool {
    req.uri().path() == CHECK_PATH
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

/// Serves one `Check` call.
pub async fn handle(
    shared: Arc<Shared>,
    mut req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let started = Instant::now();
    let snapshot = shared.snapshot.load_full();
    let line = record::Line::start(&mut req, &snapshot.config, peer.ip());
    let service = Check {
        state: Some(State {
            shared,
            snapshot,
            peer,
            line,
            started,
        }),
    };
    let codec = tonic_prost::ProstCodec::<CheckResponse, CheckRequest>::default();
    let mut grpc = tonic::server::Grpc::new(codec);
    let (head, body) = grpc.unary(service, req).await.into_parts();
    // A unary answer is one message and the status trailers: collected here, because
    // tonic's body is not `Sync` and every doorman response body is.
    let frames = match body.collect().await {
        Ok(collected) => {
            let trailers = collected.trailers().cloned();
            let mut frames = vec![Ok(Frame::data(collected.to_bytes()))];
            frames.extend(trailers.map(|t| Ok(Frame::trailers(t))));
            frames
        }
        Err(status) => {
            let mut trailers = HeaderMap::new();
            let code = http::HeaderValue::from(status.code() as i32);
            trailers.insert("grpc-status", code);
            vec![Ok(Frame::trailers(trailers))]
        }
    };
    let body = StreamBody::new(futures_util::stream::iter(frames));
    Response::from_parts(head, BodyExt::boxed(body))
}

/// What one call needs, taken by the first (only) `call`.
struct State {
    shared: Arc<Shared>,
    snapshot: Arc<Snapshot>,
    peer: SocketAddr,
    line: record::Line,
    started: Instant,
}

struct Check {
    state: Option<State>,
}

type CheckFuture =
    Pin<Box<dyn Future<Output = Result<tonic::Response<CheckResponse>, tonic::Status>> + Send>>;

impl tower_service::Service<tonic::Request<CheckRequest>> for Check {
    type Response = tonic::Response<CheckResponse>;
    type Error = tonic::Status;
    type Future = CheckFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: tonic::Request<CheckRequest>) -> Self::Future {
        let state = self.state.take();
        Box::pin(async move {
            let Some(state) = state else {
                return Err(tonic::Status::internal("one Check per call"));
            };
            Ok(tonic::Response::new(check(state, req.into_inner()).await))
        })
    }
}

/// The phases for one `CheckRequest`, recorded like any forward-auth call.
async fn check(state: State, request: CheckRequest) -> CheckResponse {
    let State {
        shared,
        snapshot,
        peer,
        line,
        started,
    } = state;
    shared.metrics.in_flight.inc();
    let http = request
        .attributes
        .and_then(|a| a.request)
        .and_then(|r| r.http);
    let call = call_head(http.as_ref());
    let (mut outcome, original) = match super::untrusted(peer, &snapshot.config, &call.method) {
        Some(refused) => (refused, None),
        None => {
            let original = http
                .as_ref()
                .ok_or(Reason::ForwardAuthIncomplete)
                .and_then(|h| original(h, &call));
            super::decide_original(&shared, &snapshot, &call, original, Dialect::Envoy, peer).await
        }
    };
    outcome.mode = RequestMode::ForwardAuth;
    let line = match &original {
        Some(o) => line.original(&o.method, o.uri.path()),
        None => line,
    };
    shared.metrics.in_flight.dec();
    let strip = &snapshot.config.headers.strip;
    let response = record::record(&shared, &snapshot, outcome, line, started);
    encode(response, strip).await
}

/// The original request's headers as a request head (the HTTP dialects' "call").
fn call_head(http: Option<&proto::HttpRequest>) -> http::request::Parts {
    let mut head = Request::new(()).into_parts().0;
    let Some(http) = http else { return head };
    head.method = Method::from_bytes(http.method.as_bytes()).unwrap_or(Method::GET);
    let mut headers = HeaderMap::new();
    let raw = http
        .header_map
        .iter()
        .flat_map(|m| m.headers.iter())
        .map(|h| {
            let value = if h.raw_value.is_empty() {
                h.value.as_bytes()
            } else {
                &h.raw_value[..]
            };
            (h.key.as_str(), value)
        });
    let merged = http.headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes()));
    for (name, value) in raw.chain(merged) {
        // Pseudo-headers (`:path`, `:authority`) are carried in their own fields.
        if name.starts_with(':') {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    head.headers = headers;
    head
}

/// The original request described by Envoy's `HttpRequest`.
fn original(http: &proto::HttpRequest, call: &http::request::Parts) -> Result<Original, Reason> {
    if http.method.is_empty() || http.path.is_empty() {
        return Err(Reason::ForwardAuthIncomplete);
    }
    let method =
        Method::from_bytes(http.method.as_bytes()).map_err(|_| Reason::ForwardAuthIncomplete)?;
    let host = (!http.host.is_empty())
        .then(|| http::HeaderValue::from_str(&http.host))
        .transpose()
        .map_err(|_| Reason::HostInvalid)?
        .or_else(|| call.headers.get(header::HOST).cloned());
    Ok(Original {
        method,
        https: http.scheme.eq_ignore_ascii_case("https"),
        host,
        path_and_query: http.path.clone(),
    })
}

/// The recorded answer as a `CheckResponse`.
async fn encode(response: Response<Body>, strip: &[String]) -> CheckResponse {
    let (head, body) = response.into_parts();
    let status = head.status;
    let header = |name: &HeaderName, value: &http::HeaderValue, action| proto::HeaderValueOption {
        header: Some(proto::HeaderValue {
            key: name.as_str().to_string(),
            value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
            raw_value: Vec::new(),
        }),
        append_action: action,
    };
    if status.is_success() {
        let identity = head
            .headers
            .iter()
            .filter(|(n, _)| strip.iter().any(|s| s == n.as_str()))
            .map(|(n, v)| header(n, v, proto::OVERWRITE))
            .collect();
        let headers_to_remove = head
            .headers
            .get(super::answer::ENVOY_REMOVE)
            .and_then(|v| v.to_str().ok())
            .map(|list| list.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        let cookies = head
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| header(&header::SET_COOKIE, v, proto::APPEND))
            .collect();
        return CheckResponse {
            status: Some(proto::RpcStatus {
                code: code::OK,
                message: String::new(),
            }),
            http_response: Some(HttpResponse::Ok(proto::OkHttpResponse {
                headers: identity,
                headers_to_remove,
                response_headers_to_add: cookies,
            })),
        };
    }
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => bytes::Bytes::new(),
    };
    let headers = head
        .headers
        .iter()
        .filter(|(n, _)| *n != header::CONTENT_LENGTH)
        .map(|(n, v)| header(n, v, proto::APPEND))
        .collect();
    let grpc_code = if status == http::StatusCode::UNAUTHORIZED {
        code::UNAUTHENTICATED
    } else {
        code::PERMISSION_DENIED
    };
    CheckResponse {
        status: Some(proto::RpcStatus {
            code: grpc_code,
            message: status.to_string(),
        }),
        http_response: Some(HttpResponse::Denied(proto::DeniedHttpResponse {
            status: Some(proto::HttpStatus {
                code: i32::from(status.as_u16()),
            }),
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })),
    }
}
