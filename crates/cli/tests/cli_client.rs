//! The client subcommands (`weir state-machines`, `weir executions`, `weir test-state`) against
//! a real `weir server`: each test starts one on a free port with its own data directory, runs the
//! `weir` binary as a person or a script would and checks what it prints and its exit status,
//! then stops the server with SIGTERM.

mod support;

use std::process::Command;
use support::{Server, Weir, path, row, run};

const PASS: &str = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": true}, "ResultPath": "$.p", "End": true}}}"#;
const FAIL: &str = r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken", "Cause": "on purpose"}}}"#;
const WAIT: &str =
    r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}"#;
const PREFIX: &str = "arn:aws:states:us-east-1:000000000000";

#[test]
fn cli_client_manages_state_machines() {
    let server = Server::start();
    let pass = server.file("pass.json", PASS);
    let wait = server.file("wait.json", WAIT);

    let created = server
        .weir(&[
            "state-machines",
            "create",
            "--name",
            "pass",
            "--definition",
            path(&pass),
        ])
        .exits(0);
    assert!(
        created
            .stdout
            .contains(&format!("arn:     {PREFIX}:stateMachine:pass")),
        "{}",
        created.stdout
    );
    let created = server
        .weir(&[
            "state-machines",
            "create",
            "--name",
            "quick",
            "--type",
            "EXPRESS",
            "--definition",
            path(&pass),
            "--json",
        ])
        .exits(0);
    assert_eq!(
        created.json()["stateMachineArn"],
        format!("{PREFIX}:stateMachine:quick")
    );
    assert!(created.json()["creationDate"].is_number());

    let listed = server.weir(&["state-machines", "list"]).exits(0);
    let header = listed.stdout.lines().next().unwrap_or_default();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["NAME", "TYPE", "CREATED"]
    );
    assert_eq!(row(&listed.stdout, "pass")[1], "STANDARD");
    assert_eq!(row(&listed.stdout, "quick")[1], "EXPRESS");
    // RFC 3339 in UTC, not epoch seconds.
    let created_at = &row(&listed.stdout, "pass")[2];
    assert!(
        created_at.ends_with('Z') && created_at.contains('T'),
        "{created_at}"
    );
    assert_eq!(listed.stdout.lines().count(), 3);

    // --max stops early and hands back the token to continue; without it every page is read.
    let first = server
        .weir(&["state-machines", "list", "--max", "1", "--json"])
        .exits(0)
        .json();
    assert_eq!(first["stateMachines"].as_array().map(Vec::len), Some(1));
    assert!(first["nextToken"].is_string(), "{first}");
    let all = server
        .weir(&["state-machines", "list", "--json"])
        .exits(0)
        .json();
    assert_eq!(all["stateMachines"].as_array().map(Vec::len), Some(2));
    assert!(all.get("nextToken").is_none());

    // A bare name stands for the machine's ARN.
    let described = server
        .weir(&["state-machines", "describe", "pass"])
        .exits(0);
    for line in [
        "name:     pass".to_string(),
        format!("arn:      {PREFIX}:stateMachine:pass"),
        "type:     STANDARD".to_string(),
        "status:   ACTIVE".to_string(),
        "role:     arn:aws:iam::000000000000:role/weir-execution".to_string(),
        "revision: 1".to_string(),
        "definition:".to_string(),
        "    \"StartAt\": \"P\",".to_string(),
    ] {
        assert!(
            described.stdout.lines().any(|l| l == line),
            "no line {line:?} in:\n{}",
            described.stdout
        );
    }
    let described = server
        .weir(&[
            "state-machines",
            "describe",
            &format!("{PREFIX}:stateMachine:pass"),
            "--json",
        ])
        .exits(0)
        .json();
    assert_eq!(described["name"], "pass");
    assert_eq!(described["definition"], PASS);

    let updated = server
        .weir(&[
            "state-machines",
            "update",
            "pass",
            "--definition",
            path(&wait),
        ])
        .exits(0);
    assert!(updated.stdout.contains("revision: 2"), "{}", updated.stdout);
    let described = server
        .weir(&["state-machines", "describe", "pass", "--json"])
        .exits(0)
        .json();
    assert_eq!(described["definition"], WAIT);

    server.weir(&["state-machines", "delete", "quick"]).exits(0);
    let missing = server
        .weir(&["state-machines", "describe", "quick"])
        .exits(1);
    assert!(
        missing
            .stderr
            .starts_with("error: StateMachineDoesNotExist: "),
        "{}",
        missing.stderr
    );
    assert!(missing.stdout.is_empty());
    let missing = server
        .weir(&["executions", "start", "nowhere", "--wait"])
        .exits(1);
    assert!(
        missing
            .stderr
            .starts_with("error: StateMachineDoesNotExist: "),
        "{}",
        missing.stderr
    );
    let invalid = server
        .weir(&[
            "state-machines",
            "create",
            "--name",
            "bad",
            "--definition",
            path(&server.file("bad.json", r#"{"StartAt": "A", "States": {}}"#)),
        ])
        .exits(1);
    assert!(
        invalid.stderr.starts_with("error: InvalidDefinition: "),
        "{}",
        invalid.stderr
    );
    server.stop();
}

#[test]
fn cli_client_runs_executions_and_shows_them() {
    let server = Server::start();
    for (name, definition) in [("pass", PASS), ("fail", FAIL)] {
        let file = server.file(&format!("{name}.json"), definition);
        server
            .weir(&[
                "state-machines",
                "create",
                "--name",
                name,
                "--definition",
                path(&file),
            ])
            .exits(0);
    }
    let quick = server.file("quick.json", PASS);
    server
        .weir(&[
            "state-machines",
            "create",
            "--name",
            "quick",
            "--type",
            "express",
            "--definition",
            path(&quick),
        ])
        .exits(0);

    // --wait prints the output and exits 0; not on a terminal, nothing else.
    let done = server
        .weir(&[
            "executions",
            "start",
            "pass",
            "--name",
            "first",
            "--input",
            r#"{"n": 1}"#,
            "--wait",
        ])
        .exits(0);
    assert_eq!(done.json(), serde_json::json!({"n": 1, "p": {"ok": true}}));
    assert_eq!(done.stderr, "");
    let input = server.file("input.json", r#"{"n": 2}"#);
    let done = server
        .weir(&[
            "executions",
            "start",
            &format!("{PREFIX}:stateMachine:pass"),
            "--name",
            "second",
            "--input-file",
            path(&input),
            "--wait",
        ])
        .exits(0);
    assert_eq!(done.json()["n"], 2);

    // A failed execution: exit 1, status, error and cause on stderr.
    let failed = server
        .weir(&["executions", "start", "fail", "--name", "broken", "--wait"])
        .exits(1);
    assert_eq!(failed.stdout, "");
    assert_eq!(failed.stderr, "FAILED: Broken\non purpose\n");
    let failed = server
        .weir(&["executions", "start", "fail", "--wait", "--json"])
        .exits(1)
        .json();
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(failed["cause"], "on purpose");

    // Express machines run synchronously under --wait.
    let quick = server
        .weir(&[
            "executions",
            "start",
            "quick",
            "--input",
            r#"{"q": true}"#,
            "--wait",
        ])
        .exits(0);
    assert_eq!(
        quick.json(),
        serde_json::json!({"q": true, "p": {"ok": true}})
    );

    // Without --wait: the ARN and the start date.
    let started = server
        .weir(&["executions", "start", "pass", "--name", "third"])
        .exits(0);
    assert!(
        started
            .stdout
            .contains(&format!("arn:     {PREFIX}:execution:pass:third")),
        "{}",
        started.stdout
    );
    assert!(started.stdout.contains("started: "), "{}", started.stdout);

    let listed = server
        .weir(&["executions", "list", "pass", "--status", "SUCCEEDED"])
        .exits(0);
    assert_eq!(
        listed
            .stdout
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["NAME", "STATUS", "STARTED", "STOPPED"]
    );
    assert_eq!(row(&listed.stdout, "first")[1], "SUCCEEDED");
    assert_eq!(row(&listed.stdout, "second")[1], "SUCCEEDED");
    let failures = server
        .weir(&["executions", "list", "fail", "--status", "failed"])
        .exits(0);
    assert_eq!(row(&failures.stdout, "broken")[1], "FAILED");
    assert_eq!(failures.stdout.lines().count(), 3);
    let one = server
        .weir(&["executions", "list", "fail", "--max", "1", "--json"])
        .exits(0)
        .json();
    assert_eq!(one["executions"].as_array().map(Vec::len), Some(1));

    let execution = format!("{PREFIX}:execution:pass:first");
    let history = server.weir(&["executions", "history", &execution]).exits(0);
    let lines: Vec<&str> = history.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["ID", "TYPE", "STATE/DETAIL", "TIME"]
    );
    assert_eq!(row(&history.stdout, "1")[1], "ExecutionStarted");
    assert_eq!(row(&history.stdout, "2")[1..3], ["PassStateEntered", "P"]);
    assert_eq!(row(&history.stdout, "3")[1..3], ["PassStateExited", "P"]);
    assert_eq!(row(&history.stdout, "4")[1], "ExecutionSucceeded");
    assert_eq!(lines.len(), 5);
    let newest = server
        .weir(&[
            "executions",
            "history",
            &execution,
            "--reverse",
            "--max",
            "2",
            "--json",
        ])
        .exits(0)
        .json();
    let ids: Vec<u64> = newest["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["id"].as_u64())
        .collect();
    assert_eq!(ids, [4, 3]);
    let failure = server
        .weir(&[
            "executions",
            "history",
            &format!("{PREFIX}:execution:fail:broken"),
        ])
        .exits(0);
    assert_eq!(
        row(&failure.stdout, "3")[1..5],
        ["ExecutionFailed", "Broken:", "on", "purpose"]
    );

    let described = server
        .weir(&["executions", "describe", &execution])
        .exits(0);
    for line in [
        "name:           first".to_string(),
        format!("state machine:  {PREFIX}:stateMachine:pass"),
        "status:         SUCCEEDED".to_string(),
        r#"input:          {"n":1}"#.to_string(),
        r#"output:         {"n":1,"p":{"ok":true}}"#.to_string(),
    ] {
        assert!(
            described.stdout.lines().any(|l| l == line),
            "no line {line:?} in:\n{}",
            described.stdout
        );
    }
    let missing = server
        .weir(&["executions", "describe", &format!("{execution}-missing")])
        .exits(1);
    assert!(
        missing.stderr.starts_with("error: ExecutionDoesNotExist: "),
        "{}",
        missing.stderr
    );
    server.stop();
}

#[test]
fn cli_client_stops_and_redrives() {
    let server = Server::start();
    let wait = server.file("wait.json", WAIT);
    server
        .weir(&[
            "state-machines",
            "create",
            "--name",
            "slow",
            "--definition",
            path(&wait),
        ])
        .exits(0);
    server
        .weir(&["executions", "start", "slow", "--name", "once"])
        .exits(0);
    let execution = format!("{PREFIX}:execution:slow:once");
    let running = server
        .weir(&["executions", "list", "slow", "--status", "RUNNING"])
        .exits(0);
    let once = row(&running.stdout, "once");
    assert_eq!((once[1].as_str(), once[3].as_str()), ("RUNNING", "-"));

    let stopped = server
        .weir(&[
            "executions",
            "stop",
            &execution,
            "--error",
            "Operator",
            "--cause",
            "by hand",
        ])
        .exits(0);
    assert!(
        stopped.stdout.starts_with("stopped: "),
        "{}",
        stopped.stdout
    );
    let described = server
        .weir(&["executions", "describe", &execution, "--json"])
        .exits(0)
        .json();
    assert_eq!(described["status"], "ABORTED");
    assert_eq!(described["error"], "Operator");
    assert_eq!(described["cause"], "by hand");
    assert_eq!(described["redriveStatus"], "REDRIVABLE");

    let redriven = server.weir(&["executions", "redrive", &execution]).exits(0);
    assert!(
        redriven.stdout.starts_with("redriven: "),
        "{}",
        redriven.stdout
    );
    let described = server
        .weir(&["executions", "describe", &execution])
        .exits(0);
    assert!(
        described.stdout.lines().any(|l| l == "redrives:       1"),
        "{}",
        described.stdout
    );
    assert!(
        described
            .stdout
            .lines()
            .any(|l| l == "status:         RUNNING"),
        "{}",
        described.stdout
    );
    let history = server.weir(&["executions", "history", &execution]).exits(0);
    assert_eq!(
        row(&history.stdout, "3")[1..3],
        ["ExecutionAborted", "Operator:"]
    );
    assert_eq!(row(&history.stdout, "4")[1], "ExecutionRedriven");

    // A running execution cannot be redriven.
    let refused = server.weir(&["executions", "redrive", &execution]).exits(1);
    assert!(
        refused
            .stderr
            .starts_with("error: ExecutionNotRedrivable: "),
        "{}",
        refused.stderr
    );
    server.weir(&["executions", "stop", &execution]).exits(0);
    server.stop();
}

#[test]
fn cli_client_tests_a_state() {
    let server = Server::start();
    let state = server.file(
        "state.json",
        r#"{"Type": "Pass", "Parameters": {"v.$": "$.x"}, "ResultPath": "$.out", "End": true}"#,
    );
    let answer = server
        .weir(&[
            "test-state",
            "--definition",
            path(&state),
            "--input",
            r#"{"x": 5}"#,
            "--inspection-level",
            "DEBUG",
        ])
        .exits(0);
    for line in [
        "status: SUCCEEDED",
        r#"output: {"x":5,"out":{"v":5}}"#,
        "inspection data:",
    ] {
        assert!(
            answer.stdout.lines().any(|l| l == line),
            "no line {line:?} in:\n{}",
            answer.stdout
        );
    }
    assert!(
        answer
            .stdout
            .lines()
            .any(|l| l.starts_with("  afterParameters:") && l.ends_with(r#"{"v":5}"#)),
        "{}",
        answer.stdout
    );
    let answer = server
        .weir(&[
            "test-state",
            "--definition",
            path(&state),
            "--input",
            r#"{"x": 5}"#,
            "--json",
        ])
        .exits(0)
        .json();
    assert_eq!(answer["status"], "SUCCEEDED");
    assert_eq!(answer["output"], r#"{"x":5,"out":{"v":5}}"#);

    let fail = server.file(
        "fail.json",
        r#"{"Type": "Fail", "Error": "Broken", "Cause": "on purpose"}"#,
    );
    let failed = server
        .weir(&["test-state", "--definition", path(&fail)])
        .exits(1);
    assert!(
        failed.stdout.lines().any(|l| l == "error:  Broken"),
        "{}",
        failed.stdout
    );
    server.stop();
}

#[test]
fn cli_client_reports_usage_and_connection_problems() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    for args in [
        vec!["state-machines", "list"],
        vec![
            "executions",
            "describe",
            "arn:aws:states:us-east-1:0:execution:a:b",
        ],
        vec!["executions", "start", "pass", "--wait"],
    ] {
        let unreachable = run(Command::new(env!("CARGO_BIN_EXE_weir"))
            .args(&args)
            .args(["--endpoint", &endpoint]))
        .exits(2);
        assert!(
            unreachable.stderr.starts_with(&format!(
                "error: cannot reach weir server at {endpoint}: is `weir server` running?"
            )),
            "{}",
            unreachable.stderr
        );
    }
    // WEIR_ENDPOINT names the server when --endpoint does not.
    let unreachable = run(Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["state-machines", "list"])
        .env("WEIR_ENDPOINT", &endpoint))
    .exits(2);
    assert!(
        unreachable.stderr.contains(&endpoint),
        "{}",
        unreachable.stderr
    );

    // Input that is not JSON, an unknown status, a missing file: usage errors, exit 2.
    let bad_input = run(Command::new(env!("CARGO_BIN_EXE_weir")).args([
        "executions",
        "start",
        "pass",
        "--input",
        "{nope",
        "--endpoint",
        &endpoint,
    ]))
    .exits(2);
    assert!(
        bad_input.stderr.contains("is not valid JSON"),
        "{}",
        bad_input.stderr
    );
    run(Command::new(env!("CARGO_BIN_EXE_weir")).args([
        "executions",
        "list",
        "pass",
        "--status",
        "DONE",
    ]))
    .exits(2);
    let missing = run(Command::new(env!("CARGO_BIN_EXE_weir")).args([
        "state-machines",
        "create",
        "--name",
        "x",
        "--definition",
        "/nonexistent/def.json",
        "--endpoint",
        &endpoint,
    ]))
    .exits(2);
    assert!(
        missing.stderr.contains("cannot read /nonexistent/def.json"),
        "{}",
        missing.stderr
    );
}

#[test]
fn cli_client_signs_requests_for_a_server_with_access_keys() {
    let server = Server::start_with(&["--access-key", "AKIDCLI:cli-secret"]);
    let signed = |secret: &str| {
        run(Command::new(env!("CARGO_BIN_EXE_weir"))
            .args(["state-machines", "list", "--json"])
            .env("WEIR_ENDPOINT", &server.endpoint)
            .env("AWS_ACCESS_KEY_ID", "AKIDCLI")
            .env("AWS_SECRET_ACCESS_KEY", secret))
    };
    let ok = signed("cli-secret").exits(0);
    assert!(ok.json()["stateMachines"].is_array(), "{}", ok.stdout);
    let wrong = signed("not-the-secret").exits(1);
    assert!(
        wrong.stderr.contains("InvalidSignatureException"),
        "{}",
        wrong.stderr
    );
    let unsigned = run(Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["state-machines", "list"])
        .env("WEIR_ENDPOINT", &server.endpoint)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY"))
    .exits(1);
    assert!(
        unsigned
            .stderr
            .contains("MissingAuthenticationTokenException"),
        "{}",
        unsigned.stderr
    );
    server.stop();
}

#[test]
fn cli_client_runs_lambda_tasks_with_the_servers_functions() {
    // The server's function registry: a local command per function, the event on stdin.
    let scratch = tempfile::tempdir().expect("a temp dir");
    let registry = scratch.path().join("functions.json");
    std::fs::write(
        &registry,
        serde_json::json!({"functions": {"double": {"command": [
            "python3", "-c",
            "import json,sys; e=json.load(sys.stdin); print(json.dumps({'n': e['n'] * 2}))"
        ]}}})
        .to_string(),
    )
    .expect("the registry is written");
    let registry = registry.to_str().expect("a UTF-8 path");
    let server = Server::start_with(&["--functions", registry]);
    let definition = |function: &str| {
        format!(
            r#"{{"StartAt": "T", "States": {{"T": {{"Type": "Task",
               "Resource": "arn:aws:lambda:us-east-1:000000000000:function:{function}",
               "End": true}}}}}}"#
        )
    };
    let file = server.file("double.json", &definition("double"));
    server
        .weir(&[
            "state-machines",
            "create",
            "--name",
            "doubler",
            "--definition",
            path(&file),
        ])
        .exits(0);
    let run = server
        .weir(&[
            "executions",
            "start",
            "doubler",
            "--input",
            r#"{"n": 21}"#,
            "--wait",
            "--json",
        ])
        .exits(0);
    assert!(run.stdout.contains("42"), "{}", run.stdout);
    let missing = server.file("missing.json", &definition("nobody"));
    server
        .weir(&[
            "state-machines",
            "create",
            "--name",
            "lost",
            "--definition",
            path(&missing),
        ])
        .exits(0);
    let failed = server
        .weir(&["executions", "start", "lost", "--wait"])
        .exits(1);
    assert!(
        failed.stderr.contains("Lambda.ResourceNotFoundException"),
        "{}",
        failed.stderr
    );
    server.stop();
}
