//! The `arn:aws:states:::sqs:sendMessage` integration (and its `.waitForTaskToken` form): a Task
//! sends a message to one of weir's queues. `QueueUrl` names the queue by its last path segment
//! (an AWS queue URL works unchanged); `MessageBody` is sent as it is when it is a string and as
//! its JSON text otherwise; `DelaySeconds`, `MessageAttributes`, `MessageGroupId` and
//! `MessageDeduplicationId` are SQS's. The result is `SendMessage`'s answer in Step Functions'
//! shape; a refused send fails the task with `SQS.<Code>Exception` (e.g.
//! `SQS.QueueDoesNotExistException`), the cause worded as the AWS SDK words it.

use super::SendRequest;
use crate::engine::Engine;
use crate::error::Error;
use crate::task::TaskFailure;
use asl::execution::TaskCommand;
use serde_json::{Map, Value, json};

/// The resource prefix of the integration.
const SEND_MESSAGE: &str = "arn:aws:states:::sqs:sendMessage";

/// Whether the engine runs this resource itself as a send to one of its queues.
pub(crate) fn runs(resource: &str) -> bool {
    matches!(
        resource.strip_prefix(SEND_MESSAGE),
        Some("" | ".waitForTaskToken")
    )
}

/// Runs one `sqs:sendMessage` task attempt.
pub(crate) fn run(
    engine: Engine,
    task: TaskCommand,
) -> store::BoxFuture<'static, Result<Value, TaskFailure>> {
    Box::pin(async move { send(&engine, &task).await })
}

async fn send(engine: &Engine, task: &TaskCommand) -> Result<Value, TaskFailure> {
    let params = task.input.as_object().cloned().unwrap_or_default();
    let Some(url) = params.get("QueueUrl").and_then(Value::as_str) else {
        return Err(TaskFailure::new(
            "States.Runtime",
            format!(
                "The state '{}' calls sqs:sendMessage without a QueueUrl string in its parameters",
                task.state
            ),
        ));
    };
    let queue = url.trim_end_matches('/').rsplit('/').next().unwrap_or(url);
    let body = match params.get("MessageBody") {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let request = SendRequest {
        body,
        delay_seconds: params.get("DelaySeconds").and_then(Value::as_u64),
        attributes: object(&params, "MessageAttributes"),
        system_attributes: object(&params, "MessageSystemAttributes"),
        group_id: text(&params, "MessageGroupId"),
        dedup_id: text(&params, "MessageDeduplicationId"),
    };
    let sent = engine
        .send_messages(queue, vec![request])
        .await
        .map_err(failure)?;
    let Some(sent) = sent.into_iter().next() else {
        return Err(TaskFailure::new(
            "States.TaskFailed",
            "the queue answered no message",
        ));
    };
    let mut members = Map::new();
    if let Some(md5) = &sent.md5_of_attributes {
        members.insert("MD5OfMessageAttributes".into(), json!(md5));
    }
    members.insert("MD5OfMessageBody".into(), json!(sent.md5_of_body));
    members.insert("MessageId".into(), json!(sent.id));
    if let Some(sequence) = &sent.sequence_number {
        members.insert("SequenceNumber".into(), json!(sequence));
    }
    let body = Value::Object(members.clone());
    let request_id = asl::Rng::from_key(&task.idempotency_key).uuid();
    Ok(crate::sdk::json_result(
        members,
        &body,
        &request_id,
        engine.clock().now(),
    ))
}

fn object(params: &Map<String, Value>, key: &str) -> Map<String, Value> {
    params
        .get(key)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn text(params: &Map<String, Value>, key: &str) -> Option<String> {
    params.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A refused send as the task failure Step Functions reports for an SQS error.
fn failure(error: Error) -> TaskFailure {
    let code = error.code();
    TaskFailure::new(
        format!("SQS.{code}Exception"),
        format!("{error} (Service: AmazonSQS; Status Code: 400; Error Code: {code})"),
    )
}
