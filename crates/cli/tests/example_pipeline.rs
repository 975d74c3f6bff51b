//! `weir run` with functions, end to end through the built binary: the example pipeline (weir's
//! main job) and the function registry's contract (errors named as AWS names them, timeouts,
//! malformed files). Functions are Python 3 scripts, so these tests need `python3`.

use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use tempfile::TempDir;

fn weir() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weir"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn output_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "weir run failed ({}):\n{}",
        out.status,
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("weir run prints its output as JSON")
}

// ----- the example pipeline ---------------------------------------------------------------------

/// A copy of `examples/pipeline` without its `out/`, so the repository's files stay untouched.
fn copy_of_example() -> TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("create a directory in the copy");
        for entry in std::fs::read_dir(from).expect("read the example") {
            let entry = entry.expect("read an example entry");
            let name = entry.file_name();
            let path = entry.path();
            if path.is_dir() {
                if name != "out" && name != "__pycache__" {
                    copy(&path, &to.join(&name));
                }
            } else {
                std::fs::copy(&path, to.join(&name)).expect("copy an example file");
            }
        }
    }
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/pipeline");
    let root = TempDir::new().expect("create a temporary directory");
    copy(&example, &root.path().join("pipeline"));
    root
}

/// The main job as the README runs it, from `root` (the copy's parent, like the repository
/// root): durably, on the SQLite store in `weir-data`, with the pipeline's queues and topic.
fn example(root: &Path, name: &str) -> Command {
    let mut command = weir();
    command.current_dir(root).args([
        "run",
        "pipeline/pipeline.asl.json",
        "--functions",
        "pipeline/functions.json",
        "--input-file",
        "pipeline/input.json",
        "--durable",
        "weir-data",
        "--resources",
        "pipeline/resources.json",
        "--name",
        name,
    ]);
    command
}

/// Runs the example to its end, printing its history.
fn run_example(root: &Path, name: &str) -> Output {
    example(root, name)
        .arg("--history")
        .output()
        .expect("start weir")
}

/// The bodies (as JSON) of the messages in one of the pipeline's queues, read from the store
/// `weir-data` under `root` after weir has exited.
fn queue_bodies(root: &Path, queue: &str) -> Vec<Value> {
    let store = store_sqlite::SqliteStore::open(
        &root.join("weir-data/weir.db"),
        store_sqlite::Options::default(),
    )
    .expect("the store opens");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let messages = runtime
        .block_on(store::Store::peek_messages(&store, queue, 1000))
        .expect("the queue's messages");
    messages
        .iter()
        .map(|m| serde_json::from_str(&m.body).expect("a JSON body"))
        .collect()
}

/// What the pipeline must do with its data, worked out from the data file and the input with the
/// rules `functions/validate.py` documents.
struct Expected {
    records: usize,
    valid_ids: BTreeSet<String>,
    bad_lines: BTreeSet<u64>,
    large_ids: Vec<String>,
}

fn expected(dir: &Path) -> Expected {
    let input: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("input.json")).expect("read input.json"),
    )
    .expect("input.json is JSON");
    let number = |key: &str| input[key].as_i64().expect("a number in input.json");
    let (shipping, large) = (number("shipping_cents"), number("large_order_cents"));
    let source = input["source"].as_str().expect("the source in input.json");
    let data = std::fs::read_to_string(dir.join(source)).expect("read the data file");
    let mut e = Expected {
        records: 0,
        valid_ids: BTreeSet::new(),
        bad_lines: BTreeSet::new(),
        large_ids: Vec::new(),
    };
    let is_text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty())
    };
    for (i, line) in data.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        e.records += 1;
        let order = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(order)) => order,
            _ => {
                e.bad_lines.insert(i as u64 + 1);
                continue;
            }
        };
        let quantity = order.get("quantity").and_then(Value::as_i64);
        let price = order.get("unit_price_cents").and_then(Value::as_i64);
        match (quantity, price) {
            (Some(q), Some(p))
                if q > 0
                    && p >= 0
                    && is_text(order.get("id"))
                    && is_text(order.get("customer")) =>
            {
                let id = order["id"].as_str().unwrap_or_default().to_string();
                if q * p + shipping >= large {
                    e.large_ids.push(id.clone());
                }
                e.valid_ids.insert(id);
            }
            _ => {
                e.bad_lines.insert(i as u64 + 1);
            }
        }
    }
    e
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn warehouse_ids(dir: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(dir.join("out/orders.json")).expect("read the warehouse");
    let warehouse: Value = serde_json::from_str(&text).expect("the warehouse is JSON");
    let orders = warehouse["orders"].as_object().expect("orders by id");
    for (id, order) in orders {
        assert_eq!(order["id"], json!(id), "orders are keyed by their id");
    }
    orders.keys().cloned().collect()
}

/// The history events printed by `--history` (the JSON lines of stderr).
fn history(out: &Output) -> Vec<Value> {
    text(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e.get("type").is_some())
        .collect()
}

/// The events of one visit of a top-level state, from `...StateEntered` to `...StateExited`.
fn events_of<'h>(history: &'h [Value], state: &str) -> &'h [Value] {
    let named = |e: &Value, kind: &str, details: &str| {
        e["type"].as_str().is_some_and(|t| t.ends_with(kind)) && e[details]["name"] == json!(state)
    };
    let start = history
        .iter()
        .position(|e| named(e, "StateEntered", "stateEnteredEventDetails"))
        .unwrap_or_else(|| panic!("{state} was never entered"));
    let end = history
        .iter()
        .position(|e| named(e, "StateExited", "stateExitedEventDetails"))
        .unwrap_or_else(|| panic!("{state} never exited"));
    &history[start..=end]
}

#[test]
fn the_example_pipeline_loads_good_orders_dead_letters_bad_ones_and_retries_the_load() {
    let root = copy_of_example();
    let dir = root.path().join("pipeline");
    let want = expected(&dir);
    assert!(
        !want.bad_lines.is_empty() && !want.valid_ids.is_empty() && !want.large_ids.is_empty(),
        "the example data should hold good, bad and large orders"
    );

    let out = run_example(root.path(), "first-run");
    let summary = output_json(&out);
    assert_eq!(summary["execution"], json!("first-run"));
    assert_eq!(summary["ingested"], json!(want.records));
    assert_eq!(summary["loaded"], json!(want.valid_ids.len()));
    assert_eq!(summary["dead_lettered"], json!(want.bad_lines.len()));
    assert_eq!(summary["large_orders"], json!(want.large_ids));
    assert_eq!(
        summary["warehouse"]["inserted"],
        json!(want.valid_ids.len())
    );
    assert_eq!(warehouse_ids(&dir), want.valid_ids);

    // The dead-letter queue holds exactly the bad records, each with its error.
    let dead = queue_bodies(root.path(), "orders-dead-letter");
    let lines: Vec<u64> = dead.iter().filter_map(|d| d["line"].as_u64()).collect();
    assert_eq!(lines.len(), dead.len());
    assert_eq!(
        lines.iter().copied().collect::<BTreeSet<_>>(),
        want.bad_lines
    );
    assert_eq!(lines.len(), want.bad_lines.len(), "each bad record once");
    for d in &dead {
        assert_eq!(d["error"], json!("InvalidOrder"), "{d}");
        assert_eq!(d["execution"], json!("first-run"), "{d}");
        assert!(d["message"].as_str().is_some_and(|m| !m.is_empty()), "{d}");
        assert_eq!(d["record"]["line"], d["line"], "{d}");
    }
    // The topic told its subscriber (a queue) about them.
    let notes = queue_bodies(root.path(), "ops-alerts");
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["execution"], json!("first-run"));
    assert_eq!(notes[0]["dead_lettered"], json!(want.bad_lines.len()));
    let noted: BTreeSet<u64> = notes[0]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(noted, want.bad_lines);

    // The alert fired once, and function logs reached stderr under the function's name.
    let alerts = read_jsonl(&dir.join("out/alerts.jsonl"));
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["dead_lettered"], json!(want.bad_lines.len()));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("[alert] ALERT: "), "{stderr}");
    assert!(stderr.contains("[load-orders] "), "{stderr}");

    // The load failed once with WarehouseBusy, waited its Retry interval, then succeeded.
    let events = history(&out);
    let load: Vec<&Value> = events_of(&events, "Load")
        .iter()
        .filter(|e| {
            e["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("LambdaFunction"))
        })
        .collect();
    let kinds: Vec<&str> = load.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionFailed",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
        ]
    );
    let failed = &load[2]["lambdaFunctionFailedEventDetails"];
    assert_eq!(failed["error"], json!("WarehouseBusy"));
    let at = |e: &Value| {
        e["timestamp"]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .expect("a timestamp")
    };
    let waited = at(load[3]).duration_since(at(load[2]));
    assert!(
        waited >= jiff::SignedDuration::from_secs(5) && waited < jiff::SignedDuration::from_secs(8),
        "IntervalSeconds is 5, the retry came after {waited:#}"
    );

    // A second run loads nothing twice and dead-letters the bad records again, once.
    let again = output_json(&run_example(root.path(), "second-run"));
    assert_eq!(again["loaded"], json!(want.valid_ids.len()));
    assert_eq!(again["warehouse"]["inserted"], json!(0));
    assert_eq!(again["warehouse"]["unchanged"], json!(want.valid_ids.len()));
    assert_eq!(again["warehouse"]["total"], json!(want.valid_ids.len()));
    assert_eq!(warehouse_ids(&dir), want.valid_ids);
    let dead = queue_bodies(root.path(), "orders-dead-letter");
    let second: BTreeSet<u64> = dead
        .iter()
        .filter(|d| d["execution"] == json!("second-run"))
        .filter_map(|d| d["line"].as_u64())
        .collect();
    assert_eq!(second, want.bad_lines);
    assert_eq!(dead.len(), 2 * want.bad_lines.len());
    assert_eq!(queue_bodies(root.path(), "ops-alerts").len(), 2);
}

/// The main job started in the background.
fn run_durable(root: &Path, name: &str) -> std::process::Child {
    example(root, name)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start weir")
}

#[test]
fn the_durable_pipeline_killed_during_its_retry_resumes_and_loads_each_order_once() {
    let root = copy_of_example();
    let dir = root.path().join("pipeline");
    let want = expected(&dir);

    // Kill the run while the load waits out its 5-second Retry interval (the data is small, so
    // everything before the load takes well under a second and a half).
    let mut first = run_durable(root.path(), "durable-run");
    std::thread::sleep(Duration::from_millis(3_000));
    assert!(
        first.try_wait().expect("poll weir").is_none(),
        "the run should still be waiting to retry the load"
    );
    first.kill().expect("SIGKILL weir");
    first.wait().expect("reap weir");
    assert!(
        !dir.join("out/alerts.jsonl").exists(),
        "the alert comes after the load, which has not succeeded yet"
    );

    // The same command again picks the execution up: the retry timer was in the store.
    let started = Instant::now();
    let out = run_durable(root.path(), "durable-run")
        .wait_with_output()
        .expect("weir runs");
    let summary = output_json(&out);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the resumed run finishes after its retry interval"
    );
    assert_eq!(summary["execution"], json!("durable-run"));
    assert_eq!(summary["loaded"], json!(want.valid_ids.len()));
    assert_eq!(summary["dead_lettered"], json!(want.bad_lines.len()));
    assert_eq!(warehouse_ids(&dir), want.valid_ids);
    let dead = queue_bodies(root.path(), "orders-dead-letter");
    assert_eq!(
        dead.len(),
        want.bad_lines.len(),
        "each bad record dead-lettered once"
    );
    let alerts = read_jsonl(&dir.join("out/alerts.jsonl"));
    assert_eq!(alerts.len(), 1, "the alert fired once");

    // Once it has ended, the name is taken: a third run is refused with a clear message.
    let again = run_durable(root.path(), "durable-run")
        .wait_with_output()
        .expect("weir runs");
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("choose another --name"),
        "{}",
        text(&again.stderr)
    );
}

// ----- the function registry --------------------------------------------------------------------

/// A directory with a registry (`functions.json`) and a definition (`def.json`).
struct Setup {
    dir: TempDir,
}

impl Setup {
    fn new(functions: Value, definition: Value) -> Setup {
        let dir = TempDir::new().expect("create a temporary directory");
        let registry = json!({ "functions": functions });
        std::fs::write(dir.path().join("functions.json"), registry.to_string())
            .expect("write the registry");
        std::fs::write(dir.path().join("def.json"), definition.to_string())
            .expect("write the definition");
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, input: &str) -> Output {
        weir()
            .arg("run")
            .arg(self.path("def.json"))
            .arg("--functions")
            .arg(self.path("functions.json"))
            .args(["--input", input])
            .output()
            .expect("start weir")
    }
}

/// A function that runs a Python 3 program.
fn python(code: &str) -> Value {
    json!({ "command": ["python3", "-c", code] })
}

/// A definition with one Task state.
fn one_task(task: Value) -> Value {
    let mut task = task;
    task["Type"] = json!("Task");
    task["End"] = json!(true);
    json!({ "StartAt": "Work", "States": { "Work": task } })
}

fn lambda_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:000000000000:function:{name}")
}

/// The error name and cause of a failed run (stderr: `FAILED: ERROR` then the cause).
fn failure(out: &Output) -> (String, String) {
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let mut lines = stderr.lines().skip_while(|l| !l.starts_with("FAILED: "));
    let error = lines
        .next()
        .and_then(|l| l.strip_prefix("FAILED: "))
        .unwrap_or_else(|| panic!("no FAILED line in {stderr}"))
        .to_string();
    (error, lines.collect::<Vec<_>>().join("\n"))
}

#[test]
fn an_unknown_registry_field_is_refused_with_the_function_and_the_file() {
    let s = Setup::new(
        json!({"ok": {"command": ["true"]}, "late": {"command": ["true"], "timeout_seconds": 3}}),
        one_task(json!({"Resource": lambda_arn("ok")})),
    );
    let out = s.run("{}");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("function 'late'"), "{stderr}");
    assert!(
        stderr.contains("unknown field `timeout_seconds`"),
        "{stderr}"
    );
    assert!(stderr.contains("timeout-seconds"), "{stderr}");
    assert!(
        stderr.contains(&s.path("functions.json").display().to_string()),
        "{stderr}"
    );
}

#[test]
fn every_problem_of_a_registry_is_reported() {
    let s = Setup::new(
        json!({
            "no program": {"command": []},
            "missing": {"command": ["./bin/missing"], "cwd": "nowhere", "timeout-seconds": 0},
        }),
        one_task(json!({"Resource": lambda_arn("missing")})),
    );
    let out = s.run("{}");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    for problem in [
        "function 'no program': the name must be",
        "function 'no program': `command` must start with the program",
        "function 'missing': the program",
        "function 'missing': the directory",
        "function 'missing': `timeout-seconds` must be at least 1",
    ] {
        assert!(stderr.contains(problem), "{problem:?} in {stderr}");
    }
}

#[test]
fn malformed_input_and_registry_files_exit_2_naming_the_file() {
    let s = Setup::new(json!({}), one_task(json!({"Resource": lambda_arn("f")})));
    std::fs::write(s.path("input.json"), "{not json").expect("write the input");
    let out = weir()
        .arg("run")
        .arg(s.path("def.json"))
        .arg("--input-file")
        .arg(s.path("input.json"))
        .output()
        .expect("start weir");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("input.json is not valid JSON"), "{stderr}");

    std::fs::write(s.path("functions.json"), "[1, 2]").expect("write the registry");
    let out = s.run("{}");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("functions.json must be a JSON object"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_function_fails_with_resource_not_found_naming_it_and_the_registry() {
    let s = Setup::new(
        json!({"known": {"command": ["true"]}}),
        one_task(json!({"Resource": lambda_arn("nope")})),
    );
    let (error, cause) = failure(&s.run("{}"));
    assert_eq!(error, "Lambda.ResourceNotFoundException");
    assert!(
        cause.starts_with(&format!(
            "Function not found: {}:$LATEST (",
            lambda_arn("nope")
        )),
        "{cause}"
    );
    assert!(cause.contains("no function 'nope'"), "{cause}");
    assert!(cause.contains("functions.json"), "{cause}");
    assert!(cause.contains("known"), "{cause}");
}

#[test]
fn a_function_error_type_is_the_error_name_that_catch_matches() {
    let code = r#"import json, sys
json.dump({"errorMessage": "no stock", "errorType": "OrderRejected"}, sys.stdout)
sys.exit(1)"#;
    // Step Functions passes a function's error object on as the cause: as the function wrote it
    // for a function ARN, compacted for lambda:invoke.
    let direct = json!({"Resource": lambda_arn("reject")});
    let invoke = json!({
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "reject"}
    });
    for (mut task, cause) in [
        (
            direct,
            r#"{"errorMessage": "no stock", "errorType": "OrderRejected"}"#,
        ),
        (
            invoke,
            r#"{"errorMessage":"no stock","errorType":"OrderRejected"}"#,
        ),
    ] {
        task["Type"] = json!("Task");
        task["Catch"] = json!([{"ErrorEquals": ["OrderRejected"], "Next": "Caught"}]);
        task["End"] = json!(true);
        let s = Setup::new(
            json!({"reject": python(code)}),
            json!({
                "StartAt": "Work",
                "States": {"Work": task, "Caught": {"Type": "Pass", "End": true}}
            }),
        );
        let output = output_json(&s.run("{}"));
        assert_eq!(output, json!({"Error": "OrderRejected", "Cause": cause}));
    }
}

#[test]
fn a_crash_without_an_error_type_is_runtime_exit_error() {
    let s = Setup::new(
        json!({"crash": python("import sys; print('boom', file=sys.stderr); sys.exit(3)")}),
        one_task(json!({"Resource": lambda_arn("crash")})),
    );
    let out = s.run("{}");
    assert!(text(&out.stderr).contains("[crash] boom"));
    let (error, cause) = failure(&out);
    assert_eq!(error, "Runtime.ExitError");
    assert!(
        cause.contains("Runtime exited with error: exit status 3"),
        "{cause}"
    );
}

#[test]
fn stdout_that_is_not_json_is_runtime_marshal_error() {
    let s = Setup::new(
        json!({"chatty": python("print('hello')")}),
        one_task(json!({"Resource": lambda_arn("chatty")})),
    );
    let (error, cause) = failure(&s.run("{}"));
    assert_eq!(error, "Runtime.MarshalError");
    assert!(cause.contains("stdout is not JSON"), "{cause}");
    assert!(cause.contains("hello"), "{cause}");
}

#[test]
fn a_task_past_its_timeout_is_killed_with_states_timeout() {
    let s = Setup::new(
        json!({"slow": python("import time; time.sleep(60)")}),
        one_task(json!({"Resource": lambda_arn("slow"), "TimeoutSeconds": 1})),
    );
    let started = Instant::now();
    let (error, _) = failure(&s.run("{}"));
    assert_eq!(error, "States.Timeout");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the function was not killed"
    );
}

#[test]
fn a_function_past_its_own_timeout_is_killed_with_sandbox_timedout() {
    let mut slow = python("import time; time.sleep(60)");
    slow["timeout-seconds"] = json!(1);
    let s = Setup::new(
        json!({"slow": slow}),
        one_task(json!({"Resource": lambda_arn("slow")})),
    );
    let started = Instant::now();
    let (error, cause) = failure(&s.run("{}"));
    assert_eq!(error, "Sandbox.Timedout");
    assert!(
        cause.contains("Task timed out after 1.00 seconds"),
        "{cause}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the function was not killed"
    );
}

#[test]
fn lambda_invoke_sends_the_payload_and_wraps_the_result_as_aws_does() {
    let code = r#"import json, os, sys
event = json.load(sys.stdin)
json.dump({"event": event, "key": os.environ["WEIR_IDEMPOTENCY_KEY"],
           "attempt": os.environ["WEIR_ATTEMPT"], "greeting": os.environ["GREETING"]}, sys.stdout)"#;
    let mut echo = python(code);
    echo["env"] = json!({"GREETING": "hi"});
    let s = Setup::new(
        json!({"echo": echo}),
        one_task(json!({
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": format!("{}:live", lambda_arn("echo")),
                "Payload": {"n.$": "$.n"}
            }
        })),
    );
    let output = output_json(&s.run(r#"{"n": 7}"#));
    assert_eq!(output["StatusCode"], json!(200));
    assert_eq!(output["ExecutedVersion"], json!("$LATEST"));
    assert_eq!(output["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    let payload = &output["Payload"];
    assert_eq!(payload["event"], json!({"n": 7}));
    assert_eq!(payload["attempt"], json!("0"));
    assert_eq!(payload["greeting"], json!("hi"));
    let key = payload["key"].as_str().expect("an idempotency key");
    assert!(
        key.contains(":execution:def:") && key.contains("/Work/"),
        "{key}"
    );
}

#[test]
fn resources_other_than_lambda_fail_with_a_clear_cause() {
    let s = Setup::new(
        json!({}),
        one_task(json!({
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": "q", "MessageBody": "m"}
        })),
    );
    let (error, cause) = failure(&s.run("{}"));
    assert_eq!(error, "States.TaskFailed");
    assert!(
        cause.contains("weir run does not support the resource 'arn:aws:states:::sqs:sendMessage'"),
        "{cause}"
    );
}
