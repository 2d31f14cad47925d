//! Hostile input over real sockets, one file per attack class of docs/security.md. Every case
//! asserts what the client got and what the recording upstream received (or that it received
//! nothing). Raw bytes are used where an HTTP client would refuse to send the attack, and
//! hand-built HTTP/2 frames ([`h2raw`]) where the h2 client would. [`tools`] holds only the
//! raw-socket helpers; requests, claims, `NOW` and outcome checks come from `crate::support`.
//!
//! A case that shows doorman does **not** stop an attack keeps asserting the correct
//! behaviour and is `#[ignore = "doorman gap: …"]`d, so `cargo test -- --ignored` lists them.

mod class01_forgery;
mod class02_claims;
mod class03_type_confusion;
mod class04_framing_and_routing_headers;
mod class04_header_spoofing;
mod class05_path_confusion;
mod class06_method_override;
mod class06_methods;
mod class07_smuggling;
mod class07_transfer_codings;
mod class07_upgrades;
mod class08_open_redirects;
mod class09_exhaustion;
mod class09_h2_floods;
mod class09_slow_clients;
mod class10_key_source;
mod class11_webhooks;
mod class12_exposure;
mod h2c_hypercorn;
mod h2raw;
mod slow_upstream;
pub mod tools;

pub use tools::*;
