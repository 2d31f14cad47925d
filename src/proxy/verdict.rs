//! The decide phase: the route's policy applied to what authentication found.
//!
//! **When it runs:** after authentication. **What it does:** runs the pure
//! [`crate::decide::decide`] on the route's [`Policy`](crate::policy::Policy) (with its
//! trace, written to the DEBUG log, only when DEBUG is enabled), checks a `_method` query
//! override on an authorizing route, and applies report mode. **What it returns:** a
//! [`Verdict`]: the decision to carry out and, in report mode, the one enforcing would have
//! taken. **What it must never do:** await, answer, or count.

use crate::config::{Config, Mode, Route};
use crate::decide::{decide, decide_with_trace};
use crate::decision::{Auth, Decision};
use crate::method_override;
use crate::policy::Requirement;
use crate::reason::Reason;
use crate::request::Facts;

/// What the decide phase concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// What doorman does with the request.
    pub decision: Decision,
    /// In report mode, the refusal that was not enforced.
    pub shadow: Option<Decision>,
}

/// Decides `facts` on `route` for `auth`.
pub fn verdict(facts: &Facts<'_>, route: &Route, auth: &Auth, config: &Config) -> Verdict {
    let settings = crate::decide::Settings::of(config);
    let mut enforced = if tracing::enabled!(tracing::Level::DEBUG) {
        let (decision, checks) = decide_with_trace(facts, &route.policy, auth, &settings);
        for c in checks {
            tracing::debug!(
                route = &*route.name,
                step = c.step,
                outcome = c.outcome,
                "{}",
                c.detail
            );
        }
        decision
    } else {
        decide(facts, &route.policy, auth, &settings)
    };
    if enforced == Decision::Forward {
        // Query overrides on an authorizing route: the overridden method must pass too.
        if let Some(d) = method_override::check_query(facts, route, auth, config) {
            enforced = d;
        }
    }
    log_claim_refusal(route, auth, &enforced);
    match (route.mode, enforced) {
        (Mode::Report, Decision::Forward) => Verdict {
            decision: Decision::Forward,
            shadow: None,
        },
        (Mode::Report, refused) => Verdict {
            decision: Decision::Forward,
            shadow: Some(refused),
        },
        (Mode::Enforce, decision) => Verdict {
            decision,
            shadow: None,
        },
    }
}

/// Names what a claim condition or the onboarding data check refused (in report mode too):
/// the condition's label and why, or the missing claim names; never claim values. One INFO
/// line beside the access log line, which carries the reason id.
fn log_claim_refusal(route: &Route, auth: &Auth, decision: &Decision) {
    let (Decision::Forbidden { reason } | Decision::RedirectOnboarding { reason }) = decision
    else {
        return;
    };
    let Some(identity) = auth.identity() else {
        return;
    };
    match reason {
        Reason::ConditionFailed => {
            if let Some(Requirement::Condition(c)) = route.policy.unmet(identity) {
                let why = c
                    .evaluate(identity.claims.as_deref())
                    .err()
                    .map(|f| f.describe())
                    .unwrap_or_default();
                tracing::info!(
                    route = &*route.name,
                    condition = &*c.label,
                    reason = reason.as_str(),
                    "condition {:?} failed: {why}",
                    &*c.label
                );
            }
        }
        Reason::OnboardingDataMissing => tracing::info!(
            route = &*route.name,
            reason = reason.as_str(),
            missing = %identity.onboarding_missing.join(","),
            "onboarding is marked complete, but claims its user type requires are missing"
        ),
        _ => {}
    }
}
