//! Reading request members and writing answer members the way AWS's JSON 1.0 protocol does:
//! missing or ill-typed members refused with a message that names them, timestamps as epoch
//! seconds, payloads as JSON text.

use crate::error::ApiError;
use jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;

/// A required string member.
pub fn required<'a>(input: &'a Value, member: &str) -> Result<&'a str, ApiError> {
    match input.get(member) {
        None | Some(Value::Null) => Err(ApiError::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: \
             Member must not be null"
        ))),
        Some(Value::String(text)) => Ok(text),
        Some(other) => Err(wrong_type(member, "a string", other)),
    }
}

/// Refuses a string member longer than `max` characters, as AWS's constraint checks do.
pub fn check_length(input: &Value, member: &str, max: usize) -> Result<(), ApiError> {
    match input.get(member).and_then(Value::as_str) {
        Some(text) if text.chars().count() > max => Err(ApiError::validation(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: \
             Member must have length less than or equal to {max}"
        ))),
        _ => Ok(()),
    }
}

/// An optional string member.
pub fn optional<'a>(input: &'a Value, member: &str) -> Result<Option<&'a str>, ApiError> {
    match input.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(wrong_type(member, "a string", other)),
    }
}

/// An optional integer member.
pub fn optional_int(input: &Value, member: &str) -> Result<Option<i64>, ApiError> {
    match input.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
        Some(other) => Err(wrong_type(member, "an integer", other)),
    }
}

/// An optional boolean member.
pub fn optional_bool(input: &Value, member: &str) -> Result<Option<bool>, ApiError> {
    match input.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong_type(member, "a boolean", other)),
    }
}

/// An optional list of strings.
pub fn string_list(input: &Value, member: &str) -> Result<Option<Vec<String>>, ApiError> {
    match input.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| wrong_type(member, "a list of strings", item))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(wrong_type(member, "a list of strings", other)),
    }
}

/// An optional object whose values are strings.
pub fn string_map(
    input: &Value,
    member: &str,
) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    match input.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(fields)) => fields
            .iter()
            .map(|(key, value)| {
                value
                    .as_str()
                    .map(|v| (key.clone(), v.to_string()))
                    .ok_or_else(|| wrong_type(member, "an object of strings", value))
            })
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map(Some),
        Some(other) => Err(wrong_type(member, "an object of strings", other)),
    }
}

/// `SerializationException` for a member of the wrong JSON type.
pub fn wrong_type(member: &str, expected: &str, got: &Value) -> ApiError {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a structure",
    };
    ApiError::new(
        "SerializationException",
        format!("The member '{member}' must be {expected}, not {kind}."),
    )
}

/// CloudWatch's `dimensions` member of `input` (`[{"name", "value"}]`) as a map; empty when
/// absent. `member` names it in errors (`metrics[0].metricStat.metric.dimensions`).
pub fn dimensions(
    input: &Value,
    member: &str,
) -> Result<std::collections::BTreeMap<String, String>, ApiError> {
    let items = match input.get("dimensions") {
        None | Some(Value::Null) => return Ok(std::collections::BTreeMap::new()),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(wrong_type(member, "a list", other)),
    };
    items
        .iter()
        .map(|d| match (d["name"].as_str(), d["value"].as_str()) {
            (Some(name), Some(value)) => Ok((name.to_string(), value.to_string())),
            _ => Err(wrong_type(
                member,
                "a list of {\"name\", \"value\"} strings",
                d,
            )),
        })
        .collect()
}

/// `maxResults` (1 to 1000, 0 or absent meaning the default of 100).
pub fn page_size(input: &Value) -> Result<usize, ApiError> {
    match optional_int(input, "maxResults")? {
        None | Some(0) => Ok(100),
        Some(n @ 1..=1000) => Ok(usize::try_from(n).unwrap_or(100)),
        Some(n) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy \
             constraint: Member must have value less than or equal to 1000"
        ))),
    }
}

/// A timestamp as AWS's JSON protocol writes it: epoch seconds with milliseconds.
pub fn epoch(at: Timestamp) -> Value {
    let millis = at.as_millisecond();
    serde_json::Number::from_f64(millis as f64 / 1000.0)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Checks that `arn` is a Step Functions ARN of the given resource type
/// (`stateMachine`, `execution`, `express`, `activity`).
pub fn check_arn(arn: &str, kinds: &[&str]) -> Result<(), ApiError> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() < 7 || parts[0] != "arn" || parts[2] != "states" {
        return Err(ApiError::invalid_arn(
            arn,
            "Resource type not valid in this context",
        ));
    }
    if !kinds.contains(&parts[5]) {
        return Err(ApiError::invalid_arn(
            arn,
            "Resource type not valid in this context",
        ));
    }
    Ok(())
}

/// A history event as `GetExecutionHistory` shows it: payloads (`input`, `output`,
/// `parameters`) as JSON text inside the details.
pub fn history_event(event: &asl::history::HistoryEvent) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("timestamp".into(), epoch(event.timestamp));
    m.insert("type".into(), Value::String(event.event_type.clone()));
    m.insert("id".into(), Value::from(event.id));
    m.insert(
        "previousEventId".into(),
        Value::from(event.previous_event_id),
    );
    if let Some((key, details)) = &event.details {
        let mut details = details.clone();
        if let Value::Object(fields) = &mut details {
            for name in ["input", "output", "parameters"] {
                if let Some(payload) = fields.get_mut(name) {
                    *payload = Value::String(payload.to_string());
                }
            }
        }
        m.insert(key.clone(), details);
    }
    Value::Object(m)
}
