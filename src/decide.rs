//! `decide`: the contract's decision order as one pure function.
//!
//! Takes the request facts, the chosen route, the authentication outcome and the config, and
//! returns a [`Decision`]. It performs no I/O, reads no clock and logs nothing, so every row
//! of the decision order is a table-driven unit test. The order (CONTRACT.md):
//! route access → valid token → onboarding → `incomplete_only` → active account →
//! requirements → forward.

use std::sync::Arc;

use crate::config::{Access, Config, Onboarding, Route};
use crate::decision::{reason, Decision};
use crate::redirect::{is_safe_return_path, query_param};
use crate::request::Facts;
use crate::token::claims::{Activity, Identity};
use crate::token::error::TokenError;

/// The outcome of token extraction and verification.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No token was sent.
    Anonymous,
    /// A token was sent and verified.
    Valid(Arc<Identity>),
    /// A token was sent and refused.
    Invalid(TokenError),
    /// A signed-in browser whose token needs Clerk's handshake (see [`crate::handshake`]).
    Refresh { reason: &'static str },
    /// Treated as signed out for a reason other than the token (e.g. the handshake limit).
    SignedOut { reason: &'static str },
}

impl Auth {
    /// The identity, when the token was valid.
    pub fn identity(&self) -> Option<&Identity> {
        match self {
            Auth::Valid(identity) => Some(identity),
            _ => None,
        }
    }
}

/// Decides one request. `route` is the route `facts` matched (or the defaults).
pub fn decide(facts: &Facts<'_>, route: &Route, auth: &Auth, config: &Config) -> Decision {
    let page = facts.is_page(route.respond);
    match route.access {
        Access::Public => return Decision::Forward,
        Access::Deny => {
            return Decision::Forbidden {
                reason: reason::ROUTE_DENIED,
            }
        }
        Access::SignedIn => {}
    }
    // Browsers send CORS preflights without credentials; when configured, the upstream
    // answers them (no identity is attached: there is none).
    if facts.preflight && config.server.forward_preflight {
        return Decision::Forward;
    }
    let identity = match auth {
        Auth::Valid(identity) => identity,
        Auth::Invalid(TokenError::KeysUnavailable) => {
            return Decision::Unavailable {
                reason: TokenError::KeysUnavailable.reason(),
            }
        }
        Auth::Anonymous => return signed_out(page, TokenError::Missing.reason()),
        Auth::Invalid(e) => return signed_out(page, e.reason()),
        Auth::SignedOut { reason } => return signed_out(page, reason),
        Auth::Refresh { reason } => return Decision::Handshake { reason },
    };
    if let Some(d) = onboarding(facts, route, identity, config, page) {
        return d;
    }
    match identity.active {
        Activity::Active => {}
        Activity::Inactive => {
            return Decision::Forbidden {
                reason: reason::ACCOUNT_INACTIVE,
            }
        }
        Activity::Invalid => {
            return Decision::Forbidden {
                reason: reason::ACCOUNT_STATE_INVALID,
            }
        }
    }
    match unmet_requirement(route, identity) {
        Some(reason) => Decision::Forbidden { reason },
        None => Decision::Forward,
    }
}

fn signed_out(page: bool, reason: &'static str) -> Decision {
    if page {
        Decision::RedirectSignIn { reason }
    } else {
        Decision::Unauthorized { reason }
    }
}

/// Steps 6 and 7: onboarding required, or finished on an `incomplete_only` route.
fn onboarding(
    facts: &Facts<'_>,
    route: &Route,
    identity: &Identity,
    config: &Config,
    page: bool,
) -> Option<Decision> {
    match route.onboarding {
        Onboarding::Skip => None,
        Onboarding::Required if identity.onboarding_complete => None,
        Onboarding::Required => {
            // Loop guard: the onboarding page itself is never sent to onboarding.
            if is_at_or_below(facts, config.redirects.onboarding.local_path.as_deref()) {
                return None;
            }
            Some(if page {
                Decision::RedirectOnboarding
            } else {
                Decision::Forbidden {
                    reason: reason::ONBOARDING_REQUIRED,
                }
            })
        }
        Onboarding::IncompleteOnly if !identity.onboarding_complete || !page => None,
        Onboarding::IncompleteOnly => {
            let target = after_onboarding_target(facts, config);
            // Never redirect a page to itself.
            let target_path = target.split(['?', '#']).next().unwrap_or("");
            if target_path == facts.path.raw() {
                return None;
            }
            Some(Decision::RedirectAfterOnboarding { to: target })
        }
    }
}

/// Where an onboarded user goes from an `incomplete_only` page: the safe `redirect_url` they
/// came with (unless it points back into onboarding), else `after_onboarding_url`.
fn after_onboarding_target(facts: &Facts<'_>, config: &Config) -> String {
    let redirects = &config.redirects;
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

/// Step 8's requirements, checked in a fixed order; the first unmet one names the reason.
pub fn unmet_requirement(route: &Route, identity: &Identity) -> Option<&'static str> {
    if !route.user_types.is_empty()
        && !identity
            .user_type
            .as_ref()
            .is_some_and(|t| route.user_types.contains(t))
    {
        return Some(reason::USER_TYPE_NOT_ALLOWED);
    }
    if !route.roles_any.is_empty() && !route.roles_any.iter().any(|r| identity.roles.contains(r)) {
        return Some(reason::ROLE_MISSING);
    }
    if !route.org_roles_any.is_empty()
        && !identity
            .org_role
            .as_ref()
            .is_some_and(|r| route.org_roles_any.contains(r))
    {
        return Some(reason::ORG_ROLE_MISSING);
    }
    if !route
        .permissions_all
        .iter()
        .all(|p| identity.has_permission(p))
        || (!route.permissions_any.is_empty()
            && !route
                .permissions_any
                .iter()
                .any(|p| identity.has_permission(p)))
    {
        return Some(reason::PERMISSION_MISSING);
    }
    if !route
        .feature_flags_all
        .iter()
        .all(|f| identity.feature_flags.contains(f))
    {
        return Some(reason::FEATURE_FLAG_DISABLED);
    }
    None
}

#[cfg(test)]
mod tests;
