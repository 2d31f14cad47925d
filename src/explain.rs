//! `doorman explain`: every check a request goes through, with its outcome.
//!
//! The decision shown is the one [`crate::decide::decide`] returns, the same function the
//! proxy calls; the list of checks around it is a readable trace of the same rules, with the
//! values that were compared. Never prints the token itself.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method, Uri};
use serde_json::{json, Value};

use crate::authn::verify_token;
use crate::clock::Clock;
use crate::config::{Access, Config, Onboarding, Route};
use crate::decide::{decide, Auth};
use crate::decision::Decision;
use crate::jwks::KeyStore;
use crate::request::Facts;
use crate::respond::{respond, Rendering};
use crate::token::claims::{Activity, Identity};
use crate::token::error::TokenError;
use crate::token::verify::{SessionStatus, VerifiedClaims};

/// Where the identity comes from.
pub enum TokenInput {
    None,
    /// Verified exactly as the proxy would.
    Token(String),
    /// Used as a verified payload without checking anything.
    Claims(Value),
}

/// One line of the trace.
#[derive(Debug, Clone)]
pub struct Check {
    pub step: &'static str,
    /// `pass`, `fail`, `skip` or `info`.
    pub outcome: &'static str,
    pub detail: String,
}

/// The whole explanation.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub method: String,
    pub target: String,
    pub route: String,
    pub checks: Vec<Check>,
    pub decision: Decision,
    pub status: u16,
    pub location: Option<String>,
}

fn check(step: &'static str, outcome: &'static str, detail: impl Into<String>) -> Check {
    Check {
        step,
        outcome,
        detail: detail.into(),
    }
}

/// Explains `method target` (target = path and optional query).
pub async fn explain_request(
    config: &Config,
    keys: &KeyStore,
    clock: &dyn Clock,
    method: &Method,
    target: &str,
    navigate: bool,
    token: &TokenInput,
) -> Explanation {
    let mut checks = Vec::new();
    let mut headers = HeaderMap::new();
    if navigate {
        headers.insert("sec-fetch-mode", HeaderValue::from_static("navigate"));
    }
    let uri: Uri = target.parse().unwrap_or_else(|_| Uri::from_static("/%"));
    let base = Explanation {
        method: method.to_string(),
        target: target.to_string(),
        route: String::new(),
        checks: Vec::new(),
        decision: Decision::Forward,
        status: 0,
        location: None,
    };
    let facts = match Facts::read(method, &uri, &headers) {
        Ok(f) => {
            checks.push(check(
                "path",
                "pass",
                format!("{} is unambiguous", f.path.raw()),
            ));
            f
        }
        Err(reason) => {
            checks.push(check("path", "fail", format!("refused: {reason}")));
            let decision = Decision::BadRequest { reason };
            return finish(
                base,
                checks,
                decision,
                "(none)".into(),
                config,
                method,
                false,
                None,
            );
        }
    };
    let route = config.route_for(method, &facts.path);
    checks.push(match &route.pattern {
        Some(p) => check(
            "route",
            "info",
            format!("{:?} matched pattern {p}", route.name),
        ),
        None => check("route", "info", "no route matched: [defaults] apply"),
    });
    let page = facts.is_page(route.respond);
    checks.push(check(
        "respond",
        "info",
        if page {
            "rendered as a page (redirects, HTML)"
        } else {
            "rendered as an API (401/403 JSON)"
        },
    ));
    let auth = match token {
        TokenInput::None => Auth::Anonymous,
        TokenInput::Token(t) => match verify_token(t, config, keys, clock).await {
            Ok(identity) => Auth::Valid(Arc::new(identity)),
            Err(e) => Auth::Invalid(e),
        },
        TokenInput::Claims(payload) => match claims_from_payload(payload) {
            Ok(claims) => Auth::Valid(Arc::new(Identity::from_claims(&claims, &config.claims))),
            Err(e) => Auth::Invalid(e),
        },
    };
    checks.push(match (&auth, token) {
        (Auth::Anonymous, _) => check("token", "info", "no token"),
        (Auth::Invalid(e), _) => check("token", "fail", format!("refused: {} ({e})", e.reason())),
        (Auth::Refresh { reason }, _) => check(
            "token",
            "info",
            format!("needs Clerk's handshake: {reason}"),
        ),
        (Auth::SignedOut { reason }, _) => check("token", "fail", format!("signed out: {reason}")),
        (Auth::Valid(i), TokenInput::Claims(_)) => check(
            "token",
            "skip",
            format!("claims given, not verified; user {}", i.user_id),
        ),
        (Auth::Valid(i), _) => check(
            "token",
            "pass",
            format!("verified; user {} session {}", i.user_id, i.session_id),
        ),
    });
    trace_rules(&mut checks, route, &auth, config);
    let decision = decide(&facts, route, &auth, config);
    let return_to = facts.path_and_query();
    finish(
        base,
        checks,
        decision,
        route.name.to_string(),
        config,
        method,
        page,
        Some(return_to),
    )
}

#[allow(clippy::too_many_arguments)]
fn finish(
    mut base: Explanation,
    checks: Vec<Check>,
    decision: Decision,
    route: String,
    config: &Config,
    method: &Method,
    page: bool,
    return_to: Option<String>,
) -> Explanation {
    let (status, location) = if decision == Decision::Forward {
        (0, None)
    } else {
        let resp = respond(
            &decision,
            &Rendering {
                method,
                page,
                return_to: return_to.as_deref(),
                handshake: None,
            },
            config,
        );
        let location = resp
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (resp.status().as_u16(), location)
    };
    base.route = route;
    base.checks = checks;
    base.decision = decision;
    base.status = status;
    base.location = location;
    base
}

/// The checks of the decision order for `route` and `auth` (the access, session,
/// onboarding, active and requirement steps), for `explain` and debug logs.
pub fn rule_checks(route: &Route, auth: &Auth, config: &Config) -> Vec<Check> {
    let mut checks = Vec::new();
    trace_rules(&mut checks, route, auth, config);
    checks
}

fn trace_rules(checks: &mut Vec<Check>, route: &Route, auth: &Auth, config: &Config) {
    match route.access {
        Access::Public => {
            checks.push(check(
                "access",
                "pass",
                "public route: forwarded with or without a session",
            ));
            return;
        }
        Access::Deny => {
            checks.push(check("access", "fail", "access = deny"));
            return;
        }
        Access::SignedIn => checks.push(check(
            "access",
            "info",
            "signed_in: a valid session is required",
        )),
    }
    let Some(identity) = auth.identity() else {
        checks.push(check("session", "fail", "no valid session"));
        return;
    };
    checks.push(check("session", "pass", "valid session"));
    let status = identity.onboarding_status.as_deref().unwrap_or("(none)");
    let (outcome, detail) = match route.onboarding {
        Onboarding::Skip => ("skip", "onboarding = skip".to_string()),
        Onboarding::Required if identity.onboarding_complete => ("pass", format!("required; status {status:?} is complete")),
        Onboarding::Required => ("fail", format!("required; status {status:?} is not one of {:?} (the onboarding page itself is exempt)", config.claims.onboarding_complete_values)),
        Onboarding::IncompleteOnly if identity.onboarding_complete => ("fail", format!("incomplete_only; status {status:?} is complete: pages are sent on")),
        Onboarding::IncompleteOnly => ("pass", format!("incomplete_only; status {status:?} is not complete")),
    };
    checks.push(check("onboarding", outcome, detail));
    checks.push(match identity.active {
        Activity::Active => check("active", "pass", "account active"),
        Activity::Inactive => check("active", "fail", "account inactive"),
        Activity::Invalid => check("active", "fail", "active claim has the wrong type"),
    });
    let list = |v: &[String]| v.join(", ");
    if !route.user_types.is_empty() {
        let ok = identity
            .user_type
            .as_ref()
            .is_some_and(|t| route.user_types.contains(t));
        checks.push(check(
            "user_types",
            pass(ok),
            format!(
                "needs one of [{}]; has {:?}",
                list(&route.user_types),
                identity.user_type
            ),
        ));
    }
    if !route.roles_any.is_empty() {
        let ok = route.roles_any.iter().any(|r| identity.roles.contains(r));
        checks.push(check(
            "roles_any",
            pass(ok),
            format!(
                "needs one of [{}]; has [{}]",
                list(&route.roles_any),
                list(&identity.roles)
            ),
        ));
    }
    if !route.org_roles_any.is_empty() {
        let ok = identity
            .org_role
            .as_ref()
            .is_some_and(|r| route.org_roles_any.contains(r));
        checks.push(check(
            "org_roles_any",
            pass(ok),
            format!(
                "needs one of [{}]; has {:?}",
                list(&route.org_roles_any),
                identity.org_role
            ),
        ));
    }
    for p in &route.permissions_all {
        checks.push(check(
            "permissions_all",
            pass(identity.has_permission(p)),
            format!("needs {p}"),
        ));
    }
    if !route.permissions_any.is_empty() {
        let ok = route
            .permissions_any
            .iter()
            .any(|p| identity.has_permission(p));
        checks.push(check(
            "permissions_any",
            pass(ok),
            format!(
                "needs one of [{}]; has [{}]",
                list(&route.permissions_any),
                list(&identity.permissions)
            ),
        ));
    }
    for f in &route.feature_flags_all {
        checks.push(check(
            "feature_flags_all",
            pass(identity.feature_flags.contains(f)),
            format!("needs flag {f}"),
        ));
    }
}

/// Reads a `--claims` payload as if it had been verified: only the fields the identity needs
/// must be present with the right types.
fn claims_from_payload(payload: &Value) -> Result<VerifiedClaims, TokenError> {
    let obj = payload.as_object().ok_or(TokenError::Claims)?;
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    let int = |k: &str| obj.get(k).and_then(Value::as_i64);
    Ok(VerifiedClaims {
        sub: text("sub").ok_or(TokenError::Claims)?,
        sid: text("sid").unwrap_or_default(),
        iat: int("iat"),
        nbf: int("nbf"),
        exp: int("exp").unwrap_or(i64::MAX),
        version: if int("v") == Some(2) { 2 } else { 1 },
        status: if text("sts").as_deref() == Some("pending") {
            SessionStatus::Pending
        } else {
            SessionStatus::Active
        },
        payload: payload.clone(),
    })
}

fn pass(ok: bool) -> &'static str {
    if ok {
        "pass"
    } else {
        "fail"
    }
}

impl Explanation {
    /// The human form.
    pub fn to_text(&self) -> String {
        let mut out = format!("{} {}\n  route: {}\n", self.method, self.target, self.route);
        for c in &self.checks {
            out.push_str(&format!(
                "  [{:<4}] {:<17} {}\n",
                c.outcome, c.step, c.detail
            ));
        }
        out.push_str(&format!("  decision: {}", self.decision));
        if self.status != 0 {
            out.push_str(&format!(" → HTTP {}", self.status));
        }
        if let Some(l) = &self.location {
            out.push_str(&format!(" Location: {l}"));
        }
        out.push('\n');
        out
    }

    /// The JSON form (`--json`).
    pub fn to_json(&self) -> Value {
        json!({
            "method": self.method,
            "target": self.target,
            "route": self.route,
            "checks": self.checks.iter().map(|c| json!({"step": c.step, "outcome": c.outcome, "detail": c.detail})).collect::<Vec<_>>(),
            "decision": self.decision.label(),
            "reason": self.decision.reason(),
            "status": (self.status != 0).then_some(self.status),
            "location": self.location,
        })
    }
}
