//! Svix (Standard Webhooks) signatures, as Clerk sends them.
//!
//! `svix-id`, `svix-timestamp` and `svix-signature` headers (or the `webhook-*` names);
//! the signature is base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")) with the key being
//! the base64 after `whsec_`; the header holds space-separated `v1,<base64>` entries, any of
//! which may match (compared in constant time); timestamps further than the tolerance from
//! now are refused. Pure: the clock is an argument.

use aws_lc_rs::{constant_time, hmac};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::HeaderMap;

use crate::config::WebhookSecret;

/// Why a delivery was refused. Displayed messages never include the secret or signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SvixError {
    #[error("missing svix-id, svix-timestamp or svix-signature header")]
    MissingHeaders,
    #[error("svix-timestamp is not a unix time")]
    BadTimestamp,
    #[error("svix-timestamp is too far from now")]
    OutsideTolerance,
    #[error("no matching v1 signature")]
    BadSignature,
}

impl SvixError {
    /// The `result` label of `doorman_webhooks_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            SvixError::MissingHeaders => "missing_headers",
            SvixError::BadTimestamp => "bad_timestamp",
            SvixError::OutsideTolerance => "expired",
            SvixError::BadSignature => "bad_signature",
        }
    }
}

/// A webhook signing secret.
pub struct Secret {
    key: hmac::Key,
}

impl Secret {
    /// The signing key of a decoded secret.
    pub fn new(secret: &WebhookSecret) -> Secret {
        Secret {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.key()),
        }
    }

    /// Parses `whsec_<base64>` (as `[webhooks] secret` is read).
    pub fn parse(secret: &str) -> Result<Secret, String> {
        WebhookSecret::parse(secret).map(|s| Secret::new(&s))
    }

    /// base64 of the signature for one delivery.
    pub fn sign(&self, id: &str, timestamp: &str, body: &[u8]) -> String {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(id.as_bytes());
        ctx.update(b".");
        ctx.update(timestamp.as_bytes());
        ctx.update(b".");
        ctx.update(body);
        STANDARD.encode(ctx.sign().as_ref())
    }
}

/// The delivery's id and timestamp, once verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub id: String,
    pub timestamp: i64,
}

fn header<'a>(headers: &'a HeaderMap, svix: &str, standard: &str) -> Option<&'a str> {
    headers
        .get(svix)
        .or_else(|| headers.get(standard))
        .and_then(|v| v.to_str().ok())
}

/// Verifies a delivery at unix time `now` with `tolerance_secs`.
pub fn verify(
    secret: &Secret,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<Verified, SvixError> {
    let (Some(id), Some(ts), Some(sigs)) = (
        header(headers, "svix-id", "webhook-id"),
        header(headers, "svix-timestamp", "webhook-timestamp"),
        header(headers, "svix-signature", "webhook-signature"),
    ) else {
        return Err(SvixError::MissingHeaders);
    };
    let timestamp: i64 = ts.trim().parse().map_err(|_| SvixError::BadTimestamp)?;
    if now.saturating_sub(timestamp).abs() > tolerance_secs {
        return Err(SvixError::OutsideTolerance);
    }
    let expected = secret.sign(id, ts, body);
    let matched = sigs
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|candidate| {
            constant_time::verify_slices_are_equal(candidate.as_bytes(), expected.as_bytes())
                .is_ok()
        });
    if !matched {
        return Err(SvixError::BadSignature);
    }
    Ok(Verified {
        id: id.to_string(),
        timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    // The Standard Webhooks / Svix published example: secret, id, timestamp, payload and
    // the signature Svix documents for them.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers(id: &str, ts: &str, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("svix-id", HeaderValue::from_str(id).unwrap());
        h.insert("svix-timestamp", HeaderValue::from_str(ts).unwrap());
        h.insert("svix-signature", HeaderValue::from_str(sig).unwrap());
        h
    }

    fn secret() -> Secret {
        Secret::parse(SECRET).unwrap()
    }

    #[test]
    fn the_published_test_vector_verifies() {
        let v = verify(
            &secret(),
            &headers(ID, &TS.to_string(), SIGNATURE),
            BODY,
            TS,
            300,
        )
        .unwrap();
        assert_eq!(
            v,
            Verified {
                id: ID.into(),
                timestamp: TS
            }
        );
        assert_eq!(
            format!("v1,{}", secret().sign(ID, &TS.to_string(), BODY)),
            SIGNATURE
        );
    }

    #[test]
    fn standard_webhook_header_names_are_accepted() {
        let mut h = HeaderMap::new();
        h.insert("webhook-id", HeaderValue::from_static(ID));
        h.insert(
            "webhook-timestamp",
            HeaderValue::from_str(&TS.to_string()).unwrap(),
        );
        h.insert("webhook-signature", HeaderValue::from_static(SIGNATURE));
        assert!(verify(&secret(), &h, BODY, TS, 300).is_ok());
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let sigs = format!("v1,Zm9yZ2VkCg== v2,abc {SIGNATURE}");
        assert!(verify(
            &secret(),
            &headers(ID, &TS.to_string(), &sigs),
            BODY,
            TS,
            300
        )
        .is_ok());
    }

    #[test]
    fn forged_tampered_and_misdated_deliveries_are_refused() {
        let ts = TS.to_string();
        let cases: Vec<(&str, HeaderMap, &[u8], i64, SvixError)> = vec![
            (
                "tampered body",
                headers(ID, &ts, SIGNATURE),
                br#"{"test": 2432232315}"#,
                TS,
                SvixError::BadSignature,
            ),
            (
                "other id",
                headers("msg_other", &ts, SIGNATURE),
                BODY,
                TS,
                SvixError::BadSignature,
            ),
            (
                "other timestamp",
                headers(ID, &(TS + 1).to_string(), SIGNATURE),
                BODY,
                TS,
                SvixError::BadSignature,
            ),
            (
                "forged signature",
                headers(ID, &ts, "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
                BODY,
                TS,
                SvixError::BadSignature,
            ),
            (
                "wrong version",
                headers(ID, &ts, &SIGNATURE.replace("v1,", "v2,")),
                BODY,
                TS,
                SvixError::BadSignature,
            ),
            (
                "empty signature",
                headers(ID, &ts, "v1,"),
                BODY,
                TS,
                SvixError::BadSignature,
            ),
            (
                "too old",
                headers(ID, &ts, SIGNATURE),
                BODY,
                TS + 301,
                SvixError::OutsideTolerance,
            ),
            (
                "too new",
                headers(ID, &ts, SIGNATURE),
                BODY,
                TS - 301,
                SvixError::OutsideTolerance,
            ),
            (
                "timestamp not a number",
                headers(ID, "yesterday", SIGNATURE),
                BODY,
                TS,
                SvixError::BadTimestamp,
            ),
            (
                "huge timestamp",
                headers(ID, "99999999999999999999", SIGNATURE),
                BODY,
                TS,
                SvixError::BadTimestamp,
            ),
            (
                "missing headers",
                HeaderMap::new(),
                BODY,
                TS,
                SvixError::MissingHeaders,
            ),
        ];
        for (name, h, body, now, want) in cases {
            assert_eq!(
                verify(&secret(), &h, body, now, 300).unwrap_err(),
                want,
                "{name}"
            );
        }
        // The tolerance boundary: exactly 300 s off is accepted.
        assert!(verify(&secret(), &headers(ID, &ts, SIGNATURE), BODY, TS + 300, 300).is_ok());
    }

    #[test]
    fn secrets_must_be_base64_and_long_enough() {
        assert!(Secret::parse("whsec_not base64!").is_err());
        assert!(Secret::parse("whsec_c2hvcnQ=").is_err());
        assert!(Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
    }
}
