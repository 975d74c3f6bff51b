//! Map Run reports from `step`: a distributed Map reports its run when it starts, when a caller
//! changes it (`UpdateMapRun`) and when it ends, with item counts as `DescribeMapRun` shows them.

use asl::definition::StateMachine;
use asl::driver;
use asl::execution::{Command, Event, Execution, ExecutionInfo, step};
use serde_json::{Value, json};

fn machine(children: Value, max_concurrency: u64) -> StateMachine {
    let def = json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": max_concurrency, "End": true,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "C", "States": {"C": children}}}}});
    StateMachine::from_value(&def).expect("a valid definition")
}

fn start(def: &StateMachine, items: usize) -> asl::execution::Step {
    let t0 = "2026-01-01T00:00:00Z".parse().expect("a timestamp");
    let input = json!({"items": (0..items).collect::<Vec<_>>()});
    let info = ExecutionInfo::new(&driver::local_state_machine_arn("runs"), "e", input, t0);
    step(def, Execution::new(info), Event::Start, t0, 1)
}

#[test]
fn a_map_run_reports_its_start_and_its_end_with_counts() {
    let def = machine(json!({"Type": "Pass", "End": true}), 0);
    let stepped = start(&def, 3);
    let statuses: Vec<(&str, bool)> = stepped
        .map_runs
        .iter()
        .map(|r| (r.status.as_str(), r.start))
        .collect();
    assert_eq!(statuses, [("RUNNING", true), ("SUCCEEDED", false)]);
    let end = &stepped.map_runs[1];
    assert_eq!(
        (end.total, end.succeeded, end.failed, end.pending),
        (3, 3, 0, 0)
    );
    assert_eq!(stepped.map_runs[0].arn, end.arn);
    assert!(end.arn.contains(":mapRun:runs/M:"), "{}", end.arn);
}

#[test]
fn update_map_run_raises_the_concurrency_of_a_running_run() {
    let def = machine(json!({"Type": "Wait", "Seconds": 5, "End": true}), 1);
    let stepped = start(&def, 3);
    let started = &stepped.map_runs[0];
    assert_eq!(
        (started.running, started.pending),
        (0, 3),
        "counted before launching"
    );
    let timers = |commands: &[Command]| {
        commands
            .iter()
            .filter(|c| matches!(c, Command::StartTimer { .. }))
            .count()
    };
    assert_eq!(timers(&stepped.commands), 1, "one item at a time");
    let now = "2026-01-01T00:00:01Z".parse().expect("a timestamp");
    let updated = step(
        &def,
        stepped.execution,
        Event::UpdateMapRun {
            map_run_arn: started.arn.clone(),
            max_concurrency: Some(0),
            tolerated_count: Some(1),
            tolerated_percentage: None,
        },
        now,
        2,
    );
    let report = &updated.map_runs[0];
    assert_eq!(report.status, "RUNNING");
    assert_eq!(
        (report.max_concurrency, report.tolerated_count),
        (0, Some(1))
    );
    assert_eq!(
        timers(&updated.commands),
        2,
        "the two waiting items start at once"
    );
    let ignored = step(
        &def,
        updated.execution,
        Event::UpdateMapRun {
            map_run_arn: "arn:aws:states:us-east-1:000000000000:mapRun:runs/M:nope".into(),
            max_concurrency: Some(5),
            tolerated_count: None,
            tolerated_percentage: None,
        },
        now,
        3,
    );
    assert!(ignored.map_runs.is_empty() && ignored.commands.is_empty());
}
