//! `RedriveExecution` through [`step`] and the in-memory driver, checked against AWS Step
//! Functions' documentation:
//!
//! - "Restarting state machine executions with redrive in Step Functions"
//!   (<https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html>): a redrive
//!   continues from the unsuccessful step with the same input, does not rerun the steps that
//!   succeeded, reruns only the failed or aborted branches of a Parallel and iterations of an
//!   inline Map (everything when the state failed with `States.DataLimitExceeded`), resets retry
//!   counts and the state machine's `TimeoutSeconds`, re-enters a Fail state, and leaves a Wait
//!   whose timestamp is past at once; its events are appended to the history, starting with
//!   `ExecutionRedriven`. Its eligibility rules are the ones [`redrivable`] checks.
//! - `ExecutionRedrivenEventDetails` (API reference): `{"redriveCount": n}`.
//! - "Accessing execution data from the Context object": `Execution.RedriveCount`, and
//!   `Execution.RedriveTime` only once the execution has been redriven.
//! - `DescribeExecution.redriveStatusReason`: the reasons' wording; "Execution is SUCCEEDED and
//!   cannot be redriven" is also what AWS returned in the recorded executions of the conformance
//!   corpus.
//!
//! Every expected value is worked out from those pages, never copied from what the engine returns.
//! Times are offsets from a fixed start on the virtual clock.

use asl::definition::StateMachine;
use asl::driver::{self, Outcome, Runner, TaskAnswer};
use asl::execution::redrive::{NOT_REDRIVABLE_ERROR, REDRIVE_HISTORY_LIMIT};
use asl::execution::{
    Command, Event, Execution, ExecutionInfo, NotRedrivable, Status, TaskCommand, redrivable, step,
};
use asl::history::HistoryEvent;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

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

fn secs(n: i64) -> SignedDuration {
    SignedDuration::from_secs(n)
}

fn days(n: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * n)
}

/// The virtual time `n` seconds after the start.
fn at(n: i64) -> Timestamp {
    t0() + secs(n)
}

fn info(input: Value) -> ExecutionInfo {
    ExecutionInfo::new(
        &driver::local_state_machine_arn("test"),
        "exec-1",
        input,
        t0(),
    )
}

type Tasks<'a> = dyn FnMut(&TaskCommand) -> TaskAnswer + 'a;

/// Starts `def` on `input` and runs it until it stops.
fn start<'d>(def: &'d StateMachine, input: Value, tasks: &mut Tasks) -> Runner<'d> {
    let mut runner = Runner::start(def, info(input), 1, tasks);
    while runner.advance(tasks) {}
    runner
}

/// Redrives at `at` and runs until the execution stops again.
fn redrive(runner: &mut Runner, at: Timestamp, tasks: &mut Tasks) {
    runner.redrive(at, tasks);
    while runner.advance(tasks) {}
}

/// An answer that takes `seconds` of virtual time.
fn after(seconds: i64, mut answer: TaskAnswer) -> TaskAnswer {
    answer.duration = secs(seconds);
    answer
}

fn no_tasks(task: &TaskCommand) -> TaskAnswer {
    panic!("no task expected, got {}", task.state)
}

fn execution<'a>(runner: &'a Runner) -> &'a Execution {
    runner.execution().expect("the runner holds its execution")
}

/// The events from `ExecutionRedriven` number `n` (1 for the first redrive) on.
fn after_redrive(outcome: &Outcome, n: usize) -> &[HistoryEvent] {
    let position = outcome
        .history
        .iter()
        .enumerate()
        .filter(|(_, e)| e.event_type == "ExecutionRedriven")
        .nth(n - 1)
        .map(|(i, _)| i)
        .expect("the execution was redriven");
    &outcome.history[position..]
}

fn types(events: &[HistoryEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}

fn details(event: &HistoryEvent) -> &Value {
    &event.details.as_ref().expect("the event has details").1
}

/// The names of the states entered in `events`, in order.
fn entered(events: &[HistoryEvent]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e.event_type.ends_with("StateEntered"))
        .map(|e| details(e)["name"].as_str().unwrap_or_default())
        .collect()
}

/// The indexes of the `MapIterationStarted` events in `events`.
fn iterations_started(events: &[HistoryEvent]) -> Vec<u64> {
    events
        .iter()
        .filter(|e| e.event_type == "MapIterationStarted")
        .map(|e| details(e)["index"].as_u64().unwrap_or(u64::MAX))
        .collect()
}

fn number(task: &TaskCommand) -> i64 {
    task.input.as_i64().expect("the task input is a number")
}

// ----- the failed step, with the same input -----------------------------------------------------

#[test]
fn redrive_after_a_task_failure_reenters_the_failed_task_with_the_same_input() {
    let def = machine(json!({
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": {"order": 7}, "ResultPath": "$.prepared", "Next": "Work"},
            "Work": {"Type": "Task", "Resource": RESOURCE, "ResultPath": "$.result", "Next": "Done"},
            "Done": {"Type": "Pass", "End": true}
        }
    }));
    let mut first = Vec::new();
    let mut runner = start(&def, json!({"id": 1}), &mut |task| {
        first.push(task.input.clone());
        TaskAnswer::fail("Boom", "the service is down")
    });
    assert_eq!(runner.status(), Status::Failed);

    let mut second = Vec::new();
    redrive(&mut runner, at(3600), &mut |task| {
        second.push((task.state.clone(), task.input.clone()));
        TaskAnswer::ok(json!({"ok": true}))
    });
    let outcome = runner.finish();

    let work_input = json!({"id": 1, "prepared": {"order": 7}});
    assert_eq!(first, std::slice::from_ref(&work_input));
    // "continues the failed execution from the unsuccessful step and uses the same input".
    assert_eq!(second, [("Work".to_string(), work_input.clone())]);
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(
        outcome.output,
        Some(json!({"id": 1, "prepared": {"order": 7}, "result": {"ok": true}}))
    );
    // The redrive's events are appended to the original attempt's, which stay as they were.
    assert_eq!(
        types(&outcome.history),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "ExecutionFailed",
            "ExecutionRedriven",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded",
        ]
    );
    let ids: Vec<u64> = outcome.history.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=17).collect::<Vec<u64>>());
    let redriven = &outcome.history[8];
    assert_eq!(redriven.previous_event_id, 8);
    assert_eq!(redriven.timestamp, at(3600));
    let reentered = &outcome.history[9];
    assert_eq!(reentered.previous_event_id, 9);
    assert_eq!(details(reentered)["name"], "Work");
    assert_eq!(details(reentered)["input"], work_input);
}

#[test]
fn the_execution_redriven_event_has_aws_shape() {
    let def = machine(json!({
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": RESOURCE, "End": true}}
    }));
    let mut runner = start(&def, json!({}), &mut |_| TaskAnswer::fail("Boom", ""));
    let failed_id = execution(&runner).last_event_id;
    redrive(&mut runner, at(60), &mut |_| TaskAnswer::fail("Boom", ""));
    redrive(&mut runner, at(120), &mut |_| TaskAnswer::ok(json!(1)));
    let outcome = runner.finish();

    let first = &after_redrive(&outcome, 1)[0];
    assert_eq!(
        first.to_json(),
        json!({
            "timestamp": at(60).to_string(),
            "type": "ExecutionRedriven",
            "id": failed_id + 1,
            "previousEventId": failed_id,
            "executionRedrivenEventDetails": {"redriveCount": 1}
        })
    );
    let second = &after_redrive(&outcome, 2)[0];
    assert_eq!(
        second.details,
        Some((
            "executionRedrivenEventDetails".to_string(),
            json!({"redriveCount": 2})
        ))
    );
    assert_eq!(outcome.status, Status::Succeeded);
}

#[test]
fn redrive_resets_the_retry_counts_of_the_failed_state() {
    let def = machine(json!({
        "StartAt": "Work",
        "States": {"Work": {
            "Type": "Task", "Resource": RESOURCE, "End": true,
            "Parameters": {"retry.$": "$$.State.RetryCount"},
            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 1}]
        }}
    }));
    let mut first = Vec::new();
    let mut runner = start(&def, json!({}), &mut |task| {
        first.push((task.attempt, task.input["retry"].clone()));
        TaskAnswer::fail("Flaky", "")
    });
    assert_eq!(runner.status(), Status::Failed);

    let mut second = Vec::new();
    redrive(&mut runner, at(100), &mut |task| {
        second.push((task.attempt, task.input["retry"].clone()));
        if second.len() == 1 {
            TaskAnswer::fail("Flaky", "")
        } else {
            TaskAnswer::ok(json!("done"))
        }
    });
    // "the retry attempt count for these states is reset to 0 to allow for the maximum number of
    // attempts on redrive": the one retry MaxAttempts allows is available again.
    assert_eq!(first, [(0, json!(0)), (1, json!(1))]);
    assert_eq!(second, [(0, json!(0)), (1, json!(1))]);
    assert_eq!(runner.status(), Status::Succeeded);
}

#[test]
fn a_fail_state_is_entered_again_and_fails_again() {
    let def = machine(json!({
        "StartAt": "Check",
        "States": {
            "Check": {"Type": "Choice", "Choices": [
                {"Variable": "$.ok", "BooleanEquals": true, "Next": "Done"}
            ], "Default": "Stop"},
            "Stop": {"Type": "Fail", "Error": "Rejected", "Cause": "not ok"},
            "Done": {"Type": "Succeed"}
        }
    }));
    let mut runner = start(&def, json!({"ok": false}), &mut no_tasks);
    assert_eq!(runner.status(), Status::Failed);
    redrive(&mut runner, at(10), &mut no_tasks);
    let outcome = runner.finish();

    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(
        outcome.failure,
        Some(asl::Failure::new("Rejected", "not ok"))
    );
    let redriven = after_redrive(&outcome, 1);
    // The Choice state had succeeded: only the Fail state is entered again.
    assert_eq!(entered(redriven), ["Stop"]);
    assert_eq!(
        types(redriven),
        ["ExecutionRedriven", "FailStateEntered", "ExecutionFailed"]
    );
}

// ----- Parallel -----------------------------------------------------------------------------------

/// Branch A runs task `A`; branch B passes `B1` then runs task `B2`.
fn two_branches() -> Value {
    json!({
        "StartAt": "Both",
        "States": {"Both": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {
                "A": {"Type": "Task", "Resource": RESOURCE, "Parameters": {"branch": "A"}, "End": true}
            }},
            {"StartAt": "B1", "States": {
                "B1": {"Type": "Pass", "Result": "b1", "ResultPath": "$.b1", "Next": "B2"},
                "B2": {"Type": "Task", "Resource": RESOURCE,
                       "Parameters": {"branch": "B", "b1.$": "$.b1"}, "End": true}
            }}
        ]}}
    })
}

#[test]
fn redrive_of_a_parallel_reruns_only_the_failed_branch() {
    let def = machine(two_branches());
    let mut runner = start(
        &def,
        json!({"n": 1}),
        &mut |task| match task.state.as_str() {
            "A" => TaskAnswer::ok(json!({"a": 1})),
            _ => after(5, TaskAnswer::fail("Boom", "")),
        },
    );
    assert_eq!(runner.status(), Status::Failed);

    let mut second = Vec::new();
    redrive(&mut runner, at(100), &mut |task| {
        second.push((task.state.clone(), task.input.clone()));
        TaskAnswer::ok(json!({"b": 2}))
    });
    let outcome = runner.finish();

    assert_eq!(
        second,
        [("B2".to_string(), json!({"branch": "B", "b1": "b1"}))]
    );
    assert_eq!(outcome.status, Status::Succeeded);
    // Branch A keeps the result it had in the original attempt, in its place.
    assert_eq!(outcome.output, Some(json!([{"a": 1}, {"b": 2}])));
    // The failed states are entered again: the Parallel state and, in branch B, B2 (B1 had
    // succeeded).
    assert_eq!(entered(after_redrive(&outcome, 1)), ["Both", "B2"]);
}

#[test]
fn redrive_after_an_abort_reruns_the_branches_that_were_running() {
    let def = machine(two_branches());
    let mut tasks = |task: &TaskCommand| match task.state.as_str() {
        "A" => TaskAnswer::ok(json!({"a": 1})),
        _ => after(60, TaskAnswer::ok(json!({"b": "late"}))),
    };
    let mut runner = Runner::start(&def, info(json!({})), 1, &mut tasks);
    // Branch A's answer arrives; B2 still runs when the execution is stopped.
    assert!(runner.advance(&mut tasks));
    runner.stop(Some("Operator".into()), Some("maintenance".into()));
    assert_eq!(runner.status(), Status::Aborted);

    let mut second = Vec::new();
    redrive(&mut runner, at(100), &mut |task| {
        second.push(task.state.clone());
        TaskAnswer::ok(json!({"b": 2}))
    });
    let outcome = runner.finish();

    assert_eq!(second, ["B2"]);
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output, Some(json!([{"a": 1}, {"b": 2}])));
}

#[test]
fn a_parallel_that_failed_with_data_limit_exceeded_is_rerun_whole() {
    let def = machine(two_branches());
    let big = "x".repeat(300_000);
    let mut runner = start(&def, json!({}), &mut |task| match task.state.as_str() {
        "A" => TaskAnswer::ok(json!({"a": 1})),
        _ => after(5, TaskAnswer::ok(json!(big))),
    });
    assert_eq!(
        execution(&runner)
            .failure
            .as_ref()
            .map(|f| f.error.as_str()),
        Some("States.DataLimitExceeded")
    );

    let mut second = Vec::new();
    redrive(&mut runner, at(100), &mut |task| {
        second.push(task.state.clone());
        TaskAnswer::ok(json!(task.state))
    });
    let outcome = runner.finish();

    // "If the state failed because of a States.DataLimitExceeded error, the Parallel state is
    // rerun, including the branches that were successful in the original execution attempt."
    second.sort();
    assert_eq!(second, ["A", "B2"]);
    assert_eq!(outcome.output, Some(json!(["A", "B2"])));
    assert_eq!(
        entered(after_redrive(&outcome, 1)),
        ["Both", "A", "B1", "B2"]
    );
}

// ----- inline Map ---------------------------------------------------------------------------------

/// An inline Map whose iterations run task `Work` on each item.
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

fn times_ten(task: &TaskCommand) -> TaskAnswer {
    TaskAnswer::ok(json!(number(task) * 10))
}

#[test]
fn redrive_of_a_map_reruns_only_the_failed_and_aborted_iterations() {
    let def = machine(map_of_tasks(json!({})));
    // Item 2 fails after 5 s; item 4 is still running then and is aborted.
    let mut runner = start(&def, json!([1, 2, 3, 4]), &mut |task| match number(task) {
        2 => after(5, TaskAnswer::fail("Boom", "")),
        4 => after(10, TaskAnswer::ok(json!(40))),
        _ => times_ten(task),
    });
    assert_eq!(runner.status(), Status::Failed);

    let mut second = Vec::new();
    redrive(&mut runner, at(100), &mut |task| {
        second.push(number(task));
        times_ten(task)
    });
    let outcome = runner.finish();

    assert_eq!(second, [2, 4]);
    assert_eq!(outcome.status, Status::Succeeded);
    // The iterations that succeeded keep their results, each in its place.
    assert_eq!(outcome.output, Some(json!([10, 20, 30, 40])));
    assert_eq!(iterations_started(after_redrive(&outcome, 1)), [1, 3]);
    assert_eq!(
        entered(after_redrive(&outcome, 1)),
        ["Each", "Work", "Work"]
    );
}

#[test]
fn redrive_of_a_map_starts_the_iterations_that_never_started() {
    let def = machine(map_of_tasks(json!({"MaxConcurrency": 1})));
    let mut first = Vec::new();
    let mut runner = start(&def, json!([1, 2, 3]), &mut |task| {
        first.push(number(task));
        if number(task) == 2 {
            TaskAnswer::fail("Boom", "")
        } else {
            times_ten(task)
        }
    });
    assert_eq!(first, [1, 2], "item 3 never started");

    let mut second = Vec::new();
    redrive(&mut runner, at(100), &mut |task| {
        second.push(number(task));
        times_ten(task)
    });
    let outcome = runner.finish();

    // One at a time, in index order, as MaxConcurrency allows.
    assert_eq!(second, [2, 3]);
    assert_eq!(outcome.output, Some(json!([10, 20, 30])));
    assert_eq!(iterations_started(after_redrive(&outcome, 1)), [1, 2]);
}

#[test]
fn redrive_of_a_map_over_its_failure_threshold_reruns_every_failed_iteration() {
    let def = machine(map_of_tasks(json!({"ToleratedFailureCount": 1})));
    let mut runner = start(&def, json!([1, 2, 3, 4]), &mut |task| match number(task) {
        2 | 3 => TaskAnswer::fail("Boom", ""),
        4 => after(10, TaskAnswer::ok(json!(40))),
        _ => times_ten(task),
    });
    assert_eq!(
        execution(&runner)
            .failure
            .as_ref()
            .map(|f| f.error.as_str()),
        Some("States.ExceedToleratedFailureThreshold")
    );

    let mut second = Vec::new();
    redrive(&mut runner, at(100), &mut |task| {
        second.push(number(task));
        times_ten(task)
    });
    let outcome = runner.finish();

    // Item 2 failed within the tolerance, item 3 past it, item 4 was aborted: all three ran
    // unsuccessfully, so all three run again.
    assert_eq!(second, [2, 3, 4]);
    assert_eq!(outcome.output, Some(json!([10, 20, 30, 40])));
}

#[test]
fn redrive_of_a_map_of_parallels_reruns_only_the_failed_branch_of_the_failed_iteration() {
    let def = machine(json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "Both", "States": {"Both": {
                "Type": "Parallel", "End": true, "Branches": [
                    {"StartAt": "X", "States": {"X": {"Type": "Task", "Resource": RESOURCE,
                        "Parameters": {"branch": "X", "item.$": "$"}, "End": true}}},
                    {"StartAt": "Y", "States": {"Y": {"Type": "Task", "Resource": RESOURCE,
                        "Parameters": {"branch": "Y", "item.$": "$"}, "End": true}}}
                ]
            }}}
        }}
    }));
    let label = |task: &TaskCommand| format!("{}{}", task.input["branch"], task.input["item"]);
    let mut runner = start(&def, json!([1, 2]), &mut |task| {
        let name = label(task);
        if name == "\"Y\"2" {
            after(5, TaskAnswer::fail("Boom", ""))
        } else {
            TaskAnswer::ok(json!(name))
        }
    });
    assert_eq!(runner.status(), Status::Failed);

    let mut second = Vec::new();
    redrive(&mut runner, at(100), &mut |task| {
        second.push(label(task));
        TaskAnswer::ok(json!(label(task)))
    });
    let outcome = runner.finish();

    assert_eq!(second, ["\"Y\"2"]);
    assert_eq!(
        outcome.output,
        Some(json!([["\"X\"1", "\"Y\"1"], ["\"X\"2", "\"Y\"2"]]))
    );
    assert_eq!(iterations_started(after_redrive(&outcome, 1)), [1]);
    assert_eq!(entered(after_redrive(&outcome, 1)), ["Each", "Both", "Y"]);
}

#[test]
fn redrive_of_a_distributed_map_runs_a_new_map_run_over_every_item() {
    let mut def = map_of_tasks(json!({}));
    def["States"]["Each"]["ItemProcessor"]["ProcessorConfig"] =
        json!({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"});
    let def = machine(def);
    let mut runner = start(&def, json!([1, 2, 3]), &mut |task| match number(task) {
        2 => after(5, TaskAnswer::fail("Boom", "")),
        _ => times_ten(task),
    });
    assert_eq!(runner.status(), Status::Failed);

    let mut second = Vec::new();
    redrive(&mut runner, at(100), &mut |task| {
        second.push(number(task));
        times_ten(task)
    });
    let outcome = runner.finish();

    // FIXME: AWS redrives the failed Map Run and reruns only its unsuccessful child executions
    // (redrive-map-run.html); weir runs Map Runs in memory without child executions, so a redrive
    // starts a new Map Run over every item.
    second.sort();
    assert_eq!(second, [1, 2, 3]);
    assert_eq!(outcome.output, Some(json!([10, 20, 30])));
    let redriven = after_redrive(&outcome, 1);
    assert_eq!(
        types(redriven)
            .iter()
            .filter(|t| **t == "MapRunStarted")
            .count(),
        1
    );
}

// ----- after an abort and a timeout -------------------------------------------------------------------

/// Task `First`, a Wait, then task `Last`.
fn task_wait_task(wait: Value) -> Value {
    let mut pause = json!({"Type": "Wait", "Next": "Last"});
    for (k, v) in wait.as_object().expect("wait fields are an object") {
        pause[k] = v.clone();
    }
    json!({
        "StartAt": "First",
        "States": {
            "First": {"Type": "Task", "Resource": RESOURCE, "Next": "Pause"},
            "Pause": pause,
            "Last": {"Type": "Task", "Resource": RESOURCE, "End": true}
        }
    })
}

/// Runs `def` until `First` has succeeded and the Wait has begun, then stops it.
fn stopped_in_the_wait(def: &StateMachine) -> Runner<'_> {
    let mut tasks = |_: &TaskCommand| TaskAnswer::ok(json!({"first": true}));
    let mut runner = Runner::start(def, info(json!({})), 1, &mut tasks);
    assert!(runner.advance(&mut tasks));
    runner.stop(None, None);
    assert_eq!(runner.status(), Status::Aborted);
    runner
}

#[test]
fn redrive_after_an_abort_waits_again_and_does_not_rerun_what_succeeded() {
    let def = machine(task_wait_task(json!({"Seconds": 60})));
    let mut runner = stopped_in_the_wait(&def);

    let mut second = Vec::new();
    redrive(&mut runner, at(1000), &mut |task| {
        second.push((task.state.clone(), task.input.clone()));
        TaskAnswer::ok(json!("last"))
    });
    let outcome = runner.finish();

    assert_eq!(second, [("Last".to_string(), json!({"first": true}))]);
    assert_eq!(outcome.status, Status::Succeeded);
    let redriven = after_redrive(&outcome, 1);
    assert_eq!(entered(redriven), ["Pause", "Last"]);
    let exited = redriven
        .iter()
        .find(|e| e.event_type == "WaitStateExited")
        .expect("the Wait state ends");
    // The Wait state is entered again at the redrive and waits its 60 seconds from there.
    assert_eq!(redriven[1].timestamp, at(1000));
    assert_eq!(exited.timestamp, at(1060));
}

#[test]
fn redrive_leaves_a_wait_whose_timestamp_is_past_at_once() {
    let def = machine(task_wait_task(json!({"Timestamp": "2024-01-01T00:01:00Z"})));
    let mut runner = stopped_in_the_wait(&def);
    redrive(&mut runner, at(1000), &mut |_| {
        TaskAnswer::ok(json!("last"))
    });
    let outcome = runner.finish();

    assert_eq!(outcome.status, Status::Succeeded);
    let redriven = after_redrive(&outcome, 1);
    assert_eq!(
        types(&redriven[..3]),
        ["ExecutionRedriven", "WaitStateEntered", "WaitStateExited"]
    );
    assert_eq!(redriven[2].timestamp, at(1000));
    assert_eq!(outcome.ended, at(1000));
}

#[test]
fn redrive_after_a_timeout_restarts_the_state_machine_timeout() {
    let mut def = json!({
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": RESOURCE, "End": true}}
    });
    def["TimeoutSeconds"] = json!(10);
    let def = machine(def);
    let mut runner = start(&def, json!({}), &mut |_| {
        after(20, TaskAnswer::ok(json!("slow")))
    });
    assert_eq!(runner.status(), Status::TimedOut);
    assert_eq!(runner.now(), at(10));

    // 8 seconds from the redrive fits in a timeout that starts over at the redrive.
    redrive(&mut runner, at(100), &mut |_| {
        after(8, TaskAnswer::ok(json!("fast")))
    });
    let outcome = runner.finish();
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output, Some(json!("fast")));
    assert_eq!(outcome.ended, at(108));
    assert_eq!(
        entered(after_redrive(&outcome, 1)),
        ["Work"],
        "the task that timed out runs again"
    );
}

#[test]
fn a_redriven_execution_times_out_timeout_seconds_after_the_redrive_not_before() {
    let mut def = json!({
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": RESOURCE, "End": true}}
    });
    def["TimeoutSeconds"] = json!(10);
    let def = machine(def);
    let runner = start(&def, json!({}), &mut |_| TaskAnswer::fail("Boom", ""));
    let failed = execution(&runner).clone();

    let redriven = step(&def, failed, Event::Redrive, at(100), 7);
    assert!(
        redriven
            .commands
            .contains(&Command::ExecutionTimeout { at: at(110) }),
        "{:?}",
        redriven.commands
    );
    // The first attempt's timer, set for t = 10 and delivered late, is not this attempt's.
    let stale = step(&def, redriven.execution, Event::TimedOut, at(105), 8);
    assert!(stale.events.is_empty());
    assert_eq!(stale.execution.status, Status::Running);
    let timed_out = step(&def, stale.execution, Event::TimedOut, at(110), 9);
    assert_eq!(timed_out.execution.status, Status::TimedOut);
    assert_eq!(types(&timed_out.events), ["ExecutionTimedOut"]);
}

// ----- the context object ---------------------------------------------------------------------------

#[test]
fn the_context_object_shows_the_redrive_count_and_time() {
    let def = machine(json!({
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": RESOURCE, "End": true,
            "Parameters": {"execution.$": "$$.Execution"}}}
    }));
    let mut seen = Vec::new();
    let mut runner = start(&def, json!({}), &mut |task| {
        seen.push(task.input["execution"].clone());
        TaskAnswer::fail("Boom", "")
    });
    redrive(&mut runner, at(3600), &mut |task| {
        seen.push(task.input["execution"].clone());
        TaskAnswer::fail("Boom", "")
    });
    redrive(&mut runner, at(7200), &mut |task| {
        seen.push(task.input["execution"].clone());
        TaskAnswer::ok(json!("done"))
    });
    assert_eq!(runner.status(), Status::Succeeded);

    let redrive_time = |execution: &Value| -> Option<Timestamp> {
        execution.get("RedriveTime").map(|t| {
            t.as_str()
                .and_then(|s| s.parse().ok())
                .expect("an ISO 8601 time")
        })
    };
    assert_eq!(seen.len(), 3);
    // "RedriveTime Context object is only available if you've redriven an execution."
    assert_eq!(seen[0]["RedriveCount"], 0);
    assert_eq!(redrive_time(&seen[0]), None);
    assert_eq!(seen[1]["RedriveCount"], 1);
    assert_eq!(redrive_time(&seen[1]), Some(at(3600)));
    assert_eq!(seen[2]["RedriveCount"], 2);
    assert_eq!(redrive_time(&seen[2]), Some(at(7200)));
    // The rest of `$$.Execution` is the execution's own, unchanged by a redrive.
    for field in ["Id", "Input", "Name", "RoleArn", "StartTime"] {
        assert_eq!(seen[2][field], seen[0][field], "{field}");
    }
    assert_eq!(execution(&runner).info.redrive_count, Some(2));
    assert_eq!(execution(&runner).info.redrive_time, Some(at(7200)));
}

#[test]
fn jsonata_reads_the_redrive_count_and_time_from_states_context() {
    let def = machine(json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": RESOURCE, "End": true,
            "Arguments": {"execution": "{% $states.context.Execution %}"}}}
    }));
    let mut seen = Vec::new();
    let mut runner = start(&def, json!({}), &mut |task| {
        seen.push(task.input["execution"].clone());
        TaskAnswer::fail("Boom", "")
    });
    redrive(&mut runner, at(90), &mut |task| {
        seen.push(task.input["execution"].clone());
        TaskAnswer::ok(json!("done"))
    });
    assert_eq!(seen[0]["RedriveCount"], 0);
    assert!(seen[0].get("RedriveTime").is_none());
    assert_eq!(seen[1]["RedriveCount"], 1);
    let time: Option<Timestamp> = seen[1]["RedriveTime"].as_str().and_then(|s| s.parse().ok());
    assert_eq!(time, Some(at(90)));
}

// ----- which executions can be redriven -------------------------------------------------------------

fn failing_task() -> StateMachine {
    machine(json!({
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": RESOURCE, "End": true}}
    }))
}

#[test]
fn failed_timed_out_and_aborted_executions_are_redrivable() {
    let def = failing_task();
    let failed = start(&def, json!({}), &mut |_| TaskAnswer::fail("Boom", ""));
    assert_eq!(redrivable(execution(&failed), at(60)), Ok(()));

    let wait = machine(task_wait_task(json!({"Seconds": 60})));
    let aborted = stopped_in_the_wait(&wait);
    assert_eq!(redrivable(execution(&aborted), at(60)), Ok(()));

    let mut slow = json!({
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": RESOURCE, "End": true}}
    });
    slow["TimeoutSeconds"] = json!(1);
    let slow = machine(slow);
    let timed_out = start(&slow, json!({}), &mut |_| {
        after(5, TaskAnswer::ok(json!(0)))
    });
    assert_eq!(timed_out.status(), Status::TimedOut);
    assert_eq!(redrivable(execution(&timed_out), at(60)), Ok(()));
}

#[test]
fn succeeded_and_running_executions_are_not_redrivable() {
    let def = failing_task();
    let succeeded = start(&def, json!({}), &mut |_| TaskAnswer::ok(json!(1)));
    let reason = redrivable(execution(&succeeded), at(60)).expect_err("succeeded");
    assert_eq!(reason, NotRedrivable::Succeeded);
    assert_eq!(
        reason.to_string(),
        "Execution is SUCCEEDED and cannot be redriven"
    );

    let wait = machine(task_wait_task(json!({"Seconds": 60})));
    let mut tasks = |_: &TaskCommand| TaskAnswer::ok(json!({}));
    let running = Runner::start(&wait, info(json!({})), 1, &mut tasks);
    let reason = redrivable(execution(&running), at(1)).expect_err("running");
    assert_eq!(reason, NotRedrivable::Running);
    assert_eq!(
        reason.to_string(),
        "Execution is RUNNING and cannot be redriven"
    );
    assert_eq!(NOT_REDRIVABLE_ERROR, "ExecutionNotRedrivable");
}

#[test]
fn express_executions_are_not_redrivable() {
    let def = failing_task();
    let info = ExecutionInfo::new_express(
        &driver::local_state_machine_arn("test"),
        "exec-1",
        "5f0e9e1c",
        json!({}),
        t0(),
        false,
    );
    let mut tasks = |_: &TaskCommand| TaskAnswer::fail("Boom", "");
    let mut runner = Runner::start(&def, info, 1, &mut tasks);
    while runner.advance(&mut tasks) {}
    assert_eq!(runner.status(), Status::Failed);
    assert_eq!(
        redrivable(execution(&runner), at(60)),
        Err(NotRedrivable::Express)
    );
}

#[test]
fn an_execution_is_redrivable_for_fourteen_days_after_it_stopped() {
    let def = failing_task();
    let mut runner = start(&def, json!({}), &mut |_| {
        after(30, TaskAnswer::fail("Boom", ""))
    });
    let stopped = at(30);
    assert_eq!(runner.now(), stopped);
    let failed = execution(&runner).clone();
    assert_eq!(failed.stop_time, Some(stopped));

    assert_eq!(redrivable(&failed, stopped + days(14)), Ok(()));
    let late = stopped + days(14) + secs(1);
    let reason = redrivable(&failed, late).expect_err("the redrivable period is over");
    assert_eq!(reason, NotRedrivable::PeriodExceeded);
    assert_eq!(reason.to_string(), "Execution redrivable period exceeded");

    // A redrive asked for too late changes nothing.
    let refused = step(&def, failed.clone(), Event::Redrive, late, 3);
    assert_eq!(refused.execution, failed);
    assert!(refused.events.is_empty());
    assert!(refused.commands.is_empty());
    runner.redrive(late, &mut no_tasks);
    assert_eq!(runner.status(), Status::Failed);
}

#[test]
fn an_execution_open_for_more_than_a_year_is_not_redrivable() {
    let def = machine(json!({
        "StartAt": "Long",
        "States": {
            "Long": {"Type": "Wait", "Seconds": 364 * 24 * 3600, "Next": "Stop"},
            "Stop": {"Type": "Fail", "Error": "Late"}
        }
    }));
    let runner = start(&def, json!({}), &mut no_tasks);
    assert_eq!(runner.status(), Status::Failed);
    let stopped = t0() + days(364);
    assert_eq!(execution(&runner).stop_time, Some(stopped));
    // Two days after it stopped, within the 14-day period, but past a year since it started.
    assert_eq!(redrivable(execution(&runner), stopped + days(1)), Ok(()));
    let reason = redrivable(execution(&runner), stopped + days(2)).expect_err("past a year");
    assert_eq!(reason, NotRedrivable::MaxExecutionTime);
    assert_eq!(
        reason.to_string(),
        "Execution has exceeded the max execution time"
    );
}

#[test]
fn an_execution_started_before_redrive_existed_is_not_redrivable() {
    let def = failing_task();
    let before: Timestamp = "2023-11-14T23:59:59Z".parse().expect("a valid timestamp");
    let mut tasks = |_: &TaskCommand| TaskAnswer::fail("Boom", "");
    let info = ExecutionInfo::new(
        &driver::local_state_machine_arn("test"),
        "exec-1",
        json!({}),
        before,
    );
    let mut runner = Runner::start(&def, info, 1, &mut tasks);
    while runner.advance(&mut tasks) {}
    let reason = redrivable(execution(&runner), before + secs(60)).expect_err("too early");
    assert_eq!(reason, NotRedrivable::StartedBeforeLaunch);
    assert_eq!(
        reason.to_string(),
        "Execution was started before the launch of RedriveExecution"
    );
}

#[test]
fn an_execution_needs_room_in_its_history_to_be_redriven() {
    let def = failing_task();
    let runner = start(&def, json!({}), &mut |_| TaskAnswer::fail("Boom", ""));
    let mut failed = execution(&runner).clone();
    // "The execution event history count is less than 24,999."
    assert_eq!(REDRIVE_HISTORY_LIMIT, 24_999);
    failed.last_event_id = 24_998;
    assert_eq!(redrivable(&failed, at(60)), Ok(()));
    failed.last_event_id = 24_999;
    let reason = redrivable(&failed, at(60)).expect_err("history too long");
    assert_eq!(reason, NotRedrivable::HistoryLimit);
    assert_eq!(reason.to_string(), "Execution history event limit exceeded");
}

#[test]
fn an_execution_that_hit_the_history_limit_is_not_redrivable() {
    let def = machine(json!({
        "StartAt": "Loop",
        "States": {"Loop": {"Type": "Pass", "Next": "Loop"}}
    }));
    let runner = start(&def, json!({}), &mut no_tasks);
    assert_eq!(runner.status(), Status::Failed);
    assert_eq!(
        redrivable(execution(&runner), at(60)),
        Err(NotRedrivable::HistoryLimit)
    );
}

// ----- purity and stored executions -----------------------------------------------------------------

#[test]
fn a_redrive_step_is_deterministic() {
    let def = machine(two_branches());
    let runner = start(&def, json!({}), &mut |task| match task.state.as_str() {
        "A" => TaskAnswer::ok(json!(1)),
        _ => TaskAnswer::fail("Boom", ""),
    });
    let failed = execution(&runner).clone();
    let one = step(&def, failed.clone(), Event::Redrive, at(100), 42);
    let two = step(&def, failed, Event::Redrive, at(100), 42);
    assert_eq!(one, two);
    assert_eq!(one.execution.status, Status::Running);
    assert_eq!(one.execution.output, None);
    assert_eq!(one.execution.failure, None);
    assert_eq!(one.execution.stop_time, None);
    let tasks: Vec<&str> = one
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::RunTask(t) => Some(t.state.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(tasks, ["B2"]);
}

#[test]
fn a_stopped_execution_keeps_its_redrive_point_through_serde() {
    let def = machine(map_of_tasks(json!({})));
    let runner = start(&def, json!([1, 2, 3]), &mut |task| match number(task) {
        2 => after(5, TaskAnswer::fail("Boom", "")),
        _ => times_ten(task),
    });
    let failed = execution(&runner).clone();
    assert!(failed.redrive_from.is_some());
    let text = serde_json::to_string(&failed).expect("an execution serializes");
    let back: Execution = serde_json::from_str(&text).expect("and deserializes");
    assert_eq!(back, failed);

    let tasks = |task: &TaskCommand| times_ten(task);
    let mut stored = step(&def, back, Event::Redrive, at(100), 5);
    let mut seen: Vec<i64> = Vec::new();
    let mut commands = std::mem::take(&mut stored.commands);
    let mut execution = stored.execution;
    while let Some(command) = commands.pop() {
        let Command::RunTask(task) = command else {
            continue;
        };
        seen.push(number(&task));
        let answer = tasks(&task);
        let asl::driver::TaskResult::Succeed(output) = answer.result else {
            panic!("the task succeeds");
        };
        let next = step(
            &def,
            execution,
            Event::TaskSucceeded {
                thread: task.thread,
                wake: task.wake,
                output,
            },
            at(101),
            6,
        );
        execution = next.execution;
        commands.extend(next.commands);
    }
    assert_eq!(seen, [2]);
    assert_eq!(execution.status, Status::Succeeded);
    assert_eq!(execution.output, Some(json!([10, 20, 30])));
}

#[test]
fn snapshots_without_redrive_fields_still_load() {
    let def = failing_task();
    let runner = start(&def, json!({}), &mut |_| TaskAnswer::fail("Boom", ""));
    let mut stored = serde_json::to_value(execution(&runner)).expect("an execution serializes");
    let fields = stored.as_object_mut().expect("an object");
    assert!(fields.remove("redrive_from").is_some());
    assert!(fields.remove("stop_time").is_some());
    let old: Execution = serde_json::from_value(stored).expect("an older snapshot loads");
    assert_eq!(old.redrive_from, None);
    // An execution stored before weir kept what redrive needs counts as one started before the
    // launch of RedriveExecution.
    assert_eq!(
        redrivable(&old, at(60)),
        Err(NotRedrivable::StartedBeforeLaunch)
    );

    // A running execution serializes as before: the redrive fields appear only when set.
    let fresh = serde_json::to_value(Execution::new(info(json!({})))).expect("serializes");
    assert!(fresh.get("redrive_from").is_none());
    assert!(fresh.get("stop_time").is_none());
    assert!(fresh["info"].get("redrive_time").is_none());
}
