//! The Step Functions operations: each reads its request members as AWS defines them, calls the
//! engine and answers with AWS's response shape.

use crate::Api;
use crate::error::ApiError;
use crate::wire::{check_arn, epoch, history_event, optional, optional_bool, page_size, required};
use asl::validate::{self, ValidationOptions};
use engine::NewStateMachine;
use serde_json::{Map, Value, json};
use store::{ExecutionFilter, ExecutionRecord, StateMachineRecord};

/// Runs one operation.
pub async fn call(api: &Api, operation: &str, input: &Value) -> Result<Value, ApiError> {
    match operation {
        "CreateStateMachine" => create_state_machine(api, input).await,
        "DescribeStateMachine" => describe_state_machine(api, input).await,
        "UpdateStateMachine" => update_state_machine(api, input).await,
        "DeleteStateMachine" => delete_state_machine(api, input).await,
        "ListStateMachines" => list_state_machines(api, input).await,
        "StartExecution" => start_execution(api, input).await,
        "StartSyncExecution" => start_sync_execution(api, input).await,
        "DescribeExecution" => describe_execution(api, input).await,
        "DescribeStateMachineForExecution" => describe_machine_for_execution(api, input).await,
        "ListExecutions" => list_executions(api, input).await,
        "StopExecution" => stop_execution(api, input).await,
        "RedriveExecution" => redrive_execution(api, input).await,
        "GetExecutionHistory" => get_execution_history(api, input).await,
        "ValidateStateMachineDefinition" => validate_definition(input),
        "TestState" => test_state(input),
        other if KNOWN.contains(&other) => Err(ApiError::new(
            "UnsupportedOperation",
            format!("weir does not implement {other} yet."),
        )),
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!("Unknown operation: AWSStepFunctions.{other}"),
        )),
    }
}

/// Step Functions operations weir knows of but does not serve yet.
const KNOWN: &[&str] = &[
    "CreateActivity",
    "CreateStateMachineAlias",
    "DeleteActivity",
    "DeleteStateMachineAlias",
    "DeleteStateMachineVersion",
    "DescribeActivity",
    "DescribeMapRun",
    "DescribeStateMachineAlias",
    "GetActivityTask",
    "ListActivities",
    "ListMapRuns",
    "ListStateMachineAliases",
    "ListStateMachineVersions",
    "ListTagsForResource",
    "PublishStateMachineVersion",
    "SendTaskFailure",
    "SendTaskHeartbeat",
    "SendTaskSuccess",
    "TagResource",
    "UntagResource",
    "UpdateMapRun",
    "UpdateStateMachineAlias",
];

fn machine_type(input: &Value) -> Result<bool, ApiError> {
    match optional(input, "type")? {
        None | Some("STANDARD") => Ok(false),
        Some("EXPRESS") => Ok(true),
        Some(other) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other}' at 'type' failed to satisfy constraint: \
             Member must satisfy enum value set: [STANDARD, EXPRESS]"
        ))),
    }
}

async fn create_state_machine(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let name = required(input, "name")?;
    let definition = required(input, "definition")?;
    let role_arn = required(input, "roleArn")?;
    let express = machine_type(input)?;
    let machine = api
        .engine
        .create_state_machine(NewStateMachine {
            name: name.to_string(),
            definition: definition.to_string(),
            express,
            role_arn: role_arn.to_string(),
        })
        .await?;
    Ok(json!({
        "stateMachineArn": machine.arn,
        "creationDate": epoch(machine.created_at),
    }))
}

fn machine_json(machine: &StateMachineRecord) -> Value {
    json!({
        "stateMachineArn": machine.arn,
        "name": machine.name,
        "status": "ACTIVE",
        "definition": machine.definition,
        "roleArn": machine.role_arn,
        "type": machine.kind,
        "creationDate": epoch(machine.created_at),
        "loggingConfiguration": {"level": "OFF", "includeExecutionData": false},
        "tracingConfiguration": {"enabled": false},
        "revisionId": machine.revision.to_string(),
    })
}

async fn describe_state_machine(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "stateMachineArn")?;
    check_arn(arn, &["stateMachine"])?;
    let machine = api.engine.describe_state_machine(arn).await?;
    Ok(machine_json(&machine))
}

async fn update_state_machine(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "stateMachineArn")?;
    check_arn(arn, &["stateMachine"])?;
    let definition = optional(input, "definition")?;
    let role_arn = optional(input, "roleArn")?;
    if definition.is_none() && role_arn.is_none() {
        return Err(ApiError::new(
            "MissingRequiredParameter",
            "Either the definition, the roleArn, the loggingConfiguration or the \
             tracingConfiguration must be specified",
        ));
    }
    let machine = api
        .engine
        .update_state_machine(
            arn,
            definition.map(str::to_string),
            role_arn.map(str::to_string),
        )
        .await?;
    Ok(json!({
        "updateDate": epoch(machine.updated_at),
        "revisionId": machine.revision.to_string(),
    }))
}

async fn delete_state_machine(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "stateMachineArn")?;
    check_arn(arn, &["stateMachine"])?;
    api.engine.delete_state_machine(arn).await?;
    Ok(json!({}))
}

async fn list_state_machines(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let limit = page_size(input)?;
    let token = optional(input, "nextToken")?;
    let page = api
        .engine
        .list_state_machines(token, limit)
        .await
        .map_err(token_error)?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|m| {
            json!({
                "stateMachineArn": m.arn,
                "name": m.name,
                "type": m.kind,
                "creationDate": epoch(m.created_at),
            })
        })
        .collect();
    let mut answer = Map::new();
    answer.insert("stateMachines".into(), Value::Array(items));
    if let Some(cursor) = page.cursor {
        answer.insert("nextToken".into(), Value::String(cursor));
    }
    Ok(Value::Object(answer))
}

/// A bad paging cursor is the caller's `InvalidToken`, not weir's failure.
fn token_error(error: engine::Error) -> ApiError {
    match error {
        engine::Error::Store(store::Error::NotFound {
            kind: "page cursor",
            ..
        }) => ApiError::new(
            "InvalidToken",
            "Invalid Token: the nextToken is not one weir gave.",
        ),
        other => other.into(),
    }
}

async fn start_execution(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "stateMachineArn")?;
    check_arn(arn, &["stateMachine"])?;
    let name = optional(input, "name")?;
    let execution_input = optional(input, "input")?;
    let started = api
        .engine
        .start_execution(arn, name, execution_input)
        .await?;
    Ok(json!({
        "executionArn": started.execution_arn,
        "startDate": epoch(started.start_date),
    }))
}

async fn start_sync_execution(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "stateMachineArn")?;
    check_arn(arn, &["stateMachine"])?;
    let name = optional(input, "name")?;
    let execution_input = optional(input, "input")?.unwrap_or("{}");
    let outcome = api
        .engine
        .start_sync_execution(arn, name, Some(execution_input))
        .await?;
    let short_name = outcome
        .execution_arn
        .split(':')
        .nth(7)
        .unwrap_or_default()
        .to_string();
    let mut answer = Map::new();
    answer.insert("executionArn".into(), json!(outcome.execution_arn));
    answer.insert("stateMachineArn".into(), json!(arn));
    answer.insert("name".into(), json!(short_name));
    answer.insert("startDate".into(), epoch(outcome.start_date));
    answer.insert("stopDate".into(), epoch(outcome.stop_date));
    answer.insert("status".into(), json!(outcome.status.as_str()));
    answer.insert("input".into(), json!(execution_input));
    answer.insert("inputDetails".into(), json!({"included": true}));
    if let Some(output) = &outcome.output {
        answer.insert("output".into(), json!(output.to_string()));
        answer.insert("outputDetails".into(), json!({"included": true}));
    }
    if let Some(failure) = &outcome.failure {
        answer.insert("error".into(), json!(failure.error));
        answer.insert("cause".into(), json!(failure.cause));
    }
    let billed = outcome
        .stop_date
        .duration_since(outcome.start_date)
        .as_millis()
        .max(100);
    answer.insert(
        "billingDetails".into(),
        json!({"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": billed}),
    );
    Ok(Value::Object(answer))
}

fn execution_summary(execution: &ExecutionRecord) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("executionArn".into(), json!(execution.arn));
    m.insert("stateMachineArn".into(), json!(execution.state_machine_arn));
    m.insert("name".into(), json!(execution.name));
    m.insert("status".into(), json!(execution.status));
    m.insert("startDate".into(), epoch(execution.start_date));
    if let Some(stop) = execution.stop_date {
        m.insert("stopDate".into(), epoch(stop));
    }
    m.insert("redriveCount".into(), json!(execution.redrive_count));
    if let Some(date) = execution.redrive_date {
        m.insert("redriveDate".into(), epoch(date));
    }
    m
}

async fn describe_execution(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "executionArn")?;
    check_arn(arn, &["execution", "express"])?;
    let execution = api.engine.describe_execution(arn).await?;
    let mut m = execution_summary(&execution);
    m.insert("input".into(), json!(execution.input));
    m.insert("inputDetails".into(), json!({"included": true}));
    if let Some(output) = &execution.output {
        m.insert("output".into(), json!(output));
        m.insert("outputDetails".into(), json!({"included": true}));
    }
    if let Some(error) = &execution.error {
        m.insert("error".into(), json!(error));
    }
    if let Some(cause) = &execution.cause {
        m.insert("cause".into(), json!(cause));
    }
    match api.engine.redrive_status(arn).await? {
        Ok(()) => {
            m.insert("redriveStatus".into(), json!("REDRIVABLE"));
        }
        Err(reason) => {
            m.insert("redriveStatus".into(), json!("NOT_REDRIVABLE"));
            m.insert("redriveStatusReason".into(), json!(reason));
        }
    }
    Ok(Value::Object(m))
}

async fn describe_machine_for_execution(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "executionArn")?;
    check_arn(arn, &["execution", "express"])?;
    let execution = api.engine.describe_execution(arn).await?;
    let machine = api
        .engine
        .state_machine_revision(&execution.state_machine_arn, execution.revision)
        .await?;
    let mut m = Map::new();
    m.insert("stateMachineArn".into(), json!(machine.arn));
    m.insert("name".into(), json!(machine.name));
    m.insert("definition".into(), json!(machine.definition));
    m.insert("roleArn".into(), json!(machine.role_arn));
    m.insert("updateDate".into(), epoch(machine.updated_at));
    m.insert(
        "loggingConfiguration".into(),
        json!({"level": "OFF", "includeExecutionData": false}),
    );
    m.insert("tracingConfiguration".into(), json!({"enabled": false}));
    m.insert("revisionId".into(), json!(machine.revision.to_string()));
    Ok(Value::Object(m))
}

const STATUSES: [&str; 6] = [
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "TIMED_OUT",
    "ABORTED",
    "PENDING_REDRIVE",
];

async fn list_executions(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "stateMachineArn")?;
    check_arn(arn, &["stateMachine"])?;
    let status = optional(input, "statusFilter")?;
    if let Some(status) = status
        && !STATUSES.contains(&status)
    {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{status}' at 'statusFilter' failed to satisfy \
             constraint: Member must satisfy enum value set: [{}]",
            STATUSES.join(", ")
        )));
    }
    // AWS answers an unknown machine with StateMachineDoesNotExist, not an empty list.
    api.engine.describe_state_machine(arn).await?;
    let page = api
        .engine
        .list_executions(ExecutionFilter {
            state_machine_arn: Some(arn.to_string()),
            status: status.map(str::to_string),
            cursor: optional(input, "nextToken")?.map(str::to_string),
            limit: page_size(input)?,
        })
        .await
        .map_err(token_error)?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|e| Value::Object(execution_summary(e)))
        .collect();
    let mut answer = Map::new();
    answer.insert("executions".into(), Value::Array(items));
    if let Some(cursor) = page.cursor {
        answer.insert("nextToken".into(), Value::String(cursor));
    }
    Ok(Value::Object(answer))
}

async fn stop_execution(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "executionArn")?;
    check_arn(arn, &["execution"])?;
    let error = optional(input, "error")?.map(str::to_string);
    let cause = optional(input, "cause")?.map(str::to_string);
    let stopped = api.engine.stop_execution(arn, error, cause).await?;
    let stop = stopped.stop_date.unwrap_or(stopped.start_date);
    Ok(json!({"stopDate": epoch(stop)}))
}

async fn redrive_execution(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "executionArn")?;
    check_arn(arn, &["execution"])?;
    let redriven = api.engine.redrive_execution(arn).await?;
    let date = redriven.redrive_date.unwrap_or(redriven.start_date);
    Ok(json!({"redriveDate": epoch(date)}))
}

async fn get_execution_history(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "executionArn")?;
    check_arn(arn, &["execution"])?;
    let limit = page_size(input)?;
    let reverse = optional_bool(input, "reverseOrder")?.unwrap_or(false);
    let after = match optional(input, "nextToken")? {
        None => 0,
        Some(token) => token.parse::<u64>().map_err(|_| {
            ApiError::new(
                "InvalidToken",
                "Invalid Token: the nextToken is not one weir gave.",
            )
        })?,
    };
    let events = api.engine.history(arn, after, limit + 1, reverse).await?;
    let more = events.len() > limit;
    let shown = &events[..events.len().min(limit)];
    let mut answer = Map::new();
    answer.insert(
        "events".into(),
        Value::Array(shown.iter().map(history_event).collect()),
    );
    if more && let Some(last) = shown.last() {
        answer.insert("nextToken".into(), Value::String(last.id.to_string()));
    }
    Ok(Value::Object(answer))
}

fn validate_definition(input: &Value) -> Result<Value, ApiError> {
    let definition = required(input, "definition")?;
    let express = machine_type(input)?;
    let diagnostics = validate::validate_text(definition, &ValidationOptions { express });
    let ok = !validate::has_errors(&diagnostics);
    let diagnostics = serde_json::to_value(&diagnostics).map_err(ApiError::internal)?;
    Ok(json!({
        "result": if ok { "OK" } else { "FAIL" },
        "diagnostics": diagnostics,
        "truncated": false,
    }))
}

fn test_state(input: &Value) -> Result<Value, ApiError> {
    required(input, "definition")?;
    let now = jiff::Timestamp::now();
    let seed = u64::try_from(now.as_nanosecond().rem_euclid(i128::from(u64::MAX))).unwrap_or(7);
    let request = asl::test_state::TestStateRequest::from_api(input, now, seed);
    match asl::test_state::test_state(&request) {
        Ok(response) => Ok(response.to_json()),
        Err(error) => Err(ApiError::new(error.code(), error.to_string())),
    }
}
