//! The intrinsic functions of JSONPath mode (`States.Format(...)` and friends).
//!
//! PROVISIONAL: the API only; the parser and the 18 functions replace the body of this module.

use crate::error::Failure;
use crate::path::Env;
use crate::rng::Rng;
use serde_json::Value;
use thiserror::Error;

/// An intrinsic function call that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid intrinsic function '{text}': {reason}")]
pub struct IntrinsicError {
    /// The call as written.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Intrinsic {
    text: String,
}

impl Intrinsic {
    /// Whether a `.$` value is written as an intrinsic call rather than a path.
    pub fn looks_like_call(text: &str) -> bool {
        text.trim_start().starts_with("States.")
    }

    /// Parses a call such as `States.Format('{} {}', $.a, States.UUID())`.
    pub fn parse(text: &str) -> Result<Intrinsic, IntrinsicError> {
        Ok(Intrinsic {
            text: text.to_string(),
        })
    }

    /// The call as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Evaluates the call; bad arguments give `States.IntrinsicFailure`.
    pub fn evaluate(&self, _env: &Env, _rng: &mut Rng) -> Result<Value, Failure> {
        Err(Failure::intrinsic(format!(
            "intrinsic functions are not implemented yet: {}",
            self.text
        )))
    }
}
