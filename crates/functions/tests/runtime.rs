//! The function runtime with real parts: real processes (Python and sh scripts in a temporary
//! directory), a real HTTP listener, and the SQLite store for the registry and the task logs.

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::{any, get, post};
use engine::{Handler, TaskFailure, TaskRequest};
use functions::{Error, FunctionConfig, FunctionHandler, Kind, Registry};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::Store;
use store_sqlite::SqliteStore;

const EXECUTION: &str = "arn:aws:states:us-east-1:000000000000:execution:machine:run-1";

fn lambda_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:000000000000:function:{name}")
}

fn open_store(dir: &Path) -> Arc<dyn Store> {
    Arc::new(
        SqliteStore::open(&dir.join("weir.db"), store_sqlite::Options::default())
            .expect("the store opens"),
    )
}

/// A registry on a fresh SQLite store in `dir`.
async fn registry(dir: &Path) -> Arc<Registry> {
    Arc::new(
        Registry::open(open_store(dir))
            .await
            .expect("the registry opens")
            .with_echo(functions::Echo::Off),
    )
}

/// A Python program written to `dir/name.py`, run as `python3 FILE`.
fn python(dir: &Path, name: &str, code: &str) -> FunctionConfig {
    let path = dir.join(format!("{name}.py"));
    std::fs::write(&path, code).expect("the script is written");
    FunctionConfig {
        command: Some(vec!["python3".into(), path.display().to_string()]),
        ..FunctionConfig::default()
    }
}

fn request(resource: &str, input: Value, attempt: u64) -> TaskRequest {
    TaskRequest {
        execution_arn: EXECUTION.to_string(),
        state: "Work".to_string(),
        resource: resource.to_string(),
        input,
        idempotency_key: format!("{EXECUTION}/Work/2/{attempt}"),
        attempt,
        timeout_seconds: 99_999_999,
    }
}

async fn call(registry: &Arc<Registry>, request: TaskRequest) -> Result<Value, TaskFailure> {
    FunctionHandler::new(registry.clone()).call(request).await
}

async fn create(registry: &Registry, dir: &Path, name: &str, config: FunctionConfig) {
    registry
        .create(name, &config, dir)
        .await
        .unwrap_or_else(|e| panic!("{name} is created: {e}"));
}

/// Serves `router` on a free loopback port; its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

// ----- the registry ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_persist_across_restarts_and_the_file_upserts() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let first = registry(dir.path()).await;
    create(
        &first,
        dir.path(),
        "keep",
        python(dir.path(), "keep", "print(1)"),
    )
    .await;
    let mut old = python(dir.path(), "old", "print(2)");
    old.description = Some("before the file".into());
    create(&first, dir.path(), "replaced", old).await;
    let duplicate = first
        .create("keep", &python(dir.path(), "keep", "print(1)"), dir.path())
        .await;
    assert!(
        matches!(duplicate, Err(Error::AlreadyExists { .. })),
        "{duplicate:?}"
    );
    let invalid = first
        .create(
            "bad",
            &FunctionConfig {
                url: Some("https://example.com/".into()),
                timeout_seconds: Some(0),
                ..FunctionConfig::default()
            },
            dir.path(),
        )
        .await;
    let Err(Error::Invalid { problems }) = invalid else {
        panic!("refused: {invalid:?}");
    };
    let problems = problems.join("\n");
    assert!(problems.contains("`url`"), "{problems}");
    assert!(
        problems.contains("`timeoutSeconds` must be at least 1"),
        "{problems}"
    );
    let missing = first
        .update("nobody", &python(dir.path(), "n", "print(3)"), dir.path())
        .await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    drop(first);

    // A restart: the stored functions come back, then the file's are upserted.
    let file = dir.path().join("functions.json");
    std::fs::write(
        &file,
        json!({"functions": {
            "replaced": {"command": ["sh", "-c", "echo 3"], "concurrency": 2,
                         "description": "from the file"},
            "web": {"url": "http://127.0.0.1:1/f", "headers": {"X-Token": "t"}},
        }})
        .to_string(),
    )
    .expect("the file is written");
    let second = registry(dir.path()).await;
    let mut applied = second.apply_file(&file).await.expect("the file applies");
    applied.sort();
    assert_eq!(applied, ["replaced", "web"]);
    let names: Vec<String> = second.list().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["keep", "replaced", "web"]);
    drop(second);

    let third = registry(dir.path()).await;
    let replaced = third.get("replaced").expect("still registered");
    assert_eq!(
        replaced.function.description.as_deref(),
        Some("from the file")
    );
    assert_eq!(replaced.function.concurrency, Some(2));
    assert!(replaced.modified >= replaced.created);
    let web = third.get("web").expect("stored");
    assert_eq!(
        web.function.kind,
        Kind::Http {
            url: "http://127.0.0.1:1/f".into(),
            headers: BTreeMap::from([("X-Token".into(), "t".into())]),
        }
    );
    third.delete("web").await.expect("deleted");
    assert!(matches!(
        third.delete("web").await,
        Err(Error::NotFound { .. })
    ));
    drop(third);
    let fourth = registry(dir.path()).await;
    assert!(fourth.get("web").is_none());
    assert!(fourth.get("keep").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_with_problems_registers_nothing_and_lists_them_all() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let registry = registry(dir.path()).await;
    let file = dir.path().join("functions.json");
    std::fs::write(
        &file,
        json!({"functions": {
            "both": {"command": ["true"], "url": "http://127.0.0.1:1/"},
            "tls": {"url": "https://example.com/", "memory-mb": 64},
            "fine": {"command": ["true"]},
        }})
        .to_string(),
    )
    .expect("the file is written");
    let error = registry.apply_file(&file).await.expect_err("refused");
    let text = error.to_string();
    for expected in [
        "function 'both': give exactly one of `command` (a local program) and `url`",
        "function 'tls': `url` https://example.com/ uses https://",
        "function 'tls': `memory-mb` applies to a `command` function only",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    assert!(text.contains("functions.json"), "{text}");
    assert!(registry.list().is_empty());
}

// ----- command functions -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attempt_leaves_a_log_with_its_streams_status_and_error() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let registry = registry(dir.path()).await;
    let code = r#"import json, os, sys
attempt = int(os.environ["WEIR_ATTEMPT"])
event = json.load(sys.stdin)
print(f"attempt {attempt} of {os.environ['WEIR_FUNCTION_NAME']}", file=sys.stderr)
if attempt == 0:
    print("not yet", file=sys.stderr)
    sys.exit(4)
json.dump({"doubled": event["n"] * 2}, sys.stdout)
"#;
    create(
        &registry,
        dir.path(),
        "flaky",
        python(dir.path(), "flaky", code),
    )
    .await;
    let resource = lambda_arn("flaky");
    let failed = call(&registry, request(&resource, json!({"n": 21}), 0))
        .await
        .expect_err("the first attempt fails");
    assert_eq!(failed.error, "Runtime.ExitError");
    assert!(
        failed
            .cause
            .contains("Runtime exited with error: exit status 4"),
        "{}",
        failed.cause
    );
    let answer = call(&registry, request(&resource, json!({"n": 21}), 1))
        .await
        .expect("the retry succeeds");
    assert_eq!(answer, json!({"doubled": 42}));

    let store = registry.store().expect("a store").clone();
    let all = functions::logs(store.as_ref(), EXECUTION, None, None)
        .await
        .expect("logs read");
    assert_eq!(all.len(), 2);
    let first = &all[0];
    assert_eq!(first.attempt, 0);
    assert_eq!(first.function.as_deref(), Some("flaky"));
    assert_eq!(first.status, "exit status 4");
    assert_eq!(first.error.as_deref(), Some("Runtime.ExitError"));
    assert_eq!(first.stderr.text, "attempt 0 of flaky\nnot yet\n");
    assert!(!first.stderr.truncated);
    assert!(first.ended >= first.started);

    let retry = functions::logs(store.as_ref(), EXECUTION, Some("Work"), Some(1))
        .await
        .expect("logs read");
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].status, "exit status 0");
    assert_eq!(retry[0].error, None);
    assert_eq!(retry[0].stdout.text, r#"{"doubled": 42}"#);
    assert_eq!(retry[0].stderr.text, "attempt 1 of flaky\n");
    assert_eq!(retry[0].idempotency_key, format!("{EXECUTION}/Work/2/1"));
    let other_state = registry
        .logs(EXECUTION, Some("Elsewhere"), None)
        .await
        .expect("logs read");
    assert!(other_state.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatty_function_keeps_the_last_256_kib_of_stderr() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let registry = registry(dir.path()).await;
    let code = r#"import sys
sys.stderr.write("FIRST\n")
for i in range(6000):
    sys.stderr.write(f"line {i:05d} " + "x" * 90 + "\n")
sys.stderr.write("LAST\n")
print("{}")
"#;
    create(
        &registry,
        dir.path(),
        "chatty",
        python(dir.path(), "chatty", code),
    )
    .await;
    call(&registry, request(&lambda_arn("chatty"), json!({}), 0))
        .await
        .expect("it succeeds");
    let logs = registry
        .logs(EXECUTION, None, None)
        .await
        .expect("logs read");
    let stderr = &logs[0].stderr;
    assert!(stderr.truncated);
    assert_eq!(stderr.text.len(), functions::logs::STREAM_LIMIT);
    assert!(stderr.text.ends_with("LAST\n"));
    assert!(!stderr.text.contains("FIRST"));
}

/// The most intervals that overlap at one moment.
fn most_at_once(intervals: &[(f64, f64)]) -> usize {
    intervals
        .iter()
        .map(|&(start, _)| {
            intervals
                .iter()
                .filter(|&&(s, e)| s <= start && start < e)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Runs `attempts` calls of `name` at once; each records when it ran in `dir/NAME.times`.
async fn overlapping_runs(dir: &Path, limit: Option<u64>, name: &str) -> Vec<(f64, f64)> {
    let registry = registry(dir).await;
    let times = dir.join(format!("{name}.times"));
    let code = format!(
        r#"import time
start = time.time()
time.sleep(0.4)
end = time.time()
with open({times:?}, "a") as f:
    f.write(f"{{start}} {{end}}\n")
print("null")
"#,
        times = times.display().to_string()
    );
    let mut config = python(dir, name, &code);
    config.concurrency = limit;
    create(&registry, dir, name, config).await;
    let mut running = Vec::new();
    for attempt in 0..6 {
        let registry = registry.clone();
        let resource = lambda_arn(name);
        running.push(tokio::spawn(async move {
            let mut request = request(&resource, json!({}), 0);
            request.idempotency_key = format!("{EXECUTION}/{attempt}/Work/2/0");
            call(&registry, request).await
        }));
    }
    for run in running {
        run.await
            .expect("the call ends")
            .expect("the call succeeds");
    }
    std::fs::read_to_string(&times)
        .expect("the times are written")
        .lines()
        .map(|line| {
            let (start, end) = line.split_once(' ').expect("two times");
            (
                start.parse().expect("a start"),
                end.parse().expect("an end"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limits_how_many_attempts_run_at_once() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let limited = overlapping_runs(dir.path(), Some(2), "limited").await;
    assert_eq!(limited.len(), 6);
    assert_eq!(most_at_once(&limited), 2, "{limited:?}");
    // The same calls without a limit overlap more: the measurement can see a missing limit.
    let free = overlapping_runs(dir.path(), None, "free").await;
    assert!(most_at_once(&free) > 2, "{free:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_over_its_memory_limit_fails_with_runtime_out_of_memory() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let registry = registry(dir.path()).await;
    let mut hog = python(
        dir.path(),
        "hog",
        "x = bytearray(1024 * 1024 * 1024)\nprint(len(x))",
    );
    hog.memory_mb = Some(128);
    create(&registry, dir.path(), "hog", hog).await;
    let failed = call(&registry, request(&lambda_arn("hog"), json!({}), 0))
        .await
        .expect_err("the allocation fails");
    assert_eq!(failed.error, "Runtime.OutOfMemory");
    assert!(
        failed.cause.contains("memory limit of 128 MB"),
        "{}",
        failed.cause
    );
    let logs = registry
        .logs(EXECUTION, None, None)
        .await
        .expect("logs read");
    assert!(
        logs[0].stderr.text.contains("MemoryError"),
        "{:?}",
        logs[0].stderr
    );

    // Under the limit, the same program with a small allocation runs.
    let mut modest = python(
        dir.path(),
        "modest",
        "x = bytearray(8 * 1024 * 1024)\nprint(len(x))",
    );
    modest.memory_mb = Some(128);
    create(&registry, dir.path(), "modest", modest).await;
    let answer = call(&registry, request(&lambda_arn("modest"), json!({}), 0))
        .await
        .expect("it fits");
    assert_eq!(answer, json!(8 * 1024 * 1024));

    // A program that does not exist is still an entry-point error, not prlimit's exit status.
    let missing = FunctionConfig {
        command: Some(vec!["no-such-program-weir".into()]),
        memory_mb: Some(64),
        ..FunctionConfig::default()
    };
    create(&registry, dir.path(), "missing", missing).await;
    let failed = call(&registry, request(&lambda_arn("missing"), json!({}), 0))
        .await
        .expect_err("cannot start");
    assert_eq!(failed.error, "Runtime.InvalidEntrypoint");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_kill_the_process_with_the_function_or_task_error() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let registry = registry(dir.path()).await;
    let mut slow = FunctionConfig {
        command: Some(vec!["sh".into(), "-c".into(), "sleep 30".into()]),
        ..FunctionConfig::default()
    };
    slow.timeout_seconds = Some(1);
    create(&registry, dir.path(), "slow", slow).await;
    let started = Instant::now();
    let failed = call(&registry, request(&lambda_arn("slow"), json!({}), 0))
        .await
        .expect_err("killed");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(failed.error, "Sandbox.Timedout");
    assert!(
        failed.cause.contains("Task timed out after 1.00 seconds"),
        "{}",
        failed.cause
    );
    let mut task_limited = request(&lambda_arn("slow"), json!({}), 1);
    task_limited.timeout_seconds = 1;
    let mut patient = FunctionConfig {
        command: Some(vec!["sh".into(), "-c".into(), "sleep 30".into()]),
        ..FunctionConfig::default()
    };
    patient.timeout_seconds = Some(60);
    create(&registry, dir.path(), "patient", patient).await;
    task_limited.resource = lambda_arn("patient");
    let failed = call(&registry, task_limited).await.expect_err("killed");
    assert_eq!(failed, TaskFailure::new("States.Timeout", ""));
    let logs = registry.logs(EXECUTION, None, Some(1)).await.expect("logs");
    assert!(
        logs[0].status.starts_with("killed: timed out"),
        "{}",
        logs[0].status
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_invoke_and_its_callback_form_wrap_the_result_and_unknown_names_fail() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let registry = registry(dir.path()).await;
    let code = r#"import json, sys
event = json.load(sys.stdin)
if event.get("reject"):
    json.dump({"errorMessage": "no stock", "errorType": "OrderRejected"}, sys.stdout)
    sys.exit(1)
json.dump({"event": event}, sys.stdout)
"#;
    create(
        &registry,
        dir.path(),
        "echo",
        python(dir.path(), "echo", code),
    )
    .await;
    for resource in [
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
    ] {
        assert!(functions::supports(resource));
        let input = json!({"FunctionName": lambda_arn("echo"), "Payload": {"token": "t"}});
        let output = call(&registry, request(resource, input, 0))
            .await
            .expect("it succeeds");
        assert_eq!(output["Payload"], json!({"event": {"token": "t"}}));
        assert_eq!(output["StatusCode"], json!(200));
    }
    let rejected = call(
        &registry,
        request(
            "arn:aws:states:::lambda:invoke",
            json!({"FunctionName": "echo", "Payload": {"reject": true}}),
            0,
        ),
    )
    .await
    .expect_err("rejected");
    assert_eq!(
        rejected,
        TaskFailure::new(
            "OrderRejected",
            r#"{"errorMessage":"no stock","errorType":"OrderRejected"}"#
        )
    );
    let missing = call(&registry, request(&lambda_arn("nobody"), json!({}), 0))
        .await
        .expect_err("no such function");
    assert_eq!(missing.error, "Lambda.ResourceNotFoundException");
    assert!(
        missing.cause.starts_with(&format!(
            "Function not found: {}:$LATEST (Service: AWSLambda; Status Code: 404",
            lambda_arn("nobody")
        )),
        "{}",
        missing.cause
    );
    // Under the engine the cause is AWS's words alone (weir's detail goes to the log).
    assert!(
        missing.cause.ends_with("; Proxy: null)"),
        "{}",
        missing.cause
    );
    assert!(!missing.cause.contains("weir:"), "{}", missing.cause);
    let other = call(
        &registry,
        request("arn:aws:states:::sqs:sendMessage", json!({}), 0),
    )
    .await
    .expect_err("not served");
    assert_eq!(other.error, "States.TaskFailed");
    assert!(!functions::supports("arn:aws:states:::sqs:sendMessage"));
    // Every attempt, even one refused before anything started, has a log.
    let logs = registry.logs(EXECUTION, None, None).await.expect("logs");
    assert_eq!(logs.len(), 5);
    assert!(logs.iter().any(|l| l.status == "not started"
        && l.error.as_deref() == Some("Lambda.ResourceNotFoundException")));
}

// ----- HTTP functions ----------------------------------------------------------------------------

async fn function_endpoint() -> String {
    let router = Router::new()
        .route(
            "/ok",
            post(|headers: HeaderMap, body: String| async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                let event: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                json!({
                    "event": event,
                    "name": header("x-weir-function-name"),
                    "key": header("x-weir-idempotency-key"),
                    "attempt": header("x-weir-attempt"),
                    "token": header("x-token"),
                    "type": header("content-type"),
                })
                .to_string()
            }),
        )
        .route(
            "/reject",
            post(|| async {
                (
                    StatusCode::BAD_REQUEST,
                    r#"{"errorType": "OrderRejected", "errorMessage": "no stock"}"#,
                )
            }),
        )
        .route(
            "/busy",
            post(|| async { (StatusCode::SERVICE_UNAVAILABLE, "try later") }),
        )
        .route(
            "/limit",
            post(|| async { (StatusCode::TOO_MANY_REQUESTS, "slow down") }),
        )
        .route(
            "/teapot",
            post(|| async { (StatusCode::IM_A_TEAPOT, "short and stout") }),
        )
        .route("/text", post(|| async { "not json" }))
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "null"
            }),
        );
    serve(router).await
}

fn http_function(url: String) -> FunctionConfig {
    FunctionConfig {
        url: Some(url),
        headers: BTreeMap::from([("X-Token".into(), "secret".into())]),
        ..FunctionConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_functions_get_the_event_and_answer_with_lambda_errors() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let registry = registry(dir.path()).await;
    let base = function_endpoint().await;
    for path in ["ok", "reject", "busy", "limit", "teapot", "text"] {
        create(
            &registry,
            dir.path(),
            path,
            http_function(format!("{base}/{path}")),
        )
        .await;
    }
    let answer = call(&registry, request(&lambda_arn("ok"), json!({"n": 1}), 2))
        .await
        .expect("it answers");
    assert_eq!(
        answer,
        json!({
            "event": {"n": 1},
            "name": "ok",
            "key": format!("{EXECUTION}/Work/2/2"),
            "attempt": "2",
            "token": "secret",
            "type": "application/json",
        })
    );
    let rejected = call(&registry, request(&lambda_arn("reject"), json!({}), 0))
        .await
        .expect_err("rejected");
    assert_eq!(rejected.error, "OrderRejected");
    assert_eq!(
        rejected.cause,
        r#"{"errorType": "OrderRejected", "errorMessage": "no stock"}"#
    );
    for (name, error, status) in [
        ("busy", "Lambda.ServiceException", "Status Code: 503"),
        (
            "limit",
            "Lambda.TooManyRequestsException",
            "Status Code: 429",
        ),
        ("teapot", "Lambda.Unknown", "Status Code: 418"),
    ] {
        let failed = call(&registry, request(&lambda_arn(name), json!({}), 0))
            .await
            .expect_err("a failing status");
        assert_eq!(failed.error, error, "{name}");
        assert!(failed.cause.contains(status), "{}", failed.cause);
        assert!(
            failed.cause.contains(&format!("{base}/{name}")),
            "{}",
            failed.cause
        );
    }
    let text = call(&registry, request(&lambda_arn("text"), json!({}), 0))
        .await
        .expect_err("not JSON");
    assert_eq!(text.error, "Runtime.MarshalError");

    // Nothing listens on a port just released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = closed.local_addr().expect("an address").port();
    drop(closed);
    create(
        &registry,
        dir.path(),
        "down",
        http_function(format!("http://127.0.0.1:{port}/f")),
    )
    .await;
    let down = call(&registry, request(&lambda_arn("down"), json!({}), 0))
        .await
        .expect_err("no connection");
    assert_eq!(down.error, "Lambda.SdkClientException");

    let mut slow = http_function(format!("{base}/slow"));
    slow.timeout_seconds = Some(1);
    create(&registry, dir.path(), "slow", slow).await;
    let started = Instant::now();
    let timed_out = call(&registry, request(&lambda_arn("slow"), json!({}), 0))
        .await
        .expect_err("too slow");
    assert_eq!(timed_out.error, "Sandbox.Timedout");
    assert!(started.elapsed() < Duration::from_secs(8));

    let logs = registry.logs(EXECUTION, None, Some(2)).await.expect("logs");
    assert_eq!(logs[0].status, "HTTP 200 OK");
    assert!(
        logs[0].stdout.text.contains("secret"),
        "{:?}",
        logs[0].stdout
    );
}

// ----- http:invoke -------------------------------------------------------------------------------

const HTTP_INVOKE: &str = "arn:aws:states:::http:invoke";

async fn api_endpoint() -> String {
    let router = Router::new()
        .route(
            "/items",
            get(|uri: Uri, headers: HeaderMap| async move {
                let token = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                (
                    [("content-type", "application/json")],
                    json!({"query": uri.query(), "authorization": token}).to_string(),
                )
            }),
        )
        .route(
            "/echo",
            any(|headers: HeaderMap, body: String| async move {
                let kind = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                ([("x-kind", kind)], body)
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "late"
            }),
        );
    serve(router).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_invoke_sends_the_request_and_shapes_the_answer_as_aws_does() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let registry = registry(dir.path()).await;
    let base = api_endpoint().await;
    assert!(functions::supports(HTTP_INVOKE));

    let output = call(
        &registry,
        request(
            HTTP_INVOKE,
            json!({
                "ApiEndpoint": format!("{base}/items"),
                "Method": "GET",
                "Headers": {"Authorization": "Bearer t"},
                "QueryParameters": {"q": "a b", "tag": ["x", "y"]},
                "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:1:connection/c/1"},
            }),
            0,
        ),
    )
    .await
    .expect("it answers");
    assert_eq!(output["StatusCode"], json!(200));
    assert_eq!(output["StatusText"], json!("OK"));
    assert_eq!(
        output["ResponseBody"],
        json!({"query": "q=a%20b&tag=x&tag=y", "authorization": "Bearer t"})
    );
    assert_eq!(
        output["Headers"]["content-type"],
        json!(["application/json"])
    );

    let form = call(
        &registry,
        request(
            HTTP_INVOKE,
            json!({
                "ApiEndpoint": format!("{base}/echo"),
                "Method": "POST",
                "RequestBody": {"ids": [1, 2], "name": "a&b"},
                "Transform": {
                    "RequestBodyEncoding": "URL_ENCODED",
                    "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"},
                },
            }),
            0,
        ),
    )
    .await
    .expect("it answers");
    assert_eq!(form["ResponseBody"], json!("ids[]=1&ids[]=2&name=a%26b"));
    assert_eq!(
        form["Headers"]["x-kind"],
        json!(["application/x-www-form-urlencoded"])
    );
    let json_body = call(
        &registry,
        request(
            HTTP_INVOKE,
            json!({"ApiEndpoint": format!("{base}/echo"), "Method": "PUT",
                   "RequestBody": {"a": 1}}),
            0,
        ),
    )
    .await
    .expect("it answers");
    // The echo answers as text/plain, so the body stays a string.
    assert_eq!(json_body["ResponseBody"], json!(r#"{"a":1}"#));
    assert_eq!(
        json_body["Headers"]["x-kind"],
        json!(["application/json; charset=UTF-8"])
    );

    let missing = call(
        &registry,
        request(
            HTTP_INVOKE,
            json!({"ApiEndpoint": format!("{base}/nowhere"), "Method": "GET"}),
            0,
        ),
    )
    .await
    .expect_err("404");
    assert_eq!(missing.error, "States.Http.StatusCode.404");
    let cause: Value = serde_json::from_str(&missing.cause).expect("the cause is JSON");
    assert_eq!(cause["StatusCode"], json!(404));
    assert_eq!(cause["StatusText"], json!("Not Found"));

    let tls = call(
        &registry,
        request(
            HTTP_INVOKE,
            json!({"ApiEndpoint": "https://example.com/", "Method": "GET"}),
            0,
        ),
    )
    .await
    .expect_err("no TLS");
    assert_eq!(tls.error, "States.TaskFailed");
    assert!(tls.cause.contains("does not support TLS"), "{}", tls.cause);

    let mut slow = request(
        HTTP_INVOKE,
        json!({"ApiEndpoint": format!("{base}/slow"), "Method": "GET"}),
        0,
    );
    slow.timeout_seconds = 1;
    let timed_out = call(&registry, slow).await.expect_err("too slow");
    assert_eq!(timed_out, TaskFailure::new("States.Timeout", ""));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = closed.local_addr().expect("an address").port();
    drop(closed);
    let down = call(
        &registry,
        request(
            HTTP_INVOKE,
            json!({"ApiEndpoint": format!("http://127.0.0.1:{port}/"), "Method": "GET"}),
            0,
        ),
    )
    .await
    .expect_err("no connection");
    assert_eq!(down.error, "States.Http.Socket");

    let logs = registry.logs(EXECUTION, None, None).await.expect("logs");
    assert_eq!(logs.len(), 7);
    assert!(logs.iter().all(|l| l.function.is_none()));
    assert_eq!(logs[0].status, "HTTP 200 OK");
}

/// The synchronous path of `weir run` uses the same runtime without a store.
#[test]
fn the_synchronous_runner_refuses_callbacks_and_runs_functions() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("functions.json");
    std::fs::write(
        &file,
        json!({"functions": {"two": {"command": ["sh", "-c", "cat >/dev/null; echo 2"]}}})
            .to_string(),
    )
    .expect("the file is written");
    let registry = Registry::load(&file).expect("it loads");
    // Built from JSON, as the driver's commands serialise, so new optional fields need no change.
    let task = |resource: &str, input: Value| -> asl::execution::TaskCommand {
        serde_json::from_value(json!({
            "thread": 0, "wake": 0, "state": "Work", "resource": resource, "input": input,
            "idempotency_key": "k", "timeout_seconds": 60, "attempt": 0,
        }))
        .expect("a task command")
    };
    assert_eq!(
        registry.perform(&task(&lambda_arn("two"), json!({}))),
        Ok(json!(2))
    );
    let refused = registry
        .perform(&task(
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            json!({"FunctionName": "two"}),
        ))
        .expect_err("refused");
    assert!(
        refused.cause.contains("weir run does not support"),
        "{}",
        refused.cause
    );
}

#[tokio::test]
async fn log_type_tail_returns_the_end_of_the_log_as_lambda_does() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let registry = registry(dir.path()).await;
    let talker = FunctionConfig {
        command: Some(vec![
            "sh".into(),
            "-c".into(),
            "echo 'step one' >&2; cat".into(),
        ]),
        ..FunctionConfig::default()
    };
    create(&registry, dir.path(), "talker", talker).await;
    let result = call(
        &registry,
        request(
            "arn:aws:states:::lambda:invoke",
            json!({"FunctionName": "talker", "Payload": {"a": 1}, "LogType": "Tail"}),
            0,
        ),
    )
    .await
    .expect("the call succeeds");
    assert_eq!(result["Payload"], json!({"a": 1}));
    let log = result["LogResult"].as_str().expect("a LogResult");
    use base64::Engine as _;
    let text = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(log)
            .expect("base64"),
    )
    .expect("UTF-8");
    assert!(text.starts_with("START RequestId: "), "{text}");
    assert!(text.contains("step one\n"), "{text}");
    assert!(text.contains("END RequestId: "), "{text}");
    assert_eq!(
        result["SdkHttpMetadata"]["HttpHeaders"]["X-Amz-Log-Result"],
        json!(log)
    );
    let plain = call(
        &registry,
        request(
            "arn:aws:states:::lambda:invoke",
            json!({"FunctionName": "talker", "Payload": {"a": 1}}),
            1,
        ),
    )
    .await
    .expect("the call succeeds");
    assert!(
        plain.get("LogResult").is_none(),
        "only LogType Tail returns the log"
    );
}
