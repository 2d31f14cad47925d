//! Method override parameters (`_method=DELETE`): refused, or authorized as the method
//! they claim to be.
//!
//! Frameworks run a `POST` as the method named by a parameter, so the rule for `DELETE`
//! must also hold for `POST …?_method=DELETE`. Where they read it:
//! - Rails and Sinatra (`Rack::MethodOverride`): the form body, urlencoded or multipart
//!   (Rack also parses a POST body without Content-Type as a form, and any `multipart/*`).
//! - Laravel and Symfony (`Request::getMethod` with `httpMethodParameterOverride`): the form
//!   body (PHP parses urlencoded and multipart) and the query string.
//! - PHP registers keys with leading spaces dropped, `.` and space turned into `_`, and
//!   `_method[...]` read as `_method`; keys are percent-decoded (`%5Fmethod`, `+` a space).
//!
//! This module owns finding them (query here; bodies in [`urlencoded`] and [`multipart`],
//! streamed through [`body::ScannedBody`]) and judging them: `refuse` answers 400
//! `method_override`; `authorize` decides the overridden method (upper-cased, as the
//! frameworks do) against the route table with the same path and authentication, and only
//! lets the request on when that decision is `Forward`. It never rewrites a request or
//! buffers a body, and JSON bodies (Laravel also reads `_method` from JSON input) are not
//! scanned.

pub mod body;
pub mod boundary;
mod key;
pub mod multipart;
pub mod urlencoded;

use std::ops::ControlFlow;
use std::sync::Arc;

use http::{header, HeaderMap, Method};

use crate::body::RequestBody;
use crate::config::{Config, MethodOverride, Mode, Route};
use crate::decide::decide;
use crate::decision::Auth;
use crate::decision::Decision;
use crate::reason::Reason;
use crate::request::Facts;

pub use body::{Scan, ScannedBody, Verdict};
use multipart::MultipartScanner;
use urlencoded::UrlScanner;

pub use crate::config::override_params::{Params, MAX_PARAM_LEN};

/// What a scanner found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// An override key.
    Key,
    /// The value of the override key found last (authorize mode only); `None`: too long.
    Value(Option<&'a [u8]>),
    /// Something that may hide an override but cannot be read within the bounds.
    Unreadable,
}

/// Judges an override value: `None` lets the request on, `Some` is the answer instead.
pub type Judge = Box<dyn Fn(&[u8]) -> Option<Decision> + Send + Sync>;

/// The answer to a refused override.
pub fn refused() -> Decision {
    Decision::BadRequest {
        reason: Reason::MethodOverride,
    }
}

fn judge_event(event: Event<'_>, judge: Option<&Judge>) -> ControlFlow<Decision> {
    match (event, judge) {
        (Event::Key, Some(_)) => ControlFlow::Continue(()),
        (Event::Value(Some(value)), Some(judge)) => match judge(value) {
            None => ControlFlow::Continue(()),
            Some(decision) => ControlFlow::Break(decision),
        },
        _ => ControlFlow::Break(refused()),
    }
}

/// Whether the query names an override parameter: cheap, no allocation, for refusing
/// before any authentication work.
pub fn in_query(query: Option<&str>, params: &Params) -> bool {
    let Some(query) = query.filter(|_| !params.is_empty()) else {
        return false;
    };
    let mut scanner = UrlScanner::new(false);
    let mut on = |_: Event<'_>| ControlFlow::Break(());
    scanner.feed(query.as_bytes(), params, &mut on).is_break()
        || scanner.finish(params, &mut on).is_break()
}

/// The answer to the query's overrides for a request whose own decision was `Forward`:
/// `None` when there are none or every one passes.
pub fn check_query(
    facts: &Facts<'_>,
    route: &Route,
    auth: &Auth,
    config: &Config,
) -> Option<Decision> {
    let params = &config.server.method_override_params;
    if !in_query(facts.query, params) {
        return None;
    }
    if route.method_override == MethodOverride::Refuse {
        return Some(refused());
    }
    let judge = |value: &[u8]| overridden(value, facts, auth, config);
    let mut on = |event: Event<'_>| match event {
        Event::Key => ControlFlow::Continue(()),
        Event::Value(Some(value)) => {
            judge(value).map_or(ControlFlow::Continue(()), ControlFlow::Break)
        }
        Event::Value(None) | Event::Unreadable => ControlFlow::Break(refused()),
    };
    let mut scanner = UrlScanner::new(true);
    let query = facts.query.unwrap_or_default().as_bytes();
    if let ControlFlow::Break(d) = scanner.feed(query, params, &mut on) {
        return Some(d);
    }
    scanner.finish(params, &mut on).break_value()
}

/// The decision for the same request with method `value` (upper-cased), or `None` when it
/// would be forwarded. Not a method token, `CONNECT` or `TRACE`: 400 `method_override`.
pub fn overridden(
    value: &[u8],
    facts: &Facts<'_>,
    auth: &Auth,
    config: &Config,
) -> Option<Decision> {
    let upper = value.to_ascii_uppercase();
    let Ok(method) = Method::from_bytes(&upper) else {
        return Some(refused());
    };
    if method == Method::CONNECT || method == Method::TRACE {
        return Some(refused());
    }
    let facts = Facts {
        method: &method,
        path: facts.path.clone(),
        query: facts.query,
        navigation: facts.navigation,
        // An overridden OPTIONS is not a browser preflight: it carries the form.
        preflight: false,
    };
    let route = config.route_for(&method, &facts.path);
    match decide(
        &facts,
        &route.policy,
        auth,
        &crate::decide::Settings::of(config),
    ) {
        Decision::Forward => None,
        decision => Some(decision),
    }
}

/// How to scan a request's body, or `None` (the common case: no body, a route in report
/// mode, nothing configured, or a content type that is not a form), so a plain request
/// pays for no scanner. `config` is what the authorize judge decides with.
pub fn plan<C>(
    headers: &HeaderMap,
    body_is_empty: bool,
    route: &Route,
    config: &Arc<C>,
    facts: &Facts<'_>,
    auth: &Auth,
) -> Option<Scan>
where
    C: AsRef<Config> + Send + Sync + 'static,
{
    let cfg: &Config = (**config).as_ref();
    let params = &cfg.server.method_override_params;
    if body_is_empty || params.is_empty() || route.mode == Mode::Report {
        return None;
    }
    let need_value = route.method_override == MethodOverride::Authorize;
    let mut urlencoded = None;
    let mut multipart = Vec::new();
    let mut types = headers.get_all(header::CONTENT_TYPE).iter().peekable();
    if types.peek().is_none() {
        // Rack parses a POST body without a Content-Type as a form.
        urlencoded = Some(UrlScanner::new(need_value));
    }
    for value in types {
        let value = value.as_bytes();
        let essence = value
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        if essence.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") {
            urlencoded = Some(UrlScanner::new(need_value));
        } else if essence.len() > 10 && essence[..10].eq_ignore_ascii_case(b"multipart/") {
            for boundary in boundary::boundaries(value) {
                multipart.push(MultipartScanner::new(&boundary, need_value));
            }
        }
    }
    if urlencoded.is_none() && multipart.is_empty() {
        return None;
    }
    let judge: Option<Judge> = need_value.then(|| {
        let config = config.clone();
        let auth = auth.clone();
        let path = facts.path.clone();
        let query = facts.query.map(str::to_owned);
        let navigation = facts.navigation;
        Box::new(move |value: &[u8]| {
            let facts = Facts {
                method: &Method::POST,
                path: path.clone(),
                query: query.as_deref(),
                navigation,
                preflight: false,
            };
            overridden(value, &facts, &auth, (*config).as_ref())
        }) as Judge
    });
    Some(Scan {
        params: params.clone(),
        urlencoded,
        multipart,
        judge,
    })
}

/// The body as sent upstream: scanned when `scan` says so (with the slot its verdict will
/// be in), passed through otherwise.
pub fn wrap(body: RequestBody, scan: Option<Scan>) -> (ScannedBody, Option<Verdict>) {
    match scan {
        Some(scan) => {
            let (body, verdict) = ScannedBody::scanned(body, scan);
            (body, Some(verdict))
        }
        None => (ScannedBody::plain(body), None),
    }
}

#[cfg(test)]
mod tests;
