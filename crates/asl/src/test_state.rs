//! TestState: runs one state of a definition on a given input, as AWS's `TestState` API does.
//!
//! [`test_state`] is a pure function: the request carries the definition, the input, an optional
//! mock of the state's result or error, the configuration of the moment being tested (how many
//! retries already happened, how many Map iterations failed) and the time and seed to use. It
//! answers what the state did ([`TestStatus`]), its output or error, the next state, and at the
//! `DEBUG` and `TRACE` inspection levels the data after each processing step ([`InspectionData`]).
//! A request AWS would reject is a [`TestStateError`] carrying AWS's error code and message.
//!
//! # What runs
//!
//! One state, once. Nothing is scheduled: a Task's result comes from the mock, a Wait does not
//! wait, a Map or Parallel state does not run its iterations or branches (their combined result
//! is the mock). An error (from the mock or from the state's own data processing) is handed to the
//! state's `Retry` and `Catch` as an execution would:
//!
//! - the first retrier whose `ErrorEquals` matches decides; if `stateConfiguration.retrierRetryCount`
//!   (0 by default) is below its `MaxAttempts` the answer is `RETRIABLE`, with the retrier's index
//!   and the backoff the next attempt would wait (`IntervalSeconds × BackoffRate^count`, capped by
//!   `MaxDelaySeconds`, in whole seconds, without jitter);
//! - otherwise the first matching catcher makes the answer `CAUGHT_ERROR`: the output is the state
//!   input with the error output placed at the catcher's `ResultPath` (JSONata: the catcher's
//!   `Output`, else the error output), and `nextState` is the catcher's `Next`;
//! - otherwise the answer is `FAILED`. `States.Runtime` is never retried nor caught.
//!
//! # JSONata states
//!
//! A state whose query language is JSONata is evaluated as [`step`](crate::execution::step)
//! evaluates it: the same template evaluation ([`Template::evaluate_jsonata`]) for `Arguments`,
//! `ItemSelector`, `Output` and `Assign`, the same single-value fields (`Condition`, `Seconds`,
//! `Timestamp`, `TimeoutSeconds`, `MaxConcurrency`, the tolerated failures, a Fail state's
//! `Error` and `Cause`, a Map's `Items`: `execution::jsonata_fields`), in the same order, with
//! `$states.input`, `$states.context`, `$states.result` (after the invocation) and
//! `$states.errorOutput` (in a catcher) bound as there. A failed expression raises
//! `States.QueryEvaluationError`, which Retry and Catch handle like any other error. Its cause is
//! the sentence an execution records (`The JSONata expression '...' specified for the field '...'
//! ...`) without the execution's `An error occurred while executing the state '...' (entered at
//! the event id #n).` prefix: a TestState answer has no history (AWS recorded no TestState
//! answer with such an error; JSONPath runtime errors are worded the same way here).
//!
//! A Map state's tolerated failure thresholds are checked against
//! `stateConfiguration.mapIterationFailureCount` only when the state defines a threshold (AWS
//! answers `SUCCEEDED` for a Map without one, whatever the count); exceeding one raises
//! `States.ExceedToleratedFailureThreshold`.
//!
//! # Inspection data
//!
//! Which fields appear follows what AWS recorded: a Pass state with `Result` reports `input`,
//! `result`, `afterResultSelector` and `afterResultPath`; a Pass state without it reports
//! `afterInputPath` and `afterParameters` instead of `result`; a Task reports all six; Choice,
//! Wait, Succeed and Fail report `input` and `afterInputPath`; a Map reports `afterInputPath`,
//! `afterItemsPath`, `maxConcurrency` and the thresholds it defines. An error handled by Retry or
//! Catch adds `errorDetails`; `variables` appears when the state sees any variable. Fields of
//! steps after an error are absent. AWS's recordings do not show what a Parallel state, or a Map
//! state that succeeds, reports after its result: here they report `afterResultSelector` and
//! `afterResultPath` (a Parallel state also `afterParameters`), as a Task does, but no `result`.
//!
//! A JSONata state has no `InputPath`, `Parameters`, `ResultSelector` or `ResultPath`, and AWS
//! reports no step of `Output`: every state reports `input`; a Task also `afterArguments` and
//! `result`; a Map `maxConcurrency` and the thresholds it defines (not `afterItemsPath`), as AWS
//! recorded. Not recorded, chosen here: a Task without `Arguments` reports no `afterArguments`
//! (the API reference describes the field as the input after the `Arguments` filter); a Parallel
//! state reports only `input` (LocalStack, which checks its TestState against AWS, drops
//! `afterArguments` there); a Map with an `ItemSelector` reports `afterItemSelector`, which the
//! API reference does not restrict to JSONPath as it does `afterItemsPath` and `afterInputPath`.
//!
//! [`InspectionData::to_json`] and [`TestStateResponse::to_json`] give AWS's wire form, where
//! every payload is JSON text.
//!
//! # Request validation
//!
//! Checked in this order, each with AWS's wording: an empty `stateName`; a mock with both `result`
//! and `errorOutput`; `revealSecrets` with a mock; the definition (a whole state machine, validated
//! as `CreateStateMachine` does, or a single state); the state's name; a mock on a state type that
//! takes none (only Task, Map and Parallel do); `mapIterationFailureCount` without a mock; a Map or
//! Parallel state without a mock; a Task without a mock and without a role; the mocked result's
//! JSON and shape (a Task's against its service API's output shape, per
//! `mock.fieldValidationMode`: [`TestStateError::MockResultSchema`]); the context object; the
//! variables; the input.
//!
//! # Not done yet
//!
//! - A Task without a mock answers [`TestStateError::TaskWithoutMock`]: this crate calls no
//!   service.
//! - Mocked results are checked against the service API models only for the operations listed in
//!   `scripts/gen-mock-shapes.py` (see the submodule `mock_result`); other Tasks' results are
//!   taken as they are, whatever `mock.fieldValidationMode` says.

use crate::choice::parse_timestamp;
use crate::definition::{
    Amount, Catcher, Choice, ChoiceBranch, FailText, MapState, QueryLanguage, ResultPath, Retrier,
    Scope, State, StateKind, StateMachine, Tolerance, Transition, WaitFor,
};
use crate::error::{Failure, names};
use crate::execution::jsonata_fields;
use crate::execution::{number_as_u64, value_text};
use crate::json_text;
use crate::jsonata::{self, Expression};
use crate::path::{Env, Path};
use crate::rng::Rng;
use crate::template::Template;
use crate::validate::{self, ValidationOptions};
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use thiserror::Error;

mod mock_result;

/// The name a single-state definition is tested under, and the state name the default context
/// object shows (AWS shows `StateName` there whatever the state is called).
const STATE_NAME: &str = "StateName";

/// The state machine the default context object describes.
const STATE_MACHINE_NAME: &str = "TestStateMachine";

/// How much detail the answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InspectionLevel {
    /// Status, output or error, next state.
    #[default]
    Info,
    /// Also the data after each processing step.
    Debug,
    /// Also the HTTP request and response of an HTTP Task (none here).
    Trace,
}

impl InspectionLevel {
    /// Parses AWS's `INFO`, `DEBUG` or `TRACE`.
    pub fn parse(text: &str) -> Option<InspectionLevel> {
        match text {
            "INFO" => Some(InspectionLevel::Info),
            "DEBUG" => Some(InspectionLevel::Debug),
            "TRACE" => Some(InspectionLevel::Trace),
            _ => None,
        }
    }
}

/// How strictly a Task's mocked result is checked against the output shape of the service API it
/// calls (for the operations `scripts/gen-mock-shapes.py` lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidationMode {
    /// Required fields present, present fields well typed (AWS's default).
    #[default]
    Strict,
    /// Present fields well typed.
    Present,
    /// No check.
    None,
}

impl FieldValidationMode {
    /// Parses AWS's `STRICT`, `PRESENT` or `NONE`.
    pub fn parse(text: &str) -> Option<FieldValidationMode> {
        match text {
            "STRICT" => Some(FieldValidationMode::Strict),
            "PRESENT" => Some(FieldValidationMode::Present),
            "NONE" => Some(FieldValidationMode::None),
            _ => None,
        }
    }
}

/// `mock.errorOutput`: the error the state's invocation raises.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MockErrorOutput {
    /// `error`.
    pub error: Option<String>,
    /// `cause`.
    pub cause: Option<String>,
}

/// `mock`: what the state's invocation answers instead of calling anything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mock {
    /// `result`: the invocation's result, as JSON text.
    pub result: Option<String>,
    /// `errorOutput`: the invocation's error.
    pub error_output: Option<MockErrorOutput>,
    /// `fieldValidationMode`.
    pub field_validation_mode: FieldValidationMode,
}

/// `stateConfiguration`: the moment of the execution being tested.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StateConfiguration {
    /// `retrierRetryCount`: retries already made by the retrier that handles the mocked error.
    pub retrier_retry_count: Option<u64>,
    /// `errorCausedByState`: the state inside a Map or Parallel that raised the mocked error.
    pub error_caused_by_state: Option<String>,
    /// `mapIterationFailureCount`: how many Map iterations failed.
    pub map_iteration_failure_count: Option<u64>,
    /// `mapItemReaderData`: what a Map's `ItemReader` read, as text.
    pub map_item_reader_data: Option<String>,
}

/// A `TestState` request. Text fields hold JSON text, as AWS receives them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TestStateRequest {
    /// `definition`: a state, or a whole state machine (then `state_name` picks the state).
    pub definition: String,
    /// `stateName`: the state to test in a whole state machine (its `StartAt` by default).
    pub state_name: Option<String>,
    /// `input` (`{}` when absent).
    pub input: Option<String>,
    /// `roleArn`.
    pub role_arn: Option<String>,
    /// `inspectionLevel`.
    pub inspection_level: InspectionLevel,
    /// `revealSecrets`.
    pub reveal_secrets: bool,
    /// `variables`: a JSON object of workflow variables.
    pub variables: Option<String>,
    /// `mock`.
    pub mock: Option<Mock>,
    /// `context`: a JSON object that overrides parts of the context object.
    pub context: Option<String>,
    /// `stateConfiguration`.
    pub state_configuration: Option<StateConfiguration>,
    /// The time the test runs at (the context object's times).
    pub now: Timestamp,
    /// The seed of every random choice (`States.UUID`, generated names).
    pub seed: u64,
}

/// `status`: what the state did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStatus {
    /// It completed.
    Succeeded,
    /// It failed and nothing handled the error.
    Failed,
    /// It failed and a retrier would run it again.
    Retriable,
    /// It failed and a catcher handled the error.
    CaughtError,
}

impl TestStatus {
    /// AWS's name: `SUCCEEDED`, `FAILED`, `RETRIABLE` or `CAUGHT_ERROR`.
    pub fn as_str(self) -> &'static str {
        match self {
            TestStatus::Succeeded => "SUCCEEDED",
            TestStatus::Failed => "FAILED",
            TestStatus::Retriable => "RETRIABLE",
            TestStatus::CaughtError => "CAUGHT_ERROR",
        }
    }
}

/// `inspectionData.errorDetails`: how Retry or Catch handled the error.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorDetails {
    /// `catchIndex`: the catcher that handled the error.
    pub catch_index: Option<usize>,
    /// `retryIndex`: the retrier that would retry.
    pub retry_index: Option<usize>,
    /// `retryBackoffIntervalSeconds`: how long before the retry.
    pub retry_backoff_interval_seconds: Option<u64>,
}

/// `inspectionData`: the data after each processing step the state went through.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InspectionData {
    /// `input`: the state input.
    pub input: Option<Value>,
    /// `afterInputPath` (JSONPath).
    pub after_input_path: Option<Value>,
    /// `afterArguments` (JSONata).
    pub after_arguments: Option<Value>,
    /// `afterParameters` (JSONPath).
    pub after_parameters: Option<Value>,
    /// `result`: what the invocation returned.
    pub result: Option<Value>,
    /// `afterResultSelector`.
    pub after_result_selector: Option<Value>,
    /// `afterResultPath`.
    pub after_result_path: Option<Value>,
    /// `variables`: the workflow variables after the state.
    pub variables: Option<Map<String, Value>>,
    /// `errorDetails`.
    pub error_details: Option<ErrorDetails>,
    /// `afterItemsPath` (Map).
    pub after_items_path: Option<Value>,
    /// `afterItemSelector` (Map).
    pub after_item_selector: Option<Value>,
    /// `toleratedFailureCount` (Map).
    pub tolerated_failure_count: Option<u64>,
    /// `toleratedFailurePercentage` (Map).
    pub tolerated_failure_percentage: Option<f64>,
    /// `maxConcurrency` (Map).
    pub max_concurrency: Option<u64>,
}

impl InspectionData {
    /// The data as AWS sends it: payloads as JSON text, counts as numbers.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        let mut text = |key: &str, value: &Option<Value>| {
            if let Some(v) = value {
                out.insert(key.into(), Value::String(v.to_string()));
            }
        };
        text("input", &self.input);
        text("afterInputPath", &self.after_input_path);
        text("afterArguments", &self.after_arguments);
        text("afterParameters", &self.after_parameters);
        text("result", &self.result);
        text("afterResultSelector", &self.after_result_selector);
        text("afterResultPath", &self.after_result_path);
        if let Some(vars) = &self.variables {
            out.insert(
                "variables".into(),
                Value::String(Value::Object(vars.clone()).to_string()),
            );
        }
        if let Some(d) = &self.error_details {
            let mut details = Map::new();
            if let Some(i) = d.catch_index {
                details.insert("catchIndex".into(), i.into());
            }
            if let Some(i) = d.retry_index {
                details.insert("retryIndex".into(), i.into());
            }
            if let Some(s) = d.retry_backoff_interval_seconds {
                details.insert("retryBackoffIntervalSeconds".into(), s.into());
            }
            out.insert("errorDetails".into(), Value::Object(details));
        }
        if let Some(v) = &self.after_items_path {
            out.insert("afterItemsPath".into(), Value::String(v.to_string()));
        }
        if let Some(v) = &self.after_item_selector {
            out.insert("afterItemSelector".into(), Value::String(v.to_string()));
        }
        if let Some(n) = self.tolerated_failure_count {
            out.insert("toleratedFailureCount".into(), n.into());
        }
        if let Some(p) = self.tolerated_failure_percentage {
            out.insert("toleratedFailurePercentage".into(), json!(p));
        }
        if let Some(n) = self.max_concurrency {
            out.insert("maxConcurrency".into(), n.into());
        }
        Value::Object(out)
    }
}

/// A `TestState` answer.
#[derive(Debug, Clone, PartialEq)]
pub struct TestStateResponse {
    /// `status`.
    pub status: TestStatus,
    /// `output`: the state output (`SUCCEEDED`, `CAUGHT_ERROR`).
    pub output: Option<Value>,
    /// `error` (`FAILED`, `RETRIABLE`, `CAUGHT_ERROR`).
    pub error: Option<String>,
    /// `cause`.
    pub cause: Option<String>,
    /// `nextState`: where the execution would go (absent at the end or after a failure).
    pub next_state: Option<String>,
    /// `inspectionData` (levels `DEBUG` and `TRACE`).
    pub inspection_data: Option<InspectionData>,
}

impl TestStateResponse {
    /// The answer as AWS sends it: `output` as JSON text, absent fields left out.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        if let Some(v) = &self.output {
            out.insert("output".into(), Value::String(v.to_string()));
        }
        if let Some(e) = &self.error {
            out.insert("error".into(), Value::String(e.clone()));
        }
        if let Some(c) = &self.cause {
            out.insert("cause".into(), Value::String(c.clone()));
        }
        if let Some(d) = &self.inspection_data {
            out.insert("inspectionData".into(), d.to_json());
        }
        if let Some(n) = &self.next_state {
            out.insert("nextState".into(), Value::String(n.clone()));
        }
        out.insert("status".into(), Value::String(self.status.as_str().into()));
        Value::Object(out)
    }
}

/// A request `TestState` refuses. [`TestStateError::code`] is AWS's error code; the message is
/// AWS's as recorded, except where no recording exists: [`TestStateError::InvalidVariables`], the
/// type errors of [`TestStateError::InvalidContext`] other than a non-string, and the variants
/// that say what weir cannot do yet ([`TestStateError::is_unsupported`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TestStateError {
    /// `stateName` is empty (AWS's SDKs refuse it before sending).
    #[error(
        "Parameter validation failed:\nInvalid length for parameter stateName, value: 0, valid min length: 1"
    )]
    EmptyStateName,
    /// The definition is not a valid state machine or state.
    #[error("{cause}")]
    InvalidDefinition {
        /// AWS's cause, e.g. `Invalid State Machine Definition: '...'`.
        cause: String,
    },
    /// `stateName` names no state of the definition.
    #[error("State not found in definition")]
    StateNotFound {
        /// The name asked for.
        name: String,
    },
    /// The mock has both a result and an error.
    #[error("A test mock should have only one of the following fields: [result, errorOutput].")]
    MockResultAndError,
    /// `revealSecrets` with a mock.
    #[error("TestState does not support RevealSecrets when a mock is specified.")]
    RevealSecretsWithMock,
    /// A mock for a state that invokes nothing.
    #[error("State type '{state_type}' is not supported when a mock is specified")]
    MockNotSupported {
        /// The state's `Type`.
        state_type: String,
    },
    /// `mapIterationFailureCount` without a mock.
    #[error("TestState does not support MapIterationFailureCount when a mock is not specified.")]
    MapIterationFailureCountWithoutMock,
    /// A Map or Parallel state without a mock.
    #[error(
        "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]"
    )]
    MockRequired,
    /// A Task without a mock and without a role to call its service with.
    #[error("RoleArn must be specified when testing a Task state")]
    RoleArnRequired,
    /// The mocked result is not JSON.
    #[error("Mocked result must be valid JSON")]
    MockResultNotJson,
    /// A Map or Parallel state's mocked result is not an array.
    #[error("Mocked result must be an array.")]
    MockResultNotArray,
    /// A Map state with a `ResultWriter` has a mocked result that is not an object.
    #[error("Mocked result must be a JSON object.")]
    MockResultNotObject,
    /// A Task's mocked result does not fit the output shape of the service API it calls.
    #[error("Mock result schema validation error: {reason}")]
    MockResultSchema {
        /// What is wrong, e.g. `Field 'CiphertextBlob' must be a string`.
        reason: String,
    },
    /// A Parallel state's mocked result has not one item per branch.
    #[error("Mocked result must contain the same number of items as number of Parallel branches.")]
    MockResultBranchCount,
    /// The context object is malformed or does not fit the state.
    #[error("Invalid Context object provided: {reason}")]
    InvalidContext {
        /// What is wrong.
        reason: String,
    },
    /// The variables are not a JSON object.
    #[error("Invalid variables provided: {reason}")]
    InvalidVariables {
        /// What is wrong.
        reason: String,
    },
    /// The input is not JSON.
    #[error("{cause}")]
    InvalidInput {
        /// AWS's cause, e.g. `Invalid State Machine Execution Input: '...'`.
        cause: String,
    },
    /// A Task without a mock: weir's TestState calls no service.
    #[error(
        "weir's TestState cannot call the service of '{resource}'; specify a mock result or errorOutput"
    )]
    TaskWithoutMock {
        /// The Task's `Resource`.
        resource: String,
    },
}

impl TestStateError {
    /// AWS's error code: `ValidationException`, `InvalidDefinition`, `InvalidExecutionInput` or
    /// (for an empty state name, which AWS's SDKs refuse themselves) `ParamValidationError`.
    pub fn code(&self) -> &'static str {
        match self {
            TestStateError::EmptyStateName => "ParamValidationError",
            TestStateError::InvalidDefinition { .. } | TestStateError::MockRequired => {
                "InvalidDefinition"
            }
            TestStateError::InvalidInput { .. } => "InvalidExecutionInput",
            _ => "ValidationException",
        }
    }

    /// Whether AWS would have run the request and only weir cannot yet.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, TestStateError::TaskWithoutMock { .. })
    }
}

impl TestStateRequest {
    /// The request as the `TestState` API carries it (camelCase JSON: `definition`, `stateName`,
    /// `input`, `roleArn`, `inspectionLevel`, `revealSecrets`, `variables`, `mock`, `context`,
    /// `stateConfiguration`); fields of the wrong type are left out. `now` and `seed` stand for the
    /// clock and the randomness.
    pub fn from_api(args: &Value, now: Timestamp, seed: u64) -> TestStateRequest {
        let text = |key: &str| args.get(key).and_then(Value::as_str).map(str::to_string);
        let mock = args.get("mock").filter(|m| m.is_object()).map(|m| Mock {
            result: m.get("result").and_then(Value::as_str).map(str::to_string),
            error_output: m
                .get("errorOutput")
                .filter(|e| e.is_object())
                .map(|e| MockErrorOutput {
                    error: e.get("error").and_then(Value::as_str).map(str::to_string),
                    cause: e.get("cause").and_then(Value::as_str).map(str::to_string),
                }),
            field_validation_mode: m
                .get("fieldValidationMode")
                .and_then(Value::as_str)
                .and_then(FieldValidationMode::parse)
                .unwrap_or_default(),
        });
        let state_configuration = args
            .get("stateConfiguration")
            .filter(|c| c.is_object())
            .map(|c| StateConfiguration {
                retrier_retry_count: c.get("retrierRetryCount").and_then(Value::as_u64),
                error_caused_by_state: c
                    .get("errorCausedByState")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                map_iteration_failure_count: c
                    .get("mapIterationFailureCount")
                    .and_then(Value::as_u64),
                map_item_reader_data: c
                    .get("mapItemReaderData")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
        TestStateRequest {
            definition: text("definition").unwrap_or_default(),
            state_name: text("stateName"),
            input: text("input"),
            role_arn: text("roleArn"),
            inspection_level: text("inspectionLevel")
                .as_deref()
                .and_then(InspectionLevel::parse)
                .unwrap_or_default(),
            reveal_secrets: args
                .get("revealSecrets")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            variables: text("variables"),
            mock,
            context: text("context"),
            state_configuration,
            now,
            seed,
        }
    }
}

/// Runs one state as AWS's `TestState` does. See the module documentation.
pub fn test_state(request: &TestStateRequest) -> Result<TestStateResponse, TestStateError> {
    if request.state_name.as_deref() == Some("") {
        return Err(TestStateError::EmptyStateName);
    }
    if let Some(mock) = &request.mock {
        if mock.result.is_some() && mock.error_output.is_some() {
            return Err(TestStateError::MockResultAndError);
        }
        if request.reveal_secrets {
            return Err(TestStateError::RevealSecretsWithMock);
        }
    }
    let machine = load(&request.definition)?;
    let state = match &request.state_name {
        Some(name) => find_state(&machine.scope, name)
            .ok_or_else(|| TestStateError::StateNotFound { name: name.clone() })?,
        None => machine.scope.get(&machine.scope.start_at).ok_or_else(|| {
            TestStateError::StateNotFound {
                name: machine.scope.start_at.clone(),
            }
        })?,
    };
    let config = request.state_configuration.clone().unwrap_or_default();
    let mock = match &request.mock {
        Some(mock) => {
            if !matches!(
                state.kind,
                StateKind::Task(_) | StateKind::Map(_) | StateKind::Parallel(_)
            ) {
                return Err(TestStateError::MockNotSupported {
                    state_type: state.kind.type_name().to_string(),
                });
            }
            Some(mocked_answer(mock, state)?)
        }
        None => {
            if config.map_iteration_failure_count.is_some() {
                return Err(TestStateError::MapIterationFailureCountWithoutMock);
            }
            match &state.kind {
                StateKind::Map(_) | StateKind::Parallel(_) => {
                    return Err(TestStateError::MockRequired);
                }
                StateKind::Task(_) if request.role_arn.is_none() => {
                    return Err(TestStateError::RoleArnRequired);
                }
                StateKind::Task(task) => {
                    return Err(TestStateError::TaskWithoutMock {
                        resource: task.resource.clone(),
                    });
                }
                _ => None,
            }
        }
    };
    let given_context = match &request.context {
        Some(text) => Some(parse_context(text, state)?),
        None => None,
    };
    let variables = match &request.variables {
        Some(text) => match json_text::parse(text) {
            Ok(Value::Object(vars)) => vars,
            Ok(_) => {
                return Err(TestStateError::InvalidVariables {
                    reason: "variables must be a JSON object".into(),
                });
            }
            Err(e) => {
                return Err(TestStateError::InvalidVariables { reason: e.message });
            }
        },
        None => Map::new(),
    };
    let input = match &request.input {
        Some(text) => json_text::parse_execution_input(text)
            .map_err(|cause| TestStateError::InvalidInput { cause })?,
        None => Value::Object(Map::new()),
    };
    let mut rng = Rng::new(request.seed);
    let context = context_object(request, state, &input, given_context, &config, &mut rng);
    let mut run = Run {
        state,
        input,
        context,
        variables,
        rng,
        data: InspectionData::default(),
        config,
        mock,
    };
    let ending = run.run();
    Ok(run.respond(ending, request.inspection_level))
}

/// Loads the definition: a whole state machine (it has `States`) or one state.
fn load(text: &str) -> Result<StateMachine, TestStateError> {
    let options = ValidationOptions::default();
    let invalid = |diagnostics: &[validate::Diagnostic]| TestStateError::InvalidDefinition {
        cause: validate::invalid_definition_cause(diagnostics, text),
    };
    let value = json_text::parse(text).map_err(|e| TestStateError::InvalidDefinition {
        cause: format!(
            "Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {}'",
            e.full_message()
        ),
    })?;
    if value.get("States").is_some() {
        return StateMachine::load_text(text, &options).map_err(|d| invalid(&d));
    }
    let diagnostics = validate::validate_state(&value, &options);
    if validate::has_errors(&diagnostics) {
        return Err(invalid(&diagnostics));
    }
    let machine = json!({ "StartAt": STATE_NAME, "States": { STATE_NAME: value } });
    StateMachine::from_value(&machine).map_err(|problems| TestStateError::InvalidDefinition {
        cause: format!(
            "Invalid State Machine Definition: '{}'",
            problems
                .iter()
                .map(|p| format!(
                    "{}: {} at {}",
                    validate::codes::SCHEMA_VALIDATION_FAILED,
                    p.message,
                    p.location.replacen(&format!("/States/{STATE_NAME}"), "", 1)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// The state of this name anywhere in the definition: top level, Parallel branches, Map
/// processors.
fn find_state<'a>(scope: &'a Scope, name: &str) -> Option<&'a State> {
    if let Some(state) = scope.get(name) {
        return Some(state);
    }
    scope.states.iter().find_map(|state| match &state.kind {
        StateKind::Parallel(p) => p.branches.iter().find_map(|b| find_state(b, name)),
        StateKind::Map(m) => find_state(&m.processor, name),
        _ => None,
    })
}

/// The mocked invocation's answer, checked against the state it is for.
fn mocked_answer(mock: &Mock, state: &State) -> Result<Result<Value, Failure>, TestStateError> {
    if let Some(e) = &mock.error_output {
        return Ok(Err(Failure::new(
            e.error.clone().unwrap_or_default(),
            e.cause.clone().unwrap_or_default(),
        )));
    }
    let Some(text) = &mock.result else {
        return Ok(Ok(Value::Null));
    };
    let result: Value =
        serde_json::from_str(text).map_err(|_| TestStateError::MockResultNotJson)?;
    // A Map's mocked result is its whole result: the array of iteration results, or the
    // `ResultWriter`'s answer. A Parallel state's has one item per branch.
    let problem = match (&state.kind, &result) {
        (StateKind::Map(map), _) if map.result_writer.is_some() => {
            (!result.is_object()).then_some(TestStateError::MockResultNotObject)
        }
        (StateKind::Map(_), _) => {
            (!result.is_array()).then_some(TestStateError::MockResultNotArray)
        }
        (StateKind::Parallel(par), Value::Array(items)) => {
            (items.len() != par.branches.len()).then_some(TestStateError::MockResultBranchCount)
        }
        (StateKind::Parallel(_), _) => Some(TestStateError::MockResultNotArray),
        (StateKind::Task(task), _) => {
            mock_result::check(&task.resource, &result, mock.field_validation_mode).err()
        }
        _ => None,
    };
    match problem {
        Some(problem) => Err(problem),
        None => Ok(Ok(result)),
    }
}

/// The fields a given context object may have, and their types.
const CONTEXT_FIELDS: [(&str, &[(&str, FieldType)]); 4] = [
    (
        "Execution",
        &[
            ("Id", FieldType::String),
            ("Input", FieldType::Any),
            ("Name", FieldType::String),
            ("RoleArn", FieldType::String),
            ("StartTime", FieldType::String),
            ("RedriveCount", FieldType::Integer),
            ("RedriveTime", FieldType::String),
        ],
    ),
    (
        "State",
        &[
            ("EnteredTime", FieldType::String),
            ("Name", FieldType::String),
            ("RetryCount", FieldType::Integer),
        ],
    ),
    (
        "StateMachine",
        &[("Id", FieldType::String), ("Name", FieldType::String)],
    ),
    ("Task", &[("Token", FieldType::String)]),
];

#[derive(Clone, Copy)]
enum FieldType {
    String,
    Integer,
    Any,
}

/// Parses and checks a given context object. `null` fields count as absent.
fn parse_context(text: &str, state: &State) -> Result<Map<String, Value>, TestStateError> {
    let invalid = |reason: String| TestStateError::InvalidContext { reason };
    let value = json_text::parse(text).map_err(|e| invalid(e.message))?;
    let Value::Object(context) = value else {
        return Err(invalid("the context object must be a JSON object".into()));
    };
    for (key, part) in &context {
        if key == "Map" {
            return Err(invalid(
                "'Map' field is not supported when mocking a Context object".into(),
            ));
        }
        let Some((_, fields)) = CONTEXT_FIELDS.iter().find(|(name, _)| name == key) else {
            return Err(invalid(format!("Field '{key}' is not allowed")));
        };
        let part = match part {
            Value::Null => continue,
            Value::Object(part) => part,
            _ => return Err(invalid(format!("{key} must be an object"))),
        };
        for (field, v) in part {
            let Some((_, kind)) = fields.iter().find(|(name, _)| name == field) else {
                return Err(invalid(format!("Field '{field}' is not allowed")));
            };
            let fits = match kind {
                FieldType::String => v.is_string() || v.is_null(),
                FieldType::Integer => v.is_i64() || v.is_u64() || v.is_null(),
                FieldType::Any => true,
            };
            if !fits {
                let expected = match kind {
                    FieldType::Integer => "an integer",
                    _ => "a string",
                };
                return Err(invalid(format!("{key}.{field} must be {expected}")));
            }
        }
    }
    if context.get("Task").is_some_and(|t| !t.is_null()) && !waits_for_callback(state) {
        return Err(invalid(
            "Context object contains 'Task' when state is not a Task state with a '.sync' or \
             '.waitForTaskToken' service integration pattern"
                .into(),
        ));
    }
    Ok(context)
}

/// Whether the state is a Task that runs a `.sync` or `.waitForTaskToken` integration.
fn waits_for_callback(state: &State) -> bool {
    match &state.kind {
        StateKind::Task(task) => {
            let pattern = task.resource.rsplit_once('.').map(|(_, p)| p);
            matches!(pattern, Some("sync" | "sync:2" | "waitForTaskToken"))
        }
        _ => false,
    }
}

/// The context object the state sees: AWS's defaults for a test run, overridden field by field
/// by the given context.
fn context_object(
    request: &TestStateRequest,
    state: &State,
    input: &Value,
    given: Option<Map<String, Value>>,
    config: &StateConfiguration,
    rng: &mut Rng,
) -> Value {
    let now = request.now.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let execution_name = rng.uuid();
    let prefix = "arn:aws:states:us-east-1:000000000000";
    let mut current = json!({ "Name": STATE_NAME, "EnteredTime": now });
    if matches!(
        state.kind,
        StateKind::Task(_) | StateKind::Map(_) | StateKind::Parallel(_)
    ) && let Value::Object(m) = &mut current
    {
        m.insert(
            "RetryCount".into(),
            config.retrier_retry_count.unwrap_or(0).into(),
        );
    }
    let mut context = json!({
        "Execution": {
            "Id": format!("{prefix}:express:{STATE_MACHINE_NAME}:{execution_name}"),
            "Input": input,
            "Name": execution_name,
            "RoleArn": request.role_arn,
            "StartTime": now,
        },
        "StateMachine": {
            "Id": format!("{prefix}:stateMachine:{STATE_MACHINE_NAME}"),
            "Name": STATE_MACHINE_NAME,
        },
        "State": current,
    });
    let Value::Object(ctx) = &mut context else {
        return context;
    };
    if waits_for_callback(state) {
        ctx.insert("Task".into(), json!({ "Token": rng.uuid() }));
    }
    for (key, part) in given.into_iter().flatten() {
        let Value::Object(fields) = part else {
            continue;
        };
        match ctx.get_mut(&key) {
            Some(Value::Object(existing)) => {
                for (field, v) in fields {
                    if !v.is_null() {
                        existing.insert(field, v);
                    }
                }
            }
            _ => {
                ctx.insert(key, Value::Object(fields));
            }
        }
    }
    context
}

/// How the state ended before Retry and Catch had their say.
enum Ending {
    /// It completed with this output (after `OutputPath`) and goes to `next`.
    Done { output: Value, next: Option<String> },
    /// It raised an error.
    Error(Failure),
}

struct Run<'a> {
    state: &'a State,
    input: Value,
    context: Value,
    variables: Map<String, Value>,
    rng: Rng,
    data: InspectionData,
    config: StateConfiguration,
    mock: Option<Result<Value, Failure>>,
}

impl Run<'_> {
    fn env<'e>(&'e self, input: &'e Value) -> Env<'e> {
        Env {
            input,
            context: &self.context,
            variables: &self.variables,
        }
    }

    /// What a JSONata expression sees (`$states.input`, `$states.context`, the variables, and
    /// `$states.result` or `$states.errorOutput` where given), with the random source.
    fn jsonata<'s>(
        &'s mut self,
        result: Option<&'s Value>,
        error_output: Option<&'s Value>,
    ) -> (jsonata::Scope<'s>, &'s mut Rng) {
        let scope = jsonata::Scope {
            input: &self.input,
            result,
            error_output,
            context: &self.context,
            variables: &self.variables,
        };
        (scope, &mut self.rng)
    }

    fn is_jsonata(&self) -> bool {
        self.state.query_language == QueryLanguage::Jsonata
    }

    fn run(&mut self) -> Ending {
        self.data.input = Some(self.input.clone());
        let body = if self.is_jsonata() {
            self.jsonata_body()
        } else {
            self.body()
        };
        match body {
            Ok(ending) => ending,
            Err(f) => Ending::Error(f),
        }
    }

    fn body(&mut self) -> Result<Ending, Failure> {
        let state = self.state;
        match &state.kind {
            StateKind::Pass(pass) => {
                let effective = self.input_path()?;
                let result = match &pass.result {
                    Some(result) => {
                        self.data.result = Some(result.clone());
                        result.clone()
                    }
                    None => {
                        self.data.after_input_path = Some(effective.clone());
                        let params = self.template(pass.parameters.as_ref(), &effective)?;
                        self.data.after_parameters = Some(params.clone());
                        params
                    }
                };
                self.data.after_result_selector = Some(result.clone());
                let combined = self.result_path(&pass.result_path, result.clone())?;
                self.data.after_result_path = Some(combined.clone());
                self.leave(combined, &result, state.assign.as_ref(), None)
            }
            StateKind::Task(task) => {
                let effective = self.input_path()?;
                self.data.after_input_path = Some(effective.clone());
                let params = self.template(task.parameters.as_ref(), &effective)?;
                self.data.after_parameters = Some(params);
                self.amount(task.timeout.as_ref(), &effective, "TimeoutSecondsPath")?;
                self.amount(task.heartbeat.as_ref(), &effective, "HeartbeatSecondsPath")?;
                let result = self.invocation()?;
                self.data.result = Some(result.clone());
                self.complete(
                    &task.result.result_selector,
                    &task.result.result_path,
                    result,
                )
            }
            StateKind::Parallel(par) => {
                let effective = self.input_path()?;
                self.data.after_input_path = Some(effective.clone());
                let params = self.template(par.parameters.as_ref(), &effective)?;
                self.data.after_parameters = Some(params);
                let result = self.invocation()?;
                self.complete(&par.result.result_selector, &par.result.result_path, result)
            }
            StateKind::Map(map) => self.map(map),
            StateKind::Choice(choice) => {
                let effective = self.input_path()?;
                self.data.after_input_path = Some(effective.clone());
                match self.choose(choice, &effective)? {
                    Some(branch) => self.leave(
                        effective.clone(),
                        &effective,
                        branch.assign.as_ref(),
                        Some(branch.next.clone()),
                    ),
                    None => match &choice.default {
                        Some(default) => {
                            self.leave(effective.clone(), &effective, None, Some(default.clone()))
                        }
                        None => Err(no_choice_matched()),
                    },
                }
            }
            StateKind::Wait(wait) => {
                let effective = self.input_path()?;
                self.data.after_input_path = Some(effective.clone());
                self.check_wait(&wait.wait, &effective)?;
                self.leave(effective.clone(), &effective, state.assign.as_ref(), None)
            }
            StateKind::Succeed => {
                let effective = self.input_path()?;
                self.data.after_input_path = Some(effective.clone());
                self.leave(effective.clone(), &effective, state.assign.as_ref(), None)
            }
            StateKind::Fail(fail) => {
                self.data.after_input_path = Some(self.input.clone());
                let input = self.input.clone();
                let error = self.fail_text(fail.error.as_ref(), &input, "ErrorPath")?;
                let cause = self.fail_text(fail.cause.as_ref(), &input, "CausePath")?;
                Ok(Ending::Error(Failure::new(error, cause)))
            }
        }
    }

    /// A JSONata state: its fields read `$states.input` (there is no `InputPath`), a Task's
    /// `Arguments` is its invocation's input, and `Output` and `Assign` end the state. Evaluated
    /// as an execution evaluates them (see `step`), in the same order.
    fn jsonata_body(&mut self) -> Result<Ending, Failure> {
        let state = self.state;
        let input = self.input.clone();
        match &state.kind {
            StateKind::Pass(pass) => {
                let result = match (&pass.result, &pass.parameters) {
                    (Some(result), _) => result.clone(),
                    (None, Some(template)) => self.arguments(template, "Parameters")?,
                    (None, None) => input,
                };
                self.jsonata_complete(result)
            }
            StateKind::Task(task) => {
                if let Some(template) = &task.parameters {
                    let arguments = self.arguments(template, "Arguments")?;
                    self.data.after_arguments = Some(arguments);
                }
                self.amount(task.timeout.as_ref(), &input, "TimeoutSecondsPath")?;
                self.amount(task.heartbeat.as_ref(), &input, "HeartbeatSecondsPath")?;
                let result = self.invocation()?;
                self.data.result = Some(result.clone());
                self.jsonata_complete(result)
            }
            StateKind::Parallel(par) => {
                if let Some(template) = &par.parameters {
                    self.arguments(template, "Arguments")?;
                }
                let result = self.invocation()?;
                self.jsonata_complete(result)
            }
            StateKind::Map(map) => self.map(map),
            StateKind::Choice(choice) => match self.choose(choice, &input)? {
                Some(branch) => self.jsonata_leave(
                    input,
                    None,
                    branch.assign.as_ref(),
                    branch.output.as_ref(),
                    Some(branch.next.clone()),
                ),
                None => match &choice.default {
                    Some(default) => self.jsonata_leave(
                        input,
                        None,
                        state.assign.as_ref(),
                        state.output.as_ref(),
                        Some(default.clone()),
                    ),
                    None => Err(no_choice_matched()),
                },
            },
            StateKind::Wait(wait) => {
                self.check_wait(&wait.wait, &input)?;
                self.jsonata_leave(
                    input,
                    None,
                    state.assign.as_ref(),
                    state.output.as_ref(),
                    None,
                )
            }
            StateKind::Succeed => self.jsonata_leave(
                input,
                None,
                state.assign.as_ref(),
                state.output.as_ref(),
                None,
            ),
            StateKind::Fail(fail) => {
                let error = self.fail_text(fail.error.as_ref(), &input, "ErrorPath")?;
                let cause = self.fail_text(fail.cause.as_ref(), &input, "CausePath")?;
                Ok(Ending::Error(Failure::new(error, cause)))
            }
        }
    }

    /// A JSONata payload template that reads the state input (`Arguments`).
    fn arguments(&mut self, template: &Template, field: &str) -> Result<Value, Failure> {
        let (scope, rng) = self.jsonata(None, None);
        template.evaluate_jsonata(&scope, rng, field)
    }

    /// The first Choice rule that matches the effective input, if any.
    fn choose<'c>(
        &mut self,
        choice: &'c Choice,
        effective: &Value,
    ) -> Result<Option<&'c ChoiceBranch>, Failure> {
        let env = Env {
            input: effective,
            context: &self.context,
            variables: &self.variables,
        };
        let scope = jsonata::Scope {
            input: &self.input,
            result: None,
            error_output: None,
            context: &self.context,
            variables: &self.variables,
        };
        let rng = &mut self.rng;
        let mut condition = |expr: &Expression| jsonata_fields::condition(expr, &scope, rng);
        for branch in &choice.choices {
            if branch.rule.evaluate(&env, &mut condition)? {
                return Ok(Some(branch));
            }
        }
        Ok(None)
    }

    /// The mocked invocation's result, or its error.
    fn invocation(&self) -> Result<Value, Failure> {
        match &self.mock {
            Some(answer) => answer.clone(),
            None => Ok(Value::Null),
        }
    }

    fn map(&mut self, map: &MapState) -> Result<Ending, Failure> {
        let jsonata = self.is_jsonata();
        let effective = if jsonata {
            self.input.clone()
        } else {
            let effective = self.input_path()?;
            self.data.after_input_path = Some(effective.clone());
            effective
        };
        let items = match (&map.item_reader, &self.config.map_item_reader_data) {
            (Some(_), Some(data)) => serde_json::from_str(data).map_err(|e| {
                Failure::new(
                    names::ITEM_READER_FAILED,
                    format!("The item reader data is not valid JSON: {e}"),
                )
            })?,
            (Some(_), None) => Value::Array(Vec::new()),
            (None, _) if jsonata => {
                let (scope, rng) = self.jsonata(None, None);
                Value::Array(jsonata_fields::items(map.items.as_ref(), &scope, rng)?)
            }
            (None, _) => {
                let items = match &map.items_path {
                    Some(p) => self.read(p, &effective)?,
                    None => effective.clone(),
                };
                self.data.after_items_path = Some(items.clone());
                items
            }
        };
        let Value::Array(items) = items else {
            return Err(Failure::runtime(format!(
                "Item path {} does not reference a JSON array: {}",
                map.items_path.as_ref().map(Path::as_str).unwrap_or("$"),
                items
            )));
        };
        if let Some(selector) = &map.item_selector {
            let mut selected = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                if let Value::Object(ctx) = &mut self.context {
                    ctx.insert(
                        "Map".into(),
                        json!({ "Item": { "Index": index, "Value": item } }),
                    );
                }
                let value = if jsonata {
                    let (scope, rng) = self.jsonata(None, None);
                    selector.evaluate_jsonata(&scope, rng, "ItemSelector")
                } else {
                    let env = Env {
                        input: &effective,
                        context: &self.context,
                        variables: &self.variables,
                    };
                    selector.evaluate(&env, &mut self.rng)
                };
                selected.push(value?);
            }
            if let Value::Object(ctx) = &mut self.context {
                ctx.remove("Map");
            }
            self.data.after_item_selector = Some(Value::Array(selected));
        }
        let max_concurrency = self.amount(
            map.max_concurrency.as_ref(),
            &effective,
            "MaxConcurrencyPath",
        )?;
        self.data.max_concurrency = Some(max_concurrency.unwrap_or(0));
        let count = self.tolerance(
            map.tolerated_failure_count.as_ref(),
            &effective,
            "ToleratedFailureCount",
        )?;
        let percentage = self.tolerance(
            map.tolerated_failure_percentage.as_ref(),
            &effective,
            "ToleratedFailurePercentage",
        )?;
        self.data.tolerated_failure_count = count.map(|c| c.max(0.0) as u64);
        self.data.tolerated_failure_percentage = percentage;
        let result = self.invocation()?;
        let failures = self.config.map_iteration_failure_count.unwrap_or(0) as f64;
        let over_count = count.is_some_and(|c| failures > c);
        let over_percentage = percentage
            .is_some_and(|p| !items.is_empty() && failures * 100.0 / items.len() as f64 > p);
        if over_count || over_percentage {
            return Err(Failure::new(
                names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                "The specified tolerated failure threshold was exceeded",
            ));
        }
        if jsonata {
            self.jsonata_complete(result)
        } else {
            self.complete(&map.result.result_selector, &map.result.result_path, result)
        }
    }

    /// `InputPath`.
    fn input_path(&self) -> Result<Value, Failure> {
        match &self.state.input_path {
            None => Ok(Value::Object(Map::new())),
            Some(p) => self.read(p, &self.input),
        }
    }

    /// Reads a path that must match, with AWS's error when it does not.
    fn read(&self, path: &Path, input: &Value) -> Result<Value, Failure> {
        path.select(&self.env(input)).ok_or_else(|| {
            Failure::runtime(format!(
                "Invalid path '{}' : No results for path: {}",
                path.as_str(),
                path.normalized()
            ))
        })
    }

    /// Evaluates `Parameters`-like templates; absent, the input passes through.
    fn template(&mut self, template: Option<&Template>, input: &Value) -> Result<Value, Failure> {
        match template {
            None => Ok(input.clone()),
            Some(t) => {
                let env = Env {
                    input,
                    context: &self.context,
                    variables: &self.variables,
                };
                t.evaluate(&env, &mut self.rng)
            }
        }
    }

    /// `ResultSelector`, `ResultPath`, `Assign` and `OutputPath` after an invocation's result.
    fn complete(
        &mut self,
        selector: &Option<Template>,
        result_path: &ResultPath,
        result: Value,
    ) -> Result<Ending, Failure> {
        let selected = match selector {
            Some(_) => self.template(selector.as_ref(), &result)?,
            None => result,
        };
        self.data.after_result_selector = Some(selected.clone());
        let combined = self.result_path(result_path, selected.clone())?;
        self.data.after_result_path = Some(combined.clone());
        self.leave(combined, &selected, self.state.assign.as_ref(), None)
    }

    /// Places `result` in the state input at `ResultPath`.
    fn result_path(&self, path: &ResultPath, result: Value) -> Result<Value, Failure> {
        match path {
            ResultPath::Discard => Ok(self.input.clone()),
            ResultPath::At(p) => {
                let mut doc = self.input.clone();
                p.assign(&mut doc, result).map_err(|e| {
                    Failure::new(
                        names::RESULT_PATH_MATCH_FAILURE,
                        format!(
                            "Unable to apply ResultPath \"{}\" to input \"{}\": {e}",
                            p.as_str(),
                            self.input
                        ),
                    )
                })?;
                Ok(doc)
            }
        }
    }

    /// Assigns variables (reading `assign_input`), applies `OutputPath` and picks the next state.
    fn leave(
        &mut self,
        output: Value,
        assign_input: &Value,
        assign: Option<&Template>,
        next: Option<String>,
    ) -> Result<Ending, Failure> {
        if let Some(template) = assign
            && let Value::Object(vars) = self.template(Some(template), assign_input)?
        {
            self.variables.extend(vars);
        }
        let output = match &self.state.output_path {
            None => Value::Object(Map::new()),
            Some(p) => self.read(p, &output)?,
        };
        let next = self.next(next);
        Ok(Ending::Done { output, next })
    }

    /// `Assign` and `Output` after a JSONata state's invocation (or a Pass state's result), both
    /// reading it as `$states.result`; without `Output` the result is the output.
    fn jsonata_complete(&mut self, result: Value) -> Result<Ending, Failure> {
        let state = self.state;
        self.jsonata_leave(
            result.clone(),
            Some(&result),
            state.assign.as_ref(),
            state.output.as_ref(),
            None,
        )
    }

    /// Ends a JSONata state as an execution does: `Assign`, then `Output` (`doc` without one),
    /// both reading the variables from before the state; then the variables are assigned and the
    /// next state picked.
    fn jsonata_leave(
        &mut self,
        doc: Value,
        result: Option<&Value>,
        assign: Option<&Template>,
        output: Option<&Template>,
        next: Option<String>,
    ) -> Result<Ending, Failure> {
        let (scope, rng) = self.jsonata(result, None);
        let assigned = match assign {
            Some(template) => match template.evaluate_jsonata(&scope, rng, "Assign")? {
                Value::Object(vars) => Some(vars),
                _ => None,
            },
            None => None,
        };
        let output = match output {
            Some(template) => template.evaluate_jsonata(&scope, rng, "Output")?,
            None => doc,
        };
        if let Some(vars) = assigned {
            self.variables.extend(vars);
        }
        let next = self.next(next);
        Ok(Ending::Done { output, next })
    }

    /// The next state: `next` when the state chose one (Choice), else its `Next`.
    fn next(&self, next: Option<String>) -> Option<String> {
        next.or_else(|| match &self.state.transition {
            Transition::Next(n) if !matches!(self.state.kind, StateKind::Succeed) => {
                Some(n.clone())
            }
            _ => None,
        })
    }

    /// A `...Path` number (timeouts, `MaxConcurrencyPath`), or its JSONata expression.
    fn amount(
        &mut self,
        amount: Option<&Amount>,
        input: &Value,
        field: &str,
    ) -> Result<Option<u64>, Failure> {
        match amount {
            None => Ok(None),
            Some(Amount::Const(n)) => Ok(Some(*n)),
            Some(Amount::Path(p)) => {
                let v = p.select(&self.env(input)).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The {field} parameter does not reference an input value: {}",
                        p.as_str()
                    ))
                })?;
                number_as_u64(&v).map(Some).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The {field} field refers to value \"{}\" which is not a valid integer: {}",
                        value_text(&v),
                        p.as_str()
                    ))
                })
            }
            Some(Amount::Jsonata(expr)) => {
                let (scope, rng) = self.jsonata(None, None);
                jsonata_fields::amount(expr, &scope, rng, field.trim_end_matches("Path"))
            }
        }
    }

    /// `ToleratedFailureCount`/`ToleratedFailurePercentage`, their `...Path`, or their JSONata
    /// expression.
    fn tolerance(
        &mut self,
        tolerance: Option<&Tolerance>,
        input: &Value,
        field: &str,
    ) -> Result<Option<f64>, Failure> {
        match tolerance {
            None => Ok(None),
            Some(Tolerance::Const(n)) => Ok(Some(*n)),
            Some(Tolerance::Path(p)) => {
                let v = p.select(&self.env(input)).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The {field}Path field refers to a path that does not exist: {}",
                        p.as_str()
                    ))
                })?;
                let n = match &v {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                };
                n.map(Some).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The {field}Path field refers to value \"{}\" which is not a valid number: {}",
                        value_text(&v),
                        p.as_str()
                    ))
                })
            }
            Some(Tolerance::Jsonata(expr)) => {
                let (scope, rng) = self.jsonata(None, None);
                jsonata_fields::tolerance(expr, &scope, rng, field)
            }
        }
    }

    /// Reads a Wait state's duration or deadline for the errors it can raise; nothing waits.
    fn check_wait(&mut self, wait: &WaitFor, input: &Value) -> Result<(), Failure> {
        match wait {
            WaitFor::Seconds(Amount::Path(p)) => {
                let v = p.select(&self.env(input)).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The SecondsPath parameter does not reference an input value: {}",
                        p.as_str()
                    ))
                })?;
                if !v.is_number() || number_as_u64(&v).is_none() {
                    return Err(Failure::runtime(format!(
                        "The SecondsPath parameter references an invalid value: {}",
                        p.as_str()
                    )));
                }
                Ok(())
            }
            WaitFor::Seconds(amount) => self.amount(Some(amount), input, "Seconds").map(|_| ()),
            WaitFor::Timestamp(_) => Ok(()),
            WaitFor::TimestampExpression(expr) => {
                let (scope, rng) = self.jsonata(None, None);
                jsonata_fields::timestamp(expr, &scope, rng).map(|_| ())
            }
            WaitFor::TimestampPath(p) => {
                let v = p.select(&self.env(input)).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The TimestampPath parameter does not reference an input value: {}",
                        p.as_str()
                    ))
                })?;
                v.as_str().and_then(parse_timestamp).map(|_| ()).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                        p.as_str(),
                        value_text(&v)
                    ))
                })
            }
        }
    }

    /// A Fail state's `Error`/`ErrorPath` or `Cause`/`CausePath`.
    fn fail_text(
        &mut self,
        text: Option<&FailText>,
        input: &Value,
        field: &str,
    ) -> Result<String, Failure> {
        match text {
            None => Ok(String::new()),
            Some(FailText::Const(s)) => Ok(s.clone()),
            Some(FailText::Dynamic(d)) => {
                let env = Env {
                    input,
                    context: &self.context,
                    variables: &self.variables,
                };
                d.evaluate(&env, &mut self.rng, field)
                    .map(|v| value_text(&v))
            }
            Some(FailText::Jsonata(expr)) => {
                let (scope, rng) = self.jsonata(None, None);
                jsonata_fields::text(expr, &scope, rng, field.trim_end_matches("Path"))
            }
        }
    }

    /// Hands an error to Retry and Catch, and builds the answer.
    fn respond(mut self, ending: Ending, level: InspectionLevel) -> TestStateResponse {
        let mut response = TestStateResponse {
            status: TestStatus::Succeeded,
            output: None,
            error: None,
            cause: None,
            next_state: None,
            inspection_data: None,
        };
        match ending {
            Ending::Done { output, next } => {
                response.output = Some(output);
                response.next_state = next;
            }
            Ending::Error(failure) => {
                response.error = Some(failure.error.clone());
                response.cause = Some(failure.cause.clone());
                response.status = self.handle(&failure, &mut response);
            }
        }
        if level != InspectionLevel::Info {
            if !self.variables.is_empty() {
                self.data.variables = Some(self.variables.clone());
            }
            response.inspection_data = Some(self.data);
        }
        response
    }

    /// Decides between `RETRIABLE`, `CAUGHT_ERROR` and `FAILED` for an error.
    fn handle(&mut self, failure: &Failure, response: &mut TestStateResponse) -> TestStatus {
        if failure.is_terminal() {
            return TestStatus::Failed;
        }
        let (retriers, catchers): (&[Retrier], &[Catcher]) = match &self.state.kind {
            StateKind::Task(t) => (&t.retry, &t.catch),
            StateKind::Parallel(p) => (&p.retry, &p.catch),
            StateKind::Map(m) => (&m.retry, &m.catch),
            _ => (&[], &[]),
        };
        if let Some(index) = retriers
            .iter()
            .position(|r| failure.matches(&r.error_equals))
        {
            let retrier = &retriers[index];
            let count = self.config.retrier_retry_count.unwrap_or(0);
            if count < retrier.max_attempts {
                let mut seconds =
                    retrier.interval_seconds as f64 * retrier.backoff_rate.powf(count as f64);
                if let Some(max) = retrier.max_delay_seconds {
                    seconds = seconds.min(max as f64);
                }
                self.data.error_details = Some(ErrorDetails {
                    retry_index: Some(index),
                    retry_backoff_interval_seconds: Some(seconds.clamp(0.0, 1e15) as u64),
                    ..ErrorDetails::default()
                });
                return TestStatus::Retriable;
            }
        }
        let Some((index, catcher)) = catchers
            .iter()
            .enumerate()
            .find(|(_, c)| failure.matches(&c.error_equals))
        else {
            return TestStatus::Failed;
        };
        let error_output = if failure.error.is_empty() && failure.cause.is_empty() {
            json!({})
        } else {
            json!({ "Error": failure.error, "Cause": failure.cause })
        };
        let output = match self.catch_output(catcher, error_output) {
            Ok(output) => output,
            Err(f) => {
                response.output = None;
                response.error = Some(f.error);
                response.cause = Some(f.cause);
                return TestStatus::Failed;
            }
        };
        self.data.error_details = Some(ErrorDetails {
            catch_index: Some(index),
            ..ErrorDetails::default()
        });
        response.output = Some(output);
        response.next_state = Some(catcher.next.clone());
        TestStatus::CaughtError
    }

    /// The output a catcher gives: the input with the error output at its `ResultPath`
    /// (JSONata: its `Output`, else the error output), and the variables its `Assign` sets.
    fn catch_output(&mut self, catcher: &Catcher, error_output: Value) -> Result<Value, Failure> {
        if self.is_jsonata() {
            // As an execution catches: `Output`, then `Assign`, both reading `$states.errorOutput`.
            let (scope, rng) = self.jsonata(None, Some(&error_output));
            let output = match &catcher.output {
                Some(template) => template.evaluate_jsonata(&scope, rng, "Output")?,
                None => error_output.clone(),
            };
            let assigned = match &catcher.assign {
                Some(template) => template.evaluate_jsonata(&scope, rng, "Assign")?,
                None => Value::Null,
            };
            if let Value::Object(vars) = assigned {
                self.variables.extend(vars);
            }
            return Ok(output);
        }
        let combined = self.result_path(&catcher.result_path, error_output.clone())?;
        if let Some(template) = &catcher.assign
            && let Value::Object(vars) = self.template(Some(template), &error_output)?
        {
            self.variables.extend(vars);
        }
        Ok(combined)
    }
}

/// A Choice state whose rules all failed to match and that has no `Default`.
fn no_choice_matched() -> Failure {
    Failure::new(names::NO_CHOICE_MATCHED, "No Matches!")
}
