//! doorman: an edge authorization proxy for applications that sign users in with Clerk.
//!
//! Every request passes the same named stages, in this order. Only the edges do I/O; the
//! middle is pure functions over owned data.
//!
//! ```text
//! accept (TCP, HTTP/1.1 + HTTP/2)      server
//!   → take one config snapshot         proxy     (a reload never mixes two configs)
//!   → facts about the request          request   (method, normalized path, navigation?)
//!   → route lookup                     route     (pure; compiled once at config load)
//!   → token extraction                 token::extract (header, then cookie; pure)
//!   → verified-token cache             cache     (a hit skips the next three stages)
//!   → key lookup                       jwks      (the only await on the auth path)
//!   → verification                     token::verify  (pure: key and clock passed in)
//!   → claims → identity                token::claims  (v1/v2 Clerk claims, custom pointers)
//!   → decide(facts, route, auth)       decide    (pure: returns a Decision value)
//!   → metrics + one log line           proxy
//!   → forward or respond               forward / upstream / respond
//! ```
//!
//! The config is parsed into raw structs, then compiled ([`config`]) into validated routes
//! and upstreams; the server only sees the compiled form. See `README.md` for the user's
//! view and `CONTRACT.md` (shared docs) for the interface.

#![forbid(unsafe_code)]

pub mod access_log;
pub mod admin;
pub mod app;
pub mod authn;
pub mod body;
pub mod cache;
pub mod clock;
pub mod commands;
pub mod config;
pub mod decide;
pub mod decision;
pub mod demo;
pub mod echo;
pub mod explain;
pub mod forward;
pub mod handshake;
pub mod identity;
pub mod jwks;
pub mod keys;
pub mod method_override;
pub mod metrics;
pub mod mint;
pub mod path;
pub mod policy;
pub mod proxy;
pub mod reason;
pub mod redirect;
pub mod reload;
pub mod request;
pub mod respond;
pub mod revocation;
pub mod route;
pub mod server;
pub mod snapshot;
pub mod telemetry;
pub mod tls;
pub mod token;
pub mod tunnel;
pub mod upstream;
pub mod webhook;
