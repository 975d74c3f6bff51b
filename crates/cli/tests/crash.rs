//! The crash test: a real `weir workload` process on a SQLite store is killed with SIGKILL at
//! random moments and started again, over and over; at the end every execution must have
//! succeeded with a history equal to an uninterrupted in-memory run, and the task ledger must
//! show every task run at least once with each idempotency key standing for one logical task.
//!
//! `WEIR_CRASH_EXECUTIONS` (default 2000) and `WEIR_CRASH_KILLS` (default 24) size the test;
//! `WEIR_CRASH_SEED` replays a run's kill timings (the seed is printed).

mod support;

use asl::definition::StateMachine;
use asl::driver::{self, TaskAnswer};
use asl::execution::ExecutionInfo;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::Store;
use support::{Rng, env_or};

fn spawn(data: &Path, ledger: &Path, executions: u64, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("the log file opens");
    Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["workload", "--executions", &executions.to_string()])
        .arg("--data")
        .arg(data)
        .arg("--ledger")
        .arg(ledger)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("weir starts")
}

#[test]
fn executions_survive_repeated_sigkills() {
    let executions = env_or("WEIR_CRASH_EXECUTIONS", 2000);
    let kills = env_or("WEIR_CRASH_KILLS", 24);
    let seed = env_or(
        "WEIR_CRASH_SEED",
        u64::from(std::process::id()) ^ 0x9e37_79b9_7f4a_7c15,
    );
    println!("crash test: {executions} executions, {kills} kills, WEIR_CRASH_SEED={seed}");
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().join("data");
    let ledger = dir.path().join("ledger.tsv");
    let log = dir.path().join("weir.log");
    let mut rng = Rng(seed | 1);
    let mut landed = 0;
    while landed < kills {
        let mut child = spawn(&data, &ledger, executions, &log);
        std::thread::sleep(Duration::from_millis(50 + rng.below(500)));
        match child.try_wait().expect("the child can be polled") {
            Some(status) => panic!(
                "the workload ended ({status}) before kill {landed} of {kills}: \
                 make it bigger with WEIR_CRASH_EXECUTIONS; log: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
            None => {
                child.kill().expect("SIGKILL is delivered");
                child.wait().expect("the killed child is reaped");
                landed += 1;
            }
        }
    }
    let started = Instant::now();
    let mut child = spawn(&data, &ledger, executions, &log);
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be polled") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(600) {
            let _ = child.kill();
            panic!("the final run did not finish in 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "the final run failed ({status}); log: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    println!(
        "after {landed} kills the final run finished in {:?}",
        started.elapsed()
    );
    check(&data, &ledger, executions);
}

/// The event types of an uninterrupted run of the workload's definition, from the in-memory
/// driver (no store, no engine), with the same task behaviour.
fn expected_types(definition: &str, input: Value) -> Vec<String> {
    let def = StateMachine::load_text(definition, &Default::default())
        .expect("the stored definition is valid");
    let info = ExecutionInfo::new(
        &driver::local_state_machine_arn("ledger"),
        "expected",
        input,
        jiff::Timestamp::now(),
    );
    let outcome = driver::run(&def, info, 1, &mut |task| {
        if task.state == "Flaky" && task.attempt == 0 {
            TaskAnswer::fail("Flaky", "the first attempt always fails")
        } else {
            TaskAnswer::ok(json!({"ok": task.attempt}))
        }
    });
    outcome.history.into_iter().map(|e| e.event_type).collect()
}

fn check(data: &Path, ledger: &Path, executions: u64) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let store: Arc<dyn Store> = Arc::new(
        store_sqlite::SqliteStore::open(&data.join("weir.db"), Default::default())
            .expect("the store opens"),
    );
    let machine_arn = "arn:aws:states:us-east-1:000000000000:stateMachine:ledger";
    let machine = runtime
        .block_on(store.get_state_machine(machine_arn))
        .expect("the store reads")
        .expect("the machine exists");
    let prefix = "arn:aws:states:us-east-1:000000000000:execution:ledger:";
    for i in 0..executions {
        let arn = format!("{prefix}e{i}");
        let (record, _) = runtime
            .block_on(store.load_execution(&arn))
            .expect("the store reads")
            .unwrap_or_else(|| panic!("execution e{i} was lost"));
        assert_eq!(record.status, "SUCCEEDED", "e{i}: {record:?}");
        let history = runtime
            .block_on(store.history(&arn, 0, 100_000, false))
            .expect("the store reads");
        let ids: Vec<u64> = history.iter().map(|e| e.id).collect();
        assert_eq!(
            ids,
            (1..=history.len() as u64).collect::<Vec<_>>(),
            "e{i}: event ids are consecutive from 1"
        );
        assert!(
            history.windows(2).all(|w| w[0].timestamp <= w[1].timestamp),
            "e{i}: timestamps never go back"
        );
        let input: Value = serde_json::from_str(&record.input).expect("the input is JSON");
        let types: Vec<String> = history.into_iter().map(|e| e.event_type).collect();
        assert_eq!(
            types,
            expected_types(&machine.definition, input),
            "e{i}: each transition once, in order"
        );
    }
    let text = std::fs::read_to_string(ledger).expect("the ledger reads");
    let mut keys: BTreeMap<String, BTreeSet<(String, String, String)>> = BTreeMap::new();
    let mut lines = 0u64;
    for line in text.lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        assert_eq!(parts.len(), 4, "a ledger line has four fields: {line:?}");
        keys.entry(parts[0].to_string()).or_default().insert((
            parts[1].to_string(),
            parts[2].to_string(),
            parts[3].to_string(),
        ));
        lines += 1;
    }
    for (key, tasks) in &keys {
        assert_eq!(tasks.len(), 1, "key {key} stands for one task: {tasks:?}");
    }
    let mut per_execution: BTreeMap<&str, usize> = BTreeMap::new();
    for tasks in keys.values() {
        for (execution, _, _) in tasks {
            *per_execution.entry(execution.as_str()).or_default() += 1;
        }
    }
    assert_eq!(
        per_execution.len() as u64,
        executions,
        "every execution ran tasks"
    );
    for (execution, count) in per_execution {
        // Flaky (two attempts), three Map items, Load.
        assert_eq!(count, 6, "{execution}: six logical tasks");
    }
    println!(
        "ledger: {lines} task runs for {} logical tasks ({} repeated deliveries)",
        keys.len(),
        lines - keys.len() as u64
    );
}
