//! `doorman explain --call-header …`: the original request a forward-auth call describes, so
//! that `explain` decides the call exactly as the authorizer would.

use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};

use super::dialect::Dialect;
use crate::config::Config;
use crate::request::is_navigation;

/// What `explain` decides for a call: the original method and target, and whether it is a
/// navigation (from the call's `Sec-Fetch-*` and `Accept`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainedCall {
    pub dialect: &'static str,
    pub method: Method,
    pub target: String,
    pub navigate: bool,
}

/// Reads the call `method path` with `headers` ("Name: value" each) under `config`.
/// `Err`: one sentence naming what is wrong and how to fix it.
pub fn original_of_call(
    config: &Config,
    method: &Method,
    path: &str,
    headers: &[String],
) -> Result<ExplainedCall, String> {
    let settings = config.forward_auth.as_ref().ok_or(
        "the config has no [forward_auth] section; add one, or explain the original request without --call-header",
    )?;
    let mut map = HeaderMap::new();
    for line in headers {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("--call-header {line:?} is not \"Name: value\""))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("--call-header {line:?}: {name:?} is not a header name"))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| format!("--call-header {line:?}: the value is not a header value"))?;
        map.append(name, value);
    }
    let mut call = Request::new(()).into_parts().0;
    call.method = method.clone();
    call.uri = path
        .parse()
        .map_err(|_| format!("{path:?} is not a request target; write e.g. /nginx"))?;
    call.headers = map;
    let dialect = Dialect::of(call.uri.path(), settings).ok_or_else(|| {
        format!(
            "{path:?} is not a forward-auth endpoint; use /nginx, /traefik, /caddy, /forwarded or {}/…",
            settings.envoy_path_prefix
        )
    })?;
    let original = dialect
        .original(&call, settings)
        .map_err(|reason| format!("the call would be refused with 400 {reason}: it does not name the original method and URI the {dialect:?} way"))?;
    let navigate = original
        .head(&call, &config.headers)
        .is_ok_and(|head| is_navigation(&head.headers));
    Ok(ExplainedCall {
        dialect: dialect.as_str(),
        method: original.method,
        target: original.path_and_query,
        navigate,
    })
}
