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
    if cfg!(not(feature = "otel")) && raw.otlp_endpoint.is_some() {
        p.err(
            "telemetry.otlp_endpoint",
            "this doorman was built without OpenTelemetry (cargo --no-default-features); remove the key, or use a build with the default `otel` feature".to_string(),
        );
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

#[cfg(test)]
mod tests {
    use crate::config::raw::RawTelemetry;

    fn compile(endpoint: Option<&str>) -> Vec<String> {
        let raw = RawTelemetry {
            otlp_endpoint: endpoint.map(str::to_string),
            ..RawTelemetry::default()
        };
        let mut p = super::Problems::default();
        super::compile_telemetry(&raw, &mut p);
        p.errors.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn no_endpoint_is_always_accepted() {
        assert!(compile(None).is_empty());
    }

    /// A build with the `otel` feature takes an endpoint; one without refuses it by name
    /// (`.ci/run` runs this test both ways).
    #[test]
    fn an_endpoint_is_refused_only_by_a_build_without_opentelemetry() {
        let errors = compile(Some("http://127.0.0.1:4318/v1/traces"));
        if cfg!(feature = "otel") {
            assert!(errors.is_empty(), "{errors:?}");
        } else {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(errors[0].contains("telemetry.otlp_endpoint"), "{errors:?}");
            assert!(errors[0].contains("without OpenTelemetry"), "{errors:?}");
        }
    }
}
