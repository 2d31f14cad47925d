//! The soak test in a process of its own: cargo runs test binaries one after another, so the
//! memory it measures is doorman's and the harness's, not that of other tests running in
//! parallel.

// It includes the whole kit of tests/it/support and uses a part of it.
#![allow(dead_code, unused_imports)]

#[path = "it/support/mod.rs"]
mod support;
#[path = "it/hostile/tools.rs"]
mod tools;

use tools::{raw, RawAnswer};

#[path = "it/hostile/soak.rs"]
mod soak;
