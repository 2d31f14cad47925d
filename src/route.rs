//! Route matching: path patterns, method sets and the compiled route table that picks the
//! most specific route for a request.
//!
//! This module owns the precedence rules of the contract and nothing else: it is pure, built
//! once at config load ([`RouteTable::build`]) and read per request ([`RouteTable::lookup`]).
//! It must never see a path that [`crate::path::normalize`] did not accept, never allocate
//! or log per lookup, and never panic on anything a config file or a client controls.
//!
//! # Precedence
//!
//! Two routes that both match a request are compared position by position over the
//! request's segments: a literal segment beats a one-segment wildcard (`*`, `{name}`), which
//! beats a trailing `/**`. When every position is equal, a pattern that ends exactly at the
//! request's end beats a `/**` matching the empty rest (`/a/b` beats `/a/b/**` for `/a/b`).
//! When the shapes are equal, a route whose `methods` list the request method beats one that
//! allows it only because `HEAD` follows `GET`, which beats a route without `methods`. Routes
//! with the same shape that would stay tied are refused by [`RouteTable::build`] as [`Tie`]s.
//!
//! # Case
//!
//! Literal segments are compared ASCII-case-insensitively: `/Admin/**` and `/ADMIN/x` match
//! `/admin/**`. Upstreams on case-insensitive file systems or frameworks serve `/ADMIN` as
//! `/admin`; matching case-sensitively would let a case variant slip past a stricter rule
//! onto a looser one. Method names are likewise compared ASCII-case-insensitively (`get` is
//! treated as `GET`). Non-ASCII letters are compared exactly.
//!
//! # Cost
//!
//! Patterns compile into a segment trie searched depth first in precedence order (literal
//! child, then wildcard child, then `/**`), backtracking on a miss. Each trie node is visited
//! at most once per lookup, so a lookup costs about O(path depth × log siblings) and never
//! more than O(trie size), independent of how many routes share a prefix.

mod methods;
mod pattern;
mod shadow;
mod table;

#[cfg(test)]
use methods::MethodError;
pub use methods::MethodSet;
pub use pattern::Pattern;
#[cfg(test)]
use pattern::{PatternErrorKind, MAX_PATTERN_SEGMENTS};
pub use table::RouteTable;
#[cfg(test)]
use table::Tie;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
