//! The activity and callback operations of Step Functions: `CreateActivity`, `DescribeActivity`,
//! `DeleteActivity`, `ListActivities`, `GetActivityTask` (a long poll of up to 60 seconds, as on
//! AWS) and `SendTaskSuccess`, `SendTaskFailure`, `SendTaskHeartbeat`, which answer activity
//! tasks and `.waitForTaskToken` tasks by their token.

use crate::Api;
use crate::error::ApiError;
use crate::wire::{check_arn, check_length, epoch, optional, page_size, required};
use serde_json::{Value, json};
use std::time::Duration;

/// How long `GetActivityTask` waits for a task, as on AWS.
pub const LONG_POLL: Duration = Duration::from_secs(60);

/// AWS's limit on a task token's length.
const MAX_TOKEN: usize = 2048;
/// AWS's limit on a worker name's length.
const MAX_WORKER_NAME: usize = 80;
/// AWS's limit on `SendTaskSuccess`'s output.
const MAX_OUTPUT: usize = 262_144;

/// Runs one activity or callback operation; `None` if `operation` is not one of them.
pub async fn call(api: &Api, operation: &str, input: &Value) -> Option<Result<Value, ApiError>> {
    Some(match operation {
        "CreateActivity" => create_activity(api, input).await,
        "DescribeActivity" => describe_activity(api, input).await,
        "DeleteActivity" => delete_activity(api, input).await,
        "ListActivities" => list_activities(api, input).await,
        "GetActivityTask" => get_activity_task(api, input).await,
        "SendTaskSuccess" => send_task_success(api, input).await,
        "SendTaskFailure" => send_task_failure(api, input).await,
        "SendTaskHeartbeat" => send_task_heartbeat(api, input).await,
        _ => return None,
    })
}

async fn create_activity(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let name = required(input, "name")?;
    let tags = crate::sfn::tag_list(input, "tags")?;
    let activity = api.engine.create_activity(name, &tags).await?;
    Ok(json!({
        "activityArn": activity.arn,
        "creationDate": epoch(activity.creation_date),
    }))
}

fn activity_arn(input: &Value) -> Result<&str, ApiError> {
    let arn = required(input, "activityArn")?;
    check_arn(arn, &["activity"])?;
    Ok(arn)
}

async fn describe_activity(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let activity = api.engine.describe_activity(activity_arn(input)?).await?;
    Ok(json!({
        "activityArn": activity.arn,
        "name": activity.name,
        "creationDate": epoch(activity.creation_date),
    }))
}

async fn delete_activity(api: &Api, input: &Value) -> Result<Value, ApiError> {
    api.engine.delete_activity(activity_arn(input)?).await?;
    Ok(json!({}))
}

async fn list_activities(api: &Api, input: &Value) -> Result<Value, ApiError> {
    page_size(input)?;
    let items: Vec<Value> = api
        .engine
        .list_activities()
        .await?
        .into_iter()
        .map(|a| {
            json!({
                "activityArn": a.arn,
                "name": a.name,
                "creationDate": epoch(a.creation_date),
            })
        })
        .collect();
    crate::sfn::page_of(input, "activities", items)
}

async fn get_activity_task(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let arn = activity_arn(input)?;
    check_length(input, "workerName", MAX_WORKER_NAME)?;
    let worker = optional(input, "workerName")?;
    let task = api.engine.get_activity_task(arn, worker, LONG_POLL).await?;
    Ok(match task {
        Some(task) => json!({"taskToken": task.token, "input": task.input.to_string()}),
        // AWS answers an empty poll with no token.
        None => json!({}),
    })
}

fn task_token(input: &Value) -> Result<&str, ApiError> {
    check_length(input, "taskToken", MAX_TOKEN)?;
    required(input, "taskToken")
}

async fn send_task_success(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let token = task_token(input)?;
    check_length(input, "output", MAX_OUTPUT)?;
    let output = required(input, "output")?;
    api.engine.send_task_success(token, output).await?;
    Ok(json!({}))
}

async fn send_task_failure(api: &Api, input: &Value) -> Result<Value, ApiError> {
    let token = task_token(input)?;
    check_length(input, "error", engine::MAX_ERROR_LENGTH)?;
    check_length(input, "cause", engine::MAX_CAUSE_LENGTH)?;
    let error = optional(input, "error")?;
    let cause = optional(input, "cause")?;
    api.engine.send_task_failure(token, error, cause).await?;
    Ok(json!({}))
}

async fn send_task_heartbeat(api: &Api, input: &Value) -> Result<Value, ApiError> {
    api.engine.send_task_heartbeat(task_token(input)?).await?;
    Ok(json!({}))
}
