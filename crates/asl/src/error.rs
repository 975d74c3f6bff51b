//! Runtime errors as ASL sees them: an error name and a cause, both data in the execution.
//!
//! `States.*` names are the predefined errors of the language; any other name comes from a task or
//! a Fail state. These are not Rust errors: a failed state is an ordinary outcome that Retry and
//! Catch act on.

use std::fmt;

/// Predefined ASL error names.
pub mod names {
    /// Matches every error except `States.Runtime`.
    pub const ALL: &str = "States.ALL";
    /// A payload exceeded the 256 KiB limit.
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    /// A task missed its heartbeat.
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    /// A task or execution ran past its timeout.
    pub const TIMEOUT: &str = "States.Timeout";
    /// A task failed.
    pub const TASK_FAILED: &str = "States.TaskFailed";
    /// Insufficient privileges.
    pub const PERMISSIONS: &str = "States.Permissions";
    /// `ResultPath` could not be applied to the state input.
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    /// A `Parameters` field referenced a path that matched nothing.
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    /// A Parallel branch failed.
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    /// No Choice rule matched and there is no `Default`.
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    /// An intrinsic function failed.
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    /// A Map state exceeded its tolerated failures.
    pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
    /// A Map `ItemReader` failed.
    pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
    /// A Map `ResultWriter` failed.
    pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
    /// A JSONata expression failed to evaluate.
    pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
    /// An execution hit an error it cannot recover from.
    pub const RUNTIME: &str = "States.Runtime";
}

/// An ASL error raised while running a state: its name and its cause.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    /// The error name, e.g. `States.Runtime` or a task's own error type.
    pub error: String,
    /// A human-readable cause (may be empty).
    pub cause: String,
}

impl Failure {
    /// A failure with the given error name and cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// A `States.Runtime` failure.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Failure::new(names::RUNTIME, cause)
    }

    /// A `States.IntrinsicFailure` failure.
    pub fn intrinsic(cause: impl Into<String>) -> Self {
        Failure::new(names::INTRINSIC_FAILURE, cause)
    }

    /// Whether no Retry or Catch can handle this error. AWS documents both `States.Runtime` and
    /// `States.DataLimitExceeded` as terminal, but real executions show `States.ALL` catching a
    /// task's `States.DataLimitExceeded`, so only `States.Runtime` is terminal here.
    pub fn is_terminal(&self) -> bool {
        self.error == names::RUNTIME
    }

    /// Whether an `ErrorEquals` list matches this error, as AWS decides it.
    pub fn matches(&self, error_equals: &[String]) -> bool {
        error_equals.iter().any(|name| {
            if name == &self.error {
                return true;
            }
            match name.as_str() {
                names::ALL => !self.is_terminal(),
                names::TASK_FAILED => {
                    // States.TaskFailed covers any task failure except a timeout.
                    !self.is_terminal()
                        && self.error != names::TIMEOUT
                        && self.error != names::HEARTBEAT_TIMEOUT
                        && !self.error.starts_with("States.")
                }
                _ => false,
            }
        })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cause.is_empty() {
            write!(f, "{}", self.error)
        } else {
            write!(f, "{}: {}", self.error, self.cause)
        }
    }
}
