//! weir's own operations on functions and task logs, on the same JSON 1.0 endpoint under the
//! target prefix `Weir.` (`X-Amz-Target: Weir.CreateFunction`).
//!
//! | Operation | Request members | Answer |
//! | --- | --- | --- |
//! | `CreateFunction` | `name`, and the function's members below | the function |
//! | `UpdateFunction` | `name`, and the members to change | the function |
//! | `GetFunction` | `name` | the function |
//! | `ListFunctions` | none | `{"functions": [function, ...]}` by name |
//! | `DeleteFunction` | `name` | `{}` |
//! | `GetTaskLogs` | `executionArn`, optional `stateName` and `attempt` | `{"logs": [log, ...]}` in start order |
//!
//! A function's members: exactly one of `command` (a list of strings: the program and its
//! arguments) and `url` (an `http://` endpoint); with `command`, optionally `workingDirectory`
//! and `environment` (an object of strings) and `memoryMb`; with `url`, optionally `headers` (an
//! object of strings); and `timeoutSeconds`, `concurrency`, `description`. They mean what the
//! registry file's keys mean (see the `functions` crate); relative paths are relative to the
//! server's working directory (`weir functions create` sends absolute ones). An answer adds
//! `functionArn`, `creationDate` and `lastModified` (epoch seconds).
//!
//! `UpdateFunction` keeps the members it is not given, except that giving `command` drops the
//! endpoint's members and giving `url` drops the command's (`workingDirectory`, `environment`,
//! `memoryMb`).
//!
//! A log: `executionArn`, `stateName`, `attempt`, `idempotencyKey`, `functionName` (absent for
//! `http:invoke`), `resource`, `startDate`, `stopDate`, `status`, `error` and `cause` (when the
//! attempt failed), `stdout`, `stdoutTruncated`, `stderr`, `stderrTruncated`.
//!
//! Errors: `ResourceNotFound` for a function that does not exist, `ResourceConflictException`
//! for a name already taken, `InvalidParameterValueException` listing every problem of a function
//! (each naming its member), `SerializationException` for a member of the wrong JSON type,
//! `ValidationException` for a missing member, `ExecutionDoesNotExist` and `InvalidArn` for
//! `GetTaskLogs`.

use crate::Api;
use crate::error::ApiError;
use crate::wire::{check_arn, epoch, optional, optional_int, required, string_list, string_map};
use ::functions::{Error, FunctionConfig, FunctionRecord, TaskLog};
use serde_json::{Map, Value, json};
use std::path::PathBuf;

/// Runs one `Weir.` operation.
pub async fn call(api: &Api, operation: &str, input: &Value) -> Result<Value, ApiError> {
    match operation {
        "CreateFunction" => create(api, input).await,
        "UpdateFunction" => update(api, input).await,
        "GetFunction" => {
            let name = required(input, "name")?;
            let record = api.functions.get(name).ok_or_else(|| not_found(name))?;
            Ok(function_json(api, &record))
        }
        "ListFunctions" => {
            let functions: Vec<Value> = api
                .functions
                .list()
                .iter()
                .map(|record| function_json(api, record))
                .collect();
            Ok(json!({ "functions": functions }))
        }
        "DeleteFunction" => {
            let name = required(input, "name")?;
            api.functions.delete(name).await.map_err(error)?;
            Ok(json!({}))
        }
        "GetTaskLogs" => task_logs(api, input).await,
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!("Unknown operation: Weir.{other}"),
        )),
    }
}

async fn create(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let name = required(input, "name")?;
    let mut config = FunctionConfig::default();
    apply_members(&mut config, input)?;
    let record = api
        .functions
        .create(name, &config, &base()?)
        .await
        .map_err(error)?;
    Ok(function_json(api, &record))
}

async fn update(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let name = required(input, "name")?;
    let existing = api.functions.get(name).ok_or_else(|| not_found(name))?;
    let mut config = existing.function.config();
    apply_members(&mut config, input)?;
    let record = api
        .functions
        .update(name, &config, &base()?)
        .await
        .map_err(error)?;
    Ok(function_json(api, &record))
}

/// Where relative paths of API requests start: the server's working directory.
fn base() -> Result<PathBuf, ApiError> {
    std::env::current_dir()
        .map_err(|e| ApiError::internal(format!("the server's working directory is unknown: {e}")))
}

/// Writes the request's function members over `config`.
fn apply_members(config: &mut FunctionConfig, input: &Value) -> Result<(), ApiError> {
    if let Some(command) = string_list(input, "command")? {
        config.command = Some(command);
        config.url = None;
        config.headers.clear();
    }
    if let Some(url) = optional(input, "url")? {
        config.url = Some(url.to_string());
        config.command = None;
        config.cwd = None;
        config.env.clear();
        config.memory_mb = None;
    }
    if let Some(cwd) = optional(input, "workingDirectory")? {
        config.cwd = Some(PathBuf::from(cwd));
    }
    if let Some(env) = string_map(input, "environment")? {
        config.env = env;
    }
    if let Some(headers) = string_map(input, "headers")? {
        config.headers = headers;
    }
    if let Some(n) = count(input, "timeoutSeconds")? {
        config.timeout_seconds = Some(n);
    }
    if let Some(n) = count(input, "memoryMb")? {
        config.memory_mb = Some(n);
    }
    if let Some(n) = count(input, "concurrency")? {
        config.concurrency = Some(n);
    }
    if let Some(text) = optional(input, "description")? {
        config.description = Some(text.to_string());
    }
    Ok(())
}

/// An optional integer that may not be negative.
fn count(input: &Value, member: &str) -> Result<Option<u64>, ApiError> {
    match optional_int(input, member)? {
        None => Ok(None),
        Some(n) => u64::try_from(n).map(Some).map_err(|_| {
            ApiError::validation(format!(
                "1 validation error detected: Value '{n}' at '{member}' failed to satisfy \
                 constraint: Member must have value greater than or equal to 0"
            ))
        }),
    }
}

fn not_found(name: &str) -> ApiError {
    ApiError::new(
        "ResourceNotFound",
        format!("Function does not exist: '{name}'"),
    )
}

fn error(error: Error) -> ApiError {
    match error {
        Error::NotFound { name } => not_found(&name),
        Error::AlreadyExists { name } => ApiError::new(
            "ResourceConflictException",
            format!("Function already exists: '{name}'"),
        ),
        Error::Invalid { problems } => {
            ApiError::new("InvalidParameterValueException", problems.join("; "))
        }
        other => ApiError::internal(other),
    }
}

/// A function as the operations answer it.
fn function_json(api: &Api, record: &FunctionRecord) -> Value {
    let function = &record.function;
    let mut m = Map::new();
    m.insert("name".into(), json!(record.name));
    m.insert(
        "functionArn".into(),
        json!(format!(
            "arn:aws:lambda:{}:{}:function:{}",
            api.region, api.account, record.name
        )),
    );
    let config = function.config();
    if let Some(command) = &config.command {
        m.insert("command".into(), json!(command));
        m.insert("environment".into(), json!(config.env));
    }
    if let Some(cwd) = &config.cwd {
        m.insert("workingDirectory".into(), json!(cwd.to_string_lossy()));
    }
    if let Some(url) = &config.url {
        m.insert("url".into(), json!(url));
        m.insert("headers".into(), json!(config.headers));
    }
    let optional_fields = [
        ("timeoutSeconds", function.timeout_seconds.map(Value::from)),
        ("memoryMb", function.memory_mb.map(Value::from)),
        ("concurrency", function.concurrency.map(Value::from)),
        ("description", function.description.clone().map(Value::from)),
    ];
    for (key, value) in optional_fields {
        if let Some(value) = value {
            m.insert(key.into(), value);
        }
    }
    m.insert("creationDate".into(), epoch(record.created));
    m.insert("lastModified".into(), epoch(record.modified));
    Value::Object(m)
}

async fn task_logs(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = required(input, "executionArn")?;
    check_arn(arn, &["execution", "express"])?;
    if arn.split(':').nth(5) == Some("execution") {
        api.engine.describe_execution(arn).await?;
    }
    let state = optional(input, "stateName")?;
    let attempt = count(input, "attempt")?;
    let logs = api
        .functions
        .logs(arn, state, attempt)
        .await
        .map_err(ApiError::internal)?;
    let logs: Vec<Value> = logs.iter().map(log_json).collect();
    Ok(json!({ "logs": logs }))
}

fn log_json(log: &TaskLog) -> Value {
    let mut m = Map::new();
    m.insert("executionArn".into(), json!(log.execution_arn));
    m.insert("stateName".into(), json!(log.state));
    m.insert("attempt".into(), json!(log.attempt));
    m.insert("idempotencyKey".into(), json!(log.idempotency_key));
    if let Some(function) = &log.function {
        m.insert("functionName".into(), json!(function));
    }
    m.insert("resource".into(), json!(log.resource));
    m.insert("startDate".into(), epoch(log.started));
    m.insert("stopDate".into(), epoch(log.ended));
    m.insert("status".into(), json!(log.status));
    if let Some(error) = &log.error {
        m.insert("error".into(), json!(error));
    }
    if let Some(cause) = &log.cause {
        m.insert("cause".into(), json!(cause));
    }
    m.insert("stdout".into(), json!(log.stdout.text));
    m.insert("stdoutTruncated".into(), json!(log.stdout.truncated));
    m.insert("stderr".into(), json!(log.stderr.text));
    m.insert("stderrTruncated".into(), json!(log.stderr.truncated));
    Value::Object(m)
}
