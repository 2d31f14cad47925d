//! doorman: an edge authorization proxy for applications that sign users in with Clerk.
//!
//! Every request passes the same phases, in this order (`proxy` sequences them; see
//! `docs/architecture.md` for the diagram). Only the edges do I/O; the middle is pure
//! functions over owned data.
//!
//! ```text
//! accept (TCP, HTTP/1.1 + HTTP/2)              server
//!   → one config snapshot                      proxy::handle
//!   → admit: facts, route, _method query       proxy::admit, request, route
//!   → authenticate: cookies, handshake nonce,  authn (cache, token::*, jwks, revocation)
//!     cache or verify, identity
//!   → decide(facts, policy, auth, settings)    proxy::verdict, decide (pure: a Decision)
//!   → forward or respond                       proxy::send, forward, upstream / respond
//!   → record: counters + one log line          proxy::record
//! ```
//!
//! A forward-auth call (another proxy asking, `[forward_auth] listen`) runs the same admit →
//! authenticate → decide on the original request read from the caller's headers, then
//! answers instead of forwarding ([`forward_auth`]).
//!
//! The config is parsed into raw structs, then compiled ([`config`]) into validated routes
//! and upstreams; the server only sees the compiled form. See `README.md` for the user's
//! view and `docs/` for the interface.

#![forbid(unsafe_code)]

pub(crate) mod access_log;
pub(crate) mod admin;
pub mod app;
pub mod assertion;
pub mod authn;
pub(crate) mod body;
pub mod cache;
pub mod claim_headers;
pub mod clock;
pub mod commands;
pub mod condition;
pub mod config;
pub(crate) mod deadline;
pub mod decide;
pub mod decision;
pub mod dev;
pub(crate) mod explain;
pub mod forward;
pub mod forward_auth;
pub(crate) mod handshake;
pub(crate) mod identity;
pub mod jwks;
pub mod keys;
pub(crate) mod method_override;
pub mod metrics;
pub mod path;
pub(crate) mod policy;
pub(crate) mod proxy;
pub mod reason;
pub(crate) mod redirect;
pub mod reload;
pub mod request;
pub(crate) mod respond;
pub mod revocation;
pub(crate) mod route;
pub(crate) mod server;
/// doorman's own HTTP/1 head reader, public for the differential test and fuzz target that
/// check it against hyper (`tests/it/h1_differential.rs`, `fuzz/`).
#[doc(hidden)]
pub use server::h1::head as h1_head;
pub(crate) mod snapshot;
pub mod telemetry;
pub(crate) mod tls;
pub mod token;
pub(crate) mod tunnel;
pub(crate) mod upstream;
pub mod users;
pub mod webhook;
