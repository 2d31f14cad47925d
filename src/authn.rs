//! Authentication: from request headers to an [`Auth`] value.
//!
//! Runs the token stages in order: extract (header, then cookie) → parse (bounded, strict
//! JOSE) → key lookup (the only await) → verify (signature before claims, clock injected) →
//! identity from claims. Counts every verification by result. Never logs a token.

use std::sync::Arc;

use http::HeaderMap;

use crate::clock::Clock;
use crate::config::Config;
use crate::decide::Auth;
use crate::jwks::KeyStore;
use crate::metrics::{Metrics, ResultLabel};
use crate::token::claims::Identity;
use crate::token::error::TokenError;
use crate::token::extract::extract_token;
use crate::token::parse::ParsedToken;

/// Authenticates a request's credentials; the cookie token is read from `session_cookie`.
pub async fn authenticate(
    headers: &HeaderMap,
    config: &Config,
    keys: &KeyStore,
    clock: &dyn Clock,
    metrics: &Metrics,
    session_cookie: &str,
) -> Auth {
    let token = match extract_token(headers, session_cookie) {
        Ok(Some((token, _source))) => token,
        Ok(None) => return Auth::Anonymous,
        Err(e) => return refused(metrics, e),
    };
    match verify_token(token, config, keys, clock).await {
        Ok(identity) => {
            metrics
                .token_verifications
                .get_or_create(&ResultLabel { result: "valid" })
                .inc();
            Auth::Valid(Arc::new(identity))
        }
        Err(e) => refused(metrics, e),
    }
}

/// Verifies one token string into an identity (also used by `doorman explain`).
pub async fn verify_token(
    token: &str,
    config: &Config,
    keys: &KeyStore,
    clock: &dyn Clock,
) -> Result<Identity, TokenError> {
    let parsed = ParsedToken::parse(token, config.limits.max_token_bytes)?;
    let key_set = keys.resolve(parsed.kid()).await?;
    let key = key_set.lookup(parsed.kid()).ok_or(TokenError::UnknownKid)?;
    let claims = parsed.verify(key, &config.clerk.verify, clock.now_unix())?;
    Ok(Identity::from_claims(&claims, &config.claims))
}

fn refused(metrics: &Metrics, e: TokenError) -> Auth {
    metrics
        .token_verifications
        .get_or_create(&ResultLabel { result: e.as_str() })
        .inc();
    Auth::Invalid(e)
}
