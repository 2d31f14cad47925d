//! Compiling `[clerk]`: the issuer and token rules, exactly one key source, and the
//! handshake settings derived from the publishable and secret keys. No I/O: key files are
//! read by the key stage, the publishable key is only decoded.

use super::*;

pub(super) fn compile_clerk(raw: Option<&RawClerk>, p: &mut Problems) -> Clerk {
    let default = RawClerk::default();
    let raw = match raw {
        Some(raw) => raw,
        None => {
            p.err(
                "clerk",
                "the [clerk] section is missing; add it with `issuer` and one key source (jwks_url, jwks_file, public_key_pem or public_key_file)",
            );
            &default
        }
    };
    let issuer = match raw.issuer.as_deref().map(str::trim) {
        Some(i) if !i.is_empty() => {
            if !(i.starts_with("https://") || i.starts_with("http://")) {
                p.err(
                    "clerk.issuer",
                    format!("{i:?} is not a URL; use your Frontend API URL, like \"https://clerk.example.com\""),
                );
            } else if i.ends_with('/') {
                p.warn(
                    "clerk.issuer",
                    "Clerk issuers have no trailing slash and `iss` is compared exactly; remove the final /",
                );
            }
            i.to_string()
        }
        _ => {
            if raw.issuer.is_some() || !p.errors.iter().any(|e| e.at == "clerk") {
                p.err(
                    "clerk.issuer",
                    "missing; set it to your Frontend API URL (the tokens' `iss`), like \"https://clerk.example.com\"",
                );
            }
            String::new()
        }
    };
    let keys = key_source(raw, p);
    let authorized_parties: Vec<String> = raw.authorized_parties.clone().unwrap_or_default();
    for (i, party) in authorized_parties.iter().enumerate() {
        let at = format!("clerk.authorized_parties[{i}]");
        if !(party.starts_with("https://") || party.starts_with("http://")) {
            p.err(
                at,
                format!("{party:?} is not an origin; write it like \"https://example.com\""),
            );
        } else if party.ends_with('/') {
            p.err(
                at,
                format!("{party:?} ends with /, but `azp` is an origin without one and is compared exactly; remove the final /"),
            );
        }
    }
    let clock_skew = duration(
        p,
        "clerk.clock_skew",
        raw.clock_skew.as_deref(),
        Duration::from_secs(5),
    );
    if clock_skew > Duration::from_secs(300) {
        p.err(
            "clerk.clock_skew",
            "more than 5m of skew would keep expired 60-second session tokens alive for long; use a few seconds",
        );
    }
    let session_cookie = raw
        .session_cookie
        .clone()
        .unwrap_or_else(|| "__session".to_string());
    if session_cookie.is_empty()
        || !session_cookie
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    {
        p.err(
            "clerk.session_cookie",
            format!("{session_cookie:?} is not a cookie name; use letters, digits, _ - or ., like \"__session\""),
        );
    }
    let jwks_refresh = duration(
        p,
        "clerk.jwks_refresh",
        raw.jwks_refresh.as_deref(),
        Duration::from_secs(300),
    );
    if jwks_refresh < Duration::from_secs(1) {
        p.err("clerk.jwks_refresh", "must be at least 1s");
    }
    let publishable = publishable(raw, p);
    let handshake = handshake(raw, publishable.as_ref(), p);
    if raw.publishable_key.is_some() != raw.secret_key.is_some() && raw.publishable_key.is_some() {
        p.warn(
            "clerk.secret_key",
            "publishable_key is set without secret_key: browsers with an expired session token are sent to sign-in instead of Clerk's handshake; set secret_key to enable it",
        );
    }
    Clerk {
        keys,
        verify: VerifyOptions {
            issuer,
            authorized_parties,
            clock_skew_secs: clock_skew.as_secs(),
            accept_pending: raw.accept_pending_sessions.unwrap_or(false),
        },
        jwks_refresh,
        jwks_max_stale: duration(
            p,
            "clerk.jwks_max_stale",
            raw.jwks_max_stale.as_deref(),
            Duration::from_secs(3600),
        ),
        jwks_timeout: duration(
            p,
            "clerk.jwks_timeout",
            raw.jwks_timeout.as_deref(),
            Duration::from_secs(5),
        ),
        jwks_unknown_kid_interval: duration(
            p,
            "clerk.jwks_unknown_kid_interval",
            raw.jwks_unknown_kid_interval.as_deref(),
            Duration::from_secs(30),
        ),
        session_cookie,
        secret_key: secret_key(raw, p),
        cookie_suffix: publishable.as_ref().map(|pk| pk.cookie_suffix.clone()),
        api_url: match &handshake {
            Some(h) => h.api_url.clone(),
            None => base_url(
                p,
                "clerk.api_url",
                raw.api_url.as_deref().unwrap_or("https://api.clerk.com"),
            ),
        },
        handshake,
        ca_file: raw.ca_file.as_ref().map(PathBuf::from),
    }
}

pub(super) fn secret_key(raw: &RawClerk, p: &mut Problems) -> Option<String> {
    let key = raw.secret_key.as_ref()?;
    if !(key.starts_with("sk_live_") || key.starts_with("sk_test_"))
        || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        p.err(
            "clerk.secret_key",
            "does not look like a Clerk secret key (sk_live_… or sk_test_…); set it from the dashboard, usually as \"${CLERK_SECRET_KEY}\"",
        );
    }
    Some(key.clone())
}

pub(super) fn base_url(p: &mut Problems, at: &str, value: &str) -> String {
    let trimmed = value.trim_end_matches('/');
    let ok = (trimmed.starts_with("https://") || trimmed.starts_with("http://"))
        && trimmed
            .parse::<http::Uri>()
            .is_ok_and(|u| u.host().is_some() && u.query().is_none());
    if !ok {
        p.err(
            at,
            format!(
                "{value:?} is not an http(s) base URL; write it like \"https://api.clerk.com\""
            ),
        );
    }
    trimmed.to_string()
}

/// The publishable key, if set and valid.
pub(super) fn publishable(
    raw: &RawClerk,
    p: &mut Problems,
) -> Option<crate::config::publishable::PublishableKey> {
    let key = raw.publishable_key.as_ref()?;
    match crate::config::publishable::parse(key) {
        Ok(pk) => Some(pk),
        Err(message) => {
            p.err("clerk.publishable_key", message);
            None
        }
    }
}

/// The handshake settings: on when both the publishable and the secret key are set.
pub(super) fn handshake(
    raw: &RawClerk,
    pk: Option<&crate::config::publishable::PublishableKey>,
    p: &mut Problems,
) -> Option<Handshake> {
    let pk = pk?;
    let secret_key = raw.secret_key.clone()?;
    let frontend_api = match &raw.frontend_api_url {
        Some(url) => base_url(p, "clerk.frontend_api_url", url),
        None => format!("https://{}", pk.frontend_api_host),
    };
    let api_url = base_url(
        p,
        "clerk.api_url",
        raw.api_url.as_deref().unwrap_or("https://api.clerk.com"),
    );
    let app_origin = raw.app_origin.as_ref().map(|o| {
        let origin = base_url(p, "clerk.app_origin", o);
        if origin.matches('/').count() > 2 {
            p.err(
                "clerk.app_origin",
                format!("{o:?} has a path; an origin is scheme://host[:port]"),
            );
        }
        origin
    });
    Some(Handshake {
        frontend_api,
        api_url,
        secret_key,
        app_origin,
        timeout: duration(
            p,
            "clerk.handshake_timeout",
            raw.handshake_timeout.as_deref(),
            Duration::from_secs(5),
        ),
    })
}

pub(super) fn key_source(raw: &RawClerk, p: &mut Problems) -> KeySource {
    let mut sources = Vec::new();
    if let Some(url) = &raw.jwks_url {
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.parse::<http::Uri>().is_err()
        {
            p.err(
                "clerk.jwks_url",
                format!("{url:?} is not an http(s) URL; use e.g. \"https://clerk.example.com/.well-known/jwks.json\""),
            );
        }
        sources.push(("jwks_url", KeySource::JwksUrl(url.clone())));
    }
    if let Some(file) = &raw.jwks_file {
        sources.push(("jwks_file", KeySource::JwksFile(PathBuf::from(file))));
    }
    if let Some(pem) = &raw.public_key_pem {
        if !pem.contains("-----BEGIN") {
            p.err(
                "clerk.public_key_pem",
                "does not look like a PEM public key (no -----BEGIN line); paste the key from Clerk's dashboard (API keys → Show JWT public key → PEM)",
            );
        }
        sources.push(("public_key_pem", KeySource::PemText(pem.clone())));
    }
    if let Some(file) = &raw.public_key_file {
        sources.push(("public_key_file", KeySource::PemFile(PathBuf::from(file))));
    }
    match sources.len() {
        1 => sources.remove(0).1,
        0 => {
            p.err(
                "clerk",
                "no key source; set exactly one of jwks_url, jwks_file, public_key_pem or public_key_file",
            );
            KeySource::PemText(String::new())
        }
        _ => {
            let names: Vec<&str> = sources.iter().map(|(n, _)| *n).collect();
            p.err(
                "clerk",
                format!(
                    "{} key sources are set ({}); keep exactly one",
                    names.len(),
                    names.join(", ")
                ),
            );
            sources.remove(0).1
        }
    }
}
