use std::time::Duration;

use super::*;
use crate::config::assertion::Algorithm;

const NOW: i64 = 1_800_000_000;

fn settings(alg: Algorithm) -> Assertion {
    Assertion {
        header: HeaderName::from_static("x-doorman-assertion"),
        algorithm: alg,
        issuer: "doorman".into(),
        lifetime: Duration::from_secs(60),
        keys: Vec::new(),
        rotate_every: Duration::from_secs(600),
        jwks_path: None,
        audiences: vec!["app".into(), "projects".into()],
    }
}

fn session() -> Session {
    let identity = Identity {
        user_id: "user_1".into(),
        session_id: "sess_1".into(),
        roles: vec!["member".into()],
        ..Identity::default()
    };
    Session {
        assertions: Slot::new(&identity, true),
        identity: Arc::new(identity),
        headers: Box::new([]),
    }
}

fn value(a: &Assertions, s: &Session, upstream: usize, now: i64) -> String {
    let attached = a.attach(s, upstream, now).expect("signed");
    assert_eq!(attached.name.as_str(), "x-doorman-assertion");
    attached.value.to_str().expect("ascii").to_string()
}

fn claims(jws: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jws.split('.').nth(1).expect("three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

#[test]
fn prepared_once_per_upstream_and_signed_again_at_half_the_lifetime() {
    let signed = Counter::default();
    let a = Assertions::new(&settings(Algorithm::Es256), None, signed.clone(), NOW).unwrap();
    let s = session();
    assert!(s.assertions.reserved() > 300);
    let first = value(&a, &s, 0, NOW);
    assert_eq!(value(&a, &s, 0, NOW + 29), first);
    let other = value(&a, &s, 1, NOW + 1);
    assert_eq!(claims(&other)["aud"], "projects");
    assert_eq!(
        value(&a, &s, 0, NOW + 29),
        first,
        "another upstream keeps its own"
    );
    assert_eq!(signed.get(), 2);
    let second = value(&a, &s, 0, NOW + 30);
    assert_ne!(second, first);
    assert_eq!(claims(&second)["iat"], NOW + 30);
    assert_eq!(claims(&second)["exp"], NOW + 90);
    // The clock went back before its iat: signed again rather than sent early.
    let back = value(&a, &s, 0, NOW + 10);
    assert_eq!(claims(&back)["iat"], NOW + 10);
    assert_eq!(signed.get(), 4);
}

#[test]
fn a_rotation_signs_again_with_the_next_key_and_keeps_the_old_one_published() {
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let a = Assertions::new(&settings(alg), None, Counter::default(), NOW).unwrap();
        let s = session();
        let jwks = |now| -> Vec<String> {
            let doc: serde_json::Value = serde_json::from_str(&a.jwks(now)).unwrap();
            doc["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_string())
                .collect()
        };
        let kid = |jws: &str| -> String {
            use base64::Engine;
            let header = jws.split('.').next().unwrap();
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(header)
                .unwrap();
            let h: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(h["alg"], alg.as_str());
            assert_eq!(h["typ"], "JWT");
            h["kid"].as_str().unwrap().to_string()
        };
        let start = jwks(NOW);
        assert_eq!(start.len(), 2);
        let before = value(&a, &s, 0, NOW + 599);
        assert_eq!(kid(&before), start[0]);
        let after = value(&a, &s, 0, NOW + 600);
        assert_eq!(kid(&after), start[1], "the key published ahead signs");
        let rotated = jwks(NOW + 600);
        assert_eq!(rotated.len(), 3);
        assert!(rotated.contains(&start[0]));
        assert!(!jwks(NOW + 600 + 120).contains(&start[0]));
    }
}

#[test]
fn a_reload_keeps_generated_keys_unless_their_settings_changed() {
    let first =
        Assertions::new(&settings(Algorithm::Es256), None, Counter::default(), NOW).unwrap();
    let same = Assertions::new(
        &settings(Algorithm::Es256),
        Some(&first),
        Counter::default(),
        NOW + 5,
    )
    .unwrap();
    assert_eq!(first.jwks(NOW + 5), same.jwks(NOW + 5));
    let mut changed = settings(Algorithm::EdDsa);
    changed.lifetime = Duration::from_secs(30);
    let other = Assertions::new(&changed, Some(&first), Counter::default(), NOW + 5).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&other.jwks(NOW + 5)).unwrap();
    assert_eq!(
        doc["keys"].as_array().unwrap().len(),
        4,
        "two new, two carried over"
    );
    let doc: serde_json::Value = serde_json::from_str(&other.jwks(NOW + 5 + 119)).unwrap();
    assert_eq!(
        doc["keys"].as_array().unwrap().len(),
        4,
        "kept for the old lifetime"
    );
    let doc: serde_json::Value = serde_json::from_str(&other.jwks(NOW + 5 + 120)).unwrap();
    assert_eq!(doc["keys"].as_array().unwrap().len(), 2);
}
