//! The texts of JSONata failures: parse messages, the detail of an evaluation error as AWS words
//! it, and the sentences AWS wraps around it.
//!
//! AWS's sentences (the state prefix `An error occurred while executing the state '<name>'
//! (entered at the event id #<n>). ` is the caller's):
//!
//! | Situation | Text after the prefix |
//! |---|---|
//! | the expression threw | `The JSONata expression '<expr>' specified for the field '<field>' threw an error during evaluation. <CODE>: <message>` |
//! | a bound tripped (no code) | `… threw an error during evaluation: <message>` |
//! | undefined result | `The JSONata expression '<expr>' specified for the field '<field>' returned nothing (undefined).` |
//! | wrong result type | `The JSONata expression '<expr>' specified for the field '<field>' returned an unexpected result type. Expected '<type>', but was '<type>' for value: <json>` |
//!
//! The last is recorded in the conformance corpus (`Items`, AWS-recorded); the others come from
//! AWS executions recorded by other Step Functions emulators. The field is named relative to the
//! state: `Output`, `Output/a/b[0]`, `Arguments/Input/x`, `Assign/x`, `Items`.

use jsonata_core::evaluator::{EvaluatorError, error_code_prefix};
use jsonata_core::parser::ParserError;
use serde_json::Value;

use crate::error::Failure;

/// AWS's message when an evaluation exceeds its memory (for us: sequence length) bound.
pub(super) const MEMORY_LIMIT: &str =
    "Expression evaluation memory limit exceeded: Check for excessive memory usage";
/// The message when evaluation nests too deep.
const STACK_OVERFLOW: &str = "Stack overflow error: Check for non-terminating recursive function. \
     Consider rewriting as tail-recursive";
/// The message when evaluation runs out of time.
const TIMEOUT: &str = "Expression evaluation timeout: Check for infinite loop";

/// Expressions longer than this are not searched for the error's position.
const MAX_LOCATED_SOURCE: usize = 4096;

/// `The JSONata expression '<expr>' specified for the field '<field>' threw an error during
/// evaluation` and the detail, after `. ` when it opens with a JSONata code, else after `: `.
pub(super) fn threw(expression: &str, field: &str, detail: &str) -> String {
    let separator = if error_code_prefix(detail).is_some() {
        ". "
    } else {
        ": "
    };
    format!(
        "The JSONata expression '{expression}' specified for the field '{field}' threw an error \
         during evaluation{separator}{detail}"
    )
}

/// `The JSONata expression '<expr>' specified for the field '<field>' returned nothing
/// (undefined).`
pub(super) fn returned_nothing(expression: &str, field: &str) -> String {
    format!(
        "The JSONata expression '{expression}' specified for the field '{field}' returned nothing \
         (undefined)."
    )
}

/// `The JSONata expression '<expr>' specified for the field '<field>' returned an unexpected
/// result type. Expected '<expected>', but was '<type>' for value: <json>`.
pub(super) fn unexpected_type(
    expression: &str,
    field: &str,
    expected: &str,
    value: &Value,
) -> String {
    format!(
        "The JSONata expression '{expression}' specified for the field '{field}' returned an \
         unexpected result type. Expected '{expected}', but was '{}' for value: {value}",
        type_name(value)
    )
}

/// The JSONata type name of a JSON value, as AWS names it in causes: `null`, `boolean`,
/// `number`, `string`, `array` or `object`.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The parser's message, with the 1-based character at which the error shows when it can be
/// found (the parser does not report positions).
pub(super) fn parse_message(source: &str, error: &ParserError) -> String {
    let message = error.to_string();
    match locate(source, error, &message) {
        Some(at) => format!("{message} at character {at}"),
        None => message,
    }
}

/// The shortest prefix of `source` that fails with the same message ends at the offending token;
/// its length in characters is the position. An error at the end of the text has no better
/// position than the message says, so it gets none.
fn locate(source: &str, error: &ParserError, message: &str) -> Option<usize> {
    if matches!(error, ParserError::UnexpectedEnd) || source.len() > MAX_LOCATED_SOURCE {
        return None;
    }
    source
        .char_indices()
        .map(|(start, c)| start + c.len_utf8())
        .enumerate()
        .find(|(_, end)| {
            jsonata_core::parser::parse(&source[..*end])
                .is_err_and(|prefix_error| prefix_error.to_string() == message)
        })
        .map(|(index, _)| index + 1)
        .filter(|&at| at < source.chars().count())
}

/// An engine error as a `States.QueryEvaluationError` with AWS's detail text.
pub(super) fn failure(error: &EvaluatorError) -> Failure {
    super::query_failure(detail(error.message()))
}

/// The engine's message in AWS's words where they are known. The engine follows jsonata-js's
/// codes but not always its wording, and AWS words bounds its own way.
pub(super) fn detail(message: &str) -> String {
    let (code, text) = match error_code_prefix(message) {
        Some(code) => (code, message[code.len() + 1..].trim_start()),
        None => return message.to_owned(),
    };
    match code {
        "D2015" => MEMORY_LIMIT.to_owned(),
        "D1011" | "U1001" => STACK_OVERFLOW.to_owned(),
        "D1012" => TIMEOUT.to_owned(),
        // The engine names the function (`: $eval`); jsonata-js and AWS do not.
        "T1006" => "T1006: Attempted to invoke a non-function".to_owned(),
        "D3020" => {
            "D3020: Third argument of split function must evaluate to a positive number".to_owned()
        }
        "D3010" => "Second argument of replace function cannot be an empty string".to_owned(),
        "D3138" => {
            "D3138: The $single() function expected exactly 1 matching result.  Instead it matched \
             more."
                .to_owned()
        }
        "T2001" | "T2002" => format!("{code}: {}", quote_operator(text)),
        _ => message.to_owned(),
    }
}

/// `The right side of the + operator …` → `The right side of the "+" operator …`.
fn quote_operator(text: &str) -> String {
    for side in ["The left side of the ", "The right side of the "] {
        if let Some(rest) = text.strip_prefix(side)
            && let Some((operator, tail)) = rest.split_once(" operator")
            && !operator.starts_with('"')
        {
            return format!("{side}\"{operator}\" operator{tail}");
        }
    }
    text.to_owned()
}
