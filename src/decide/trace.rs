//! What `decide` records about itself: one [`Check`] per step, with the values compared.
//!
//! [`Trace`] is a compile-time switch: the request path passes [`NoTrace`] (nothing is
//! formatted, nothing allocated), `explain` and debug logging pass a `Vec<Check>`.

/// How one step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    Skip,
    Info,
}

impl Outcome {
    pub fn of(ok: bool) -> Outcome {
        if ok {
            Outcome::Pass
        } else {
            Outcome::Fail
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
            Outcome::Info => "info",
        }
    }
}

/// One line of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The step or config key, e.g. `onboarding`, `permissions_all`.
    pub step: &'static str,
    /// `pass`, `fail`, `skip` or `info`.
    pub outcome: &'static str,
    pub detail: String,
}

/// Where `decide` reports its steps.
pub trait Trace {
    /// Whether steps are kept: when false, `decide` stops at the first failing step.
    const RECORDS: bool;
    /// One step; `detail` is only called when the step is kept.
    fn step(&mut self, step: &'static str, outcome: Outcome, detail: impl FnOnce() -> String);
}

/// The request path's trace: keeps nothing.
pub struct NoTrace;

impl Trace for NoTrace {
    const RECORDS: bool = false;
    #[inline(always)]
    fn step(&mut self, _: &'static str, _: Outcome, _: impl FnOnce() -> String) {}
}

impl Trace for Vec<Check> {
    const RECORDS: bool = true;
    fn step(&mut self, step: &'static str, outcome: Outcome, detail: impl FnOnce() -> String) {
        self.push(Check {
            step,
            outcome: outcome.as_str(),
            detail: detail(),
        });
    }
}

/// A check made outside `decide` (the path, the route, the token), for the same trace.
pub fn check(step: &'static str, outcome: Outcome, detail: impl Into<String>) -> Check {
    Check {
        step,
        outcome: outcome.as_str(),
        detail: detail.into(),
    }
}
