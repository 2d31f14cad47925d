//! Compiling the scalar sections: `[server]`, `[clerk]`, `[redirects]`, `[claims]`,
//! `[limits]`. Each function validates its keys and records problems; none does I/O.

use super::*;

pub(super) fn compile_server(raw: &RawServer, p: &mut Problems) -> Server {
    let listen = socket_addr(p, "server.listen", raw.listen.as_deref(), "0.0.0.0:8080");
    let admin_listen = socket_addr(
        p,
        "server.admin_listen",
        raw.admin_listen.as_deref(),
        "127.0.0.1:9090",
    );
    if listen == admin_listen && listen.port() != 0 {
        p.err(
            "server.admin_listen",
            "the admin listener must not share the public listener's address (metrics would be public); pick another port",
        );
    }
    let tls = match (&raw.tls_cert, &raw.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: PathBuf::from(cert),
            key: PathBuf::from(key),
        }),
        (None, None) => None,
        _ => {
            p.err(
                "server.tls_cert",
                "tls_cert and tls_key go together: set both for HTTPS, or neither for plain HTTP",
            );
            None
        }
    };
    let mut trusted_proxies = Vec::new();
    for (i, text) in raw.trusted_proxies.iter().flatten().enumerate() {
        let parsed = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<IpAddr>().map(IpNet::from));
        match parsed {
            Ok(net) => trusted_proxies.push(net),
            Err(_) => p.err(
                format!("server.trusted_proxies[{i}]"),
                format!("{text:?} is not a CIDR or IP address; write e.g. \"10.0.0.0/8\" or \"127.0.0.1\""),
            ),
        }
    }
    let shutdown_grace = duration(
        p,
        "server.shutdown_grace",
        raw.shutdown_grace.as_deref(),
        Duration::from_secs(10),
    );
    let workers = raw.workers.and_then(|w| match usize::try_from(w) {
        Ok(n) if (1..=1024).contains(&n) => Some(n),
        _ => {
            p.err(
                "server.workers",
                format!("{w} is out of range; use 1 to 1024, or leave it out for one per CPU"),
            );
            None
        }
    });
    let forward_preflight = match raw.cors_preflight.as_deref() {
        None | Some("authenticate") => false,
        Some("forward") => true,
        Some(other) => {
            p.err(
                "server.cors_preflight",
                format!("{other:?} is not one of \"authenticate\", \"forward\""),
            );
            false
        }
    };
    let own_http1 = match raw.http1.as_deref() {
        None | Some("doorman") => true,
        Some("hyper") => false,
        Some(other) => {
            p.err(
                "server.http1",
                format!("{other:?} is not one of \"doorman\", \"hyper\""),
            );
            true
        }
    };
    Server {
        own_http1,
        listen,
        admin_listen,
        trusted_proxies,
        shutdown_grace,
        workers,
        forward_preflight,
        tls,
        method_override_params: super::method_override::compile_params(raw, p),
    }
}

pub(super) fn redirect_target(
    p: &mut Problems,
    at: &str,
    value: Option<&str>,
    default: &str,
) -> RedirectTarget {
    let url = value.unwrap_or(default).trim().to_string();
    let bytes = url.as_bytes();
    let is_path = bytes.first() == Some(&b'/') && !matches!(bytes.get(1), Some(b'/' | b'\\'));
    let is_absolute = url.starts_with("https://") || url.starts_with("http://");
    let clean = url.bytes().all(|b| b.is_ascii_graphic()) && !url.contains('\\');
    if !clean || !(is_path || is_absolute) {
        p.err(
            at,
            format!("{url:?} is not a redirect target; use a path on this site starting with one /, like \"/sign-in\", or an absolute https:// URL"),
        );
    }
    let local_path = is_path.then(|| {
        let end = url.find(['?', '#']).unwrap_or(url.len());
        url[..end].to_string()
    });
    RedirectTarget { url, local_path }
}

pub(super) fn compile_redirects(raw: &RawRedirects, p: &mut Problems) -> Redirects {
    let return_to_param = raw
        .return_to_param
        .clone()
        .unwrap_or_else(|| "redirect_url".to_string());
    if return_to_param.is_empty()
        || !return_to_param
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    {
        p.err(
            "redirects.return_to_param",
            format!("{return_to_param:?} is not a plain query parameter name; use letters, digits, _ - or ."),
        );
    }
    Redirects {
        sign_in: redirect_target(
            p,
            "redirects.sign_in_url",
            raw.sign_in_url.as_deref(),
            "/sign-in",
        ),
        onboarding: redirect_target(
            p,
            "redirects.onboarding_url",
            raw.onboarding_url.as_deref(),
            "/onboarding",
        ),
        after_onboarding: redirect_target(
            p,
            "redirects.after_onboarding_url",
            raw.after_onboarding_url.as_deref(),
            "/dashboard",
        ),
        return_to_param,
    }
}

pub(super) fn compile_claims(raw: &RawClaims, p: &mut Problems) -> ClaimPointers {
    let mut pointer = |key: &str, value: &Option<String>| -> Option<String> {
        let v = value.as_ref()?;
        if let Err(message) = validate_pointer(v) {
            p.err(format!("claims.{key}"), message);
        }
        Some(v.clone())
    };
    ClaimPointers {
        user_type: pointer("user_type", &raw.user_type),
        roles: pointer("roles", &raw.roles),
        permissions: pointer("permissions", &raw.permissions),
        feature_flags: pointer("feature_flags", &raw.feature_flags),
        onboarding_status: pointer("onboarding_status", &raw.onboarding_status),
        active: pointer("active", &raw.active),
        onboarding_complete_values: raw
            .onboarding_complete_values
            .clone()
            .unwrap_or_else(|| vec!["completed".to_string()]),
        onboarding_requires: super::conditions::compile_onboarding_requires(raw, p),
        keep_payload: false,
    }
}

pub(super) fn compile_limits(raw: &RawLimits, p: &mut Problems) -> Limits {
    let max_token_bytes = raw.max_token_bytes.unwrap_or(16 * 1024);
    if !(1024..=1024 * 1024).contains(&max_token_bytes) {
        p.err(
            "limits.max_token_bytes",
            format!("{max_token_bytes} is out of range; use between 1024 and 1048576 (Clerk session tokens are a few KB)"),
        );
    }
    let max_header_bytes = raw.max_header_bytes.unwrap_or(64 * 1024);
    if !(8192..=1024 * 1024).contains(&max_header_bytes) {
        p.err(
            "limits.max_header_bytes",
            format!("{max_header_bytes} is out of range; use between 8192 and 1048576"),
        );
    }
    let max_connections = raw.max_connections.unwrap_or(10_000);
    if !(1..=1_000_000).contains(&max_connections) {
        p.err(
            "limits.max_connections",
            format!("{max_connections} is out of range; use between 1 and 1000000"),
        );
    }
    let max_streams = raw.http2_max_concurrent_streams.unwrap_or(256);
    if !(1..=10_000).contains(&max_streams) {
        p.err(
            "limits.http2_max_concurrent_streams",
            format!("{max_streams} is out of range; use between 1 and 10000"),
        );
    }
    let max_body = raw.max_body_bytes;
    if max_body == Some(0) {
        p.err(
            "limits.max_body_bytes",
            "0 would refuse every body; leave it out for no limit",
        );
    }
    let request_body_timeout = bounded_duration(
        p,
        "limits.request_body_timeout",
        raw.request_body_timeout.as_deref(),
        Duration::from_secs(20),
    );
    let min_rate = raw.request_body_min_rate.unwrap_or(500);
    if !(1..=1 << 30).contains(&min_rate) {
        p.err(
            "limits.request_body_min_rate",
            format!("{min_rate} is out of range; use 1 to 1073741824 bytes per second (the default 500 suits slow mobile links)"),
        );
    }
    let response_write_timeout = bounded_duration(
        p,
        "limits.response_write_timeout",
        raw.response_write_timeout.as_deref(),
        Duration::from_secs(60),
    );
    let mut frames = |key: &str, value: Option<u64>| {
        let n = value.unwrap_or(100);
        if !(1..=1_000_000).contains(&n) {
            p.err(
                format!("limits.{key}"),
                format!("{n} is out of range; use 1 to 1000000 (browsers send a handful; the default is 100)"),
            );
        }
        u32::try_from(n).unwrap_or(100)
    };
    let max_pings = frames("http2_max_pings", raw.http2_max_pings);
    let max_settings = frames("http2_max_settings", raw.http2_max_settings);
    let flood_window = bounded_duration(
        p,
        "limits.http2_flood_window",
        raw.http2_flood_window.as_deref(),
        Duration::from_secs(10),
    );
    Limits {
        body_min_rate: crate::body::MinRate {
            grace: request_body_timeout,
            bytes_per_second: min_rate.max(1),
        },
        response_write_timeout,
        http2_flood: crate::config::FloodLimits {
            max_pings,
            max_settings,
            window: flood_window,
        },
        max_connections: usize::try_from(max_connections).unwrap_or(10_000),
        http2_max_concurrent_streams: u32::try_from(max_streams).unwrap_or(256),
        max_body_bytes: max_body.map(|b| usize::try_from(b).unwrap_or(usize::MAX)),
        max_token_bytes: usize::try_from(max_token_bytes).unwrap_or(16 * 1024),
        header_read_timeout: duration(
            p,
            "limits.header_read_timeout",
            raw.header_read_timeout.as_deref(),
            Duration::from_secs(10),
        ),
        max_header_bytes: usize::try_from(max_header_bytes).unwrap_or(64 * 1024),
    }
}

pub(super) fn compile_cache(raw: &RawCache, p: &mut Problems) -> CacheSettings {
    let default = CacheSettings::default();
    let max_entries = raw.max_entries.unwrap_or(default.max_entries as u64);
    if !(1..=100_000_000).contains(&max_entries) {
        p.err(
            "cache.max_entries",
            format!("{max_entries} is out of range; use 1 to 100000000, or set cache.enabled = false to turn the cache off"),
        );
    }
    let max_bytes = raw.max_bytes.unwrap_or(default.max_bytes as u64);
    if !(64 * 1024..=64 * 1024 * 1024 * 1024).contains(&max_bytes) {
        p.err(
            "cache.max_bytes",
            format!("{max_bytes} is out of range; use 65536 (64 KiB) to 68719476736 (64 GiB)"),
        );
    }
    CacheSettings {
        enabled: raw.enabled.unwrap_or(default.enabled),
        max_entries: usize::try_from(max_entries).unwrap_or(default.max_entries),
        max_bytes: usize::try_from(max_bytes).unwrap_or(default.max_bytes),
    }
}

/// A duration between 100 ms and one hour (the default when out of range).
fn bounded_duration(
    p: &mut Problems,
    at: &str,
    value: Option<&str>,
    default: Duration,
) -> Duration {
    let d = duration(p, at, value, default);
    if (Duration::from_millis(100)..=Duration::from_secs(3600)).contains(&d) {
        return d;
    }
    p.err(
        at,
        format!(
            "{} is out of range; use between \"100ms\" and \"1h\" (default \"{}\")",
            humantime::format_duration(d),
            humantime::format_duration(default)
        ),
    );
    default
}
