//! OpenTelemetry tracing: one span per request, exported over OTLP/HTTP (protobuf), and the
//! W3C `traceparent` that ties it to the client's trace and the application's.
//!
//! Off by default: without `[telemetry] otlp_endpoint` nothing is built, and the request
//! path pays one relaxed atomic load ([`enabled`]); `traceparent` then passes through as
//! any other header. On, each request gets a server span: a child of the client's
//! `traceparent` when the client is a trusted proxy (`[server] trusted_proxies`), a new
//! root otherwise (a stranger's header is dropped, so nobody outside chooses trace ids),
//! and the upstream receives a `traceparent` naming that span as its parent. The recorder
//! ends the span with the route, decision, reason, status and the time of each phase.
//!
//! Spans are batched off the request path (the SDK's batch processor, on a thread of its
//! own) and posted with doorman's own hyper client, run on the Tokio runtime that started
//! the exporter. An unreachable collector drops spans; it never slows a request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::{
    Span as _, SpanContext, SpanKind, Status, TraceContextExt, TraceFlags, TraceState, Tracer,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider,
};

use crate::config::Telemetry;

/// Whether spans are made at all: one load per request when off.
static ENABLED: AtomicBool = AtomicBool::new(false);
static TRACING: OnceLock<(SdkTracerProvider, SdkTracer)> = OnceLock::new();

/// True once an exporter is running.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Starts the exporter when `[telemetry] otlp_endpoint` is set (once per process; must run
/// inside a Tokio runtime). Returns whether tracing is on.
pub fn init(settings: &Telemetry) -> bool {
    let Some(endpoint) = settings.otlp_endpoint.as_deref() else {
        return false;
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return false;
    };
    if TRACING.get().is_some() {
        return enabled();
    }
    let client = HyperClient {
        runtime,
        client: Client::builder(TokioExecutor::new()).build_http(),
    };
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_endpoint(endpoint)
        .with_timeout(settings.export_timeout)
        .build()
    {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(
                endpoint,
                "telemetry: cannot build the OTLP exporter ({e}); tracing stays off"
            );
            return false;
        }
    };
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(settings.export_interval)
                .build(),
        )
        .build();
    let resource = opentelemetry_sdk::Resource::builder_empty()
        .with_service_name(settings.service_name.clone())
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(resource)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            settings.sample_ratio,
        ))))
        .build();
    let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "doorman");
    if TRACING.set((provider, tracer)).is_ok() {
        ENABLED.store(true, Ordering::Relaxed);
    }
    enabled()
}

/// Flushes spans not yet exported (at shutdown).
pub fn flush() {
    if let Some((provider, _)) = TRACING.get() {
        let _ = provider.force_flush();
    }
}

/// The span of one request, open from its head to the recorder.
pub struct RequestSpan {
    span: opentelemetry_sdk::trace::Span,
    method: http::Method,
}

/// Opens the request's span and rewrites `headers` for the upstream: a trusted client's
/// `traceparent` becomes the parent, any other is dropped (with `tracestate`), and the
/// `traceparent` sent on names the new span. `None` when tracing is off.
pub fn start(
    headers: &mut HeaderMap,
    method: &http::Method,
    path: &str,
    trusted_client: bool,
) -> Option<RequestSpan> {
    if !enabled() {
        return None;
    }
    let (_, tracer) = TRACING.get()?;
    let parent = if trusted_client {
        parse_traceparent(headers)
            .map(|sc| Context::new().with_remote_span_context(sc))
            .unwrap_or_default()
    } else {
        headers.remove("tracestate");
        Context::new()
    };
    let span = tracer
        .span_builder(method.to_string())
        .with_kind(SpanKind::Server)
        .with_start_time(SystemTime::now())
        .with_attributes([
            KeyValue::new("http.request.method", method.to_string()),
            KeyValue::new("url.path", path.to_string()),
        ])
        .start_with_context(tracer, &parent);
    let cx = span.span_context();
    if cx.is_valid() {
        if let Ok(value) = HeaderValue::from_str(&format_traceparent(cx)) {
            headers.insert("traceparent", value);
        }
    } else {
        headers.remove("traceparent");
    }
    Some(RequestSpan {
        span,
        method: method.clone(),
    })
}

/// What the recorder knows when the request is done.
pub struct Finished<'a> {
    pub route: &'a str,
    pub decision: &'a str,
    pub reason: &'a str,
    pub status: u16,
    pub upstream: Option<&'a str>,
    pub auth_seconds: Option<f64>,
    pub upstream_seconds: Option<f64>,
    pub total_seconds: f64,
}

impl RequestSpan {
    /// Names the span after its route, records the outcome and phase times, and ends it.
    pub fn finish(mut self, f: &Finished<'_>) {
        let span = &mut self.span;
        span.update_name(format!("{} {}", self.method, f.route));
        span.set_attribute(KeyValue::new("http.route", f.route.to_string()));
        span.set_attribute(KeyValue::new("doorman.decision", f.decision.to_string()));
        if !f.reason.is_empty() {
            span.set_attribute(KeyValue::new("doorman.reason", f.reason.to_string()));
        }
        span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(f.status),
        ));
        if let Some(u) = f.upstream {
            span.set_attribute(KeyValue::new("doorman.upstream", u.to_string()));
        }
        if let Some(s) = f.auth_seconds {
            span.set_attribute(KeyValue::new("doorman.phase.auth_us", s * 1e6));
        }
        if let Some(s) = f.upstream_seconds {
            span.set_attribute(KeyValue::new("doorman.phase.upstream_ms", s * 1e3));
        }
        span.set_attribute(KeyValue::new("doorman.total_ms", f.total_seconds * 1e3));
        if f.status >= 500 {
            span.set_status(Status::error(f.decision.to_string()));
        }
        span.end();
    }
}

/// A valid W3C `traceparent` (version 00) from `headers`, as a remote span context.
pub fn parse_traceparent(headers: &HeaderMap) -> Option<SpanContext> {
    let mut values = headers.get_all("traceparent").iter();
    let value = values.next()?.to_str().ok()?;
    if values.next().is_some() {
        return None; // two traceparent headers: ambiguous, ignored
    }
    let mut parts = value.trim().split('-');
    let (Some(version), Some(trace), Some(parent), Some(flags)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    if version != "00"
        || parts.next().is_some()
        || !hex(trace, 32)
        || !hex(parent, 16)
        || !hex(flags, 2)
    {
        return None;
    }
    let trace_id = opentelemetry::trace::TraceId::from_hex(trace).ok()?;
    let span_id = opentelemetry::trace::SpanId::from_hex(parent).ok()?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    let state = headers
        .get("tracestate")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<TraceState>().ok())
        .unwrap_or_default();
    let cx = SpanContext::new(trace_id, span_id, TraceFlags::new(flags & 1), true, state);
    cx.is_valid().then_some(cx)
}

/// `00-<trace id>-<span id>-<flags>`.
pub fn format_traceparent(cx: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        cx.trace_id(),
        cx.span_id(),
        cx.trace_flags().to_u8()
    )
}

/// The exporter's HTTP client: doorman's hyper client, run on the Tokio runtime that
/// started tracing (the SDK's batch processor calls it from a thread of its own).
#[derive(Debug, Clone)]
struct HyperClient {
    runtime: tokio::runtime::Handle,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

/// Largest collector answer read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for HyperClient {
    async fn send_bytes(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, opentelemetry_http::HttpError> {
        let client = self.client.clone();
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, Full::new(body));
        let exchange = async move {
            let response = client.request(request).await?;
            let (parts, body) = response.into_parts();
            let limited = http_body_util::Limited::new(body, MAX_RESPONSE_BYTES);
            let bytes = limited.collect().await?.to_bytes();
            Ok::<_, opentelemetry_http::HttpError>(http::Response::from_parts(parts, bytes))
        };
        // The timer is made inside the runtime: this runs on the batch processor's thread.
        let timed = async move { tokio::time::timeout(Duration::from_secs(30), exchange).await };
        match self.runtime.spawn(timed).await? {
            Ok(result) => result,
            Err(elapsed) => Err(Box::new(elapsed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn a_valid_traceparent_round_trips() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let cx = parse_traceparent(&headers(&[("traceparent", tp)])).unwrap();
        assert!(cx.is_remote() && cx.is_sampled());
        assert_eq!(format_traceparent(&cx), tp);
    }

    #[test]
    fn malformed_or_repeated_traceparents_are_ignored() {
        for bad in [
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xx",
            "garbage",
        ] {
            assert!(
                parse_traceparent(&headers(&[("traceparent", bad)])).is_none(),
                "{bad}"
            );
        }
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert!(parse_traceparent(&headers(&[("traceparent", tp), ("traceparent", tp)])).is_none());
    }
}
