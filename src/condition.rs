//! Claim conditions: CEL expressions over the session token's claims, for what the fixed
//! requirement lists (user types, roles, permissions, flags) cannot say.
//!
//! A condition is compiled once at config load ([`Condition::compile`]): parsed by the `cel`
//! crate, then checked here for what that crate does not check (it has no type checker):
//! every variable it reads is `claims`, every function it calls is one CEL's standard
//! library defines, and it reads at least one claim. Evaluation ([`Condition::evaluate`])
//! runs on the claims kept with the cached session ([`ClaimData`]), converted to CEL values
//! once per token. Anything but a literal `true` fails the condition: a missing claim, a
//! claim of the wrong type, a result that is not a bool. What a failure says
//! ([`Failure::describe`]) names claims and types, never claim values, so it may go to logs
//! and `explain`; responses only ever carry the reason id. Pure: no I/O, no clock.

use std::fmt;
use std::sync::Arc;

use cel::common::ast::{EntryExpr, Expr, IdedExpr, MapExpr, StructExpr};
use cel::{Context, Env, ExecutionError, Program, Value};

mod value;

pub use value::ClaimData;

/// The one variable a condition can read: the verified token's payload.
pub const VARIABLE: &str = "claims";

/// CEL's standard functions a condition may call (`matches` is left out: doorman builds the
/// `cel` crate without regular expressions). Macros (`has`, `all`, `exists`, `exists_one`,
/// `map`, `filter`) are expanded by the parser and never appear as calls.
const FUNCTIONS: &[&str] = &[
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "int",
    "uint",
    "double",
    "string",
    "bool",
    "bytes",
    "dyn",
    "type",
];

/// A compiled route condition.
#[derive(Clone)]
pub struct Condition {
    /// The name logs, metrics and `explain` use for it.
    pub label: Arc<str>,
    /// The CEL source, as written.
    pub source: Arc<str>,
    program: Arc<Program>,
    env: Arc<Env>,
}

/// Why a condition did not hold. Carries names and types only, never claim values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It evaluated to `false`.
    False,
    /// No claims were kept with the session (the config was reloaded with conditions after
    /// the token was cached).
    NoClaims,
    /// It read a claim (or key) the token does not have.
    Missing(String),
    /// An operator or function met a claim of the wrong type.
    WrongType(String),
    /// It evaluated to something other than a bool.
    NotBool(&'static str),
    /// Any other evaluation error.
    Error,
}

impl Condition {
    /// Parses and checks `source`; `Err` is a message naming the problem and its fix.
    pub fn compile(label: &str, source: &str, env: &Arc<Env>) -> Result<Condition, String> {
        if source.trim().is_empty() {
            return Err("empty; write a CEL expression over `claims`, e.g. \
                 \"claims.metadata.freelancerVerified == true\""
                .into());
        }
        let program = env.compile(source).map_err(|e| {
            format!(
                "is not valid CEL: {}",
                e.to_string().replace("<input>", "cel")
            )
        })?;
        let references = program.references();
        let mut bound = Vec::new();
        bound_names(program.expression(), &mut bound);
        let mut unknown: Vec<&str> = references
            .variables()
            .into_iter()
            .filter(|v| *v != VARIABLE && !bound.contains(v))
            .collect();
        unknown.sort_unstable();
        if let Some(first) = unknown.first() {
            return Err(format!(
                "reads {first:?}, which is not defined; conditions read the token's payload \
                 as `claims`: write `claims.{first}`"
            ));
        }
        if !references.has_variable(VARIABLE) {
            return Err(
                "never reads a claim, so it is constant; compare a claim, e.g. \
                 `claims.metadata.complianceStatus == \"compliant\"`"
                    .into(),
            );
        }
        let mut calls: Vec<&str> = references
            .functions()
            .into_iter()
            .filter(|f| !is_operator(f) && !FUNCTIONS.contains(f))
            .collect();
        calls.sort_unstable();
        if let Some(first) = calls.first() {
            return Err(format!(
                "calls {first:?}, which is not a CEL standard function doorman supports; \
                 use one of {} or an operator (==, !=, <, <=, >, >=, in, &&, ||, !, has())",
                FUNCTIONS.join(", ")
            ));
        }
        Ok(Condition {
            label: Arc::from(label),
            source: Arc::from(source),
            program: Arc::new(program),
            env: Arc::clone(env),
        })
    }

    /// The environment every condition of a config is compiled and evaluated in.
    pub fn environment() -> Arc<Env> {
        Arc::new(Env::stdlib())
    }

    /// Whether the condition holds for these claims; only a literal `true` does.
    pub fn evaluate(&self, claims: Option<&ClaimData>) -> Result<(), Failure> {
        let Some(claims) = claims else {
            return Err(Failure::NoClaims);
        };
        let mut context = Context::with_env(Arc::clone(&self.env));
        context.set_variable_resolver(claims);
        match self.program.execute(&context) {
            Ok(Value::Bool(true)) => Ok(()),
            Ok(Value::Bool(false)) => Err(Failure::False),
            Ok(other) => Err(Failure::NotBool(type_name(&other))),
            Err(e) => Err(Failure::of(&e)),
        }
    }
}

impl Failure {
    fn of(error: &ExecutionError) -> Failure {
        match error {
            ExecutionError::NoSuchKey(key) => Failure::Missing(key.to_string()),
            ExecutionError::NoSuchOverload(o) => Failure::WrongType(format!(
                "{}({})",
                o.function(),
                o.argument_types().join(", ")
            )),
            ExecutionError::UnexpectedType { got, want } => {
                Failure::WrongType(format!("got {got}, want {want}"))
            }
            ExecutionError::ValuesNotComparable(a, b)
            | ExecutionError::UnsupportedBinaryOperator(_, a, b) => {
                Failure::WrongType(format!("{} and {}", type_name(a), type_name(b)))
            }
            ExecutionError::UnsupportedTargetType { target }
            | ExecutionError::NotSupportedAsMethod { target, .. } => {
                Failure::WrongType(type_name(target).to_string())
            }
            _ => Failure::Error,
        }
    }

    /// One line for logs and `explain`: names and types, never values.
    pub fn describe(&self) -> String {
        match self {
            Failure::False => "is false".into(),
            Failure::NoClaims => "no claims kept for this session".into(),
            Failure::Missing(key) => format!("claim {key:?} is missing"),
            Failure::WrongType(types) => format!("a claim has the wrong type ({types})"),
            Failure::NotBool(t) => format!("yields a {t}, not a bool"),
            Failure::Error => "could not be evaluated".into(),
        }
    }
}

/// The names comprehensions (`exists`, `all`, …) bind, which read as variables.
fn bound_names<'a>(expr: &'a IdedExpr, out: &mut Vec<&'a str>) {
    let mut walk = |e: &'a IdedExpr| bound_names(e, out);
    match &expr.expr {
        Expr::Comprehension(c) => {
            out.push(&c.iter_var);
            out.extend(c.iter_var2.as_deref());
            out.push(&c.accu_var);
            for e in [
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ] {
                bound_names(e, out);
            }
        }
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                walk(target);
            }
            call.args.iter().for_each(walk);
        }
        Expr::List(list) => list.elements.iter().for_each(walk),
        Expr::Select(select) => walk(&select.operand),
        Expr::Map(MapExpr { entries }) | Expr::Struct(StructExpr { entries, .. }) => {
            for entry in entries {
                match &entry.expr {
                    EntryExpr::StructField(f) => bound_names(&f.value, out),
                    EntryExpr::MapEntry(m) => {
                        bound_names(&m.key, out);
                        bound_names(&m.value, out);
                    }
                }
            }
        }
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}

fn is_operator(name: &str) -> bool {
    name.starts_with('_') || name.starts_with('@') || name.starts_with("!_")
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::List(_) => "list",
        Value::Map(_) => "map",
        Value::Int(_) => "int",
        Value::UInt(_) => "uint",
        Value::Float(_) => "double",
        Value::String(_) => "string",
        Value::Bytes(_) => "bytes",
        Value::Bool(_) => "bool",
        Value::Null => "null",
        _ => "value",
    }
}

impl PartialEq for Condition {
    fn eq(&self, other: &Condition) -> bool {
        self.label == other.label && self.source == other.source
    }
}

impl Eq for Condition {}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("label", &self.label)
            .field("source", &self.source)
            .finish()
    }
}

#[cfg(test)]
mod tests;
