//! What a Clerk event means for tokens in circulation.
//!
//! `session.ended|removed|revoked` revoke a session id; `user.deleted` (and `user.banned`)
//! revoke a user; `user.updated` and `organizationMembership.created|updated|deleted` make
//! that user's tokens issued before the event stale (their claims are out of date). Every
//! other event is acknowledged and ignored. Pure parsing; no I/O.

use serde_json::Value;

/// The effect of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    RevokeSession(String),
    RevokeUser(String),
    /// Tokens of `user` issued at or before `at_ms` (event time, unix milliseconds) are stale.
    StaleUser {
        user: String,
        at_ms: i64,
    },
    Ignore,
}

/// The bounded `event` label for an event type.
pub fn event_label(kind: &str) -> &'static str {
    match kind {
        "session.ended" => "session.ended",
        "session.removed" => "session.removed",
        "session.revoked" => "session.revoked",
        "user.deleted" => "user.deleted",
        "user.banned" => "user.banned",
        "user.updated" => "user.updated",
        "user.created" => "user.created",
        "organizationMembership.created" => "organizationMembership.created",
        "organizationMembership.updated" => "organizationMembership.updated",
        "organizationMembership.deleted" => "organizationMembership.deleted",
        _ => "other",
    }
}

/// Reads an event body. `delivered_at` (the verified `svix-timestamp`, seconds) stands in for
/// the event time when the payload has none.
pub fn parse(body: &[u8], delivered_at: i64) -> Result<(&'static str, Effect), String> {
    let event: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .ok_or("no \"type\"")?;
    let label = event_label(kind);
    let data = event.get("data").unwrap_or(&Value::Null);
    let id = |v: &Value| {
        v.as_str()
            .filter(|s| !s.is_empty() && s.len() <= 128)
            .map(str::to_string)
    };
    let at_ms = event
        .get("timestamp")
        .and_then(Value::as_i64)
        .unwrap_or_else(|| delivered_at.saturating_mul(1000));
    let effect = match label {
        "session.ended" | "session.removed" | "session.revoked" => Effect::RevokeSession(
            id(data.get("id").unwrap_or(&Value::Null)).ok_or("session event without data.id")?,
        ),
        "user.deleted" | "user.banned" => Effect::RevokeUser(
            id(data.get("id").unwrap_or(&Value::Null)).ok_or("user event without data.id")?,
        ),
        "user.updated" => Effect::StaleUser {
            user: id(data.get("id").unwrap_or(&Value::Null)).ok_or("user event without data.id")?,
            at_ms,
        },
        "organizationMembership.created"
        | "organizationMembership.updated"
        | "organizationMembership.deleted" => {
            let user = data
                .pointer("/public_user_data/user_id")
                .and_then(id)
                .ok_or("membership event without data.public_user_data.user_id")?;
            Effect::StaleUser { user, at_ms }
        }
        _ => Effect::Ignore,
    };
    Ok((label, effect))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clerk_events_map_to_their_effects() {
        let cases = [
            (
                r#"{"type":"session.revoked","data":{"id":"sess_1","user_id":"user_1"}}"#,
                Effect::RevokeSession("sess_1".into()),
            ),
            (
                r#"{"type":"session.ended","data":{"id":"sess_2"}}"#,
                Effect::RevokeSession("sess_2".into()),
            ),
            (
                r#"{"type":"session.removed","data":{"id":"sess_3"}}"#,
                Effect::RevokeSession("sess_3".into()),
            ),
            (
                r#"{"type":"user.deleted","data":{"id":"user_1","deleted":true}}"#,
                Effect::RevokeUser("user_1".into()),
            ),
            (
                r#"{"type":"user.banned","data":{"id":"user_2"}}"#,
                Effect::RevokeUser("user_2".into()),
            ),
            (
                r#"{"type":"user.updated","timestamp":1700000000123,"data":{"id":"user_3"}}"#,
                Effect::StaleUser {
                    user: "user_3".into(),
                    at_ms: 1700000000123,
                },
            ),
            (
                r#"{"type":"organizationMembership.updated","data":{"public_user_data":{"user_id":"user_4"}}}"#,
                Effect::StaleUser {
                    user: "user_4".into(),
                    at_ms: 1700000000000,
                },
            ),
            (r#"{"type":"email.created","data":{}}"#, Effect::Ignore),
        ];
        for (body, want) in cases {
            assert_eq!(
                parse(body.as_bytes(), 1_700_000_000).unwrap().1,
                want,
                "{body}"
            );
        }
        assert_eq!(parse(br#"{"type":"email.created"}"#, 0).unwrap().0, "other");
    }

    #[test]
    fn malformed_events_are_errors() {
        for body in [
            &b"not json"[..],
            br#"{"data":{}}"#,
            br#"{"type":"session.ended","data":{}}"#,
            br#"{"type":"user.deleted","data":{"id":5}}"#,
            br#"{"type":"organizationMembership.created","data":{}}"#,
        ] {
            assert!(parse(body, 0).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }
}
