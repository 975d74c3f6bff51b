//! The Step Functions operations: each reads its request members as AWS defines them, calls the
//! engine and answers with AWS's response shape.

use crate::Api;
use crate::error::ApiError;
use crate::wire::{
    check_arn, check_length, epoch, history_event, optional, optional_bool, page_size, required,
};

/// AWS's limits on request members (the API reference's length constraints).
const MAX_DEFINITION: usize = 1_048_576;
const MAX_INPUT: usize = 262_144;
const MAX_DESCRIPTION: usize = 256;
const MAX_TAG_KEY: usize = 128;
const MAX_TAG_VALUE: usize = 256;
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
        "PublishStateMachineVersion" => publish_version(api, input).await,
        "ListStateMachineVersions" => list_versions(api, input).await,
        "DeleteStateMachineVersion" => delete_version(api, input).await,
        "CreateStateMachineAlias" => create_alias(api, input).await,
        "DescribeStateMachineAlias" => describe_alias(api, input).await,
        "UpdateStateMachineAlias" => update_alias(api, input).await,
        "DeleteStateMachineAlias" => delete_alias(api, input).await,
        "ListStateMachineAliases" => list_aliases(api, input).await,
        "ListMapRuns" => list_map_runs(api, input).await,
        "DescribeMapRun" => describe_map_run(api, input).await,
        "UpdateMapRun" => update_map_run(api, input).await,
        "TagResource" => tag_resource(api, input).await,
        "UntagResource" => untag_resource(api, input).await,
        "ListTagsForResource" => list_tags(api, input).await,
        "TestState" => test_state(input),
        other => match crate::activities::call(api, other, input).await {
            Some(answer) => answer,
            None => Err(ApiError::new(
                "UnknownOperationException",
                format!("Unknown operation: AWSStepFunctions.{other}"),
            )),
        },
    }
}

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
    check_length(input, "definition", MAX_DEFINITION)?;
    check_length(input, "versionDescription", MAX_DESCRIPTION)?;
    let name = required(input, "name")?;
    let definition = required(input, "definition")?;
    let role_arn = required(input, "roleArn")?;
    let express = machine_type(input)?;
    let tags = tag_list(input, "tags")?;
    let publish = optional_bool(input, "publish")?.unwrap_or(false);
    let version_description = optional(input, "versionDescription")?;
    if version_description.is_some() && !publish {
        return Err(ApiError::validation(
            "Version description can only be set when publish is true",
        ));
    }
    let machine = api
        .engine
        .create_state_machine(NewStateMachine {
            name: name.to_string(),
            definition: definition.to_string(),
            express,
            role_arn: role_arn.to_string(),
        })
        .await?;
    if !tags.is_empty() {
        api.engine.tag_resource(&machine.arn, &tags).await?;
    }
    let mut answer = Map::new();
    answer.insert("stateMachineArn".into(), json!(machine.arn));
    answer.insert("creationDate".into(), epoch(machine.created_at));
    if publish {
        let version = api
            .engine
            .publish_version(&machine.arn, version_description, None)
            .await?;
        answer.insert("stateMachineVersionArn".into(), json!(version.arn));
    }
    Ok(Value::Object(answer))
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
    if let engine::Qualified::Version(machine_arn, _) = engine::qualify(arn) {
        let version = api.engine.describe_version(arn).await?;
        let machine = api
            .engine
            .state_machine_revision(&machine_arn, version.revision)
            .await?;
        let mut answer = machine_json(&machine);
        answer["stateMachineArn"] = json!(arn);
        answer["creationDate"] = epoch(version.created_at);
        if let Some(description) = version.description {
            answer["description"] = json!(description);
        }
        return Ok(answer);
    }
    let machine = api.engine.describe_state_machine(arn).await?;
    Ok(machine_json(&machine))
}

async fn update_state_machine(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "stateMachineArn")?;
    check_arn(arn, &["stateMachine"])?;
    check_length(input, "definition", MAX_DEFINITION)?;
    check_length(input, "versionDescription", MAX_DESCRIPTION)?;
    let definition = optional(input, "definition")?;
    let role_arn = optional(input, "roleArn")?;
    if definition.is_none() && role_arn.is_none() {
        return Err(ApiError::new(
            "MissingRequiredParameter",
            "Either the definition, the role ARN, the LoggingConfiguration, or the \
             TracingConfiguration must be specified",
        ));
    }
    let publish = optional_bool(input, "publish")?.unwrap_or(false);
    let version_description = optional(input, "versionDescription")?;
    if version_description.is_some() && !publish {
        return Err(ApiError::validation(
            "Version description can only be set when publish is true",
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
    let mut answer = Map::new();
    answer.insert("updateDate".into(), epoch(machine.updated_at));
    answer.insert("revisionId".into(), json!(machine.revision.to_string()));
    if publish {
        let version = api
            .engine
            .publish_version(arn, version_description, None)
            .await?;
        answer.insert("stateMachineVersionArn".into(), json!(version.arn));
    }
    Ok(Value::Object(answer))
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
    Ok(listing("stateMachines", items, page.cursor))
}

/// A listing's answer: the items under `member`, and `nextToken` when more follow.
fn listing(member: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut answer = Map::new();
    answer.insert(member.into(), Value::Array(items));
    if let Some(next) = next {
        answer.insert("nextToken".into(), Value::String(next));
    }
    Value::Object(answer)
}

/// `InvalidToken`: a `nextToken` weir did not give.
fn invalid_token() -> ApiError {
    ApiError::new(
        "InvalidToken",
        "Invalid Token: the nextToken is not one weir gave.",
    )
}

/// A bad paging cursor is the caller's `InvalidToken`, not weir's failure.
fn token_error(error: engine::Error) -> ApiError {
    match error {
        engine::Error::Store(store::Error::NotFound {
            kind: "page cursor",
            ..
        }) => invalid_token(),
        other => other.into(),
    }
}

async fn start_execution(api: &Api, input: &Value) -> Result<Value, ApiError> {
    check_length(input, "input", MAX_INPUT)?;
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
    check_length(input, "input", MAX_INPUT)?;
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
    let (execution, redrivable) = api.engine.describe_execution_for_api(arn).await?;
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
    if let Some((version, alias)) = api.engine.execution_origin(arn).await? {
        m.insert("stateMachineVersionArn".into(), json!(version));
        if let Some(alias) = alias {
            m.insert("stateMachineAliasArn".into(), json!(alias));
        }
    }
    match redrivable {
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
    Ok(listing("executions", items, page.cursor))
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
        Some(token) => token.parse::<u64>().map_err(|_| invalid_token())?,
    };
    let events = api.engine.history(arn, after, limit + 1, reverse).await?;
    let more = events.len() > limit;
    let shown = &events[..events.len().min(limit)];
    let next = shown
        .last()
        .filter(|_| more)
        .map(|last| last.id.to_string());
    Ok(listing(
        "events",
        shown.iter().map(history_event).collect(),
        next,
    ))
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
        // What AWS would run and weir cannot yet gets its own code, not a made-up AWS one.
        Err(error) if error.is_unsupported() => {
            Err(ApiError::new("UnsupportedOperation", error.to_string()))
        }
        Err(error) => Err(ApiError::new(error.code(), error.to_string())),
    }
}

/// A `[{key, value}]` tag list member.
pub(crate) fn tag_list(input: &Value, member: &str) -> Result<Vec<(String, String)>, ApiError> {
    let Some(list) = input.get(member).filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let items = list.as_array().ok_or_else(|| {
        ApiError::new(
            "SerializationException",
            format!("The member '{member}' must be a list."),
        )
    })?;
    items
        .iter()
        .map(|tag| {
            check_length(tag, "key", MAX_TAG_KEY)?;
            check_length(tag, "value", MAX_TAG_VALUE)?;
            let key = required(tag, "key")?;
            let value = optional(tag, "value")?.unwrap_or_default();
            Ok((key.to_string(), value.to_string()))
        })
        .collect()
}

/// A `routingConfiguration` member.
fn routes(input: &Value) -> Result<Option<Vec<engine::Route>>, ApiError> {
    let Some(list) = input.get("routingConfiguration").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let items = list.as_array().ok_or_else(|| {
        ApiError::new(
            "SerializationException",
            "The member 'routingConfiguration' must be a list.",
        )
    })?;
    items
        .iter()
        .map(|route| {
            let version_arn = required(route, "stateMachineVersionArn")?;
            let weight = crate::wire::optional_int(route, "weight")?.unwrap_or(0);
            let weight = u64::try_from(weight)
                .map_err(|_| ApiError::validation("A routing weight must be 0 to 100."))?;
            Ok(engine::Route {
                version_arn: version_arn.to_string(),
                weight,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn routes_json(routes: &[engine::Route]) -> Value {
    Value::Array(
        routes
            .iter()
            .map(|r| json!({"stateMachineVersionArn": r.version_arn, "weight": r.weight}))
            .collect(),
    )
}

async fn publish_version(api: &Api, input: &Value) -> Result<Value, ApiError> {
    check_length(input, "description", MAX_DESCRIPTION)?;
    let arn = required(input, "stateMachineArn")?;
    check_arn(arn, &["stateMachine"])?;
    let version = api
        .engine
        .publish_version(
            arn,
            optional(input, "description")?,
            optional(input, "revisionId")?,
        )
        .await?;
    Ok(json!({
        "creationDate": epoch(version.created_at),
        "stateMachineVersionArn": version.arn,
    }))
}

async fn list_versions(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "stateMachineArn")?;
    check_arn(arn, &["stateMachine"])?;
    api.engine.describe_state_machine(arn).await?;
    let versions = api.engine.list_versions(arn).await?;
    let items: Vec<Value> = versions
        .iter()
        .map(|v| json!({"stateMachineVersionArn": v.arn, "creationDate": epoch(v.created_at)}))
        .collect();
    page_of(input, "stateMachineVersions", items)
}

/// One page of an in-memory listing, `nextToken` being the offset.
pub(crate) fn page_of(input: &Value, member: &str, items: Vec<Value>) -> Result<Value, ApiError> {
    let limit = page_size(input)?;
    let start = match optional(input, "nextToken")? {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| invalid_token())?,
    };
    let end = items.len().min(start.saturating_add(limit));
    let page: Vec<Value> = items
        .get(start..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let next = (end < items.len()).then(|| end.to_string());
    Ok(listing(member, page, next))
}

async fn delete_version(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "stateMachineVersionArn")?;
    check_arn(arn, &["stateMachine"])?;
    api.engine.delete_version(arn).await?;
    Ok(json!({}))
}

async fn create_alias(api: &Api, input: &Value) -> Result<Value, ApiError> {
    check_length(input, "description", MAX_DESCRIPTION)?;
    let name = required(input, "name")?;
    let routes = routes(input)?.ok_or_else(|| {
        ApiError::validation(
            "1 validation error detected: Value null at 'routingConfiguration' failed to \
             satisfy constraint: Member must not be null",
        )
    })?;
    let alias = api
        .engine
        .create_alias(name, optional(input, "description")?, routes)
        .await?;
    Ok(json!({
        "stateMachineAliasArn": alias.arn,
        "creationDate": epoch(alias.created_at),
    }))
}

async fn describe_alias(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "stateMachineAliasArn")?;
    check_arn(arn, &["stateMachine"])?;
    let alias = api.engine.describe_alias(arn).await?;
    let mut answer = Map::new();
    answer.insert("stateMachineAliasArn".into(), json!(alias.arn));
    answer.insert("name".into(), json!(alias.name));
    if let Some(description) = &alias.description {
        answer.insert("description".into(), json!(description));
    }
    answer.insert("routingConfiguration".into(), routes_json(&alias.routes));
    answer.insert("creationDate".into(), epoch(alias.created_at));
    answer.insert("updateDate".into(), epoch(alias.updated_at));
    Ok(Value::Object(answer))
}

async fn update_alias(api: &Api, input: &Value) -> Result<Value, ApiError> {
    check_length(input, "description", MAX_DESCRIPTION)?;
    let arn = required(input, "stateMachineAliasArn")?;
    check_arn(arn, &["stateMachine"])?;
    let description = optional(input, "description")?;
    let routes = routes(input)?;
    if description.is_none() && routes.is_none() {
        return Err(ApiError::validation(
            "Either the description or the routingConfiguration must be specified",
        ));
    }
    let alias = api.engine.update_alias(arn, description, routes).await?;
    Ok(json!({"updateDate": epoch(alias.updated_at)}))
}

async fn delete_alias(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "stateMachineAliasArn")?;
    check_arn(arn, &["stateMachine"])?;
    api.engine.delete_alias(arn).await?;
    Ok(json!({}))
}

async fn list_aliases(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "stateMachineArn")?;
    check_arn(arn, &["stateMachine"])?;
    api.engine.describe_state_machine(arn).await?;
    let aliases = api.engine.list_aliases(arn).await?;
    let items: Vec<Value> = aliases
        .iter()
        .map(|a| json!({"stateMachineAliasArn": a.arn, "creationDate": epoch(a.created_at)}))
        .collect();
    page_of(input, "stateMachineAliases", items)
}

async fn tag_resource(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "resourceArn")?;
    check_arn(arn, &["stateMachine", "activity"])?;
    let tags = tag_list(input, "tags")?;
    api.engine.tag_resource(arn, &tags).await?;
    Ok(json!({}))
}

async fn untag_resource(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "resourceArn")?;
    check_arn(arn, &["stateMachine", "activity"])?;
    let keys: Vec<String> = match input.get("tagKeys") {
        Some(Value::Array(keys)) => keys
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => {
            return Err(ApiError::validation(
                "1 validation error detected: Value null at 'tagKeys' failed to satisfy \
                 constraint: Member must not be null",
            ));
        }
    };
    api.engine.untag_resource(arn, &keys).await?;
    Ok(json!({}))
}

async fn list_tags(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "resourceArn")?;
    check_arn(arn, &["stateMachine", "activity"])?;
    let tags = api.engine.list_tags(arn).await?;
    let items: Vec<Value> = tags
        .into_iter()
        .map(|(key, value)| json!({"key": key, "value": value}))
        .collect();
    Ok(json!({"tags": items}))
}

fn map_run_summary(run: &engine::MapRun) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("executionArn".into(), json!(run.execution_arn));
    m.insert("mapRunArn".into(), json!(run.report.arn));
    m.insert("stateMachineArn".into(), json!(run.state_machine_arn));
    m.insert("startDate".into(), epoch(run.start_date));
    if let Some(stop) = run.stop_date {
        m.insert("stopDate".into(), epoch(stop));
    }
    m
}

async fn list_map_runs(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "executionArn")?;
    check_arn(arn, &["execution"])?;
    let runs = api.engine.list_map_runs(arn).await?;
    let items: Vec<Value> = runs
        .iter()
        .map(|run| Value::Object(map_run_summary(run)))
        .collect();
    page_of(input, "mapRuns", items)
}

async fn describe_map_run(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "mapRunArn")?;
    check_arn(arn, &["mapRun"])?;
    let run = api.engine.describe_map_run(arn).await?;
    let r = &run.report;
    let counts = json!({
        "pending": r.pending,
        "running": r.running,
        "succeeded": r.succeeded,
        "failed": r.failed,
        "timedOut": 0,
        "aborted": r.aborted,
        "total": r.total,
        "resultsWritten": r.succeeded + r.failed,
        "failuresNotRedrivable": 0,
        "pendingRedrive": 0,
    });
    let mut m = map_run_summary(&run);
    m.remove("stateMachineArn");
    m.insert("status".into(), json!(r.status));
    m.insert("maxConcurrency".into(), json!(r.max_concurrency));
    m.insert(
        "toleratedFailurePercentage".into(),
        json!(r.tolerated_percentage.unwrap_or(0.0)),
    );
    m.insert(
        "toleratedFailureCount".into(),
        json!(r.tolerated_count.unwrap_or(0)),
    );
    m.insert("itemCounts".into(), counts.clone());
    m.insert("executionCounts".into(), counts);
    m.insert("redriveCount".into(), json!(0));
    Ok(Value::Object(m))
}

async fn update_map_run(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "mapRunArn")?;
    check_arn(arn, &["mapRun"])?;
    let max_concurrency = crate::wire::optional_int(input, "maxConcurrency")?
        .map(|n| {
            u64::try_from(n).map_err(|_| ApiError::validation("maxConcurrency must be 0 or more"))
        })
        .transpose()?;
    let tolerated_count = crate::wire::optional_int(input, "toleratedFailureCount")?
        .map(|n| {
            u64::try_from(n)
                .map_err(|_| ApiError::validation("toleratedFailureCount must be 0 or more"))
        })
        .transpose()?;
    let tolerated_percentage = match input.get("toleratedFailurePercentage") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_f64() {
            Some(p) if (0.0..=100.0).contains(&p) => Some(p),
            _ => {
                return Err(ApiError::validation(
                    "toleratedFailurePercentage must be between 0 and 100",
                ));
            }
        },
        Some(_) => {
            return Err(ApiError::new(
                "SerializationException",
                "The member 'toleratedFailurePercentage' must be a number.",
            ));
        }
    };
    api.engine
        .update_map_run(arn, max_concurrency, tolerated_count, tolerated_percentage)
        .await?;
    Ok(json!({}))
}
