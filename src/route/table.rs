//! The compiled route table: a segment trie built once from the configured patterns, with
//! tie detection at build time and an allocation-free, precedence-ordered lookup per request.
//! It must never report a winner other than the most specific matching route, and never
//! panic or allocate on the lookup path.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use http::Method;

use super::methods::{method_rank, MethodRank, MethodSet};
use super::pattern::{Pattern, PatternSegment};
use crate::path::NormalizedPath;

/// Two entries (indexes into the slice given to [`RouteTable::build`]) that stay tied:
/// same shape, and either both without `methods` or with `methods` that list a method in
/// common.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tie {
    pub first: usize,
    pub second: usize,
}

/// The compiled matcher for a list of `(pattern, methods)` routes.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    pub(super) root: Node,
    len: usize,
}

/// A trie node: the routes that end at this depth and the ways to go one segment deeper.
#[derive(Debug, Clone, Default)]
pub(super) struct Node {
    /// Children by literal segment (lowercase), sorted by bytes for binary search.
    pub(super) literals: Box<[(Box<str>, Node)]>,
    /// The child for `*` / `{name}`.
    pub(super) wildcard: Option<Box<Node>>,
    /// Routes whose pattern ends here without `/**`.
    pub(super) exact: Slot,
    /// Routes whose pattern ends here with `/**`.
    pub(super) tail: Slot,
}

/// Routes of one shape: at most one without `methods`, the others with disjoint `methods`.
#[derive(Debug, Clone, Default)]
pub(super) struct Slot {
    pub(super) routes: Vec<(usize, Option<MethodSet>)>,
}

/// A node while the table is built (literal children in a map, sorted on freezing).
#[derive(Default)]
struct NodeBuilder {
    literals: BTreeMap<Box<str>, NodeBuilder>,
    wildcard: Option<Box<NodeBuilder>>,
    exact: Slot,
    tail: Slot,
}

impl fmt::Display for Tie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "routes {} and {} have the same path shape and overlapping methods, so neither is more specific",
            self.first, self.second
        )
    }
}

impl RouteTable {
    /// Compiles the routes; the index of an entry is what [`lookup`](Self::lookup) returns.
    /// Fails with every pair of entries that stay tied.
    pub fn build(entries: &[(Pattern, Option<MethodSet>)]) -> Result<RouteTable, Vec<Tie>> {
        let mut root = NodeBuilder::default();
        let mut ties = Vec::new();
        for (index, (pattern, methods)) in entries.iter().enumerate() {
            let node = root.descend(pattern.segments());
            let slot = if pattern.has_tail() {
                &mut node.tail
            } else {
                &mut node.exact
            };
            for (other, other_methods) in &slot.routes {
                if methods_tie(methods.as_ref(), other_methods.as_ref()) {
                    ties.push(Tie {
                        first: *other,
                        second: index,
                    });
                }
            }
            slot.routes.push((index, methods.clone()));
        }
        if ties.is_empty() {
            Ok(RouteTable {
                root: root.freeze(),
                len: entries.len(),
            })
        } else {
            Err(ties)
        }
    }

    /// The index of the most specific route matching `method` and `path`, if any.
    pub fn lookup(&self, method: &Method, path: &NormalizedPath) -> Option<usize> {
        self.root.search(method, path, 0)
    }

    /// The number of routes the table was built from.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table was built from no routes (every lookup misses).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Same-shape routes tie unless exactly one has `methods` or their `methods` are disjoint.
fn methods_tie(a: Option<&MethodSet>, b: Option<&MethodSet>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.intersects(b),
        _ => false,
    }
}

impl NodeBuilder {
    /// The node reached by `segments`, created as needed.
    fn descend(&mut self, segments: &[PatternSegment]) -> &mut NodeBuilder {
        let mut node = self;
        for segment in segments {
            node = match segment {
                PatternSegment::Literal(literal) => {
                    node.literals.entry(literal.clone()).or_default()
                }
                PatternSegment::Wildcard => node.wildcard.get_or_insert_with(Default::default),
            };
        }
        node
    }

    fn freeze(self) -> Node {
        Node {
            literals: self
                .literals
                .into_iter()
                .map(|(literal, child)| (literal, child.freeze()))
                .collect(),
            wildcard: self.wildcard.map(|child| Box::new(child.freeze())),
            exact: self.exact,
            tail: self.tail,
        }
    }
}

impl Node {
    /// Depth-first search in precedence order: at each position a literal child, then the
    /// wildcard child, then a `/**` here; at the request's end an exact route, then `/**`.
    /// The first route found is the maximum of the precedence order.
    fn search(&self, method: &Method, path: &NormalizedPath, depth: usize) -> Option<usize> {
        let Some(segment) = path.segment(depth) else {
            return self.exact.best(method).or_else(|| self.tail.best(method));
        };
        let next = depth.saturating_add(1);
        self.literal_child(segment)
            .and_then(|child| child.search(method, path, next))
            .or_else(|| {
                let child = self.wildcard.as_deref()?;
                child.search(method, path, next)
            })
            .or_else(|| self.tail.best(method))
    }

    /// The child for a request segment, compared ASCII-case-insensitively without allocating.
    pub(super) fn literal_child(&self, segment: &str) -> Option<&Node> {
        let position = self
            .literals
            .binary_search_by(|(literal, _)| compare_folded(literal, segment))
            .ok()?;
        self.literals.get(position).map(|(_, child)| child)
    }
}

/// Orders a lowercase literal against a request segment as if the segment were lowercased.
fn compare_folded(lowercase: &str, segment: &str) -> Ordering {
    lowercase
        .bytes()
        .cmp(segment.bytes().map(|byte| byte.to_ascii_lowercase()))
}

impl Slot {
    /// The route of this slot that allows `method` most strongly.
    fn best(&self, method: &Method) -> Option<usize> {
        self.routes
            .iter()
            .filter_map(|(index, methods)| Some((method_rank(methods.as_ref(), method)?, *index)))
            .max_by_key(|(rank, _)| *rank)
            .map(|(_, index)| index)
    }

    /// A route of this slot that allows `probe`.
    pub(super) fn accepting(&self, probe: Probe<'_>) -> Option<usize> {
        self.routes
            .iter()
            .find_map(|(index, methods)| probe.rank(methods.as_ref()).map(|_| *index))
    }
}

/// A request method as seen by the shadowing analysis: a concrete one, or one that no route
/// lists (which only routes without `methods` allow).
#[derive(Debug, Clone, Copy)]
pub(super) enum Probe<'a> {
    Method(&'a Method),
    Unlisted,
}

impl Probe<'_> {
    pub(super) fn rank(self, methods: Option<&MethodSet>) -> Option<MethodRank> {
        match self {
            Probe::Method(method) => method_rank(methods, method),
            Probe::Unlisted => methods.is_none().then_some(MethodRank::Any),
        }
    }
}
