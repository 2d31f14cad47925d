//! The admission phase: is this a request doorman can decide at all, and which route?
//!
//! **When it runs:** first, for every request but webhook deliveries, before any token is
//! looked at. **What it does:** checks the message (Host, method spelling, transfer codings)
//! and reads the facts (normalized path, navigation, preflight), picks the route, and refuses
//! a `_method` query override on a route that refuses them. **What it returns:** the
//! [`Admitted`] facts and route, or a [`Refused`] 400/501 answer (HTTP/1 connections are
//! closed after it). **What it must never do:** authenticate, await, or forward.

use http::request::Parts;

use crate::config::{Config, MethodOverride, Mode, Route};
use crate::decision::Decision;
use crate::handshake::HandshakeRendering;
use crate::method_override;
use crate::request::{check_message, Facts};
use crate::respond::Rendering;

use super::outcome::{invalid_route, Answer, Refused};

/// A request that may be decided: its facts (borrowed from the head) and its route
/// (borrowed from the config).
pub struct Admitted<'p, 'c> {
    pub facts: Facts<'p>,
    pub route: &'c Route,
}

/// Admits `parts` under `config`.
pub fn admit<'p, 'c>(
    parts: &'p Parts,
    config: &'c Config,
) -> Result<Admitted<'p, 'c>, Box<Refused>> {
    let facts = match check_message(parts.version, &parts.uri, &parts.headers)
        .and_then(|()| Facts::read(&parts.method, &parts.uri, &parts.headers))
    {
        Ok(facts) => facts,
        Err(reason) => {
            let answer = Answer::render(
                Decision::BadRequest { reason },
                &Rendering::api(&parts.method),
                config,
                // A connection that sent something ambiguous is not trusted with another request.
                Some(parts.version),
            );
            return Err(Box::new(Refused {
                route: invalid_route(),
                answer,
            }));
        }
    };
    let route = config.route_for(facts.method, &facts.path);
    // `?_method=DELETE` on a refusing route: 400 before any authentication work.
    if route.method_override == MethodOverride::Refuse
        && route.mode == Mode::Enforce
        && method_override::in_query(facts.query, &config.server.method_override_params)
    {
        let answer = Answer::render(
            method_override::refused(),
            &Rendering::api(facts.method),
            config,
            None,
        );
        return Err(Box::new(Refused {
            route: route.name.clone(),
            answer,
        }));
    }
    Ok(Admitted { facts, route })
}

impl Admitted<'_, '_> {
    /// The answer to a request decided otherwise than `Forward`: a page (redirect, HTML) or
    /// API answer as the route and the request ask for.
    pub fn refuse(
        &self,
        decision: Decision,
        handshake: Option<HandshakeRendering>,
        config: &Config,
    ) -> Answer {
        let return_to = self.facts.path_and_query();
        let rendering = Rendering {
            method: self.facts.method,
            page: self.facts.is_page(self.route.policy.respond),
            return_to: Some(&return_to),
            handshake,
        };
        Answer::render(decision, &rendering, config, None)
    }
}
