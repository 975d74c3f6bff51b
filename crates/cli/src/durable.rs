//! `weir run --durable DIR`: one Standard execution on the SQLite store in `DIR`, so it survives
//! a crash. Running the same command again (same `--name` and input) picks the execution up
//! where it was: the engine resumes its stored work and the start is idempotent.

use crate::functions::Registry;
use anyhow::{Context, Result, bail};
use asl::execution::TaskCommand;
use engine::{
    BoxFuture, Clock, Engine, Handler, NewStateMachine, Options, SystemClock, TaskFailure,
    TaskRequest,
};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use store_sqlite::SqliteStore;

/// Runs registered functions for the durable engine (`weir run --durable`, `weir server`), each
/// call on a blocking thread.
pub struct Functions(pub Arc<Registry>);

impl Handler for Functions {
    fn call(&self, request: TaskRequest) -> BoxFuture<'static, Result<Value, TaskFailure>> {
        let registry = self.0.clone();
        Box::pin(async move {
            let task = TaskCommand {
                thread: 0,
                wake: 0,
                state: request.state,
                resource: request.resource,
                input: request.input,
                idempotency_key: request.idempotency_key,
                timeout_seconds: request.timeout_seconds,
                heartbeat_seconds: None,
                attempt: request.attempt,
            };
            let answer = tokio::task::spawn_blocking(move || registry.perform(&task)).await;
            match answer {
                Ok(Ok(output)) => Ok(output),
                Ok(Err(failure)) => Err(TaskFailure::new(failure.error, failure.cause)),
                Err(join) => Err(TaskFailure::new(
                    "States.TaskFailed",
                    format!("the function runner stopped: {join}"),
                )),
            }
        })
    }
}

/// Opens the SQLite store in the data directory `data` (created if missing; the store is
/// `weir.db` inside) and starts the engine on it: what `weir run --durable`, `weir server` and
/// `weir workload` share.
pub async fn open_engine(
    data: &Path,
    clock: Arc<dyn Clock>,
    tasks: Arc<dyn Handler>,
    options: Options,
) -> Result<Engine> {
    std::fs::create_dir_all(data)
        .with_context(|| format!("cannot create the data directory {}", data.display()))?;
    let path = data.join("weir.db");
    let store = SqliteStore::open(&path, store_sqlite::Options::default())
        .with_context(|| format!("cannot open the store {}", path.display()))?;
    Engine::start(Arc::new(store), clock, tasks, options)
        .await
        .context("cannot start the engine")
}

/// What the durable run needs.
pub struct DurableRun<'a> {
    /// The data directory.
    pub data: &'a Path,
    /// The state machine's name (from the definition's file name).
    pub machine: &'a str,
    /// The definition text.
    pub definition: &'a str,
    /// The execution input text.
    pub input: &'a str,
    /// The execution name.
    pub name: &'a str,
    /// The functions Lambda tasks run.
    pub registry: Registry,
}

/// The outcome: status, output or error and cause, and the history.
pub struct Finished {
    /// `SUCCEEDED`, `FAILED`, ...
    pub status: String,
    /// The output text, when it succeeded.
    pub output: Option<String>,
    /// The error name, when it failed.
    pub error: Option<String>,
    /// The cause, when it failed.
    pub cause: Option<String>,
    /// The history, as `GetExecutionHistory` shows it.
    pub history: Vec<Value>,
}

/// Runs (or resumes) the execution to its end.
pub fn run(job: DurableRun<'_>) -> Result<Finished> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let engine = open_engine(
            job.data,
            Arc::new(SystemClock),
            Arc::new(Functions(Arc::new(job.registry))),
            Options::default(),
        )
        .await?;
        let created = engine
            .create_state_machine(NewStateMachine {
                name: job.machine.to_string(),
                definition: job.definition.to_string(),
                express: false,
                role_arn: String::new(),
            })
            .await;
        let machine = match created {
            Ok(machine) => machine,
            Err(engine::Error::StateMachineAlreadyExists { arn }) => engine
                .update_state_machine(&arn, Some(job.definition.to_string()), None)
                .await
                .with_context(|| format!("cannot update the state machine {arn}"))?,
            Err(e) => return Err(e).context("cannot create the state machine"),
        };
        let started = match engine
            .start_execution(&machine.arn, Some(job.name), Some(job.input))
            .await
        {
            Ok(started) => started,
            Err(engine::Error::ExecutionAlreadyExists { arn }) => bail!(
                "an execution named {} has already run in {} with another input or has ended \
                 ({arn}); choose another --name",
                job.name,
                job.data.display()
            ),
            Err(e) => return Err(e).context("cannot start the execution"),
        };
        eprintln!(
            "weir: execution {} (rerun with --name {} to resume it after a crash)",
            started.execution_arn, job.name
        );
        let record = engine
            .wait(&started.execution_arn)
            .await
            .context("the execution did not finish")?;
        let history = engine
            .history(&started.execution_arn, 0, usize::MAX, false)
            .await
            .context("cannot read the history")?
            .iter()
            .map(asl::history::HistoryEvent::to_json)
            .collect();
        Ok(Finished {
            status: record.status,
            output: record.output,
            error: record.error,
            cause: record.cause,
            history,
        })
    })
}
