//! Specification of patterns, method sets, precedence, ties and shadowing, as tables.
//! Routes are written `"/path"` (no `methods`) or `"GET,POST /path"`.

use http::Method;

use super::{MethodError, MethodSet, Pattern, PatternErrorKind, RouteTable, Tie};
use crate::path::{normalize, NormalizedPath, PathError};

/// (behaviour, routes, method, request path, expected winner)
type PrecedenceCase = (
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
    Option<usize>,
);
/// (behaviour, routes, expected `(shadowed, by)` pairs)
type ShadowCase = (
    &'static str,
    &'static [&'static str],
    &'static [(usize, usize)],
);

fn path(raw: &str) -> NormalizedPath {
    normalize(raw).unwrap()
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap()
}

fn entry(spec: &str) -> (Pattern, Option<MethodSet>) {
    match spec.split_once(' ') {
        Some((methods, pattern)) => (
            Pattern::parse(pattern).unwrap(),
            Some(MethodSet::new(methods.split(',')).unwrap()),
        ),
        None => (Pattern::parse(spec).unwrap(), None),
    }
}

fn entries(specs: &[&str]) -> Vec<(Pattern, Option<MethodSet>)> {
    specs.iter().map(|spec| entry(spec)).collect()
}

fn table(specs: &[&str]) -> RouteTable {
    RouteTable::build(&entries(specs)).unwrap()
}

#[test]
fn invalid_patterns_are_refused_with_a_fix() {
    use PatternErrorKind as K;
    let kind = |source: &str| Pattern::parse(source).unwrap_err().kind;
    let refused = |segment: &str, reason| K::RefusedSegment {
        segment: segment.to_string(),
        reason,
    };
    let not_absolute = |suggestion: &str| K::NotAbsolute {
        suggestion: suggestion.into(),
    };
    let trailing = |suggestion: &str| K::TrailingSlash {
        suggestion: suggestion.into(),
    };
    let double_star = |segment: &str| K::DoubleStarInSegment {
        segment: segment.into(),
    };
    let star = |segment: &str| K::StarInSegment {
        segment: segment.into(),
    };
    let param = |segment: &str| K::MalformedParam {
        segment: segment.into(),
    };
    #[rustfmt::skip]
    let cases: Vec<(&str, PatternErrorKind, &str)> = vec![
        ("admin", not_absolute("/admin"), r#"write "/admin""#),
        ("", not_absolute("/"), "must start with `/`"),
        ("/admin/", trailing("/admin"), r#"remove it: "/admin""#),
        ("/a/**/", trailing("/a/**"), "remove it"),
        ("//", trailing("/"), "remove it"),
        ("/a//b", K::EmptySegment, "single `/`"),
        ("/a//", K::EmptySegment, "empty segment"),
        ("//a", K::EmptySegment, "empty segment"),
        ("/**/a", K::DoubleStarNotLast, "may only end a pattern"),
        ("/a/**/**", K::DoubleStarNotLast, "use `*` or `{name}`"),
        ("/a**", double_star("a**"), "whole segment"),
        ("/a/***", double_star("***"), "`/prefix/**`"),
        ("/a*b", star("a*b"), "partial wildcards"),
        ("/*a", star("*a"), "whole segment"),
        ("/{id", param("{id"), "`{name}`"),
        ("/id}", param("id}"), "`{name}`"),
        ("/{}", param("{}"), "not starting with a digit"),
        ("/{1d}", param("{1d}"), "letters, digits"),
        ("/{a-b}", param("{a-b}"), "`{name}`"),
        ("/x{id}", param("x{id}"), "whole segment"),
        ("/../admin", refused("..", PathError::DotSegment), "remove the `.` or `..`"),
        ("/a/.", refused(".", PathError::DotSegment), "`..` segment"),
        ("/a/%2e%2e", refused("%2e%2e", PathError::DotSegment), "requests can never carry"),
        ("/admin.", refused("admin.", PathError::TrailingDot), "trailing character"),
        ("/a;b", refused("a;b", PathError::Semicolon), "`;`"),
        ("/a%2Fb", refused("a%2Fb", PathError::EncodedSlash), "encoded `/`"),
        ("/a\\b", refused("a\\b", PathError::Backslash), "`\\`"),
        ("/a b", refused("a b", PathError::InvalidChar), "`%20`"),
        ("/caf\u{e9}", refused("caf\u{e9}", PathError::InvalidChar), "`%C3%A9`"),
        ("/%zz", refused("%zz", PathError::BadPercentEncoding), "two hex digits"),
        ("/a%25", refused("a%25", PathError::DoubleEncoding), "double"),
        ("/a%00", refused("a%00", PathError::Nul), "NUL"),
    ];
    for (source, expected, message) in cases {
        assert_eq!(kind(source), expected, "pattern {source:?}");
        let text = Pattern::parse(source).unwrap_err().to_string();
        assert!(
            text.contains(message),
            "{source:?}: {text:?} lacks {message:?}"
        );
        assert!(
            text.starts_with(&format!("path pattern {source:?} ")),
            "{text}"
        );
    }
}

#[test]
fn patterns_deeper_than_the_limit_are_refused() {
    let at_limit = "/a".repeat(super::MAX_PATTERN_SEGMENTS);
    assert!(Pattern::parse(&at_limit).is_ok());
    assert!(Pattern::parse(&format!("{at_limit}/**")).is_ok());
    let over = format!("{at_limit}/a");
    let kind = Pattern::parse(&over).unwrap_err().kind;
    assert_eq!(kind, PatternErrorKind::TooManySegments { count: 65 });
    assert!(Pattern::parse(&"/a".repeat(10_000)).is_err());
}

#[test]
fn valid_patterns_display_as_written() {
    for source in [
        "/",
        "/**",
        "/admin/**",
        "/p/{id}/edit",
        "/p/*",
        "/caf%C3%A9",
        "/a:b@c",
        "/{_x9}",
    ] {
        let pattern: Pattern = source.parse().unwrap();
        assert_eq!(pattern.to_string(), source);
        assert_eq!(pattern.as_str(), source);
    }
}

#[test]
fn patterns_match_segment_aware_and_case_insensitively() {
    let cases: &[(&str, &str, bool)] = &[
        ("/admin/**", "/admin", true),
        ("/admin/**", "/admin/", true),
        ("/admin/**", "/admin/x/y", true),
        ("/admin/**", "/ADMIN/x", true),
        ("/admin/**", "/administrator", false),
        ("/admin/**", "/admin.html", false),
        ("/admin/**", "/", false),
        ("/**", "/", true),
        ("/**", "/x", true),
        ("/**", "/x/y/z/", true),
        ("/p/{id}", "/p/1", true),
        ("/p/{id}", "/p/1/", true),
        ("/p/{id}", "/p", false),
        ("/p/{id}", "/p/1/2", false),
        ("/p/*/edit", "/p/x/edit", true),
        ("/Admin", "/admin", true),
        ("/admin", "/aDmIn/", true),
        ("/admin", "/admin/x", false),
        ("/", "/", true),
        ("/", "/x", false),
        ("/caf%C3%A9", "/caf%c3%a9", true),
        ("/caf%C3%A9", "/CAF%C3%A9", true),
        ("/caf%C3%A9", "/caf%C3%89", false), // non-ASCII letters are compared exactly
        ("/a%20b", "/a%20b", true),
        ("/%61dmin", "/admin", true),
        ("/admin", "/%61dmin", true),
    ];
    for (pattern_text, raw, expected) in cases {
        let pattern = Pattern::parse(pattern_text).unwrap();
        let request = path(raw);
        assert_eq!(
            pattern.matches(&request),
            *expected,
            "{pattern_text} vs {raw}"
        );
        let found = table(&[pattern_text]).lookup(&Method::GET, &request);
        assert_eq!(found.is_some(), *expected, "table {pattern_text} vs {raw}");
    }
}

#[test]
fn method_sets_are_uppercase_tokens_and_head_follows_get() {
    let set = MethodSet::new(["get", "Post", "GET", "PURGE"]).unwrap();
    assert_eq!(set.to_string(), "GET, POST, PURGE");
    assert!(set.contains(&Method::GET) && set.contains(&method("PURGE")));
    // Request methods are case-sensitive: the config's `"get"` lists `GET`, not `get`.
    assert!(!set.contains(&method("purge")) && !set.allows(&method("get")));
    assert!(!set.allows(&method("head")), "only HEAD follows GET");
    assert!(!set.contains(&Method::HEAD), "HEAD is not listed");
    assert!(set.allows(&Method::HEAD), "HEAD follows GET");
    assert!(!set.allows(&Method::PUT));
    let post_only = MethodSet::new(["POST"]).unwrap();
    assert!(!post_only.allows(&Method::HEAD));
    assert!(set.intersects(&post_only));
    let head_only = MethodSet::new(["HEAD"]).unwrap();
    assert!(
        !set.intersects(&head_only),
        "HEAD via GET does not count as shared"
    );

    assert_eq!(MethodSet::new(Vec::<&str>::new()), Err(MethodError::Empty));
    for bad in ["", "GE T", "GET\n", "G(ET", "caf\u{e9}"] {
        let error = MethodSet::new([bad]).unwrap_err();
        assert_eq!(
            error,
            MethodError::Invalid {
                name: bad.to_string()
            }
        );
        assert!(error.to_string().contains("not an HTTP method"));
    }
    assert!(MethodError::Empty.to_string().contains("remove `methods`"));
}

#[test]
fn the_most_specific_route_wins() {
    #[rustfmt::skip]
    let cases: &[PrecedenceCase] = &[
        ("literal prefix beats a wildcard at the first position",
            &["/admin/**", "/*/users"], "GET", "/admin/users", Some(0)),
        ("... whatever the definition order",
            &["/*/users", "/admin/**"], "GET", "/admin/users", Some(1)),
        ("position decides, not the count of literals",
            &["/a/**", "/*/b/c"], "GET", "/a/b/c", Some(0)),
        ("longer literal prefix beats shorter", &["/a/**", "/a/b/**"], "GET", "/a/b/c", Some(1)),
        ("longer prefix with empty rest", &["/a/**", "/a/b/**"], "GET", "/a/b", Some(1)),
        ("shorter prefix still serves the rest", &["/a/**", "/a/b/**"], "GET", "/a/x", Some(0)),
        ("exact end beats ** with empty rest", &["/a/b/**", "/a/b"], "GET", "/a/b", Some(1)),
        ("... also with a trailing slash", &["/a/b/**", "/a/b"], "GET", "/a/b/", Some(1)),
        ("** serves below the exact route", &["/a/b/**", "/a/b"], "GET", "/a/b/c", Some(0)),
        ("literal beats {id}", &["/p/{id}", "/p/new"], "GET", "/p/new", Some(1)),
        ("{id} serves other values", &["/p/{id}", "/p/new"], "GET", "/p/42", Some(0)),
        ("wildcard beats **", &["/p/**", "/p/*"], "GET", "/p/x", Some(1)),
        ("** serves deeper paths", &["/p/**", "/p/*"], "GET", "/p/x/y", Some(0)),
        ("** serves its own prefix", &["/p/**", "/p/*"], "GET", "/p", Some(0)),
        ("wildcard with empty rest beats earlier **",
            &["/a/**", "/a/*/**"], "GET", "/a/x", Some(1)),
        ("/** catches everything", &["/**"], "GET", "/x/y/z", Some(0)),
        ("/** catches the root", &["/**"], "GET", "/", Some(0)),
        ("root pattern beats /** at the root", &["/**", "/"], "GET", "/", Some(1)),
        ("root pattern matches only the root", &["/**", "/"], "GET", "/x", Some(0)),
        ("methods beat no methods", &["/api/p", "POST /api/p"], "POST", "/api/p", Some(1)),
        ("no methods serves other methods", &["/api/p", "POST /api/p"], "GET", "/api/p", Some(0)),
        ("shape beats methods", &["/a/b", "POST /a/*"], "POST", "/a/b", Some(0)),
        ("HEAD follows GET", &["GET /a"], "HEAD", "/a", Some(0)),
        ("HEAD via GET beats no methods", &["/a", "GET /a"], "HEAD", "/a", Some(1)),
        ("listed HEAD beats HEAD via GET", &["GET /a", "HEAD /a"], "HEAD", "/a", Some(1)),
        ("GET is not served by a HEAD route", &["GET /a", "HEAD /a"], "GET", "/a", Some(0)),
        ("method mismatch falls back to a less specific route",
            &["POST /a/b", "/a/**"], "GET", "/a/b", Some(1)),
        ("... to a wildcard route", &["POST /a/b", "GET /a/*"], "GET", "/a/b", Some(1)),
        ("... or to none", &["POST /a/b", "GET /a/*"], "PUT", "/a/b", None),
        ("method mismatch and nothing else", &["POST /a/b"], "GET", "/a/b", None),
        ("backtracks from a literal branch to a wildcard",
            &["/a/b/c", "/a/*/d"], "GET", "/a/b/d", Some(1)),
        ("backtracks to a shallower **", &["/a/b/c", "/a/**"], "GET", "/a/b/x", Some(1)),
        ("backtracks when the deeper route refuses the method",
            &["/**", "/a/*/**", "POST /a/b/c"], "GET", "/a/b/c", Some(1)),
        ("literal case variants match", &["/*", "/Admin"], "GET", "/ADMIN", Some(1)),
        ("literal case variants under **", &["/**", "/admin/**"], "GET", "/AdMiN/x", Some(1)),
        ("percent-encoded letters match literals", &["/*", "/admin"], "GET", "/%61dmin", Some(1)),
        ("a request method get is not GET", &["/**", "GET /a"], "get", "/a", Some(0)),
        ("... and finds no route without a catch-all", &["GET /a"], "gEt", "/a", None),
        ("custom methods", &["/**", "PURGE /cache/**"], "PURGE", "/cache/x", Some(1)),
        ("segment-aware prefix", &["/admin/**"], "GET", "/administrator", None),
        ("no route", &["/a"], "GET", "/b", None),
        ("empty table", &[], "GET", "/", None),
    ];
    for (name, routes, method_name, raw, expected) in cases {
        let found = table(routes).lookup(&method(method_name), &path(raw));
        assert_eq!(found, *expected, "{name}: {routes:?} {method_name} {raw}");
    }
}

#[test]
fn routes_that_stay_tied_are_refused() {
    let tie = |first, second| Tie { first, second };
    #[rustfmt::skip]
    let cases: &[(&str, &[&str], &[Tie])] = &[
        ("same literal, different case", &["/admin", "/ADMIN"], &[tie(0, 1)]),
        ("same literal, different encoding", &["/%61", "/a"], &[tie(0, 1)]),
        ("{id} and *", &["/p/{id}", "/p/*"], &[tie(0, 1)]),
        ("wildcard names do not matter", &["/p/{id}/x", "/p/{other}/x"], &[tie(0, 1)]),
        ("same **", &["/a/**", "/A/**"], &[tie(0, 1)]),
        ("overlapping methods", &["GET,POST /a", "PUT,POST /a"], &[tie(0, 1)]),
        ("method case does not matter", &["get /a", "GET /a"], &[tie(0, 1)]),
        ("every tied pair is reported", &["/a", "/a", "/a"], &[tie(0, 1), tie(0, 2), tie(1, 2)]),
        ("disjoint methods do not tie", &["GET /a", "POST /a"], &[]),
        ("HEAD and GET do not tie", &["GET /a", "HEAD /a"], &[]),
        ("methods and no methods do not tie", &["/a", "GET /a"], &[]),
        ("exact and ** do not tie", &["/a/**", "/a"], &[]),
        ("literal and wildcard do not tie", &["/p/new", "/p/{id}"], &[]),
        ("different depths do not tie", &["/a/*", "/a/*/*"], &[]),
    ];
    for (name, routes, expected) in cases {
        let result = RouteTable::build(&entries(routes));
        match (result, expected.is_empty()) {
            (Ok(_), true) => {}
            (Err(ties), false) => assert_eq!(ties, *expected, "{name}"),
            (Ok(_), false) => panic!("{name}: expected ties {expected:?}"),
            (Err(ties), true) => panic!("{name}: unexpected ties {ties:?}"),
        }
    }
    let message = tie(0, 1).to_string();
    assert!(message.contains("routes 0 and 1") && message.contains("same path shape"));
}

#[test]
fn shadowed_routes_are_reported_with_every_route_of_the_proof() {
    #[rustfmt::skip]
    let cases: &[ShadowCase] = &[
        ("** covered by its exact route and a wildcard **",
            &["/a/**", "/a", "/a/*/**"], &[(0, 1), (0, 2)]),
        ("/** covered at the root", &["/**", "/", "/*/**"], &[(0, 1), (0, 2)]),
        ("covered by a chain of wildcards",
            &["/a/**", "/a", "/a/*", "/a/*/*/**"], &[(0, 1), (0, 2), (0, 3)]),
        ("routes with methods are covered method by method",
            &["GET /a/**", "HEAD /a/**", "/a", "GET,HEAD /a/*/**"],
            &[(0, 2), (0, 3), (1, 2), (1, 3)]),
        ("methods the covering routes lack keep ** alive",
            &["GET,POST /a/**", "/a", "GET /a/*/**"], &[]),
        ("the prefix itself still reaches **", &["/a/**", "/a/*/**"], &[]),
        ("deeper paths still reach **", &["/a/**", "/a"], &[]),
        ("other methods still reach **", &["/a/**", "GET /a", "/a/*/**"], &[]),
        ("routes without ** are never shadowed", &["/a", "/a/**", "/**", "/*"], &[]),
        ("same shape with methods does not shadow", &["/a/**", "GET /a/**"], &[]),
    ];
    for (name, routes, expected) in cases {
        assert_eq!(table(routes).shadowed(), *expected, "{name}: {routes:?}");
    }
}

#[test]
fn a_thousand_routes_resolve_by_specificity() {
    let mut specs = Vec::new();
    for service in 0..400 {
        specs.push(format!("/svc{service}/**"));
        specs.push(format!("/svc{service}/items/{{id}}"));
        specs.push(format!("GET,POST /svc{service}/items"));
    }
    specs.push("/**".to_string());
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    let routes = table(&specs);
    assert_eq!(routes.len(), 1201);
    let cases: &[(&str, &str, Option<usize>)] = &[
        ("GET", "/svc399/items/7", Some(399 * 3 + 1)),
        ("HEAD", "/svc17/items", Some(17 * 3 + 2)),
        ("DELETE", "/svc17/items", Some(17 * 3)),
        ("GET", "/SVC0/ITEMS/x", Some(1)),
        ("GET", "/svc400/items", Some(1200)),
        ("GET", "/", Some(1200)),
    ];
    for (method_name, raw, expected) in cases {
        assert_eq!(
            routes.lookup(&method(method_name), &path(raw)),
            *expected,
            "{raw}"
        );
    }
}
