//! `weir run --durable DIR`: one Standard execution on the SQLite store in `DIR`, so it survives
//! a crash. Running the same command again (same `--name` and input) picks the execution up
//! where it was: the engine resumes its stored work and the start is idempotent.

use anyhow::{Context, Result, bail};
use engine::{Clock, Engine, Handler, NewStateMachine, Options, SystemClock};
use functions::{Echo, FunctionHandler, Registry};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use store_sqlite::SqliteStore;

/// Opens the SQLite store in the data directory `data` (created if missing; the store is
/// `weir.db` inside).
pub fn open_store(data: &Path) -> Result<Arc<SqliteStore>> {
    std::fs::create_dir_all(data)
        .with_context(|| format!("cannot create the data directory {}", data.display()))?;
    let path = data.join("weir.db");
    let store = SqliteStore::open(&path, store_sqlite::Options::default())
        .with_context(|| format!("cannot open the store {}", path.display()))?;
    Ok(Arc::new(store))
}

/// Opens the store in `data` and the function registry kept in it, then registers (and
/// stores) the functions of the registry file `functions`: what `weir server` and
/// `weir run --durable` share. Stderr lines of command functions go to `echo`.
pub async fn open_functions(
    data: &Path,
    functions: Option<&Path>,
    echo: Echo,
) -> Result<(Arc<SqliteStore>, Arc<Registry>)> {
    let store = open_store(data)?;
    let registry = Registry::open(store.clone())
        .await
        .context("cannot load the registered functions")?
        .with_echo(echo);
    if let Some(file) = functions {
        registry.apply_file(file).await?;
    }
    Ok((store, Arc::new(registry)))
}

/// Starts the engine on `store`, running tasks with the functions of `registry`.
pub async fn start_engine(
    store: Arc<SqliteStore>,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    options: Options,
) -> Result<Engine> {
    Engine::start(
        store,
        clock,
        Arc::new(FunctionHandler::new(registry)),
        options,
    )
    .await
    .context("cannot start the engine")
}

/// Opens the SQLite store in the data directory `data` and starts the engine on it with the
/// handler `tasks` (`weir workload`).
pub async fn open_engine(
    data: &Path,
    clock: Arc<dyn Clock>,
    tasks: Arc<dyn Handler>,
    options: Options,
) -> Result<Engine> {
    Engine::start(open_store(data)?, clock, tasks, options)
        .await
        .context("cannot start the engine")
}

/// Where a durable run keeps its state, and what to create there first.
pub struct Store<'a> {
    /// The data directory.
    pub data: &'a Path,
    /// The queues and topics to create or update before the run.
    pub resources: Option<&'a Path>,
}

/// What the durable run needs.
pub struct DurableRun<'a> {
    /// The data directory.
    pub data: &'a Path,
    /// The queues and topics to create or update before the run.
    pub resources: Option<&'a Path>,
    /// The state machine's name (from the definition's file name).
    pub machine: &'a str,
    /// The definition text.
    pub definition: &'a str,
    /// The execution input text.
    pub input: &'a str,
    /// The execution name.
    pub name: &'a str,
    /// The registry file of the functions Lambda tasks run (added to those stored in `data`).
    pub functions: Option<&'a Path>,
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
        let (store, registry) = open_functions(job.data, job.functions, Echo::Stderr).await?;
        let engine =
            start_engine(store, registry, Arc::new(SystemClock), Options::default()).await?;
        if let Some(resources) = job.resources {
            crate::resources::apply(&engine, resources).await?;
        }
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
