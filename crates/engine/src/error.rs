//! The engine's errors: each names what is wrong and which resource, and maps to the error code
//! AWS's API returns for it ([`Error::code`]).

use asl::validate::Diagnostic;

/// What can go wrong in an engine call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No state machine has this ARN.
    #[error("State Machine Does Not Exist: '{arn}'")]
    StateMachineDoesNotExist {
        /// The ARN asked for.
        arn: String,
    },
    /// A state machine with this name exists with a different definition or settings.
    #[error("State Machine Already Exists: '{arn}'")]
    StateMachineAlreadyExists {
        /// Its ARN.
        arn: String,
    },
    /// No execution has this ARN.
    #[error("Execution Does Not Exist: '{arn}'")]
    ExecutionDoesNotExist {
        /// The ARN asked for.
        arn: String,
    },
    /// An execution with this name exists and is not the same request.
    #[error("Execution Already Exists: '{arn}'")]
    ExecutionAlreadyExists {
        /// Its ARN.
        arn: String,
    },
    /// The definition is not valid ASL; the message is worded as AWS words it.
    #[error("{message}")]
    InvalidDefinition {
        /// Every problem, with its location.
        diagnostics: Vec<Diagnostic>,
        /// AWS's message for them (`Invalid State Machine Definition: '...'`).
        message: String,
    },
    /// A name breaks AWS's naming rules.
    #[error("Invalid Name: '{name}': {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The execution input is not a JSON text AWS would accept; the message is AWS's
    /// (`Invalid State Machine Execution Input: '...'`).
    #[error("{detail}")]
    InvalidExecutionInput {
        /// What is wrong, worded as AWS words it.
        detail: String,
    },
    /// The request is well formed but not allowed now (e.g. redriving a running execution).
    #[error("{message}")]
    NotAllowed {
        /// AWS's error code (`ExecutionNotRedrivable`, ...).
        code: &'static str,
        /// What is not allowed and why.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// A stored snapshot or event could not be read back.
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt {
        /// Which value.
        what: String,
        /// What is wrong.
        detail: String,
    },
}

impl Error {
    /// An invalid definition: `diagnostics` found in `text`, worded as AWS words them.
    pub fn invalid_definition(diagnostics: Vec<Diagnostic>, text: &str) -> Error {
        let message = asl::validate::invalid_definition_cause(&diagnostics, text);
        Error::InvalidDefinition {
            diagnostics,
            message,
        }
    }

    /// The error code AWS returns for this error (`__type` in the API).
    pub fn code(&self) -> &'static str {
        match self {
            Error::StateMachineDoesNotExist { .. } => "StateMachineDoesNotExist",
            Error::StateMachineAlreadyExists { .. } => "StateMachineAlreadyExists",
            Error::ExecutionDoesNotExist { .. } => "ExecutionDoesNotExist",
            Error::ExecutionAlreadyExists { .. } => "ExecutionAlreadyExists",
            Error::InvalidDefinition { .. } => "InvalidDefinition",
            Error::InvalidName { .. } => "InvalidName",
            Error::InvalidExecutionInput { .. } => "InvalidExecutionInput",
            Error::NotAllowed { code, .. } => code,
            Error::Store(_) | Error::Corrupt { .. } => "InternalError",
        }
    }
}
