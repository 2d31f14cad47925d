//! `doorman explain`: every check a request goes through, with its outcome.
//!
//! The decision and the rule checks come from [`crate::decide::decide_with_trace`], the same
//! function the proxy calls, so the explanation cannot drift from what is enforced; this
//! module adds the path, route and token steps around it ([`token_rules`]: every token rule
//! with expected against actual, the claims with their types) and renders text or JSON.
//! The request may carry headers and cookies (`--header`, `--cookie`): they are read as the
//! proxy reads them (navigation, the token from `Authorization` or the session cookie).
//! Never prints the token itself.

mod token_rules;

use std::sync::Arc;

use http::{HeaderMap, Method, Uri};
use serde_json::{json, Value};

use crate::authn::verify_token;
use crate::clock::Clock;
use crate::config::Config;
use crate::decide::{check, decide_with_trace, Check, Outcome};
use crate::decision::{Auth, Decision};
use crate::jwks::KeyStore;
use crate::request::Facts;
use crate::respond::{respond, Rendering};
use crate::token::claims::Identity;
use crate::token::error::TokenError;
use crate::token::verify::{SessionStatus, VerifiedClaims};

/// Where the identity comes from.
pub enum TokenInput {
    /// None given: the token, if any, is taken from the request's headers and cookies.
    None,
    /// Verified exactly as the proxy would.
    Token(String),
    /// Used as a verified payload without checking anything.
    Claims(Value),
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

/// Explains `method target` (target = path and optional query), a navigation when
/// `navigate`, with no other header.
pub async fn explain_request(
    config: &Config,
    keys: &KeyStore,
    clock: &dyn Clock,
    method: &Method,
    target: &str,
    navigate: bool,
    token: &TokenInput,
) -> Explanation {
    let mut headers = HeaderMap::new();
    if navigate {
        headers.insert("sec-fetch-mode", http::HeaderValue::from_static("navigate"));
    }
    explain_with_headers(config, keys, clock, method, target, token, &headers).await
}

/// Explains `method target` (target = path and optional query) sent with `headers`.
pub async fn explain_with_headers(
    config: &Config,
    keys: &KeyStore,
    clock: &dyn Clock,
    method: &Method,
    target: &str,
    token: &TokenInput,
    headers: &HeaderMap,
) -> Explanation {
    let mut checks = Vec::new();
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
    let facts = match Facts::read(method, &uri, headers) {
        Ok(f) => {
            checks.push(check(
                "path",
                Outcome::Pass,
                format!("{} is unambiguous", f.path.raw()),
            ));
            f
        }
        Err(reason) => {
            checks.push(check("path", Outcome::Fail, format!("refused: {reason}")));
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
            Outcome::Info,
            format!("{:?} matched pattern {p}", route.name),
        ),
        None => check("route", Outcome::Info, "no route matched: [defaults] apply"),
    });
    let page = facts.is_page(route.policy.respond);
    checks.push(check(
        "respond",
        Outcome::Info,
        if page {
            "rendered as a page (redirects, HTML)"
        } else {
            "rendered as an API (401/403 JSON)"
        },
    ));
    // No --token/--claims: the token the proxy would find in these headers and cookies.
    let from_request = match token {
        TokenInput::None => {
            match crate::token::extract::extract_token(headers, &config.clerk.session_cookie) {
                Ok(found) => found.map(|(t, source)| {
                    checks.push(check(
                        "token source",
                        Outcome::Info,
                        format!("taken from the request ({source:?})"),
                    ));
                    TokenInput::Token(t.to_string())
                }),
                Err(e) => {
                    checks.push(check(
                        "token source",
                        Outcome::Fail,
                        format!("refused: {} ({e})", e.reason()),
                    ));
                    None
                }
            }
        }
        _ => None,
    };
    let token = from_request.as_ref().unwrap_or(token);
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
        (Auth::Anonymous, _) => check("token", Outcome::Info, "no token"),
        (Auth::Invalid(e), _) => check(
            "token",
            Outcome::Fail,
            format!("refused: {} ({e})", e.reason()),
        ),
        (Auth::Refresh { reason }, _) => check(
            "token",
            Outcome::Info,
            format!("needs Clerk's handshake: {}", reason.as_str()),
        ),
        (Auth::SignedOut { reason }, _) => {
            check("token", Outcome::Fail, format!("signed out: {reason}"))
        }
        (Auth::Valid(i), TokenInput::Claims(_)) => check(
            "token",
            Outcome::Skip,
            format!(
                "claims given, not verified: the token rules below are reported, not enforced; user {}",
                i.user_id
            ),
        ),
        (Auth::Valid(i), _) => check(
            "token",
            Outcome::Pass,
            format!("verified; user {} session {}", i.user_id, i.session_id),
        ),
    });
    checks.extend(rules_of(token, &auth, config, keys, clock));
    let (decision, rule_checks) = decide_with_trace(
        &facts,
        &route.policy,
        &auth,
        &crate::decide::Settings::of(config),
    );
    checks.extend(rule_checks);
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

/// The token rules for what was given: a real token (parsed without trusting it, to show
/// its kid and claims) or a `--claims` payload; nothing without a token.
fn rules_of(
    token: &TokenInput,
    auth: &Auth,
    config: &Config,
    keys: &KeyStore,
    clock: &dyn Clock,
) -> Vec<Check> {
    let loaded = keys.current_keys();
    let now = clock.now_unix();
    match token {
        TokenInput::None => Vec::new(),
        TokenInput::Claims(payload) => {
            let ctx = token_rules::TokenContext {
                kid: None,
                keys: None,
                signature: None,
                now,
            };
            token_rules::token_rules(payload, &ctx, config)
        }
        TokenInput::Token(t) => {
            let Ok(parsed) =
                crate::token::parse::ParsedToken::parse(t, config.limits.max_token_bytes)
            else {
                return Vec::new(); // the token line already says why it cannot be read
            };
            // The signature is checked before the claims: a claim failure means it verified.
            let signature = match auth {
                Auth::Valid(_) => true,
                Auth::Invalid(e) => !matches!(
                    e,
                    TokenError::BadSignature
                        | TokenError::UnknownKid
                        | TokenError::BadAlgorithm
                        | TokenError::TokenType
                        | TokenError::KeysUnavailable
                        | TokenError::Malformed
                        | TokenError::TooLarge
                ),
                _ => false,
            };
            let ctx = token_rules::TokenContext {
                kid: Some(parsed.kid()),
                keys: loaded.as_deref(),
                signature: Some(signature),
                now,
            };
            token_rules::token_rules(parsed.payload().value(), &ctx, config)
        }
    }
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
        payload: payload.clone().into(),
    })
}

impl Explanation {
    /// The human form.
    pub fn to_text(&self) -> String {
        let mut out = format!("{} {}\n  route: {}\n", self.method, self.target, self.route);
        for c in &self.checks {
            out.push_str(&format!(
                "  [{:<4}] {:<24} {}\n",
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
