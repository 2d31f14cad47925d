//! The demo's script: the personas whose tokens it mints and the requests it makes, each
//! with what it should show.

use serde_json::{json, Value};

use super::{ISSUER, KID};
use crate::clock::{Clock, SystemClock};
use crate::commands::CommandError;
use crate::dev::mint::{mint, SigningKey};

/// A demo persona: who they are and what the demo shows with their token.
pub(super) struct Persona {
    pub(super) name: &'static str,
    pub(super) token: String,
}

/// One request the demo makes, and what it should show.
pub(super) struct Scenario {
    pub(super) what: &'static str,
    pub(super) method: &'static str,
    pub(super) path: &'static str,
    pub(super) persona: Option<usize>,
    pub(super) page: bool,
    pub(super) expect: &'static str,
}

pub(super) fn personas(key: &SigningKey) -> Result<Vec<Persona>, CommandError> {
    let now = SystemClock.now_unix();
    let claims = |sub: &str, metadata: Value, org: Option<Value>, exp: i64| {
        let mut c = json!({
            "iss": ISSUER, "sub": sub, "sid": format!("sess_{sub}"), "azp": "https://marketplace.example",
            "iat": exp - 600, "nbf": exp - 610, "exp": exp, "v": 2, "fea": "o:projects", "metadata": metadata,
        });
        if let (Some(o), Some(obj)) = (org, c.as_object_mut()) {
            obj.insert("o".into(), o);
        }
        c
    };
    let people = [
        (
            "onboarded freelancer",
            claims(
                "user_freelancer",
                json!({
                    "userType": "freelancer", "isActive": true,
                    "roles": [{"name": "freelancer", "permissions": ["view_project"]}],
                    "featureFlags": {"advanced_search": true},
                    "onboarding": {"status": "completed", "step": 4, "totalSteps": 4},
                    "freelancer": {"tier": "verified", "verified": true},
                    "complianceStatus": "compliant",
                }),
                None,
                now + 600,
            ),
        ),
        (
            "freelancer who has not finished onboarding",
            claims(
                "user_newcomer",
                json!({
                    "userType": "freelancer", "isActive": true, "roles": [],
                    "onboarding": {"status": "in_progress", "step": 2, "totalSteps": 4},
                }),
                None,
                now + 600,
            ),
        ),
        (
            "vendor company admin",
            claims(
                "user_vendor",
                json!({
                    "userType": "vendor_company", "isActive": true,
                    "roles": [{"name": "vendor_manager", "permissions": ["view_project", "create_project"]}],
                    "onboarding": {"status": "completed"},
                    "organization": {"id": "org_vendor", "name": "Acme AI", "role": "admin"},
                    "complianceStatus": "compliant",
                }),
                Some(
                    json!({"id": "org_vendor", "slg": "acme-ai", "rol": "admin", "per": "manage,read", "fpm": "3"}),
                ),
                now + 600,
            ),
        ),
        (
            "onboarded freelancer, expired token",
            claims(
                "user_freelancer",
                json!({
                    "userType": "freelancer", "isActive": true, "onboarding": {"status": "completed"},
                    "freelancer": {"tier": "verified"}, "complianceStatus": "compliant",
                }),
                None,
                now - 120,
            ),
        ),
    ];
    people
        .into_iter()
        .map(|(name, c)| {
            mint(key, KID, &c)
                .map(|token| Persona { name, token })
                .map_err(|e| CommandError::Input(e.to_string()))
        })
        .collect()
}

pub(super) fn scenarios() -> Vec<Scenario> {
    let s = |what, method, path, persona, page, expect| Scenario {
        what,
        method,
        path,
        persona,
        page,
        expect,
    };
    vec![
        s(
            "public landing page",
            "GET",
            "/",
            None,
            true,
            "200 forwarded",
        ),
        s(
            "a page without a session",
            "GET",
            "/dashboard",
            None,
            true,
            "302 to /sign-in?redirect_url=/dashboard",
        ),
        s(
            "an API without a session",
            "GET",
            "/api/projects",
            None,
            false,
            "401 token_missing",
        ),
        s(
            "the dashboard",
            "GET",
            "/dashboard",
            Some(0),
            true,
            "200 with X-User-Id",
        ),
        s(
            "onboarding page after finishing it",
            "GET",
            "/onboarding",
            Some(0),
            true,
            "302 to /dashboard",
        ),
        s(
            "unfinished onboarding on a page",
            "GET",
            "/dashboard",
            Some(1),
            true,
            "302 to /onboarding?redirect_url=/dashboard",
        ),
        s(
            "unfinished onboarding on an API",
            "GET",
            "/api/projects",
            Some(1),
            false,
            "403 onboarding_required",
        ),
        s(
            "the onboarding page itself",
            "GET",
            "/onboarding/step-2",
            Some(1),
            true,
            "200 (loop guard)",
        ),
        s(
            "freelancer creating a project",
            "POST",
            "/api/projects",
            Some(0),
            false,
            "403 permission_missing",
        ),
        s(
            "vendor admin creating a project",
            "POST",
            "/api/projects",
            Some(2),
            false,
            "200 forwarded",
        ),
        s(
            "vendor area as a freelancer",
            "GET",
            "/vendor/catalog",
            Some(0),
            true,
            "403 user_type_not_allowed",
        ),
        s(
            "org settings as org:admin",
            "GET",
            "/org/settings/members",
            Some(2),
            true,
            "200 forwarded",
        ),
        s(
            "advanced search behind a flag",
            "GET",
            "/search/advanced",
            Some(0),
            true,
            "200 forwarded",
        ),
        s(
            "internal admin without the role",
            "GET",
            "/admin/users",
            Some(2),
            true,
            "403 role_missing",
        ),
        s(
            "an expired token on an API",
            "GET",
            "/api/projects",
            Some(3),
            false,
            "401 token_expired",
        ),
        s(
            "path confusion",
            "GET",
            "/blog/%2e%2e/admin",
            None,
            false,
            "400 path_dot_segment",
        ),
    ]
}
