//! Compiling a route's `conditions` (CEL over the claims) and `[claims.onboarding_requires]`
//! (per user type, the claims a finished onboarding must carry).

use super::*;
use crate::condition::Condition;
use crate::config::raw::RawCondition;

/// The route's conditions in the order written; each problem is located at
/// `<route>.conditions[i].<key>`.
pub(super) fn compile_conditions(
    p: &mut Problems,
    at: &str,
    raw: Option<&[RawCondition]>,
) -> Vec<Condition> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    if raw.is_empty() {
        p.err(
            format!("{at}.conditions"),
            "an empty list checks nothing; remove `conditions` or add { label = \"…\", cel = \"…\" }",
        );
        return Vec::new();
    }
    let env = Condition::environment();
    let mut labels = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, c) in raw.iter().enumerate() {
        let here = format!("{at}.conditions[{i}]");
        let label = c.label.clone().unwrap_or_default();
        if label.is_empty()
            || label.len() > 64
            || !label
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'))
        {
            p.err(
                format!("{here}.label"),
                format!("{label:?}: give the condition a label of 1-64 letters, digits, '_', '-' or '.' (it names the condition in logs and explain), e.g. \"verified_freelancer\""),
            );
        } else if !labels.insert(label.clone()) {
            p.err(
                format!("{here}.label"),
                format!(
                    "{label:?} is used twice on this route; labels must tell the conditions apart"
                ),
            );
        }
        let Some(source) = c.cel.as_deref() else {
            p.err(
                format!("{here}.cel"),
                "missing; write a CEL expression over `claims`, e.g. \"claims.metadata.freelancerVerified == true\"",
            );
            continue;
        };
        match Condition::compile(&label, source, &env) {
            Ok(condition) => out.push(condition),
            Err(message) => p.err(format!("{here}.cel"), message),
        }
    }
    out
}

/// `[claims.onboarding_requires]`: user type → the pointers a finished onboarding carries.
pub(super) fn compile_onboarding_requires(
    raw: &RawClaims,
    p: &mut Problems,
) -> Vec<(String, Vec<String>)> {
    let Some(table) = raw.onboarding_requires.as_ref() else {
        return Vec::new();
    };
    if raw.user_type.is_none() {
        p.err(
            "claims.onboarding_requires",
            "lists claims per user type, but claims.user_type is not set; set it (e.g. \"/metadata/userType\")",
        );
    }
    if raw.onboarding_status.is_none() {
        p.err(
            "claims.onboarding_requires",
            "checks a finished onboarding, but claims.onboarding_status is not set; set it (e.g. \"/metadata/onboarding/status\")",
        );
    }
    table
        .iter()
        .map(|(user_type, pointers)| {
            let at = format!("claims.onboarding_requires.{user_type}");
            if pointers.is_empty() {
                p.warn(&at, "an empty list requires nothing; remove the entry");
            }
            for (i, pointer) in pointers.iter().enumerate() {
                if pointer.is_empty() {
                    p.err(
                        format!("{at}[{i}]"),
                        "\"\" is the whole payload; name a claim, e.g. \"/metadata/companyName\"",
                    );
                } else if let Err(message) = validate_pointer(pointer) {
                    p.err(format!("{at}[{i}]"), message);
                }
            }
            (user_type.clone(), pointers.clone())
        })
        .collect()
}

/// `[headers.claims]`: header name → claim pointer. Names share `seen` (lowercase, `_` as
/// `-`) with the identity headers, so no two headers carry the same name.
pub(super) fn compile_claim_headers(
    raw: &RawHeaders,
    seen: &mut HashSet<String>,
    p: &mut Problems,
) -> Vec<crate::claim_headers::ClaimHeader> {
    let Some(table) = raw.claims.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(table.len());
    for (name, pointer) in table {
        let at = format!("headers.claims.{name:?}");
        let Ok(header) = HeaderName::try_from(name.as_str()) else {
            p.err(
                at,
                "is not a valid header name; use letters, digits and -, like \"X-Freelancer-Tier\"",
            );
            continue;
        };
        if headers::RESERVED_HEADERS.contains(&header.as_str()) {
            p.err(at, "is a framing, routing or credential header and cannot carry a claim; pick another name");
            continue;
        }
        if !seen.insert(header.as_str().replace('_', "-")) {
            p.err(
                at,
                "is already used for another identity or claim header; give each its own name",
            );
            continue;
        }
        if pointer.is_empty() {
            p.err(at, "\"\" would send the whole payload; name a claim, e.g. \"/metadata/freelancerTier\"");
            continue;
        }
        if let Err(message) = validate_pointer(pointer) {
            p.err(at, message);
            continue;
        }
        out.push(crate::claim_headers::ClaimHeader {
            name: header,
            pointer: pointer.clone(),
        });
    }
    out
}
