//! Every claim rule of docs/clerk.md, "Tokens: what is verified" and docs/security.md class 2, with tokens minted from
//! `testkit::session_claims()` with one claim changed per row.

use super::*;
use crate::token::testkit::{
    check, keys, options, session_claims, token, with, without, ISSUER, NOW,
};
use crate::token::{verify_with_keys, DEFAULT_MAX_TOKEN_BYTES};
use serde_json::{json, Value};

type Outcome = Result<(), TokenError>;

const OK: Outcome = Ok(());
const CLAIMS: Outcome = Err(TokenError::Claims);
const TOKEN_TYPE: Outcome = Err(TokenError::TokenType);
const EXPIRED: Outcome = Err(TokenError::Expired);
const EARLY: Outcome = Err(TokenError::NotYetValid);
const FUTURE: Outcome = Err(TokenError::IssuedInFuture);
const AZP: Outcome = Err(TokenError::BadAuthorizedParty);
const ISS: Outcome = Err(TokenError::BadIssuer);
const NO_SID: Outcome = Err(TokenError::MissingSession);
const PENDING: Outcome = Err(TokenError::SessionPending);

/// `(case, claim, Some(new value) | None to remove it, expected)`.
type Row = (&'static str, &'static str, Option<Value>, Outcome);

fn outcome(result: Result<VerifiedClaims, TokenError>) -> Outcome {
    result.map(|_| ())
}

fn check_with(claims: &Value, tweak: impl Fn(&mut VerifyOptions)) -> Outcome {
    let mut opts = options();
    tweak(&mut opts);
    outcome(verify_with_keys(
        &token(claims),
        &keys(),
        &opts,
        NOW,
        DEFAULT_MAX_TOKEN_BYTES,
    ))
}

fn changed(claim: &str, value: Option<Value>) -> Value {
    match value {
        Some(value) => with(session_claims(), &[(claim, value)]),
        None => without(session_claims(), &[claim]),
    }
}

fn run_rows(rows: Vec<Row>) {
    for (name, claim, value, want) in rows {
        let claims = changed(claim, value);
        assert_eq!(outcome(check(&claims)), want, "case {name}: {claims}");
    }
}

#[test]
fn valid_session_token_yields_its_claims() {
    let claims = session_claims();
    let verified = check(&claims).unwrap();
    assert_eq!(verified.sub, "user_123");
    assert_eq!(verified.sid, "sess_123");
    assert_eq!(verified.exp, NOW + 60);
    assert_eq!(verified.iat, Some(NOW));
    assert_eq!(verified.nbf, Some(NOW - 10));
    assert_eq!(verified.version, 2);
    assert_eq!(verified.status, SessionStatus::Active);
    assert_eq!(verified.payload, claims);
    assert!(!verified.expired_at(NOW, 5));
    assert!(verified.expired_at(NOW + 65, 5));
    assert!(verified.expired_at(NOW + 60, 0));
}

#[test]
fn subject_rules() {
    run_rows(vec![
        ("missing", "sub", None, CLAIMS),
        ("number", "sub", Some(json!(123)), CLAIMS),
        ("null", "sub", Some(json!(null)), CLAIMS),
        ("array", "sub", Some(json!(["user_1"])), CLAIMS),
        ("empty", "sub", Some(json!("")), CLAIMS),
        ("machine", "sub", Some(json!("mch_2abc")), TOKEN_TYPE),
    ]);
    let machine = without(with(session_claims(), &[("sub", json!("mch_2"))]), &["sid"]);
    assert_eq!(
        outcome(check(&machine)),
        TOKEN_TYPE,
        "machine token without sid"
    );
}

#[test]
fn time_claims_must_be_integers() {
    let wrong_types = [
        ("string", json!("9999999999")),
        ("float", json!(1_700_000_060.0)),
        ("fraction", json!(1_700_000_000.5)),
        ("bool", json!(true)),
        ("null", json!(null)),
        ("array", json!([NOW])),
        ("object", json!({"t": NOW})),
        ("beyond_i64", json!(u64::MAX)),
    ];
    let mut rows: Vec<Row> = vec![("exp_missing", "exp", None, CLAIMS)];
    for claim in ["exp", "nbf", "iat"] {
        for (kind, value) in &wrong_types {
            rows.push((kind, claim, Some(value.clone()), CLAIMS));
        }
    }
    rows.push(("nbf_absent", "nbf", None, OK));
    rows.push(("iat_absent", "iat", None, OK));
    run_rows(rows);
}

#[test]
fn extreme_time_values_never_panic() {
    run_rows(vec![
        ("exp_i64_max", "exp", Some(json!(i64::MAX)), OK),
        ("exp_i64_min", "exp", Some(json!(i64::MIN)), EXPIRED),
        ("exp_negative", "exp", Some(json!(-1)), EXPIRED),
        ("exp_zero", "exp", Some(json!(0)), EXPIRED),
        ("nbf_i64_max", "nbf", Some(json!(i64::MAX)), EARLY),
        ("nbf_i64_min", "nbf", Some(json!(i64::MIN)), OK),
        ("iat_i64_max", "iat", Some(json!(i64::MAX)), FUTURE),
        ("iat_negative", "iat", Some(json!(-5)), OK),
    ]);
    let claims = session_claims();
    let extremes = [
        (i64::MAX, 5),
        (i64::MIN, 5),
        (NOW, u64::MAX),
        (i64::MIN, u64::MAX),
    ];
    for (now, skew) in extremes {
        let mut opts = options();
        opts.clock_skew_secs = skew;
        let _ = verify_with_keys(
            &token(&claims),
            &keys(),
            &opts,
            now,
            DEFAULT_MAX_TOKEN_BYTES,
        );
    }
}

#[test]
fn skew_boundaries_are_exact() {
    // (case, claim, value - NOW, skew, expected)
    let table = [
        ("exp_at_now_minus_skew", "exp", -5, 5, EXPIRED),
        ("exp_one_after_boundary", "exp", -4, 5, OK),
        ("exp_at_now_zero_skew", "exp", 0, 0, EXPIRED),
        ("exp_next_second_zero_skew", "exp", 1, 0, OK),
        ("nbf_at_now_plus_skew", "nbf", 5, 5, OK),
        ("nbf_past_skew", "nbf", 6, 5, EARLY),
        ("nbf_at_now_zero_skew", "nbf", 0, 0, OK),
        ("nbf_next_second_zero_skew", "nbf", 1, 0, EARLY),
        ("iat_at_now_plus_skew", "iat", 5, 5, OK),
        ("iat_past_skew", "iat", 6, 5, FUTURE),
        ("iat_next_second_zero_skew", "iat", 1, 0, FUTURE),
        ("large_skew_rescues_old_token", "exp", -299, 300, OK),
    ];
    for (name, claim, offset, skew, want) in table {
        let claims = with(session_claims(), &[(claim, json!(NOW + offset))]);
        let got = check_with(&claims, |o| o.clock_skew_secs = skew);
        assert_eq!(got, want, "case {name}");
    }
}

#[test]
fn authorized_party_must_match_exactly() {
    let near_misses = [
        ("trailing_slash", "https://example.com/"),
        ("upper_case", "HTTPS://EXAMPLE.COM"),
        ("explicit_port", "https://example.com:443"),
        ("other_port", "https://example.com:8443"),
        ("suffix_domain", "https://example.com.evil.io"),
        ("prefix_domain", "https://evilexample.com"),
        ("subdomain", "https://a.example.com"),
        ("http_scheme", "http://example.com"),
        ("with_path", "https://example.com/app"),
        ("empty", ""),
    ];
    let mut rows: Vec<Row> = near_misses
        .into_iter()
        .map(|(name, azp)| (name, "azp", Some(json!(azp)), AZP))
        .collect();
    rows.push(("array", "azp", Some(json!(["https://example.com"])), AZP));
    rows.push(("null", "azp", Some(json!(null)), AZP));
    rows.push(("missing", "azp", None, AZP));
    rows.push(("exact", "azp", Some(json!("https://example.com")), OK));
    run_rows(rows);

    let base = session_claims();
    let two = |o: &mut VerifyOptions| o.authorized_parties.insert(0, "https://a.test".into());
    assert_eq!(check_with(&base, two), OK, "second entry matches");
    let none = |o: &mut VerifyOptions| o.authorized_parties.clear();
    assert_eq!(
        check_with(&changed("azp", None), none),
        OK,
        "no list, no azp"
    );
    let array = changed("azp", Some(json!(["x"])));
    assert_eq!(check_with(&array, none), OK, "no list, azp not checked");
}

#[test]
fn issuer_must_match_exactly() {
    let misses = [
        ("trailing_slash", "https://clerk.example.com/"),
        ("upper_case", "https://CLERK.example.com"),
        ("port", "https://clerk.example.com:443"),
        ("suffix_domain", "https://clerk.example.com.evil.io"),
        ("other_instance", "https://clerk.other.com"),
        ("http_scheme", "http://clerk.example.com"),
        ("empty", ""),
    ];
    let mut rows: Vec<Row> = misses
        .into_iter()
        .map(|(name, iss)| (name, "iss", Some(json!(iss)), ISS))
        .collect();
    rows.push(("array", "iss", Some(json!([ISSUER])), ISS));
    rows.push(("number", "iss", Some(json!(1)), ISS));
    rows.push(("null", "iss", Some(json!(null)), ISS));
    rows.push(("missing", "iss", None, ISS));
    run_rows(rows);
}

#[test]
fn session_id_is_required() {
    run_rows(vec![
        ("missing", "sid", None, NO_SID),
        ("empty", "sid", Some(json!("")), NO_SID),
        ("number", "sid", Some(json!(7)), NO_SID),
        ("null", "sid", Some(json!(null)), NO_SID),
    ]);
}

#[test]
fn session_status_and_version() {
    run_rows(vec![
        ("sts_absent", "sts", None, OK),
        (
            "sts_pending_refused",
            "sts",
            Some(json!("pending")),
            PENDING,
        ),
        ("sts_upper_case", "sts", Some(json!("PENDING")), CLAIMS),
        ("sts_unknown", "sts", Some(json!("revoked")), CLAIMS),
        ("sts_number", "sts", Some(json!(1)), CLAIMS),
        ("sts_null", "sts", Some(json!(null)), CLAIMS),
        ("v1_explicit", "v", Some(json!(1)), OK),
        ("v_absent", "v", None, OK),
        ("v3", "v", Some(json!(3)), CLAIMS),
        ("v_string", "v", Some(json!("2")), CLAIMS),
        ("v_float", "v", Some(json!(2.0)), CLAIMS),
    ]);
    let pending = changed("sts", Some(json!("pending")));
    let mut opts = options();
    opts.accept_pending = true;
    let verified = verify_with_keys(&token(&pending), &keys(), &opts, NOW, 8192).unwrap();
    assert_eq!(verified.status, SessionStatus::Pending);
    assert_eq!(check(&changed("v", None)).unwrap().version, 1);
}

#[test]
fn first_failure_wins_in_clerk_order() {
    let evil = json!("https://evil.io");
    let table = [
        (
            "type_before_azp",
            vec![("exp", json!("soon")), ("azp", evil.clone())],
            CLAIMS,
        ),
        (
            "azp_before_expiry",
            vec![("exp", json!(NOW - 100)), ("azp", evil.clone())],
            AZP,
        ),
        (
            "expiry_before_issuer",
            vec![("exp", json!(NOW - 100)), ("iss", evil.clone())],
            EXPIRED,
        ),
        (
            "issuer_before_sid",
            vec![("iss", evil.clone()), ("sid", json!(null))],
            ISS,
        ),
        (
            "machine_before_types",
            vec![("sub", json!("mch_1")), ("exp", json!("x"))],
            TOKEN_TYPE,
        ),
        (
            "sid_before_status",
            vec![("sid", json!("")), ("sts", json!("pending"))],
            NO_SID,
        ),
        (
            "pending_before_version",
            vec![("sts", json!("pending")), ("v", json!(9))],
            PENDING,
        ),
    ];
    for (name, changes, want) in table {
        let claims = with(session_claims(), &changes);
        assert_eq!(outcome(check(&claims)), want, "case {name}");
    }
}

#[test]
fn wrong_type_never_skips_a_check_regression_cve_2026_25537() {
    // jsonwebtoken < 10.3 skipped exp/nbf when they were strings: an expired token with a
    // string exp must be refused, not treated as "no exp".
    let stale = changed("exp", Some(json!((NOW - 3600).to_string())));
    assert_eq!(outcome(check(&stale)), CLAIMS);
    let early = changed("nbf", Some(json!((NOW + 3600).to_string())));
    assert_eq!(outcome(check(&early)), CLAIMS);
}
