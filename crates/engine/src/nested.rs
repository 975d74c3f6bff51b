//! Nested executions: the `arn:aws:states:::states:startExecution` integration, which starts an
//! execution of another state machine on this engine.
//!
//! - Request-response: the task's result is `StartExecution`'s answer (`ExecutionArn`,
//!   `StartDate`, and the SDK metadata Step Functions adds).
//! - `.sync` / `.sync:2`: the start answer is recorded as `TaskSubmitted`, then the task waits
//!   for the child to end. Its result is `DescribeExecution`'s answer; `.sync` keeps `Input` and
//!   `Output` as JSON text, `.sync:2` parses them. A child that does not succeed fails the task
//!   with `States.TaskFailed`, the answer (with `Error` and `Cause`) as the cause.
//! - `.waitForTaskToken`: the child is started and the task waits for its token.
//!
//! A crash may run the task again: without a `Name` the child's name is derived from the task's
//! idempotency key, and an existing child of that name is joined rather than started twice. The
//! child records its parent (a store document of kind `execution-parent`).

use crate::engine::Engine;
use crate::error::Error;
use crate::task::TaskFailure;
use asl::execution::{Event, TaskCommand};
use serde_json::{Map, Value, json};
use store::ExecutionRecord;

/// The resource prefix of the integration.
const START_EXECUTION: &str = "arn:aws:states:::states:startExecution";

/// The document kind linking a nested execution to its parent.
pub(crate) const PARENT: &str = "execution-parent";

/// Whether the engine runs this resource itself as a nested execution.
pub(crate) fn runs(resource: &str) -> bool {
    matches!(
        resource.strip_prefix(START_EXECUTION),
        Some("" | ".sync" | ".sync:2" | ".waitForTaskToken")
    )
}

/// How the task waits for the child.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pattern {
    RequestResponse,
    Sync,
    Sync2,
    Token,
}

/// Runs one nested-execution task attempt of execution `parent`.
pub(crate) fn run(
    engine: Engine,
    parent: String,
    task: TaskCommand,
) -> store::BoxFuture<'static, Result<Value, TaskFailure>> {
    Box::pin(async move { perform(&engine, &parent, &task).await })
}

async fn perform(engine: &Engine, parent: &str, task: &TaskCommand) -> Result<Value, TaskFailure> {
    let pattern = match task.resource.strip_prefix(START_EXECUTION) {
        Some(".sync") => Pattern::Sync,
        Some(".sync:2") => Pattern::Sync2,
        Some(".waitForTaskToken") => Pattern::Token,
        _ => Pattern::RequestResponse,
    };
    let params = task.input.as_object().cloned().unwrap_or_default();
    let Some(machine) = params.get("StateMachineArn").and_then(Value::as_str) else {
        return Err(TaskFailure::new(
            "States.Runtime",
            format!(
                "The state '{}' calls states:startExecution without a StateMachineArn string in its parameters",
                task.state
            ),
        ));
    };
    // `Input` is the child's input: a JSON text as it is, any other value as its JSON text.
    let input = match params.get("Input") {
        None | Some(Value::Null) => "{}".to_string(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    };
    let name = match params.get("Name").and_then(Value::as_str) {
        Some(name) => name.to_string(),
        None => uuid_from(&task.idempotency_key),
    };
    let child = start_or_join(engine, machine, &name, &input).await?;
    let started = start_answer(&child);
    engine
        .store()
        .put_document(
            PARENT,
            &child.arn,
            json!({"parentExecutionArn": parent}).to_string(),
            None,
        )
        .await
        .ok();
    if matches!(pattern, Pattern::RequestResponse | Pattern::Token) {
        return Ok(started);
    }
    engine.inner().deliver(
        parent,
        crate::engine::Message {
            event: Event::TaskSubmitted {
                thread: task.thread,
                wake: task.wake,
                output: started,
            },
            work: None,
            task: None,
            reply: None,
        },
    );
    let ended = engine.wait(&child.arn).await.map_err(engine_failure)?;
    let described = describe(&ended, pattern == Pattern::Sync2);
    if ended.status == "SUCCEEDED" {
        Ok(described)
    } else {
        Err(TaskFailure::new("States.TaskFailed", described.to_string()))
    }
}

/// Starts the child, or finds the one a previous delivery of this task started.
async fn start_or_join(
    engine: &Engine,
    machine: &str,
    name: &str,
    input: &str,
) -> Result<ExecutionRecord, TaskFailure> {
    let arn = match engine
        .start_execution(machine, Some(name), Some(input))
        .await
    {
        Ok(started) => started.execution_arn,
        Err(Error::ExecutionAlreadyExists { arn }) => {
            let existing = engine
                .describe_execution(&arn)
                .await
                .map_err(engine_failure)?;
            if existing.input != input {
                return Err(engine_failure(Error::ExecutionAlreadyExists { arn }));
            }
            arn
        }
        Err(e) => return Err(engine_failure(e)),
    };
    engine
        .describe_execution(&arn)
        .await
        .map_err(engine_failure)
}

/// An engine error as the task failure AWS reports for a failed API call
/// (`StepFunctions.<Code>Exception`).
fn engine_failure(error: Error) -> TaskFailure {
    let code = error.code();
    let name = if code.ends_with("Exception") {
        format!("StepFunctions.{code}")
    } else {
        format!("StepFunctions.{code}Exception")
    };
    TaskFailure::new(
        name,
        format!("{error} (Service: AWSStepFunctions; Status Code: 400; Error Code: {code})"),
    )
}

/// `StartExecution`'s answer as the task sees it.
fn start_answer(child: &ExecutionRecord) -> Value {
    let body = json!({
        "executionArn": child.arn,
        "startDate": child.start_date.as_millisecond() as f64 / 1000.0,
    });
    let mut members = Map::new();
    members.insert("ExecutionArn".into(), json!(child.arn));
    members.insert("StartDate".into(), json!(child.start_date.as_millisecond()));
    crate::sdk::json_result(members, &body, &uuid_from(&child.arn), child.start_date)
}

/// `DescribeExecution`'s answer for an ended child; `parsed` turns `Input` and `Output` into
/// JSON values (`.sync:2`).
fn describe(child: &ExecutionRecord, parsed: bool) -> Value {
    let text = |t: &str| -> Value {
        if parsed {
            serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_string()))
        } else {
            Value::String(t.to_string())
        }
    };
    let mut out = Map::new();
    if let Some(cause) = &child.cause {
        out.insert("Cause".into(), Value::String(cause.clone()));
    }
    if let Some(error) = &child.error {
        out.insert("Error".into(), Value::String(error.clone()));
    }
    out.insert("ExecutionArn".into(), Value::String(child.arn.clone()));
    out.insert("Input".into(), text(&child.input));
    out.insert("InputDetails".into(), json!({"Included": true}));
    out.insert("Name".into(), Value::String(child.name.clone()));
    if let Some(output) = &child.output {
        out.insert("Output".into(), text(output));
        out.insert("OutputDetails".into(), json!({"Included": true}));
    }
    out.insert("RedriveCount".into(), Value::from(child.redrive_count));
    if child.status == "SUCCEEDED" {
        out.insert("RedriveStatus".into(), json!("NOT_REDRIVABLE"));
        out.insert(
            "RedriveStatusReason".into(),
            json!("Execution is SUCCEEDED and cannot be redriven"),
        );
    } else {
        out.insert("RedriveStatus".into(), json!("REDRIVABLE"));
    }
    out.insert(
        "StartDate".into(),
        Value::from(child.start_date.as_millisecond()),
    );
    out.insert(
        "StateMachineArn".into(),
        Value::String(child.state_machine_arn.clone()),
    );
    out.insert("Status".into(), Value::String(child.status.clone()));
    if let Some(stop) = child.stop_date {
        out.insert("StopDate".into(), Value::from(stop.as_millisecond()));
    }
    Value::Object(out)
}

/// A UUID fixed by `key`, so a task delivered again names the same child.
fn uuid_from(key: &str) -> String {
    asl::Rng::from_key(key).uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_runs_start_execution_in_every_pattern() {
        for r in [
            "arn:aws:states:::states:startExecution",
            "arn:aws:states:::states:startExecution.sync",
            "arn:aws:states:::states:startExecution.sync:2",
            "arn:aws:states:::states:startExecution.waitForTaskToken",
        ] {
            assert!(runs(r), "{r}");
        }
        assert!(!runs("arn:aws:states:::states:startExecution.sync:3"));
        assert!(!runs("arn:aws:states:::lambda:invoke"));
    }
}
