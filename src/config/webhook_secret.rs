//! The `[webhooks] secret`: Svix's `whsec_<base64>` signing secret, decoded once at config
//! load so a bad secret is a config error, never a start-up or request failure.
//!
//! Owns only the decoding; signing and verifying deliveries belong to `webhook::svix`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The decoded HMAC key of a webhook endpoint. `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// Decodes `whsec_<base64>` (the prefix is optional, as Svix's libraries accept).
    pub fn parse(secret: &str) -> Result<WebhookSecret, String> {
        let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| "the webhook secret is not whsec_ followed by base64; copy the signing secret from the Clerk dashboard (Webhooks → endpoint)".to_string())?;
        if bytes.len() < 16 {
            return Err(
                "the webhook secret is shorter than 16 bytes; copy the whole signing secret".into(),
            );
        }
        Ok(WebhookSecret(bytes))
    }

    /// The key bytes.
    pub fn key(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}
