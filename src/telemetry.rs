//! Logging set-up: `tracing` to stderr, human or JSON, filtered by `RUST_LOG`.
//!
//! `[logging] format` chooses text or JSON lines; `DOORMAN_LOG_FORMAT=json|text` overrides
//! it. Text lines carry ANSI colours only when stderr is a terminal (never in a file, a
//! pipe or a container log). Nothing logged anywhere in doorman carries a token, a cookie or a secret; this module
//! only chooses the format.

#[cfg(feature = "otel")]
pub mod otel;
/// Built without the `otel` feature: the same interface, never on.
#[cfg(not(feature = "otel"))]
#[path = "telemetry/otel_absent.rs"]
pub mod otel;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once (later calls are ignored). `default_level` applies
/// when `RUST_LOG` is not set; `json` is the configured format.
pub fn init(default_level: &str, json: bool) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let json = match std::env::var("DOORMAN_LOG_FORMAT") {
        Ok(f) if f.eq_ignore_ascii_case("json") => true,
        Ok(f) if f.eq_ignore_ascii_case("text") => false,
        _ => json,
    };
    crate::access_log::writer::set_json(json);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
