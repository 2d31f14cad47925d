//! Conditions compile with located, fixable errors and deny on anything but `true`.

use serde_json::json;

use super::*;

fn condition(source: &str) -> Result<Condition, String> {
    Condition::compile("c", source, &Condition::environment())
}

fn eval(source: &str, payload: serde_json::Value) -> Result<(), Failure> {
    let c = condition(source).unwrap_or_else(|e| panic!("{source}: {e}"));
    c.evaluate(Some(&ClaimData::new(&payload)))
}

fn marketplace() -> serde_json::Value {
    json!({
        "sub": "user_1",
        "metadata": {
            "userType": "freelancer",
            "freelancerTier": "premium",
            "freelancerVerified": true,
            "complianceStatus": "compliant",
            "maxBudgetApproval": 25000,
            "canInviteUsers": false,
            "skills": ["rust", "go"]
        }
    })
}

#[test]
fn each_kind_of_condition_allows_and_denies() {
    let cases = [
        ("claims.metadata.freelancerVerified == true", true),
        ("claims.metadata.freelancerVerified", true),
        ("claims.metadata.canInviteUsers", false),
        ("claims.metadata.complianceStatus == 'compliant'", true),
        ("claims.metadata.complianceStatus != 'compliant'", false),
        ("claims.metadata.maxBudgetApproval >= 10000", true),
        ("claims.metadata.maxBudgetApproval >= 30000", false),
        (
            "claims.metadata.freelancerTier in ['premium', 'enterprise']",
            true,
        ),
        ("claims.metadata.freelancerTier in ['enterprise']", false),
        ("'rust' in claims.metadata.skills", true),
        (
            "claims.metadata.skills.exists(s, s.startsWith('py'))",
            false,
        ),
        (
            "has(claims.metadata.apiAccessLevel) && claims.metadata.apiAccessLevel == 'full'",
            false,
        ),
        (
            "!has(claims.metadata.apiAccessLevel) || claims.metadata.apiAccessLevel == 'full'",
            true,
        ),
        ("size(claims.metadata.skills) >= 2", true),
    ];
    for (source, holds) in cases {
        assert_eq!(eval(source, marketplace()).is_ok(), holds, "{source}");
    }
}

#[test]
fn missing_claims_and_wrong_types_deny_with_names_not_values() {
    let missing = eval("claims.metadata.apiAccessLevel == 'full'", marketplace());
    assert_eq!(missing, Err(Failure::Missing("apiAccessLevel".into())));
    let no_metadata = eval("claims.metadata.freelancerVerified", json!({"sub": "u"}));
    assert_eq!(no_metadata, Err(Failure::Missing("metadata".into())));
    let as_string = json!({"metadata": {"maxBudgetApproval": "25000"}});
    let wrong = eval("claims.metadata.maxBudgetApproval >= 10000", as_string);
    let Err(Failure::WrongType(types)) = wrong else {
        panic!("a string compared with an int must deny as a wrong type: {wrong:?}");
    };
    assert!(!types.contains("25000"), "values never appear: {types}");
    let not_bool = eval("claims.metadata.complianceStatus", marketplace());
    assert_eq!(not_bool, Err(Failure::NotBool("string")));
    let null = json!({"metadata": {"freelancerVerified": null}});
    assert!(eval("claims.metadata.freelancerVerified == true", null).is_err());
    let no_claims = condition("claims.sub == 'user_1'").map(|c| c.evaluate(None));
    assert_eq!(no_claims, Ok(Err(Failure::NoClaims)));
}

#[test]
fn compile_errors_name_the_problem_and_the_fix() {
    let cases = [
        ("claims.metadata.tier ==", "is not valid CEL"),
        ("metadata.tier == 'premium'", "write `claims.metadata`"),
        ("1 == 1", "never reads a claim"),
        ("claims.sub.startWith('user_')", "\"startWith\""),
        ("claims.sub.matches('^user_')", "\"matches\""),
        ("   ", "empty"),
    ];
    for (source, wanted) in cases {
        let error = condition(source).map(|_| ()).unwrap_err();
        assert!(error.contains(wanted), "{source:?}: {error}");
    }
}
