//! The tracing interface of a build without the `otel` feature
//! (`cargo build --release --no-default-features`): nothing is ever traced, `traceparent`
//! passes through as any other header, and a config asking for an exporter is refused at
//! load (`config::compile::telemetry`). It exists so that `benches/tracing.sh` can measure
//! what tracing costs when it is off, against a binary that has none.

use http::HeaderMap;

use crate::config::Telemetry;

/// Never on in this build.
#[inline]
pub fn enabled() -> bool {
    false
}

/// Never starts anything (the config compiler has already refused an `otlp_endpoint`).
pub fn init(_settings: &Telemetry) -> bool {
    false
}

/// Nothing to flush.
pub fn flush() {}

/// No request is ever traced, so no span exists.
pub enum RequestSpan {}

/// Always `None`: no span, headers untouched.
pub fn start(
    _headers: &mut HeaderMap,
    _method: &http::Method,
    _path: &str,
    _trusted_client: bool,
) -> Option<RequestSpan> {
    None
}

/// What the recorder knows when the request is done (unused in this build).
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
    pub fn finish(self, _finished: &Finished<'_>) {
        match self {}
    }
}
