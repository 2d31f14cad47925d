//! `[telemetry]`: OpenTelemetry tracing settings.

use super::*;
use crate::config::raw::RawTelemetry;
use crate::config::Telemetry;

pub(super) fn compile_telemetry(raw: &RawTelemetry, p: &mut Problems) -> Telemetry {
    if let Some(url) = raw.otlp_endpoint.as_deref() {
        let ok = url
            .parse::<http::Uri>()
            .is_ok_and(|u| u.scheme_str() == Some("http") && u.host().is_some());
        if !ok {
            p.err(
                "telemetry.otlp_endpoint",
                format!("{url:?} is not an OTLP/HTTP endpoint; write it like \"http://otel-collector:4318/v1/traces\" (http://; put TLS in the collector's sidecar or agent)"),
            );
        }
    }
    let sample_ratio = raw.sample_ratio.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&sample_ratio) {
        p.err(
            "telemetry.sample_ratio",
            format!("{sample_ratio} is outside 0.0 ..= 1.0; 1.0 samples every new trace"),
        );
    }
    Telemetry {
        otlp_endpoint: raw.otlp_endpoint.clone(),
        service_name: raw
            .service_name
            .clone()
            .unwrap_or_else(|| "doorman".to_string()),
        sample_ratio: sample_ratio.clamp(0.0, 1.0),
        export_interval: duration(
            p,
            "telemetry.export_interval",
            raw.export_interval.as_deref(),
            Duration::from_secs(5),
        ),
        export_timeout: duration(
            p,
            "telemetry.export_timeout",
            raw.export_timeout.as_deref(),
            Duration::from_secs(10),
        ),
    }
}
