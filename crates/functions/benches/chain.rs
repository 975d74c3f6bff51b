//! The function runtime's benchmark: `cargo bench -p functions --bench chain`.
//!
//! What one process spawn (or one HTTP call) per task costs on the durable engine. Prints the
//! machine's core count, then runs Standard executions of a 10-state chain of Task states on
//! SQLite (`synchronous=FULL`, `SystemClock`), all started together, each Task calling
//! `arn:aws:lambda:us-east-1:000000000000:function:echo`, which returns its input:
//! - `inprocess`, the baseline: `echo` is an in-process handler (`engine::handler_fn`);
//! - `command`: `echo` is a registered command function run through `functions::FunctionHandler`
//!   as `weir server` runs it: one process per task attempt, the event on stdin, the result on
//!   stdout;
//! - `http`: `echo` is an HTTP function, an axum listener on `127.0.0.1:0` inside this process
//!   (on the same runtime and cores as the engine) that answers the POSTed body.
//!
//! For each: executions/s, tasks/s and CPU time per task (this process plus the functions it
//! waited for, from `/proc/self/stat`); for `command` and `http`, the ratio to the baseline
//! measured in the same run, and the cost per spawn (per call): wall time per task beyond the
//! baseline's, and CPU time per task beyond it. Task logs stay on: with a store, every attempt of
//! a function leaves a `task-log` document (stdout and stderr), which is part of what a function
//! task costs; in-process handlers write none. The functions have no `concurrency` limit (the
//! default), so every ready task starts at once.
//!
//! The tiny compiled function is `weir-echo`, a `[[bin]]` of this crate (`src/bin/weir-echo.rs`:
//! stdin to stdout, nothing else) that cargo builds with the bench and names with
//! `CARGO_BIN_EXE_weir-echo`. A bin target rather than a C program compiled at bench start: it
//! needs no C compiler or temporary build at run time, `--no-run` builds everything the bench
//! runs, and it is Rust like the rest of the workspace. Its own start-up (the dynamic loader,
//! Rust's runtime set-up) is part of the figure, as a real compiled function's would be.
//!
//! Sizes: `WEIR_BENCH_EXECUTIONS` (200). `WEIR_BENCH_ONLY` (comma-separated: inprocess, command,
//! http) runs a subset; the ratios need `inprocess` in the same run.

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use engine::{Engine, Handler, Handlers, NewStateMachine, Options, SystemClock, handler_fn};
use functions::{Echo, FunctionConfig, FunctionHandler, Registry};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::Store;
use store_sqlite::SqliteStore;

/// The allocator the `weir` binary uses, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The function every Task of the chain calls.
const ECHO: &str = "arn:aws:lambda:us-east-1:000000000000:function:echo";

/// Task states per execution.
const TASKS: usize = 10;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `TASKS` Task states in a row, each calling [`ECHO`] with the state's input as its event and
/// passing the result on (the default `ResultPath`).
fn chain() -> String {
    let mut states = serde_json::Map::new();
    for i in 0..TASKS {
        let mut state = json!({"Type": "Task", "Resource": ECHO});
        if i + 1 == TASKS {
            state["End"] = json!(true);
        } else {
            state["Next"] = json!(format!("T{}", i + 1));
        }
        states.insert(format!("T{i}"), state);
    }
    json!({"StartAt": "T0", "States": states}).to_string()
}

fn open(dir: &Path) -> Arc<dyn Store> {
    Arc::new(
        SqliteStore::open(&dir.join("weir.db"), store_sqlite::Options::default())
            .expect("the store opens"),
    )
}

/// CPU time so far of this process and of the children it waited for (the functions' processes),
/// from `/proc/self/stat`, whose times are in `USER_HZ` (100 per second on Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces) start at field 3 (`state`);
    // utime, stime, cutime and cstime are fields 14 to 17.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks: u64 = fields
        .get(11..15)
        .unwrap_or_default()
        .iter()
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// One measured run.
struct Measured {
    wall: Duration,
    cpu: Duration,
}

/// Starts the engine on `store` with `tasks`, then `n` executions of the chain together, and
/// waits for all; every execution must succeed with its input as its output. Returns the
/// executions' ARNs with the wall and CPU time from the first start to the last end.
async fn measure(
    store: Arc<dyn Store>,
    tasks: Arc<dyn Handler>,
    n: usize,
) -> (Vec<String>, Measured) {
    let engine = Engine::start(store, Arc::new(SystemClock), tasks, Options::default())
        .await
        .expect("the engine starts");
    let arn = engine
        .create_state_machine(NewStateMachine {
            name: "chain".into(),
            definition: chain(),
            express: false,
            role_arn: String::new(),
        })
        .await
        .expect("the benchmark definition is valid")
        .arn;
    let cpu = cpu_time();
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let engine = engine.clone();
        let arn = arn.clone();
        set.spawn(async move {
            let input = json!({"i": i});
            let run = engine
                .start_execution(&arn, None, Some(&input.to_string()))
                .await
                .expect("starts");
            let done = engine.wait(&run.execution_arn).await.expect("ends");
            assert_eq!(done.status, "SUCCEEDED", "{done:?}");
            let output: Option<Value> = done.output.and_then(|o| serde_json::from_str(&o).ok());
            assert_eq!(output, Some(input), "echo returns its input");
            run.execution_arn
        });
    }
    let mut arns = Vec::new();
    while let Some(joined) = set.join_next().await {
        arns.push(joined.expect("an execution task panicked"));
    }
    let measured = Measured {
        wall: started.elapsed(),
        cpu: cpu_time().saturating_sub(cpu),
    };
    (arns, measured)
}

/// A registry on `store` with `echo` registered as `config`, as `weir server` keeps it.
async fn registry(store: Arc<dyn Store>, dir: &Path, config: FunctionConfig) -> Arc<Registry> {
    let registry = Registry::open(store)
        .await
        .expect("the registry opens")
        .with_echo(Echo::Debug);
    registry
        .create("echo", &config, dir)
        .await
        .expect("echo is registered");
    Arc::new(registry)
}

/// Runs the chain with `echo` as `config` through [`FunctionHandler`], checks that every task
/// left its log, and reports the run as `label`.
async fn functions(label: &str, config: FunctionConfig, n: usize, baseline: Option<&Measured>) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = open(dir.path());
    let registry = registry(store.clone(), dir.path(), config).await;
    let handler = Arc::new(FunctionHandler::new(registry.clone()));
    let (arns, measured) = measure(store, handler, n).await;
    let logs = registry
        .logs(&arns[0], None, None)
        .await
        .expect("the task logs read");
    assert_eq!(logs.len(), TASKS, "one task log per task attempt");
    report(label, n, &measured, baseline);
}

/// Serves an HTTP function answering the body it is sent; its URL.
async fn serve_echo() -> String {
    let router = Router::new().route("/echo", post(|body: Bytes| async move { body }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("a bound address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}/echo")
}

/// Prints one run's rates, and against the baseline when there is one.
fn report(label: &str, n: usize, run: &Measured, baseline: Option<&Measured>) {
    let tasks = (n * TASKS) as f64;
    let rate = n as f64 / run.wall.as_secs_f64();
    let per_task = |d: Duration| d.as_secs_f64() * 1000.0 / tasks;
    println!(
        "{label}: {rate:.0} executions/s, {:.0} tasks/s, {:.3} ms CPU per task",
        rate * TASKS as f64,
        per_task(run.cpu)
    );
    if let Some(base) = baseline {
        let base_rate = n as f64 / base.wall.as_secs_f64();
        println!(
            "  {:.3}× the in-process rate; per spawn beyond the baseline: {:.3} ms wall per \
             task, {:.3} ms CPU per task",
            rate / base_rate,
            per_task(run.wall.saturating_sub(base.wall)),
            per_task(run.cpu.saturating_sub(base.cpu))
        );
    }
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let n = env_or("WEIR_BENCH_EXECUTIONS", 200).max(1);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "machine: {cores} cores; {n} Standard executions of a {TASKS}-Task chain started \
         together, SQLite store, task logs on"
    );
    let only = std::env::var("WEIR_BENCH_ONLY").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|o| o == name);

    let mut baseline = None;
    if wanted("inprocess") {
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut handlers = Handlers::new();
        handlers.insert(ECHO, handler_fn(|request| async move { Ok(request.input) }));
        let (_, run) = measure(open(dir.path()), Arc::new(handlers), n).await;
        report("in-process handler (baseline)", n, &run, None);
        baseline = Some(run);
    }
    if wanted("command") {
        let program = env!("CARGO_BIN_EXE_weir-echo").to_string();
        let config = FunctionConfig {
            command: Some(vec![program]),
            ..FunctionConfig::default()
        };
        let label = "command function (weir-echo, one process per task)";
        functions(label, config, n, baseline.as_ref()).await;
    }
    if wanted("http") {
        let config = FunctionConfig {
            url: Some(serve_echo().await),
            ..FunctionConfig::default()
        };
        let label = "HTTP function (axum echo on loopback, in this process)";
        functions(label, config, n, baseline.as_ref()).await;
    }
    if baseline.is_none() {
        println!("(no ratios: the in-process baseline did not run)");
    }
}
