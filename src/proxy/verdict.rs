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
