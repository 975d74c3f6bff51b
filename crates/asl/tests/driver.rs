//! Whole executions on the virtual clock, checked against AWS Step Functions' documented
//! semantics: Retry timing and matching, Catch, Wait, Parallel, Map, the data-flow paths, the
//! history AWS records, and determinism.
//!
//! Every expected value is worked out by hand from the AWS documentation (the Amazon States
//! Language specification and the Step Functions developer guide), never copied from what the
//! engine returns. Times are offsets from a fixed start on the virtual clock.

use asl::Failure;
use asl::definition::StateMachine;
use asl::driver::{self, Outcome, Runner, TaskAnswer};
use asl::execution::{Command, Event, Execution, ExecutionInfo, Status, TaskCommand, step};
use asl::history::HistoryEvent;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};

/// A service-integration resource: its events are `TaskScheduled`, `TaskStarted`, ...
const RESOURCE: &str = "arn:aws:states:::lambda:invoke";

fn machine(def: Value) -> StateMachine {
    StateMachine::from_value(&def).expect("the test definition is valid ASL")
}

fn t0() -> Timestamp {
    "2024-01-01T00:00:00Z"
        .parse()
        .expect("a valid RFC 3339 timestamp")
}

fn info(input: Value) -> ExecutionInfo {
    ExecutionInfo::new(
        &driver::local_state_machine_arn("test"),
        "exec-1",
        input,
        t0(),
    )
}

fn secs(n: i64) -> SignedDuration {
    SignedDuration::from_secs(n)
}

/// Runs `def` on `input` with seed 1, answering tasks with `tasks`.
fn run(def: Value, input: Value, mut tasks: impl FnMut(&TaskCommand) -> TaskAnswer) -> Outcome {
    run_seeded(def, input, 1, &mut tasks)
}

fn run_seeded(
    def: Value,
    input: Value,
    seed: u64,
    tasks: &mut dyn FnMut(&TaskCommand) -> TaskAnswer,
) -> Outcome {
    let def = machine(def);
    driver::run(&def, info(input), seed, tasks)
}

/// A definition whose tasks must never run.
fn no_tasks(task: &TaskCommand) -> TaskAnswer {
    panic!("no task expected, got {}", task.state)
}

/// An answer that takes `seconds` of virtual time.
fn after(seconds: i64, mut answer: TaskAnswer) -> TaskAnswer {
    answer.duration = secs(seconds);
    answer
}

fn elapsed(outcome: &Outcome) -> SignedDuration {
    outcome.ended.duration_since(outcome.started)
}

fn types(outcome: &Outcome) -> Vec<&str> {
    outcome
        .history
        .iter()
        .map(|e| e.event_type.as_str())
        .collect()
}

fn events<'a>(outcome: &'a Outcome, event_type: &str) -> Vec<&'a HistoryEvent> {
    outcome
        .history
        .iter()
        .filter(|e| e.event_type == event_type)
        .collect()
}

/// Offsets from the start of every event of one type.
fn offsets(outcome: &Outcome, event_type: &str) -> Vec<SignedDuration> {
    events(outcome, event_type)
        .iter()
        .map(|e| e.timestamp.duration_since(outcome.started))
        .collect()
}

fn details(event: &HistoryEvent) -> &Value {
    &event.details.as_ref().expect("the event has details").1
}

fn failure(outcome: &Outcome) -> &Failure {
    outcome
        .failure
        .as_ref()
        .expect("the execution has a failure")
}

/// One Task state `Work` with the given extra fields, ending the execution.
fn single_task(extra: Value) -> Value {
    let mut task = json!({"Type": "Task", "Resource": RESOURCE, "End": true});
    for (k, v) in extra.as_object().expect("extra fields are an object") {
        task[k] = v.clone();
    }
    json!({"StartAt": "Work", "States": {"Work": task}})
}

// ----- Retry ----------------------------------------------------------------------------------

#[test]
fn retry_waits_interval_times_backoff_rate_to_the_power_of_the_retry() {
    let def = single_task(json!({
        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3}]
    }));
    let mut seen = Vec::new();
    let outcome = run(def, json!({}), |task| {
        seen.push((task.attempt, task.idempotency_key.clone()));
        if seen.len() <= 3 {
            TaskAnswer::fail("Flaky", "try again")
        } else {
            TaskAnswer::ok(json!({"done": true}))
        }
    });
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output, Some(json!({"done": true})));
    let attempts: Vec<u64> = seen.iter().map(|(a, _)| *a).collect();
    assert_eq!(attempts, [0, 1, 2, 3]);
    let keys: HashSet<&String> = seen.iter().map(|(_, k)| k).collect();
    assert_eq!(
        keys.len(),
        4,
        "each attempt has its own idempotency key: {seen:?}"
    );
    // Retries wait 2, 2*3 = 6 and 2*3*3 = 18 seconds: attempts start at 0, 2, 8 and 26.
    assert_eq!(
        offsets(&outcome, "TaskScheduled"),
        [secs(0), secs(2), secs(8), secs(26)]
    );
    assert_eq!(elapsed(&outcome), secs(26));
}

#[test]
fn retry_delay_is_capped_by_max_delay_seconds() {
    let def = single_task(json!({
        "Retry": [{
            "ErrorEquals": ["Flaky"], "IntervalSeconds": 4, "BackoffRate": 10,
            "MaxDelaySeconds": 15, "MaxAttempts": 3
        }]
    }));
    let mut calls = 0;
    let outcome = run(def, json!({}), |_| {
        calls += 1;
        TaskAnswer::fail("Flaky", "always")
    });
    // Delays 4, min(40, 15) = 15, min(400, 15) = 15; then the retrier is exhausted.
    assert_eq!(calls, 4);
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(failure(&outcome), &Failure::new("Flaky", "always"));
    assert_eq!(
        offsets(&outcome, "TaskScheduled"),
        [secs(0), secs(4), secs(19), secs(34)]
    );
    assert_eq!(elapsed(&outcome), secs(34));
}

#[test]
fn full_jitter_keeps_every_delay_between_zero_and_the_backoff() {
    let def = json!({
        "StartAt": "Work",
        "States": {"Work": {
            "Type": "Task", "Resource": RESOURCE, "End": true,
            "Retry": [{
                "ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "BackoffRate": 3,
                "MaxAttempts": 3, "JitterStrategy": "FULL"
            }]
        }}
    });
    let bounds = [secs(2), secs(6), secs(18)];
    let mut some_delay_was_shortened = false;
    for seed in 0..32 {
        let mut calls = 0;
        let outcome = run_seeded(def.clone(), json!({}), seed, &mut |_| {
            calls += 1;
            if calls <= 3 {
                TaskAnswer::fail("Flaky", "")
            } else {
                TaskAnswer::ok(json!("ok"))
            }
        });
        assert_eq!(outcome.status, Status::Succeeded, "seed {seed}");
        let failed = offsets(&outcome, "TaskFailed");
        let scheduled = offsets(&outcome, "TaskScheduled");
        assert_eq!((failed.len(), scheduled.len()), (3, 4), "seed {seed}");
        for retry in 0..3 {
            let delay = scheduled[retry + 1] - failed[retry];
            assert!(
                delay >= SignedDuration::ZERO && delay <= bounds[retry],
                "seed {seed}, retry {retry}: delay {delay:?} is outside [0, {:?}]",
                bounds[retry]
            );
            some_delay_was_shortened |= delay < bounds[retry];
        }
    }
    assert!(
        some_delay_was_shortened,
        "FULL jitter picks a random delay, so over 96 retries some must be shorter than the backoff"
    );
}

#[test]
fn max_attempts_zero_never_retries() {
    let def = single_task(json!({
        "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0, "IntervalSeconds": 5}]
    }));
    let mut calls = 0;
    let outcome = run(def, json!({}), |_| {
        calls += 1;
        TaskAnswer::fail("Boom", "once")
    });
    assert_eq!(calls, 1);
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(failure(&outcome), &Failure::new("Boom", "once"));
    assert_eq!(elapsed(&outcome), secs(0));
}

#[test]
fn first_matching_retrier_applies_so_max_attempts_zero_shields_an_error_from_a_catch_all() {
    // The ASL spec: retriers are scanned in order and the first whose ErrorEquals matches
    // applies; MaxAttempts 0 means the error is never retried.
    let def = single_task(json!({
        "Retry": [
            {"ErrorEquals": ["Fatal"], "MaxAttempts": 0},
            {"ErrorEquals": ["States.ALL"], "MaxAttempts": 3, "IntervalSeconds": 1}
        ]
    }));
    let mut calls = 0;
    let outcome = run(def, json!({}), |_| {
        calls += 1;
        TaskAnswer::fail("Fatal", "do not retry")
    });
    assert_eq!(calls, 1);
    assert_eq!(failure(&outcome).error, "Fatal");
}

fn two_retriers() -> Value {
    single_task(json!({
        "Retry": [
            {"ErrorEquals": ["A"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 2},
            {"ErrorEquals": ["B"], "IntervalSeconds": 10, "BackoffRate": 2, "MaxAttempts": 1}
        ]
    }))
}

/// Fails with the scripted errors in order, then succeeds.
fn scripted(errors: &[&str]) -> impl FnMut(&TaskCommand) -> TaskAnswer {
    let errors: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let mut calls = 0;
    move |_| {
        calls += 1;
        match errors.get(calls - 1) {
            Some(e) => TaskAnswer::fail(e, "scripted"),
            None => TaskAnswer::ok(json!({"calls": calls})),
        }
    }
}

#[test]
fn each_retrier_counts_its_own_attempts_and_backoff() {
    // A (retry 1 of A: 1 s), B (retry 1 of B: 10 s), A (retry 2 of A: 1*2 = 2 s), then success.
    let outcome = run(two_retriers(), json!({}), scripted(&["A", "B", "A"]));
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output, Some(json!({"calls": 4})));
    assert_eq!(
        offsets(&outcome, "TaskScheduled"),
        [secs(0), secs(1), secs(11), secs(13)]
    );
    assert_eq!(elapsed(&outcome), secs(13));
}

#[test]
fn a_retrier_is_exhausted_by_its_own_errors_only() {
    // A, B are both retried; the second B exhausts B's single attempt although A has one left.
    let outcome = run(two_retriers(), json!({}), scripted(&["A", "B", "B"]));
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(failure(&outcome), &Failure::new("B", "scripted"));
    assert_eq!(events(&outcome, "TaskScheduled").len(), 3);
    assert_eq!(elapsed(&outcome), secs(11));

    // A, A, A: A's two retries (1 s, 2 s) are used up and the third A fails the execution.
    let outcome = run(two_retriers(), json!({}), scripted(&["A", "A", "A"]));
    assert_eq!(failure(&outcome).error, "A");
    assert_eq!(events(&outcome, "TaskScheduled").len(), 3);
    assert_eq!(elapsed(&outcome), secs(3));
}

#[test]
fn states_all_retrier_retries_any_error_with_default_backoff_rate_two() {
    let def = single_task(json!({
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}]
    }));
    let outcome = run(def, json!({}), scripted(&["Whatever", "Another"]));
    assert_eq!(outcome.status, Status::Succeeded);
    // BackoffRate defaults to 2.0: waits of 1 and 2 seconds.
    assert_eq!(
        offsets(&outcome, "TaskScheduled"),
        [secs(0), secs(1), secs(3)]
    );
}

fn task_failed_retrier_with_timeout_catcher() -> Value {
    json!({
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task", "Resource": RESOURCE, "TimeoutSeconds": 5, "End": true,
                "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "TimedOut"}]
            },
            "TimedOut": {"Type": "Pass", "End": true}
        }
    })
}

#[test]
fn states_task_failed_retrier_matches_a_task_error() {
    let outcome = run(
        task_failed_retrier_with_timeout_catcher(),
        json!({}),
        scripted(&["Custom.Error"]),
    );
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output, Some(json!({"calls": 2})));
    assert_eq!(elapsed(&outcome), secs(1));
}

#[test]
fn states_task_failed_retrier_does_not_match_states_timeout() {
    let mut calls = 0;
    let outcome = run(
        task_failed_retrier_with_timeout_catcher(),
        json!({}),
        |_| {
            calls += 1;
            after(30, TaskAnswer::ok(json!("too late")))
        },
    );
    assert_eq!(calls, 1, "States.TaskFailed must not retry a timeout");
    assert_eq!(outcome.status, Status::Succeeded);
    let output = outcome.output.clone().expect("caught");
    assert_eq!(output["Error"], json!("States.Timeout"));
    assert_eq!(elapsed(&outcome), secs(5));
}

#[test]
fn a_task_running_past_timeout_seconds_fails_with_states_timeout() {
    let def = single_task(json!({"TimeoutSeconds": 5}));
    let outcome = run(def.clone(), json!({}), |_| {
        after(30, TaskAnswer::ok(json!("too late")))
    });
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(failure(&outcome).error, "States.Timeout");
    assert_eq!(events(&outcome, "TaskTimedOut").len(), 1);
    assert!(events(&outcome, "TaskSucceeded").is_empty());
    assert_eq!(elapsed(&outcome), secs(5));

    let outcome = run(def, json!({}), |_| {
        after(3, TaskAnswer::ok(json!("in time")))
    });
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output, Some(json!("in time")));
    assert_eq!(elapsed(&outcome), secs(3));
}

// ----- Catch ----------------------------------------------------------------------------------

fn task_with_catcher(catcher: Value) -> Value {
    json!({
        "StartAt": "Work",
        "States": {
            "Work": {"Type": "Task", "Resource": RESOURCE, "End": true, "Catch": [catcher]},
            "Handler": {"Type": "Pass", "End": true}
        }
    })
}

#[test]
fn catch_without_result_path_replaces_the_input_with_error_and_cause() {
    let def = task_with_catcher(json!({"ErrorEquals": ["States.ALL"], "Next": "Handler"}));
    let outcome = run(def, json!({"orig": 1}), |_| {
        TaskAnswer::fail("Boom", "it broke")
    });
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(
        outcome.output,
        Some(json!({"Error": "Boom", "Cause": "it broke"}))
    );
}

#[test]
fn catch_with_result_path_keeps_the_input() {
    let def = task_with_catcher(
        json!({"ErrorEquals": ["Boom"], "ResultPath": "$.err", "Next": "Handler"}),
    );
    let outcome = run(def, json!({"orig": 1}), |_| {
        TaskAnswer::fail("Boom", "it broke")
    });
    assert_eq!(
        outcome.output,
        Some(json!({"orig": 1, "err": {"Error": "Boom", "Cause": "it broke"}}))
    );
}

#[test]
fn catch_applies_once_retries_are_exhausted() {
    let def = json!({
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task", "Resource": RESOURCE, "End": true,
                "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["Boom"], "Next": "Handler"}]
            },
            "Handler": {"Type": "Pass", "End": true}
        }
    });
    let mut calls = 0;
    let outcome = run(def, json!({}), |_| {
        calls += 1;
        TaskAnswer::fail("Boom", "again")
    });
    assert_eq!(calls, 3);
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(
        outcome.output,
        Some(json!({"Error": "Boom", "Cause": "again"}))
    );
    assert_eq!(elapsed(&outcome), secs(2));
    assert_eq!(events(&outcome, "PassStateEntered").len(), 1);
}

#[test]
fn catch_on_parallel_catches_a_branch_error() {
    let def = json!({
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Parallel", "End": true,
                "Branches": [
                    {"StartAt": "Ok", "States": {"Ok": {"Type": "Pass", "End": true}}},
                    {"StartAt": "Bad", "States": {"Bad": {"Type": "Task", "Resource": RESOURCE, "End": true}}}
                ],
                "Catch": [{"ErrorEquals": ["BranchBoom"], "ResultPath": "$.err", "Next": "Handler"}]
            },
            "Handler": {"Type": "Pass", "End": true}
        }
    });
    let outcome = run(def, json!({"x": 1}), |_| {
        TaskAnswer::fail("BranchBoom", "branch 1")
    });
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(
        outcome.output,
        Some(json!({"x": 1, "err": {"Error": "BranchBoom", "Cause": "branch 1"}}))
    );
}

#[test]
fn catch_on_map_catches_an_iteration_error() {
    let def = json!({
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map", "ItemsPath": "$.items", "End": true,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Work",
                    "States": {"Work": {"Type": "Task", "Resource": RESOURCE, "End": true}}
                },
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}]
            },
            "Handler": {"Type": "Pass", "End": true}
        }
    });
    let outcome = run(def, json!({"items": [1, 2, 3]}), |task| {
        if task.input == json!(2) {
            TaskAnswer::fail("ItemBoom", "bad item")
        } else {
            TaskAnswer::ok(task.input.clone())
        }
    });
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(
        outcome.output,
        Some(json!({"Error": "ItemBoom", "Cause": "bad item"}))
    );
}

#[test]
fn states_runtime_is_not_caught_by_states_all() {
    let def = json!({
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task", "Resource": RESOURCE, "InputPath": "$.missing", "End": true,
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}]
            },
            "Handler": {"Type": "Pass", "End": true}
        }
    });
    let outcome = run(def, json!({"present": 1}), no_tasks);
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(failure(&outcome).error, "States.Runtime");
    assert!(events(&outcome, "PassStateEntered").is_empty());
    assert_eq!(
        elapsed(&outcome),
        secs(0),
        "a terminal error is not retried either"
    );
}

// ----- Wait -----------------------------------------------------------------------------------

fn wait_then_done(wait_fields: Value) -> Value {
    let mut wait = json!({"Type": "Wait", "Next": "Done"});
    for (k, v) in wait_fields.as_object().expect("wait fields are an object") {
        wait[k] = v.clone();
    }
    json!({"StartAt": "Pause", "States": {"Pause": wait, "Done": {"Type": "Pass", "End": true}}})
}

#[test]
fn wait_seconds_advances_the_virtual_clock_without_sleeping() {
    let wall = std::time::Instant::now();
    let outcome = run(
        wait_then_done(json!({"Seconds": 60})),
        json!({"a": 1}),
        no_tasks,
    );
    assert!(wall.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output, Some(json!({"a": 1})));
    assert_eq!(elapsed(&outcome), secs(60));
    assert_eq!(offsets(&outcome, "WaitStateExited"), [secs(60)]);
}

#[test]
fn wait_timestamp_waits_until_that_instant() {
    let outcome = run(
        wait_then_done(json!({"Timestamp": "2024-01-01T00:05:00Z"})),
        json!({}),
        no_tasks,
    );
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(elapsed(&outcome), secs(300));
}

#[test]
fn wait_seconds_path_reads_the_delay_from_the_input() {
    let outcome = run(
        wait_then_done(json!({"SecondsPath": "$.delay"})),
        json!({"delay": 42}),
        no_tasks,
    );
    assert_eq!(outcome.output, Some(json!({"delay": 42})));
    assert_eq!(elapsed(&outcome), secs(42));
}

#[test]
fn wait_timestamp_path_reads_the_instant_from_the_input() {
    let outcome = run(
        wait_then_done(json!({"TimestampPath": "$.until"})),
        json!({"until": "2024-01-01T01:00:00Z"}),
        no_tasks,
    );
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(elapsed(&outcome), secs(3600));
}

#[test]
fn wait_until_a_past_timestamp_continues_at_once() {
    let outcome = run(
        wait_then_done(json!({"Timestamp": "2020-01-01T00:00:00Z"})),
        json!({"k": "v"}),
        no_tasks,
    );
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output, Some(json!({"k": "v"})));
    assert_eq!(elapsed(&outcome), secs(0));

    let outcome = run(
        wait_then_done(json!({"TimestampPath": "$.until"})),
        json!({"until": "2023-06-30T12:00:00Z"}),
        no_tasks,
    );
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(elapsed(&outcome), secs(0));
}

// ----- Parallel -------------------------------------------------------------------------------

fn task_branch(state: &str) -> Value {
    json!({"StartAt": state, "States": {state: {"Type": "Task", "Resource": RESOURCE, "End": true}}})
}

#[test]
fn parallel_output_is_in_branch_order_whatever_finishes_first() {
    let def = json!({
        "StartAt": "Fan",
        "States": {"Fan": {
            "Type": "Parallel", "End": true,
            "Branches": [task_branch("Slow"), task_branch("Fast"), task_branch("Middle")]
        }}
    });
    let outcome = run(def, json!({}), |task| match task.state.as_str() {
        "Slow" => after(30, TaskAnswer::ok(json!("slow"))),
        "Fast" => after(10, TaskAnswer::ok(json!("fast"))),
        _ => after(20, TaskAnswer::ok(json!("middle"))),
    });
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output, Some(json!(["slow", "fast", "middle"])));
    assert_eq!(elapsed(&outcome), secs(30), "branches run concurrently");
}

#[test]
fn parallel_parameters_become_every_branch_input() {
    let pass_branch = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let def = json!({
        "StartAt": "Fan",
        "States": {"Fan": {
            "Type": "Parallel", "End": true,
            "Parameters": {"v.$": "$.value", "fixed": "f"},
            "Branches": [pass_branch.clone(), pass_branch]
        }}
    });
    let outcome = run(def, json!({"value": 7, "other": true}), no_tasks);
    assert_eq!(
        outcome.output,
        Some(json!([{"v": 7, "fixed": "f"}, {"v": 7, "fixed": "f"}]))
    );
}

#[test]
fn parallel_fails_with_the_failing_branch_error() {
    let def = json!({
        "StartAt": "Fan",
        "States": {"Fan": {
            "Type": "Parallel", "End": true,
            "Branches": [task_branch("Good"), task_branch("Bad")]
        }}
    });
    let outcome = run(def, json!({}), |task| match task.state.as_str() {
        "Bad" => TaskAnswer::fail("BranchBoom", "branch 1 broke"),
        _ => after(10, TaskAnswer::ok(json!("good"))),
    });
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(
        failure(&outcome),
        &Failure::new("BranchBoom", "branch 1 broke")
    );
    assert_eq!(events(&outcome, "ParallelStateFailed").len(), 1);
    assert_eq!(
        elapsed(&outcome),
        secs(0),
        "the state fails as soon as a branch fails"
    );
}

#[test]
fn parallel_result_selector_then_result_path() {
    let def = json!({
        "StartAt": "Fan",
        "States": {"Fan": {
            "Type": "Parallel", "End": true,
            "Branches": [
                {"StartAt": "One", "States": {"One": {"Type": "Pass", "Result": 1, "End": true}}},
                {"StartAt": "Two", "States": {"Two": {"Type": "Pass", "Result": 2, "End": true}}}
            ],
            "ResultSelector": {"first.$": "$[0]", "second.$": "$[1]"},
            "ResultPath": "$.sums"
        }}
    });
    let outcome = run(def, json!({"keep": true}), no_tasks);
    assert_eq!(
        outcome.output,
        Some(json!({"keep": true, "sums": {"first": 1, "second": 2}}))
    );
}

// ----- Map ------------------------------------------------------------------------------------

fn map_of_tasks(extra: Value) -> Value {
    let mut map = json!({
        "Type": "Map", "End": true,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "Work",
            "States": {"Work": {"Type": "Task", "Resource": RESOURCE, "End": true}}
        }
    });
    for (k, v) in extra.as_object().expect("extra fields are an object") {
        map[k] = v.clone();
    }
    json!({"StartAt": "Each", "States": {"Each": map}})
}

/// A Distributed Map (the mode whose Map Runs support failure thresholds) over its input array.
fn distributed_map(extra: Value) -> Value {
    let mut def = map_of_tasks(extra);
    def["States"]["Each"]["ItemProcessor"]["ProcessorConfig"] =
        json!({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"});
    def
}

#[test]
fn map_item_selector_sees_index_value_and_the_state_input() {
    let def = json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map", "End": true, "ItemsPath": "$.items",
            "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "tag.$": "$.tag"},
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}
        }}
    });
    let outcome = run(def, json!({"items": ["a", "b", "c"], "tag": "T"}), no_tasks);
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(
        outcome.output,
        Some(json!([
            {"index": 0, "value": "a", "tag": "T"},
            {"index": 1, "value": "b", "tag": "T"},
            {"index": 2, "value": "c", "tag": "T"}
        ]))
    );
}

#[test]
fn map_max_concurrency_one_runs_iterations_strictly_in_sequence() {
    let def = map_of_tasks(json!({"MaxConcurrency": 1}));
    let mut order = Vec::new();
    let outcome = run(def, json!([10, 20, 30]), |task| {
        order.push(task.input.clone());
        after(5, TaskAnswer::ok(task.input.clone()))
    });
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output, Some(json!([10, 20, 30])));
    assert_eq!(order, [json!(10), json!(20), json!(30)]);
    assert_eq!(elapsed(&outcome), secs(15));
    let iterations: Vec<(&str, Value)> = outcome
        .history
        .iter()
        .filter(|e| e.event_type.starts_with("MapIteration"))
        .map(|e| (e.event_type.as_str(), details(e)["index"].clone()))
        .collect();
    assert_eq!(
        iterations,
        [
            ("MapIterationStarted", json!(0)),
            ("MapIterationSucceeded", json!(0)),
            ("MapIterationStarted", json!(1)),
            ("MapIterationSucceeded", json!(1)),
            ("MapIterationStarted", json!(2)),
            ("MapIterationSucceeded", json!(2)),
        ]
    );
}

#[test]
fn map_output_follows_item_order_whatever_the_durations() {
    let def = map_of_tasks(json!({}));
    let outcome = run(def, json!([30, 10, 20]), |task| {
        let n = task.input.as_i64().expect("items are numbers");
        after(n, TaskAnswer::ok(json!(n * 10)))
    });
    assert_eq!(outcome.output, Some(json!([300, 100, 200])));
    assert_eq!(elapsed(&outcome), secs(30), "iterations run concurrently");
}

/// Fails the items listed in `bad`, echoes the others.
fn failing_items(bad: &[i64]) -> impl FnMut(&TaskCommand) -> TaskAnswer {
    let bad = bad.to_vec();
    move |task| {
        let n = task.input.as_i64().expect("items are numbers");
        if bad.contains(&n) {
            TaskAnswer::fail("ItemBoom", "bad item")
        } else {
            TaskAnswer::ok(json!(n))
        }
    }
}

#[test]
fn map_within_tolerated_failure_count_succeeds() {
    let def = distributed_map(json!({"ToleratedFailureCount": 1}));
    let outcome = run(def, json!([1, 2, 3]), failing_items(&[2]));
    assert_eq!(outcome.status, Status::Succeeded);
    let output = outcome.output.expect("succeeded");
    assert_eq!((output[0].clone(), output[2].clone()), (json!(1), json!(3)));
}

#[test]
fn map_over_tolerated_failure_count_fails_with_exceed_tolerated_failure_threshold() {
    let def = distributed_map(json!({"ToleratedFailureCount": 1}));
    let outcome = run(def, json!([1, 2, 3]), failing_items(&[2, 3]));
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(
        failure(&outcome).error,
        "States.ExceedToleratedFailureThreshold"
    );
}

#[test]
fn map_tolerated_failure_percentage_is_failed_items_over_all_items() {
    let def = distributed_map(json!({"ToleratedFailurePercentage": 50}));
    // 2 of 4 = 50 %: not over the threshold.
    let outcome = run(def.clone(), json!([1, 2, 3, 4]), failing_items(&[2, 4]));
    assert_eq!(outcome.status, Status::Succeeded);
    // 3 of 4 = 75 % > 50 %.
    let outcome = run(def, json!([1, 2, 3, 4]), failing_items(&[1, 2, 4]));
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(
        failure(&outcome).error,
        "States.ExceedToleratedFailureThreshold"
    );
}

#[test]
fn map_with_both_thresholds_fails_when_either_is_exceeded() {
    // AWS: "If you specify both values, the workflow fails when it exceeds either value."
    // 1 of 4 failed: over the count (0) though within the percentage (25 % <= 50 %).
    let def =
        distributed_map(json!({"ToleratedFailureCount": 0, "ToleratedFailurePercentage": 50}));
    let outcome = run(def, json!([1, 2, 3, 4]), failing_items(&[3]));
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(
        failure(&outcome).error,
        "States.ExceedToleratedFailureThreshold"
    );
    // 2 of 4 failed: within the count (3) but over the percentage (50 % > 25 %).
    let def =
        distributed_map(json!({"ToleratedFailureCount": 3, "ToleratedFailurePercentage": 25}));
    let outcome = run(def, json!([1, 2, 3, 4]), failing_items(&[1, 3]));
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(
        failure(&outcome).error,
        "States.ExceedToleratedFailureThreshold"
    );
}

#[test]
fn map_over_an_empty_array_outputs_an_empty_array() {
    let def = map_of_tasks(json!({"ItemsPath": "$.items"}));
    let outcome = run(def, json!({"items": []}), no_tasks);
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output, Some(json!([])));
}

fn retried_map() -> Value {
    map_of_tasks(json!({
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "MaxAttempts": 1}]
    }))
}

/// Item 2 fails on its first run only; every call is recorded.
fn flaky_item_two(calls: &mut Vec<(Value, String)>) -> impl FnMut(&TaskCommand) -> TaskAnswer + '_ {
    move |task| {
        calls.push((task.input.clone(), task.idempotency_key.clone()));
        let runs_of_two = calls.iter().filter(|(i, _)| *i == json!(2)).count();
        if task.input == json!(2) && runs_of_two == 1 {
            TaskAnswer::fail("ItemBoom", "first run")
        } else {
            TaskAnswer::ok(task.input.clone())
        }
    }
}

#[test]
fn map_retry_reruns_every_iteration() {
    let mut calls = Vec::new();
    let outcome = run(retried_map(), json!([1, 2]), flaky_item_two(&mut calls));
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output, Some(json!([1, 2])));
    let mut runs = BTreeMap::new();
    for (item, _) in &calls {
        *runs.entry(item.to_string()).or_insert(0) += 1;
    }
    assert_eq!(
        runs,
        BTreeMap::from([("1".to_string(), 2), ("2".to_string(), 2)])
    );
    assert_eq!(events(&outcome, "MapStateStarted").len(), 2);
    assert_eq!(offsets(&outcome, "MapStateStarted"), [secs(0), secs(3)]);
    assert_eq!(elapsed(&outcome), secs(3));
}

#[test]
fn map_retry_gives_rerun_iterations_fresh_idempotency_keys() {
    // Not AWS behaviour but the engine's contract (`TaskCommand::idempotency_key`): a rerun is a
    // new attempt, so a task that deduplicates by key must not replay the first run's failure.
    let mut calls = Vec::new();
    let outcome = run(retried_map(), json!([1, 2]), flaky_item_two(&mut calls));
    assert_eq!(outcome.status, Status::Succeeded);
    let keys: HashSet<&String> = calls.iter().map(|(_, k)| k).collect();
    assert_eq!(keys.len(), calls.len(), "keys repeat: {calls:?}");
}

#[test]
fn a_task_state_visited_twice_gets_a_fresh_idempotency_key() {
    // Also the engine's contract: a polling loop re-enters the same Task state, and the second
    // visit is new work, not a repeat of the first.
    let def = json!({
        "StartAt": "Poll",
        "States": {
            "Poll": {"Type": "Task", "Resource": RESOURCE, "Next": "Ready?"},
            "Ready?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.done", "BooleanEquals": true, "Next": "Done"}],
                "Default": "Poll"
            },
            "Done": {"Type": "Succeed"}
        }
    });
    let mut keys = Vec::new();
    let outcome = run(def, json!({}), |task| {
        keys.push(task.idempotency_key.clone());
        TaskAnswer::ok(json!({"done": keys.len() == 2}))
    });
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1]);
}

// ----- Data flow ------------------------------------------------------------------------------

#[test]
fn task_applies_input_path_parameters_result_selector_result_path_output_path_in_order() {
    let def = single_task(json!({
        "InputPath": "$.a",
        "Parameters": {"p.$": "$.b"},
        "ResultSelector": {"sel.$": "$.r.deep"},
        "ResultPath": "$.res",
        "OutputPath": "$.res"
    }));
    let mut seen = Vec::new();
    let outcome = run(def, json!({"a": {"b": 1}, "keep": "k"}), |task| {
        seen.push(task.input.clone());
        TaskAnswer::ok(json!({"r": {"deep": 5}, "noise": 1}))
    });
    assert_eq!(seen, [json!({"p": 1})]);
    assert_eq!(outcome.output, Some(json!({"sel": 5})));
}

#[test]
fn result_path_merges_into_the_raw_state_input_not_the_input_path_selection() {
    let def = single_task(json!({"InputPath": "$.a", "ResultPath": "$.res"}));
    let outcome = run(def, json!({"a": {"b": 1}, "keep": "k"}), |task| {
        assert_eq!(task.input, json!({"b": 1}));
        TaskAnswer::ok(json!("result"))
    });
    assert_eq!(
        outcome.output,
        Some(json!({"a": {"b": 1}, "keep": "k", "res": "result"}))
    );
}

#[test]
fn output_path_null_outputs_an_empty_object() {
    let def =
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "OutputPath": null, "End": true}}});
    let outcome = run(def, json!({"a": 1}), no_tasks);
    assert_eq!(outcome.output, Some(json!({})));
}

#[test]
fn input_path_null_gives_the_task_an_empty_object() {
    let def = single_task(json!({"InputPath": null, "ResultPath": "$.r"}));
    let mut seen = Vec::new();
    let outcome = run(def, json!({"a": 1}), |task| {
        seen.push(task.input.clone());
        TaskAnswer::ok(json!(true))
    });
    assert_eq!(seen, [json!({})]);
    assert_eq!(outcome.output, Some(json!({"a": 1, "r": true})));
}

#[test]
fn result_path_creates_missing_nested_objects() {
    let def = json!({"StartAt": "P", "States": {"P": {
        "Type": "Pass", "Result": "x", "ResultPath": "$.a.b.c", "End": true
    }}});
    let outcome = run(def, json!({"z": 1}), no_tasks);
    assert_eq!(
        outcome.output,
        Some(json!({"z": 1, "a": {"b": {"c": "x"}}}))
    );
}

#[test]
fn context_object_reaches_parameters() {
    let def = json!({"StartAt": "Greet", "States": {"Greet": {
        "Type": "Task", "Resource": RESOURCE, "End": true,
        "Parameters": {
            "input.$": "$$.Execution.Input",
            "state.$": "$$.State.Name",
            "id.$": "$$.Execution.Id",
            "machine.$": "$$.StateMachine.Id"
        }
    }}});
    let input = json!({"who": "world"});
    let mut seen = Vec::new();
    run(def, input.clone(), |task| {
        seen.push(task.input.clone());
        TaskAnswer::ok(json!(null))
    });
    assert_eq!(
        seen,
        [json!({
            "input": input,
            "state": "Greet",
            "id": "arn:aws:states:us-east-1:000000000000:execution:test:exec-1",
            "machine": "arn:aws:states:us-east-1:000000000000:stateMachine:test"
        })]
    );
}

#[test]
fn a_task_result_over_256_kib_fails_with_data_limit_exceeded() {
    // A 262,144-character string serializes to 262,146 bytes: over the 262,144-byte limit.
    let big = "x".repeat(262_144);
    let outcome = run(single_task(json!({})), json!({}), |_| {
        TaskAnswer::ok(json!(big))
    });
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(failure(&outcome).error, "States.DataLimitExceeded");
}

// ----- History and execution ends ------------------------------------------------------------

#[test]
fn history_of_pass_task_succeed() {
    let def = json!({
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Next": "Work"},
            "Work": {"Type": "Task", "Resource": RESOURCE, "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    });
    let outcome = run(def, json!({"n": 1}), |_| TaskAnswer::ok(json!({"n": 2})));
    assert_eq!(
        types(&outcome),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded",
        ]
    );
    let ids: Vec<u64> = outcome.history.iter().map(|e| e.id).collect();
    let expected: Vec<u64> = (1..=11).collect();
    assert_eq!(ids, expected);
    assert_eq!(outcome.output, Some(json!({"n": 2})));
}

#[test]
fn fail_state_reports_its_error_and_cause() {
    let def = json!({"StartAt": "Stop", "States": {"Stop": {
        "Type": "Fail", "Error": "Custom.Error", "Cause": "Something went wrong"
    }}});
    let outcome = run(def, json!({}), no_tasks);
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(
        failure(&outcome),
        &Failure::new("Custom.Error", "Something went wrong")
    );
    let last = outcome.history.last().expect("history");
    assert_eq!(last.event_type, "ExecutionFailed");
    assert_eq!(
        details(last),
        &json!({"error": "Custom.Error", "cause": "Something went wrong"})
    );
    assert_eq!(outcome.output, None);
}

#[test]
fn choice_without_a_match_or_default_fails_with_no_choice_matched() {
    let def = json!({"StartAt": "Pick", "States": {
        "Pick": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "One"}]
        },
        "One": {"Type": "Succeed"}
    }});
    let outcome = run(def, json!({"n": 2}), no_tasks);
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(failure(&outcome).error, "States.NoChoiceMatched");
}

#[test]
fn stopping_a_waiting_execution_aborts_it() {
    let def = machine(wait_then_done(json!({"Seconds": 60})));
    let mut tasks = no_tasks;
    let mut runner = Runner::start(&def, info(json!({})), 1, &mut tasks);
    assert_eq!(runner.status(), Status::Running);
    runner.stop(Some("Operator".into()), Some("manual stop".into()));
    assert_eq!(runner.status(), Status::Aborted);
    assert!(
        !runner.advance(&mut tasks),
        "an aborted execution does not go on"
    );
    let outcome = runner.finish();
    assert_eq!(outcome.status, Status::Aborted);
    assert_eq!(
        outcome.history.last().map(|e| e.event_type.as_str()),
        Some("ExecutionAborted")
    );
    assert!(events(&outcome, "WaitStateExited").is_empty());
    assert_eq!(elapsed(&outcome), secs(0));
}

#[test]
fn machine_timeout_seconds_times_the_execution_out() {
    let mut def = wait_then_done(json!({"Seconds": 60}));
    def["TimeoutSeconds"] = json!(10);
    let outcome = run(def, json!({}), no_tasks);
    assert_eq!(outcome.status, Status::TimedOut);
    assert_eq!(failure(&outcome).error, "States.Timeout");
    assert_eq!(
        outcome.history.last().map(|e| e.event_type.as_str()),
        Some("ExecutionTimedOut")
    );
    assert_eq!(elapsed(&outcome), secs(10));
}

// ----- Determinism ----------------------------------------------------------------------------

#[test]
fn the_same_seed_gives_the_same_history() {
    let def = json!({
        "StartAt": "Name",
        "States": {
            "Name": {"Type": "Pass", "Parameters": {"id.$": "States.UUID()"}, "Next": "Work"},
            "Work": {
                "Type": "Task", "Resource": RESOURCE, "End": true,
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5, "MaxAttempts": 3, "JitterStrategy": "FULL"}]
            }
        }
    });
    let go = |seed| {
        run_seeded(
            def.clone(),
            json!({}),
            seed,
            &mut scripted(&["A", "B", "C"]),
        )
    };
    let (first, again, other) = (go(7), go(7), go(8));
    assert_eq!(first.status, Status::Succeeded);
    assert_eq!(first.history, again.history);
    assert_eq!(first.ended, again.ended);
    assert_ne!(
        first.history, other.history,
        "the seed is the source of the UUID and the jitter"
    );
}

#[test]
fn step_ignores_an_answer_with_a_stale_wake_id() {
    let def = machine(single_task(json!({
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}]
    })));
    let started = step(&def, Execution::new(info(json!({}))), Event::Start, t0(), 1);
    let task = started
        .commands
        .iter()
        .find_map(|c| match c {
            Command::RunTask(t) => Some(t.clone()),
            _ => None,
        })
        .expect("the Task state runs a task");

    let before = started.execution.clone();
    let stale = step(
        &def,
        started.execution,
        Event::TaskSucceeded {
            thread: task.thread,
            wake: task.wake + 1000,
            output: json!("late"),
        },
        t0(),
        2,
    );
    assert!(stale.events.is_empty());
    assert!(stale.commands.is_empty());
    assert_eq!(stale.execution, before);

    // A failure delivered twice: the second copy arrives while the retry timer runs.
    let failed = Event::TaskFailed {
        thread: task.thread,
        wake: task.wake,
        error: "Boom".into(),
        cause: String::new(),
    };
    let first = step(&def, stale.execution, failed.clone(), t0(), 3);
    assert_eq!(first.execution.status, Status::Running);
    let waiting = first.execution.clone();
    let duplicate = step(&def, first.execution, failed, t0(), 4);
    assert!(duplicate.events.is_empty());
    assert!(duplicate.commands.is_empty());
    assert_eq!(duplicate.execution, waiting);

    // The genuine answer to the current task is applied.
    let timer = first
        .commands
        .iter()
        .find_map(|c| match c {
            Command::StartTimer { thread, wake, at } => Some((*thread, *wake, *at)),
            _ => None,
        })
        .expect("the retry waits on a timer");
    assert_eq!(timer.2, t0() + secs(1));
    let retried = step(
        &def,
        duplicate.execution,
        Event::TimerFired {
            thread: timer.0,
            wake: timer.1,
        },
        timer.2,
        5,
    );
    let retry_task = retried
        .commands
        .iter()
        .find_map(|c| match c {
            Command::RunTask(t) => Some(t.clone()),
            _ => None,
        })
        .expect("the retry runs the task again");
    assert_eq!(retry_task.attempt, 1);
    let done = step(
        &def,
        retried.execution,
        Event::TaskSucceeded {
            thread: retry_task.thread,
            wake: retry_task.wake,
            output: json!("on time"),
        },
        timer.2,
        6,
    );
    assert_eq!(done.execution.status, Status::Succeeded);
    assert_eq!(done.execution.output, Some(json!("on time")));
}

/// AWS words a missing leaf and a missing step on the way differently (corpus:
/// test_catch_states_runtime and test_invalid_jsonpath).
#[test]
fn a_path_that_matches_nothing_names_the_missing_step_as_aws_does() {
    let def = |path: &str| json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "OutputPath": path, "End": true}}});
    let leaf = run(def("$.a.missing"), json!({"a": {}}), no_tasks);
    let cause = leaf.failure.expect("fails").cause;
    assert!(
        cause.ends_with("Invalid path '$.a.missing' : No results for path: $['a']['missing']"),
        "{cause}"
    );
    let step = run(def("$.no.such.path"), json!({}), no_tasks);
    let failure = step.failure.expect("fails");
    assert_eq!(failure.error, "States.Runtime");
    assert!(
        failure
            .cause
            .ends_with("Invalid path '$.no.such.path' : Missing property in path $['no']"),
        "{}",
        failure.cause
    );
}

#[test]
fn heartbeat_seconds_bind_only_tasks_that_can_send_heartbeats() {
    // A Lambda call has no token to heartbeat with: its HeartbeatSeconds is not enforced.
    let lambda = json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": RESOURCE, "HeartbeatSeconds": 1, "End": true
    }}});
    let done = run(lambda, json!({}), |_| {
        after(5, TaskAnswer::ok(json!({"ok": 1})))
    });
    assert_eq!(done.status, Status::Succeeded);
    assert_eq!(done.output, Some(json!({"ok": 1})));

    // A task waiting for its token must heartbeat: silence longer than 1 s fails it then, with
    // `States.Timeout` as AWS reports it for callbacks (activities get States.HeartbeatTimeout).
    let callback = json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"MessageBody.$": "$$.Task.Token"},
        "HeartbeatSeconds": 1, "End": true
    }}});
    let done = run(callback, json!({}), |_| after(5, TaskAnswer::ok(json!({}))));
    assert_eq!(done.status, Status::Failed);
    assert_eq!(
        done.failure.as_ref().map(|f| f.error.as_str()),
        Some("States.Timeout")
    );
    assert_eq!(elapsed(&done), secs(1));
    assert!(types(&done).contains(&"TaskTimedOut"), "{:?}", types(&done));
}
