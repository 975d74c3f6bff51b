//! weir's own operations on event-source mappings (queue → state machine or function), under
//! the target prefix `Weir.` (`X-Amz-Target: Weir.CreateEventSourceMapping`). Their members are
//! AWS Lambda's event source mapping members in camelCase; what a mapping does is described in
//! the `engine` crate's `mappings` module.
//!
//! | Operation | Request members | Answer |
//! | --- | --- | --- |
//! | `CreateEventSourceMapping` | `eventSourceArn`, `targetArn`, and the settings below | the mapping |
//! | `GetEventSourceMapping` | `uuid` | the mapping |
//! | `UpdateEventSourceMapping` | `uuid`, and the settings to change | the mapping |
//! | `DeleteEventSourceMapping` | `uuid` | the mapping, `state` `Deleting` |
//! | `ListEventSourceMappings` | optional `eventSourceArn`, `targetArn` | `{"eventSourceMappings": [mapping, ...]}` by UUID |
//!
//! `eventSourceArn` is the queue's ARN (a queue name is accepted too); `targetArn` a state
//! machine ARN (or a version or alias ARN), or a Lambda function ARN
//! (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`) of a function registered with weir.
//!
//! The settings: `enabled` (default `true`), `batchSize` (1 to 10,000; default 10),
//! `maximumBatchingWindowInSeconds` (0 to 300; default 0), `functionResponseTypes` (`[]` or
//! `["ReportBatchItemFailures"]`), `bisectBatchOnFunctionError`, `maximumRetryAttempts` (-1 or 0
//! to 10,000; default -1), `maximumRecordAgeInSeconds` (-1 or 60 to 604,800; default -1),
//! `destinationConfig` (`{"onFailure": {"destination": QUEUE_ARN}}`; `{}` removes it) and
//! `scalingConfig` (`{"maximumConcurrency": 2 to 1000}`; `{}` removes it). An update keeps the
//! settings it is not given; the queue of a mapping never changes.
//!
//! A mapping answers with `uuid`, `eventSourceMappingArn`, `eventSourceArn`, `targetArn`,
//! `state` (`Enabled` or `Disabled`), every setting (`maximumRetryAttempts` and
//! `maximumRecordAgeInSeconds` -1 when unset; `destinationConfig` and `scalingConfig` only when
//! set), `creationDate` and `lastModified` (epoch seconds).
//!
//! Errors: `ResourceNotFoundException` for a mapping that does not exist,
//! `InvalidParameterValueException` listing every problem of the settings, the queue or the
//! target, `SerializationException` for a member of the wrong JSON type, `ValidationException`
//! for a missing member.

use crate::Api;
use crate::error::ApiError;
use crate::wire::{
    epoch, optional, optional_bool, optional_int, required, string_list, wrong_type,
};
use engine::mappings::{MappingConfig, MappingRecord};
use serde_json::{Map, Value, json};

/// The one value `functionResponseTypes` may hold.
const REPORT_BATCH_ITEM_FAILURES: &str = "ReportBatchItemFailures";

/// Runs one `Weir.*EventSourceMapping*` operation.
pub async fn call(api: &Api, operation: &str, input: &Value) -> Result<Value, ApiError> {
    let engine = &api.engine;
    match operation {
        "CreateEventSourceMapping" => {
            let queue = required(input, "eventSourceArn")?;
            let target = required(input, "targetArn")?;
            let mut config = MappingConfig::default();
            apply_settings(&mut config, input)?;
            let enabled = optional_bool(input, "enabled")?.unwrap_or(true);
            let record = engine
                .create_event_source_mapping(queue, target, config, enabled)
                .await?;
            Ok(mapping_json(&record, None))
        }
        "GetEventSourceMapping" => {
            let record = engine
                .get_event_source_mapping(required(input, "uuid")?)
                .await?;
            Ok(mapping_json(&record, None))
        }
        "UpdateEventSourceMapping" => {
            let uuid = required(input, "uuid")?;
            if input.get("eventSourceArn").is_some() {
                return Err(ApiError::new(
                    "InvalidParameterValueException",
                    "The eventSourceArn of a mapping cannot change: create another mapping.",
                ));
            }
            let current = engine.get_event_source_mapping(uuid).await?;
            let target = optional(input, "targetArn")?.unwrap_or(current.target.arn());
            let mut config = current.config.clone();
            apply_settings(&mut config, input)?;
            let enabled = optional_bool(input, "enabled")?.unwrap_or(current.enabled);
            let record = engine
                .update_event_source_mapping(uuid, target, config, enabled)
                .await?;
            Ok(mapping_json(&record, None))
        }
        "DeleteEventSourceMapping" => {
            let record = engine
                .delete_event_source_mapping(required(input, "uuid")?)
                .await?;
            Ok(mapping_json(&record, Some("Deleting")))
        }
        "ListEventSourceMappings" => {
            let queue = optional(input, "eventSourceArn")?;
            let target = optional(input, "targetArn")?;
            let mappings: Vec<Value> = engine
                .list_event_source_mappings(queue, target)
                .await?
                .iter()
                .map(|record| mapping_json(record, None))
                .collect();
            Ok(json!({ "eventSourceMappings": mappings }))
        }
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!("Unknown operation: Weir.{other}"),
        )),
    }
}

/// Writes the request's settings over `config`.
fn apply_settings(config: &mut MappingConfig, input: &Value) -> Result<(), ApiError> {
    if let Some(n) = count(input, "batchSize")? {
        config.batch_size = n;
    }
    if let Some(n) = count(input, "maximumBatchingWindowInSeconds")? {
        config.batching_window_seconds = n;
    }
    if let Some(types) = string_list(input, "functionResponseTypes")? {
        if let Some(other) = types.iter().find(|t| *t != REPORT_BATCH_ITEM_FAILURES) {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'functionResponseTypes' failed \
                 to satisfy constraint: Member must satisfy enum value set: \
                 [{REPORT_BATCH_ITEM_FAILURES}]"
            )));
        }
        config.report_batch_item_failures = !types.is_empty();
    }
    if let Some(bisect) = optional_bool(input, "bisectBatchOnFunctionError")? {
        config.bisect_batch_on_function_error = bisect;
    }
    if let Some(n) = unlimited(input, "maximumRetryAttempts")? {
        config.maximum_retry_attempts = n;
    }
    if let Some(n) = unlimited(input, "maximumRecordAgeInSeconds")? {
        config.maximum_record_age_seconds = n;
    }
    if let Some(destination) = object(input, "destinationConfig")? {
        let on_failure = object(destination, "onFailure")?;
        config.on_failure_destination = match on_failure {
            Some(on_failure) => optional(on_failure, "destination")?
                .filter(|d| !d.is_empty())
                .map(str::to_string),
            None => None,
        };
    }
    if let Some(scaling) = object(input, "scalingConfig")? {
        config.maximum_concurrency = count(scaling, "maximumConcurrency")?;
    }
    Ok(())
}

/// An optional object member.
fn object<'a>(input: &'a Value, member: &str) -> Result<Option<&'a Value>, ApiError> {
    match input.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(value @ Value::Object(_)) => Ok(Some(value)),
        Some(other) => Err(wrong_type(member, "a structure", other)),
    }
}

/// An optional integer that may not be negative.
fn count(input: &Value, member: &str) -> Result<Option<u64>, ApiError> {
    match optional_int(input, member)? {
        None => Ok(None),
        Some(n) => u64::try_from(n).map(Some).map_err(|_| {
            ApiError::new(
                "InvalidParameterValueException",
                format!("{member} must not be negative, not {n}."),
            )
        }),
    }
}

/// An optional integer where -1 means no limit: `Some(None)` for -1.
fn unlimited(input: &Value, member: &str) -> Result<Option<Option<u64>>, ApiError> {
    match optional_int(input, member)? {
        None => Ok(None),
        Some(-1) => Ok(Some(None)),
        Some(n) => u64::try_from(n).map(|n| Some(Some(n))).map_err(|_| {
            ApiError::new(
                "InvalidParameterValueException",
                format!("{member} must be -1 or more, not {n}."),
            )
        }),
    }
}

/// A mapping as the operations answer it; `state` overrides its state (`Deleting`).
fn mapping_json(record: &MappingRecord, state: Option<&str>) -> Value {
    let config = &record.config;
    let state = state.unwrap_or(if record.enabled {
        "Enabled"
    } else {
        "Disabled"
    });
    let limit = |n: Option<u64>| n.map_or(json!(-1), |n| json!(n));
    let mut m = Map::new();
    m.insert("uuid".into(), json!(record.uuid));
    m.insert("eventSourceMappingArn".into(), json!(record.arn));
    m.insert("eventSourceArn".into(), json!(record.queue_arn));
    m.insert("targetArn".into(), json!(record.target.arn()));
    m.insert("state".into(), json!(state));
    m.insert("batchSize".into(), json!(config.batch_size));
    m.insert(
        "maximumBatchingWindowInSeconds".into(),
        json!(config.batching_window_seconds),
    );
    let types: &[&str] = if config.report_batch_item_failures {
        &[REPORT_BATCH_ITEM_FAILURES]
    } else {
        &[]
    };
    m.insert("functionResponseTypes".into(), json!(types));
    m.insert(
        "bisectBatchOnFunctionError".into(),
        json!(config.bisect_batch_on_function_error),
    );
    m.insert(
        "maximumRetryAttempts".into(),
        limit(config.maximum_retry_attempts),
    );
    m.insert(
        "maximumRecordAgeInSeconds".into(),
        limit(config.maximum_record_age_seconds),
    );
    if let Some(destination) = &config.on_failure_destination {
        m.insert(
            "destinationConfig".into(),
            json!({"onFailure": {"destination": destination}}),
        );
    }
    if let Some(n) = config.maximum_concurrency {
        m.insert("scalingConfig".into(), json!({"maximumConcurrency": n}));
    }
    m.insert("creationDate".into(), epoch(record.created));
    m.insert("lastModified".into(), epoch(record.modified));
    Value::Object(m)
}
