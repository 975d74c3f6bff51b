//! History events as AWS Step Functions names and shapes them.
//!
//! An event carries its type (`TaskStateEntered`, `MapIterationStarted`, ...) and, when AWS records
//! one, a details object under AWS's key (`stateEnteredEventDetails`, ...). Payloads inside the
//! details are kept as JSON values; the API layer renders them as JSON text as AWS does.

use jiff::Timestamp;
use serde_json::{Map, Value};

/// One history event.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HistoryEvent {
    /// The event's id: 1 for `ExecutionStarted`, then consecutive.
    pub id: u64,
    /// The id of the event this one follows in its thread of control (0 for none).
    pub previous_event_id: u64,
    /// When the event happened.
    pub timestamp: Timestamp,
    /// The event type as AWS names it, e.g. `PassStateEntered`.
    pub event_type: String,
    /// The details key (e.g. `stateEnteredEventDetails`) and object, when the type has details.
    pub details: Option<(String, Value)>,
}

impl HistoryEvent {
    /// The event as the `GetExecutionHistory` API shows it (payloads stay JSON values).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "timestamp".into(),
            Value::String(self.timestamp.to_string()),
        );
        m.insert("type".into(), Value::String(self.event_type.clone()));
        m.insert("id".into(), Value::from(self.id));
        m.insert(
            "previousEventId".into(),
            Value::from(self.previous_event_id),
        );
        if let Some((key, details)) = &self.details {
            m.insert(key.clone(), details.clone());
        }
        Value::Object(m)
    }
}

/// The details of a `...StateEntered` event.
pub fn state_entered(name: &str, input: &Value) -> (String, Value) {
    let mut m = Map::new();
    m.insert("name".into(), Value::String(name.to_string()));
    m.insert("input".into(), input.clone());
    m.insert("inputDetails".into(), truncated_false());
    ("stateEnteredEventDetails".into(), Value::Object(m))
}

/// The details of a `...StateExited` event, with the variables the state assigned.
pub fn state_exited(
    name: &str,
    output: &Value,
    assigned: Option<&Map<String, Value>>,
) -> (String, Value) {
    let mut m = Map::new();
    m.insert("name".into(), Value::String(name.to_string()));
    m.insert("output".into(), output.clone());
    m.insert("outputDetails".into(), truncated_false());
    if let Some(vars) = assigned {
        let rendered = vars
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.to_string())))
            .collect();
        m.insert("assignedVariables".into(), Value::Object(rendered));
        m.insert("assignedVariablesDetails".into(), truncated_false());
    }
    ("stateExitedEventDetails".into(), Value::Object(m))
}

/// `{"truncated": false}`.
pub fn truncated_false() -> Value {
    let mut m = Map::new();
    m.insert("truncated".into(), Value::Bool(false));
    Value::Object(m)
}

/// A details object from key/value pairs, skipping `None` values.
pub fn details(key: &str, fields: &[(&str, Option<Value>)]) -> (String, Value) {
    let m = fields
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
        .collect();
    (key.to_string(), Value::Object(m))
}
