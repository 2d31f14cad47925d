//! `explain`'s token rules: every check the verifier makes, each with what was expected and
//! what the token (or the `--claims` payload) holds, and the claims `[claims]` reads with a
//! warning when one has the wrong type (it then counts as absent, silently, in the proxy).
//!
//! These lines explain; they never decide. The proxy's verifier (`authn::verify_token`)
//! stays the only judge of a `--token`, and its verdict is the `token` line of the trace.
//! With `--claims` there is no header or signature: those rules are listed as skipped.

use serde_json::Value;

use crate::config::Config;
use crate::decide::{check, Check, Outcome};
use crate::keys::KeySet;

/// What the explanation knows about the token besides its payload.
pub struct TokenContext<'a> {
    /// The JOSE header's `kid`, when a real token was given.
    pub kid: Option<Option<&'a str>>,
    /// The keys doorman holds, when they were loaded.
    pub keys: Option<&'a KeySet>,
    /// Whether the signature verified (`None`: not checked, e.g. `--claims`).
    pub signature: Option<bool>,
    /// Now, in Unix seconds.
    pub now: i64,
}

/// The token rules, in the verifier's order, for `payload`.
pub fn token_rules(payload: &Value, ctx: &TokenContext<'_>, config: &Config) -> Vec<Check> {
    let verify = &config.clerk.verify;
    let mut out = Vec::new();
    let skipped = "skipped: --claims has no token header or signature";
    match (ctx.kid, ctx.keys) {
        (None, _) => out.push(check("kid", Outcome::Skip, skipped)),
        (Some(kid), Some(keys)) => {
            let known = keys.kids();
            let found = kid.is_some_and(|k| known.contains(&k));
            out.push(check(
                "kid",
                Outcome::of(found),
                format!(
                    "expected one of [{}]; token has {}",
                    known.join(", "),
                    kid.map_or("no kid".to_string(), |k| format!("\"{k}\""))
                ),
            ));
        }
        (Some(kid), None) => out.push(check(
            "kid",
            Outcome::Info,
            format!("token has {}; keys not loaded", kid.unwrap_or("no kid")),
        )),
    }
    out.push(match ctx.signature {
        None => check("signature", Outcome::Skip, skipped),
        Some(ok) => check(
            "signature",
            Outcome::of(ok),
            if ok {
                "verifies with the key of that kid"
            } else {
                "does not verify (or was not reached: see the token line)"
            },
        ),
    });
    let text = |k: &str| payload.get(k).and_then(Value::as_str);
    let iss = text("iss");
    out.push(check(
        "iss",
        Outcome::of(iss == Some(verify.issuer.as_str())),
        format!(
            "expected \"{}\" (clerk.issuer, exact); token has {}",
            verify.issuer,
            shown(payload.get("iss"))
        ),
    ));
    out.push(if verify.authorized_parties.is_empty() {
        check(
            "azp",
            Outcome::Skip,
            format!(
                "not checked: clerk.authorized_parties is empty; token has {}",
                shown(payload.get("azp"))
            ),
        )
    } else {
        let azp = text("azp");
        check(
            "azp",
            Outcome::of(azp.is_some_and(|a| verify.authorized_parties.iter().any(|p| p == a))),
            format!(
                "expected one of [{}]; token has {}",
                verify.authorized_parties.join(", "),
                shown(payload.get("azp"))
            ),
        )
    });
    let skew = i64::try_from(verify.clock_skew_secs).unwrap_or(i64::MAX);
    let int = |k: &str| payload.get(k).and_then(Value::as_i64);
    out.push(match int("exp") {
        None => check(
            "exp",
            Outcome::Fail,
            format!("required; token has {}", shown(payload.get("exp"))),
        ),
        Some(exp) => check(
            "exp",
            Outcome::of(ctx.now < exp.saturating_add(skew)),
            format!(
                "must be later than now ({}) minus {skew} s skew; token expires {} ({})",
                timestamp(ctx.now),
                timestamp(exp),
                relative(exp, ctx.now)
            ),
        ),
    });
    for (key, what) in [("nbf", "not before"), ("iat", "issued at")] {
        if let Some(at) = int(key) {
            out.push(check(
                key,
                Outcome::of(at <= ctx.now.saturating_add(skew)),
                format!(
                    "{what} {} ({}); must not be later than now plus {skew} s skew",
                    timestamp(at),
                    relative(at, ctx.now)
                ),
            ));
        }
    }
    out.push(check(
        "sub",
        Outcome::of(text("sub").is_some_and(|s| !s.is_empty())),
        format!(
            "a user id is required; token has {}",
            shown(payload.get("sub"))
        ),
    ));
    out.push(check(
        "sid",
        Outcome::of(text("sid").is_some_and(|s| !s.is_empty())),
        format!(
            "a session id is required (revocation is per session); token has {}",
            shown(payload.get("sid"))
        ),
    ));
    let pending = text("sts") == Some("pending");
    out.push(check(
        "sts",
        Outcome::of(!pending || verify.accept_pending),
        match (pending, verify.accept_pending) {
            (false, _) => format!("session status {}", shown(payload.get("sts"))),
            (true, true) => "pending, accepted (clerk.accept_pending_sessions)".to_string(),
            (true, false) => {
                "pending: counts as signed out (clerk.accept_pending_sessions = false)".into()
            }
        },
    ));
    out.extend(claim_types(payload, config));
    out
}

/// The claims `[claims]` points at, with their values, flagging a wrong type.
fn claim_types(payload: &Value, config: &Config) -> Vec<Check> {
    let p = &config.claims;
    let fields: [(&'static str, &Option<String>, Kind); 6] = [
        ("claims.user_type", &p.user_type, Kind::String),
        ("claims.roles", &p.roles, Kind::Roles),
        ("claims.permissions", &p.permissions, Kind::Strings),
        ("claims.feature_flags", &p.feature_flags, Kind::Flags),
        (
            "claims.onboarding_status",
            &p.onboarding_status,
            Kind::String,
        ),
        ("claims.active", &p.active, Kind::Bool),
    ];
    let mut out = Vec::new();
    for (step, pointer, kind) in fields {
        let Some(pointer) = pointer else { continue };
        let value = payload.pointer(pointer);
        out.push(match value {
            None | Some(Value::Null) => check(step, Outcome::Info, format!("{pointer}: absent")),
            Some(v) if kind.accepts(v) => {
                check(step, Outcome::Info, format!("{pointer} = {}", human(v)))
            }
            Some(v) => check(
                step,
                Outcome::Fail,
                format!(
                    "{pointer} is {} ({}), expected {}: doorman treats it as absent; fix the \
                     session token template",
                    type_name(v),
                    human(v),
                    kind.expected()
                ),
            ),
        });
    }
    out
}

#[derive(Clone, Copy)]
enum Kind {
    String,
    Bool,
    Strings,
    Roles,
    Flags,
}

impl Kind {
    fn accepts(self, v: &Value) -> bool {
        match self {
            Kind::String => v.is_string(),
            Kind::Bool => v.is_boolean(),
            Kind::Strings => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            Kind::Roles => v
                .as_array()
                .is_some_and(|a| a.iter().all(|r| r.is_string() || r.is_object())),
            Kind::Flags => v
                .as_object()
                .is_some_and(|o| o.values().all(Value::is_boolean)),
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Bool => "true or false",
            Kind::Strings => "an array of strings",
            Kind::Roles => "an array of role names or {name, permissions} objects",
            Kind::Flags => "an object of name -> true/false",
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON value as a person writes it: strings quoted, arrays and objects compact.
fn human(v: &Value) -> String {
    let text = v.to_string();
    if text.len() > 120 {
        format!("{}…", text.chars().take(117).collect::<String>())
    } else {
        text
    }
}

/// A claim's value, or "no <claim>".
fn shown(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "none".to_string(),
        Some(v) => human(v),
    }
}

/// `2026-12-03T13:27:01Z` for Unix seconds.
fn timestamp(unix: i64) -> String {
    u64::try_from(unix)
        .ok()
        .map(|s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s))
        .map_or_else(
            || unix.to_string(),
            |t| humantime::format_rfc3339_seconds(t).to_string(),
        )
}

/// "in 42 s" / "42 s ago".
fn relative(at: i64, now: i64) -> String {
    let d = at.saturating_sub(now);
    if d >= 0 {
        format!("in {d} s")
    } else {
        format!("{} s ago", d.saturating_neg())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> Config {
        Config::parse(
            "[clerk]\nissuer = \"https://clerk.example.com\"\n\
             jwks_url = \"https://clerk.example.com/.well-known/jwks.json\"\n\
             authorized_parties = [\"https://example.com\"]\n\
             [claims]\nroles = \"/metadata/roles\"\nuser_type = \"/metadata/userType\"\n\
             [[upstreams]]\nname = \"app\"\nurl = \"http://127.0.0.1:3000\"\n",
            "t.toml",
            &|_| None,
        )
        .unwrap()
    }

    fn by_step<'a>(checks: &'a [Check], step: &str) -> &'a Check {
        checks
            .iter()
            .find(|c| c.step == step)
            .unwrap_or_else(|| panic!("no {step} in {checks:?}"))
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn every_rule_shows_expected_and_actual_and_claims_mode_says_what_was_skipped() {
        let payload = json!({
            "iss": "https://clerk.other.com", "azp": "https://evil.example", "sub": "user_1",
            "exp": NOW - 30, "iat": NOW - 90,
            "metadata": {"roles": "admin", "userType": "freelancer"}
        });
        let ctx = TokenContext {
            kid: None,
            keys: None,
            signature: None,
            now: NOW,
        };
        let checks = token_rules(&payload, &ctx, &config());
        for step in ["kid", "signature"] {
            let c = by_step(&checks, step);
            assert_eq!(c.outcome, "skip");
            assert!(c.detail.contains("--claims"), "{c:?}");
        }
        let iss = by_step(&checks, "iss");
        assert_eq!(iss.outcome, "fail");
        assert!(
            iss.detail
                .contains("expected \"https://clerk.example.com\"")
                && iss.detail.contains("\"https://clerk.other.com\"")
        );
        let azp = by_step(&checks, "azp");
        assert_eq!(azp.outcome, "fail");
        assert!(azp.detail.contains("https://evil.example"));
        let exp = by_step(&checks, "exp");
        assert_eq!(exp.outcome, "fail");
        assert!(exp.detail.contains("30 s ago"), "{exp:?}");
        assert_eq!(by_step(&checks, "sid").outcome, "fail");
        let roles = by_step(&checks, "claims.roles");
        assert_eq!(roles.outcome, "fail");
        assert!(
            roles.detail.contains("is a string (\"admin\")"),
            "{roles:?}"
        );
        let user_type = by_step(&checks, "claims.user_type");
        assert_eq!(user_type.outcome, "info");
        assert!(
            user_type.detail.ends_with("= \"freelancer\""),
            "{user_type:?}"
        );
    }

    #[test]
    fn a_good_payload_passes_every_rule() {
        let payload = json!({
            "iss": "https://clerk.example.com", "azp": "https://example.com", "sub": "user_1",
            "sid": "sess_1", "exp": NOW + 60, "nbf": NOW - 5, "iat": NOW - 5,
            "metadata": {"roles": ["admin"]}
        });
        let ctx = TokenContext {
            kid: None,
            keys: None,
            signature: None,
            now: NOW,
        };
        for c in token_rules(&payload, &ctx, &config()) {
            assert!(c.outcome != "fail", "{c:?}");
        }
    }
}
