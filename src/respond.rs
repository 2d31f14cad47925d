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
use crate::decision::Decision;
use crate::handshake::HandshakeRendering;
use crate::reason::Reason;
use crate::redirect::location_from;
use crate::webhook::svix::SvixError;

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

impl<'a> Rendering<'a> {
    /// An API answer: no page, no return path, no handshake.
    pub fn api(method: &'a Method) -> Rendering<'a> {
        Rendering {
            method,
            page: false,
            return_to: None,
            handshake: None,
        }
    }
}

/// Renders a decision. `Decision::Forward` is not rendered here; asking for it yields 500.
pub fn respond(decision: &Decision, r: &Rendering<'_>, config: &Config) -> Response<Body> {
    let redirects = &config.redirects;
    let param = redirects.return_to_param.as_str();
    let origin = r.handshake.as_ref().and_then(|h| h.origin.as_deref());
    let location = |target, back| location_from(target, param, back, origin);
    match decision {
        Decision::RedirectSignIn { .. } => {
            redirect(r.method, &location(&redirects.sign_in, r.return_to))
        }
        Decision::Handshake { reason } => match (&config.clerk.handshake, &r.handshake) {
            (Some(handshake), Some(h)) => {
                let to = crate::handshake::location(handshake, h, *reason);
                let mut resp = redirect_with(StatusCode::TEMPORARY_REDIRECT, &to);
                if let Ok(v) =
                    HeaderValue::from_str(&crate::handshake::counter_cookie(h.redirect_count))
                {
                    resp.headers_mut().append(header::SET_COOKIE, v);
                }
                resp
            }
            // Not configured: the documented fallback is the sign-in page.
            _ => redirect(r.method, &location(&redirects.sign_in, r.return_to)),
        },
        Decision::RedirectOnboarding { .. } => {
            redirect(r.method, &location(&redirects.onboarding, r.return_to))
        }
        Decision::RedirectAfterOnboarding { to } => redirect(r.method, to),
        Decision::Unauthorized { reason } => {
            let mut resp = refusal(*reason, r.page);
            let challenge = if *reason == Reason::TokenMissing {
                "Bearer realm=\"doorman\"".to_string()
            } else {
                format!("Bearer realm=\"doorman\", error=\"invalid_token\", error_description=\"{reason}\"")
            };
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            resp
        }
        Decision::Forbidden { reason } | Decision::Unavailable { reason } => {
            refusal(*reason, r.page)
        }
        // Malformed requests get the API answer: there is no page to show them.
        Decision::BadRequest { reason } => refusal(*reason, false),
        // Answered by `proxy::session` with the identity; never rendered from the value.
        Decision::Session | Decision::Jwks => refusal(Reason::Internal, false),
        Decision::Webhook { refused: None, .. } => {
            let mut resp = Response::new(full(Bytes::new()));
            *resp.status_mut() = StatusCode::NO_CONTENT;
            resp
        }
        Decision::Webhook {
            refused: Some(reason),
            result,
        } => {
            let mut resp = refusal(*reason, false);
            if *reason == Reason::WebhookPostOnly {
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("POST"));
            }
            // Svix headers missing altogether: a malformed request rather than a forgery.
            if *reason == Reason::WebhookRejected && *result == SvixError::MissingHeaders.as_str() {
                *resp.status_mut() = StatusCode::BAD_REQUEST;
            }
            resp
        }
        Decision::Forward => refusal(Reason::Internal, false),
    }
}

/// The answer to a connection over `[limits] max_connections`, written before any HTTP
/// parsing and followed by a close: what [`refusal`] renders for
/// [`Reason::TooManyConnections`], as bytes (a test keeps the two identical).
pub const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncache-control: no-store\r\ncontent-length: 56\r\nconnection: close\r\n\r\n{\"error\":\"unavailable\",\"reason\":\"too_many_connections\"}\n";

/// The API (JSON) or page (HTML) answer refusing a request for `reason`, with its status.
pub fn refusal(reason: Reason, page: bool) -> Response<Body> {
    let status = reason.status();
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
            format!(
                "{{\"error\":\"{}\",\"reason\":\"{reason}\"}}\n",
                reason.kind()
            ),
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

/// One human sentence per reason, for the HTML pages.
fn explain(reason: Reason) -> &'static str {
    match reason {
        Reason::AccountInactive => {
            "Your account is not active. Contact support if you think this is a mistake."
        }
        Reason::AccountStateInvalid => {
            "Your account state could not be read. Sign out and in again, or contact support."
        }
        Reason::UserTypeNotAllowed => "This area is not available for your type of account.",
        Reason::RoleMissing | Reason::OrgRoleMissing => {
            "You do not have the role this page requires."
        }
        Reason::PermissionMissing => "You do not have permission to view this page.",
        Reason::FeatureFlagDisabled => "This feature is not enabled for your account.",
        Reason::RouteDenied => "This address is not available.",
        Reason::OnboardingRequired => "Finish setting up your account to continue.",
        Reason::KeysUnavailable => {
            "Sign-in is temporarily unavailable. Please try again in a minute."
        }
        _ => "You cannot view this page.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn the_over_capacity_bytes_are_what_refusal_renders() {
        let resp = refusal(Reason::TooManyConnections, false);
        let head = format!(
            "HTTP/1.1 {} {}\r\n",
            resp.status().as_u16(),
            resp.status().canonical_reason().unwrap_or_default()
        );
        let body = resp.into_body().collect().await.map(|b| b.to_bytes());
        let body = body.unwrap_or_default();
        let text = String::from_utf8_lossy(OVER_CAPACITY);
        assert!(text.starts_with(&head), "{text}");
        assert!(text.ends_with(&*String::from_utf8_lossy(&body)), "{text}");
        assert!(text.contains(&format!("content-length: {}\r\n", body.len())));
    }

    #[test]
    fn every_reason_renders_its_status_and_kind() {
        for &reason in Reason::ALL {
            let resp = refusal(reason, false);
            assert_eq!(resp.status(), reason.status(), "{reason}");
            let page = refusal(reason, true);
            assert_eq!(page.status(), reason.status(), "{reason}");
        }
    }
}
