//! Time, keys, claims and tokens: one `NOW`, one claims builder ([`claims`], adjusted with
//! [`with`] and [`without`]), tokens signed by the test key.

use std::sync::OnceLock;

use doorman::dev::mint::{mint, sign_raw, SigningKey};
use serde_json::{json, Value};

/// The "now" of every test clock: a fixed, readable instant.
pub const NOW: i64 = 1_800_000_000;
pub const ISSUER: &str = "https://clerk.test.example";
pub const AZP: &str = "https://app.test.example";
pub const KID: &str = "ins_test_1";

/// One RSA key per test binary: generating 2048-bit keys is slow.
pub fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate_2048().expect("generate test key"))
}

/// A second key, for rotation and wrong-key tests.
pub fn other_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate_2048().expect("generate test key"))
}

/// Claims of a valid, onboarded, active user, valid at [`NOW`].
pub fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "sub": "user_1",
        "sid": "sess_1",
        "azp": AZP,
        "iat": NOW - 5,
        "nbf": NOW - 15,
        "exp": NOW + 55,
        "v": 2,
        "metadata": {
            "userType": "freelancer",
            "isActive": true,
            "roles": [{"name": "member", "permissions": ["view_project"]}],
            "permissions": [],
            "featureFlags": {"advanced_search": true, "beta": false},
            "onboarding": {"status": "completed"},
        }
    })
}

/// Sets `value` at the JSON pointer `pointer` inside `claims` (creating objects on the way).
pub fn with(mut claims: Value, pointer: &str, value: Value) -> Value {
    let mut target = &mut claims;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            target[*part] = value;
            break;
        }
        if target.get(*part).is_none() {
            target[*part] = json!({});
        }
        target = &mut target[*part];
    }
    claims
}

/// Removes the claim at `pointer`.
pub fn without(mut claims: Value, pointer: &str) -> Value {
    let (parent, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    if let Some(obj) = claims.pointer_mut(parent).and_then(Value::as_object_mut) {
        obj.remove(last);
    }
    claims
}

/// A token for `claims` signed by the test key.
pub fn token(claims: &Value) -> String {
    mint(key(), KID, claims).expect("mint")
}

/// A token with a hand-written header and payload (for hostile inputs).
pub fn raw_token(header: &str, payload: &str) -> String {
    sign_raw(key(), header, payload).expect("sign")
}

/// Seconds since the epoch by the real clock: for doorman binaries and Redis entries, which
/// do not run on the test clock (everything in-process uses [`NOW`]).
pub fn wall_now() -> i64 {
    doorman::clock::Clock::now_unix(&doorman::clock::SystemClock)
}

/// [`claims`] valid by the real clock ([`wall_now`]): issued now, `nbf` 10 s ago, expiring
/// in `ttl` seconds.
pub fn live_claims(ttl: i64) -> Value {
    let now = wall_now();
    let mut live = claims();
    for (k, v) in [("exp", now + ttl), ("iat", now), ("nbf", now - 10)] {
        live[k] = json!(v);
    }
    live
}

/// Unpadded base64url of `bytes` (for hand-built token parts).
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
