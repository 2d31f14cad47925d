//! `decide`: the contract's decision order as one pure function.
//!
//! Takes the request facts, the route's [`Policy`], the authentication outcome and the few
//! settings it reads, and returns a [`Decision`]. It performs no I/O, reads no clock and logs
//! nothing, so every row of the decision order is a table-driven unit test. The order:
//! route access → valid token → onboarding → `incomplete_only` → active account →
//! requirements → forward.
//!
//! The same function explains itself: [`decide_with_trace`] records every check with the
//! values compared, for `doorman explain` and debug logs. On the request path the trace is
//! [`NoTrace`], which the compiler removes entirely.

use crate::config::Redirects;
use crate::decision::{Auth, Decision};
use crate::policy::{Access, Onboarding, Policy};
use crate::reason::Reason;
use crate::redirect::{is_safe_return_path, query_param};
use crate::request::Facts;
use crate::token::claims::{Activity, Identity};
use crate::token::error::TokenError;

mod trace;

pub use trace::{check, Check, NoTrace, Outcome, Trace};

/// The settings `decide` reads (the rest of the config it never sees).
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// `[server] cors_preflight = "forward"`: preflights skip authentication.
    pub forward_preflight: bool,
    pub redirects: &'a Redirects,
    /// `[claims] onboarding_complete_values`, only to explain an onboarding check.
    pub onboarding_complete_values: &'a [String],
}

impl<'a> Settings<'a> {
    /// What `decide` reads of `config`.
    pub fn of(config: &'a crate::config::Config) -> Settings<'a> {
        Settings {
            forward_preflight: config.server.forward_preflight,
            redirects: &config.redirects,
            onboarding_complete_values: &config.claims.onboarding_complete_values,
        }
    }
}

/// Decides one request. `policy` is the policy of the route `facts` matched (or the
/// defaults').
pub fn decide(
    facts: &Facts<'_>,
    policy: &Policy,
    auth: &Auth,
    settings: &Settings<'_>,
) -> Decision {
    decide_traced(facts, policy, auth, settings, &mut NoTrace)
}

/// [`decide`], with every check it made (and, past the first failure, the checks a fix of
/// that one would meet next).
pub fn decide_with_trace(
    facts: &Facts<'_>,
    policy: &Policy,
    auth: &Auth,
    settings: &Settings<'_>,
) -> (Decision, Vec<Check>) {
    let mut checks = Vec::new();
    let decision = decide_traced(facts, policy, auth, settings, &mut checks);
    (decision, checks)
}

fn decide_traced<T: Trace>(
    facts: &Facts<'_>,
    policy: &Policy,
    auth: &Auth,
    settings: &Settings<'_>,
    trace: &mut T,
) -> Decision {
    let page = facts.is_page(policy.respond);
    match policy.access {
        Access::Public => {
            trace.step("access", Outcome::Pass, || {
                "public route: forwarded with or without a session".into()
            });
            return Decision::Forward;
        }
        Access::Deny => {
            trace.step("access", Outcome::Fail, || "access = deny".into());
            return Decision::Forbidden {
                reason: Reason::RouteDenied,
            };
        }
        Access::SignedIn => trace.step("access", Outcome::Info, || {
            "signed_in: a valid session is required".into()
        }),
    }
    // Browsers send CORS preflights without credentials; when configured, the upstream
    // answers them (no identity is attached: there is none).
    if facts.preflight && settings.forward_preflight {
        trace.step("preflight", Outcome::Pass, || {
            "CORS preflight forwarded without a session (cors_preflight = \"forward\")".into()
        });
        return Decision::Forward;
    }
    let identity = match auth {
        Auth::Valid(identity) => {
            trace.step("session", Outcome::Pass, || "valid session".into());
            identity
        }
        refused => {
            trace.step("session", Outcome::Fail, || "no valid session".into());
            return match refused {
                Auth::Invalid(TokenError::KeysUnavailable) => Decision::Unavailable {
                    reason: TokenError::KeysUnavailable.reason(),
                },
                Auth::Invalid(e) => signed_out(page, e.reason()),
                Auth::SignedOut { reason } => signed_out(page, *reason),
                Auth::Refresh { reason } => Decision::Handshake { reason: *reason },
                Auth::Anonymous | Auth::Valid(_) => signed_out(page, TokenError::Missing.reason()),
            };
        }
    };
    // The first failing step decides; a recording trace goes on to show the later ones.
    let mut verdict = None;
    let steps = [
        onboarding(facts, policy, identity, settings, page, trace),
        active(identity, trace),
    ];
    for failed in steps.into_iter().flatten() {
        if !T::RECORDS {
            return failed;
        }
        verdict.get_or_insert(failed);
    }
    for requirement in &policy.requirements {
        let met = requirement.met_by(identity);
        trace.step(requirement.key(), Outcome::of(met), || {
            requirement.describe(identity)
        });
        if !met {
            let failed = Decision::Forbidden {
                reason: requirement.reason(),
            };
            if !T::RECORDS {
                return failed;
            }
            verdict.get_or_insert(failed);
        }
    }
    verdict.unwrap_or(Decision::Forward)
}

/// The account-state step: inactive or unreadable accounts are refused.
fn active<T: Trace>(identity: &Identity, trace: &mut T) -> Option<Decision> {
    let (outcome, detail, reason) = match identity.active {
        Activity::Active => (Outcome::Pass, "account active", None),
        Activity::Inactive => (
            Outcome::Fail,
            "account inactive",
            Some(Reason::AccountInactive),
        ),
        Activity::Invalid => (
            Outcome::Fail,
            "the active claim has the wrong type",
            Some(Reason::AccountStateInvalid),
        ),
    };
    trace.step("active", outcome, || detail.into());
    reason.map(|reason| Decision::Forbidden { reason })
}

fn signed_out(page: bool, reason: Reason) -> Decision {
    if page {
        Decision::RedirectSignIn { reason }
    } else {
        Decision::Unauthorized { reason }
    }
}

/// Steps 6 and 7: onboarding required, or finished on an `incomplete_only` route.
fn onboarding<T: Trace>(
    facts: &Facts<'_>,
    policy: &Policy,
    identity: &Identity,
    settings: &Settings<'_>,
    page: bool,
    trace: &mut T,
) -> Option<Decision> {
    let status = || identity.onboarding_status.as_deref().unwrap_or("none");
    match policy.onboarding {
        Onboarding::Skip => {
            trace.step("onboarding", Outcome::Skip, || "onboarding = skip".into());
            None
        }
        Onboarding::Required if identity.onboarding_complete => {
            trace.step("onboarding", Outcome::Pass, || {
                format!("required; status {:?} is complete", status())
            });
            None
        }
        Onboarding::Required => {
            // Loop guard: the onboarding page itself is never sent to onboarding.
            if is_at_or_below(facts, settings.redirects.onboarding.local_path.as_deref()) {
                trace.step("onboarding", Outcome::Pass, || {
                    format!(
                        "required; status {:?} is not complete, but this is the onboarding page",
                        status()
                    )
                });
                return None;
            }
            let reason = if identity.onboarding_missing.is_empty() {
                trace.step("onboarding", Outcome::Fail, || {
                    format!(
                        "required; status {:?} is not one of [{}]",
                        status(),
                        settings.onboarding_complete_values.join(", ")
                    )
                });
                Reason::OnboardingRequired
            } else {
                trace.step("onboarding", Outcome::Fail, || {
                    format!(
                        "required; status {:?} says complete, but the user type's required claims are missing: [{}]",
                        status(),
                        identity.onboarding_missing.join(", ")
                    )
                });
                Reason::OnboardingDataMissing
            };
            Some(if page {
                Decision::RedirectOnboarding { reason }
            } else {
                Decision::Forbidden { reason }
            })
        }
        Onboarding::IncompleteOnly if !identity.onboarding_complete || !page => {
            trace.step("onboarding", Outcome::Pass, || {
                if identity.onboarding_complete {
                    "incomplete_only; complete, but API requests are not sent on".into()
                } else {
                    format!("incomplete_only; status {:?} is not complete", status())
                }
            });
            None
        }
        Onboarding::IncompleteOnly => {
            let target = after_onboarding_target(facts, settings.redirects);
            // Never redirect a page to itself.
            let target_path = target.split(['?', '#']).next().unwrap_or("");
            if target_path == facts.path.raw() {
                trace.step("onboarding", Outcome::Pass, || {
                    "incomplete_only; complete, and already at the page it would be sent to".into()
                });
                return None;
            }
            trace.step("onboarding", Outcome::Fail, || {
                format!(
                    "incomplete_only; status {:?} is complete: pages are sent on",
                    status()
                )
            });
            Some(Decision::RedirectAfterOnboarding { to: target })
        }
    }
}

/// Where an onboarded user goes from an `incomplete_only` page: the safe `redirect_url` they
/// came with (unless it points back into onboarding), else `after_onboarding_url`.
fn after_onboarding_target(facts: &Facts<'_>, redirects: &Redirects) -> String {
    query_param(facts.query, &redirects.return_to_param)
        .filter(|back| is_safe_return_path(back))
        .filter(|back| {
            let path = back.split(['?', '#']).next().unwrap_or("");
            !path_is_at_or_below(path, redirects.onboarding.local_path.as_deref())
        })
        .unwrap_or_else(|| redirects.after_onboarding.url.clone())
}

fn is_at_or_below(facts: &Facts<'_>, base: Option<&str>) -> bool {
    path_is_at_or_below(facts.path.decoded(), base)
}

/// Segment-aware prefix test: `/onboarding` covers `/onboarding` and `/onboarding/x`.
fn path_is_at_or_below(path: &str, base: Option<&str>) -> bool {
    let Some(base) = base.map(|b| b.trim_end_matches('/')) else {
        return false;
    };
    let path = path.trim_end_matches('/');
    if base.is_empty() {
        return true;
    }
    path.len() >= base.len()
        && path.as_bytes()[..base.len()].eq_ignore_ascii_case(base.as_bytes())
        && matches!(path.as_bytes().get(base.len()), None | Some(b'/'))
}

#[cfg(test)]
mod tests;
