//! Tasks: what a Task state's `Resource` runs. In this crate tasks are in-process [`Handler`]s
//! registered by the host program; the runtime for functions, activities and callbacks plugs in
//! behind the same trait.

use crate::BoxFuture;
use asl::execution::{Event, TaskCommand, WAIT_FOR_TASK_TOKEN};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

/// One attempt of a task, as the engine hands it to a handler.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRequest {
    /// The execution ARN.
    pub execution_arn: String,
    /// The Task state's name.
    pub state: String,
    /// The state's `Resource`.
    pub resource: String,
    /// The effective parameters.
    pub input: Value,
    /// Unique per execution, thread, state and attempt: the same key means the same logical task,
    /// even when a crash makes the engine deliver it again.
    pub idempotency_key: String,
    /// The attempt number (0 for the first).
    pub attempt: u64,
    /// The state's `TimeoutSeconds` (AWS's default when the definition gives none); the engine
    /// fails the attempt with `States.Timeout` when it runs longer, and ignores a later answer.
    pub timeout_seconds: u64,
}

impl TaskRequest {
    /// The request for one task command of execution `arn`.
    pub(crate) fn of(arn: &str, task: &TaskCommand) -> Self {
        TaskRequest {
            execution_arn: arn.to_string(),
            state: task.state.clone(),
            resource: task.resource.clone(),
            input: task.input.clone(),
            idempotency_key: task.idempotency_key.clone(),
            attempt: task.attempt,
            timeout_seconds: task.timeout_seconds,
        }
    }
}

/// The event that answers a task with its handler's result. For a `.waitForTaskToken` task the
/// handler only made the call that hands out the token: its result is recorded as submitted and
/// the task goes on waiting for `SendTaskSuccess` or `SendTaskFailure`.
pub(crate) fn answer(task: &TaskCommand, result: Result<Value, TaskFailure>) -> Event {
    match result {
        Ok(output) if task.resource.ends_with(WAIT_FOR_TASK_TOKEN) => Event::TaskSubmitted {
            thread: task.thread,
            wake: task.wake,
            output,
        },
        Ok(output) => Event::TaskSucceeded {
            thread: task.thread,
            wake: task.wake,
            output,
        },
        Err(failure) => Event::TaskFailed {
            thread: task.thread,
            wake: task.wake,
            error: failure.error,
            cause: failure.cause,
        },
    }
}

/// A task's failure: an ASL error name and cause, matched by Retry and Catch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    /// The error name (`States.TaskFailed`, a function's `errorType`, ...).
    pub error: String,
    /// The cause.
    pub cause: String,
}

impl TaskFailure {
    /// A failure with this error name and cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        TaskFailure {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

/// Runs tasks. Called once per delivery: at least once per attempt.
pub trait Handler: Send + Sync {
    /// Runs one attempt and returns its result or failure.
    fn call(&self, request: TaskRequest) -> BoxFuture<'static, Result<Value, TaskFailure>>;

    /// Whether this handler runs tasks with this `Resource`; the engine refuses a definition
    /// that calls a resource nothing runs. Activities and `states:startExecution` are the
    /// engine's own and never reach a handler.
    fn supports(&self, resource: &str) -> bool {
        let _ = resource;
        true
    }

    /// Where to report what it runs (function attempts, custom metrics). The engine calls it
    /// once, when it starts, before any task runs; a handler with nothing to report ignores it.
    fn report_to(&self, reporter: std::sync::Arc<crate::metrics::Reporter>) {
        let _ = reporter;
    }
}

/// A handler made from an async function.
pub struct FnHandler<F>(F);

impl<F, Fut> Handler for FnHandler<F>
where
    F: Fn(TaskRequest) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, TaskFailure>> + Send + 'static,
{
    fn call(&self, request: TaskRequest) -> BoxFuture<'static, Result<Value, TaskFailure>> {
        Box::pin((self.0)(request))
    }
}

/// Wraps an async function as a [`Handler`].
pub fn handler_fn<F, Fut>(f: F) -> Arc<dyn Handler>
where
    F: Fn(TaskRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, TaskFailure>> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

/// Handlers chosen by the task's exact `Resource`; a resource with no handler fails the task
/// with `States.TaskFailed` and a cause that names it.
#[derive(Default, Clone)]
pub struct Handlers {
    by_resource: HashMap<String, Arc<dyn Handler>>,
}

impl Handlers {
    /// No handlers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `handler` for tasks whose `Resource` is `resource`.
    pub fn insert(&mut self, resource: impl Into<String>, handler: Arc<dyn Handler>) {
        self.by_resource.insert(resource.into(), handler);
    }
}

impl Handler for Handlers {
    fn supports(&self, resource: &str) -> bool {
        self.by_resource.contains_key(resource)
    }

    fn call(&self, request: TaskRequest) -> BoxFuture<'static, Result<Value, TaskFailure>> {
        match self.by_resource.get(&request.resource) {
            Some(handler) => handler.call(request),
            None => {
                let cause = format!(
                    "No handler is registered for resource '{}' (state '{}').",
                    request.resource, request.state
                );
                Box::pin(async move { Err(TaskFailure::new("States.TaskFailed", cause)) })
            }
        }
    }
}
