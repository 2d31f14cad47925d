//! The token stage of authentication: from request headers to an [`Auth`] value and, for a
//! valid token, the [`Session`] (identity plus identity header values) to forward with.
//!
//! Runs the token stages in order: extract (header, then cookie) → verified-token cache
//! (a hit skips everything after it, see [`crate::cache`]) → parse (bounded, strict JOSE) →
//! key lookup (the only await) → verify (signature before claims, clock injected) → identity
//! from claims → identity headers, prepared once and cached with the identity. Reports what it
//! did ([`TokenEvents`]: the check's result, cache hit or miss) for the recorder to count;
//! never touches a counter itself. Never logs a token.
//!
//! A cache hit costs less than finding the token: [`cached_bearer`] looks the usual
//! `Authorization: Bearer <token>` up in the cache straight from the header's bytes, before
//! the general extraction (which validates and searches the whole value). Only verified
//! tokens are cached, so a hit proves the credential is a well-formed token that extraction
//! would have returned unchanged. On a miss, [`plain_bearer`] still takes such a header's
//! token without the general extraction when its bytes are all base64url or dots (then
//! extraction provably returns exactly them); anything else takes the general path.

use std::sync::Arc;

use http::header::AUTHORIZATION;
use http::HeaderMap;

use crate::cache::{Session, TokenCache, Validity};
use crate::claim_headers::claim_headers;
use crate::clock::Clock;
use crate::config::Config;
use crate::decision::Auth;
use crate::identity::identity_headers;
use crate::jwks::KeyStore;
use crate::keys::KeySet;
use crate::token::claims::Identity;
use crate::token::error::TokenError;
use crate::token::extract::extract_token;
use crate::token::parse::ParsedToken;
use crate::token::VerifiedClaims;

/// What authentication found: the outcome `decide` reads and, when the token was valid, the
/// session whose identity headers go upstream.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub auth: Auth,
    pub session: Option<Arc<Session>>,
    pub events: TokenEvents,
}

/// What the token stage did, for `doorman_token_verifications_total` and the cache counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenEvents {
    /// `Some(true)`: answered from the cache; `Some(false)`: looked up and missed.
    pub cache_hit: Option<bool>,
    /// The token check's `result` label (`valid` or a [`TokenError`] label); `None` when no
    /// token came.
    pub result: Option<&'static str>,
}

/// The `result` label of a valid token.
pub const VALID: &str = "valid";

impl Authenticated {
    fn refused(auth: Auth, cache_hit: Option<bool>) -> Authenticated {
        let result = match &auth {
            Auth::Invalid(e) => Some(e.as_str()),
            _ => None,
        };
        Authenticated {
            auth,
            session: None,
            events: TokenEvents { cache_hit, result },
        }
    }

    fn valid(session: Arc<Session>, cache_hit: bool) -> Authenticated {
        Authenticated {
            auth: Auth::Valid(session.identity.clone()),
            session: Some(session),
            events: TokenEvents {
                cache_hit: Some(cache_hit),
                result: Some(VALID),
            },
        }
    }
}

/// Authenticates a request's credentials, answering from `cache` when it holds the token; a
/// cookie token is read from `session_cookie` (suffixed or not, chosen by the caller).
pub async fn authenticate(
    headers: &HeaderMap,
    config: &Config,
    keys: &KeyStore,
    cache: Option<&TokenCache>,
    clock: &dyn Clock,
    session_cookie: &str,
) -> Authenticated {
    if let Some(cache) = cache {
        if let Some(session) = cached_bearer(headers, keys, cache, clock) {
            return Authenticated::valid(session, true);
        }
    }
    let plain = plain_bearer(headers);
    let token = match plain {
        Some(token) => token,
        None => match extract_token(headers, session_cookie) {
            Ok(Some((token, _source))) => token,
            Ok(None) => return Authenticated::refused(Auth::Anonymous, None),
            Err(e) => return Authenticated::refused(Auth::Invalid(e), None),
        },
    };
    // A plain bearer token was looked up above already.
    check(
        token,
        config,
        keys,
        cache.filter(|_| plain.is_none()),
        cache,
        clock,
    )
    .await
}

/// Authenticates one token already taken from the request (e.g. the cookie Clerk's rules
/// chose), answering from `cache` when it holds the token.
pub async fn authenticate_token(
    token: &str,
    config: &Config,
    keys: &KeyStore,
    cache: Option<&TokenCache>,
    clock: &dyn Clock,
) -> Authenticated {
    check(token, config, keys, cache, cache, clock).await
}

/// Looks `token` up in `lookup`, else verifies it and fills `fill`.
async fn check(
    token: &str,
    config: &Config,
    keys: &KeyStore,
    lookup: Option<&TokenCache>,
    fill: Option<&TokenCache>,
    clock: &dyn Clock,
) -> Authenticated {
    let cached = lookup.and_then(|cache| {
        keys.current_keys()
            .and_then(|current| cache.get(token, clock.now_unix(), &current))
    });
    if let Some(session) = cached {
        return Authenticated::valid(session, true);
    }
    // Counted as a miss with the cache disabled too: every token here is verified.
    let looked_up = Some(false);
    match verify(token, config, keys, clock).await {
        Ok((claims, key_set, now)) => {
            let session = Arc::new(session_for(&claims, config));
            if let Some(cache) = fill {
                cache.insert(token, session.clone(), Validity::of(&claims), &key_set, now);
            }
            let mut done = Authenticated::valid(session, false);
            done.events.cache_hit = looked_up;
            done
        }
        Err(e) => Authenticated::refused(Auth::Invalid(e), looked_up),
    }
}

/// The cached session of a request whose only `Authorization` header is `Bearer ` (any case)
/// followed by exactly a cached token. Extraction would return that same token: the header is
/// used because it is the only one, the scheme matches, and the rest is a verified token
/// (base64url and dots only), so there is nothing to trim or refuse.
pub fn cached_bearer(
    headers: &HeaderMap,
    keys: &KeyStore,
    cache: &TokenCache,
    clock: &dyn Clock,
) -> Option<Arc<Session>> {
    let token = bearer_bytes(headers)?;
    cache.get(token, clock.now_unix(), &keys.current_keys()?)
}

/// The token of a request whose only `Authorization` header is `Bearer ` (any case) and a
/// non-empty run of base64url characters and dots: exactly what `extract_token` returns for
/// such a header (nothing to trim, one space, no tab or space inside), found without
/// validating the whole header twice. `None` for every other request.
pub fn plain_bearer(headers: &HeaderMap) -> Option<&str> {
    let token = bearer_bytes(headers)?;
    // No short-circuit, so the check compiles to a vector loop.
    let plain = token.iter().fold(!token.is_empty(), |ok, &b| {
        ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_') | (b == b'.'))
    });
    if !plain {
        return None;
    }
    std::str::from_utf8(token).ok()
}

/// What follows `Bearer ` (any case) in the only `Authorization` header, unchecked.
fn bearer_bytes(headers: &HeaderMap) -> Option<&[u8]> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let (scheme, token) = value.as_bytes().split_at_checked(BEARER.len())?;
    scheme.eq_ignore_ascii_case(BEARER).then_some(token)
}

const BEARER: &[u8] = b"Bearer ";

/// The identity of verified claims, with its identity header values.
pub fn session_for(claims: &VerifiedClaims, config: &Config) -> Session {
    let identity = Identity::from_claims(claims, &config.claims);
    let mut headers = identity_headers(&identity, &config.headers);
    headers.extend(claim_headers(&claims.payload, &config.headers.claims));
    let headers = headers.into_boxed_slice();
    let assertions = crate::assertion::Slot::new(&identity, config.assertion.is_some());
    Session {
        identity: Arc::new(identity),
        headers,
        assertions,
    }
}

/// Verifies one token string into a session, e.g. the fresh token of a handshake; never
/// consults or fills the cache.
pub async fn verify_session(
    token: &str,
    config: &Config,
    keys: &KeyStore,
    clock: &dyn Clock,
) -> Result<Session, TokenError> {
    let (claims, _, _) = verify(token, config, keys, clock).await?;
    Ok(session_for(&claims, config))
}

/// Verifies one token string into an identity (also used by `doorman explain`); never
/// consults or fills the cache.
pub async fn verify_token(
    token: &str,
    config: &Config,
    keys: &KeyStore,
    clock: &dyn Clock,
) -> Result<Identity, TokenError> {
    let (claims, _, _) = verify(token, config, keys, clock).await?;
    Ok(Identity::from_claims(&claims, &config.claims))
}

/// Parse, resolve the key (refreshing once for an unknown `kid`), verify at the clock's
/// `now`: the claims, the key set that verified them and that `now`.
async fn verify(
    token: &str,
    config: &Config,
    keys: &KeyStore,
    clock: &dyn Clock,
) -> Result<(VerifiedClaims, Arc<KeySet>, i64), TokenError> {
    let parsed = ParsedToken::parse(token, config.limits.max_token_bytes)?;
    let key_set = keys.resolve(parsed.kid()).await?;
    let key = key_set.lookup(parsed.kid()).ok_or(TokenError::UnknownKid)?;
    let now = clock.now_unix();
    let claims = parsed.into_verified(key, &config.clerk.verify, now)?;
    Ok((claims, key_set, now))
}

#[cfg(test)]
mod tests;
