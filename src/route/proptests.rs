//! Property tests: the trie lookup, tie detection and shadowing analysis agree with a
//! brute-force reference written directly from the contract's precedence rules.

use std::collections::BTreeSet;

use http::Method;
use proptest::prelude::*;

use super::{MethodSet, Pattern, RouteTable, Tie};
use crate::path::normalize;

/// Literals in generated routes (`A` is a case variant of `a`); requests also use `z`,
/// which no route names.
const LITERALS: [&str; 4] = ["a", "A", "b", "c"];
const REQUEST_SEGMENTS: [&str; 5] = ["a", "A", "b", "c", "z"];
const ROUTE_METHODS: [&str; 4] = ["GET", "HEAD", "POST", "get"];
const REQUEST_METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "get", "head"];

#[derive(Debug, Clone)]
enum Seg {
    Lit(&'static str),
    Wild { braces: bool },
}

#[derive(Debug, Clone)]
struct RouteSpec {
    segments: Vec<Seg>,
    tail: bool,
    methods: Option<Vec<&'static str>>,
}

impl RouteSpec {
    fn pattern_text(&self) -> String {
        let mut text: String = self
            .segments
            .iter()
            .map(|segment| match segment {
                Seg::Lit(literal) => format!("/{literal}"),
                Seg::Wild { braces: true } => "/{id}".to_string(),
                Seg::Wild { braces: false } => "/*".to_string(),
            })
            .collect();
        if self.tail {
            text.push_str("/**");
        }
        if text.is_empty() {
            text.push('/');
        }
        text
    }

    fn entry(&self) -> (Pattern, Option<MethodSet>) {
        let pattern = Pattern::parse(&self.pattern_text()).unwrap();
        let methods = self.methods.as_ref().map(|m| MethodSet::new(m).unwrap());
        (pattern, methods)
    }

    /// Segment kinds and lowercase literals: what makes two routes the same shape.
    fn shape(&self) -> (Vec<Option<String>>, bool) {
        let kinds = self.segments.iter().map(|segment| match segment {
            Seg::Lit(literal) => Some(literal.to_lowercase()),
            Seg::Wild { .. } => None,
        });
        (kinds.collect(), self.tail)
    }

    fn listed(&self) -> Option<BTreeSet<String>> {
        let methods = self.methods.as_ref()?;
        Some(methods.iter().map(|m| m.to_uppercase()).collect())
    }

    fn matches(&self, request: &[&str]) -> bool {
        let length_fits = if self.tail {
            request.len() >= self.segments.len()
        } else {
            request.len() == self.segments.len()
        };
        length_fits
            && self
                .segments
                .iter()
                .zip(request)
                .all(|(segment, value)| match segment {
                    Seg::Lit(literal) => literal.eq_ignore_ascii_case(value),
                    Seg::Wild { .. } => true,
                })
    }

    /// The contract's order as an explicit key: per request position Lit 3 > Wild 2 > ** 1,
    /// then 2 for a pattern ending at the request's end, 1 for a `**` there.
    fn shape_key(&self, request_len: usize) -> Vec<u8> {
        let mut key: Vec<u8> = (0..request_len)
            .map(|position| match self.segments.get(position) {
                Some(Seg::Lit(_)) => 3,
                Some(Seg::Wild { .. }) => 2,
                None => 1,
            })
            .collect();
        key.push(if self.tail { 1 } else { 2 });
        key
    }

    /// Listed 2 > HEAD via GET 1 > no methods 0; `None` when the method is not allowed.
    fn method_rank(&self, method: &str) -> Option<u8> {
        let Some(listed) = self.listed() else {
            return Some(0);
        };
        // Request methods are case-sensitive: `get` is not listed by `GET` (RFC 9110 §9.1).
        if listed.contains(method) {
            Some(2)
        } else if method == "HEAD" && listed.contains("GET") {
            Some(1)
        } else {
            None
        }
    }
}

fn reference_ties(specs: &[RouteSpec]) -> Vec<Tie> {
    let mut ties = Vec::new();
    for (second, b) in specs.iter().enumerate() {
        for (first, a) in specs.iter().enumerate().take(second) {
            let methods_overlap = match (a.listed(), b.listed()) {
                (None, None) => true,
                (Some(x), Some(y)) => !x.is_disjoint(&y),
                _ => false,
            };
            if a.shape() == b.shape() && methods_overlap {
                ties.push(Tie { first, second });
            }
        }
    }
    ties.sort();
    ties
}

/// All matching routes, the maximum by (shape key, method rank); it must be unique.
fn reference_lookup(specs: &[RouteSpec], method: &str, request: &[&str]) -> Option<usize> {
    let ranked: Vec<((Vec<u8>, u8), usize)> = specs
        .iter()
        .enumerate()
        .filter(|(_, spec)| spec.matches(request))
        .filter_map(|(index, spec)| {
            let rank = spec.method_rank(method)?;
            Some(((spec.shape_key(request.len()), rank), index))
        })
        .collect();
    let best = ranked.iter().map(|(key, _)| key).max()?;
    let winners: Vec<usize> = ranked
        .iter()
        .filter(|(key, _)| key == best)
        .map(|(_, index)| *index)
        .collect();
    assert_eq!(winners.len(), 1, "reference found a tie: {winners:?}");
    winners.first().copied()
}

/// Drops every route that ties with one kept before it, so the table must build.
fn without_ties(specs: Vec<RouteSpec>) -> Vec<RouteSpec> {
    let mut kept: Vec<RouteSpec> = Vec::new();
    for spec in specs {
        let mut candidate = kept.clone();
        candidate.push(spec.clone());
        if reference_ties(&candidate).is_empty() {
            kept.push(spec);
        }
    }
    kept
}

fn request_path(segments: &[&str], trailing_slash: bool) -> String {
    let mut text = format!("/{}", segments.join("/"));
    if trailing_slash && !segments.is_empty() {
        text.push('/');
    }
    text
}

fn route_spec() -> impl Strategy<Value = RouteSpec> {
    let segment = prop_oneof![
        3 => prop::sample::select(&LITERALS[..]).prop_map(Seg::Lit),
        2 => any::<bool>().prop_map(|braces| Seg::Wild { braces }),
    ];
    let methods = prop::option::weighted(0.5, prop::sample::subsequence(&ROUTE_METHODS[..], 1..=2));
    (
        prop::collection::vec(segment, 0..=3),
        any::<bool>(),
        methods,
    )
        .prop_map(|(segments, tail, methods)| RouteSpec {
            segments,
            tail,
            methods,
        })
}

/// Shallow routes over one literal, mostly wildcards and `/**`: shadowing needs an exact
/// route and a chain of wildcards under the same prefix, rare with `route_spec`.
fn shadow_prone_route_spec() -> impl Strategy<Value = RouteSpec> {
    let segment = prop_oneof![
        1 => Just(Seg::Lit("a")),
        2 => any::<bool>().prop_map(|braces| Seg::Wild { braces }),
    ];
    let methods =
        prop::option::weighted(0.3, prop::sample::subsequence(&["GET", "HEAD"][..], 1..=2));
    (
        prop::collection::vec(segment, 0..=2),
        prop::bool::weighted(0.6),
        methods,
    )
        .prop_map(|(segments, tail, methods)| RouteSpec {
            segments,
            tail,
            methods,
        })
}

fn request() -> impl Strategy<Value = (&'static str, Vec<&'static str>, bool)> {
    (
        prop::sample::select(&REQUEST_METHODS[..]),
        prop::collection::vec(prop::sample::select(&REQUEST_SEGMENTS[..]), 0..=5),
        any::<bool>(),
    )
}

/// Every request shape that can make a difference: segments from the route alphabet plus a
/// value no route names, longer than any pattern; each listed method plus an unlisted one,
/// and `get`, which no route lists (config names are uppercased, request methods are not).
fn every_representative_request() -> Vec<(&'static str, Vec<&'static str>)> {
    let alphabet = ["a", "b", "c", "z"];
    let mut paths: Vec<Vec<&'static str>> = vec![Vec::new()];
    let mut frontier = paths.clone();
    for _ in 0..4 {
        frontier = frontier
            .iter()
            .flat_map(|prefix| {
                alphabet.iter().map(move |segment| {
                    let mut longer = prefix.clone();
                    longer.push(*segment);
                    longer
                })
            })
            .collect();
        paths.extend(frontier.iter().cloned());
    }
    let methods = ["GET", "HEAD", "POST", "PUT", "get"];
    methods
        .iter()
        .flat_map(|method| paths.iter().map(move |path| (*method, path.clone())))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn lookup_equals_the_brute_force_reference(
        specs in prop::collection::vec(route_spec(), 0..24),
        requests in prop::collection::vec(request(), 1..32),
    ) {
        let specs = without_ties(specs);
        let entries: Vec<_> = specs.iter().map(RouteSpec::entry).collect();
        let table = RouteTable::build(&entries);
        prop_assert!(table.is_ok(), "tie-free routes must build: {:?}", table.err());
        let Ok(table) = table else { return Ok(()) };
        for (method, segments, trailing_slash) in requests {
            let raw = request_path(&segments, trailing_slash);
            let path = normalize(&raw).unwrap();
            let found = table.lookup(&Method::from_bytes(method.as_bytes()).unwrap(), &path);
            let expected = reference_lookup(&specs, method, &segments);
            prop_assert_eq!(found, expected, "{} {} with {:?}", method, raw,
                specs.iter().map(RouteSpec::pattern_text).collect::<Vec<_>>());
        }
    }

    #[test]
    fn build_reports_exactly_the_reference_ties(
        specs in prop::collection::vec(route_spec(), 0..16),
    ) {
        let entries: Vec<_> = specs.iter().map(RouteSpec::entry).collect();
        let expected = reference_ties(&specs);
        match RouteTable::build(&entries) {
            Ok(_) => prop_assert!(expected.is_empty(), "missed ties {:?}", expected),
            Err(mut ties) => {
                ties.sort();
                prop_assert_eq!(ties, expected);
            }
        }
    }

    #[test]
    fn pattern_parse_never_panics_and_displays_back(source in "(/[a-z*{}.%2;]{0,4}){0,4}/?") {
        if let Ok(pattern) = Pattern::parse(&source) {
            prop_assert_eq!(pattern.to_string(), source.clone());
            prop_assert_eq!(Pattern::parse(&source).ok(), Some(pattern));
        }
    }

    #[test]
    fn pattern_parse_never_panics_on_any_string(source in any::<String>()) {
        let _ = Pattern::parse(&source);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn shadowed_routes_are_exactly_those_that_never_win(
        specs in prop_oneof![
            prop::collection::vec(route_spec(), 0..10),
            prop::collection::vec(shadow_prone_route_spec(), 0..12),
        ],
    ) {
        let specs = without_ties(specs);
        let entries: Vec<_> = specs.iter().map(RouteSpec::entry).collect();
        let Ok(table) = RouteTable::build(&entries) else {
            return Err(TestCaseError::fail("tie-free routes must build"));
        };
        let mut winners = BTreeSet::new();
        for (method, segments) in every_representative_request() {
            winners.extend(reference_lookup(&specs, method, &segments));
        }
        let never_win: BTreeSet<usize> =
            (0..specs.len()).filter(|index| !winners.contains(index)).collect();
        let pairs = table.shadowed();
        let reported: BTreeSet<usize> = pairs.iter().map(|(shadowed, _)| *shadowed).collect();
        prop_assert_eq!(&reported, &never_win, "{:?}",
            specs.iter().map(RouteSpec::pattern_text).collect::<Vec<_>>());
        for (shadowed, by) in pairs {
            prop_assert!(shadowed != by && by < specs.len());
        }
    }
}
