//! Logging set-up: `tracing` to stderr, human or JSON, filtered by `RUST_LOG`.
//!
//! `DOORMAN_LOG_FORMAT=json` selects JSON lines. Nothing logged anywhere in doorman carries
//! a token, a cookie or a secret; this module only chooses the format.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once (later calls are ignored). `default_level` applies
/// when `RUST_LOG` is not set.
pub fn init(default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let json = std::env::var("DOORMAN_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
