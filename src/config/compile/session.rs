//! Compiling `[session]`: the front end's session endpoint (off unless a path is set).

use super::*;
use crate::config::raw::RawSession;
use crate::config::SessionEndpoint;
use crate::path::normalize;

pub(super) fn compile_session(
    raw: Option<&RawSession>,
    webhooks: Option<&Webhooks>,
    p: &mut Problems,
) -> Option<SessionEndpoint> {
    let raw = raw?;
    let Some(path) = raw.path.clone() else {
        p.err(
            "session.path",
            "missing; the endpoint is off without [session], on with a path like \"/api/doorman/session\"",
        );
        return None;
    };
    if !path.starts_with('/') || normalize(&path).is_err() || path.ends_with('/') {
        p.err(
            "session.path",
            format!("{path:?} is not a plain path; write it like \"/api/doorman/session\""),
        );
    }
    if webhooks.is_some_and(|w| w.path == path) {
        p.err(
            "session.path",
            format!("{path:?} is also webhooks.path; give the session endpoint its own path"),
        );
    }
    let mut allowed_origins = Vec::new();
    for (i, origin) in raw.allowed_origins.iter().flatten().enumerate() {
        let trimmed = origin.trim_end_matches('/');
        let valid = trimmed.split_once("://").is_some_and(|(scheme, host)| {
            matches!(scheme, "http" | "https") && !host.is_empty() && !host.contains('/')
        });
        if valid {
            allowed_origins.push(trimmed.to_string());
        } else {
            p.err(
                format!("session.allowed_origins[{i}]"),
                format!("{origin:?} is not an origin; write it like \"https://marketplace.example\" (scheme and host, no path)"),
            );
        }
    }
    Some(SessionEndpoint {
        path,
        allowed_origins,
    })
}
