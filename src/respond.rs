//! The one place that turns a non-forward [`Decision`] into an HTTP response.
//!
//! Every status code doorman itself produces is chosen here: redirects (302 for GET/HEAD,
//! 303 otherwise, so a form post becomes a GET of the sign-in page), 401 with
//! `WWW-Authenticate`, 403, 400 (413 and 501 for the body and transfer-coding refusals),
//! 502/503/504. API answers carry `{"error": kind, "reason": id}`; page answers are a small
//! HTML page. Every answer is `Cache-Control: no-store`: an auth decision belongs to one user and one moment.

use bytes::Bytes;
use http::{header, HeaderValue, Method, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full};

use crate::config::Config;
use crate::decision::{reason, Decision};
use crate::handshake::HandshakeRendering;
use crate::redirect::location;

/// The error type of every response body doorman sends.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type of every response doorman sends.
pub type Body = BoxBody<Bytes, BoxError>;

/// A complete body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// What `respond` needs to know about the request besides the decision.
pub struct Rendering<'a> {
    pub method: &'a Method,
    /// Render as a page (HTML, redirects) rather than as an API answer.
    pub page: bool,
    /// The original path and query, for the return parameter.
    pub return_to: Option<&'a str>,
    /// What a handshake redirect needs, when the handshake is configured.
    pub handshake: Option<HandshakeRendering>,
}

/// Renders a decision. `Decision::Forward` is not rendered here; asking for it yields 500.
pub fn respond(decision: &Decision, r: &Rendering<'_>, config: &Config) -> Response<Body> {
    let redirects = &config.redirects;
    let param = redirects.return_to_param.as_str();
    match decision {
        Decision::RedirectSignIn { .. } => {
            redirect(r.method, &location(&redirects.sign_in, param, r.return_to))
        }
        Decision::Handshake { reason } => match (&config.clerk.handshake, &r.handshake) {
            (Some(handshake), Some(h)) => {
                let to = crate::handshake::location(handshake, &h.current_url, reason, h.suffixed);
                let mut resp = redirect_with(StatusCode::TEMPORARY_REDIRECT, &to);
                if let Ok(v) =
                    HeaderValue::from_str(&crate::handshake::counter_cookie(h.redirect_count))
                {
                    resp.headers_mut().append(header::SET_COOKIE, v);
                }
                resp
            }
            // Not configured: the documented fallback is the sign-in page.
            _ => redirect(r.method, &location(&redirects.sign_in, param, r.return_to)),
        },
        Decision::RedirectOnboarding => redirect(
            r.method,
            &location(&redirects.onboarding, param, r.return_to),
        ),
        Decision::RedirectAfterOnboarding { to } => redirect(r.method, to),
        Decision::Unauthorized { reason } => {
            let mut resp = error(StatusCode::UNAUTHORIZED, "unauthorized", reason, r.page);
            let challenge = if *reason == crate::token::error::TokenError::Missing.reason() {
                "Bearer realm=\"doorman\"".to_string()
            } else {
                format!("Bearer realm=\"doorman\", error=\"invalid_token\", error_description=\"{reason}\"")
            };
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            resp
        }
        Decision::Forbidden { reason } => {
            let kind = if *reason == reason::ONBOARDING_REQUIRED {
                "onboarding_required"
            } else {
                "forbidden"
            };
            error(StatusCode::FORBIDDEN, kind, reason, r.page)
        }
        Decision::BadRequest { reason } if *reason == reason::BODY_TOO_LARGE => error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            reason,
            false,
        ),
        // RFC 9112 §6.1: a transfer coding the server does not understand is a 501.
        Decision::BadRequest { reason } if *reason == reason::TRANSFER_CODING_UNSUPPORTED => error(
            StatusCode::NOT_IMPLEMENTED,
            "not_implemented",
            reason,
            false,
        ),
        Decision::BadRequest { reason } => {
            error(StatusCode::BAD_REQUEST, "bad_request", reason, false)
        }
        Decision::Unavailable { reason } => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            reason,
            r.page,
        ),
        // Webhook answers are made by the webhook endpoint; this is never reached.
        Decision::Webhook { .. } => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "webhook_not_rendered",
            false,
        ),
        Decision::Forward => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "forward_not_rendered",
            false,
        ),
    }
}

/// 502/504 for upstream failures.
pub fn upstream_error(reason: &'static str) -> Response<Body> {
    if reason == reason::BODY_TOO_LARGE {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            reason,
            false,
        );
    }
    if reason == reason::BODY_INVALID {
        return error(StatusCode::BAD_REQUEST, "bad_request", reason, false);
    }
    if reason == reason::BODY_TOO_SLOW {
        return error(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            reason,
            false,
        );
    }
    let status = if reason == reason::UPSTREAM_TIMEOUT {
        StatusCode::GATEWAY_TIMEOUT
    } else {
        StatusCode::BAD_GATEWAY
    };
    let kind = if status == StatusCode::GATEWAY_TIMEOUT {
        "gateway_timeout"
    } else {
        "bad_gateway"
    };
    error(status, kind, reason, false)
}

fn redirect(method: &Method, to: &str) -> Response<Body> {
    let status = if method == Method::GET || method == Method::HEAD {
        StatusCode::FOUND
    } else {
        StatusCode::SEE_OTHER
    };
    redirect_with(status, to)
}

fn redirect_with(status: StatusCode, to: &str) -> Response<Body> {
    let mut resp = Response::new(full(Bytes::new()));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    // `to` was built from validated parts; a value that is still not a legal header falls
    // back to the site root rather than failing the request.
    let value = HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/"));
    headers.insert(header::LOCATION, value);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A JSON (API) or HTML (page) error answer.
pub fn error(status: StatusCode, kind: &str, reason: &str, page: bool) -> Response<Body> {
    let (body, content_type) = if page {
        let title = status.canonical_reason().unwrap_or("Error");
        (
            format!(
                "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{code} {title}</title></head>\
                 <body><h1>{code} {title}</h1><p>{}</p><p><small>reason: {reason}</small></p></body></html>\n",
                explain(reason),
                code = status.as_u16()
            ),
            "text/html; charset=utf-8",
        )
    } else {
        (
            format!("{{\"error\":\"{kind}\",\"reason\":\"{reason}\"}}\n"),
            "application/json",
        )
    };
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// One human sentence per reason, for the HTML pages.
fn explain(reason: &str) -> &'static str {
    match reason {
        reason::ACCOUNT_INACTIVE => {
            "Your account is not active. Contact support if you think this is a mistake."
        }
        reason::ACCOUNT_STATE_INVALID => {
            "Your account state could not be read. Sign out and in again, or contact support."
        }
        reason::USER_TYPE_NOT_ALLOWED => "This area is not available for your type of account.",
        reason::ROLE_MISSING | reason::ORG_ROLE_MISSING => {
            "You do not have the role this page requires."
        }
        reason::PERMISSION_MISSING => "You do not have permission to view this page.",
        reason::FEATURE_FLAG_DISABLED => "This feature is not enabled for your account.",
        reason::ROUTE_DENIED => "This address is not available.",
        reason::ONBOARDING_REQUIRED => "Finish setting up your account to continue.",
        "keys_unavailable" => "Sign-in is temporarily unavailable. Please try again in a minute.",
        _ => "You cannot view this page.",
    }
}
