//! `[limits]` keys against slow clients and HTTP/2 floods: defaults, values, and errors that
//! name the key and the fix.

use std::time::Duration;

use super::MINIMAL;
use crate::body::MinRate;
use crate::config::FloodLimits;
use crate::config::{Config, ConfigError};

fn parse(limits: &str) -> Result<Config, ConfigError> {
    super::parse(&format!("{MINIMAL}[limits]\n{limits}\n"))
}

#[track_caller]
fn assert_problem(limits: &str, at: &str, fragment: &str) {
    super::assert_problem(&format!("{MINIMAL}[limits]\n{limits}\n"), at, fragment);
}

#[test]
fn defaults() {
    let limits = parse("").unwrap().limits;
    assert_eq!(limits.body_min_rate, MinRate::default());
    assert_eq!(limits.body_min_rate.grace, Duration::from_secs(20));
    assert_eq!(limits.body_min_rate.bytes_per_second, 500);
    assert_eq!(limits.response_write_timeout, Duration::from_secs(60));
    assert_eq!(limits.http2_flood, FloodLimits::default());
    assert_eq!(limits.http2_flood.max_pings, 100);
    assert_eq!(limits.http2_flood.max_settings, 100);
    assert_eq!(limits.http2_flood.window, Duration::from_secs(10));
}

#[test]
fn values() {
    let limits = parse(
        "request_body_timeout = \"5s\"\nrequest_body_min_rate = 2000\nresponse_write_timeout = \"2m\"\nhttp2_max_pings = 20\nhttp2_max_settings = 7\nhttp2_flood_window = \"1s\"",
    )
    .unwrap()
    .limits;
    assert_eq!(
        limits.body_min_rate,
        MinRate {
            grace: Duration::from_secs(5),
            bytes_per_second: 2000
        }
    );
    assert_eq!(limits.response_write_timeout, Duration::from_secs(120));
    assert_eq!(
        limits.http2_flood,
        FloodLimits {
            max_pings: 20,
            max_settings: 7,
            window: Duration::from_secs(1)
        }
    );
}

#[test]
fn errors_name_the_key_and_the_fix() {
    assert_problem(
        "request_body_timeout = \"soon\"",
        "limits.request_body_timeout",
        "like \"500ms\"",
    );
    assert_problem(
        "request_body_timeout = \"10ms\"",
        "limits.request_body_timeout",
        "between \"100ms\" and \"1h\"",
    );
    assert_problem(
        "request_body_min_rate = 0",
        "limits.request_body_min_rate",
        "use 1 to",
    );
    assert_problem(
        "response_write_timeout = \"2h\"",
        "limits.response_write_timeout",
        "between \"100ms\" and \"1h\"",
    );
    assert_problem("http2_max_pings = 0", "limits.http2_max_pings", "use 1 to");
    assert_problem(
        "http2_max_settings = 2000000",
        "limits.http2_max_settings",
        "use 1 to 1000000",
    );
    assert_problem(
        "http2_flood_window = \"0s\"",
        "limits.http2_flood_window",
        "between",
    );
}
