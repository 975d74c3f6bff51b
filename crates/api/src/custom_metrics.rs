//! Custom metrics through the API (see the engine's `metrics::custom`): `Weir.PutMetricData`
//! on the JSON 1.0 endpoint, CloudWatch's `PutMetricData` with its members in camelCase.
//!
//! | Request member | Meaning |
//! | --- | --- |
//! | `namespace` | 1 to 255 characters; the `namespace` label |
//! | `metricData` | 1 to 1000 datums |
//! | `metricData[].metricName` | the metric (family `weir_custom_NAME`) |
//! | `metricData[].dimensions` | optional `[{"name", "value"}]`, at most 30: labels |
//! | `metricData[].value` or `values` (+ optional `counts`) | one value, or up to 150 values each repeated `counts[i]` times (default 1) |
//! | `metricData[].unit` | optional; `Count` or none make a counter (values added up), any other unit a gauge (the last value) |
//! | `metricData[].timestamp` | accepted and ignored: a value counts when it arrives |
//!
//! The answer is `{}`. Any wrong datum refuses the whole call with `InvalidParameterValue`
//! naming it (`metricData[2] (RecordsRejected): -1 is negative; ...`); nothing is recorded.

use crate::Api;
use crate::error::ApiError;
use crate::wire::{dimensions, optional, required, wrong_type};
use engine::metrics::custom::Datum;
use serde_json::{Value, json};

/// How many datums one call may carry (CloudWatch's limit).
const MAX_DATA: usize = 1000;

/// Whether `operation` is one of this module's.
pub fn handles(operation: &str) -> bool {
    operation == "PutMetricData"
}

fn invalid(message: String) -> ApiError {
    ApiError::new("InvalidParameterValue", message)
}

/// The numbers of `member` of `datum` (`at` names it in errors).
fn numbers(datum: &Value, member: &str, at: &str) -> Result<Option<Vec<f64>>, ApiError> {
    match datum.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_f64()
                    .ok_or_else(|| wrong_type(&format!("{at}.{member}"), "a list of numbers", v))
            })
            .collect::<Result<Vec<f64>, ApiError>>()
            .map(Some),
        Some(other) => Err(wrong_type(
            &format!("{at}.{member}"),
            "a list of numbers",
            other,
        )),
    }
}

/// One datum of `metricData`.
fn datum(value: &Value, at: &str) -> Result<Datum, ApiError> {
    let name = required(value, "metricName")
        .map_err(|_| invalid(format!("{at}.metricName is required")))?
        .to_string();
    let unit = optional(value, "unit")?.map(str::to_string);
    let single = match value.get("value") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(other) => return Err(wrong_type(&format!("{at}.value"), "a number", other)),
    };
    let values = numbers(value, "values", at)?;
    let counts = numbers(value, "counts", at)?;
    let values = match (single, values) {
        (Some(_), Some(_)) => {
            return Err(invalid(format!(
                "{at} ({name}): give value or values, not both"
            )));
        }
        (Some(v), None) => vec![v],
        (None, Some(values)) => values,
        (None, None) => {
            return Err(invalid(format!(
                "{at} ({name}): value or values is required"
            )));
        }
    };
    let values = match counts {
        None => values,
        Some(counts) if counts.len() != values.len() => {
            return Err(invalid(format!(
                "{at} ({name}): counts has {} items, values {}",
                counts.len(),
                values.len()
            )));
        }
        Some(counts) => {
            if let Some(c) = counts.iter().find(|c| !(c.is_finite() && **c >= 0.0)) {
                return Err(invalid(format!(
                    "{at} ({name}): count {c} must be a number of at least 0"
                )));
            }
            // A counter adds each value `count` times; a gauge keeps the last value.
            let counter = matches!(unit.as_deref(), None | Some("Count" | "None"));
            values
                .iter()
                .zip(&counts)
                .filter(|(_, c)| **c > 0.0)
                .map(|(v, c)| if counter { v * c } else { *v })
                .collect()
        }
    };
    Ok(Datum {
        name,
        dimensions: dimensions(value, &format!("{at}.dimensions"))?,
        values,
        unit,
    })
}

/// Runs `PutMetricData`.
pub async fn call(api: &Api, operation: &str, input: &Value) -> Result<Value, ApiError> {
    debug_assert!(handles(operation));
    let namespace = required(input, "namespace")?;
    let items = match input.get("metricData") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) | None | Some(Value::Null) => {
            return Err(invalid("metricData must hold at least one datum".into()));
        }
        Some(other) => return Err(wrong_type("metricData", "a list", other)),
    };
    if items.len() > MAX_DATA {
        return Err(invalid(format!(
            "metricData holds {} datums, at most {MAX_DATA}",
            items.len()
        )));
    }
    let data = items
        .iter()
        .enumerate()
        .map(|(i, d)| datum(d, &format!("metricData[{i}]")))
        .collect::<Result<Vec<Datum>, ApiError>>()?;
    api.engine
        .reporter()
        .custom
        .record(namespace, "metricData", &data, &[])
        .map_err(invalid)?;
    Ok(json!({}))
}
