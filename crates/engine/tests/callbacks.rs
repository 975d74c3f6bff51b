//! Tasks answered from outside: `.waitForTaskToken` callbacks, activities polled by workers,
//! heartbeats and durable task deadlines, nested executions, and the refusal of resources no one
//! runs. On a real SQLite file, restarts included; expected values are AWS's documented
//! behaviour (error codes, event types, result shapes).

use engine::{Clock, Error, Handlers, ManualClock, NewStateMachine, handler_fn};
use jiff::SignedDuration;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod support;

use support::{create, engine_with, open, t0, types};

/// A callback integration answered by the test's own handler (weir runs `sqs:sendMessage`
/// itself, so this uses one it does not).
const SEND: &str = "arn:aws:states:::events:putEvents.waitForTaskToken";

/// Handlers with a `.waitForTaskToken` integration that keeps every token it is sent.
fn token_keeper() -> (Handlers, Arc<Mutex<Vec<String>>>) {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let kept = tokens.clone();
    let mut handlers = Handlers::new();
    handlers.insert(
        SEND,
        handler_fn(move |request| {
            let kept = kept.clone();
            async move {
                let token = request.input["MessageBody"]["TaskToken"]
                    .as_str()
                    .expect("the token reaches the integration")
                    .to_string();
                kept.lock().expect("not poisoned").push(token);
                Ok(json!({"MessageId": "m-1"}))
            }
        }),
    );
    (handlers, tokens)
}

/// Waits (on the wall clock) until `tokens` holds `n` tokens.
async fn tokens_after(tokens: &Arc<Mutex<Vec<String>>>, n: usize) -> Vec<String> {
    for _ in 0..500 {
        let now = tokens.lock().expect("not poisoned").clone();
        if now.len() >= n {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the integration was not called {n} times");
}

fn callback_machine(extra: Value) -> Value {
    let mut task = json!({
        "Type": "Task", "Resource": SEND,
        "Parameters": {"QueueUrl": "q", "MessageBody": {"TaskToken.$": "$$.Task.Token"}},
        "End": true
    });
    if let (Value::Object(task), Value::Object(extra)) = (&mut task, extra) {
        task.extend(extra);
    }
    json!({"StartAt": "Wait", "States": {"Wait": task}})
}

fn code(error: &Error) -> &'static str {
    error.code()
}

#[tokio::test]
async fn a_callback_answers_with_its_token_once() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (handlers, tokens) = token_keeper();
    let engine = engine_with(open(&dir), Arc::new(ManualClock::new(t0())), handlers).await;
    let machine = create(&engine, "callback", callback_machine(json!({}))).await;
    let run = engine
        .start_execution(&machine, None, None)
        .await
        .expect("starts");
    let token = tokens_after(&tokens, 1).await.remove(0);

    let bad = engine
        .send_task_success("not-a-token", "{}")
        .await
        .expect_err("an unknown token is refused");
    assert_eq!(code(&bad), "InvalidToken");
    let bad = engine
        .send_task_success(&token, "{not json")
        .await
        .expect_err("output must be JSON");
    assert_eq!(code(&bad), "InvalidOutput");

    engine
        .send_task_success(&token, r#"{"approved": true}"#)
        .await
        .expect("the waiting task takes the answer");
    let done = engine.wait(&run.execution_arn).await.expect("ends");
    assert_eq!(done.status, "SUCCEEDED");
    assert_eq!(done.output.as_deref(), Some(r#"{"approved":true}"#));
    let history = types(&engine, &run.execution_arn).await;
    let tail: Vec<&str> = history.iter().map(String::as_str).skip(2).collect();
    assert_eq!(
        tail,
        [
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let again = engine
        .send_task_failure(&token, Some("Late"), None)
        .await
        .expect_err("an answered task takes no second answer");
    assert_eq!(code(&again), "TaskTimedOut");
}

#[tokio::test]
async fn a_token_still_works_after_a_restart() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(t0()));
    let (handlers, tokens) = token_keeper();
    let engine = engine_with(open(&dir), clock.clone(), handlers).await;
    let machine = create(
        &engine,
        "restart",
        json!({"StartAt": "Wait", "States": {
            "Wait": {
                "Type": "Task", "Resource": SEND,
                "Parameters": {"QueueUrl": "q", "MessageBody": {"TaskToken.$": "$$.Task.Token"}},
                "Catch": [{"ErrorEquals": ["Rejected"], "Next": "Caught"}],
                "Next": "Done"
            },
            "Done": {"Type": "Succeed"},
            "Caught": {"Type": "Pass", "End": true}
        }}),
    )
    .await;
    let run = engine
        .start_execution(&machine, None, None)
        .await
        .expect("starts");
    let token = tokens_after(&tokens, 1).await.remove(0);
    drop(engine);

    let (handlers, _) = token_keeper();
    let engine = engine_with(open(&dir), clock, handlers).await;
    engine
        .send_task_failure(&token, Some("Rejected"), Some("no stock"))
        .await
        .expect("the token outlives the engine that made it");
    let done = engine.wait(&run.execution_arn).await.expect("ends");
    assert_eq!(done.status, "SUCCEEDED");
    let output: Value =
        serde_json::from_str(done.output.as_deref().expect("output")).expect("JSON");
    assert_eq!(output, json!({"Error": "Rejected", "Cause": "no stock"}));
}

#[tokio::test]
async fn heartbeats_keep_a_task_alive_and_silence_times_it_out_across_a_restart() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(t0()));
    let (handlers, tokens) = token_keeper();
    let engine = engine_with(open(&dir), clock.clone(), handlers).await;
    let machine = create(
        &engine,
        "heartbeat",
        callback_machine(json!({"HeartbeatSeconds": 10, "TimeoutSeconds": 100})),
    )
    .await;
    let run = engine
        .start_execution(&machine, None, None)
        .await
        .expect("starts");
    let token = tokens_after(&tokens, 1).await.remove(0);
    for _ in 0..3 {
        clock.advance(SignedDuration::from_secs(6));
        tokio::time::sleep(Duration::from_millis(30)).await;
        engine
            .send_task_heartbeat(&token)
            .await
            .expect("a heartbeat for a waiting task");
    }
    // 18 s since the start, 0 since the last heartbeat: still running.
    let now = engine
        .describe_execution(&run.execution_arn)
        .await
        .expect("describes");
    assert_eq!(now.status, "RUNNING");

    // The heartbeat deadline is durable: a new engine enforces it.
    drop(engine);
    let (handlers, _) = token_keeper();
    let engine = engine_with(open(&dir), clock.clone(), handlers).await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    clock.advance(SignedDuration::from_secs(11));
    let done = engine.wait(&run.execution_arn).await.expect("ends");
    assert_eq!(done.status, "FAILED");
    // AWS reports a silent callback as States.Timeout (activities: States.HeartbeatTimeout).
    assert_eq!(done.error.as_deref(), Some("States.Timeout"));
    assert!(
        types(&engine, &run.execution_arn)
            .await
            .contains(&"TaskTimedOut".to_string())
    );
    let late = engine
        .send_task_heartbeat(&token)
        .await
        .expect_err("a timed-out task takes no heartbeat");
    assert_eq!(code(&late), "TaskTimedOut");
}

#[tokio::test]
async fn a_task_timeout_survives_a_restart() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(t0()));
    let (handlers, _tokens) = token_keeper();
    let engine = engine_with(open(&dir), clock.clone(), handlers).await;
    let machine = create(
        &engine,
        "timeout",
        callback_machine(json!({"TimeoutSeconds": 30})),
    )
    .await;
    let run = engine
        .start_execution(&machine, None, None)
        .await
        .expect("starts");
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(engine);
    let (handlers, _) = token_keeper();
    let engine = engine_with(open(&dir), clock.clone(), handlers).await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    clock.advance(SignedDuration::from_secs(29));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let still = engine
        .describe_execution(&run.execution_arn)
        .await
        .expect("describes");
    assert_eq!(still.status, "RUNNING", "29 s is inside the timeout");
    clock.advance(SignedDuration::from_secs(1));
    let done = engine.wait(&run.execution_arn).await.expect("ends");
    assert_eq!(done.error.as_deref(), Some("States.Timeout"));
}

#[tokio::test]
async fn activity_tasks_go_to_polling_workers_once() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(t0()));
    let engine = engine_with(open(&dir), clock.clone(), Handlers::new()).await;
    let activity = engine
        .create_activity("review", &[])
        .await
        .expect("creates");
    assert!(
        activity.arn.ends_with(":activity:review"),
        "{}",
        activity.arn
    );
    let again = engine
        .create_activity("review", &[])
        .await
        .expect("idempotent");
    assert_eq!(again, activity);
    let machine = create(
        &engine,
        "reviewed",
        json!({"StartAt": "Review", "States": {
            "Review": {"Type": "Task", "Resource": activity.arn, "End": true}
        }}),
    )
    .await;

    // A worker polls before there is work and gets the task when it is scheduled.
    let poller = {
        let engine = engine.clone();
        let arn = activity.arn.clone();
        tokio::spawn(async move {
            engine
                .get_activity_task(&arn, Some("worker-1"), Duration::from_secs(10))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let run = engine
        .start_execution(&machine, None, Some(r#"{"doc": 7}"#))
        .await
        .expect("starts");
    let task = poller
        .await
        .expect("the poller ran")
        .expect("polls")
        .expect("the scheduled task reaches the waiting worker");
    assert_eq!(task.input, json!({"doc": 7}));
    let nothing = engine
        .get_activity_task(&activity.arn, None, Duration::from_millis(100))
        .await
        .expect("polls");
    assert_eq!(nothing, None, "a task is handed out once");

    engine
        .send_task_failure(&task.token, Some("Rejected"), Some("bad doc"))
        .await
        .expect("the worker answers");
    let done = engine.wait(&run.execution_arn).await.expect("ends");
    assert_eq!(done.status, "FAILED");
    assert_eq!(done.error.as_deref(), Some("Rejected"));
    let history = types(&engine, &run.execution_arn).await;
    for kind in ["ActivityScheduled", "ActivityStarted", "ActivityFailed"] {
        assert!(history.contains(&kind.to_string()), "{kind} in {history:?}");
    }

    let missing = engine
        .get_activity_task(
            &activity.arn.replace("review", "nope"),
            None,
            Duration::from_millis(10),
        )
        .await
        .expect_err("an unknown activity");
    assert_eq!(code(&missing), "ActivityDoesNotExist");
}

#[tokio::test]
async fn an_activity_task_not_yet_taken_is_offered_again_after_a_restart() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(t0()));
    let engine = engine_with(open(&dir), clock.clone(), Handlers::new()).await;
    let activity = engine.create_activity("load", &[]).await.expect("creates");
    let machine = create(
        &engine,
        "loader",
        json!({"StartAt": "Load", "States": {
            "Load": {"Type": "Task", "Resource": activity.arn, "End": true}
        }}),
    )
    .await;
    let run = engine
        .start_execution(&machine, None, Some(r#"{"n": 1}"#))
        .await
        .expect("starts");
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(engine);

    let engine = engine_with(open(&dir), clock, Handlers::new()).await;
    let task = engine
        .get_activity_task(&activity.arn, None, Duration::from_secs(5))
        .await
        .expect("polls")
        .expect("the stored task is offered by the new engine");
    assert_eq!(task.input, json!({"n": 1}));
    engine
        .send_task_success(&task.token, r#"{"loaded": 1}"#)
        .await
        .expect("answers");
    let done = engine.wait(&run.execution_arn).await.expect("ends");
    assert_eq!(done.output.as_deref(), Some(r#"{"loaded":1}"#));
}

#[tokio::test]
async fn nested_executions_run_and_report_as_describe_execution() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let engine = engine_with(open(&dir), Arc::new(engine::SystemClock), Handlers::new()).await;
    let child = create(
        &engine,
        "child",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": true}}}),
    )
    .await;
    let failing = create(
        &engine,
        "failing",
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "SomeFailure", "Cause": "it fails"}}}),
    )
    .await;
    let parent = |resource: &str| {
        json!({"StartAt": "Start", "States": {"Start": {
            "Type": "Task", "Resource": resource,
            "Parameters": {"StateMachineArn.$": "$.machine", "Input": {"x": 1}, "Name.$": "$.name"},
            "End": true
        }}})
    };
    let run_parent =
        |name: &'static str, resource: &'static str, target: String, child: &'static str| {
            let engine = engine.clone();
            async move {
                let machine = create(&engine, name, parent(resource)).await;
                let input = json!({"machine": target, "name": child}).to_string();
                let run = engine
                    .start_execution(&machine, None, Some(&input))
                    .await
                    .expect("starts");
                let done = engine.wait(&run.execution_arn).await.expect("ends");
                (run.execution_arn, done)
            }
        };

    let (arn, done) = run_parent(
        "parent2",
        "arn:aws:states:::states:startExecution.sync:2",
        child.clone(),
        "c1",
    )
    .await;
    assert_eq!(done.status, "SUCCEEDED", "{done:?}");
    let output: Value =
        serde_json::from_str(done.output.as_deref().expect("output")).expect("JSON");
    assert_eq!(output["Output"], json!({"Arg1": "argument1"}));
    assert_eq!(output["Input"], json!({"x": 1}));
    assert_eq!(output["Status"], "SUCCEEDED");
    assert!(
        output["ExecutionArn"]
            .as_str()
            .expect("an ARN")
            .ends_with(":child:c1")
    );
    assert!(
        types(&engine, &arn)
            .await
            .contains(&"TaskSubmitted".to_string())
    );

    let (_, done) = run_parent(
        "parent1",
        "arn:aws:states:::states:startExecution.sync",
        failing,
        "f1",
    )
    .await;
    assert_eq!(done.status, "FAILED");
    assert_eq!(done.error.as_deref(), Some("States.TaskFailed"));
    let cause: Value =
        serde_json::from_str(done.cause.as_deref().expect("a cause")).expect("JSON cause");
    assert_eq!(cause["Error"], "SomeFailure");
    assert_eq!(cause["Cause"], "it fails");
    assert_eq!(
        cause["Input"], r#"{"x":1}"#,
        ".sync keeps Input as JSON text"
    );

    let (_, done) = run_parent(
        "parent0",
        "arn:aws:states:::states:startExecution",
        child,
        "c2",
    )
    .await;
    let output: Value =
        serde_json::from_str(done.output.as_deref().expect("output")).expect("JSON");
    assert!(
        output["ExecutionArn"]
            .as_str()
            .expect("an ARN")
            .ends_with(":child:c2")
    );
    assert!(output["StartDate"].is_number());
}

#[tokio::test]
async fn a_definition_calling_what_nothing_runs_is_refused_at_creation() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let engine = engine_with(
        open(&dir),
        Arc::new(ManualClock::new(t0())),
        Handlers::new(),
    )
    .await;
    let refused = engine
        .create_state_machine(NewStateMachine {
            name: "ddb".to_string(),
            definition: json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "Get", "States": {"Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem", "End": true}}}
            ]}}})
            .to_string(),
            express: false,
            role_arn: String::new(),
        })
        .await
        .expect_err("no handler runs dynamodb:getItem");
    assert_eq!(refused.code(), "InvalidDefinition");
    let message = refused.to_string();
    for part in [
        "'Get'",
        "arn:aws:states:::dynamodb:getItem",
        "/States/P/Branches/0/States/Get/Resource",
    ] {
        assert!(message.contains(part), "{part} in {message}");
    }
}

#[tokio::test]
async fn closing_ends_long_polls_at_once() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let engine = engine_with(
        open(&dir),
        Arc::new(ManualClock::new(t0())),
        Handlers::new(),
    )
    .await;
    let activity = engine.create_activity("idle", &[]).await.expect("creates");
    let poller = {
        let engine = engine.clone();
        let arn = activity.arn.clone();
        tokio::spawn(async move {
            let began = std::time::Instant::now();
            let got = engine
                .get_activity_task(&arn, None, Duration::from_secs(60))
                .await;
            (got, began.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    engine.close_activity_polls();
    let (got, waited) = poller.await.expect("the poll ends");
    assert_eq!(got.expect("no error"), None);
    assert!(
        waited < Duration::from_secs(5),
        "the poll waited {waited:?}"
    );
    let later = engine
        .get_activity_task(&activity.arn, None, Duration::from_secs(60))
        .await
        .expect("no error");
    assert_eq!(later, None, "a poll after closing returns at once");
}

#[tokio::test]
async fn express_machines_start_nested_executions_and_refuse_activities() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let engine = engine_with(open(&dir), Arc::new(engine::SystemClock), Handlers::new()).await;
    let child = create(
        &engine,
        "child",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let express = |name: &str, definition: Value| NewStateMachine {
        name: name.to_string(),
        definition: definition.to_string(),
        express: true,
        role_arn: String::new(),
    };
    let parent = engine
        .create_state_machine(express(
            "express-parent",
            json!({"StartAt": "Start", "States": {"Start": {
                "Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
                "Parameters": {"StateMachineArn": child, "Name": "from-express"}, "End": true
            }}}),
        ))
        .await
        .expect("Express machines may start executions")
        .arn;
    let outcome = engine
        .start_sync_execution(&parent, None, None)
        .await
        .expect("runs");
    assert_eq!(
        outcome.status,
        asl::execution::Status::Succeeded,
        "{outcome:?}"
    );
    let output = outcome.output.expect("an output");
    assert!(
        output["ExecutionArn"]
            .as_str()
            .expect("an ARN")
            .ends_with(":child:from-express")
    );

    let activity = engine
        .create_activity("manual", &[])
        .await
        .expect("creates");
    let refused = engine
        .create_state_machine(express(
            "express-activity",
            json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": activity.arn, "End": true}}}),
        ))
        .await
        .expect_err("Express machines do not run activities");
    assert_eq!(refused.code(), "InvalidDefinition");
    assert!(
        refused.to_string().contains("/States/A/Resource"),
        "{refused}"
    );
}
