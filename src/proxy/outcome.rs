//! What phases answer with ([`Answer`]) and what a finished request was ([`Outcome`]): the
//! values the recorder turns into metrics and the log line.

use std::sync::Arc;
use std::time::Instant;

use http::{header, HeaderValue, Response, Version};

use crate::authn::AuthEvents;
use crate::config::{Config, Route};
use crate::decision::{Auth, Decision};
use crate::respond::{self, Body, Rendering};
use crate::snapshot::INVALID_ROUTE;
use crate::token::claims::Identity;
use crate::webhook::Delivery;

/// How a phase ended the request: the decision it stands for, the response, and what
/// happened on the way for the recorder.
pub struct Answer {
    pub decision: Decision,
    pub response: Response<Body>,
    /// Time to the upstream's response head, when the request was sent.
    pub upstream_seconds: Option<f64>,
    /// The upstream answered: its index and status (for its duration histogram).
    pub upstream_status: Option<(usize, u16)>,
    /// The `doorman_upstream_errors_total` kind, when the upstream failed (and the request
    /// is labelled `upstream_error`).
    pub upstream_error: Option<&'static str>,
    /// The `doorman_limits_hit_total` kind, when a limit refused the request.
    pub limit: Option<&'static str>,
}

impl Answer {
    /// A response as it is, standing for `decision`.
    pub fn new(decision: Decision, response: Response<Body>) -> Answer {
        Answer {
            decision,
            response,
            upstream_seconds: None,
            upstream_status: None,
            upstream_error: None,
            limit: None,
        }
    }

    /// `respond`'s rendering of `decision`. `close`: the client's HTTP/1 connection is not
    /// trusted with another request (it sent something ambiguous, or its body was not read
    /// to the end), so the answer says `Connection: close`.
    pub fn render(
        decision: Decision,
        rendering: &Rendering<'_>,
        config: &Config,
        close: Option<Version>,
    ) -> Answer {
        let response = closing(respond::respond(&decision, rendering, config), close);
        Answer::new(decision, response)
    }
}

impl Answer {
    /// A 400-class refusal of the request itself (`respond`'s rendering of
    /// [`Decision::BadRequest`], which needs nothing from the request).
    pub fn bad_request(reason: crate::reason::Reason, close: Option<Version>) -> Answer {
        let response = closing(respond::refusal(reason, false), close);
        Answer::new(Decision::BadRequest { reason }, response)
    }
}

/// `response` with `Connection: close` when `close` names an HTTP/1 connection.
fn closing(mut response: Response<Body>, close: Option<Version>) -> Response<Body> {
    if close.is_some_and(|v| v < Version::HTTP_2) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request refused before it was routed or authenticated.
pub struct Refused {
    /// The route it matched, or [`INVALID_ROUTE`].
    pub route: Arc<str>,
    pub answer: Answer,
}

/// What happened to one request, for metrics and the log line.
pub struct Outcome {
    pub route: Arc<str>,
    pub decision: Decision,
    /// In report mode, the decision that enforcing would have taken.
    pub shadow: Option<Decision>,
    pub user: Option<Arc<Identity>>,
    /// Time spent before the decision (admission, authentication, decide).
    pub auth_seconds: Option<f64>,
    pub auth: AuthEvents,
    pub webhook: Option<Delivery>,
    pub answer_events: AnswerEvents,
    pub response: Response<Body>,
    /// Proxied (`inline`) or asked by another proxy (`forward_auth`): the `mode` label.
    pub mode: crate::metrics::RequestMode,
}

/// The recorder's part of an [`Answer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct AnswerEvents {
    pub upstream_seconds: Option<f64>,
    pub upstream_status: Option<(usize, u16)>,
    pub upstream_error: Option<&'static str>,
    pub limit: Option<&'static str>,
}

/// What is known of a request before its answer: everything of the [`Outcome`] that does
/// not come from the [`Answer`].
pub struct Known {
    route: Arc<str>,
    shadow: Option<Decision>,
    user: Option<Arc<Identity>>,
    auth_seconds: Option<f64>,
    auth: AuthEvents,
    webhook: Option<Delivery>,
}

impl Known {
    /// A request answered before it was decided (webhook deliveries, admission refusals).
    pub fn route(route: Arc<str>) -> Known {
        Known {
            route,
            shadow: None,
            user: None,
            auth_seconds: None,
            auth: AuthEvents::default(),
            webhook: None,
        }
    }

    /// The session endpoint's request (`proxy::session`), recorded under the route `session`.
    pub fn session(auth: &Auth, events: AuthEvents, started: Instant) -> Known {
        let mut known = Known::route(Arc::from("session"));
        if let Auth::Valid(identity) = auth {
            known.user = Some(Arc::clone(identity));
        }
        known.auth = events;
        known.auth_seconds = Some(started.elapsed().as_secs_f64());
        known
    }

    /// A decided request: its route, report mode's shadow decision, who it was and what
    /// authentication did.
    pub fn decided(
        route: &Route,
        shadow: Option<Decision>,
        auth: &Auth,
        events: AuthEvents,
        started: Instant,
    ) -> Known {
        Known {
            route: route.name.clone(),
            shadow,
            user: match auth {
                Auth::Valid(identity) => Some(identity.clone()),
                _ => None,
            },
            auth_seconds: Some(started.elapsed().as_secs_f64()),
            auth: events,
            webhook: None,
        }
    }
}

impl Outcome {
    /// The one place an outcome is built: what was known before the answer, and the answer
    /// (with the `Set-Cookie` directives of a handshake exchange added to whatever it is).
    pub fn new(known: Known, answer: Answer, set_cookies: Vec<HeaderValue>) -> Outcome {
        let Answer {
            decision,
            mut response,
            upstream_seconds,
            upstream_status,
            upstream_error,
            limit,
        } = answer;
        for cookie in set_cookies {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        Outcome {
            route: known.route,
            decision,
            shadow: known.shadow,
            user: known.user,
            auth_seconds: known.auth_seconds,
            auth: known.auth,
            webhook: known.webhook,
            mode: crate::metrics::RequestMode::Inline,
            answer_events: AnswerEvents {
                upstream_seconds,
                upstream_status,
                upstream_error,
                limit,
            },
            response,
        }
    }

    /// A webhook delivery, answered by `respond`.
    pub fn webhook(delivery: Delivery, config: &Config) -> Outcome {
        let decision = Decision::Webhook {
            result: delivery.result,
            refused: delivery.refused,
        };
        let rendering = Rendering::api(&http::Method::POST);
        let answer = Answer::render(decision, &rendering, config, None);
        let mut known = Known::route(Arc::from("clerk-webhooks"));
        known.webhook = Some(delivery);
        Outcome::new(known, answer, Vec::new())
    }

    /// A request refused at admission.
    pub fn refused(refused: Refused) -> Outcome {
        Outcome::new(Known::route(refused.route), refused.answer, Vec::new())
    }

    /// The `decision` label of `doorman_requests_total`.
    pub fn label(&self) -> &'static str {
        if self.answer_events.upstream_error.is_some() {
            crate::decision::UPSTREAM_ERROR
        } else {
            self.decision.label()
        }
    }
}

/// The route name of requests refused before routing.
pub fn invalid_route() -> Arc<str> {
    Arc::from(INVALID_ROUTE)
}
