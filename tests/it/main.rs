//! Integration tests: doorman started in-process on loopback ports, talked to over real
//! sockets, with an echo upstream that reports what it received and a JWKS server the tests
//! control. One binary, so it links once.

mod support;

mod admin;
mod cache;
mod claim_headers;
mod cli;
mod conditions;
mod decision_order;
mod defaults;
mod deploy;
mod docs;
mod edge;
mod forwarding;
mod handshake;
mod hostile;
mod identity;
mod keys;
mod keys_timing;
mod operations;
mod session_endpoint;
mod template;
mod users_cli;
mod users_sync;
mod users_throughput;
mod users_webhooks;
mod vectors;
mod webhooks;
