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

use super::verdict::Verdict;

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
        let mut response = respond::respond(&decision, rendering, config);
        if close.is_some_and(|v| v < Version::HTTP_2) {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        Answer::new(decision, response)
    }
}

impl Answer {
    /// A 400-class refusal of the request itself (`respond`'s rendering of
    /// [`Decision::BadRequest`], which needs nothing from the request).
    pub fn bad_request(reason: crate::reason::Reason, close: Option<Version>) -> Answer {
        let decision = Decision::BadRequest { reason };
        let mut response = respond::refusal(reason, false);
        if close.is_some_and(|v| v < Version::HTTP_2) {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        Answer::new(decision, response)
    }
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
}

/// The recorder's part of an [`Answer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct AnswerEvents {
    pub upstream_seconds: Option<f64>,
    pub upstream_status: Option<(usize, u16)>,
    pub upstream_error: Option<&'static str>,
    pub limit: Option<&'static str>,
}

impl Outcome {
    /// A webhook delivery, answered by `respond`.
    pub fn webhook(delivery: Delivery, config: &Config) -> Outcome {
        let decision = Decision::Webhook {
            result: delivery.result,
            refused: delivery.refused,
        };
        let rendering = Rendering::api(&http::Method::POST);
        let answer = Answer::render(decision, &rendering, config, None);
        let mut outcome = Outcome::empty(Arc::from("clerk-webhooks"), answer.decision.clone());
        outcome.webhook = Some(delivery);
        outcome.answered(answer, Vec::new());
        outcome
    }

    /// A request refused at admission.
    pub fn refused(refused: Refused) -> Outcome {
        let mut outcome = Outcome::empty(refused.route, refused.answer.decision.clone());
        outcome.answered(refused.answer, Vec::new());
        outcome
    }

    /// A decided request, before its answer.
    pub fn decided(
        route: &Route,
        verdict: &Verdict,
        auth: &Auth,
        events: AuthEvents,
        started: Instant,
    ) -> Outcome {
        let mut outcome = Outcome::empty(route.name.clone(), verdict.decision.clone());
        outcome.shadow = verdict.shadow.clone();
        outcome.user = match auth {
            Auth::Valid(identity) => Some(identity.clone()),
            _ => None,
        };
        outcome.auth = events;
        outcome.auth_seconds = Some(started.elapsed().as_secs_f64());
        outcome
    }

    /// The session endpoint's answer (`proxy::session`), recorded under the route `session`.
    pub fn session(
        answer: Answer,
        auth: &Auth,
        events: AuthEvents,
        started: Instant,
        set_cookies: Vec<HeaderValue>,
    ) -> Outcome {
        let mut outcome = Outcome::empty(Arc::from("session"), answer.decision.clone());
        if let Auth::Valid(identity) = auth {
            outcome.user = Some(Arc::clone(identity));
        }
        outcome.auth = events;
        outcome.auth_seconds = Some(started.elapsed().as_secs_f64());
        outcome.answered(answer, set_cookies);
        outcome
    }

    fn empty(route: Arc<str>, decision: Decision) -> Outcome {
        Outcome {
            route,
            decision,
            shadow: None,
            user: None,
            auth_seconds: None,
            auth: AuthEvents::default(),
            webhook: None,
            answer_events: AnswerEvents::default(),
            response: Response::new(respond::full(bytes::Bytes::new())),
        }
    }

    /// Completes the outcome with the answer, adding the `Set-Cookie` directives of a
    /// handshake exchange to whatever answer was chosen.
    pub fn answered(&mut self, answer: Answer, set_cookies: Vec<HeaderValue>) {
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
        self.decision = decision;
        self.response = response;
        self.answer_events = AnswerEvents {
            upstream_seconds,
            upstream_status,
            upstream_error,
            limit,
        };
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
