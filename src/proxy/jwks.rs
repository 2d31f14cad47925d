//! The assertion JWKS on the public listener: `GET [assertion] jwks_path` answers the public
//! keys applications verify doorman's assertions with (docs/assertion.md).
//!
//! **When it runs:** before admission, only on the configured path. **What it does:** answers
//! `GET`/`HEAD` with the JWKS, anything else with 405. **What it must never do:** publish a
//! private key or anything besides the public keys.

use http::{header, HeaderValue, Method, Request, Response, StatusCode};

use crate::decision::Decision;
use crate::respond::full;
use crate::snapshot::Snapshot;

use super::outcome::Answer;

/// The JWKS answer when `req` asks for it, else `None` (the request goes on).
pub fn answer<B>(req: &Request<B>, snapshot: &Snapshot, now: i64) -> Option<Answer> {
    let assertions = snapshot.assertions.as_ref()?;
    let path = assertions.settings().jwks_path.as_deref()?;
    if req.uri().path() != path {
        return None;
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut response = Response::new(full(bytes::Bytes::from_static(b"use GET\n")));
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Some(Answer::new(Decision::Jwks, response));
    }
    Some(Answer::new(Decision::Jwks, assertions.jwks_response(now)))
}
