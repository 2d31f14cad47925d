//! Integration tests: doorman started in-process on loopback ports, talked to over real
//! sockets, with an echo upstream that reports what it received and a JWKS server the tests
//! control. One binary, so it links once.

mod support;

mod admin;
mod assertion;
mod assertion_config;
mod cache;
mod claim_headers;
mod clerk_oracle;
mod cli;
mod conditions;
mod config_paths;
mod decision_order;
mod defaults;
mod deploy;
mod docs;
mod edge;
mod explain;
mod forward_auth;
mod forwarding;
mod h1_differential;
mod h1_loop;
mod handshake;
mod hosted_sign_in;
mod hostile;
mod identity;
mod keys;
mod keys_timing;
mod logs;
mod operations;
mod reload_settles;
mod session_endpoint;
mod template;
#[cfg(feature = "otel")]
mod tracing_otlp;
mod upstream_pool;
mod users_cli;
mod users_sync;
mod users_throughput;
mod users_webhooks;
mod vectors;
mod webhooks;
