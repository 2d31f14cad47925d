//! `doorman users`: write the claims doorman reads into Clerk users' public metadata, at the
//! places the config's `[claims]` pointers name, through Clerk's Backend API.
//!
//! [`layout`] turns the config's claim pointers into public metadata places (one source of
//! truth with the proxy), [`fields`] names and types the claims, [`patch`] is Clerk's merge,
//! [`client`] the paced and retried Backend API client, [`input`] reads `sync --from`,
//! [`sync`] runs the bulk migration with its [`report`] and [`progress`], [`ops`] the per-user
//! commands, [`validate`] checks every user. The secret key is never printed.

pub mod args;
pub mod client;
pub mod command;
pub mod fields;
pub mod input;
pub mod layout;
pub mod limiter;
pub mod ops;
pub mod patch;
pub mod progress;
pub mod report;
pub mod sync;
pub mod validate;
