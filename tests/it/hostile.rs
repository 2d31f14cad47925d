//! Hostile input over the wire that this issue's stages must refuse, asserting that nothing
//! reached the upstream.

use crate::support::{claims, raw_token, token, Harness};

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[tokio::test]
async fn forged_and_malformed_tokens_are_refused_and_never_forwarded() {
    let h = Harness::start().await;
    let payload = claims().to_string();
    let valid = token(&claims());
    let sig = valid.rsplit('.').next().unwrap().to_string();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "alg_none",
            format!(
                "{}.{}.",
                b64(r#"{"alg":"none","typ":"JWT"}"#),
                b64(&payload)
            ),
            "token_bad_algorithm",
        ),
        (
            "alg_None",
            format!(
                "{}.{}.",
                b64(r#"{"alg":"None","kid":"ins_test_1"}"#),
                b64(&payload)
            ),
            "token_bad_algorithm",
        ),
        (
            "hs256_header",
            format!(
                "{}.{}.{sig}",
                b64(r#"{"alg":"HS256","kid":"ins_test_1"}"#),
                b64(&payload)
            ),
            "token_bad_algorithm",
        ),
        (
            "stripped_signature",
            format!("{}.", valid.rsplit_once('.').unwrap().0),
            "token_bad_signature",
        ),
        ("jwe_five_parts", format!("{valid}.a.b"), "token_malformed"),
        (
            "jku_header",
            raw_token(
                r#"{"alg":"RS256","kid":"ins_test_1","jku":"http://127.0.0.1:1/jwks"}"#,
                &payload,
            ),
            "token_malformed",
        ),
        (
            "duplicate_sub",
            raw_token(
                r#"{"alg":"RS256","kid":"ins_test_1"}"#,
                &payload.replacen('{', "{\"sub\":\"user_admin\",", 1),
            ),
            "token_malformed",
        ),
        (
            "template_token",
            raw_token(
                r#"{"alg":"RS256","kid":"ins_test_1","cat":"cl_B7d4PD222AAA"}"#,
                &payload,
            ),
            "token_type_mismatch",
        ),
        (
            "huge_token",
            format!("{}.{}.{sig}", b64(r#"{"alg":"RS256"}"#), "A".repeat(40_000)),
            "token_too_large",
        ),
    ];
    for (name, jwt, reason) in cases {
        let mut req = h.client.request("GET", "/api/projects/1");
        req.headers_mut()
            .insert("authorization", format!("Bearer {jwt}").parse().unwrap());
        let reply = h.client.send(req).await;
        assert_eq!(
            (reply.status.as_u16(), reply.reason()),
            (401, reason.to_string()),
            "{name}"
        );
    }
    assert_eq!(h.echo.count(), 0, "a refused token reached the upstream");
}

#[tokio::test]
async fn request_smuggling_framing_never_smuggles_a_request_upstream() {
    let h = Harness::start().await;
    let good = token(&claims());
    // Content-Length with Transfer-Encoding: hyper frames by Transfer-Encoding (RFC 9112
    // §6.3) and closes the connection afterwards, so the hidden GET is never parsed.
    let cl_te = format!("POST /public/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {good}\r\n\r\n");
    let answer = h.client.raw(cl_te.as_bytes()).await;
    assert_eq!(
        answer.matches("HTTP/1.1").count(),
        1,
        "a second response means a second request: {answer}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(
        h.echo
            .seen()
            .iter()
            .all(|s| !s.target.starts_with("/admin")),
        "the smuggled request reached the upstream"
    );
    let before = h.echo.count();
    for attack in [
        "POST /public/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "GET /public/x HTTP/1.1\r\nHost: a\r\nX-Bad: a\rb\r\n\r\n",
        "GET /public/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n",
    ] {
        let answer = h.client.raw(attack.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{attack:?} got {answer:?}");
    }
    assert_eq!(
        h.echo.count(),
        before,
        "a malformed request reached the upstream"
    );
}
