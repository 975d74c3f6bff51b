//! The durable engine end to end on a real SQLite file: state machines and their revisions,
//! Standard executions with tasks, retries, timers, timeouts, stop, idempotent start, listing,
//! history, restart with work resumed, and Express executions.
//!
//! Expected values come from AWS's documented behaviour (statuses, error names, the events a
//! state records), not from what the engine printed.

use engine::{
    Engine, Handlers, ManualClock, NewStateMachine, SystemClock, TaskFailure, handler_fn,
};
use jiff::SignedDuration;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use store::ExecutionFilter;

mod support;

use support::{create, engine_with, open, t0, types};

const RESOURCE: &str = "arn:aws:states:::lambda:invoke";

fn pass_chain(states: usize) -> Value {
    let mut map = serde_json::Map::new();
    for i in 0..states {
        let mut state = json!({"Type": "Pass", "Result": i, "ResultPath": format!("$.s{i}")});
        if i + 1 == states {
            state["End"] = json!(true);
        } else {
            state["Next"] = json!(format!("S{}", i + 1));
        }
        map.insert(format!("S{i}"), state);
    }
    json!({"StartAt": "S0", "States": map})
}

#[tokio::test]
async fn a_pass_chain_succeeds_with_its_output_and_history() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let engine = engine_with(open(&dir), Arc::new(SystemClock), Handlers::new()).await;
    let machine = create(&engine, "chain", pass_chain(3)).await;
    let started = engine
        .start_execution(&machine, Some("one"), Some(r#"{"x":1}"#))
        .await
        .expect("starts");
    assert_eq!(
        started.execution_arn,
        "arn:aws:states:us-east-1:000000000000:execution:chain:one"
    );
    let done = engine.wait(&started.execution_arn).await.expect("ends");
    assert_eq!(done.status, "SUCCEEDED");
    let output: Value = serde_json::from_str(done.output.as_deref().expect("an output"))
        .expect("the output is JSON");
    assert_eq!(output, json!({"x": 1, "s0": 0, "s1": 1, "s2": 2}));
    let history = engine
        .history(&started.execution_arn, 0, 100, false)
        .await
        .expect("history");
    let ids: Vec<u64> = history.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=8).collect::<Vec<u64>>());
    assert_eq!(history[0].event_type, "ExecutionStarted");
    assert_eq!(history[7].event_type, "ExecutionSucceeded");
    let reversed = engine
        .history(&started.execution_arn, 0, 2, true)
        .await
        .expect("reverse history");
    assert_eq!(
        reversed.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![8, 7]
    );
}

#[tokio::test]
async fn a_task_that_fails_twice_is_retried_and_succeeds() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let calls = Arc::new(AtomicU64::new(0));
    let keys = Arc::new(Mutex::new(Vec::new()));
    let mut handlers = Handlers::new();
    let (c, k) = (calls.clone(), keys.clone());
    handlers.insert(
        RESOURCE,
        handler_fn(move |request| {
            let n = c.fetch_add(1, Ordering::SeqCst);
            k.lock()
                .expect("the lock is not poisoned")
                .push(request.idempotency_key.clone());
            async move {
                if n < 2 {
                    Err(TaskFailure::new("Busy", "try again"))
                } else {
                    Ok(json!({"attempt": request.attempt}))
                }
            }
        }),
    );
    let engine = engine_with(open(&dir), Arc::new(SystemClock), handlers).await;
    let machine = create(
        &engine,
        "retry",
        json!({"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": RESOURCE, "End": true,
            "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1.0}]
        }}}),
    )
    .await;
    let started = engine
        .start_execution(&machine, None, None)
        .await
        .expect("starts");
    let done = engine.wait(&started.execution_arn).await.expect("ends");
    assert_eq!(done.status, "SUCCEEDED", "{done:?}");
    assert_eq!(done.output.as_deref(), Some(r#"{"attempt":2}"#));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let keys = keys.lock().expect("the lock is not poisoned").clone();
    assert_eq!(keys.len(), 3);
    assert!(
        keys[0] != keys[1] && keys[1] != keys[2],
        "each attempt has its own idempotency key: {keys:?}"
    );
    let history = types(&engine, &started.execution_arn).await;
    assert_eq!(
        history.iter().filter(|t| *t == "TaskFailed").count(),
        2,
        "{history:?}"
    );
    assert_eq!(history.iter().filter(|t| *t == "TaskSucceeded").count(), 1);
}

#[tokio::test]
async fn a_wait_runs_on_the_clock_and_survives_a_restart() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = open(&dir);
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = engine_with(store.clone(), clock.clone(), Handlers::new()).await;
    let machine = create(
        &engine,
        "waiter",
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }}),
    )
    .await;
    let started = engine
        .start_execution(&machine, Some("parked"), None)
        .await
        .expect("starts");
    drop(engine);
    // A new engine on the same file, one hour and a second later: the timer is re-armed from the
    // store and fires at once.
    let later = Arc::new(ManualClock::new(t0() + SignedDuration::from_secs(3601)));
    let engine = engine_with(store, later.clone(), Handlers::new()).await;
    let done = engine.wait(&started.execution_arn).await.expect("ends");
    assert_eq!(done.status, "SUCCEEDED");
    assert_eq!(
        types(&engine, &started.execution_arn).await,
        vec![
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    let _ = clock;
}

#[tokio::test]
async fn an_execution_past_its_timeout_is_timed_out() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = engine_with(open(&dir), clock.clone(), Handlers::new()).await;
    let machine = create(
        &engine,
        "slow",
        json!({"TimeoutSeconds": 10, "StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 60, "End": true}
        }}),
    )
    .await;
    let started = engine
        .start_execution(&machine, None, None)
        .await
        .expect("starts");
    clock.advance(SignedDuration::from_secs(10));
    let done = engine.wait(&started.execution_arn).await.expect("ends");
    assert_eq!(done.status, "TIMED_OUT");
    let history = types(&engine, &started.execution_arn).await;
    assert_eq!(
        history.last().map(String::as_str),
        Some("ExecutionTimedOut")
    );
}

#[tokio::test]
async fn a_task_past_its_timeout_fails_with_states_timeout() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(t0()));
    let mut handlers = Handlers::new();
    handlers.insert(
        RESOURCE,
        handler_fn(|_| async {
            std::future::pending::<()>().await;
            Ok(Value::Null)
        }),
    );
    let engine = engine_with(open(&dir), clock.clone(), handlers).await;
    let machine = create(
        &engine,
        "hung",
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": RESOURCE, "TimeoutSeconds": 5, "End": true,
                  "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Caught"}]},
            "Caught": {"Type": "Pass", "End": true}
        }}),
    )
    .await;
    let started = engine
        .start_execution(&machine, None, None)
        .await
        .expect("starts");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    clock.advance(SignedDuration::from_secs(5));
    let done = engine.wait(&started.execution_arn).await.expect("ends");
    assert_eq!(done.status, "SUCCEEDED");
    let output: Value =
        serde_json::from_str(done.output.as_deref().expect("an output")).expect("JSON output");
    assert_eq!(output["Error"], "States.Timeout");
    assert!(
        types(&engine, &started.execution_arn)
            .await
            .contains(&"TaskTimedOut".to_string())
    );
}

#[tokio::test]
async fn stopping_an_execution_aborts_it() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = engine_with(open(&dir), clock, Handlers::new()).await;
    let machine = create(
        &engine,
        "stoppable",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}),
    )
    .await;
    let started = engine
        .start_execution(&machine, None, None)
        .await
        .expect("starts");
    let stopped = engine
        .stop_execution(
            &started.execution_arn,
            Some("Operator".into()),
            Some("maintenance".into()),
        )
        .await
        .expect("stops");
    assert_eq!(stopped.status, "ABORTED");
    assert_eq!(stopped.error.as_deref(), Some("Operator"));
    assert!(stopped.stop_date.is_some());
    let history = types(&engine, &started.execution_arn).await;
    assert_eq!(history.last().map(String::as_str), Some("ExecutionAborted"));
}

#[tokio::test]
async fn starting_twice_with_one_name_is_idempotent_only_for_the_same_input() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = engine_with(open(&dir), clock, Handlers::new()).await;
    let machine = create(
        &engine,
        "once",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}),
    )
    .await;
    let first = engine
        .start_execution(&machine, Some("n"), Some(r#"{"a":1}"#))
        .await
        .expect("starts");
    let again = engine
        .start_execution(&machine, Some("n"), Some(r#"{"a":1}"#))
        .await
        .expect("the same request is idempotent while running");
    assert_eq!(first, again);
    let other = engine
        .start_execution(&machine, Some("n"), Some(r#"{"a":2}"#))
        .await
        .expect_err("a different input is refused");
    assert_eq!(other.code(), "ExecutionAlreadyExists");
    let bad = engine
        .start_execution(&machine, Some("m"), Some("{\"a\":"))
        .await
        .expect_err("malformed input is refused");
    assert_eq!(bad.code(), "InvalidExecutionInput");
    let unknown = engine
        .start_execution(&format!("{machine}-nope"), None, None)
        .await
        .expect_err("an unknown machine is refused");
    assert_eq!(unknown.code(), "StateMachineDoesNotExist");
}

#[tokio::test]
async fn executions_keep_the_revision_they_started_on() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = engine_with(open(&dir), clock.clone(), Handlers::new()).await;
    let first = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 10, "Next": "P"},
        "P": {"Type": "Pass", "Result": "old", "End": true}
    }});
    let machine = create(&engine, "revised", first).await;
    let started = engine
        .start_execution(&machine, None, None)
        .await
        .expect("starts");
    let second = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 10, "Next": "P"},
        "P": {"Type": "Pass", "Result": "new", "End": true}
    }});
    let updated = engine
        .update_state_machine(&machine, Some(second.to_string()), None)
        .await
        .expect("updates");
    assert_eq!(updated.revision, 2);
    let invalid = engine
        .update_state_machine(
            &machine,
            Some(r#"{"StartAt":"X","States":{}}"#.into()),
            None,
        )
        .await
        .expect_err("an invalid definition is refused");
    assert_eq!(invalid.code(), "InvalidDefinition");
    clock.advance(SignedDuration::from_secs(10));
    let done = engine.wait(&started.execution_arn).await.expect("ends");
    assert_eq!(done.output.as_deref(), Some(r#""old""#));
    let next = engine
        .start_execution(&machine, None, None)
        .await
        .expect("starts");
    clock.advance(SignedDuration::from_secs(10));
    let done = engine.wait(&next.execution_arn).await.expect("ends");
    assert_eq!(done.output.as_deref(), Some(r#""new""#));
}

#[tokio::test]
async fn executions_list_newest_first_with_filters_and_pages() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = engine_with(open(&dir), clock.clone(), Handlers::new()).await;
    let machine = create(&engine, "listed", pass_chain(1)).await;
    let mut arns = Vec::new();
    for i in 0..5 {
        clock.advance(SignedDuration::from_secs(1));
        let started = engine
            .start_execution(&machine, Some(&format!("e{i}")), None)
            .await
            .expect("starts");
        engine.wait(&started.execution_arn).await.expect("ends");
        arns.push(started.execution_arn);
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = engine
            .list_executions(ExecutionFilter {
                state_machine_arn: Some(machine.clone()),
                status: Some("SUCCEEDED".into()),
                cursor: cursor.take(),
                limit: 2,
            })
            .await
            .expect("lists");
        seen.extend(page.items.into_iter().map(|e| e.arn));
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    arns.reverse();
    assert_eq!(seen, arns);
    let running = engine
        .list_executions(ExecutionFilter {
            status: Some("RUNNING".into()),
            limit: 10,
            ..ExecutionFilter::default()
        })
        .await
        .expect("lists");
    assert!(running.items.is_empty());
}

#[tokio::test]
async fn parallel_and_map_tasks_run_through_the_store() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut handlers = Handlers::new();
    handlers.insert(
        RESOURCE,
        handler_fn(
            |request| async move { Ok(json!(request.input["n"].as_i64().unwrap_or(0) * 10)) },
        ),
    );
    let engine = engine_with(open(&dir), Arc::new(SystemClock), handlers).await;
    let machine = create(
        &engine,
        "fan",
        json!({"StartAt": "M", "States": {
            "M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
                  "ItemSelector": {"n.$": "$$.Map.Item.Value"},
                  "ItemProcessor": {"StartAt": "T", "States": {
                      "T": {"Type": "Task", "Resource": RESOURCE, "End": true}}},
                  "Next": "P"},
            "P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": RESOURCE,
                    "Parameters": {"n": 7}, "End": true}}}
            ]}
        }}),
    )
    .await;
    let started = engine
        .start_execution(&machine, None, Some(r#"{"items":[1,2,3,4,5]}"#))
        .await
        .expect("starts");
    let done = engine.wait(&started.execution_arn).await.expect("ends");
    assert_eq!(done.status, "SUCCEEDED", "{done:?}");
    let output: Value =
        serde_json::from_str(done.output.as_deref().expect("an output")).expect("JSON");
    assert_eq!(output, json!([[10, 20, 30, 40, 50], 70]));
}

#[tokio::test]
async fn express_executions_run_in_memory_and_answer_synchronously() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let engine = engine_with(open(&dir), Arc::new(SystemClock), Handlers::new()).await;
    let express = engine
        .create_state_machine(NewStateMachine {
            name: "fast".into(),
            definition: pass_chain(10).to_string(),
            express: true,
            role_arn: String::new(),
        })
        .await
        .expect("creates")
        .arn;
    let outcome = engine
        .start_sync_execution(&express, Some("s1"), Some(r#"{"k":"v"}"#))
        .await
        .expect("runs");
    assert_eq!(outcome.status, asl::execution::Status::Succeeded);
    assert_eq!(
        outcome.output.as_ref().and_then(|o| o.get("s9")),
        Some(&json!(9))
    );
    assert!(outcome.execution_arn.contains(":express:fast:s1:"));
    let standard = create(&engine, "slowpoke", pass_chain(1)).await;
    let refused = engine
        .start_sync_execution(&standard, None, None)
        .await
        .expect_err("a Standard machine cannot run synchronously");
    assert_eq!(refused.code(), "StateMachineTypeNotSupported");
}

#[tokio::test]
async fn creating_a_machine_checks_names_definitions_and_duplicates() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let engine = engine_with(open(&dir), Arc::new(SystemClock), Handlers::new()).await;
    let arn = create(&engine, "dup", pass_chain(1)).await;
    let same = create(&engine, "dup", pass_chain(1)).await;
    assert_eq!(arn, same, "the same request again returns the machine");
    let other = engine
        .create_state_machine(NewStateMachine {
            name: "dup".into(),
            definition: pass_chain(2).to_string(),
            express: false,
            role_arn: String::new(),
        })
        .await
        .expect_err("another definition under the name is refused");
    assert_eq!(other.code(), "StateMachineAlreadyExists");
    let bad_name = engine
        .create_state_machine(NewStateMachine {
            name: "has space".into(),
            definition: pass_chain(1).to_string(),
            express: false,
            role_arn: String::new(),
        })
        .await
        .expect_err("a bad name is refused");
    assert_eq!(bad_name.code(), "InvalidName");
    let invalid = engine
        .create_state_machine(NewStateMachine {
            name: "broken".into(),
            definition: r#"{"StartAt":"A","States":{"A":{"Type":"Pass"}}}"#.into(),
            express: false,
            role_arn: String::new(),
        })
        .await
        .expect_err("an invalid definition is refused");
    assert_eq!(invalid.code(), "InvalidDefinition");
    assert!(invalid.to_string().contains("/States/A"), "{invalid}");
}

/// Moves the clock forward a second at a time, letting the engine work between moves, until the
/// execution ends; returns its history.
async fn run_on_clock(
    engine: &Engine,
    clock: &ManualClock,
    arn: &str,
    max_seconds: i64,
) -> Vec<asl::history::HistoryEvent> {
    for _ in 0..max_seconds {
        let record = engine.describe_execution(arn).await.expect("describes");
        if record.status != "RUNNING" {
            return engine.history(arn, 0, 1000, false).await.expect("history");
        }
        tokio::time::sleep(std::time::Duration::from_millis(15)).await;
        clock.advance(SignedDuration::from_secs(1));
    }
    panic!("{arn} did not end within {max_seconds} virtual seconds");
}

/// The virtual seconds after `t0()` at which each task attempt was scheduled.
fn scheduled_at(history: &[asl::history::HistoryEvent]) -> Vec<i64> {
    history
        .iter()
        .filter(|e| e.event_type == "TaskScheduled")
        .map(|e| e.timestamp.duration_since(t0()).as_secs())
        .collect()
}

fn always_failing() -> Handlers {
    let mut handlers = Handlers::new();
    handlers.insert(
        RESOURCE,
        handler_fn(|_| async { Err(TaskFailure::new("Busy", "still busy")) }),
    );
    handlers
}

#[tokio::test]
async fn retries_back_off_on_durable_timers_as_aws_documents() {
    // AWS: the first retry waits IntervalSeconds, each next one BackoffRate times longer, capped
    // by MaxDelaySeconds; after MaxAttempts retries the error goes on (here: fails the execution).
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = engine_with(open(&dir), clock.clone(), always_failing()).await;
    let machine = create(
        &engine,
        "backoff",
        json!({"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": RESOURCE, "End": true,
            "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 2, "BackoffRate": 2.0,
                       "MaxAttempts": 4, "MaxDelaySeconds": 7}]
        }}}),
    )
    .await;
    let started = engine
        .start_execution(&machine, None, None)
        .await
        .expect("starts");
    let history = run_on_clock(&engine, &clock, &started.execution_arn, 60).await;
    // Delays 2, 4, then 8 and 16 capped at 7: attempts at 0, 2, 6, 13, 20.
    assert_eq!(scheduled_at(&history), vec![0, 2, 6, 13, 20]);
    let done = engine
        .describe_execution(&started.execution_arn)
        .await
        .expect("describes");
    assert_eq!(done.status, "FAILED");
    assert_eq!(done.error.as_deref(), Some("Busy"));
}

#[tokio::test]
async fn full_jitter_waits_at_most_the_backoff_delay() {
    // AWS: JitterStrategy FULL picks each delay at random between 0 and the computed delay.
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = engine_with(open(&dir), clock.clone(), always_failing()).await;
    let machine = create(
        &engine,
        "jitter",
        json!({"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": RESOURCE, "End": true,
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 4, "BackoffRate": 2.0,
                       "MaxAttempts": 3, "JitterStrategy": "FULL"}]
        }}}),
    )
    .await;
    let started = engine
        .start_execution(&machine, None, None)
        .await
        .expect("starts");
    let history = run_on_clock(&engine, &clock, &started.execution_arn, 60).await;
    let at = scheduled_at(&history);
    assert_eq!(at.len(), 4, "one attempt and three retries: {at:?}");
    let delays: Vec<i64> = at.windows(2).map(|w| w[1] - w[0]).collect();
    for (delay, cap) in delays.iter().zip([4, 8, 16]) {
        assert!(
            (0..=cap).contains(delay),
            "a jittered delay lies in [0, {cap}]: {delays:?}"
        );
    }
}

#[tokio::test]
async fn a_failed_execution_is_redriven_from_the_failed_state() {
    // AWS: RedriveExecution restarts a FAILED execution at the state that failed, with the input
    // it had; states that succeeded do not run again; the history goes on with ExecutionRedriven.
    let dir = tempfile::tempdir().expect("a temp dir");
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let calls = Arc::new(Mutex::new(Vec::new()));
    let mut handlers = Handlers::new();
    let (b, c) = (broken.clone(), calls.clone());
    handlers.insert(
        RESOURCE,
        handler_fn(move |request| {
            c.lock()
                .expect("the lock is not poisoned")
                .push((request.state.clone(), request.input.clone()));
            let failing = request.state == "Load" && b.load(Ordering::SeqCst);
            async move {
                if failing {
                    Err(TaskFailure::new("WarehouseDown", "no connection"))
                } else {
                    Ok(json!("ok"))
                }
            }
        }),
    );
    let engine = engine_with(open(&dir), Arc::new(SystemClock), handlers).await;
    let machine = create(
        &engine,
        "redrivable",
        json!({"StartAt": "Extract", "States": {
            "Extract": {"Type": "Task", "Resource": RESOURCE, "ResultPath": "$.extracted",
                        "Next": "Load"},
            "Load": {"Type": "Task", "Resource": RESOURCE, "ResultPath": "$.loaded", "End": true}
        }}),
    )
    .await;
    let started = engine
        .start_execution(&machine, Some("nightly"), Some(r#"{"day":"mon"}"#))
        .await
        .expect("starts");
    let failed = engine.wait(&started.execution_arn).await.expect("ends");
    assert_eq!(failed.status, "FAILED");
    assert_eq!(failed.error.as_deref(), Some("WarehouseDown"));
    let unknown = engine
        .redrive_execution(&format!("{}-nope", started.execution_arn))
        .await
        .expect_err("an unknown execution is refused");
    assert_eq!(unknown.code(), "ExecutionDoesNotExist");

    broken.store(false, Ordering::SeqCst);
    let redriven = engine
        .redrive_execution(&started.execution_arn)
        .await
        .expect("a failed execution can be redriven");
    assert_eq!(redriven.status, "RUNNING");
    assert_eq!(redriven.redrive_count, 1);
    assert!(redriven.redrive_date.is_some() && redriven.stop_date.is_none());
    let done = engine.wait(&started.execution_arn).await.expect("ends");
    assert_eq!(done.status, "SUCCEEDED", "{done:?}");
    let output: Value =
        serde_json::from_str(done.output.as_deref().expect("an output")).expect("JSON output");
    assert_eq!(
        output,
        json!({"day": "mon", "extracted": "ok", "loaded": "ok"})
    );

    let calls = calls.lock().expect("the lock is not poisoned").clone();
    let states: Vec<&str> = calls.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(states, ["Extract", "Load", "Load"], "Extract ran once");
    assert_eq!(calls[1].1, calls[2].1, "Load got the same input again");

    let history = types(&engine, &started.execution_arn).await;
    let failed_at = history
        .iter()
        .position(|t| t == "ExecutionFailed")
        .expect("the first attempt failed");
    assert_eq!(history[failed_at + 1], "ExecutionRedriven");
    assert_eq!(
        history.last().map(String::as_str),
        Some("ExecutionSucceeded")
    );

    let again = engine
        .redrive_execution(&started.execution_arn)
        .await
        .expect_err("a succeeded execution cannot be redriven");
    assert_eq!(again.code(), "ExecutionNotRedrivable");
    assert!(again.to_string().contains("SUCCEEDED"), "{again}");
}

#[tokio::test]
async fn a_machine_created_again_after_delete_leaves_old_executions_their_definition() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = engine_with(open(&dir), clock.clone(), Handlers::new()).await;
    let old = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 10, "Next": "P"},
        "P": {"Type": "Pass", "Result": "old", "End": true}
    }});
    let arn = create(&engine, "phoenix", old).await;
    let started = engine
        .start_execution(&arn, None, None)
        .await
        .expect("starts");
    engine.delete_state_machine(&arn).await.expect("deletes");
    let new =
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "new", "End": true}}});
    let recreated = engine
        .create_state_machine(NewStateMachine {
            name: "phoenix".into(),
            definition: new.to_string(),
            express: false,
            role_arn: String::new(),
        })
        .await
        .expect("the name is free again");
    assert_eq!(recreated.arn, arn);
    assert!(recreated.revision > 1, "it continues the old numbering");
    clock.advance(SignedDuration::from_secs(10));
    let done = engine.wait(&started.execution_arn).await.expect("ends");
    assert_eq!(done.output.as_deref(), Some(r#""old""#));
}
