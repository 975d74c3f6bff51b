//! `weir functions` and `weir logs` against a real `weir server`: a function registered through
//! the API runs in a state machine's Task (failing once, then retried), and each attempt's output
//! is read back with `weir logs`.

mod support;

use serde_json::json;
use support::{Server, Weir, path, row};

const PREFIX: &str = "arn:aws:states:us-east-1:000000000000";

/// Fails its first attempt with the error type `Flaky`, then triples `n`; says what it does on
/// stderr.
const TRIPLE: &str = r#"import json, os, sys
event = json.load(sys.stdin)
attempt = int(os.environ["WEIR_ATTEMPT"])
print(f"processing {event['n']} (attempt {attempt})", file=sys.stderr)
if attempt == 0:
    json.dump({"errorType": "Flaky", "errorMessage": "first try"}, sys.stdout)
    sys.exit(1)
json.dump({"n": event["n"] * 3}, sys.stdout)
"#;

#[test]
fn functions_registered_through_the_api_run_tasks_and_leave_logs() {
    let server = Server::start();
    let script = server.file("triple.py", TRIPLE);
    let created = server
        .weir(&[
            "functions",
            "create",
            "triple",
            "--timeout-seconds",
            "30",
            "--concurrency",
            "2",
            "--description",
            "triples n",
            "--",
            "python3",
            path(&script),
        ])
        .exits(0);
    assert!(created.stdout.contains("name:"), "{}", created.stdout);
    assert!(
        created
            .stdout
            .contains("arn:aws:lambda:us-east-1:000000000000:function:triple"),
        "{}",
        created.stdout
    );
    let listed = server.weir(&["functions", "list"]).exits(0);
    assert_eq!(row(&listed.stdout, "triple")[1], "python3");
    let described = server
        .weir(&["functions", "describe", "triple", "--json"])
        .exits(0)
        .json();
    assert_eq!(described["command"], json!(["python3", path(&script)]));
    assert_eq!(described["concurrency"], json!(2));
    assert_eq!(described["description"], json!("triples n"));

    let definition = server.file(
        "tripler.json",
        &json!({
            "StartAt": "Triple",
            "States": {"Triple": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:000000000000:function:triple",
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                "End": true
            }}
        })
        .to_string(),
    );
    server
        .weir(&[
            "state-machines",
            "create",
            "--name",
            "tripler",
            "--definition",
            path(&definition),
        ])
        .exits(0);
    let done = server
        .weir(&[
            "executions",
            "start",
            "tripler",
            "--name",
            "first",
            "--input",
            r#"{"n": 14}"#,
            "--wait",
            "--json",
        ])
        .exits(0)
        .json();
    assert_eq!(done["output"], json!(r#"{"n":42}"#));
    let execution = format!("{PREFIX}:execution:tripler:first");

    let logs = server.weir(&["logs", &execution]).exits(0);
    assert!(
        logs.stdout.contains("processing 14 (attempt 0)"),
        "{}",
        logs.stdout
    );
    assert!(
        logs.stdout.contains("processing 14 (attempt 1)"),
        "{}",
        logs.stdout
    );
    assert!(logs.stdout.contains("exit status 1"), "{}", logs.stdout);
    assert!(logs.stdout.contains("exit status 0"), "{}", logs.stdout);
    let first = server
        .weir(&["logs", &execution, "--attempt", "0", "--json"])
        .exits(0)
        .json();
    let first = first["logs"].as_array().expect("a list of logs");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["stateName"], json!("Triple"));
    assert_eq!(first[0]["functionName"], json!("triple"));
    assert_eq!(first[0]["error"], json!("Flaky"));
    assert_eq!(
        first[0]["stdout"],
        json!(r#"{"errorType": "Flaky", "errorMessage": "first try"}"#)
    );
    assert_eq!(first[0]["stderr"], json!("processing 14 (attempt 0)\n"));
    let elsewhere = server
        .weir(&["logs", &execution, "--state", "Elsewhere", "--json"])
        .exits(0)
        .json();
    assert_eq!(elsewhere, json!({"logs": []}));

    // Changes apply to the next task; the API refuses what is wrong, naming it.
    server
        .weir(&["functions", "update", "triple", "--timeout-seconds", "5"])
        .exits(0);
    let updated = server
        .weir(&["functions", "describe", "triple", "--json"])
        .exits(0)
        .json();
    assert_eq!(updated["timeoutSeconds"], json!(5));
    assert_eq!(updated["concurrency"], json!(2));
    let taken = server
        .weir(&["functions", "create", "triple", "--", "true"])
        .exits(1);
    assert!(
        taken.stderr.contains("ResourceConflictException"),
        "{}",
        taken.stderr
    );
    let tls = server
        .weir(&[
            "functions",
            "create",
            "web",
            "--url",
            "https://example.com/",
        ])
        .exits(1);
    assert!(
        tls.stderr.contains("InvalidParameterValueException")
            && tls
                .stderr
                .contains("`url` https://example.com/ uses https://"),
        "{}",
        tls.stderr
    );
    server.weir(&["functions", "create", "nothing"]).exits(2);
    let unknown = server
        .weir(&["logs", &format!("{PREFIX}:execution:tripler:nobody")])
        .exits(1);
    assert!(
        unknown.stderr.contains("ExecutionDoesNotExist"),
        "{}",
        unknown.stderr
    );

    server.weir(&["functions", "delete", "triple"]).exits(0);
    let gone = server.weir(&["functions", "describe", "triple"]).exits(1);
    assert!(gone.stderr.contains("ResourceNotFound"), "{}", gone.stderr);
    let failed = server
        .weir(&[
            "executions",
            "start",
            "tripler",
            "--input",
            r#"{"n": 1}"#,
            "--wait",
        ])
        .exits(1);
    assert!(
        failed.stderr.contains("Lambda.ResourceNotFoundException"),
        "{}",
        failed.stderr
    );
    server.stop();
}
