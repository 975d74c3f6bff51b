//! weir's `Weir.` operations through the router (`oneshot`), on the SQLite store: functions are
//! created, changed, listed and deleted, bad requests are refused naming the member, and task
//! logs are read per execution.

mod support;

use axum::http::StatusCode;
use serde_json::json;
use support::{call, refused, with_functions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_are_created_changed_listed_and_deleted() {
    let setup = with_functions().await;
    let api = &setup.api;
    let (status, created) = call(
        api,
        "Weir.CreateFunction",
        json!({"name": "sum", "command": ["sh", "-c", "cat"], "workingDirectory": "/",
               "environment": {"A": "1"}, "timeoutSeconds": 5, "concurrency": 2,
               "memoryMb": 64, "description": "adds"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(
        created["functionArn"],
        json!("arn:aws:lambda:us-east-1:000000000000:function:sum")
    );
    assert_eq!(created["command"], json!(["sh", "-c", "cat"]));
    assert_eq!(created["workingDirectory"], json!("/"));
    assert_eq!(created["environment"], json!({"A": "1"}));
    assert_eq!(created["concurrency"], json!(2));
    assert!(created["creationDate"].is_number());

    // An update keeps what it does not name; a URL replaces the command and its members.
    let (_, kept) = call(
        api,
        "Weir.UpdateFunction",
        json!({"name": "sum", "timeoutSeconds": 9}),
    )
    .await;
    assert_eq!(kept["timeoutSeconds"], json!(9));
    assert_eq!(kept["command"], json!(["sh", "-c", "cat"]));
    let (_, web) = call(
        api,
        "Weir.UpdateFunction",
        json!({"name": "sum", "url": "http://127.0.0.1:9/sum", "headers": {"X-A": "b"}}),
    )
    .await;
    assert_eq!(web["url"], json!("http://127.0.0.1:9/sum"));
    assert_eq!(web["headers"], json!({"X-A": "b"}));
    for gone in ["command", "workingDirectory", "environment", "memoryMb"] {
        assert!(web.get(gone).is_none(), "{gone} in {web}");
    }
    assert_eq!(web["description"], json!("adds"));

    let (_, listed) = call(api, "Weir.ListFunctions", json!({})).await;
    let names: Vec<&str> = listed["functions"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["sum"]);

    let taken = refused(
        api,
        "Weir.CreateFunction",
        json!({"name": "sum", "url": "http://127.0.0.1:9/"}),
        "ResourceConflictException",
    )
    .await;
    assert!(taken.contains("'sum'"), "{taken}");
    let (status, _) = call(api, "Weir.DeleteFunction", json!({"name": "sum"})).await;
    assert_eq!(status, StatusCode::OK);
    for target in [
        "Weir.GetFunction",
        "Weir.DeleteFunction",
        "Weir.UpdateFunction",
    ] {
        refused(api, target, json!({"name": "sum"}), "ResourceNotFound").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_name_the_member() {
    let setup = with_functions().await;
    let api = &setup.api;
    let problems = refused(
        api,
        "Weir.CreateFunction",
        json!({"name": "bad name", "url": "https://example.com/", "memoryMb": 64,
               "concurrency": 0}),
        "InvalidParameterValueException",
    )
    .await;
    for expected in [
        "the name must be 1 to 64",
        "`url` https://example.com/ uses https://",
        "`memoryMb` applies to a `command` function only",
        "`concurrency` must be 1 to 10000",
    ] {
        assert!(problems.contains(expected), "{expected:?} in {problems}");
    }
    let missing = refused(
        api,
        "Weir.CreateFunction",
        json!({"command": ["true"]}),
        "ValidationException",
    )
    .await;
    assert!(missing.contains("'name'"), "{missing}");
    let typed = refused(
        api,
        "Weir.CreateFunction",
        json!({"name": "f", "command": "true"}),
        "SerializationException",
    )
    .await;
    assert!(typed.contains("'command'"), "{typed}");
    let negative = refused(
        api,
        "Weir.CreateFunction",
        json!({"name": "f", "command": ["true"], "timeoutSeconds": -1}),
        "ValidationException",
    )
    .await;
    assert!(negative.contains("'timeoutSeconds'"), "{negative}");
    refused(api, "Weir.Nothing", json!({}), "UnknownOperationException").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_logs_are_read_per_execution() {
    let setup = with_functions().await;
    let api = &setup.api;
    call(
        api,
        "Weir.CreateFunction",
        json!({"name": "shout", "command": ["sh", "-c", "echo loud >&2; echo '\"done\"'"],
               "workingDirectory": "/"}),
    )
    .await;
    let (_, machine) = call(
        api,
        "AWSStepFunctions.CreateStateMachine",
        json!({"name": "m", "roleArn": "arn:aws:iam::000000000000:role/r",
               "definition": json!({"StartAt": "Shout", "States": {"Shout": {
                   "Type": "Task",
                   "Resource": "arn:aws:lambda:us-east-1:000000000000:function:shout",
                   "End": true}}}).to_string()}),
    )
    .await;
    let (_, started) = call(
        api,
        "AWSStepFunctions.StartExecution",
        json!({"stateMachineArn": machine["stateMachineArn"], "name": "e"}),
    )
    .await;
    let arn = started["executionArn"].as_str().expect("an execution ARN");
    let record = api.engine.wait(arn).await.expect("it ends");
    assert_eq!(record.status, "SUCCEEDED");

    let (status, answer) = call(api, "Weir.GetTaskLogs", json!({"executionArn": arn})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let log = &answer["logs"][0];
    assert_eq!(log["stateName"], json!("Shout"));
    assert_eq!(log["attempt"], json!(0));
    assert_eq!(log["functionName"], json!("shout"));
    assert_eq!(log["status"], json!("exit status 0"));
    assert_eq!(log["stdout"], json!("\"done\"\n"));
    assert_eq!(log["stderr"], json!("loud\n"));
    assert_eq!(log["stderrTruncated"], json!(false));
    assert!(log.get("error").is_none());
    let (_, none) = call(
        api,
        "Weir.GetTaskLogs",
        json!({"executionArn": arn, "attempt": 1}),
    )
    .await;
    assert_eq!(none, json!({"logs": []}));

    refused(
        api,
        "Weir.GetTaskLogs",
        json!({"executionArn": "arn:aws:states:us-east-1:000000000000:execution:m:nobody"}),
        "ExecutionDoesNotExist",
    )
    .await;
    refused(
        api,
        "Weir.GetTaskLogs",
        json!({"executionArn": "arn:aws:states:us-east-1:000000000000:stateMachine:m"}),
        "InvalidArn",
    )
    .await;
}
