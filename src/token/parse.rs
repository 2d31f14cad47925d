//! Turns a compact JWS string into a [`ParsedToken`]: size limit, strict base64url, strict
//! JSON, and the JOSE header rules of docs/clerk.md, "Tokens: what is verified" (steps 1–3) plus doorman's stricter ones.
//!
//! Nothing here is trusted yet: the payload is only decoded so that the signature can be
//! checked next ([`ParsedToken::verify`]). This stage must never act on a header field that
//! points elsewhere (`jku`, `x5u`, `jwk`, `x5c` are refused, never fetched or used), never
//! accept an algorithm other than RS256, and never let a token it cannot parse exactly (two
//! spellings of one key, padded or non-canonical base64) through.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::token::payload::Payload;
use crate::token::raw::Raw;
use crate::token::strict::check_strict;
use crate::token::tape;
use crate::token::TokenError;

/// Default ceiling on a token's length in bytes (Clerk's whole cookie limit is 4 KiB).
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Header `cat` of a Clerk session token.
pub const CATEGORY_SESSION: &str = "cl_B7d4PD111AAA";
/// Header `cat` meaning "no information" (also accepted).
pub const CATEGORY_NO_INFORMATION: &str = "cl_I7d4PD111III";

/// Header fields that make a token depend on keys or semantics we do not control.
const REFUSED_HEADER_FIELDS: [&str; 5] = ["crit", "jku", "x5u", "jwk", "x5c"];

/// A structurally valid RS256 JWS whose signature has not been checked yet.
///
/// Its `Debug` output names the claims but never shows their values or the signature.
#[derive(Clone)]
pub struct ParsedToken {
    kid: Option<String>,
    category: Option<String>,
    payload: Payload,
    signing_input: String,
    signature: Vec<u8>,
}

impl ParsedToken {
    /// Parses `token`, checking in order (the first failure wins):
    ///
    /// 1. longer than `max_bytes` → [`TokenError::TooLarge`];
    /// 2. not exactly three `.`-separated parts of canonical unpadded base64url, or a header or
    ///    payload that is not a JSON object without duplicate keys → [`TokenError::Malformed`];
    /// 3. `typ` present and not exactly `"JWT"` → [`TokenError::TokenType`];
    /// 4. `alg` not exactly `"RS256"` → [`TokenError::BadAlgorithm`];
    /// 5. `crit`, `jku`, `x5u`, `jwk` or `x5c` present → [`TokenError::Malformed`];
    /// 6. `cat` present and neither session nor no-information → [`TokenError::TokenType`];
    /// 7. `kid` present and not a string → [`TokenError::Malformed`].
    pub fn parse(token: &str, max_bytes: usize) -> Result<ParsedToken, TokenError> {
        if token.len() > max_bytes {
            return Err(TokenError::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header_json = decode_part(header_b64)?;
        let payload_json = decode_part(payload_b64)?;
        let signature = decode_part(signature_b64)?;
        // Both JSON documents are checked before any header rule (a malformed payload is
        // `Malformed` whatever the header says).
        let payload = Payload::parse(payload_json).ok_or(TokenError::Malformed)?;
        let (kid, category) = read_header(&header_json)?;
        let signing_input_len = header_b64.len() + 1 + payload_b64.len();
        Ok(ParsedToken {
            kid,
            category,
            payload,
            signing_input: token[..signing_input_len].to_owned(),
            signature,
        })
    }

    /// The header `kid` (Clerk's instance key id), if the token names one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The header `cat`, when present (always a session or no-information category).
    pub fn category(&self) -> Option<&str> {
        self.category.as_deref()
    }

    /// The decoded, **unverified** payload.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// Moves the payload out, for a verifier done with the token.
    pub(crate) fn into_payload(self) -> Payload {
        self.payload
    }

    /// `base64url(header) "." base64url(payload)`: the bytes the signature covers.
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// The decoded signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

impl fmt::Debug for ParsedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedToken")
            .field("kid", &self.kid)
            .field("category", &self.category)
            .field("claims", &self.payload.keys().collect::<Vec<_>>())
            .field("signature_len", &self.signature.len())
            .finish()
    }
}

/// Strict base64url: URL-safe alphabet, no padding, zero trailing bits (one spelling per value).
fn decode_part(part: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)
}

/// Checks the JOSE header (strict JSON object, then rules 3–7 of [`ParsedToken::parse`]) and
/// returns its `kid` and `cat`. Fields are read typed from the header text; every other
/// field is allowed and ignored (its value was still checked strictly).
fn read_header(bytes: &[u8]) -> Result<(Option<String>, Option<String>), TokenError> {
    check_strict(bytes).map_err(|_| TokenError::Malformed)?;
    let text = std::str::from_utf8(bytes).map_err(|_| TokenError::Malformed)?;
    let nodes = tape::build(text).ok_or(TokenError::Malformed)?;
    let root = Raw::root(text, &nodes).filter(|root| root.is_object());
    let root = root.ok_or(TokenError::Malformed)?;
    let (mut typ, mut alg, mut kid, mut cat, mut refused) = (None, None, None, None, false);
    for (key, value) in root.members() {
        match &*key {
            "typ" => typ = Some(value),
            "alg" => alg = Some(value),
            "kid" => kid = Some(value),
            "cat" => cat = Some(value),
            name if REFUSED_HEADER_FIELDS.contains(&name) => refused = true,
            _ => {}
        }
    }
    match typ.map(Raw::as_str) {
        None => {}
        Some(Some(typ)) if typ == "JWT" => {}
        Some(_) => return Err(TokenError::TokenType),
    }
    match alg.and_then(Raw::as_str) {
        Some(alg) if alg == "RS256" => {}
        _ => return Err(TokenError::BadAlgorithm),
    }
    if refused {
        return Err(TokenError::Malformed);
    }
    let category = match cat.map(Raw::as_str) {
        None => None,
        Some(Some(cat)) if cat == CATEGORY_SESSION || cat == CATEGORY_NO_INFORMATION => {
            Some(cat.into_owned())
        }
        Some(_) => return Err(TokenError::TokenType),
    };
    let kid = match kid {
        None => None,
        Some(kid) => Some(kid.as_str().ok_or(TokenError::Malformed)?.into_owned()),
    };
    Ok((kid, category))
}

#[cfg(test)]
mod tests;
