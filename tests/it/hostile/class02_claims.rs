//! Class 2: claim validation. Times of the wrong type, the exact skew boundaries, issuer and
//! authorized-party near-misses, missing subject or session, template and machine tokens,
//! pending sessions, and a verification that must never outlive `exp`.

use serde_json::{json, Value};

use crate::support::{
    assert_nothing_forwarded, claims, outcome, raw_token, refused, token, with, without, Harness,
    RequestExt, AZP, ISSUER, KID, NOW,
};

const PATH: &str = "/api/projects/1";

/// Sends each `(name, claims, reason)` and expects 401 with that reason, nothing forwarded.
async fn expect_401(h: &Harness, cases: Vec<(String, Value, &str)>) {
    let before = h.echo.count();
    for (name, c, reason) in cases {
        let reply = h.client.api("GET", PATH, &token(&c)).await;
        assert_eq!(outcome(&reply), refused(401, reason), "case {name}: {c}");
    }
    assert_nothing_forwarded(h, before, "refused claims");
}

/// Sends `claims` and expects it forwarded (200) with `X-User-Id: user_1`.
async fn expect_forwarded(h: &Harness, name: &str, c: &Value) {
    let reply = h.client.api("GET", PATH, &token(c)).await;
    assert_eq!(reply.status, 200, "case {name}: {}", reply.text());
    assert_eq!(
        h.echo.last().unwrap().header("x-user-id").as_deref(),
        Some("user_1"),
        "{name}"
    );
}

#[tokio::test]
async fn exp_nbf_iat_of_the_wrong_type_are_rejections_not_skipped_checks() {
    let h = Harness::start().await;
    let mut cases = Vec::new();
    for claim in ["exp", "nbf", "iat"] {
        for (form, value) in [
            ("string", json!((NOW + 3600).to_string())),
            ("float", json!((NOW + 3600) as f64 + 0.5)),
            ("integral_float", json!((NOW + 3600) as f64)),
            ("exponent", json!(1.9e9)),
            ("bool", json!(true)),
            ("null", Value::Null),
            ("array", json!([NOW + 3600])),
            ("object", json!({"v": NOW + 3600})),
            ("beyond_i64", json!(u64::MAX)),
            ("huge_float", json!(1e300)),
        ] {
            cases.push((
                format!("{claim} as {form}"),
                with(claims(), &format!("/{claim}"), value),
                "token_invalid_claims",
            ));
        }
    }
    cases.push((
        "exp missing".into(),
        without(claims(), "/exp"),
        "token_invalid_claims",
    ));
    expect_401(&h, cases).await;
}

#[tokio::test]
async fn negative_zero_and_extreme_times_never_overflow_or_grant() {
    let h = Harness::start().await;
    let cases = vec![
        (
            "exp_negative".into(),
            with(claims(), "/exp", json!(-1)),
            "token_expired",
        ),
        (
            "exp_zero".into(),
            with(claims(), "/exp", json!(0)),
            "token_expired",
        ),
        (
            "exp_i64_min".into(),
            with(claims(), "/exp", json!(i64::MIN)),
            "token_expired",
        ),
        (
            "nbf_i64_max".into(),
            with(claims(), "/nbf", json!(i64::MAX)),
            "token_not_yet_valid",
        ),
        (
            "iat_i64_max".into(),
            with(claims(), "/iat", json!(i64::MAX)),
            "token_issued_in_future",
        ),
    ];
    expect_401(&h, cases).await;
    // Far-past nbf/iat and an exp at the end of time are valid values, not overflows.
    let extreme = with(
        with(with(claims(), "/nbf", json!(i64::MIN)), "/iat", json!(0)),
        "/exp",
        json!(i64::MAX),
    );
    expect_forwarded(&h, "extreme_but_valid", &extreme).await;
}

#[tokio::test]
async fn the_exact_skew_boundaries_are_honoured() {
    // Skew 5 s: expired iff exp <= now - 5; early iff nbf > now + 5; future iff iat > now + 5.
    let h = Harness::start().await;
    let cases = vec![
        (
            "exp_at_boundary".into(),
            with(claims(), "/exp", json!(NOW - 5)),
            "token_expired",
        ),
        (
            "exp_past_boundary".into(),
            with(claims(), "/exp", json!(NOW - 6)),
            "token_expired",
        ),
        (
            "nbf_past_boundary".into(),
            with(claims(), "/nbf", json!(NOW + 6)),
            "token_not_yet_valid",
        ),
        (
            "iat_past_boundary".into(),
            with(claims(), "/iat", json!(NOW + 6)),
            "token_issued_in_future",
        ),
    ];
    expect_401(&h, cases).await;
    expect_forwarded(
        &h,
        "exp_one_inside",
        &with(claims(), "/exp", json!(NOW - 4)),
    )
    .await;
    expect_forwarded(
        &h,
        "nbf_at_boundary",
        &with(claims(), "/nbf", json!(NOW + 5)),
    )
    .await;
    expect_forwarded(
        &h,
        "iat_at_boundary",
        &with(claims(), "/iat", json!(NOW + 5)),
    )
    .await;
}

#[tokio::test]
async fn a_zero_skew_is_honoured_exactly() {
    let config = crate::support::clerk_config("clock_skew = \"0s\"");
    let h = Harness::with_config(&config).await;
    let cases = vec![
        (
            "exp_now".into(),
            with(claims(), "/exp", json!(NOW)),
            "token_expired",
        ),
        (
            "nbf_next_second".into(),
            with(claims(), "/nbf", json!(NOW + 1)),
            "token_not_yet_valid",
        ),
        (
            "iat_next_second".into(),
            with(claims(), "/iat", json!(NOW + 1)),
            "token_issued_in_future",
        ),
    ];
    expect_401(&h, cases).await;
    expect_forwarded(
        &h,
        "exp_next_second",
        &with(claims(), "/exp", json!(NOW + 1)),
    )
    .await;
}

#[tokio::test]
async fn issuer_near_misses_are_refused() {
    let h = Harness::start().await;
    let cases = [
        json!(format!("{ISSUER}/")),
        json!(ISSUER.to_uppercase()),
        json!("https://CLERK.test.example"),
        json!("https://clerk.test.example:443"),
        json!("http://clerk.test.example"),
        json!("https://clerk.test.example.evil.example"),
        json!("https://evil.clerk.test.example"),
        json!(format!(" {ISSUER}")),
        json!(format!("{ISSUER}\u{0000}")),
        json!(format!("{ISSUER}#")),
        json!([ISSUER]),
        json!({"url": ISSUER}),
        Value::Null,
        json!(""),
    ]
    .into_iter()
    .map(|iss| {
        (
            format!("iss {iss}"),
            with(claims(), "/iss", iss),
            "token_bad_issuer",
        )
    })
    .chain([(
        "iss missing".to_string(),
        without(claims(), "/iss"),
        "token_bad_issuer",
    )])
    .collect();
    expect_401(&h, cases).await;
}

#[tokio::test]
async fn authorized_party_near_misses_are_refused() {
    let h = Harness::start().await;
    let cases = [
        json!(format!("{AZP}/")),
        json!(AZP.to_uppercase()),
        json!("https://app.test.example:443"),
        json!("http://app.test.example"),
        json!("https://app.test.example.evil.example"),
        json!("https://evil.app.test.example"),
        json!([AZP]),
        json!(format!("{AZP} ")),
        Value::Null,
        json!(""),
    ]
    .into_iter()
    .map(|azp| {
        (
            format!("azp {azp}"),
            with(claims(), "/azp", azp),
            "token_bad_azp",
        )
    })
    .chain([(
        "azp missing".to_string(),
        without(claims(), "/azp"),
        "token_bad_azp",
    )])
    .collect();
    expect_401(&h, cases).await;
}

#[tokio::test]
async fn missing_or_mistyped_subject_and_session_are_refused() {
    let h = Harness::start().await;
    let cases = vec![
        (
            "sub_missing".into(),
            without(claims(), "/sub"),
            "token_invalid_claims",
        ),
        (
            "sub_empty".into(),
            with(claims(), "/sub", json!("")),
            "token_invalid_claims",
        ),
        (
            "sub_number".into(),
            with(claims(), "/sub", json!(1)),
            "token_invalid_claims",
        ),
        (
            "sub_null".into(),
            with(claims(), "/sub", Value::Null),
            "token_invalid_claims",
        ),
        (
            "sub_array".into(),
            with(claims(), "/sub", json!(["user_1"])),
            "token_invalid_claims",
        ),
        (
            "sid_missing".into(),
            without(claims(), "/sid"),
            "token_missing_sid",
        ),
        (
            "sid_empty".into(),
            with(claims(), "/sid", json!("")),
            "token_missing_sid",
        ),
        (
            "sid_number".into(),
            with(claims(), "/sid", json!(7)),
            "token_missing_sid",
        ),
        (
            "sid_null".into(),
            with(claims(), "/sid", Value::Null),
            "token_missing_sid",
        ),
        (
            "v_three".into(),
            with(claims(), "/v", json!(3)),
            "token_invalid_claims",
        ),
        (
            "v_string".into(),
            with(claims(), "/v", json!("2")),
            "token_invalid_claims",
        ),
    ];
    expect_401(&h, cases).await;
}

#[tokio::test]
async fn template_machine_and_access_tokens_are_refused() {
    let h = Harness::start().await;
    let payload = claims().to_string();
    let before = h.echo.count();
    let header = |extra: &str| format!(r#"{{"alg":"RS256","kid":"{KID}"{extra}}}"#);
    let cases = vec![
        (
            "cat_template",
            raw_token(&header(r#","cat":"cl_B7d4PD222AAA""#), &payload),
        ),
        (
            "cat_machine",
            raw_token(&header(r#","cat":"cl_B7d4PD333AAA""#), &payload),
        ),
        (
            "cat_unknown",
            raw_token(&header(r#","cat":"cl_EVIL""#), &payload),
        ),
        ("cat_number", raw_token(&header(r#","cat":1"#), &payload)),
        (
            "typ_at_jwt",
            raw_token(&header(r#","typ":"at+jwt""#), &payload),
        ),
        (
            "sub_machine",
            token(&with(claims(), "/sub", json!("mch_2abc"))),
        ),
        (
            "machine_shape_without_sid",
            token(&without(with(claims(), "/sub", json!("mch_2abc")), "/sid")),
        ),
    ];
    for (name, jwt) in cases {
        let reply = h.client.api("GET", PATH, &jwt).await;
        assert_eq!(
            outcome(&reply),
            refused(401, "token_type_mismatch"),
            "{name}"
        );
    }
    assert_nothing_forwarded(&h, before, "non-session tokens");
}

#[tokio::test]
async fn pending_sessions_are_signed_out_and_odd_statuses_refused() {
    let h = Harness::start().await;
    let pending = with(claims(), "/sts", json!("pending"));
    let cases = vec![
        ("sts_pending".into(), pending.clone(), "session_pending"),
        (
            "sts_uppercase".into(),
            with(claims(), "/sts", json!("PENDING")),
            "token_invalid_claims",
        ),
        (
            "sts_unknown".into(),
            with(claims(), "/sts", json!("banned")),
            "token_invalid_claims",
        ),
        (
            "sts_number".into(),
            with(claims(), "/sts", json!(1)),
            "token_invalid_claims",
        ),
        (
            "sts_null".into(),
            with(claims(), "/sts", Value::Null),
            "token_invalid_claims",
        ),
    ];
    expect_401(&h, cases).await;
    // A page with a pending session goes to sign-in, like a signed-out browser.
    let before = h.echo.count();
    let reply = h
        .client
        .send(
            h.client
                .request("GET", "/dashboard")
                .bearer(&token(&pending))
                .navigate(),
        )
        .await;
    assert_eq!(reply.status, 302);
    assert_eq!(
        reply.header("location"),
        Some("/sign-in?redirect_url=/dashboard")
    );
    assert_nothing_forwarded(&h, before, "pending page");
}

#[tokio::test]
async fn a_verification_never_outlives_exp() {
    let h = Harness::start().await;
    let jwt = token(&claims()); // exp = NOW + 55
                                // Warm whatever cache there is.
    for _ in 0..20 {
        assert_eq!(h.client.api("GET", PATH, &jwt).await.status, 200);
    }
    let forwarded = h.echo.count();
    // One second before the boundary (exp - skew) it still passes...
    h.clock.set(NOW + 59);
    assert_eq!(h.client.api("GET", PATH, &jwt).await.status, 200);
    // ...and at the boundary it is expired, cached or not.
    h.clock.set(NOW + 60);
    for _ in 0..5 {
        assert_eq!(
            outcome(&h.client.api("GET", PATH, &jwt).await),
            refused(401, "token_expired")
        );
    }
    // Also as a page over HTTP/2.
    let reply = h
        .client
        .send_h2(
            h.client
                .request("GET", "/dashboard")
                .bearer(&jwt)
                .navigate(),
        )
        .await;
    assert_eq!(reply.status, 302);
    assert_nothing_forwarded(&h, forwarded + 1, "an expired cached token");
}
