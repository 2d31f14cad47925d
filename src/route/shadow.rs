//! Shadowing analysis for config warnings: which routes can never be chosen because more
//! specific routes always win. It reports only what it proves, and must never affect lookup.
//!
//! Under most-specific-wins, no single route can shadow another of a different shape: a
//! route that matches every request the other matches is at least as general at every
//! position, so it never ranks higher. Routes without `/**` are therefore never shadowed
//! (a request with fresh values at their wildcards reaches only routes of their own shape,
//! where tie rules leave them the winner for their methods). A route `P/**` is shadowed
//! exactly when, for every method it lists (or, without `methods`, for a method no route
//! lists), both an exact route at `P` (for the empty rest) and the wildcard subtree below
//! `P` (for every non-empty rest) always match; a same-shape route never decides it, since
//! it can only outrank `P/**` for `HEAD` via `GET`, and whatever beats it for `GET` also
//! beats it for `HEAD`. These are the cases reported, as `(shadowed, by)` pairs naming
//! every route the proof uses. The property tests check this against an exhaustive search.

use std::collections::BTreeSet;

use super::methods::MethodSet;
use super::table::{Node, Probe, RouteTable};

impl RouteTable {
    /// Pairs `(shadowed, by)` of entry indexes where route `shadowed` can never be chosen;
    /// a route shadowed by a union of routes appears once with each of them.
    pub fn shadowed(&self) -> Vec<(usize, usize)> {
        let mut pairs = Vec::new();
        collect(&self.root, &mut pairs);
        pairs.sort_unstable();
        pairs
    }
}

fn collect(node: &Node, pairs: &mut Vec<(usize, usize)>) {
    for (index, methods) in &node.tail.routes {
        if let Some(witnesses) = tail_route_witnesses(node, methods.as_ref()) {
            pairs.extend(witnesses.into_iter().map(|by| (*index, by)));
        }
    }
    for (_, child) in node.literals.iter() {
        collect(child, pairs);
    }
    if let Some(child) = node.wildcard.as_deref() {
        collect(child, pairs);
    }
}

/// The routes that together always beat a `/**` route at `node` with `methods`, if any do.
fn tail_route_witnesses(node: &Node, methods: Option<&MethodSet>) -> Option<BTreeSet<usize>> {
    let mut witnesses = BTreeSet::new();
    for probe in probes(methods) {
        let exact = node.exact.accepting(probe)?;
        let below = node.wildcard.as_deref()?;
        if !always_matches(below, probe, &mut witnesses) {
            return None;
        }
        witnesses.insert(exact);
    }
    Some(witnesses)
}

/// Whether some route in the subtree of `node` matches every continuation (including the
/// empty one) of a request that reached `node`, whatever its segments.
fn always_matches(node: &Node, probe: Probe<'_>, witnesses: &mut BTreeSet<usize>) -> bool {
    if let Some(tail) = node.tail.accepting(probe) {
        witnesses.insert(tail);
        return true;
    }
    let Some(exact) = node.exact.accepting(probe) else {
        return false;
    };
    let Some(below) = node.wildcard.as_deref() else {
        return false;
    };
    let covered = always_matches(below, probe, witnesses);
    if covered {
        witnesses.insert(exact);
    }
    covered
}

/// The methods to check for a route: each listed one (`HEAD` via `GET` needs no check of
/// its own: every route that allows `GET` allows `HEAD`, and nothing ranks lower); for a
/// route without `methods`, a method that no route lists stands for all of them.
fn probes(methods: Option<&MethodSet>) -> Vec<Probe<'_>> {
    match methods {
        Some(set) => set.iter().map(Probe::Method).collect(),
        None => vec![Probe::Unlisted],
    }
}
