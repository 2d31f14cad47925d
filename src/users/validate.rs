//! `users validate`: every user's public metadata checked against what doorman expects —
//! each claim's JSON type (as the proxy reads it) and the onboarding data (a known status,
//! a step within the total, a finished user on the last step, a known user type). Users are
//! walked oldest first with Clerk's `starting_after` cursor, 500 per page.

use std::io::Write;

use serde_json::Value;

use super::client::{Api, ApiError};
use super::fields::Field;
use super::layout::Layout;
use crate::config::users::Users;

/// Users per page (Clerk's maximum).
const PAGE: usize = 500;

/// Everything wrong with one user's metadata, one sentence each.
pub fn problems(
    layout: &Layout,
    users: &Users,
    complete: &[String],
    metadata: &Value,
) -> Vec<String> {
    let mut found = Vec::new();
    let at = |field: Field| {
        layout
            .place(field)
            .map(|p| (p, metadata.pointer(p).filter(|v| !v.is_null())))
    };
    for (field, place) in layout.places() {
        if let Some(value) = metadata.pointer(place) {
            if let Err(why) = field.check(value) {
                found.push(format!("{} ({place}): {why}", field.name()));
            }
        }
    }
    if let Some((place, value)) = at(Field::UserType) {
        match value.and_then(Value::as_str) {
            None if value.is_none() => found.push(format!(
                "user_type ({place}): missing; routes with user_types never let this user in"
            )),
            Some(t) if !users.types.is_empty() && !users.types.contains_key(t) => {
                let known: Vec<&str> = users.types.keys().map(String::as_str).collect();
                found.push(format!(
                    "user_type ({place}): {t:?} is not one of the configured types ({})",
                    known.join(", ")
                ));
            }
            _ => {}
        }
    }
    let status = at(Field::OnboardingStatus);
    if let Some((place, value)) = status {
        match value.and_then(Value::as_str) {
            None if value.is_none() => found.push(format!(
                "onboarding_status ({place}): missing; every onboarding-required route sends this user to onboarding"
            )),
            Some(s) if !users.onboarding_statuses.iter().any(|k| k == s) => found.push(format!(
                "onboarding_status ({place}): {s:?} is not one of {}",
                users.onboarding_statuses.join(", ")
            )),
            _ => {}
        }
    }
    let number = |field: Field| at(field).and_then(|(_, v)| v).and_then(Value::as_u64);
    if let (Some(step), Some(total)) = (
        number(Field::OnboardingStep),
        number(Field::OnboardingTotalSteps),
    ) {
        if step > total {
            found.push(format!(
                "onboarding: step {step} is beyond the {total} steps"
            ));
        }
        let done = status
            .and_then(|(_, v)| v)
            .and_then(Value::as_str)
            .is_some_and(|s| complete.iter().any(|c| c == s));
        if done && step != total {
            found.push(format!(
                "onboarding: completed, but on step {step} of {total}"
            ));
        }
    }
    found
}

/// Checks every user; writes one line (or JSON object) per user with problems. Returns
/// (users checked, users with problems).
pub async fn run(
    api: &Api,
    layout: &Layout,
    users: &Users,
    complete: &[String],
    json: bool,
    out: &mut dyn Write,
) -> Result<(usize, usize), ApiError> {
    let (mut checked, mut bad) = (0, 0);
    let mut after: Option<String> = None;
    loop {
        let page = api.page(PAGE, after.as_deref()).await?;
        for user in &page {
            checked += 1;
            let found = problems(layout, users, complete, &user.public_metadata);
            if found.is_empty() {
                continue;
            }
            bad += 1;
            let written = if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"user": user.id, "problems": found})
                )
            } else {
                writeln!(out, "{}: {}", user.id, found.join("; "))
            };
            written.map_err(|e| ApiError::Input(format!("cannot write the result: {e}")))?;
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(last.id.clone()),
            _ => return Ok((checked, bad)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::claims::ClaimPointers;
    use serde_json::json;

    #[test]
    fn onboarding_data_and_claim_types_are_checked() {
        let claims = ClaimPointers {
            user_type: Some("/metadata/userType".into()),
            roles: Some("/metadata/roles".into()),
            onboarding_status: Some("/metadata/onboarding/status".into()),
            ..ClaimPointers::default()
        };
        let users = Users {
            onboarding_step: Some("/metadata/onboarding/step".into()),
            onboarding_total_steps: Some("/metadata/onboarding/totalSteps".into()),
            ..Users::default()
        };
        let layout = Layout::new(&claims, &users).unwrap();
        let done = vec!["completed".to_string()];
        let good = json!({"userType": "freelancer", "roles": ["a"], "onboarding": {"status": "completed", "step": 3, "totalSteps": 3}});
        assert_eq!(
            problems(&layout, &users, &done, &good),
            Vec::<String>::new()
        );
        let bad = json!({"roles": [1], "onboarding": {"status": "completed", "step": 2, "totalSteps": 3}});
        let found = problems(&layout, &users, &done, &bad);
        assert_eq!(found.len(), 3, "{found:#?}");
        let missing = problems(&layout, &users, &done, &json!({"userType": "x"}));
        assert!(missing[0].contains("onboarding_status"), "{missing:?}");
    }
}
