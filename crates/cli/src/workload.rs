//! `weir workload` (hidden): a process that runs a fixed workload on the durable engine, for the
//! crash test (which SIGKILLs it at random moments and starts it again) and for anyone who wants
//! to watch the engine recover.
//!
//! Usage: `weir workload --data DIR --executions N --ledger FILE`
//!
//! It opens the SQLite store in `DIR` (resuming whatever was in flight), creates the `ledger`
//! state machine ([`DEFINITION`]), starts executions `e0` .. `e{N-1}` (a start that already
//! happened is recognised: same name and input), and waits until every one has ended. Every task
//! attempt appends one line to the ledger: `idempotency-key<TAB>execution<TAB>state<TAB>attempt`.
//! The task `Flaky` fails its first attempt, so every execution also retries.

use anyhow::Context;
use engine::{Handlers, NewStateMachine, Options, SystemClock, TaskFailure, handler_fn};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The workload's task resource.
const RESOURCE: &str = "arn:aws:states:::lambda:invoke";

/// The workload: a flaky task with a retry, a short Wait, a Map of three tasks, a Choice and a
/// Pass chain.
pub const DEFINITION: &str = r#"{
  "Comment": "The crash test's workload.",
  "StartAt": "Flaky",
  "States": {
    "Flaky": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"step": "flaky", "i.$": "$.i"}, "ResultPath": "$.flaky",
      "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1.0}],
      "Next": "Pause"},
    "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Fan"},
    "Fan": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1, "ResultPath": "$.fan",
      "ItemSelector": {"step": "item", "item.$": "$$.Map.Item.Value"},
      "ItemProcessor": {"StartAt": "Item", "States": {
        "Item": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
      "Next": "Route"},
    "Route": {"Type": "Choice", "Choices": [
      {"Variable": "$.i", "NumericGreaterThanEquals": 0, "Next": "Load"}], "Default": "Load"},
    "Load": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"step": "load", "i.$": "$.i"}, "ResultPath": "$.load", "Next": "Tidy"},
    "Tidy": {"Type": "Pass", "Result": "done", "ResultPath": "$.tidy", "Next": "Done"},
    "Done": {"Type": "Succeed"}
  }
}"#;

/// The input of execution `i`.
pub fn input(i: u64) -> String {
    json!({"i": i, "items": [1, 2, 3]}).to_string()
}

/// Runs the workload to its end (see the module docs).
pub fn run(data: &Path, executions: u64, ledger: &Path) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime
        .block_on(drive(data, executions, ledger))
        .map_err(anyhow::Error::msg)
}

async fn drive(data: &Path, executions: u64, ledger: &Path) -> Result<(), String> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(ledger)
        .map_err(|e| format!("{}: {e}", ledger.display()))?;
    let ledger = Arc::new(Mutex::new(file));
    let mut handlers = Handlers::new();
    handlers.insert(
        RESOURCE,
        handler_fn(move |request| {
            let line = format!(
                "{}\t{}\t{}\t{}\n",
                request.idempotency_key, request.execution_arn, request.state, request.attempt
            );
            let written = ledger
                .lock()
                .map_err(|_| "the ledger lock is poisoned".to_string())
                .and_then(|mut file| file.write_all(line.as_bytes()).map_err(|e| e.to_string()));
            async move {
                written.map_err(|e| TaskFailure::new("Ledger", e))?;
                if request.state == "Flaky" && request.attempt == 0 {
                    return Err(TaskFailure::new("Flaky", "the first attempt always fails"));
                }
                Ok(json!({"ok": request.attempt}))
            }
        }),
    );
    let engine = crate::durable::open_engine(
        data,
        Arc::new(SystemClock),
        Arc::new(handlers),
        Options::default(),
    )
    .await
    .map_err(|e| format!("{e:#}"))?;
    let machine = engine
        .create_state_machine(NewStateMachine {
            name: "ledger".into(),
            definition: DEFINITION.into(),
            express: false,
            role_arn: String::new(),
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut arns = Vec::new();
    for i in 0..executions {
        let name = format!("e{i}");
        let arn = match engine
            .start_execution(&machine.arn, Some(&name), Some(&input(i)))
            .await
        {
            Ok(started) => started.execution_arn,
            // Started by an earlier run of this process and already ended.
            Err(engine::Error::ExecutionAlreadyExists { arn }) => arn,
            Err(e) => return Err(format!("starting {name}: {e}")),
        };
        arns.push(arn);
    }
    for arn in arns {
        engine.wait(&arn).await.map_err(|e| format!("{arn}: {e}"))?;
    }
    Ok(())
}
