//! The `methods` of a route: a validated, uppercase set of HTTP method tokens and the rule
//! that `HEAD` follows `GET`. It decides whether a request method is allowed by a route and
//! how strongly; it must never treat an invalid token as a method or panic on config input.
//!
//! Config names are case-insensitive (`"post"` lists `POST`), but request methods are
//! compared exactly (RFC 9110 §9.1: methods are case-sensitive): a request method `get` is
//! an extension method and never gets the rule of `GET`. (`request` refuses such case
//! variants of standard methods before routing; this module does not rely on that.)

use std::fmt;

use http::Method;

/// Why a `methods` list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MethodError {
    #[error(
        "`methods` is empty, so the route could never match; list at least one method such as \"GET\", or remove `methods` to allow every method"
    )]
    Empty,
    #[error(
        "{name:?} is not an HTTP method; use a token such as \"GET\", \"POST\" or \"PURGE\" (letters, digits and !#$%&'*+-.^_`|~, no spaces)"
    )]
    Invalid { name: String },
}

/// A non-empty set of HTTP methods, stored uppercase, compared exactly with request methods.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MethodSet {
    /// Sorted by name, without duplicates.
    methods: Box<[Method]>,
}

/// How strongly a route allows a request method; higher wins between routes of one shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum MethodRank {
    /// The route has no `methods`: it allows every method.
    Any,
    /// The request is `HEAD` and the route lists `GET` but not `HEAD`.
    HeadViaGet,
    /// The route lists the request method.
    Listed,
}

impl MethodSet {
    /// Builds a set from method names (`"GET"`, `"post"`, custom tokens like `"PURGE"`).
    /// Names are uppercased; duplicates are merged; an empty list is an error.
    pub fn new<I, S>(names: I) -> Result<MethodSet, MethodError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut methods = Vec::new();
        for name in names {
            let name = name.as_ref();
            let upper = name.to_ascii_uppercase();
            let method =
                Method::from_bytes(upper.as_bytes()).map_err(|_| MethodError::Invalid {
                    name: name.to_string(),
                })?;
            methods.push(method);
        }
        if methods.is_empty() {
            return Err(MethodError::Empty);
        }
        methods.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        methods.dedup();
        Ok(MethodSet {
            methods: methods.into_boxed_slice(),
        })
    }

    /// Whether `method` is listed explicitly, spelled exactly as listed (uppercase).
    pub fn contains(&self, method: &Method) -> bool {
        self.methods.iter().any(|listed| listed == method)
    }

    /// Whether a request with `method` is allowed: listed, or `HEAD` when `GET` is listed.
    pub fn allows(&self, method: &Method) -> bool {
        self.rank(method).is_some()
    }

    /// Whether the two sets list a method in common (`HEAD` via `GET` does not count).
    pub fn intersects(&self, other: &MethodSet) -> bool {
        self.methods.iter().any(|method| other.contains(method))
    }

    /// The listed methods, uppercase, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Method> {
        self.methods.iter()
    }

    fn rank(&self, method: &Method) -> Option<MethodRank> {
        if self.contains(method) {
            Some(MethodRank::Listed)
        } else if *method == Method::HEAD && self.contains(&Method::GET) {
            Some(MethodRank::HeadViaGet)
        } else {
            None
        }
    }
}

impl fmt::Display for MethodSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, method) in self.methods.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            f.write_str(method.as_str())?;
        }
        Ok(())
    }
}

/// How strongly a route with `methods` (`None`: every method) allows `method`, if at all.
pub(super) fn method_rank(methods: Option<&MethodSet>, method: &Method) -> Option<MethodRank> {
    match methods {
        None => Some(MethodRank::Any),
        Some(set) => set.rank(method),
    }
}
