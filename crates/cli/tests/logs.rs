//! Structured logs: `weir server --log-json` writes one JSON object per event, and events of a
//! task attempt carry the spans of their execution and attempt (execution ARN, state, attempt,
//! resource), so a failing task can be traced to where it ran.

mod support;

use serde_json::{Value, json};
use support::Server;

#[test]
fn a_failing_task_is_logged_in_json_inside_its_execution_and_attempt_spans() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let functions = dir.path().join("functions.json");
    std::fs::write(
        &functions,
        json!({"functions": {"broken": {"command": ["sh", "-c", "exit 3"]}}}).to_string(),
    )
    .expect("the registry is written");
    let functions = functions.to_string_lossy().to_string();
    let server = Server::start_with(&[
        "--log-json",
        "--log-level",
        "info",
        "--functions",
        &functions,
    ]);
    let definition = json!({"StartAt": "Load", "States": {"Load": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:broken",
        "End": true
    }}});
    let machine = server.sfn(
        "CreateStateMachine",
        &json!({"name": "logged", "definition": definition.to_string(),
                "roleArn": "arn:aws:iam::000000000000:role/logs"}),
    )["stateMachineArn"]
        .as_str()
        .expect("an ARN")
        .to_string();
    let run = server.sfn("StartExecution", &json!({"stateMachineArn": machine}))["executionArn"]
        .as_str()
        .expect("an ARN")
        .to_string();
    for _ in 0..200 {
        let described = server.sfn("DescribeExecution", &json!({"executionArn": run}));
        if described["status"] != "RUNNING" {
            assert_eq!(described["status"], "FAILED");
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let logs = server.stop();
    let failed: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["fields"]["message"] == "Task attempt failed.")
        .collect();
    assert_eq!(failed.len(), 1, "one failed attempt in:\n{logs}");
    let event = &failed[0];
    assert_eq!(event["level"], "INFO");
    assert_eq!(event["fields"]["error"], "Runtime.ExitError");
    assert_eq!(event["span"]["name"], "task");
    assert_eq!(event["span"]["state"], "Load");
    assert_eq!(event["span"]["attempt"], 0);
    assert_eq!(event["span"]["execution"], run.as_str());
}
