//! The durable engine's benchmark: `cargo bench -p engine --bench durable`.
//!
//! Prints the machine's core count and the disk's measured fsync rate (the physical limit of
//! one-commit-per-transition engines) in the same run, then:
//! - Standard executions of a 10-state Pass chain on SQLite (`synchronous=FULL`), all started
//!   together: executions/s and state transitions/s, and transitions per fsync of the probe;
//! - the same chain with one Task that fails twice then succeeds (Retry with 1 ms intervals: the
//!   engine's clock runs 1000× fast, so `IntervalSeconds: 1` waits 1 ms);
//! - p50/p99 latency from start to terminal status of one execution on an idle engine;
//! - Express executions of the chain (`StartSyncExecution`, in memory);
//! - recovery: time from a restart to the first resumed transition with executions in flight;
//! - memory: resident size of an idle engine and with executions parked in a one-hour Wait;
//! - the cost of metrics: the Standard burst and Express with metrics on and off, interleaved.
//!
//! Sizes: `WEIR_BENCH_EXECUTIONS` (10000), `WEIR_BENCH_PARKED` (100000). `WEIR_BENCH_ONLY`
//! (comma-separated: memory, recovery, standard, retry, express, metrics) runs a subset.

use engine::{
    Engine, Handlers, ManualClock, NewStateMachine, Options, ScaledClock, SystemClock, TaskFailure,
    handler_fn,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::Store;
use store_sqlite::SqliteStore;

/// The allocator the `weir` binary uses, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use common::{env_or, fsync_rate, rss_mb};

const RESOURCE: &str = "arn:aws:states:::lambda:invoke";

fn chain(task: bool) -> String {
    let mut states = serde_json::Map::new();
    for i in 0..10 {
        let next = if i == 9 {
            json!({"End": true})
        } else {
            json!({"Next": format!("S{}", i + 1)})
        };
        let mut state = if task && i == 4 {
            json!({"Type": "Task", "Resource": RESOURCE, "ResultPath": "$.task",
                   "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 1, "MaxAttempts": 3,
                              "BackoffRate": 1.0}]})
        } else {
            json!({"Type": "Pass", "Result": i, "ResultPath": format!("$.s{i}")})
        };
        if let (Some(state), Some(next)) = (state.as_object_mut(), next.as_object()) {
            state.extend(next.clone());
        }
        states.insert(format!("S{i}"), state);
    }
    json!({"StartAt": "S0", "States": states}).to_string()
}

fn flaky() -> Handlers {
    let mut handlers = Handlers::new();
    handlers.insert(
        RESOURCE,
        handler_fn(|request| async move {
            if request.attempt < 2 {
                Err(TaskFailure::new("Busy", "not yet"))
            } else {
                Ok(json!({"attempt": request.attempt}))
            }
        }),
    );
    handlers
}

fn open(dir: &Path) -> Arc<dyn Store> {
    Arc::new(
        SqliteStore::open(&dir.join("weir.db"), store_sqlite::Options::default())
            .expect("the store opens"),
    )
}

use std::path::Path;

/// An engine on a fresh store in `dir` and the wall clock, running no tasks, with or without
/// metrics.
async fn on_wall_clock(dir: &Path, metrics: bool) -> Engine {
    Engine::start(
        open(dir),
        Arc::new(SystemClock),
        Arc::new(Handlers::new()),
        Options {
            metrics,
            ..Options::default()
        },
    )
    .await
    .expect("starts")
}

async fn machine(engine: &Engine, name: &str, definition: String, express: bool) -> String {
    engine
        .create_state_machine(NewStateMachine {
            name: name.into(),
            definition,
            express,
            role_arn: String::new(),
        })
        .await
        .expect("the benchmark definition is valid")
        .arn
}

/// Starts `n` executions together and waits for all; returns the wall time.
async fn burst(engine: &Engine, arn: &str, n: usize) -> Duration {
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let engine = engine.clone();
        let arn = arn.to_string();
        set.spawn(async move {
            let run = engine
                .start_execution(&arn, None, Some(&format!("{{\"i\":{i}}}")))
                .await
                .expect("starts");
            let done = engine.wait(&run.execution_arn).await.expect("ends");
            assert_eq!(done.status, "SUCCEEDED", "{done:?}");
        });
    }
    while let Some(joined) = set.join_next().await {
        joined.expect("an execution task panicked");
    }
    started.elapsed()
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let executions = env_or("WEIR_BENCH_EXECUTIONS", 10_000);
    let parked = env_or("WEIR_BENCH_PARKED", 100_000);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let scratch = tempfile::tempdir().expect("a temp dir");
    let fsyncs = fsync_rate(scratch.path());
    println!("machine: {cores} cores; disk: {fsyncs:.0} fsync/s (4 KiB append + fdatasync)");

    let only = std::env::var("WEIR_BENCH_ONLY").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|o| o == name);
    if wanted("memory") {
        memory(parked).await;
    }
    if wanted("recovery") {
        recovery(executions).await;
    }
    if wanted("standard") {
        standard(executions, fsyncs).await;
    }
    if wanted("retry") {
        retry(executions).await;
    }
    if wanted("express") {
        express(cores).await;
    }
    if wanted("metrics") {
        metrics_cost(executions, cores).await;
    }
}

/// A Wait of one hour, then a Pass.
fn parked_definition() -> String {
    json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 3600, "Next": "P"},
        "P": {"Type": "Pass", "End": true}}})
    .to_string()
}

/// Starts `n` executions that park in a one-hour Wait; returns their ARNs and the start rate.
async fn park(engine: &Engine, n: usize) -> (Vec<String>, f64) {
    let arn = machine(engine, "parked", parked_definition(), false).await;
    let mut set = tokio::task::JoinSet::new();
    let started = Instant::now();
    let mut arns = Vec::new();
    for i in 0..n {
        let engine = engine.clone();
        let arn = arn.clone();
        set.spawn(async move {
            engine
                .start_execution(&arn, Some(&format!("p{i}")), None)
                .await
                .expect("starts")
                .execution_arn
        });
        if set.len() >= 2_000
            && let Some(done) = set.join_next().await
        {
            arns.push(done.expect("a start task panicked"));
        }
    }
    while let Some(done) = set.join_next().await {
        arns.push(done.expect("a start task panicked"));
    }
    (arns, n as f64 / started.elapsed().as_secs_f64())
}

/// Memory of an idle engine, then with `parked` executions in a one-hour Wait.
async fn memory(parked: usize) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(Timestamp::now()));
    let engine = Engine::start(
        open(dir.path()),
        clock,
        Arc::new(Handlers::new()),
        Options::default(),
    )
    .await
    .expect("starts");
    println!("memory: idle engine {:.1} MB resident", rss_mb());
    let (_, rate) = park(&engine, parked).await;
    // Let idle actors leave, as they do on a server between events.
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!(
        "memory: {:.1} MB resident with {parked} Standard executions parked in a one-hour Wait \
         (started at {rate:.0}/s)",
        rss_mb()
    );
}

/// Restart with `n` executions whose timers are due: time until the engine is ready, until the
/// first resumed execution has moved on (its transition committed), and until all have.
async fn recovery(n: usize) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = open(dir.path());
    let t0 = Timestamp::now();
    let engine = Engine::start(
        store.clone(),
        Arc::new(ManualClock::new(t0)),
        Arc::new(Handlers::new()),
        Options::default(),
    )
    .await
    .expect("starts");
    let (arns, _) = park(&engine, n).await;
    drop(engine);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = Arc::new(ManualClock::new(t0 + SignedDuration::from_secs(3600)));
    let restarted = Instant::now();
    let watcher = {
        let store = store.clone();
        tokio::spawn(async move {
            loop {
                let page = store
                    .list_executions(store::ExecutionFilter {
                        status: Some("SUCCEEDED".into()),
                        limit: 1,
                        ..Default::default()
                    })
                    .await
                    .expect("lists");
                if !page.items.is_empty() {
                    return restarted.elapsed();
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        })
    };
    let engine = Engine::start(
        store.clone(),
        later,
        Arc::new(Handlers::new()),
        Options::default(),
    )
    .await
    .expect("restarts");
    let ready = restarted.elapsed();
    let first = watcher.await.expect("the watcher ran");
    for arn in &arns {
        engine.wait(arn).await.expect("ends");
    }
    let all = restarted.elapsed();
    println!(
        "recovery with {n} executions in flight: engine ready after {ready:?}, first resumed \
         transition committed after {first:?}, all {n} finished after {all:?}"
    );
}

/// Standard Pass chains started together, then latency on the idle engine.
async fn standard(executions: usize, fsyncs: f64) {
    // Standard Pass chain.
    let dir = tempfile::tempdir().expect("a temp dir");
    let engine = on_wall_clock(dir.path(), true).await;
    let arn = machine(&engine, "chain", chain(false), false).await;
    let took = burst(&engine, &arn, executions).await;
    let rate = executions as f64 / took.as_secs_f64();
    println!(
        "standard, 10-state Pass chain, {executions} started together: {rate:.0} executions/s, \
         {:.0} state transitions/s ({:.1} transitions per probe fsync)",
        rate * 10.0,
        rate * 10.0 / fsyncs
    );

    // Latency on an idle engine.
    let mut latencies = Vec::new();
    for _ in 0..300 {
        let started = Instant::now();
        let run = engine
            .start_execution(&arn, None, None)
            .await
            .expect("starts");
        engine.wait(&run.execution_arn).await.expect("ends");
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize];
    println!(
        "latency, start to SUCCEEDED on an idle engine: p50 {:?}, p99 {:?} (probe fsync: {:?})",
        p(0.5),
        p(0.99),
        Duration::from_secs_f64(1.0 / fsyncs)
    );
    drop(engine);
}

/// The chain with a Task failing twice, Retry at 1 ms.
async fn retry(executions: usize) {
    // The chain with a Task failing twice, Retry at 1 ms.
    let dir = tempfile::tempdir().expect("a temp dir");
    let fast = Arc::new(ScaledClock::new(1000));
    let engine = Engine::start(
        open(dir.path()),
        fast,
        Arc::new(flaky()),
        Options::default(),
    )
    .await
    .expect("starts");
    let arn = machine(&engine, "retrying", chain(true), false).await;
    let took = burst(&engine, &arn, executions).await;
    println!(
        "standard, same chain with a Task failing twice (Retry, 1 ms): {:.0} executions/s",
        executions as f64 / took.as_secs_f64()
    );
    drop(engine);
}

/// Express executions of the chain, as many as the cores keep busy for two seconds.
async fn express(cores: usize) {
    let rate = express_rate(cores, true).await;
    println!("express, same chain, StartSyncExecution in memory: {rate:.0} executions/s");
}

/// Express executions of the chain per second for two seconds, with or without metrics.
async fn express_rate(cores: usize, metrics: bool) -> f64 {
    let dir = tempfile::tempdir().expect("a temp dir");
    let engine = on_wall_clock(dir.path(), metrics).await;
    let arn = machine(&engine, "express", chain(false), true).await;
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let budget = Duration::from_secs(2);
    for _ in 0..cores.max(1) * 2 {
        let engine = engine.clone();
        let arn = arn.clone();
        set.spawn(async move {
            let mut n = 0u64;
            while started.elapsed() < budget {
                let out = engine
                    .start_sync_execution(&arn, None, Some("{}"))
                    .await
                    .expect("runs");
                assert_eq!(out.status, asl::execution::Status::Succeeded);
                n += 1;
            }
            n
        });
    }
    let mut total = 0;
    while let Some(n) = set.join_next().await {
        total += n.expect("an express worker panicked");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// What metrics cost: the Standard burst and the Express loop with metrics on and off, one
/// after the other in the same run, twice each (interleaved, so drift in the machine's load
/// touches both).
async fn metrics_cost(executions: usize, cores: usize) {
    let mut standard = [Vec::new(), Vec::new()];
    let mut express = [Vec::new(), Vec::new()];
    for _ in 0..2 {
        for (i, metrics) in [true, false].into_iter().enumerate() {
            let dir = tempfile::tempdir().expect("a temp dir");
            let engine = on_wall_clock(dir.path(), metrics).await;
            let arn = machine(&engine, "chain", chain(false), false).await;
            let took = burst(&engine, &arn, executions).await;
            standard[i].push(executions as f64 / took.as_secs_f64());
            drop(engine);
            express[i].push(express_rate(cores, metrics).await);
        }
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    for (name, rates) in [("standard", &standard), ("express", &express)] {
        let (on, off) = (best(&rates[0]), best(&rates[1]));
        println!(
            "metrics cost, {name}: {on:.0} executions/s with metrics, {off:.0} without: {:.3}x",
            on / off
        );
    }
}
