//! OpenTelemetry tracing against a real OTLP/HTTP receiver on loopback (issue 17): the
//! receiver below decodes `ExportTraceServiceRequest` with the published protos
//! (`opentelemetry-proto`); doorman runs as its own process (tracing is process-wide).
//! A trusted client's `traceparent` becomes the span's parent; the upstream receives a
//! `traceparent` naming doorman's span; the span carries route, decision and phase times.
//! An untrusted client's `traceparent` is not trusted.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::net::TcpListener;

use doorman::dev::echo::Echo;
use doorman::dev::mint::jwks_json;

use crate::support::process::{temp_dir, wait_ready, Process};
use crate::support::{key, Client, BASE_CONFIG, KID};

/// Every span the receiver got.
type Spans = Arc<Mutex<Vec<Span>>>;

/// An OTLP/HTTP traces receiver: POST /v1/traces with a protobuf body.
async fn receiver() -> (String, Spans) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let spans: Spans = Arc::default();
    let store = spans.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let store = store.clone();
                    async move {
                        assert_eq!(req.uri().path(), "/v1/traces");
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let export = ExportTraceServiceRequest::decode(body).unwrap();
                        for rs in export.resource_spans {
                            for ss in rs.scope_spans {
                                store.lock().unwrap().extend(ss.spans);
                            }
                        }
                        let reply = hyper::Response::builder()
                            .header("content-type", "application/x-protobuf")
                            .body(Full::new(Bytes::new()))
                            .unwrap();
                        Ok::<_, std::convert::Infallible>(reply)
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    (url, spans)
}

/// doorman with [telemetry] pointed at `endpoint`, trusting 127.0.0.1 when `trust`.
fn spawn(upstream: &str, endpoint: &str, trust: bool) -> Process {
    let dir = temp_dir("otel");
    std::fs::write(dir.join("jwks.json"), jwks_json(&[(key(), KID)])).unwrap();
    let port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (p1, p2) = (port(), port());
    let trusted = if trust { "[\"127.0.0.1/32\"]" } else { "[]" };
    let config = BASE_CONFIG
        .replace(
            "admin_listen = \"127.0.0.1:0\"",
            &format!("admin_listen = \"127.0.0.1:{p2}\"\ntrusted_proxies = {trusted}"),
        )
        .replace(
            "\nlisten = \"127.0.0.1:0\"",
            &format!("\nlisten = \"127.0.0.1:{p1}\""),
        )
        .replace(
            "jwks_url = \"${JWKS_URL}\"",
            &format!("jwks_file = \"{}\"", dir.join("jwks.json").display()),
        )
        .replace("${UPSTREAM_URL}", upstream);
    let path = dir.join("doorman.toml");
    std::fs::write(
        &path,
        format!("{config}\n[telemetry]\notlp_endpoint = \"{endpoint}\"\nexport_interval = \"100ms\"\nservice_name = \"doorman-test\"\n"),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_doorman"))
        .arg("--config")
        .arg(&path)
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Process {
        child,
        addr: format!("127.0.0.1:{p1}"),
        admin: format!("127.0.0.1:{p2}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute(span: &Span, key: &str) -> Option<AnyValue> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.clone()?.value)
}

async fn span_with_trace(spans: &Spans, trace_id: &str) -> Span {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(s) = spans
            .lock()
            .unwrap()
            .iter()
            .find(|s| hex(&s.trace_id) == trace_id)
        {
            return s.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no span of trace {trace_id} received"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

#[tokio::test]
async fn a_trusted_clients_trace_continues_through_doorman_to_the_upstream() {
    let (endpoint, spans) = receiver().await;
    let echo = Echo::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let p = spawn(&format!("http://{}", echo.addr), &endpoint, true);
    wait_ready(&p.admin).await;
    let client = Client::new(p.addr.parse().unwrap());
    let mut req = client.request("GET", "/public/page");
    req.headers_mut().insert(
        "traceparent",
        format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01")
            .parse()
            .unwrap(),
    );
    assert_eq!(client.send(req).await.status, 200);
    let upstream_tp = echo
        .last()
        .unwrap()
        .header("traceparent")
        .expect("traceparent upstream");
    let parts: Vec<&str> = upstream_tp.split('-').collect();
    assert_eq!(parts[1], CLIENT_TRACE, "{upstream_tp}");
    assert_ne!(
        parts[2], CLIENT_SPAN,
        "the upstream's parent must be doorman's span"
    );

    let span = span_with_trace(&spans, CLIENT_TRACE).await;
    assert_eq!(hex(&span.parent_span_id), CLIENT_SPAN);
    assert_eq!(hex(&span.span_id), parts[2]);
    assert_eq!(span.name, "GET public");
    assert_eq!(
        attribute(&span, "http.route"),
        Some(AnyValue::StringValue("public".into()))
    );
    assert_eq!(
        attribute(&span, "doorman.decision"),
        Some(AnyValue::StringValue("forward".into()))
    );
    assert_eq!(
        attribute(&span, "http.response.status_code"),
        Some(AnyValue::IntValue(200))
    );
    assert!(
        matches!(attribute(&span, "doorman.phase.upstream_ms"), Some(AnyValue::DoubleValue(ms)) if ms >= 0.0)
    );
    assert!(matches!(
        attribute(&span, "doorman.phase.auth_us"),
        Some(AnyValue::DoubleValue(_))
    ));
    assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
}

#[tokio::test]
async fn an_untrusted_clients_traceparent_starts_no_trace_of_its_choosing() {
    let (endpoint, spans) = receiver().await;
    let echo = Echo::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let p = spawn(&format!("http://{}", echo.addr), &endpoint, false);
    wait_ready(&p.admin).await;
    let client = Client::new(p.addr.parse().unwrap());
    let mut req = client.request("GET", "/api/projects");
    req.headers_mut().insert(
        "traceparent",
        format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01")
            .parse()
            .unwrap(),
    );
    assert_eq!(client.send(req).await.status, 401);
    // A refusal still gets a span: a new root, with the decision and reason.
    let deadline = Instant::now() + Duration::from_secs(10);
    let span = loop {
        if let Some(s) = spans.lock().unwrap().first().cloned() {
            break s;
        }
        assert!(Instant::now() < deadline, "no span received");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_ne!(hex(&span.trace_id), CLIENT_TRACE);
    assert!(span.parent_span_id.is_empty(), "a root span");
    assert_eq!(
        attribute(&span, "doorman.decision"),
        Some(AnyValue::StringValue("unauthorized".into()))
    );
    assert_eq!(
        attribute(&span, "doorman.reason"),
        Some(AnyValue::StringValue("token_missing".into()))
    );
}
