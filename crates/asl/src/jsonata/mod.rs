//! JSONata as AWS Step Functions runs it: the text inside `{% ... %}`.
//!
//! The engine is the `jsonata-core` crate (JSONata 2.x), kept behind this module's API
//! ([`Expression`], [`Scope`], [`Limits`]) so that it can be replaced without touching callers.
//!
//! # The Step Functions dialect
//!
//! AWS runs JSONata 2.0 with these differences, all applied here:
//!
//! - **No context item.** An expression reads its data through `$states` and workflow variables
//!   only; `$` and `$$` are undefined, so a bare path such as `states.input` (no `$`) evaluates to
//!   undefined. (AWS reportedly refuses such a definition at creation,
//!   `UNSUPPORTED_JSONATA_EXPRESSION`; that check belongs to validation.)
//! - **`$states`** is an object with `input`, `context`, and `result` or `errorOutput` only where
//!   the state has them; each workflow variable is bound by its own name (`$name`). A variable
//!   shadows a function of the same name where the expression reads `$name` as a value (then a
//!   call `$name(...)` in the same expression fails with `T1006`, as JSONata bindings do).
//! - **Six added functions**: `$partition`, `$range`, `$hash`, `$random` (with an optional seed),
//!   `$uuid` and `$parse`. **`$eval` is removed**: calling it is `T1006`, as on AWS.
//! - **Time.** This crate never reads a clock, so `$now()` and `$millis()` read the state's entry
//!   time, `$states.context.State.EnteredTime` (else `Execution.StartTime`). Every call in one
//!   evaluation returns the same instant, which JSONata requires anyway. `$now(picture,
//!   timezone)` formats it as `$fromMillis` does. Without either timestamp they fail.
//! - **Randomness** comes from the caller's [`Rng`]: `$random()` and `$uuid()` draw from it;
//!   `$random(seed)` is `java.util.Random(seed).nextDouble()`, which is what AWS returns.
//!
//! # Values
//!
//! Input JSON becomes JSONata values with every number an `f64`. Results go back to JSON as AWS
//! writes them: an integral number inside the `i64`/`u64` range is a JSON integer (`3`, never
//! `3.0`; `-0` is `0`), object keys keep their order, `undefined` inside an array is dropped, and a
//! non-finite number is the string `"Infinity"`, `"-Infinity"` or `"NaN"`. A function or regular-expression value has no JSON form; it is treated as
//! `JSON.stringify` treats a function: the whole result is undefined, an object member is
//! dropped, an array element is `null` (no AWS recording exists for these).
//!
//! # Bounds
//!
//! Every evaluation runs under [`Limits`]: a wall-clock timeout (the only bound that stops a
//! tail-recursive loop), a nesting depth (AWS's own ceiling is 100) and a sequence length
//! (AWS accepts `[1..873782]` and refuses one element more). A bound that trips is an ordinary
//! `States.QueryEvaluationError`. The timeout makes an evaluation near the bound depend on the
//! machine's speed; the defaults leave a wide margin.
//!
//! # Errors and causes
//!
//! [`Expression::evaluate`] fails with `States.QueryEvaluationError` and a *detail* cause: the
//! JSONata error as AWS words it, e.g. `T0410: Argument 1 of function "range" does not match
//! function signature`. AWS wraps it in a sentence naming the expression and the field, which the
//! caller builds with [`Expression::error_cause`]; see also [`Expression::undefined_cause`] and
//! [`Expression::type_cause`]. The state prefix `An error occurred while executing the state
//! '<name>' (entered at the event id #<n>). ` goes in front of all of them.
//!
//! The engine's own messages follow jsonata-js's codes but not always its wording; the
//! differences AWS is known to show are rewritten (see `causes.rs`). Not yet: `T0410`/`T0412`
//! raised by a built-in name no function (`Argument 1 must be Number` where AWS writes `Argument 1
//! of function "abs" does not match function signature`), and `T2009` names no values.
//!
//! # Evidence
//!
//! AWS-recorded (conformance corpus): `$partition`, `$range`, `$parse` results, integer printing,
//! the `unexpected result type` sentence. Reported from AWS executions by other Step Functions
//! emulators, not in the corpus: the other sentences, `$random(seed)`, the wording of this
//! module's function errors, non-finite numbers as strings, the `$range` element bound, the
//! depth and sequence ceilings, `$eval` answering `T1006`. Unrecorded, chosen here: function
//! values in results, the timeout, results over 1000 levels deep (refused).
//!
//! # Cost
//!
//! An expression is parsed once. Each evaluation builds a fresh evaluator (`jsonata-core`'s holds
//! `Rc`s and is not `Send`) and converts only what the expression can read: the `$states` fields
//! and, for `$states.<field>.<key>` paths, only those keys; the workflow variables it names; the
//! host functions it calls.

mod analysis;
mod causes;
mod convert;
mod functions;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::error::{Failure, names};
use crate::rng::Rng;

use analysis::Usage;

pub use causes::type_name;

/// A JSONata expression that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct ExpressionError {
    /// The parser's message with the JSONata code and, where it can be found, the 1-based
    /// character at which the error shows, e.g. `S0202: Expected RightBracket, got Comma at
    /// character 4`.
    pub message: String,
}

/// A parsed JSONata expression (the text inside `{% ... %}`), parsed once per definition.
///
/// Cloning is cheap (the parsed form is shared) and the value is `Send + Sync`.
#[derive(Clone)]
pub struct Expression {
    inner: Arc<Inner>,
}

struct Inner {
    /// The source without surrounding whitespace, as AWS quotes it in causes.
    source: String,
    ast: AstNode,
    usage: Usage,
}

impl fmt::Debug for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expression").field(&self.as_str()).finish()
    }
}

impl PartialEq for Expression {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Expression {}

/// What an expression can see.
pub struct Scope<'a> {
    /// `$states.input`.
    pub input: &'a Value,
    /// `$states.result`, only after a Task, Parallel or Map produced a result.
    pub result: Option<&'a Value>,
    /// `$states.errorOutput`, only in a Catch.
    pub error_output: Option<&'a Value>,
    /// `$states.context`, the context object.
    pub context: &'a Value,
    /// The workflow variables, each readable as `$name`.
    pub variables: &'a Map<String, Value>,
}

/// Bounds on one evaluation, so a hostile expression can neither hang nor exhaust memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time one evaluation may take, in milliseconds.
    pub timeout_ms: u64,
    /// How deep evaluation may nest (expression nesting plus non-tail recursion).
    pub max_depth: usize,
    /// The longest sequence an evaluation may build (ranges, mapped and filtered sequences).
    pub max_sequence_length: usize,
}

impl Default for Limits {
    /// One second; depth 100, AWS's own ceiling (AWS refuses a non-tail-recursive `$f(32)`
    /// counting down to 0, this engine refuses `$f(33)`); 873,782 elements, the largest range AWS
    /// accepts.
    fn default() -> Self {
        Limits {
            timeout_ms: 1_000,
            max_depth: 100,
            max_sequence_length: 873_782,
        }
    }
}

impl Expression {
    /// Parses `source`, the text between `{%` and `%}`; surrounding whitespace is ignored.
    pub fn parse(source: &str) -> Result<Expression, ExpressionError> {
        let source = source.trim();
        let ast = jsonata_core::parser::parse(source).map_err(|error| ExpressionError {
            message: causes::parse_message(source, &error),
        })?;
        let usage = Usage::of(&ast);
        Ok(Expression {
            inner: Arc::new(Inner {
                source: source.to_owned(),
                ast,
                usage,
            }),
        })
    }

    /// The expression's text, trimmed, as AWS quotes it in causes.
    pub fn as_str(&self) -> &str {
        &self.inner.source
    }

    /// Evaluates with `$states` and the workflow variables bound, under the default [`Limits`].
    /// `Ok(None)` means JSONata's `undefined`.
    ///
    /// A failure is `States.QueryEvaluationError` with the detail cause described in the module
    /// documentation.
    pub fn evaluate(&self, scope: &Scope<'_>, rng: &mut Rng) -> Result<Option<Value>, Failure> {
        self.evaluate_with_limits(scope, rng, &Limits::default())
    }

    /// [`Expression::evaluate`] under explicit limits.
    pub fn evaluate_with_limits(
        &self,
        scope: &Scope<'_>,
        rng: &mut Rng,
        limits: &Limits,
    ) -> Result<Option<Value>, Failure> {
        let inner = &*self.inner;
        let usage = &inner.usage;
        let mut context = Context::new();
        if usage.functions.contains(functions::Host::Eval) {
            // Bound to nothing, a call is JSONata's own T1006, the code AWS answers.
            context.bind("eval".to_owned(), JValue::Undefined);
        }
        for name in &usage.variables {
            if let Some(value) = scope.variables.get(name) {
                context.bind(name.clone(), convert::to_jvalue(value));
            }
        }
        if let Some(states) = usage.states.bind(scope) {
            context.bind("states".to_owned(), states);
        }
        let options = EvaluatorOptions {
            timeout_ms: Some(limits.timeout_ms),
            max_stack_depth: Some(limits.max_depth),
            max_sequence_length: Some(limits.max_sequence_length),
            cancel: None,
        };
        let mut evaluator = Evaluator::with_options(context, options);
        let host = functions::install(&mut evaluator, usage.functions, scope, rng)
            .map_err(|error| causes::failure(&error))?;
        let result = evaluator.evaluate(&inner.ast, &JValue::Undefined);
        if let Some(host) = host {
            host.restore(rng);
        }
        match result {
            Ok(value) => convert::to_value(&value),
            Err(error) => Err(causes::failure(&error)),
        }
    }

    /// Names of the workflow variables the expression reads: each `$name` that is not
    /// `$states`, not a function name and not bound inside the expression (by `:=`, as a
    /// function parameter, or as a path's `@$focus` or `#$index`), in order of first appearance.
    ///
    /// A name bound by `:=` later in the same block counts as bound inside a function body (the
    /// body runs after the binding) and as a read before it, so `($x := $x + 1)` reads `$x`.
    pub fn free_variables(&self) -> Vec<String> {
        analysis::free_variables(&self.inner.ast)
    }

    /// AWS's cause for an expression whose evaluation failed, from the detail in
    /// [`Failure::cause`]: `The JSONata expression '<expr>' specified for the field '<field>'
    /// threw an error during evaluation. <detail>`, with `: ` instead of `. ` before a detail that
    /// has no JSONata code (a bound that tripped).
    pub fn error_cause(&self, field: &str, detail: &str) -> String {
        causes::threw(self.as_str(), field, detail)
    }

    /// AWS's cause for an expression that returned nothing: `The JSONata expression '<expr>'
    /// specified for the field '<field>' returned nothing (undefined).`
    pub fn undefined_cause(&self, field: &str) -> String {
        causes::returned_nothing(self.as_str(), field)
    }

    /// AWS's cause for a result of the wrong type: `The JSONata expression '<expr>' specified for
    /// the field '<field>' returned an unexpected result type. Expected '<expected>', but was
    /// '<type>' for value: <json>`, where `<type>` is [`type_name`].
    pub fn type_cause(&self, field: &str, expected: &str, value: &Value) -> String {
        causes::unexpected_type(self.as_str(), field, expected, value)
    }
}

/// A failure of an expression: `States.QueryEvaluationError` with `cause`.
fn query_failure(cause: impl Into<String>) -> Failure {
    Failure::new(names::QUERY_EVALUATION_ERROR, cause)
}
