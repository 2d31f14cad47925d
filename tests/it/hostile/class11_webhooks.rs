//! Class 11: Clerk (Svix) webhooks. Forged, re-framed, truncated, wrong-version and
//! out-of-window signatures are refused with no effect; any one of several signatures may
//! match; a replayed delivery has no effect; the endpoint is exact about its path and method
//! and never forwards. "No effect" is checked by the token the delivery would revoke still
//! being forwarded.

use serde_json::{json, Value};

use crate::support::{claims, outcome, refused, token, Harness, Req, RequestExt, BASE_CONFIG, NOW};
use doorman::webhook::svix::Secret;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER: &str = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0";

async fn harness() -> Harness {
    Harness::with_config(&format!(
        "{BASE_CONFIG}\n[webhooks]\nsecret = \"{SECRET}\"\n"
    ))
    .await
}

fn revoke() -> Value {
    json!({"type": "session.revoked", "data": {"id": "sess_1", "user_id": "user_1"}})
}

fn secret_bytes() -> Vec<u8> {
    base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        SECRET.trim_start_matches("whsec_"),
    )
    .unwrap()
}

fn hmac_b64(key: &[u8], message: &[u8]) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    let tag = aws_lc_rs::hmac::sign(&key, message);
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, tag.as_ref())
}

fn sign(secret: &str, id: &str, ts: &str, body: &str) -> String {
    Secret::parse(secret).unwrap().sign(id, ts, body.as_bytes())
}

/// A delivery with exactly these header values and body.
fn delivery(h: &Harness, path: &str, id: &str, ts: &str, signature: &str, body: &str) -> Req {
    let mut req = h.client.request("POST", path);
    req = req.with_header("svix-id", id);
    req = req.with_header("svix-timestamp", ts);
    req = req.with_header("svix-signature", signature);
    req = req.with_header("content-type", "application/json");
    *req.body_mut() = http_body_util::Full::new(bytes::Bytes::from(body.to_string()));
    req
}

/// Asserts the session was not revoked (its token is still forwarded) and returns how many
/// requests the upstream has seen.
async fn assert_no_effect(h: &Harness, what: &str) {
    let before = h.echo.count();
    let reply = h
        .client
        .api("GET", "/api/projects/1", &token(&claims()))
        .await;
    assert_eq!(
        reply.status,
        200,
        "{what}: the delivery took effect ({})",
        reply.text()
    );
    assert_eq!(h.echo.count(), before + 1);
    assert!(
        h.echo
            .seen()
            .iter()
            .all(|s| !s.target.starts_with("/clerk")),
        "{what}: a webhook delivery was forwarded upstream"
    );
}

#[tokio::test]
async fn forged_signatures_are_refused_without_detail_or_effect() {
    let h = harness().await;
    let body = revoke().to_string();
    let ts = NOW.to_string();
    let good = sign(SECRET, "msg_1", &ts, &body);
    let cases = [
        (
            "other_secret",
            format!("v1,{}", sign(OTHER, "msg_1", &ts, &body)),
        ),
        // HMAC keyed with the text of the secret rather than its decoded bytes.
        (
            "secret_text_as_key",
            format!(
                "v1,{}",
                hmac_b64(SECRET.as_bytes(), format!("msg_1.{ts}.{body}").as_bytes())
            ),
        ),
        (
            "body_only",
            format!("v1,{}", hmac_b64(&secret_bytes(), body.as_bytes())),
        ),
        (
            "id_and_body_without_timestamp",
            format!(
                "v1,{}",
                hmac_b64(&secret_bytes(), format!("msg_1.{body}").as_bytes())
            ),
        ),
        (
            "id_and_timestamp_swapped",
            format!("v1,{}", sign(SECRET, &ts, "msg_1", &body)),
        ),
        ("empty", "v1,".to_string()),
        ("truncated", format!("v1,{}", &good[..good.len() - 4])),
        ("prefix_only", format!("v1,{}", &good[..8])),
        ("extended", format!("v1,{good}AAAA")),
        (
            "urlsafe_alphabet",
            format!("v1,{}", good.replace('+', "-").replace('/', "_")),
        ),
        ("unpadded", format!("v1,{}", good.trim_end_matches('='))),
        ("wrong_version", format!("v2,{good}")),
        ("uppercase_version", format!("V1,{good}")),
        ("no_version", good.clone()),
        ("asymmetric_scheme", format!("v1a,{good}")),
    ];
    for (name, signature) in cases {
        if name == "unpadded" && !good.ends_with('=') {
            continue;
        }
        let reply = h
            .client
            .send(delivery(
                &h,
                "/clerk/webhooks",
                "msg_1",
                &ts,
                &signature,
                &body,
            ))
            .await;
        assert_eq!(outcome(&reply), refused(401, "webhook_rejected"), "{name}");
        assert!(
            !reply.text().contains(&good[..10]),
            "{name}: the expected signature leaked"
        );
    }
    assert_no_effect(&h, "forged signatures").await;
}

#[tokio::test]
async fn a_signature_over_another_id_timestamp_or_body_is_refused() {
    let h = harness().await;
    let body = revoke().to_string();
    let ts = NOW.to_string();
    let signed_for = |id: &str, ts: &str, body: &str| format!("v1,{}", sign(SECRET, id, ts, body));
    let other_body = json!({"type": "email.created", "data": {}}).to_string();
    let moved_id = format!("msg_1.{ts}");
    let cases = [
        (
            "other_id",
            "msg_2",
            ts.clone(),
            signed_for("msg_1", &ts, &body),
            body.clone(),
        ),
        (
            "other_timestamp",
            "msg_1",
            (NOW - 1).to_string(),
            signed_for("msg_1", &ts, &body),
            body.clone(),
        ),
        (
            "other_body",
            "msg_1",
            ts.clone(),
            signed_for("msg_1", &ts, &other_body),
            body.clone(),
        ),
        (
            "body_with_trailing_newline",
            "msg_1",
            ts.clone(),
            signed_for("msg_1", &ts, &body),
            format!("{body}\n"),
        ),
        (
            "timestamp_with_leading_zero",
            "msg_1",
            format!("0{ts}"),
            signed_for("msg_1", &ts, &body),
            body.clone(),
        ),
        (
            "timestamp_moved_into_the_id",
            moved_id.as_str(),
            ts.clone(),
            signed_for("msg_1", &ts, &body),
            body.clone(),
        ),
    ];
    for (name, id, ts, signature, body) in cases {
        let reply = h
            .client
            .send(delivery(&h, "/clerk/webhooks", id, &ts, &signature, &body))
            .await;
        assert_eq!(reply.status, 401, "{name}: {}", reply.text());
    }
    assert_no_effect(&h, "re-framed signatures").await;
}

#[tokio::test]
async fn timestamps_outside_five_minutes_or_not_numbers_are_refused() {
    let h = harness().await;
    let body = revoke().to_string();
    for (name, ts, status) in [
        ("301s_old", (NOW - 301).to_string(), 401),
        ("301s_ahead", (NOW + 301).to_string(), 401),
        ("a_day_old", (NOW - 86_400).to_string(), 401),
        ("zero", "0".to_string(), 401),
        ("negative", (-NOW).to_string(), 401),
        ("milliseconds", (NOW * 1000).to_string(), 401),
        ("float", format!("{NOW}.5"), 401),
        ("hex", format!("{NOW:#x}"), 401),
        ("i64_min", i64::MIN.to_string(), 401),
        ("beyond_i64", "99999999999999999999".to_string(), 401),
        ("empty", String::new(), 401),
    ] {
        let signature = format!("v1,{}", sign(SECRET, "msg_t", &ts, &body));
        let req = delivery(&h, "/clerk/webhooks", "msg_t", &ts, &signature, &body);
        let reply = h.client.send(req).await;
        assert_eq!(reply.status, status, "{name}: {}", reply.text());
    }
    assert_no_effect(&h, "out-of-window timestamps").await;
    // The edges of the window are inside it.
    for (id, ts) in [("msg_edge_old", NOW - 300), ("msg_edge_new", NOW + 300)] {
        let ts = ts.to_string();
        let ignored = json!({"type": "email.created", "data": {}}).to_string();
        let signature = format!("v1,{}", sign(SECRET, id, &ts, &ignored));
        let reply = h
            .client
            .send(delivery(
                &h,
                "/clerk/webhooks",
                id,
                &ts,
                &signature,
                &ignored,
            ))
            .await;
        assert_eq!(reply.status, 204, "{id}");
    }
}

#[tokio::test]
async fn one_good_signature_among_several_is_enough_and_only_v1_counts() {
    let h = harness().await;
    let ignored = json!({"type": "email.created", "data": {}}).to_string();
    let ts = NOW.to_string();
    let good = sign(SECRET, "msg_multi", &ts, &ignored);
    let forged = sign(OTHER, "msg_multi", &ts, &ignored);
    // Several signatures, the good one last (key rotation): accepted.
    let signature = format!("v1,{forged} v1,AAAA v1a,{good} v1,{good}");
    let reply = h
        .client
        .send(delivery(
            &h,
            "/clerk/webhooks",
            "msg_multi",
            &ts,
            &signature,
            &ignored,
        ))
        .await;
    assert_eq!(reply.status, 204);
    // The good signature only under another scheme, or glued to another entry: refused.
    let body = revoke().to_string();
    let good = sign(SECRET, "msg_multi2", &ts, &body);
    for signature in [
        format!("v1,{forged} v2,{good}"),
        format!("v1,{forged},{good}"),
        format!("v1,{forged}v1,{good}"),
        format!("v1a,{good} v1,{forged}"),
    ] {
        let reply = h
            .client
            .send(delivery(
                &h,
                "/clerk/webhooks",
                "msg_multi2",
                &ts,
                &signature,
                &body,
            ))
            .await;
        assert_eq!(reply.status, 401, "{signature}");
    }
    assert_no_effect(&h, "misplaced good signatures").await;
}

#[tokio::test]
async fn a_replayed_delivery_is_acknowledged_without_effect() {
    let h = harness().await;
    let ts = NOW.to_string();
    let ignored = json!({"type": "email.created", "data": {}}).to_string();
    let first = format!("v1,{}", sign(SECRET, "msg_replay", &ts, &ignored));
    let reply = h
        .client
        .send(delivery(
            &h,
            "/clerk/webhooks",
            "msg_replay",
            &ts,
            &first,
            &ignored,
        ))
        .await;
    assert_eq!(reply.status, 204);
    // Replays of the same id: the identical delivery, and a re-signed revocation (an
    // attacker who learned the secret later still cannot reuse a delivered id).
    for _ in 0..3 {
        let reply = h
            .client
            .send(delivery(
                &h,
                "/clerk/webhooks",
                "msg_replay",
                &ts,
                &first,
                &ignored,
            ))
            .await;
        assert_eq!(reply.status, 204);
    }
    let body = revoke().to_string();
    let resigned = format!("v1,{}", sign(SECRET, "msg_replay", &ts, &body));
    let reply = h
        .client
        .send(delivery(
            &h,
            "/clerk/webhooks",
            "msg_replay",
            &ts,
            &resigned,
            &body,
        ))
        .await;
    assert_eq!(reply.status, 204);
    assert_no_effect(&h, "replayed id").await;
    assert!(h
        .metrics()
        .await
        .contains("doorman_webhooks_total{event=\"unknown\",result=\"replay\"} 4"));
}

#[tokio::test]
async fn the_webhook_endpoint_is_exact_about_path_and_method_and_never_forwards() {
    let h = harness().await;
    let body = revoke().to_string();
    let ts = NOW.to_string();
    let signature = format!("v1,{}", sign(SECRET, "msg_path", &ts, &body));
    // A correctly signed revocation sent to near-miss paths is not a delivery: those are
    // ordinary routes (signed in), so it gets 401 and is not forwarded.
    for path in [
        "/clerk/webhooks/",
        "/CLERK/webhooks",
        "/clerk//webhooks",
        "/clerk/webhooks%2F",
    ] {
        let reply = h
            .client
            .send(delivery(&h, path, "msg_path", &ts, &signature, &body))
            .await;
        assert!(
            matches!(reply.status.as_u16(), 400 | 401),
            "{path}: {}",
            reply.status
        );
    }
    for method in ["GET", "PUT", "DELETE", "HEAD", "OPTIONS"] {
        let mut req = delivery(&h, "/clerk/webhooks", "msg_m", &ts, &signature, &body);
        *req.method_mut() = method.parse().unwrap();
        let reply = h.client.send(req).await;
        assert_eq!(reply.status, 405, "{method}");
    }
    // With a valid token the endpoint is still answered by doorman, never the upstream.
    let req = h
        .client
        .request("POST", "/clerk/webhooks")
        .bearer(&token(&claims()));
    let reply = h.client.send(req).await;
    assert_eq!(reply.status, 400, "no svix headers");
    assert_no_effect(&h, "path and method").await;
}
