//! The typed form of a state machine definition, and its conversion from JSON.
//!
//! [`StateMachine::from_value`] converts a definition that [`crate::validate`] accepted. Paths,
//! templates and intrinsic calls are compiled here once, so running a state never parses text.

use crate::choice::{ChoiceRule, Comparison, Operand};
use crate::jsonata::Expression;
use crate::path::Path;
use crate::template::{Dynamic, Template};
use crate::validate::{self, Diagnostic, Severity, ValidationOptions};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The query language of a state: JSONPath (the default) or JSONata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryLanguage {
    /// `InputPath`, `Parameters`, `ResultSelector`, `ResultPath`, `OutputPath` and intrinsics.
    #[default]
    JsonPath,
    /// `Arguments`, `Output` and `{% %}` expressions.
    Jsonata,
}

/// A whole state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMachine {
    /// `Comment`.
    pub comment: Option<String>,
    /// `Version`.
    pub version: Option<String>,
    /// `TimeoutSeconds`: the execution fails with `States.Timeout` after this long.
    pub timeout_seconds: Option<u64>,
    /// The top-level `QueryLanguage`.
    pub query_language: QueryLanguage,
    /// The top-level `StartAt` and `States`.
    pub scope: Scope,
}

/// A set of states with its start: the machine itself, a Parallel branch or a Map processor.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// `StartAt`.
    pub start_at: String,
    /// The states in definition order.
    pub states: Vec<State>,
    index: HashMap<String, usize>,
}

impl Scope {
    /// The state with this name.
    pub fn get(&self, name: &str) -> Option<&State> {
        self.index.get(name).map(|&i| &self.states[i])
    }
}

/// Where a state goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// `Next`.
    Next(String),
    /// `End: true`, or a terminal state (Succeed, Fail).
    End,
    /// A Choice state: its rules decide.
    Choice,
}

/// One state: fields common to every type plus the type's own.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The state's name.
    pub name: String,
    /// `Comment`.
    pub comment: Option<String>,
    /// The effective query language (the state's own, else the machine's).
    pub query_language: QueryLanguage,
    /// `Next` or `End`.
    pub transition: Transition,
    /// `InputPath`: `None` is `null` (the input becomes `{}`); absent means `$`.
    pub input_path: Option<Path>,
    /// `OutputPath`: `None` is `null` (the output becomes `{}`); absent means `$`.
    pub output_path: Option<Path>,
    /// `Assign` (JSONPath or JSONata template), evaluated after the state's result is known.
    pub assign: Option<Template>,
    /// `Output` (JSONata).
    pub output: Option<Template>,
    /// The type and its fields.
    pub kind: StateKind,
    /// Whether any field reads the context object (`$$`), so it must be built to run the state.
    pub uses_context: bool,
}

/// The eight state types.
#[derive(Debug, Clone, PartialEq)]
pub enum StateKind {
    /// A Pass state.
    Pass(Pass),
    /// A Task state.
    Task(Box<Task>),
    /// A Choice state.
    Choice(Choice),
    /// A Wait state.
    Wait(Wait),
    /// A Succeed state.
    Succeed,
    /// A Fail state.
    Fail(Fail),
    /// A Parallel state.
    Parallel(Box<Parallel>),
    /// A Map state.
    Map(Box<MapState>),
}

impl StateKind {
    /// The `Type` as written in ASL.
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass(_) => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice(_) => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail(_) => "Fail",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

/// `ResultPath`: where a result goes in the state input.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultPath {
    /// `null`: discard the result, pass the input through.
    Discard,
    /// A reference path (`$` replaces the input).
    At(Path),
}

/// Fields that process a result: `ResultSelector` and `ResultPath`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultHandling {
    /// `ResultSelector` (JSONPath).
    pub result_selector: Option<Template>,
    /// `ResultPath` (JSONPath); `$` by default.
    pub result_path: ResultPath,
}

/// A Pass state.
#[derive(Debug, Clone, PartialEq)]
pub struct Pass {
    /// `Result`: a constant result.
    pub result: Option<Value>,
    /// `Parameters` (JSONPath).
    pub parameters: Option<Template>,
    /// `ResultPath`.
    pub result_path: ResultPath,
}

/// A number given as a constant or read from a path (or a JSONata expression).
#[derive(Debug, Clone, PartialEq)]
pub enum Amount {
    /// A constant.
    Const(u64),
    /// `...Path` in JSONPath mode.
    Path(Path),
    /// A JSONata expression.
    Jsonata(Expression),
}

/// A Task state.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// `Resource`.
    pub resource: String,
    /// `Parameters` (JSONPath) or `Arguments` (JSONata).
    pub parameters: Option<Template>,
    /// `ResultSelector` and `ResultPath`.
    pub result: ResultHandling,
    /// `TimeoutSeconds` / `TimeoutSecondsPath`; AWS's default is 99999999 s.
    pub timeout: Option<Amount>,
    /// `HeartbeatSeconds` / `HeartbeatSecondsPath`.
    pub heartbeat: Option<Amount>,
    /// `Credentials`, kept as written.
    pub credentials: Option<Value>,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
}

/// One branch of a Choice state.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceBranch {
    /// The rule that selects this branch.
    pub rule: ChoiceRule,
    /// `Next`.
    pub next: String,
    /// `Assign` on the rule (taken when this rule matches).
    pub assign: Option<Template>,
    /// `Output` on the rule (JSONata).
    pub output: Option<Template>,
}

/// A Choice state.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// `Choices`, in order.
    pub choices: Vec<ChoiceBranch>,
    /// `Default`.
    pub default: Option<String>,
}

/// How long a Wait state waits.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    /// `Seconds` (or a JSONata expression).
    Seconds(Amount),
    /// `Timestamp`: an RFC 3339 time.
    Timestamp(String),
    /// `Timestamp` as a JSONata expression.
    TimestampExpression(Expression),
    /// `TimestampPath`.
    TimestampPath(Path),
}

/// A Wait state.
#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    /// The duration or the deadline.
    pub wait: WaitFor,
}

/// Where a Fail state's error or cause comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum FailText {
    /// A constant.
    Const(String),
    /// `ErrorPath`/`CausePath`: a path or an intrinsic call.
    Dynamic(Dynamic),
    /// A JSONata expression.
    Jsonata(Expression),
}

/// A Fail state.
#[derive(Debug, Clone, PartialEq)]
pub struct Fail {
    /// `Error` or `ErrorPath`.
    pub error: Option<FailText>,
    /// `Cause` or `CausePath`.
    pub cause: Option<FailText>,
}

/// A Parallel state.
#[derive(Debug, Clone, PartialEq)]
pub struct Parallel {
    /// `Branches`.
    pub branches: Vec<Scope>,
    /// `Parameters` (JSONPath) or `Arguments` (JSONata).
    pub parameters: Option<Template>,
    /// `ResultSelector` and `ResultPath`.
    pub result: ResultHandling,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
}

/// How a Map state runs its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapMode {
    /// Iterations run inside the parent execution.
    Inline,
    /// Each item runs as a child execution of a Map Run.
    Distributed,
}

/// A tolerance given as a constant or read from a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Tolerance {
    /// A constant.
    Const(f64),
    /// A `...Path` field.
    Path(Path),
    /// A JSONata expression.
    Jsonata(Expression),
}

/// A Map state.
#[derive(Debug, Clone, PartialEq)]
pub struct MapState {
    /// `ItemProcessor` (or the older `Iterator`).
    pub processor: Scope,
    /// `ProcessorConfig.Mode`.
    pub mode: MapMode,
    /// `ItemsPath` (JSONPath); `$` by default.
    pub items_path: Option<Path>,
    /// `Items` (JSONata).
    pub items: Option<Template>,
    /// `ItemSelector` (or the older `Parameters`).
    pub item_selector: Option<Template>,
    /// `MaxConcurrency` / `MaxConcurrencyPath`; 0 means unbounded.
    pub max_concurrency: Option<Amount>,
    /// `ToleratedFailureCount` / `ToleratedFailureCountPath`.
    pub tolerated_failure_count: Option<Tolerance>,
    /// `ToleratedFailurePercentage` / `ToleratedFailurePercentagePath`.
    pub tolerated_failure_percentage: Option<Tolerance>,
    /// `ItemReader`, kept as written.
    pub item_reader: Option<Value>,
    /// `ItemBatcher`, kept as written.
    pub item_batcher: Option<Value>,
    /// `ResultWriter`, kept as written.
    pub result_writer: Option<Value>,
    /// `Label`.
    pub label: Option<String>,
    /// `ResultSelector` and `ResultPath`.
    pub result: ResultHandling,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
}

/// `JitterStrategy` of a retrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// No jitter (the default).
    #[default]
    None,
    /// Uniformly random delay in `[0, computed delay]`.
    Full,
}

/// One `Retry` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `IntervalSeconds` (default 1).
    pub interval_seconds: u64,
    /// `MaxAttempts` (default 3; 0 never retries).
    pub max_attempts: u64,
    /// `BackoffRate` (default 2.0).
    pub backoff_rate: f64,
    /// `MaxDelaySeconds`.
    pub max_delay_seconds: Option<u64>,
    /// `JitterStrategy`.
    pub jitter: Jitter,
}

/// One `Catch` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Catcher {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `Next`.
    pub next: String,
    /// `ResultPath` (JSONPath; `$` by default).
    pub result_path: ResultPath,
    /// `Assign`.
    pub assign: Option<Template>,
    /// `Output` (JSONata).
    pub output: Option<Template>,
}

/// A definition that could not be converted: the location and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where, e.g. `/States/Foo/Next`.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

struct Ctx {
    problems: Vec<Problem>,
}

impl Ctx {
    fn problem(&mut self, location: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            location: if location.is_empty() {
                "/".to_string()
            } else {
                location.to_string()
            },
            message: message.into(),
        });
    }
}

impl StateMachine {
    /// Converts a JSON definition into typed form, or lists every part it could not convert.
    ///
    /// This checks what conversion needs (types, paths, templates); the full set of AWS's rules is
    /// in [`crate::validate`].
    pub fn from_value(def: &Value) -> Result<StateMachine, Vec<Problem>> {
        let mut cx = Ctx {
            problems: Vec::new(),
        };
        let Some(obj) = def.as_object() else {
            cx.problem("", "Definition must be a valid JSON object");
            return Err(cx.problems);
        };
        let query_language = query_language(obj, "", QueryLanguage::JsonPath, &mut cx);
        let scope = scope(obj, "", query_language, &mut cx);
        let machine = StateMachine {
            comment: str_field(obj, "Comment", "", &mut cx),
            version: str_field(obj, "Version", "", &mut cx),
            timeout_seconds: obj.get("TimeoutSeconds").and_then(Value::as_u64),
            query_language,
            scope,
        };
        if cx.problems.is_empty() {
            Ok(machine)
        } else {
            Err(cx.problems)
        }
    }

    /// Validates a definition with AWS's rules and converts it: the one way to load a definition.
    /// Every problem comes back as a diagnostic with its location.
    pub fn load(def: &Value, options: &ValidationOptions) -> Result<StateMachine, Vec<Diagnostic>> {
        let diagnostics = validate::validate_with(def, options);
        if validate::has_errors(&diagnostics) {
            return Err(diagnostics);
        }
        StateMachine::from_value(def).map_err(|problems| {
            problems
                .into_iter()
                .map(|p| Diagnostic {
                    severity: Severity::Error,
                    code: validate::codes::SCHEMA_VALIDATION_FAILED.to_string(),
                    message: p.message,
                    location: Some(p.location),
                })
                .collect()
        })
    }

    /// Like [`StateMachine::load`], from JSON text (syntax errors are worded as AWS words them).
    pub fn load_text(
        text: &str,
        options: &ValidationOptions,
    ) -> Result<StateMachine, Vec<Diagnostic>> {
        let diagnostics = validate::validate_text(text, options);
        if validate::has_errors(&diagnostics) {
            return Err(diagnostics);
        }
        let value = crate::json_text::parse(text).map_err(|e| {
            vec![Diagnostic {
                severity: Severity::Error,
                code: validate::codes::INVALID_JSON_DESCRIPTION.to_string(),
                message: e.full_message(),
                location: Some(e.location),
            }]
        })?;
        StateMachine::load(&value, options)
    }

    /// Every Task state's `Resource`, with the state's name and the resource's location in the
    /// definition (`/States/Fetch/Resource`, `/States/Each/ItemProcessor/States/Load/Resource`).
    pub fn task_resources(&self) -> Vec<TaskResource<'_>> {
        let mut out = Vec::new();
        collect_resources(&self.scope, "", &mut out);
        out
    }

    /// Walks the scopes to the one a thread runs in: `[(state, branch), ...]` from the top.
    pub fn scope_at(&self, path: &[(String, usize)]) -> Option<&Scope> {
        let mut scope = &self.scope;
        for (name, branch) in path {
            scope = match &scope.get(name)?.kind {
                StateKind::Parallel(p) => p.branches.get(*branch)?,
                StateKind::Map(m) => &m.processor,
                _ => return None,
            };
        }
        Some(scope)
    }
}

/// A Task state's `Resource` and where it is ([`StateMachine::task_resources`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskResource<'d> {
    /// The Task state's name.
    pub state: &'d str,
    /// Its `Resource`.
    pub resource: &'d str,
    /// The JSON pointer of the `Resource` field.
    pub location: String,
}

fn collect_resources<'d>(scope: &'d Scope, at: &str, out: &mut Vec<TaskResource<'d>>) {
    for state in &scope.states {
        let here = format!("{at}/States/{}", state.name);
        match &state.kind {
            StateKind::Task(task) => out.push(TaskResource {
                state: &state.name,
                resource: &task.resource,
                location: format!("{here}/Resource"),
            }),
            StateKind::Parallel(p) => {
                for (i, branch) in p.branches.iter().enumerate() {
                    collect_resources(branch, &format!("{here}/Branches/{i}"), out);
                }
            }
            StateKind::Map(m) => {
                collect_resources(&m.processor, &format!("{here}/ItemProcessor"), out);
            }
            _ => {}
        }
    }
}

fn query_language(
    obj: &Map<String, Value>,
    at: &str,
    inherited: QueryLanguage,
    cx: &mut Ctx,
) -> QueryLanguage {
    match obj.get("QueryLanguage") {
        None => inherited,
        Some(Value::String(s)) if s == "JSONPath" => QueryLanguage::JsonPath,
        Some(Value::String(s)) if s == "JSONata" => QueryLanguage::Jsonata,
        Some(other) => {
            cx.problem(
                &format!("{at}/QueryLanguage"),
                format!("QueryLanguage must be JSONPath or JSONata, not {other}"),
            );
            inherited
        }
    }
}

fn str_field(obj: &Map<String, Value>, key: &str, at: &str, cx: &mut Ctx) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(s.clone()),
        other => {
            cx.problem(
                &format!("{at}/{key}"),
                format!("{key} must be a string, not {other}"),
            );
            None
        }
    }
}

fn scope(obj: &Map<String, Value>, at: &str, ql: QueryLanguage, cx: &mut Ctx) -> Scope {
    let start_at = str_field(obj, "StartAt", at, cx).unwrap_or_default();
    let mut states = Vec::new();
    let mut index = HashMap::new();
    match obj.get("States") {
        Some(Value::Object(map)) => {
            for (name, body) in map {
                let here = format!("{at}/States/{name}");
                let Some(body) = body.as_object() else {
                    cx.problem(&here, "A state must be a JSON object");
                    continue;
                };
                if let Some(state) = state(name, body, &here, ql, cx) {
                    index.insert(name.clone(), states.len());
                    states.push(state);
                }
            }
        }
        Some(_) => cx.problem(&format!("{at}/States"), "States must be a JSON object"),
        None => cx.problem(at, "These fields are required: [States]"),
    }
    if !start_at.is_empty() && !index.contains_key(&start_at) {
        cx.problem(
            &format!("{at}/StartAt"),
            format!("StartAt '{start_at}' does not name a state"),
        );
    }
    Scope {
        start_at,
        states,
        index,
    }
}

fn path_field(obj: &Map<String, Value>, key: &str, at: &str, cx: &mut Ctx) -> Option<Path> {
    let text = obj.get(key)?.as_str()?;
    match Path::parse(text) {
        Ok(p) => Some(p),
        Err(e) => {
            cx.problem(&format!("{at}/{key}"), e.to_string());
            None
        }
    }
}

/// `InputPath`/`OutputPath`: absent is `$` (kept as `Some($)`), `null` is `None`.
fn io_path(obj: &Map<String, Value>, key: &str, at: &str, cx: &mut Ctx) -> Option<Path> {
    match obj.get(key) {
        None => Some(Path::parse("$").expect("'$' is a valid path")),
        Some(Value::Null) => None,
        Some(_) => path_field(obj, key, at, cx),
    }
}

fn result_path(obj: &Map<String, Value>, at: &str, cx: &mut Ctx) -> ResultPath {
    match obj.get("ResultPath") {
        Some(Value::Null) => ResultPath::Discard,
        None => ResultPath::At(Path::parse("$").expect("'$' is a valid path")),
        Some(_) => match path_field(obj, "ResultPath", at, cx) {
            Some(p) => ResultPath::At(p),
            None => ResultPath::Discard,
        },
    }
}

fn template(
    obj: &Map<String, Value>,
    key: &str,
    at: &str,
    ql: QueryLanguage,
    cx: &mut Ctx,
) -> Option<Template> {
    let v = obj.get(key)?;
    match ql {
        QueryLanguage::Jsonata => match Template::jsonata(v) {
            Ok(t) => Some(t),
            Err(errors) => {
                for e in errors {
                    cx.problem(&format!("{at}/{key}{}", e.location), e.message);
                }
                None
            }
        },
        QueryLanguage::JsonPath => match Template::jsonpath(v) {
            Ok(t) => Some(t),
            Err(errors) => {
                for e in errors {
                    cx.problem(&format!("{at}/{key}{}", e.location), e.message);
                }
                None
            }
        },
    }
}

/// A `{% %}` string in a JSONata state: `None` when the value is not one, `Some(None)` when it is
/// one that does not parse (the problem is recorded), `Some(Some(expr))` otherwise.
fn expression(v: &Value, ql: QueryLanguage, at: &str, cx: &mut Ctx) -> Option<Option<Expression>> {
    if ql != QueryLanguage::Jsonata {
        return None;
    }
    let text = crate::template::jsonata_expression(v.as_str()?)?;
    Some(match Expression::parse(text) {
        Ok(e) => Some(e),
        Err(e) => {
            cx.problem(
                at,
                format!("The JSONata expression '{text}' is not valid: {e}"),
            );
            None
        }
    })
}

fn amount(
    obj: &Map<String, Value>,
    key: &str,
    at: &str,
    ql: QueryLanguage,
    cx: &mut Ctx,
) -> Option<Amount> {
    if let Some(v) = obj.get(key) {
        if let Some(n) = v.as_u64() {
            return Some(Amount::Const(n));
        }
        if let Some(expr) = expression(v, ql, &format!("{at}/{key}"), cx) {
            return expr.map(Amount::Jsonata);
        }
        cx.problem(
            &format!("{at}/{key}"),
            format!("{key} must be a non-negative integer"),
        );
        return None;
    }
    path_field(obj, &format!("{key}Path"), at, cx).map(Amount::Path)
}

fn tolerance(
    obj: &Map<String, Value>,
    key: &str,
    at: &str,
    ql: QueryLanguage,
    cx: &mut Ctx,
) -> Option<Tolerance> {
    if let Some(v) = obj.get(key) {
        if let Some(n) = v.as_f64() {
            return Some(Tolerance::Const(n));
        }
        if let Some(expr) = expression(v, ql, &format!("{at}/{key}"), cx) {
            return expr.map(Tolerance::Jsonata);
        }
        cx.problem(&format!("{at}/{key}"), format!("{key} must be a number"));
        return None;
    }
    path_field(obj, &format!("{key}Path"), at, cx).map(Tolerance::Path)
}

fn error_equals(obj: &Map<String, Value>) -> Vec<String> {
    obj.get("ErrorEquals")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn retriers(obj: &Map<String, Value>) -> Vec<Retrier> {
    let Some(list) = obj.get("Retry").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(Value::as_object)
        .map(|r| Retrier {
            error_equals: error_equals(r),
            interval_seconds: r
                .get("IntervalSeconds")
                .and_then(Value::as_u64)
                .unwrap_or(1),
            max_attempts: r.get("MaxAttempts").and_then(Value::as_u64).unwrap_or(3),
            backoff_rate: r.get("BackoffRate").and_then(Value::as_f64).unwrap_or(2.0),
            max_delay_seconds: r.get("MaxDelaySeconds").and_then(Value::as_u64),
            jitter: match r.get("JitterStrategy").and_then(Value::as_str) {
                Some("FULL") => Jitter::Full,
                _ => Jitter::None,
            },
        })
        .collect()
}

fn catchers(obj: &Map<String, Value>, at: &str, ql: QueryLanguage, cx: &mut Ctx) -> Vec<Catcher> {
    let Some(list) = obj.get("Catch").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .enumerate()
        .filter_map(|(i, c)| Some((i, c.as_object()?)))
        .map(|(i, c)| {
            let here = format!("{at}/Catch/{i}");
            Catcher {
                error_equals: error_equals(c),
                next: c
                    .get("Next")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                result_path: result_path(c, &here, cx),
                assign: template(c, "Assign", &here, ql, cx),
                output: template(c, "Output", &here, QueryLanguage::Jsonata, cx),
            }
        })
        .collect()
}

fn result_handling(
    obj: &Map<String, Value>,
    at: &str,
    ql: QueryLanguage,
    cx: &mut Ctx,
) -> ResultHandling {
    ResultHandling {
        result_selector: template(obj, "ResultSelector", at, ql, cx),
        result_path: result_path(obj, at, cx),
    }
}

fn fail_text(
    obj: &Map<String, Value>,
    key: &str,
    at: &str,
    ql: QueryLanguage,
    cx: &mut Ctx,
) -> Option<FailText> {
    if let Some(v) = obj.get(key) {
        let s = v.as_str()?;
        if let Some(expr) = expression(v, ql, &format!("{at}/{key}"), cx) {
            return expr.map(FailText::Jsonata);
        }
        return Some(FailText::Const(s.to_string()));
    }
    let path_key = format!("{key}Path");
    let text = obj.get(&path_key)?.as_str()?;
    match Dynamic::parse(text) {
        Some(d) => Some(FailText::Dynamic(d)),
        None => {
            cx.problem(
                &format!("{at}/{path_key}"),
                format!("The value for the field '{path_key}' must be a valid JSONPath or a valid intrinsic function call"),
            );
            None
        }
    }
}

fn state(
    name: &str,
    obj: &Map<String, Value>,
    at: &str,
    machine_ql: QueryLanguage,
    cx: &mut Ctx,
) -> Option<State> {
    let ql = query_language(obj, at, machine_ql, cx);
    let type_name = obj.get("Type").and_then(Value::as_str).unwrap_or_default();
    let transition = match (obj.get("Next").and_then(Value::as_str), obj.get("End")) {
        _ if matches!(type_name, "Succeed" | "Fail") => Transition::End,
        _ if type_name == "Choice" => Transition::Choice,
        (Some(next), _) => Transition::Next(next.to_string()),
        (None, Some(Value::Bool(true))) => Transition::End,
        _ => {
            cx.problem(at, "A state must have either 'Next' or 'End': true");
            Transition::End
        }
    };
    let kind = match type_name {
        "Pass" => StateKind::Pass(Pass {
            result: obj.get("Result").cloned(),
            parameters: template(obj, "Parameters", at, ql, cx),
            result_path: result_path(obj, at, cx),
        }),
        "Task" => StateKind::Task(Box::new(Task {
            resource: obj
                .get("Resource")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            parameters: template(obj, "Parameters", at, ql, cx)
                .or_else(|| template(obj, "Arguments", at, QueryLanguage::Jsonata, cx)),
            result: result_handling(obj, at, ql, cx),
            timeout: amount(obj, "TimeoutSeconds", at, ql, cx),
            heartbeat: amount(obj, "HeartbeatSeconds", at, ql, cx),
            credentials: obj.get("Credentials").cloned(),
            retry: retriers(obj),
            catch: catchers(obj, at, ql, cx),
        })),
        "Choice" => StateKind::Choice(choice(obj, at, ql, cx)),
        "Wait" => StateKind::Wait(Wait {
            wait: wait_for(obj, at, ql, cx)?,
        }),
        "Succeed" => StateKind::Succeed,
        "Fail" => StateKind::Fail(Fail {
            error: fail_text(obj, "Error", at, ql, cx),
            cause: fail_text(obj, "Cause", at, ql, cx),
        }),
        "Parallel" => {
            let branches = obj
                .get("Branches")
                .and_then(Value::as_array)
                .map(|bs| {
                    bs.iter()
                        .enumerate()
                        .filter_map(|(i, b)| {
                            let b = b.as_object()?;
                            Some(scope(b, &format!("{at}/Branches/{i}"), ql, cx))
                        })
                        .collect()
                })
                .unwrap_or_default();
            StateKind::Parallel(Box::new(Parallel {
                branches,
                parameters: template(obj, "Parameters", at, ql, cx)
                    .or_else(|| template(obj, "Arguments", at, QueryLanguage::Jsonata, cx)),
                result: result_handling(obj, at, ql, cx),
                retry: retriers(obj),
                catch: catchers(obj, at, ql, cx),
            }))
        }
        "Map" => StateKind::Map(Box::new(map_state(obj, at, ql, cx)?)),
        other => {
            cx.problem(
                &format!("{at}/Type"),
                format!("The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map], not '{other}'"),
            );
            return None;
        }
    };
    Some(State {
        name: name.to_string(),
        comment: obj
            .get("Comment")
            .and_then(Value::as_str)
            .map(str::to_string),
        query_language: ql,
        transition,
        input_path: io_path(obj, "InputPath", at, cx),
        output_path: io_path(obj, "OutputPath", at, cx),
        assign: template(obj, "Assign", at, ql, cx),
        output: template(obj, "Output", at, QueryLanguage::Jsonata, cx),
        kind,
        uses_context: {
            let text = Value::Object(obj.clone()).to_string();
            text.contains("$$") || text.contains("states.context")
        },
    })
}

fn wait_for(
    obj: &Map<String, Value>,
    at: &str,
    ql: QueryLanguage,
    cx: &mut Ctx,
) -> Option<WaitFor> {
    if obj.contains_key("Seconds") || obj.contains_key("SecondsPath") {
        return amount(obj, "Seconds", at, ql, cx).map(WaitFor::Seconds);
    }
    if let Some(ts) = obj.get("Timestamp") {
        if let Some(expr) = expression(ts, ql, &format!("{at}/Timestamp"), cx) {
            return expr.map(WaitFor::TimestampExpression);
        }
        return ts.as_str().map(|t| WaitFor::Timestamp(t.to_string()));
    }
    if let Some(p) = path_field(obj, "TimestampPath", at, cx) {
        return Some(WaitFor::TimestampPath(p));
    }
    cx.problem(
        at,
        "A Wait state needs one of Seconds, Timestamp, SecondsPath or TimestampPath",
    );
    None
}

fn map_state(
    obj: &Map<String, Value>,
    at: &str,
    ql: QueryLanguage,
    cx: &mut Ctx,
) -> Option<MapState> {
    let (proc_key, processor) = match (obj.get("ItemProcessor"), obj.get("Iterator")) {
        (Some(Value::Object(p)), _) => ("ItemProcessor", p),
        (None, Some(Value::Object(p))) => ("Iterator", p),
        _ => {
            cx.problem(at, "A Map state needs an ItemProcessor");
            return None;
        }
    };
    let mode = match processor
        .get("ProcessorConfig")
        .and_then(|c| c.get("Mode"))
        .and_then(Value::as_str)
    {
        Some("DISTRIBUTED") => MapMode::Distributed,
        _ => MapMode::Inline,
    };
    let item_selector = template(obj, "ItemSelector", at, ql, cx)
        .or_else(|| template(obj, "Parameters", at, ql, cx));
    Some(MapState {
        processor: scope(processor, &format!("{at}/{proc_key}"), ql, cx),
        mode,
        items_path: match obj.get("ItemsPath") {
            Some(_) => path_field(obj, "ItemsPath", at, cx),
            None => None,
        },
        items: template(obj, "Items", at, QueryLanguage::Jsonata, cx),
        item_selector,
        max_concurrency: amount(obj, "MaxConcurrency", at, ql, cx),
        tolerated_failure_count: tolerance(obj, "ToleratedFailureCount", at, ql, cx),
        tolerated_failure_percentage: tolerance(obj, "ToleratedFailurePercentage", at, ql, cx),
        item_reader: obj.get("ItemReader").cloned(),
        item_batcher: obj.get("ItemBatcher").cloned(),
        result_writer: obj.get("ResultWriter").cloned(),
        label: obj.get("Label").and_then(Value::as_str).map(str::to_string),
        result: result_handling(obj, at, ql, cx),
        retry: retriers(obj),
        catch: catchers(obj, at, ql, cx),
    })
}

fn choice(obj: &Map<String, Value>, at: &str, ql: QueryLanguage, cx: &mut Ctx) -> Choice {
    let choices = obj
        .get("Choices")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .enumerate()
                .filter_map(|(i, c)| {
                    let here = format!("{at}/Choices/{i}");
                    let c = c.as_object()?;
                    Some(ChoiceBranch {
                        rule: rule(c, &here, cx)?,
                        next: c
                            .get("Next")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        assign: template(c, "Assign", &here, ql, cx),
                        output: template(c, "Output", &here, QueryLanguage::Jsonata, cx),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Choice {
        choices,
        default: obj
            .get("Default")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

fn rule(obj: &Map<String, Value>, at: &str, cx: &mut Ctx) -> Option<ChoiceRule> {
    if let Some(cond) = obj.get("Condition") {
        return Some(match cond {
            Value::String(_) => {
                match expression(cond, QueryLanguage::Jsonata, &format!("{at}/Condition"), cx) {
                    Some(Some(expr)) => ChoiceRule::Condition(expr),
                    Some(None) => return None,
                    None => ChoiceRule::Const(false),
                }
            }
            Value::Bool(b) => ChoiceRule::Const(*b),
            _ => {
                cx.problem(
                    &format!("{at}/Condition"),
                    "Condition must be a {% %} expression or a boolean",
                );
                return None;
            }
        });
    }
    let nested = |key: &str, cx: &mut Ctx| -> Option<Vec<ChoiceRule>> {
        let list = obj.get(key)?.as_array()?;
        Some(
            list.iter()
                .enumerate()
                .filter_map(|(i, r)| rule(r.as_object()?, &format!("{at}/{key}/{i}"), cx))
                .collect(),
        )
    };
    if let Some(rules) = nested("And", cx) {
        return Some(ChoiceRule::And(rules));
    }
    if let Some(rules) = nested("Or", cx) {
        return Some(ChoiceRule::Or(rules));
    }
    if let Some(inner) = obj.get("Not") {
        let inner = rule(inner.as_object()?, &format!("{at}/Not"), cx)?;
        return Some(ChoiceRule::Not(Box::new(inner)));
    }
    let variable = path_field(obj, "Variable", at, cx)?;
    for (key, value) in obj {
        let (op, is_path) = match key.strip_suffix("Path") {
            Some(op) if Comparison::is_operator(op) => (op, true),
            _ if Comparison::is_operator(key) => (key.as_str(), false),
            _ => continue,
        };
        let operand = if is_path {
            match path_field(obj, key, at, cx) {
                Some(p) => Operand::Path(p),
                None => return None,
            }
        } else {
            Operand::Const(value.clone())
        };
        return match Comparison::new(op, operand) {
            Ok(comparison) => Some(ChoiceRule::Compare {
                variable: Box::new(variable),
                comparison,
            }),
            Err(message) => {
                cx.problem(&format!("{at}/{key}"), message);
                None
            }
        };
    }
    cx.problem(at, "A Choice rule needs a comparison operator");
    None
}
