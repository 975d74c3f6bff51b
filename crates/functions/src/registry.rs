//! The registry: the functions this process can run, changeable while the engine runs, and kept
//! in the store when there is one.
//!
//! # Design notes
//! - **Memory answers, the store remembers.** Lookups read an in-memory map (a `RwLock`, so a
//!   synchronous `weir run` and the async handler share the code); every change writes its store
//!   document first and then the map, one change at a time (an async mutex), so a change the
//!   caller saw succeed is both durable and visible to the next task.
//! - **Stored form.** One document of kind [`KIND`] per function, keyed by name; the body is
//!   `{"function": CONFIG, "created": MICROS, "modified": MICROS}` where `CONFIG` is the registry
//!   file's kebab-case form with resolved (absolute) paths. Loading a stored function does not
//!   look at the file system: a program removed since fails when it is called.
//! - **One process.** Another process sharing the store sees changes when it starts; weir runs
//!   one server per store today.
//! - **Concurrency** is a semaphore per function. A change that keeps the limit keeps the
//!   semaphore; a new limit applies to attempts that start after the change, while attempts
//!   already running finish under the old one.

use crate::invoke::{self, Attempt, Echo, Resource, Style, Trace};
use crate::logs::{self, TaskLog};
use crate::spec::{Function, FunctionConfig, Naming};
use crate::{Error, http_task};
use asl::Failure;
use asl::driver::TaskAnswer;
use asl::error::names;
use asl::execution::TaskCommand;
use engine::metrics::FunctionOutcome;
use engine::{BoxFuture, Handler, TaskFailure, TaskRequest};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;
use store::Store;
use tokio::sync::Semaphore;

/// The document kind of registered functions.
pub const KIND: &str = "function";

/// A registered function as the registry shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionRecord {
    /// Its name.
    pub name: String,
    /// What it runs and how.
    pub function: Function,
    /// When it was first registered.
    pub created: Timestamp,
    /// When it was last changed.
    pub modified: Timestamp,
}

/// A registered function with its concurrency semaphore.
struct Entry {
    record: FunctionRecord,
    permits: Option<Arc<Semaphore>>,
}

/// The functions tasks can run. See the module documentation.
#[derive(Default)]
pub struct Registry {
    store: Option<Arc<dyn Store>>,
    /// The registry file loaded last, named when a function is not found.
    source: RwLock<Option<PathBuf>>,
    functions: RwLock<BTreeMap<String, Arc<Entry>>>,
    writes: tokio::sync::Mutex<()>,
    echo: Echo,
    /// Where attempts and custom metrics are reported, once the engine exists.
    reporter: std::sync::OnceLock<Arc<engine::metrics::Reporter>>,
}

/// The registry file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    functions: Map<String, Value>,
}

/// Reads a registry file: every function in it, or an error that names the file and lists every
/// problem.
fn read_file(path: &Path) -> Result<Vec<(String, Function)>, Error> {
    let fail = |detail: String| Error::File {
        path: path.to_path_buf(),
        detail,
    };
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(format!("cannot read the function registry {shown}: {e}")))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        fail(format!(
            "the function registry {shown} is not valid JSON: {e}"
        ))
    })?;
    if !value.is_object() {
        return Err(fail(format!(
            "the function registry {shown} must be a JSON object with a \"functions\" object"
        )));
    }
    let file: RegistryFile = serde_json::from_value(value)
        .map_err(|e| fail(format!("the function registry {shown} is malformed: {e}")))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = std::path::absolute(dir)
        .map_err(|e| fail(format!("cannot resolve the directory of {shown}: {e}")))?;
    let mut problems = Vec::new();
    let mut functions = Vec::new();
    for (name, spec) in file.functions {
        let config: FunctionConfig = match serde_json::from_value(spec) {
            Ok(config) => config,
            Err(e) => {
                problems.push(format!("function '{name}': {e}"));
                continue;
            }
        };
        match config.check(&name, &dir, Naming::File) {
            Ok(function) => functions.push((name, function)),
            Err(found) => problems.extend(found),
        }
    }
    if !problems.is_empty() {
        return Err(fail(format!(
            "the function registry {shown} is not valid:\n  {}",
            problems.join("\n  ")
        )));
    }
    Ok(functions)
}

/// The stored form of `record`; refused when a path is not UTF-8 (JSON cannot hold it).
fn document_body(record: &FunctionRecord) -> Result<String, Error> {
    let config = serde_json::to_value(record.function.config()).map_err(|e| Error::Invalid {
        problems: vec![format!("function '{}': {e}", record.name)],
    })?;
    Ok(json!({
        "function": config,
        "created": record.created.as_microsecond(),
        "modified": record.modified.as_microsecond(),
    })
    .to_string())
}

fn record_from(document: &store::Document) -> Result<FunctionRecord, Error> {
    let corrupt = |detail: String| Error::Corrupt {
        what: format!("function {}", document.key),
        detail,
    };
    let value: Value = serde_json::from_str(&document.body).map_err(|e| corrupt(e.to_string()))?;
    let config: FunctionConfig =
        serde_json::from_value(value["function"].clone()).map_err(|e| corrupt(e.to_string()))?;
    let function = config
        .resolve(&document.key, Path::new("/"), Naming::File, false)
        .map_err(|problems| corrupt(problems.join("; ")))?;
    let time = |key: &str| {
        value[key]
            .as_i64()
            .and_then(|n| Timestamp::from_microsecond(n).ok())
            .ok_or_else(|| corrupt(format!("no {key} time")))
    };
    Ok(FunctionRecord {
        name: document.key.clone(),
        function,
        created: time("created")?,
        modified: time("modified")?,
    })
}

/// `config` checked as an API request gives it.
fn checked(name: &str, config: &FunctionConfig, base: &Path) -> Result<Function, Error> {
    config
        .check(name, base, Naming::Api)
        .map_err(|problems| Error::Invalid { problems })
}

fn semaphore(function: &Function) -> Option<Arc<Semaphore>> {
    function
        .concurrency
        .map(|n| Arc::new(Semaphore::new(n as usize)))
}

/// What one task asks of the registry, found before anything runs.
enum Prepared {
    /// A function call.
    Function {
        entry: Arc<Entry>,
        event: Value,
        style: Style,
        /// `lambda:invoke` with `LogType: Tail`: the answer carries the end of the log.
        log_tail: bool,
    },
    /// An HTTP Task.
    Http(http_task::HttpTask),
}

impl Registry {
    /// An empty registry kept in memory only.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// A registry with the functions of a registry file, in memory only (`weir run`). The error
    /// names the file and lists every problem in it.
    pub fn load(path: &Path) -> Result<Registry, Error> {
        let registry = Registry::new();
        let now = Timestamp::now();
        {
            let mut map = registry.write_map();
            for (name, function) in read_file(path)? {
                let permits = semaphore(&function);
                let record = FunctionRecord {
                    name: name.clone(),
                    function,
                    created: now,
                    modified: now,
                };
                map.insert(name, Arc::new(Entry { record, permits }));
            }
        }
        *registry
            .source
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(path.to_path_buf());
        Ok(registry)
    }

    /// A registry kept in `store`, with the functions stored there. A stored function that
    /// cannot be read back is skipped with a warning (the others still run).
    pub async fn open(store: Arc<dyn Store>) -> Result<Registry, Error> {
        let documents = store.list_documents(KIND, "").await?;
        let mut map = BTreeMap::new();
        for document in &documents {
            match record_from(document) {
                Ok(record) => {
                    let permits = semaphore(&record.function);
                    map.insert(record.name.clone(), Arc::new(Entry { record, permits }));
                }
                Err(error) => {
                    tracing::warn!(function = %document.key, %error, "Stored function skipped.");
                }
            }
        }
        Ok(Registry {
            store: Some(store),
            functions: RwLock::new(map),
            ..Registry::default()
        })
    }

    /// Sends the stderr lines of command functions to `echo` instead of weir's stderr.
    pub fn with_echo(mut self, echo: Echo) -> Registry {
        self.echo = echo;
        self
    }

    /// Reports every attempt under the engine (`weir_function_*`) and the custom metrics
    /// command functions print on stderr to `reporter` from now on. The first reporter set
    /// stays.
    pub fn report_to(&self, reporter: Arc<engine::metrics::Reporter>) {
        let _ = self.reporter.set(reporter);
    }

    /// The store, when the registry has one.
    pub fn store(&self) -> Option<&Arc<dyn Store>> {
        self.store.as_ref()
    }

    /// Registers (creating or replacing, and storing) every function of a registry file; the
    /// names registered. Nothing is registered if the file has a problem.
    pub async fn apply_file(&self, path: &Path) -> Result<Vec<String>, Error> {
        let functions = read_file(path)?;
        let mut names = Vec::new();
        for (name, function) in functions {
            self.put(&name, function).await?;
            names.push(name);
        }
        *self.source.write().unwrap_or_else(PoisonError::into_inner) = Some(path.to_path_buf());
        Ok(names)
    }

    /// Checks `config` (relative paths against `base`, problems in the API's words) and registers
    /// it as a new function.
    pub async fn create(
        &self,
        name: &str,
        config: &FunctionConfig,
        base: &Path,
    ) -> Result<FunctionRecord, Error> {
        let function = checked(name, config, base)?;
        let _writing = self.writes.lock().await;
        if self.read_map().contains_key(name) {
            return Err(Error::AlreadyExists {
                name: name.to_string(),
            });
        }
        let now = Timestamp::now();
        let record = FunctionRecord {
            name: name.to_string(),
            function,
            created: now,
            modified: now,
        };
        if let Some(store) = &self.store {
            match store
                .put_document(KIND, name, document_body(&record)?, None)
                .await
            {
                Ok(_) => {}
                Err(store::Error::AlreadyExists { .. }) => {
                    return Err(Error::AlreadyExists {
                        name: name.to_string(),
                    });
                }
                Err(e) => return Err(Error::Store(e)),
            }
        }
        Ok(self.install(record))
    }

    /// Checks `config` and replaces the existing function `name` with it.
    pub async fn update(
        &self,
        name: &str,
        config: &FunctionConfig,
        base: &Path,
    ) -> Result<FunctionRecord, Error> {
        let function = checked(name, config, base)?;
        self.write(name, function, true).await
    }

    /// Creates or replaces function `name` (already checked), storing it first.
    pub async fn put(&self, name: &str, function: Function) -> Result<FunctionRecord, Error> {
        self.write(name, function, false).await
    }

    /// Stores and installs `function` as `name`; with `must_exist`, only over an existing one.
    async fn write(
        &self,
        name: &str,
        function: Function,
        must_exist: bool,
    ) -> Result<FunctionRecord, Error> {
        let _writing = self.writes.lock().await;
        let now = Timestamp::now();
        let existing = self.read_map().get(name).map(|e| e.record.created);
        if must_exist && existing.is_none() {
            return Err(Error::NotFound {
                name: name.to_string(),
            });
        }
        let record = FunctionRecord {
            name: name.to_string(),
            function,
            created: existing.unwrap_or(now),
            modified: now,
        };
        if let Some(store) = &self.store {
            let expected = store.get_document(KIND, name).await?.map(|d| d.version);
            store
                .put_document(KIND, name, document_body(&record)?, expected)
                .await?;
        }
        Ok(self.install(record))
    }

    /// Puts `record` in the map, keeping the semaphore when the limit is unchanged.
    fn install(&self, record: FunctionRecord) -> FunctionRecord {
        let mut map = self.write_map();
        let permits = match map.get(&record.name) {
            Some(old) if old.record.function.concurrency == record.function.concurrency => {
                old.permits.clone()
            }
            _ => semaphore(&record.function),
        };
        map.insert(
            record.name.clone(),
            Arc::new(Entry {
                record: record.clone(),
                permits,
            }),
        );
        record
    }

    /// Deletes function `name`; attempts already running finish.
    pub async fn delete(&self, name: &str) -> Result<(), Error> {
        let _writing = self.writes.lock().await;
        let stored = match &self.store {
            Some(store) => store.delete_document(KIND, name).await?,
            None => false,
        };
        let known = self.write_map().remove(name).is_some();
        if known || stored {
            Ok(())
        } else {
            Err(Error::NotFound {
                name: name.to_string(),
            })
        }
    }

    /// Every function, by name.
    pub fn list(&self) -> Vec<FunctionRecord> {
        self.read_map().values().map(|e| e.record.clone()).collect()
    }

    /// One function.
    pub fn get(&self, name: &str) -> Option<FunctionRecord> {
        self.read_map().get(name).map(|e| e.record.clone())
    }

    /// The task logs of one execution (see [`logs::logs`]); none without a store.
    pub async fn logs(
        &self,
        execution_arn: &str,
        state: Option<&str>,
        attempt: Option<u64>,
    ) -> Result<Vec<TaskLog>, Error> {
        match &self.store {
            Some(store) => logs::logs(store.as_ref(), execution_arn, state, attempt).await,
            None => Ok(Vec::new()),
        }
    }

    fn read_map(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Entry>>> {
        self.functions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write_map(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Entry>>> {
        self.functions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs one task synchronously and answers it (`weir run`); `duration` is the wall time the
    /// task took. Tasks run one at a time here, so `concurrency` never has to wait.
    pub fn run(&self, task: &TaskCommand) -> TaskAnswer {
        let started = Instant::now();
        let mut answer = match self.perform(task) {
            Ok(output) => TaskAnswer::ok(output),
            Err(f) => TaskAnswer::fail(&f.error, &f.cause),
        };
        answer.duration =
            SignedDuration::try_from(started.elapsed()).unwrap_or(SignedDuration::MAX);
        answer
    }

    /// Runs one task synchronously: its result, or its failure as an ASL error. Callbacks
    /// (`.waitForTaskToken`) are refused: nothing here can wait for a token.
    pub fn perform(&self, task: &TaskCommand) -> Result<Value, Failure> {
        let attempt = Attempt {
            idempotency_key: task.idempotency_key.clone(),
            attempt: task.attempt,
            timeout_seconds: task.timeout_seconds,
            started: Instant::now(),
            echo: self.echo,
            reporter: None,
        };
        let prepared = self.prepare(&task.resource, &task.input, false, &attempt)?;
        execute(&prepared, &attempt).0
    }

    /// Finds what a task runs.
    fn prepare(
        &self,
        resource: &str,
        input: &Value,
        callbacks: bool,
        attempt: &Attempt,
    ) -> Result<Prepared, Failure> {
        let (reference, event, style) = match invoke::classify(resource) {
            Some(Resource::Function) => (resource, input.clone(), Style::Direct),
            Some(Resource::Invoke) => {
                let (reference, event) = invoke::invoke_target(input)?;
                (reference, event, Style::Invoke)
            }
            Some(Resource::InvokeCallback) if callbacks => {
                let (reference, event) = invoke::invoke_target(input)?;
                (reference, event, Style::Invoke)
            }
            Some(Resource::Http) => return http_task::parse(input).map(Prepared::Http),
            Some(Resource::InvokeCallback) => {
                return Err(Failure::new(
                    names::TASK_FAILED,
                    format!(
                        "weir run does not support the resource '{resource}' yet: callbacks \
                         (.waitForTaskToken) need a task token service, which weir run does not \
                         have yet"
                    ),
                ));
            }
            None => {
                let who = if callbacks { "weir" } else { "weir run" };
                return Err(Failure::new(
                    names::TASK_FAILED,
                    format!(
                        "{who} does not support the resource '{resource}' yet: its function \
                         runtime runs arn:aws:lambda:REGION:ACCOUNT:function:NAME, \
                         arn:aws:states:::lambda:invoke{} and arn:aws:states:::http:invoke",
                        if callbacks { "[.waitForTaskToken]" } else { "" }
                    ),
                ));
            }
        };
        let name = invoke::function_name(reference);
        let entry = self.read_map().get(name).cloned();
        match entry {
            Some(entry) => Ok(Prepared::Function {
                entry,
                event,
                style,
                log_tail: style == Style::Invoke
                    && input.get("LogType").and_then(Value::as_str) == Some("Tail"),
            }),
            None => Err(self.not_found(reference, name, &attempt.request_id())),
        }
    }

    fn not_found(&self, reference: &str, name: &str, request_id: &str) -> Failure {
        let known: Vec<String> = self.read_map().keys().cloned().collect();
        let known = if known.is_empty() {
            "it registers none".to_string()
        } else {
            format!("it registers {}", known.join(", "))
        };
        let source = self
            .source
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let detail = match (&source, &self.store) {
            (None, None) => "no --functions registry was given".to_string(),
            (Some(path), None) => format!(
                "the function registry {} has no function '{name}'; {known}",
                path.display()
            ),
            (source, Some(_)) => {
                let from = source.as_ref().map_or(String::new(), |p| {
                    format!(" (from --functions {} and CreateFunction)", p.display())
                });
                format!(
                    "the function registry{from} has no function '{name}'; {known}; `weir \
                     functions create` adds one"
                )
            }
        };
        // Under the engine (`weir server`, `weir run --durable`) the cause is AWS's own words,
        // so code matching on it works unchanged, and what weir knows about the registry goes to
        // the log; `weir run` in memory has only its output to tell the user with.
        let detail = if self.store.is_some() {
            tracing::warn!(function = %name, "Function not found: {detail}.");
            String::new()
        } else {
            detail
        };
        invoke::service_error(
            "ResourceNotFoundException",
            404,
            &format!("Function not found: {}", invoke::not_found_arn(reference)),
            request_id,
            &detail,
        )
    }

    /// Runs one attempt for the engine: waits for a concurrency slot, runs the function on a
    /// blocking thread, writes its log.
    async fn call(self: Arc<Self>, request: TaskRequest) -> Result<Value, TaskFailure> {
        let started_at = Timestamp::now();
        let attempt = Attempt {
            idempotency_key: request.idempotency_key.clone(),
            attempt: request.attempt,
            timeout_seconds: request.timeout_seconds,
            started: Instant::now(),
            echo: self.echo,
            reporter: self.reporter.get().cloned(),
        };
        let prepared = self.prepare(&request.resource, &request.input, true, &attempt);
        let function = match &prepared {
            Ok(Prepared::Function { entry, .. }) => Some(entry.record.name.clone()),
            _ => None,
        };
        let (result, trace) = match prepared {
            Err(failure) => (Err(failure), Trace::not_started()),
            Ok(prepared) => {
                let permits = match &prepared {
                    Prepared::Function { entry, .. } => entry.permits.clone(),
                    Prepared::Http(_) => None,
                };
                // The semaphore is never closed, so acquiring only waits.
                let permit = match permits {
                    Some(permits) => match permits.clone().try_acquire_owned() {
                        Ok(permit) => Some(permit),
                        Err(_) => {
                            if let (Some(reporter), Some(name)) = (&attempt.reporter, &function) {
                                reporter.function_throttled(name);
                            }
                            permits.acquire_owned().await.ok()
                        }
                    },
                    None => None,
                };
                let blocking_attempt = attempt.clone();
                let ran = tokio::task::spawn_blocking(move || {
                    // The slot is held until the process has really ended.
                    let _permit = permit;
                    let started = Instant::now();
                    let ran = execute(&prepared, &blocking_attempt);
                    (ran, started.elapsed().as_secs_f64())
                })
                .await;
                let ran = ran.map(|(ran, seconds)| {
                    if let (Some(reporter), Some(name)) = (&attempt.reporter, &function) {
                        let outcome = match &ran.0 {
                            Ok(_) => FunctionOutcome::Succeeded,
                            Err(f) if is_timeout(&f.error) => FunctionOutcome::TimedOut,
                            Err(_) => FunctionOutcome::Failed,
                        };
                        reporter.function_attempt(name, outcome, seconds);
                    }
                    ran
                });
                ran.unwrap_or_else(|join| {
                    let cause = format!("the function runner stopped: {join}");
                    (
                        Err(Failure::new(names::TASK_FAILED, cause)),
                        Trace::not_started(),
                    )
                })
            }
        };
        if let Some(store) = &self.store {
            let log = TaskLog {
                execution_arn: request.execution_arn.clone(),
                state: request.state.clone(),
                attempt: request.attempt,
                idempotency_key: request.idempotency_key.clone(),
                function,
                resource: request.resource.clone(),
                started: started_at,
                ended: Timestamp::now(),
                status: trace.status,
                error: result.as_ref().err().map(|f| f.error.clone()),
                cause: result.as_ref().err().map(|f| f.cause.clone()),
                stdout: trace.stdout.finish(),
                stderr: trace.stderr.finish(),
            };
            if let Err(error) = logs::write(store.as_ref(), &log).await {
                tracing::warn!(
                    execution = %request.execution_arn,
                    state = %request.state,
                    attempt = request.attempt,
                    %error,
                    "Task log not written."
                );
            }
        }
        result.map_err(|f| TaskFailure::new(f.error, f.cause))
    }
}

/// Whether an attempt's error is a timeout: the function's own (`Sandbox.Timedout`) or the
/// Task's (`States.Timeout`).
fn is_timeout(error: &str) -> bool {
    error == names::TIMEOUT || error == "Sandbox.Timedout"
}

/// Runs a prepared task (blocking).
fn execute(prepared: &Prepared, attempt: &Attempt) -> (Result<Value, Failure>, Trace) {
    match prepared {
        Prepared::Function {
            entry,
            event,
            style,
            log_tail,
        } => {
            let (result, trace) = invoke::call(
                &entry.record.name,
                &entry.record.function,
                event,
                attempt,
                *style,
            );
            let result = result.map(|reply| match style {
                Style::Direct => reply.result,
                Style::Invoke => {
                    let log = log_tail.then(|| {
                        invoke::log_result(&attempt.request_id(), &trace.stderr, attempt.started)
                    });
                    invoke::invoke_output(reply, &attempt.request_id(), log.as_deref())
                }
            });
            (result, trace)
        }
        Prepared::Http(task) => http_task::run(task, attempt),
    }
}

/// The function runtime as the engine's task handler: runs the registry's functions and HTTP
/// Tasks for the resources [`crate::supports`] accepts, concurrently up to each function's
/// `concurrency`, and keeps a log of every attempt when the registry has a store.
#[derive(Clone)]
pub struct FunctionHandler {
    registry: Arc<Registry>,
}

impl FunctionHandler {
    /// A handler running `registry`'s functions.
    pub fn new(registry: Arc<Registry>) -> FunctionHandler {
        FunctionHandler { registry }
    }

    /// The registry it runs.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }
}

impl Handler for FunctionHandler {
    fn supports(&self, resource: &str) -> bool {
        crate::supports(resource)
    }

    fn report_to(&self, reporter: Arc<engine::metrics::Reporter>) {
        self.registry.report_to(reporter);
    }

    fn call(&self, request: TaskRequest) -> BoxFuture<'static, Result<Value, TaskFailure>> {
        Box::pin(self.registry.clone().call(request))
    }
}
