//! The JSONata fields of a state that hold one value (`Condition`, `Seconds`, `Timestamp`,
//! `TimeoutSeconds`, `HeartbeatSeconds`, `MaxConcurrency`, `ToleratedFailureCount`,
//! `ToleratedFailurePercentage`, a Fail state's `Error` and `Cause`) and a Map state's `Items`:
//! how each is evaluated and the `States.QueryEvaluationError` it raises, as AWS words it.
//!
//! [`step`](super::step) and [`test_state`](crate::test_state::test_state) both evaluate these
//! fields here, so an execution and a TestState of the same state agree. Payload templates
//! (`Arguments`, `Output`, `Assign`, `ItemSelector`) are evaluated by
//! [`Template::evaluate_jsonata`].

use crate::choice::parse_timestamp;
use crate::error::{Failure, names};
use crate::jsonata::{self, Expression, Scope};
use crate::rng::Rng;
use crate::template::{Template, expression_failure};
use jiff::Timestamp;
use serde_json::Value;

use super::{number_as_u64, value_text};

/// The expression's value; `undefined` is an error naming `field`.
pub(crate) fn value(
    expr: &Expression,
    scope: &Scope,
    rng: &mut Rng,
    field: &str,
) -> Result<Value, Failure> {
    match expr.evaluate(scope, rng) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(Failure::new(
            names::QUERY_EVALUATION_ERROR,
            expr.undefined_cause(field),
        )),
        Err(f) => Err(expression_failure(expr, field, f)),
    }
}

/// The expression's value, which must be of the JSON type `expected` (`number`, `string`,
/// `boolean`, `array`, ...; `integer` takes a non-negative whole number), or AWS's "unexpected
/// result type" error.
pub(crate) fn typed(
    expr: &Expression,
    scope: &Scope,
    rng: &mut Rng,
    field: &str,
    expected: &str,
) -> Result<Value, Failure> {
    let v = value(expr, scope, rng, field)?;
    if jsonata::type_name(&v) == expected
        || (expected == "integer" && number_as_u64(&v).is_some() && v.is_number())
    {
        return Ok(v);
    }
    Err(Failure::new(
        names::QUERY_EVALUATION_ERROR,
        expr.type_cause(field, expected, &v),
    ))
}

/// A Choice rule's `Condition`: a boolean.
pub(crate) fn condition(expr: &Expression, scope: &Scope, rng: &mut Rng) -> Result<bool, Failure> {
    let v = typed(expr, scope, rng, "Condition", "boolean")?;
    Ok(v.as_bool().unwrap_or(false))
}

/// A whole number of seconds or a count (`Seconds`, `TimeoutSeconds`, `HeartbeatSeconds`,
/// `MaxConcurrency`); `field` is the field's name.
pub(crate) fn amount(
    expr: &Expression,
    scope: &Scope,
    rng: &mut Rng,
    field: &str,
) -> Result<Option<u64>, Failure> {
    let v = typed(expr, scope, rng, field, "integer")?;
    Ok(number_as_u64(&v))
}

/// `ToleratedFailureCount` or `ToleratedFailurePercentage`: a number.
pub(crate) fn tolerance(
    expr: &Expression,
    scope: &Scope,
    rng: &mut Rng,
    field: &str,
) -> Result<Option<f64>, Failure> {
    let v = typed(expr, scope, rng, field, "number")?;
    Ok(v.as_f64())
}

/// A Wait state's `Timestamp`: an ISO-8601 date-time string.
pub(crate) fn timestamp(
    expr: &Expression,
    scope: &Scope,
    rng: &mut Rng,
) -> Result<Timestamp, Failure> {
    let v = typed(expr, scope, rng, "Timestamp", "string")?;
    let text = value_text(&v);
    parse_timestamp(&text).ok_or_else(|| {
        Failure::new(
            names::QUERY_EVALUATION_ERROR,
            format!(
                "The JSONata expression '{}' specified for the field 'Timestamp' returned an invalid timestamp: {text}",
                expr.as_str()
            ),
        )
    })
}

/// A Fail state's `Error` or `Cause`: a string.
pub(crate) fn text(
    expr: &Expression,
    scope: &Scope,
    rng: &mut Rng,
    field: &str,
) -> Result<String, Failure> {
    let v = typed(expr, scope, rng, field, "string")?;
    Ok(value_text(&v))
}

/// A Map state's items: its `Items` template, or the state input without one. Either must be
/// an array.
pub(crate) fn items(
    items: Option<&Template>,
    scope: &Scope,
    rng: &mut Rng,
) -> Result<Vec<Value>, Failure> {
    let value = match items {
        None => scope.input.clone(),
        Some(template) => template.evaluate_jsonata(scope, rng, "Items")?,
    };
    match value {
        Value::Array(items) => Ok(items),
        other => {
            let cause = match items {
                Some(Template::Jsonata(expr)) => expr.type_cause("Items", "array", &other),
                _ => format!("Map state input must be an array but was: {other}"),
            };
            Err(Failure::new(names::QUERY_EVALUATION_ERROR, cause))
        }
    }
}
