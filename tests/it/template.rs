//! `deploy/clerk/session-token-template.json` produces exactly the claims `config.toml`
//! reads, and stays within Clerk's advice on size.

use doorman::config::Config;
use doorman::token::claims::{Activity, Identity};
use doorman::token::verify::{SessionStatus, VerifiedClaims};
use serde_json::{json, Value};

fn read(path: &str) -> Value {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&full).unwrap())
        .unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// Renders Clerk shortcodes: a string that is exactly `{{user.public_metadata.X}}` becomes
/// the value of X with its JSON type, or null when missing (as Clerk documents).
fn render(template: &Value, metadata: &Value) -> Value {
    match template {
        Value::String(s) => match s
            .strip_prefix("{{user.public_metadata.")
            .and_then(|r| r.strip_suffix("}}"))
        {
            Some(key) => metadata.get(key).cloned().unwrap_or(Value::Null),
            None => template.clone(),
        },
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), render(v, metadata)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn the_template_yields_every_claim_the_config_reads_within_clerks_size_advice() {
    let template = read("deploy/clerk/session-token-template.json");
    let metadata = read("deploy/clerk/example-public-metadata.json");
    let custom = render(&template, &metadata);
    let custom_bytes = custom.to_string().len();
    assert!(
        custom_bytes < 1200,
        "custom claims are {custom_bytes} bytes; Clerk advises under about 1.2 KB"
    );

    let config = Config::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config.toml"
    )))
    .unwrap();
    for pointer in [
        &config.claims.user_type,
        &config.claims.roles,
        &config.claims.permissions,
        &config.claims.feature_flags,
        &config.claims.onboarding_status,
        &config.claims.active,
    ] {
        let pointer = pointer
            .as_deref()
            .expect("config.toml sets every claim pointer");
        assert!(
            custom.pointer(pointer).is_some_and(|v| !v.is_null()),
            "{pointer} not produced by the template"
        );
    }

    let mut payload = json!({"sub": "user_1", "sid": "sess_1", "v": 2});
    for (k, v) in custom.as_object().unwrap() {
        payload[k] = v.clone();
    }
    let claims = VerifiedClaims {
        sub: "user_1".into(),
        sid: "sess_1".into(),
        iat: None,
        nbf: None,
        exp: 0,
        version: 2,
        status: SessionStatus::Active,
        payload: payload.into(),
    };
    let id = Identity::from_claims(&claims, &config.claims);
    assert_eq!(id.user_type.as_deref(), Some("vendor_company"));
    assert_eq!(id.roles, vec!["vendor_manager"]);
    assert!(id.has_permission("create_project") && id.has_permission("export_reports"));
    assert_eq!(id.feature_flags, vec!["advanced_search"]);
    assert!(id.onboarding_complete);
    assert_eq!(id.active, Activity::Active);
    println!("custom claims: {custom_bytes} bytes");
}
