//! What a route demands of a request, as plain data.
//!
//! A [`Policy`] is compiled once per route from its config keys (`access`, `onboarding`, and
//! the requirement lists) and read by `decide` on every request. The requirement list is the
//! only place that knows the requirement kinds, their order (the order of the decision
//! table: user types, roles, organization roles, permissions, feature flags, then the
//! route's claim conditions in the order written), how each is
//! checked against an identity, the reason id of a failure and how it reads in `explain`.
//! Pure: no I/O, no clock, no logging.

use crate::condition::Condition;
use crate::reason::Reason;
use crate::token::claims::Identity;

/// Who may reach a route at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    SignedIn,
    /// Nobody: 403 `route_denied`.
    Deny,
}

/// What a route asks of the onboarding status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Onboarding {
    Required,
    Skip,
    /// Only users who have not finished onboarding; finished users are sent on.
    IncompleteOnly,
}

/// Everything a route checks, in the decision order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub access: Access,
    pub onboarding: Onboarding,
    /// How denials are rendered: pages (redirects, HTML) or API answers (401/403 JSON).
    pub respond: Respond,
    /// Checked in order after the session, onboarding and account checks; the first unmet
    /// one names the reason. Empty lists from the config are not in here.
    pub requirements: Vec<Requirement>,
}

/// One requirement on a signed-in identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `user_types`: the user type is one of these.
    UserTypes(Vec<String>),
    /// `roles_any`: at least one of these roles.
    RolesAny(Vec<String>),
    /// `org_roles_any`: the active organization role is one of these.
    OrgRolesAny(Vec<String>),
    /// `permissions_all`: every one of these permissions.
    PermissionsAll(Vec<String>),
    /// `permissions_any`: at least one of these permissions.
    PermissionsAny(Vec<String>),
    /// `feature_flags_all`: every one of these flags enabled.
    FeatureFlagsAll(Vec<String>),
    /// One entry of `conditions`: a CEL expression over the claims holds.
    Condition(Condition),
}

/// The requirement lists of a route, as written in the config (empty = no requirement).
#[derive(Debug, Clone, Default)]
pub struct RequirementLists {
    pub user_types: Vec<String>,
    pub roles_any: Vec<String>,
    pub org_roles_any: Vec<String>,
    pub permissions_all: Vec<String>,
    pub permissions_any: Vec<String>,
    pub feature_flags_all: Vec<String>,
}

impl Policy {
    /// A policy with the requirement lists in the decision order, empty ones left out.
    pub fn new(
        access: Access,
        onboarding: Onboarding,
        respond: Respond,
        lists: RequirementLists,
    ) -> Policy {
        let candidates = [
            Requirement::UserTypes(lists.user_types),
            Requirement::RolesAny(lists.roles_any),
            Requirement::OrgRolesAny(lists.org_roles_any),
            Requirement::PermissionsAll(lists.permissions_all),
            Requirement::PermissionsAny(lists.permissions_any),
            Requirement::FeatureFlagsAll(lists.feature_flags_all),
        ];
        Policy {
            access,
            onboarding,
            respond,
            requirements: candidates
                .into_iter()
                .filter(|r| !r.names().is_empty())
                .collect(),
        }
    }

    /// Whether any requirement is a claim condition (the payload is then kept per session).
    pub fn has_conditions(&self) -> bool {
        self.requirements
            .iter()
            .any(|r| matches!(r, Requirement::Condition(_)))
    }

    /// The first requirement `identity` does not meet.
    pub fn unmet(&self, identity: &Identity) -> Option<&Requirement> {
        self.requirements.iter().find(|r| !r.met_by(identity))
    }

    /// The names a route lists under `kind` (for config checks).
    pub fn names_of(&self, kind: fn(&Requirement) -> bool) -> impl Iterator<Item = &String> {
        self.requirements
            .iter()
            .filter(move |r| kind(r))
            .flat_map(|r| r.names())
    }
}

impl Requirement {
    /// The config key the requirement comes from.
    pub fn key(&self) -> &'static str {
        match self {
            Requirement::UserTypes(_) => "user_types",
            Requirement::RolesAny(_) => "roles_any",
            Requirement::OrgRolesAny(_) => "org_roles_any",
            Requirement::PermissionsAll(_) => "permissions_all",
            Requirement::PermissionsAny(_) => "permissions_any",
            Requirement::FeatureFlagsAll(_) => "feature_flags_all",
            Requirement::Condition(_) => "condition",
        }
    }

    /// The names it lists.
    pub fn names(&self) -> &[String] {
        match self {
            Requirement::UserTypes(v)
            | Requirement::RolesAny(v)
            | Requirement::OrgRolesAny(v)
            | Requirement::PermissionsAll(v)
            | Requirement::PermissionsAny(v)
            | Requirement::FeatureFlagsAll(v) => v,
            Requirement::Condition(_) => &[],
        }
    }

    /// The reason id of a 403 when it is not met.
    pub fn reason(&self) -> Reason {
        match self {
            Requirement::UserTypes(_) => Reason::UserTypeNotAllowed,
            Requirement::RolesAny(_) => Reason::RoleMissing,
            Requirement::OrgRolesAny(_) => Reason::OrgRoleMissing,
            Requirement::PermissionsAll(_) | Requirement::PermissionsAny(_) => {
                Reason::PermissionMissing
            }
            Requirement::FeatureFlagsAll(_) => Reason::FeatureFlagDisabled,
            Requirement::Condition(_) => Reason::ConditionFailed,
        }
    }

    /// Whether `identity` meets it. A missing claim never meets a requirement.
    pub fn met_by(&self, identity: &Identity) -> bool {
        match self {
            Requirement::UserTypes(types) => identity
                .user_type
                .as_ref()
                .is_some_and(|t| types.contains(t)),
            Requirement::RolesAny(roles) => roles.iter().any(|r| identity.roles.contains(r)),
            Requirement::OrgRolesAny(roles) => identity
                .org_role
                .as_ref()
                .is_some_and(|r| roles.contains(r)),
            Requirement::PermissionsAll(perms) => perms.iter().all(|p| identity.has_permission(p)),
            Requirement::PermissionsAny(perms) => perms.iter().any(|p| identity.has_permission(p)),
            Requirement::FeatureFlagsAll(flags) => {
                flags.iter().all(|f| identity.feature_flags.contains(f))
            }
            Requirement::Condition(c) => c.evaluate(identity.claims.as_deref()).is_ok(),
        }
    }

    /// What was required against what the identity has, for `explain` and debug logs.
    /// Names only; never a token or claim outside the compared ones.
    pub fn describe(&self, identity: &Identity) -> String {
        let wanted = self.names().join(", ");
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        let one = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".to_string());
        match self {
            Requirement::UserTypes(_) => {
                format!("needs one of [{wanted}]; has {}", one(&identity.user_type))
            }
            Requirement::RolesAny(_) => {
                format!("needs one of [{wanted}]; has [{}]", list(&identity.roles))
            }
            Requirement::OrgRolesAny(_) => {
                format!("needs one of [{wanted}]; has {}", one(&identity.org_role))
            }
            Requirement::PermissionsAll(perms) => {
                let missing: Vec<String> = perms
                    .iter()
                    .filter(|p| !identity.has_permission(p))
                    .cloned()
                    .collect();
                format!("needs all of [{wanted}]; missing [{}]", list(&missing))
            }
            Requirement::PermissionsAny(_) => format!(
                "needs one of [{wanted}]; has [{}]",
                list(&identity.permissions)
            ),
            Requirement::FeatureFlagsAll(flags) => {
                let off: Vec<String> = flags
                    .iter()
                    .filter(|f| !identity.feature_flags.contains(f))
                    .cloned()
                    .collect();
                format!("needs flags [{wanted}]; not enabled [{}]", list(&off))
            }
            Requirement::Condition(c) => match c.evaluate(identity.claims.as_deref()) {
                Ok(()) => format!("{:?} holds", &*c.label),
                Err(failure) => format!("{:?} fails: {}", &*c.label, failure.describe()),
            },
        }
    }
}

/// How denials are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Respond {
    Page,
    Api,
    Auto,
}
