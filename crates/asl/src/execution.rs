//! The state-transition function: an execution's state and one event in, the next state, the
//! history events AWS would record and the commands to carry out, out.
//!
//! # Model
//! An [`Execution`] is a set of threads of control. The root thread runs the top-level states;
//! each Parallel branch and each Map iteration runs in a child thread. A thread is either
//! *blocked* (on a task, a timer, or its children) or being advanced inside [`step`]. `step` runs
//! every thread it touches until each is blocked again or finished, so one call covers any number of
//! Pass/Choice/Succeed transitions.
//!
//! Every blocking point gets a fresh *wake id*. Commands carry it and the events that answer them
//! must echo it: an answer for a wait that is over (a task of an aborted branch, a timer of a state
//! that was left) is recognised and ignored, so the engine may deliver events at least once.
//!
//! # Purity
//! `step` reads no clock, does no I/O and draws randomness only from the seed it is given.

use crate::definition::{
    Amount, Catcher, FailText, MapMode, QueryLanguage, ResultHandling, ResultPath, Retrier, Scope,
    State, StateKind, StateMachine, Tolerance, Transition, WaitFor,
};
use crate::error::{Failure, names};
use crate::history::{self, HistoryEvent};
use crate::jsonata::{self, Expression};
use crate::path::{Env, Path};
use crate::rng::Rng;
use crate::template::Template;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, VecDeque};

pub(crate) mod jsonata_fields;
pub mod redrive;
pub mod token;

pub use redrive::{NotRedrivable, Stopped, redrivable};
pub use token::TaskToken;

/// The largest payload (state input or output, task result) AWS accepts: 256 KiB.
pub const PAYLOAD_LIMIT: usize = 262_144;

/// The most history events an execution may have; AWS fails the execution beyond this.
pub const HISTORY_LIMIT: u64 = 25_000;

/// The most bytes of workflow variables one execution may hold (AWS: 10 MiB).
pub const VARIABLES_LIMIT: usize = 10 * 1024 * 1024;

/// The Task timeout AWS applies when a definition gives none.
pub const DEFAULT_TASK_TIMEOUT_SECONDS: u64 = 99_999_999;

/// Identifies a thread of control inside one execution.
pub type ThreadId = u64;

/// The root thread's id.
pub const ROOT: ThreadId = 0;

/// Facts about an execution fixed when it starts (the `$$.Execution` and `$$.StateMachine` parts
/// of the context object).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExecutionInfo {
    /// The execution ARN (`$$.Execution.Id`).
    pub arn: String,
    /// The execution name.
    pub name: String,
    /// The state machine ARN (`$$.StateMachine.Id`).
    pub state_machine_arn: String,
    /// The state machine name.
    pub state_machine_name: String,
    /// The role ARN the execution runs as.
    pub role_arn: String,
    /// When the execution started.
    pub start_time: Timestamp,
    /// The execution input.
    pub input: Value,
    /// How many times the execution was redriven; `None` for synchronous Express executions,
    /// whose context object AWS shows without the field.
    pub redrive_count: Option<u32>,
    /// When the execution was last redriven (`$$.Execution.RedriveTime`); `None` until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redrive_time: Option<Timestamp>,
    /// Whether this is an Express execution (no history kept, not redrivable).
    pub express: bool,
    /// Whether [`step`] returns history events. Express executions without logging turn it off:
    /// nothing reads their history, and building it costs a copy of every state's input and
    /// output. Event ids are counted either way.
    #[serde(default = "keep_history_default")]
    pub keep_history: bool,
}

fn keep_history_default() -> bool {
    true
}

impl ExecutionInfo {
    /// Facts for an execution of `state_machine_arn` named `name`, with AWS-shaped ARNs.
    pub fn new(state_machine_arn: &str, name: &str, input: Value, start_time: Timestamp) -> Self {
        let state_machine_name = state_machine_arn
            .rsplit(':')
            .next()
            .unwrap_or(state_machine_arn)
            .to_string();
        let arn = match state_machine_arn.split_once(":stateMachine:") {
            Some((prefix, machine)) => format!("{prefix}:execution:{machine}:{name}"),
            None => format!("{state_machine_arn}:{name}"),
        };
        let account_prefix = state_machine_arn
            .split_once(":states:")
            .map(|(_, rest)| rest.splitn(3, ':').take(2).collect::<Vec<_>>())
            .and_then(|parts| parts.get(1).map(|account| account.to_string()))
            .unwrap_or_else(|| "000000000000".to_string());
        ExecutionInfo {
            arn,
            name: name.to_string(),
            state_machine_arn: state_machine_arn.to_string(),
            state_machine_name,
            role_arn: format!("arn:aws:iam::{account_prefix}:role/weir-execution"),
            start_time,
            input,
            redrive_count: Some(0),
            redrive_time: None,
            express: false,
            keep_history: true,
        }
    }

    /// Facts for an Express execution: its ARN has AWS's `express:<machine>:<name>:<id>` form.
    /// `sync` marks one started by `StartSyncExecution`.
    pub fn new_express(
        state_machine_arn: &str,
        name: &str,
        id: &str,
        input: Value,
        start_time: Timestamp,
        sync: bool,
    ) -> Self {
        let mut info = ExecutionInfo::new(state_machine_arn, name, input, start_time);
        if sync {
            info.redrive_count = None;
        }
        if let Some((prefix, machine)) = state_machine_arn.split_once(":stateMachine:") {
            info.arn = format!("{prefix}:express:{machine}:{name}:{id}");
        }
        info.express = true;
        info
    }
}

/// An execution's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Status {
    /// Still running.
    Running,
    /// Finished with an output.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Ran past `TimeoutSeconds`.
    TimedOut,
    /// Stopped by a caller.
    Aborted,
}

impl Status {
    /// The status as AWS spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

/// What a blocked thread waits for.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Blocked {
    /// Not blocked: about to be advanced (only seen inside `step`).
    Ready,
    /// A task with this wake id.
    Task {
        /// The wake id the answer must echo.
        wake: u64,
        /// When the task times out (`TimeoutSeconds` below AWS's default).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_at: Option<Timestamp>,
        /// `HeartbeatSeconds`, and when the next heartbeat is due.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        heartbeat: Option<Heartbeat>,
        /// Whether the task's call was recorded as submitted (`TaskSubmitted`, once).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        submitted: bool,
    },
    /// A Wait state's timer.
    Wait {
        /// The wake id the timer must echo.
        wake: u64,
    },
    /// A retry's back-off timer.
    Retry {
        /// The wake id the timer must echo.
        wake: u64,
    },
    /// The branches or iterations of a Parallel or Map state.
    Children(FanOut),
}

/// A task's heartbeat: the longest silence allowed (`HeartbeatSeconds`) and when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Heartbeat {
    /// `HeartbeatSeconds`.
    pub seconds: u64,
    /// The task fails with `States.HeartbeatTimeout` at this time unless a heartbeat (or its
    /// result) arrives first.
    pub due: Timestamp,
}

/// Whether a fan-out runs Parallel branches or Map iterations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FanKind {
    /// Parallel branches.
    Parallel,
    /// Inline Map iterations.
    Map,
    /// Distributed Map iterations (a Map Run of child executions, run here in memory).
    MapRun,
}

/// Bookkeeping of a Parallel or Map state while its children run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FanOut {
    /// Branches or iterations.
    pub kind: FanKind,
    /// The input of each child not started yet, by index (Map computes them up front).
    pub inputs: Vec<Value>,
    /// Each child's result, once it has one.
    pub results: Vec<Option<Value>>,
    /// The next child index to start.
    pub next: usize,
    /// Running children: index → thread.
    pub running: BTreeMap<usize, ThreadId>,
    /// How many children may run at once (0: no limit).
    pub max_concurrency: usize,
    /// How many children failed.
    pub failures: usize,
    /// `ToleratedFailureCount`, if any.
    pub tolerated_count: Option<u64>,
    /// `ToleratedFailurePercentage`, if any.
    pub tolerated_percentage: Option<f64>,
    /// Children that failed or were aborted, by index, as they stood then: what a redrive
    /// resumes (see [`redrive`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stopped: BTreeMap<usize, Stopped>,
    /// The Map Run's ARN, for a distributed Map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_run: Option<String>,
}

impl FanOut {
    /// The Map Run's state now, as `DescribeMapRun` reports it; `None` unless a distributed Map.
    pub fn map_run_report(&self, status: &str, at: Timestamp) -> Option<MapRunReport> {
        let arn = self.map_run.clone()?;
        let total = self.results.len() as u64;
        let finished = self.results.iter().filter(|r| r.is_some()).count() as u64;
        let failed = self.failures as u64;
        let running = self.running.len() as u64;
        Some(MapRunReport {
            arn,
            status: status.to_string(),
            total,
            pending: total.saturating_sub(self.next as u64),
            running,
            succeeded: finished.saturating_sub(failed.min(finished)),
            failed,
            aborted: if status == "ABORTED" || status == "FAILED" {
                running
            } else {
                0
            },
            max_concurrency: self.max_concurrency as u64,
            tolerated_count: self.tolerated_count,
            tolerated_percentage: self.tolerated_percentage,
            at,
            start: false,
        })
    }
}

/// A Map Run's state when it started, changed or ended: what `DescribeMapRun` shows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MapRunReport {
    /// The Map Run ARN.
    pub arn: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED` or `ABORTED`.
    pub status: String,
    /// Items in all.
    pub total: u64,
    /// Items not started.
    pub pending: u64,
    /// Items running.
    pub running: u64,
    /// Items that succeeded.
    pub succeeded: u64,
    /// Items that failed.
    pub failed: u64,
    /// Items stopped when the run failed or was aborted.
    pub aborted: u64,
    /// `MaxConcurrency` (0: no limit).
    pub max_concurrency: u64,
    /// `ToleratedFailureCount`, if any.
    pub tolerated_count: Option<u64>,
    /// `ToleratedFailurePercentage`, if any.
    pub tolerated_percentage: Option<f64>,
    /// When this state was reached.
    pub at: Timestamp,
    /// Whether this report is the run's start.
    #[serde(default)]
    pub start: bool,
}

/// One thread of control.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Thread {
    /// The parent thread and this thread's branch or item index.
    pub parent: Option<(ThreadId, usize)>,
    /// The scopes from the top down to the one this thread runs in: `(state, branch)` pairs.
    pub scope: Vec<(String, usize)>,
    /// A stable name for the thread inside the execution (`MapState[3]/Par[1]`), used in
    /// idempotency keys.
    pub label: String,
    /// The current state.
    pub state: String,
    /// The current state's raw input.
    pub input: Value,
    /// The id of the current state's `...StateEntered` event.
    pub entered_event_id: u64,
    /// When the current state was entered.
    pub entered_time: Timestamp,
    /// The last event this thread recorded.
    pub last_event_id: u64,
    /// The workflow variables visible to this thread.
    pub variables: Map<String, Value>,
    /// Attempts made so far under each retrier of the current state.
    pub retry_attempts: Vec<u64>,
    /// `$$.State.RetryCount`.
    pub retry_count: u64,
    /// The item this Map iteration runs (`$$.Map.Item`).
    pub map_item: Option<(usize, Value)>,
    /// What the thread waits for.
    pub blocked: Blocked,
}

/// An execution's state between two events.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Execution {
    /// Facts fixed at start.
    pub info: ExecutionInfo,
    /// The status.
    pub status: Status,
    /// The output, once succeeded.
    pub output: Option<Value>,
    /// The error, once failed, timed out or aborted.
    pub failure: Option<Failure>,
    /// Live threads.
    pub threads: BTreeMap<ThreadId, Thread>,
    /// The id of the last history event.
    pub last_event_id: u64,
    next_id: u64,
    /// When the execution last stopped (failed, timed out, was aborted or succeeded); `None`
    /// while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_time: Option<Timestamp>,
    /// Where [`Event::Redrive`] resumes a failed, timed-out or aborted execution: its root thread
    /// as it stood when it stopped (see [`redrive`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redrive_from: Option<Stopped>,
}

impl Execution {
    /// Whether the task attempt with this thread and wake id still waits for its answer (a
    /// callback for it would be heard).
    pub fn waits_for_task(&self, thread: ThreadId, wake: u64) -> bool {
        self.threads
            .get(&thread)
            .is_some_and(|t| matches!(t.blocked, Blocked::Task { wake: w, .. } if w == wake))
    }

    /// A new execution that has not started: feed it [`Event::Start`].
    pub fn new(info: ExecutionInfo) -> Self {
        Execution {
            info,
            status: Status::Running,
            output: None,
            failure: None,
            threads: BTreeMap::new(),
            last_event_id: 0,
            next_id: 1,
            stop_time: None,
            redrive_from: None,
        }
    }

    fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}

/// Something that happened to an execution.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Event {
    /// The execution starts.
    Start,
    /// A task finished with a result.
    TaskSucceeded {
        /// The thread that ran it.
        thread: ThreadId,
        /// The wake id from the command.
        wake: u64,
        /// The task's result.
        output: Value,
    },
    /// A task failed (including timeouts: error `States.Timeout`).
    TaskFailed {
        /// The thread that ran it.
        thread: ThreadId,
        /// The wake id from the command.
        wake: u64,
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
    /// A timer fired.
    TimerFired {
        /// The thread that set it.
        thread: ThreadId,
        /// The wake id from the command.
        wake: u64,
    },
    /// The execution ran past its `TimeoutSeconds`.
    TimedOut,
    /// A caller stopped the execution.
    Stop {
        /// The error to record.
        error: Option<String>,
        /// The cause to record.
        cause: Option<String>,
    },
    /// A caller changes a running Map Run (`UpdateMapRun`); `None` leaves a setting as it is.
    UpdateMapRun {
        /// The Map Run ARN.
        map_run_arn: String,
        /// The new `MaxConcurrency` (0: no limit).
        max_concurrency: Option<u64>,
        /// The new `ToleratedFailureCount`.
        tolerated_count: Option<u64>,
        /// The new `ToleratedFailurePercentage`.
        tolerated_percentage: Option<f64>,
    },
    /// A caller redrives a failed, timed-out or aborted execution (`RedriveExecution`). Ignored
    /// unless [`redrivable`] allows it at the event's time.
    Redrive,
    /// A task's deadline timer fired ([`Command::TaskTimer`]): the task fails with
    /// `States.Timeout` or `States.HeartbeatTimeout` if that deadline has passed by now, and the
    /// event is ignored otherwise (a heartbeat moved it).
    TaskTimerFired {
        /// The thread that runs the task.
        thread: ThreadId,
        /// The wake id of the task.
        wake: u64,
    },
    /// A heartbeat for a waiting task (`SendTaskHeartbeat`): its heartbeat deadline starts over.
    TaskHeartbeat {
        /// The thread that runs the task.
        thread: ThreadId,
        /// The wake id of the task.
        wake: u64,
    },
    /// The integration call of a `.waitForTaskToken` task answered: the task now waits for its
    /// token (recorded as `TaskSubmitted`).
    TaskSubmitted {
        /// The thread that runs the task.
        thread: ThreadId,
        /// The wake id of the task.
        wake: u64,
        /// What the integration answered.
        output: Value,
    },
    /// A worker took an activity task (`GetActivityTask`), recorded as `ActivityStarted`.
    ActivityStarted {
        /// The thread that runs the task.
        thread: ThreadId,
        /// The wake id of the task.
        wake: u64,
        /// The worker's name, if it gave one.
        worker_name: Option<String>,
    },
}

/// A task to run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskCommand {
    /// The thread waiting for it.
    pub thread: ThreadId,
    /// The wake id the answer must echo.
    pub wake: u64,
    /// The Task state's name.
    pub state: String,
    /// The `Resource`.
    pub resource: String,
    /// The effective parameters: the task's input.
    pub input: Value,
    /// Unique per execution, state, Map index and attempt: a crash may repeat a command, and the
    /// task can use this key to do its work once.
    pub idempotency_key: String,
    /// How long the task may run.
    pub timeout_seconds: u64,
    /// How long the task may go without a heartbeat.
    pub heartbeat_seconds: Option<u64>,
    /// The attempt number (0 for the first).
    pub attempt: u64,
}

/// Something the engine must do after committing a step.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Command {
    /// Run a task and answer with [`Event::TaskSucceeded`] or [`Event::TaskFailed`].
    RunTask(TaskCommand),
    /// Fire [`Event::TimerFired`] at `at`.
    StartTimer {
        /// The thread that waits.
        thread: ThreadId,
        /// The wake id to echo.
        wake: u64,
        /// When to fire.
        at: Timestamp,
    },
    /// Fire [`Event::TimedOut`] at `at` (the execution's `TimeoutSeconds`).
    ExecutionTimeout {
        /// When to fire.
        at: Timestamp,
    },
    /// Fire [`Event::TaskTimerFired`] at `at`: a task's `TimeoutSeconds` or heartbeat deadline.
    TaskTimer {
        /// The thread that runs the task.
        thread: ThreadId,
        /// The wake id of the task.
        wake: u64,
        /// When to fire.
        at: Timestamp,
    },
    /// A task's deadline ([`Command::TaskTimer`]) is no longer needed: the task ended.
    CancelTaskTimer {
        /// The thread that ran the task.
        thread: ThreadId,
        /// The wake id of the task.
        wake: u64,
        /// The deadline the timer was armed for.
        at: Timestamp,
    },
    /// A task is no longer wanted (its branch was aborted, it timed out); cancelling it is best
    /// effort.
    CancelTask {
        /// The thread that waited.
        thread: ThreadId,
        /// The wake id of the task.
        wake: u64,
    },
}

/// The outcome of [`step`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Step {
    /// The execution after the event.
    pub execution: Execution,
    /// The history events to append.
    pub events: Vec<HistoryEvent>,
    /// The commands to carry out once the step is committed.
    pub commands: Vec<Command>,
    /// Map Runs that started, changed or ended in this step, in order.
    pub map_runs: Vec<MapRunReport>,
    /// The errors states met in this step and what became of each (for metrics).
    pub errors: Vec<ErrorHandled>,
}

/// An error a state met, and what its Retry and Catch fields did with it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ErrorHandled {
    /// The state's name.
    pub state: String,
    /// The error name.
    pub error: String,
    /// What became of it.
    pub outcome: ErrorOutcome,
}

/// What a state's error handling did with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ErrorOutcome {
    /// A retrier runs the state again.
    Retried,
    /// A catcher moves on to its `Next`.
    Caught,
    /// Neither: the error goes up (to the enclosing branch, iteration or the execution).
    Unhandled,
}

/// Decides what an event does to an execution.
///
/// `now` is the event's time and `seed` the only source of randomness (jitter, `States.UUID`).
pub fn step(
    def: &StateMachine,
    execution: Execution,
    event: Event,
    now: Timestamp,
    seed: u64,
) -> Step {
    let mut run = Run {
        def,
        exec: execution,
        events: Vec::new(),
        commands: Vec::new(),
        map_runs: Vec::new(),
        errors: Vec::new(),
        now,
        rng: Rng::new(seed),
        work: VecDeque::new(),
    };
    let last_event_id = run.exec.last_event_id;
    run.handle(event);
    run.drain();
    run.settle(last_event_id);
    Step {
        execution: run.exec,
        events: run.events,
        commands: run.commands,
        map_runs: run.map_runs,
        errors: run.errors,
    }
}

enum Work {
    Enter {
        state: String,
        input: Value,
    },
    Execute,
    ChildDone {
        index: usize,
        outcome: Result<Value, Failure>,
    },
    /// Run a thread restored by a redrive again (see [`redrive`]).
    Redrive,
}

struct Run<'d> {
    def: &'d StateMachine,
    exec: Execution,
    events: Vec<HistoryEvent>,
    commands: Vec<Command>,
    map_runs: Vec<MapRunReport>,
    errors: Vec<ErrorHandled>,
    now: Timestamp,
    rng: Rng,
    work: VecDeque<(ThreadId, Work)>,
}

/// What a template reads besides variables and the context object.
#[derive(Clone, Copy)]
struct Reads<'a> {
    /// JSONPath: the document `$` addresses.
    doc: &'a Value,
    /// JSONata: `$states.result`.
    result: Option<&'a Value>,
    /// JSONata: `$states.errorOutput`.
    error_output: Option<&'a Value>,
}

impl<'a> Reads<'a> {
    fn doc(doc: &'a Value) -> Self {
        Reads {
            doc,
            result: None,
            error_output: None,
        }
    }
}

/// The name of the field that holds a Task's or Parallel's input template.
fn arguments_field(state: &State) -> &'static str {
    match state.query_language {
        QueryLanguage::JsonPath => "Parameters",
        QueryLanguage::Jsonata => "Arguments",
    }
}

/// Results of processing a state's body.
enum Body {
    Blocked,
    Result(Value),
    Failed(Failure),
}

fn json_len(v: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Counter(0);
    // Writing into a counter cannot fail.
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

fn iso(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Splits a Task resource into AWS's `resourceType` and `resource` history fields.
pub fn resource_parts(resource: &str) -> (String, String) {
    if let Some(rest) = resource.strip_prefix("arn:aws:states:::") {
        if let Some((service, action)) = rest
            .strip_prefix("aws-sdk:")
            .and_then(|sdk| sdk.split_once(':'))
        {
            return (format!("aws-sdk:{service}"), action.to_string());
        }
        if let Some((service, action)) = rest.split_once(':') {
            return (service.to_string(), action.to_string());
        }
    }
    (String::new(), resource.to_string())
}

fn is_lambda_function_arn(resource: &str) -> bool {
    resource.starts_with("arn:aws:lambda:") && resource.contains(":function:")
}

/// The suffix of a resource whose task waits for its token (`SendTaskSuccess`/`Failure`).
pub const WAIT_FOR_TASK_TOKEN: &str = ".waitForTaskToken";

/// `at` plus `seconds`, or the end of time.
fn after(at: Timestamp, seconds: u64) -> Timestamp {
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
    at.saturating_add(SignedDuration::from_secs(seconds))
        .unwrap_or(Timestamp::MAX)
}

/// Whether a resource is an activity ARN (`arn:aws:states:REGION:ACCOUNT:activity:NAME`).
pub fn is_activity_arn(resource: &str) -> bool {
    resource.starts_with("arn:aws:states:") && resource.contains(":activity:")
}

/// A non-negative whole number, or a string holding one (AWS accepts both in `...Path` fields).
pub(crate) fn number_as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A value as error messages show it: strings bare, anything else as JSON.
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl<'d> Run<'d> {
    fn thread(&self, tid: ThreadId) -> Option<&Thread> {
        self.exec.threads.get(&tid)
    }

    fn thread_mut(&mut self, tid: ThreadId) -> Option<&mut Thread> {
        self.exec.threads.get_mut(&tid)
    }

    fn scope_of(&self, tid: ThreadId) -> Option<&'d Scope> {
        let t = self.thread(tid)?;
        self.def.scope_at(&t.scope)
    }

    fn state_of(&self, tid: ThreadId) -> Option<&'d State> {
        let scope = self.scope_of(tid)?;
        let t = self.thread(tid)?;
        scope.get(&t.state)
    }

    fn emit(
        &mut self,
        tid: Option<ThreadId>,
        event_type: &str,
        details: Option<(String, Value)>,
    ) -> u64 {
        let id = self.exec.last_event_id + 1;
        self.exec.last_event_id = id;
        let previous = match tid.and_then(|t| self.exec.threads.get_mut(&t)) {
            Some(t) => std::mem::replace(&mut t.last_event_id, id),
            None => id - 1,
        };
        if self.exec.info.keep_history {
            self.events.push(HistoryEvent {
                id,
                previous_event_id: previous,
                timestamp: self.now,
                event_type: event_type.to_string(),
                details,
            });
        }
        id
    }

    fn handle(&mut self, event: Event) {
        if self.exec.status != Status::Running && !matches!(event, Event::Redrive) {
            return;
        }
        match event {
            Event::Start => self.start(),
            Event::Redrive => self.redrive(),
            Event::TaskSucceeded {
                thread,
                wake,
                output,
            } => {
                if self.waits_for_task(thread, wake) {
                    self.task_succeeded(thread, output);
                }
            }
            Event::TaskFailed {
                thread,
                wake,
                error,
                cause,
            } => {
                if self.waits_for_task(thread, wake) {
                    self.task_failed(thread, Failure::new(error, cause));
                }
            }
            Event::TimerFired { thread, wake } => {
                let Some(t) = self.thread(thread) else { return };
                match t.blocked {
                    Blocked::Wait { wake: w } if w == wake => self.wait_over(thread),
                    Blocked::Retry { wake: w } if w == wake => {
                        if let Some(t) = self.thread_mut(thread) {
                            t.blocked = Blocked::Ready;
                        }
                        self.work.push_back((thread, Work::Execute));
                    }
                    _ => {}
                }
            }
            Event::TaskTimerFired { thread, wake } => self.task_deadline(thread, wake),
            Event::TaskHeartbeat { thread, wake } => self.task_heartbeat(thread, wake),
            Event::TaskSubmitted {
                thread,
                wake,
                output,
            } => {
                if self.waits_for_task(thread, wake) {
                    self.task_submitted(thread, output);
                }
            }
            Event::ActivityStarted {
                thread,
                wake,
                worker_name,
            } => {
                if self.waits_for_task(thread, wake) {
                    self.emit(
                        Some(thread),
                        "ActivityStarted",
                        Some(history::details(
                            "activityStartedEventDetails",
                            &[("workerName", worker_name.map(Value::String))],
                        )),
                    );
                    self.task_heartbeat(thread, wake);
                }
            }
            Event::TimedOut if self.stale_timeout() => {}
            Event::TimedOut => {
                self.cancel_all();
                self.emit(
                    None,
                    "ExecutionTimedOut",
                    Some(history::details(
                        "executionTimedOutEventDetails",
                        &[
                            ("error", Some(Value::String(names::TIMEOUT.into()))),
                            (
                                "cause",
                                Some(Value::String(
                                    "The execution has exceeded the maximum execution time".into(),
                                )),
                            ),
                        ],
                    )),
                );
                self.exec.status = Status::TimedOut;
                self.exec.failure = Some(Failure::new(
                    names::TIMEOUT,
                    "The execution has exceeded the maximum execution time",
                ));
            }
            Event::UpdateMapRun {
                map_run_arn,
                max_concurrency,
                tolerated_count,
                tolerated_percentage,
            } => self.update_map_run(
                &map_run_arn,
                max_concurrency,
                tolerated_count,
                tolerated_percentage,
            ),
            Event::Stop { error, cause } => {
                self.cancel_all();
                self.emit(
                    None,
                    "ExecutionAborted",
                    Some(history::details(
                        "executionAbortedEventDetails",
                        &[
                            ("error", error.clone().map(Value::String)),
                            ("cause", cause.clone().map(Value::String)),
                        ],
                    )),
                );
                self.exec.status = Status::Aborted;
                self.exec.failure = Some(Failure::new(
                    error.unwrap_or_default(),
                    cause.unwrap_or_default(),
                ));
            }
        }
    }

    fn waits_for_task(&self, tid: ThreadId, wake: u64) -> bool {
        self.thread(tid)
            .is_some_and(|t| matches!(t.blocked, Blocked::Task { wake: w, .. } if w == wake))
    }

    fn start(&mut self) {
        if !self.exec.threads.is_empty() || self.exec.last_event_id != 0 {
            return;
        }
        let input = self.exec.info.input.clone();
        self.emit(
            None,
            "ExecutionStarted",
            Some(history::details(
                "executionStartedEventDetails",
                &[
                    ("input", Some(input.clone())),
                    ("inputDetails", Some(history::truncated_false())),
                    (
                        "roleArn",
                        Some(Value::String(self.exec.info.role_arn.clone())),
                    ),
                ],
            )),
        );
        if let Some(secs) = self.def.timeout_seconds {
            let at = self.now + SignedDuration::from_secs(secs as i64);
            self.commands.push(Command::ExecutionTimeout { at });
        }
        let root = Thread {
            parent: None,
            scope: Vec::new(),
            label: String::new(),
            state: String::new(),
            input: Value::Null,
            entered_event_id: 0,
            entered_time: self.now,
            // The first state follows ExecutionStarted, as in AWS's histories.
            last_event_id: self.exec.last_event_id,
            variables: Map::new(),
            retry_attempts: Vec::new(),
            retry_count: 0,
            map_item: None,
            blocked: Blocked::Ready,
        };
        self.exec.threads.insert(ROOT, root);
        if json_len(&input) > PAYLOAD_LIMIT {
            self.finish_execution(Err(Failure::new(
                names::DATA_LIMIT_EXCEEDED,
                "The execution input exceeds the maximum number of bytes service limit.",
            )));
            return;
        }
        let start_at = self.def.scope.start_at.clone();
        self.work.push_back((
            ROOT,
            Work::Enter {
                state: start_at,
                input,
            },
        ));
    }

    fn drain(&mut self) {
        while let Some((tid, work)) = self.work.pop_front() {
            if self.exec.status != Status::Running {
                return;
            }
            if self.exec.last_event_id >= HISTORY_LIMIT {
                self.cancel_all();
                self.finish_execution(Err(Failure::runtime(format!(
                    "The execution reached the maximum number of history events ({HISTORY_LIMIT})."
                ))));
                return;
            }
            if !self.exec.threads.contains_key(&tid) {
                continue;
            }
            match work {
                Work::Enter { state, input } => self.enter(tid, state, input),
                Work::Execute => self.execute(tid),
                Work::ChildDone { index, outcome } => self.child_done(tid, index, outcome),
                Work::Redrive => self.resume(tid),
            }
        }
    }

    // ----- entering and running states ------------------------------------------------------

    fn enter(&mut self, tid: ThreadId, name: String, input: Value) {
        let Some(scope) = self.scope_of(tid) else {
            return;
        };
        let Some(state) = scope.get(&name) else {
            self.thread_done(
                tid,
                Err(Failure::runtime(format!("State '{name}' does not exist"))),
            );
            return;
        };
        let type_name = state.kind.type_name();
        let details = self
            .exec
            .info
            .keep_history
            .then(|| history::state_entered(&name, &input));
        if let Some(t) = self.thread_mut(tid) {
            t.state = name;
            t.input = input;
            t.retry_attempts = vec![0; retriers(state).len()];
            t.retry_count = 0;
            t.blocked = Blocked::Ready;
        }
        let id = self.emit(Some(tid), &format!("{type_name}StateEntered"), details);
        let now = self.now;
        if let Some(t) = self.thread_mut(tid) {
            t.entered_event_id = id;
            t.entered_time = now;
        }
        self.execute(tid);
    }

    fn context(&self, tid: ThreadId, state: &State, task_token: Option<&str>) -> Value {
        let Some(t) = self.thread(tid) else {
            return Value::Null;
        };
        let info = &self.exec.info;
        let mut execution = json!({
            "Id": info.arn,
            "Input": info.input,
            "Name": info.name,
            "RoleArn": info.role_arn,
            "StartTime": iso(info.start_time),
        });
        if let (Some(count), Value::Object(m)) = (info.redrive_count, &mut execution) {
            m.insert("RedriveCount".into(), Value::from(count));
        }
        if let (Some(time), Value::Object(m)) = (info.redrive_time, &mut execution) {
            // AWS shows `RedriveTime` only once the execution has been redriven.
            m.insert("RedriveTime".into(), Value::String(iso(time)));
        }
        let mut current = json!({ "EnteredTime": iso(t.entered_time), "Name": state.name });
        if let (StateKind::Task(_), Value::Object(m)) = (&state.kind, &mut current) {
            // AWS shows the retry count only to states that can be retried by a worker.
            m.insert("RetryCount".into(), Value::from(t.retry_count));
        }
        let mut ctx = json!({
            "Execution": execution,
            "StateMachine": { "Id": info.state_machine_arn, "Name": info.state_machine_name },
            "State": current,
        });
        if let (Some(token), Value::Object(m)) = (task_token, &mut ctx) {
            m.insert("Task".into(), json!({ "Token": token }));
        }
        ctx
    }

    /// Prefixes the cause of an error raised inside a state (`States.Runtime`,
    /// `States.QueryEvaluationError`) the way AWS reports it; a JSONata evaluation error is also
    /// recorded as an `EvaluationFailed` event naming the field.
    fn in_state(&mut self, tid: ThreadId, mut failure: Failure) -> Failure {
        let evaluation = failure.error == names::QUERY_EVALUATION_ERROR;
        if failure.error != names::RUNTIME && !evaluation {
            return failure;
        }
        let Some(t) = self.thread(tid) else {
            return failure;
        };
        let state = t.state.clone();
        failure.cause = format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). {}",
            state, t.entered_event_id, failure.cause
        );
        if evaluation {
            let location = failure
                .cause
                .split_once("specified for the field '")
                .and_then(|(_, rest)| rest.split_once('\''))
                .map(|(field, _)| Value::String(field.to_string()));
            self.emit(
                Some(tid),
                "EvaluationFailed",
                Some(history::details(
                    "evaluationFailedEventDetails",
                    &[
                        ("error", Some(Value::String(failure.error.clone()))),
                        ("cause", Some(Value::String(failure.cause.clone()))),
                        ("location", location),
                        ("state", Some(Value::String(state))),
                    ],
                )),
            );
        }
        failure
    }

    /// The context object when the state reads it (`$$` or `$states.context`), else `null`.
    fn context_for(&self, tid: ThreadId, state: &State) -> Value {
        if state.uses_context {
            self.context(tid, state, None)
        } else {
            Value::Null
        }
    }

    fn execute(&mut self, tid: ThreadId) {
        let Some(state) = self.state_of(tid) else {
            return;
        };
        let body = self.body(tid, state);
        match body {
            Body::Blocked => {}
            Body::Result(v) => self.complete(tid, v),
            Body::Failed(f) => {
                let f = self.in_state(tid, f);
                self.fail(tid, f);
            }
        }
    }

    fn effective_input(
        &self,
        tid: ThreadId,
        state: &State,
        context: &Value,
    ) -> Result<Value, Failure> {
        let Some(t) = self.thread(tid) else {
            return Ok(Value::Null);
        };
        if state.query_language == QueryLanguage::Jsonata {
            return Ok(t.input.clone());
        }
        match &state.input_path {
            None => Ok(Value::Object(Map::new())),
            Some(p) => {
                let env = Env {
                    input: &t.input,
                    context,
                    variables: &t.variables,
                };
                p.select(&env).ok_or_else(|| invalid_path(p, &env))
            }
        }
    }

    /// Evaluates a template in the state's query language. JSONPath reads `reads.doc` as `$`;
    /// JSONata reads the state input as `$states.input` and the result or error output.
    fn evaluate(
        &mut self,
        tid: ThreadId,
        state: &State,
        template: &Template,
        reads: Reads,
        context: &Value,
        field: &str,
    ) -> Result<Value, Failure> {
        let Some(t) = self.exec.threads.get(&tid) else {
            return Ok(Value::Null);
        };
        match state.query_language {
            QueryLanguage::JsonPath => {
                let env = Env {
                    input: reads.doc,
                    context,
                    variables: &t.variables,
                };
                template.evaluate(&env, &mut self.rng)
            }
            QueryLanguage::Jsonata => {
                let scope = jsonata::Scope {
                    input: &t.input,
                    result: reads.result,
                    error_output: reads.error_output,
                    context,
                    variables: &t.variables,
                };
                template.evaluate_jsonata(&scope, &mut self.rng, field)
            }
        }
    }

    /// Evaluates one of the state's single-value JSONata fields (see [`jsonata_fields`]) with the
    /// thread's input, the context object and the thread's variables in scope.
    fn jsonata_field<T: Default>(
        &mut self,
        tid: ThreadId,
        context: &Value,
        evaluate: impl FnOnce(&jsonata::Scope, &mut Rng) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let Some(t) = self.exec.threads.get(&tid) else {
            return Ok(T::default());
        };
        let scope = jsonata::Scope {
            input: &t.input,
            result: None,
            error_output: None,
            context,
            variables: &t.variables,
        };
        evaluate(&scope, &mut self.rng)
    }

    fn read_path(
        &self,
        tid: ThreadId,
        path: &Path,
        input: &Value,
        context: &Value,
    ) -> Option<Value> {
        let t = self.thread(tid)?;
        path.select(&Env {
            input,
            context,
            variables: &t.variables,
        })
    }

    fn body(&mut self, tid: ThreadId, state: &'d State) -> Body {
        if let StateKind::Pass(pass) = &state.kind
            && let Some(result) = &pass.result
            && state.query_language == QueryLanguage::JsonPath
            && state.input_path.as_ref().is_some_and(Path::is_whole_input)
        {
            // A fixed Result ignores the effective input, and `$` always selects: skip the copy.
            return Body::Result(result.clone());
        }
        // A `.waitForTaskToken` task learns its wake id first: its token names it.
        let token_wake = match &state.kind {
            StateKind::Task(task) if task.resource.ends_with(WAIT_FOR_TASK_TOKEN) => {
                Some(self.exec.fresh_id())
            }
            _ => None,
        };
        let context = if state.uses_context {
            let token =
                token_wake.map(|wake| TaskToken::new(&self.exec.info.arn, tid, wake).encode());
            self.context(tid, state, token.as_deref())
        } else {
            Value::Null
        };
        let effective = match self.effective_input(tid, state, &context) {
            Ok(v) => v,
            Err(f) => return Body::Failed(f),
        };
        match &state.kind {
            StateKind::Pass(pass) => {
                if let Some(result) = &pass.result {
                    return Body::Result(result.clone());
                }
                match &pass.parameters {
                    Some(p) => match self.evaluate(
                        tid,
                        state,
                        p,
                        Reads::doc(&effective),
                        &context,
                        "Parameters",
                    ) {
                        Ok(v) => Body::Result(v),
                        Err(f) => Body::Failed(f),
                    },
                    None => Body::Result(effective),
                }
            }
            StateKind::Task(task) => {
                let params = match &task.parameters {
                    Some(p) => match self.evaluate(
                        tid,
                        state,
                        p,
                        Reads::doc(&effective),
                        &context,
                        arguments_field(state),
                    ) {
                        Ok(v) => v,
                        Err(f) => return Body::Failed(f),
                    },
                    None => effective.clone(),
                };
                let timeout = match self.amount(
                    tid,
                    task.timeout.as_ref(),
                    &effective,
                    &context,
                    "TimeoutSecondsPath",
                ) {
                    Ok(v) => v.unwrap_or(DEFAULT_TASK_TIMEOUT_SECONDS),
                    Err(f) => return Body::Failed(f),
                };
                let heartbeat = match self.amount(
                    tid,
                    task.heartbeat.as_ref(),
                    &effective,
                    &context,
                    "HeartbeatSecondsPath",
                ) {
                    Ok(v) => v,
                    Err(f) => return Body::Failed(f),
                };
                self.schedule_task(tid, state, params, timeout, heartbeat, token_wake);
                Body::Blocked
            }
            StateKind::Choice(choice) => {
                let result = {
                    let Some(t) = self.exec.threads.get(&tid) else {
                        return Body::Blocked;
                    };
                    let env = Env {
                        input: &effective,
                        context: &context,
                        variables: &t.variables,
                    };
                    let scope = jsonata::Scope {
                        input: &t.input,
                        result: None,
                        error_output: None,
                        context: &context,
                        variables: &t.variables,
                    };
                    let rng = &mut self.rng;
                    let mut jsonata =
                        |expr: &Expression| jsonata_fields::condition(expr, &scope, rng);
                    let mut chosen = None;
                    let mut error = None;
                    for (i, branch) in choice.choices.iter().enumerate() {
                        match branch.rule.evaluate(&env, &mut jsonata) {
                            Ok(true) => {
                                chosen = Some(i);
                                break;
                            }
                            Ok(false) => {}
                            Err(f) => {
                                error = Some(f);
                                break;
                            }
                        }
                    }
                    (chosen, error)
                };
                match result {
                    (_, Some(f)) => Body::Failed(f),
                    (Some(i), None) => {
                        let branch = &choice.choices[i];
                        self.leave_as(
                            tid,
                            state,
                            effective,
                            branch.assign.as_ref(),
                            branch.output.as_ref(),
                            Some(branch.next.clone()),
                        );
                        Body::Blocked
                    }
                    (None, None) => match &choice.default {
                        Some(next) => {
                            self.leave_as(
                                tid,
                                state,
                                effective,
                                state.assign.as_ref(),
                                state.output.as_ref(),
                                Some(next.clone()),
                            );
                            Body::Blocked
                        }
                        None => Body::Failed(Failure::new(names::NO_CHOICE_MATCHED, "No Matches!")),
                    },
                }
            }
            StateKind::Wait(wait) => match self.wait_until(tid, &wait.wait, &effective, &context) {
                Err(f) => Body::Failed(f),
                Ok(at) if at <= self.now => {
                    self.leave_as(
                        tid,
                        state,
                        effective,
                        state.assign.as_ref(),
                        state.output.as_ref(),
                        None,
                    );
                    Body::Blocked
                }
                Ok(at) => {
                    let wake = self.exec.fresh_id();
                    if let Some(t) = self.thread_mut(tid) {
                        t.blocked = Blocked::Wait { wake };
                    }
                    self.commands.push(Command::StartTimer {
                        thread: tid,
                        wake,
                        at,
                    });
                    Body::Blocked
                }
            },
            StateKind::Succeed => {
                self.leave_as(
                    tid,
                    state,
                    effective,
                    state.assign.as_ref(),
                    state.output.as_ref(),
                    None,
                );
                Body::Blocked
            }
            StateKind::Fail(fail) => {
                let error = match self.fail_text(
                    tid,
                    fail.error.as_ref(),
                    &effective,
                    &context,
                    "ErrorPath",
                ) {
                    Ok(v) => v,
                    Err(f) => return Body::Failed(f),
                };
                let cause = match self.fail_text(
                    tid,
                    fail.cause.as_ref(),
                    &effective,
                    &context,
                    "CausePath",
                ) {
                    Ok(v) => v,
                    Err(f) => return Body::Failed(f),
                };
                let failure = Failure {
                    error: error.unwrap_or_default(),
                    cause: cause.unwrap_or_default(),
                };
                // A Fail state has no Retry or Catch: its error always goes up.
                self.errors.push(ErrorHandled {
                    state: state.name.clone(),
                    error: failure.error.clone(),
                    outcome: ErrorOutcome::Unhandled,
                });
                self.thread_done(tid, Err(failure));
                Body::Blocked
            }
            StateKind::Parallel(par) => {
                let input = match &par.parameters {
                    Some(p) => match self.evaluate(
                        tid,
                        state,
                        p,
                        Reads::doc(&effective),
                        &context,
                        arguments_field(state),
                    ) {
                        Ok(v) => v,
                        Err(f) => return Body::Failed(f),
                    },
                    None => effective,
                };
                self.emit(Some(tid), "ParallelStateStarted", None);
                let n = par.branches.len();
                let fan = FanOut {
                    kind: FanKind::Parallel,
                    inputs: vec![input; n],
                    results: vec![None; n],
                    next: 0,
                    running: BTreeMap::new(),
                    max_concurrency: 0,
                    failures: 0,
                    tolerated_count: None,
                    tolerated_percentage: None,
                    stopped: BTreeMap::new(),
                    map_run: None,
                };
                self.start_fan_out(tid, fan)
            }
            StateKind::Map(map) => self.start_map(tid, state, map, effective, context),
        }
    }

    fn amount(
        &mut self,
        tid: ThreadId,
        amount: Option<&Amount>,
        input: &Value,
        context: &Value,
        field: &str,
    ) -> Result<Option<u64>, Failure> {
        match amount {
            None => Ok(None),
            Some(Amount::Const(n)) => Ok(Some(*n)),
            Some(Amount::Path(p)) => {
                let v = self.read_path(tid, p, input, context).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The {field} parameter does not reference an input value: {}",
                        p.as_str()
                    ))
                })?;
                number_as_u64(&v).map(Some).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The {field} field refers to value \"{}\" which is not a valid integer: {}",
                        value_text(&v),
                        p.as_str()
                    ))
                })
            }
            Some(Amount::Jsonata(expr)) => {
                let field = field.trim_end_matches("Path");
                self.jsonata_field(tid, context, |scope, rng| {
                    jsonata_fields::amount(expr, scope, rng, field)
                })
            }
        }
    }

    fn wait_until(
        &mut self,
        tid: ThreadId,
        wait: &WaitFor,
        input: &Value,
        context: &Value,
    ) -> Result<Timestamp, Failure> {
        let entered = self.thread(tid).map(|t| t.entered_time).unwrap_or(self.now);
        match wait {
            WaitFor::Seconds(Amount::Path(p)) => {
                let v = self.read_path(tid, p, input, context).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The SecondsPath parameter does not reference an input value: {}",
                        p.as_str()
                    ))
                })?;
                let secs = number_as_u64(&v).filter(|_| v.is_number()).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The SecondsPath parameter references an invalid value: {}",
                        p.as_str()
                    ))
                })?;
                Ok(entered + SignedDuration::from_secs(secs.min(i64::MAX as u64 / 2) as i64))
            }
            WaitFor::Seconds(amount) => {
                let secs = self.amount(tid, Some(amount), input, context, "Seconds")?.unwrap_or(0);
                Ok(entered + SignedDuration::from_secs(secs.min(i64::MAX as u64 / 2) as i64))
            }
            WaitFor::Timestamp(text) => text.parse::<Timestamp>().map_err(|_| {
                Failure::runtime(format!("The Timestamp field is not a valid ISO-8601 extended offset date-time format string: {text}"))
            }),
            WaitFor::TimestampExpression(expr) => self.jsonata_field(tid, context, |scope, rng| {
                jsonata_fields::timestamp(expr, scope, rng)
            }),
            WaitFor::TimestampPath(p) => {
                let v = self.read_path(tid, p, input, context).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The TimestampPath parameter does not reference an input value: {}",
                        p.as_str()
                    ))
                })?;
                v.as_str()
                    .and_then(crate::choice::parse_timestamp)
                    .ok_or_else(|| {
                        Failure::runtime(format!(
                            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                            p.as_str(),
                            value_text(&v)
                        ))
                    })
            }
        }
    }

    fn fail_text(
        &mut self,
        tid: ThreadId,
        text: Option<&FailText>,
        input: &Value,
        context: &Value,
        field: &str,
    ) -> Result<Option<String>, Failure> {
        match text {
            None => Ok(None),
            Some(FailText::Const(s)) => Ok(Some(s.clone())),
            Some(FailText::Dynamic(d)) => {
                let Some(t) = self.exec.threads.get(&tid) else {
                    return Ok(None);
                };
                let env = Env {
                    input,
                    context,
                    variables: &t.variables,
                };
                let v = d.evaluate(&env, &mut self.rng, field)?;
                Ok(Some(value_text(&v)))
            }
            Some(FailText::Jsonata(expr)) => {
                let field = field.trim_end_matches("Path");
                self.jsonata_field(tid, context, |scope, rng| {
                    jsonata_fields::text(expr, scope, rng, field).map(Some)
                })
            }
        }
    }

    fn wait_over(&mut self, tid: ThreadId) {
        let Some(state) = self.state_of(tid) else {
            return;
        };
        if let Some(t) = self.thread_mut(tid) {
            t.blocked = Blocked::Ready;
        }
        let context = if state.uses_context {
            self.context(tid, state, None)
        } else {
            Value::Null
        };
        match self.effective_input(tid, state, &context) {
            Ok(effective) => self.leave_as(
                tid,
                state,
                effective,
                state.assign.as_ref(),
                state.output.as_ref(),
                None,
            ),
            Err(f) => {
                let f = self.in_state(tid, f);
                self.fail(tid, f);
            }
        }
    }

    // ----- tasks -------------------------------------------------------------------------------

    fn schedule_task(
        &mut self,
        tid: ThreadId,
        state: &State,
        params: Value,
        timeout: u64,
        heartbeat: Option<u64>,
        wake: Option<u64>,
    ) {
        let StateKind::Task(task) = &state.kind else {
            return;
        };
        let resource = task.resource.as_str();
        let wake = wake.unwrap_or_else(|| self.exec.fresh_id());
        let (label, attempt, entered) = match self.thread(tid) {
            Some(t) => (t.label.clone(), t.retry_count, t.entered_event_id),
            None => return,
        };
        let timeout_at = (timeout < DEFAULT_TASK_TIMEOUT_SECONDS).then(|| after(self.now, timeout));
        // Only a task that holds a token can send heartbeats: an activity, or a task waiting
        // for its token. A function or request-response call has no way to, so its
        // `HeartbeatSeconds` is not enforced.
        let can_beat = is_activity_arn(resource) || resource.ends_with(WAIT_FOR_TASK_TOKEN);
        let beat = heartbeat.filter(|_| can_beat).map(|seconds| Heartbeat {
            seconds,
            due: after(self.now, seconds),
        });
        if let Some(t) = self.thread_mut(tid) {
            t.blocked = Blocked::Task {
                wake,
                timeout_at,
                heartbeat: beat,
                submitted: false,
            };
        }
        let timeout_field = (timeout != DEFAULT_TASK_TIMEOUT_SECONDS).then(|| Value::from(timeout));
        if is_lambda_function_arn(resource) {
            self.emit(
                Some(tid),
                "LambdaFunctionScheduled",
                Some(history::details(
                    "lambdaFunctionScheduledEventDetails",
                    &[
                        ("resource", Some(Value::String(resource.into()))),
                        ("input", Some(params.clone())),
                        ("inputDetails", Some(history::truncated_false())),
                        ("timeoutInSeconds", timeout_field),
                    ],
                )),
            );
            self.emit(Some(tid), "LambdaFunctionStarted", None);
        } else if is_activity_arn(resource) {
            self.emit(
                Some(tid),
                "ActivityScheduled",
                Some(history::details(
                    "activityScheduledEventDetails",
                    &[
                        ("resource", Some(Value::String(resource.into()))),
                        ("input", Some(params.clone())),
                        ("inputDetails", Some(history::truncated_false())),
                        ("timeoutInSeconds", timeout_field),
                        ("heartbeatInSeconds", heartbeat.map(Value::from)),
                    ],
                )),
            );
        } else {
            let (resource_type, short) = resource_parts(resource);
            self.emit(
                Some(tid),
                "TaskScheduled",
                Some(history::details(
                    "taskScheduledEventDetails",
                    &[
                        ("resourceType", Some(Value::String(resource_type.clone()))),
                        ("resource", Some(Value::String(short.clone()))),
                        (
                            "region",
                            Some(Value::String(region_of(&self.exec.info.state_machine_arn))),
                        ),
                        ("parameters", Some(params.clone())),
                        ("timeoutInSeconds", timeout_field),
                        ("heartbeatInSeconds", heartbeat.map(Value::from)),
                    ],
                )),
            );
            self.emit(
                Some(tid),
                "TaskStarted",
                Some(history::details(
                    "taskStartedEventDetails",
                    &[
                        ("resourceType", Some(Value::String(resource_type))),
                        ("resource", Some(Value::String(short))),
                    ],
                )),
            );
        }
        // The entered event id makes each visit of the state (a loop, a rerun of a Map or
        // Parallel after a retry) distinct; the attempt makes each retry distinct.
        let idempotency_key = if label.is_empty() {
            format!("{}/{}/{entered}/{attempt}", self.exec.info.arn, state.name)
        } else {
            format!(
                "{}/{label}/{}/{entered}/{attempt}",
                self.exec.info.arn, state.name
            )
        };
        self.commands.push(Command::RunTask(TaskCommand {
            thread: tid,
            wake,
            state: state.name.clone(),
            resource: resource.to_string(),
            input: params,
            idempotency_key,
            timeout_seconds: timeout,
            heartbeat_seconds: heartbeat,
            attempt,
        }));
        for at in timeout_at.into_iter().chain(beat.map(|b| b.due)) {
            self.commands.push(Command::TaskTimer {
                thread: tid,
                wake,
                at,
            });
        }
    }

    /// Marks a thread's task as answered and drops the timers of its deadlines.
    fn release_task(&mut self, tid: ThreadId) {
        let Some(t) = self.thread_mut(tid) else {
            return;
        };
        if let Blocked::Task {
            wake,
            timeout_at,
            heartbeat,
            ..
        } = std::mem::replace(&mut t.blocked, Blocked::Ready)
        {
            self.cancel_deadlines(tid, wake, timeout_at, heartbeat);
        }
    }

    fn cancel_deadlines(
        &mut self,
        tid: ThreadId,
        wake: u64,
        timeout_at: Option<Timestamp>,
        heartbeat: Option<Heartbeat>,
    ) {
        for at in timeout_at.into_iter().chain(heartbeat.map(|b| b.due)) {
            self.commands.push(Command::CancelTaskTimer {
                thread: tid,
                wake,
                at,
            });
        }
    }

    /// A task's deadline timer fired: fails the task if a deadline has passed.
    fn task_deadline(&mut self, tid: ThreadId, wake: u64) {
        let Some(Blocked::Task {
            wake: w,
            timeout_at,
            heartbeat,
            ..
        }) = self.thread(tid).map(|t| &t.blocked)
        else {
            return;
        };
        if *w != wake {
            return;
        }
        let activity = self
            .state_of(tid)
            .is_some_and(|s| matches!(&s.kind, StateKind::Task(t) if is_activity_arn(&t.resource)));
        let error = if timeout_at.is_some_and(|at| at <= self.now) {
            names::TIMEOUT
        } else if heartbeat.is_some_and(|h| h.due <= self.now) {
            // AWS reports a silent activity as `States.HeartbeatTimeout`, but a silent
            // `.waitForTaskToken` task as `States.Timeout` (recorded in the corpus's
            // `test_heartbeats.py` cases).
            if activity {
                names::HEARTBEAT_TIMEOUT
            } else {
                names::TIMEOUT
            }
        } else {
            return;
        };
        self.commands
            .push(Command::CancelTask { thread: tid, wake });
        self.task_failed(tid, Failure::new(error, ""));
    }

    /// A sign of life from a waiting task: its heartbeat deadline starts over.
    fn task_heartbeat(&mut self, tid: ThreadId, wake: u64) {
        let now = self.now;
        let Some(Blocked::Task {
            wake: w,
            heartbeat: Some(beat),
            ..
        }) = self.thread_mut(tid).map(|t| &mut t.blocked)
        else {
            return;
        };
        if *w != wake {
            return;
        }
        beat.due = after(now, beat.seconds);
        let at = beat.due;
        self.commands.push(Command::TaskTimer {
            thread: tid,
            wake,
            at,
        });
    }

    /// The integration call of a `.waitForTaskToken` (or `.sync`) task answered; recorded once
    /// even if a crash makes the call answer twice.
    fn task_submitted(&mut self, tid: ThreadId, output: Value) {
        match self.thread_mut(tid).map(|t| &mut t.blocked) {
            Some(Blocked::Task { submitted, .. }) if !*submitted => *submitted = true,
            _ => return,
        }
        let Some(state) = self.state_of(tid) else {
            return;
        };
        let StateKind::Task(task) = &state.kind else {
            return;
        };
        let (resource_type, short) = resource_parts(&task.resource);
        self.emit(
            Some(tid),
            "TaskSubmitted",
            Some(history::details(
                "taskSubmittedEventDetails",
                &[
                    ("output", Some(output)),
                    ("outputDetails", Some(history::truncated_false())),
                    ("resource", Some(Value::String(short))),
                    ("resourceType", Some(Value::String(resource_type))),
                ],
            )),
        );
    }

    fn task_succeeded(&mut self, tid: ThreadId, output: Value) {
        let Some(state) = self.state_of(tid) else {
            return;
        };
        let StateKind::Task(task) = &state.kind else {
            return;
        };
        self.release_task(tid);
        let (resource_type, short) = resource_parts(&task.resource);
        let too_big = json_len(&output) > PAYLOAD_LIMIT;
        if too_big {
            // AWS names the integration (`lambda`) or, for a plain ARN, the resource itself.
            let who = if resource_type.is_empty() {
                task.resource.clone()
            } else {
                resource_type.clone()
            };
            let failure = Failure::new(
                names::DATA_LIMIT_EXCEEDED,
                format!(
                    "The state/task '{who}' returned a result with a size exceeding the maximum number of bytes service limit."
                ),
            );
            self.record_task_failure(tid, &task.resource, &failure);
            self.fail(tid, failure);
            return;
        }
        if is_lambda_function_arn(&task.resource) {
            self.emit(
                Some(tid),
                "LambdaFunctionSucceeded",
                Some(history::details(
                    "lambdaFunctionSucceededEventDetails",
                    &[
                        ("output", Some(output.clone())),
                        ("outputDetails", Some(history::truncated_false())),
                    ],
                )),
            );
        } else if is_activity_arn(&task.resource) {
            self.emit(
                Some(tid),
                "ActivitySucceeded",
                Some(history::details(
                    "activitySucceededEventDetails",
                    &[
                        ("output", Some(output.clone())),
                        ("outputDetails", Some(history::truncated_false())),
                    ],
                )),
            );
        } else {
            self.emit(
                Some(tid),
                "TaskSucceeded",
                Some(history::details(
                    "taskSucceededEventDetails",
                    &[
                        ("resourceType", Some(Value::String(resource_type))),
                        ("resource", Some(Value::String(short))),
                        ("output", Some(output.clone())),
                        ("outputDetails", Some(history::truncated_false())),
                    ],
                )),
            );
        }
        self.complete(tid, output);
    }

    fn record_task_failure(&mut self, tid: ThreadId, resource: &str, failure: &Failure) {
        let error = Some(Value::String(failure.error.clone()));
        let cause = (!failure.cause.is_empty()).then(|| Value::String(failure.cause.clone()));
        let timed_out =
            failure.error == names::TIMEOUT || failure.error == names::HEARTBEAT_TIMEOUT;
        if is_lambda_function_arn(resource) {
            let kind = if timed_out {
                "LambdaFunctionTimedOut"
            } else {
                "LambdaFunctionFailed"
            };
            let key = if timed_out {
                "lambdaFunctionTimedOutEventDetails"
            } else {
                "lambdaFunctionFailedEventDetails"
            };
            self.emit(
                Some(tid),
                kind,
                Some(history::details(key, &[("error", error), ("cause", cause)])),
            );
        } else if is_activity_arn(resource) {
            let kind = if timed_out {
                "ActivityTimedOut"
            } else {
                "ActivityFailed"
            };
            let key = if timed_out {
                "activityTimedOutEventDetails"
            } else {
                "activityFailedEventDetails"
            };
            self.emit(
                Some(tid),
                kind,
                Some(history::details(key, &[("error", error), ("cause", cause)])),
            );
        } else {
            let (resource_type, short) = resource_parts(resource);
            let kind = if timed_out {
                "TaskTimedOut"
            } else {
                "TaskFailed"
            };
            let key = if timed_out {
                "taskTimedOutEventDetails"
            } else {
                "taskFailedEventDetails"
            };
            self.emit(
                Some(tid),
                kind,
                Some(history::details(
                    key,
                    &[
                        ("resourceType", Some(Value::String(resource_type))),
                        ("resource", Some(Value::String(short))),
                        ("error", error),
                        ("cause", cause),
                    ],
                )),
            );
        }
    }

    fn task_failed(&mut self, tid: ThreadId, failure: Failure) {
        let Some(state) = self.state_of(tid) else {
            return;
        };
        let StateKind::Task(task) = &state.kind else {
            return;
        };
        self.release_task(tid);
        self.record_task_failure(tid, &task.resource, &failure);
        self.fail(tid, failure);
    }

    // ----- Parallel and Map --------------------------------------------------------------------

    fn start_map(
        &mut self,
        tid: ThreadId,
        state: &'d State,
        map: &'d crate::definition::MapState,
        effective: Value,
        context: Value,
    ) -> Body {
        let items = match (&map.items, &map.items_path) {
            _ if state.query_language == QueryLanguage::Jsonata => {
                match self.jsonata_field(tid, &context, |scope, rng| {
                    jsonata_fields::items(map.items.as_ref(), scope, rng)
                }) {
                    Ok(items) => Value::Array(items),
                    Err(f) => return Body::Failed(f),
                }
            }
            (_, None) => effective.clone(),
            (_, Some(p)) => match self.read_path(tid, p, &effective, &context) {
                Some(v) => v,
                None => {
                    let Some(t) = self.thread(tid) else {
                        return Body::Blocked;
                    };
                    let env = Env {
                        input: &effective,
                        context: &context,
                        variables: &t.variables,
                    };
                    return Body::Failed(invalid_path(p, &env));
                }
            },
        };
        let Value::Array(items) = items else {
            return Body::Failed(Failure::runtime(format!(
                "Item path {} does not reference a JSON array: {}",
                map.items_path.as_ref().map(Path::as_str).unwrap_or("$"),
                items
            )));
        };
        let max_concurrency = match self.amount(
            tid,
            map.max_concurrency.as_ref(),
            &effective,
            &context,
            "MaxConcurrencyPath",
        ) {
            Ok(v) => v.unwrap_or(0) as usize,
            Err(f) => return Body::Failed(f),
        };
        let tolerated_count = match self.tolerance(
            tid,
            map.tolerated_failure_count.as_ref(),
            &effective,
            &context,
            "ToleratedFailureCount",
        ) {
            Ok(v) => v,
            Err(f) => return Body::Failed(f),
        };
        if tolerated_count.is_some_and(|c| c < 0.0) {
            return Body::Failed(Failure::runtime(
                "ToleratedFailureCount cannot be negative.",
            ));
        }
        let tolerated_percentage = match self.tolerance(
            tid,
            map.tolerated_failure_percentage.as_ref(),
            &effective,
            &context,
            "ToleratedFailurePercentage",
        ) {
            Ok(v) => v,
            Err(f) => return Body::Failed(f),
        };
        if tolerated_percentage.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
            return Body::Failed(Failure::runtime(
                "ToleratedFailurePercentage must be between 0 and 100.",
            ));
        }
        let mut inputs = Vec::with_capacity(items.len());
        match &map.item_selector {
            None => inputs = items,
            Some(selector) => {
                // One context for every item: only its `Map.Item` part changes.
                let mut ctx = if state.uses_context {
                    context
                } else {
                    self.context(tid, state, None)
                };
                for (index, item) in items.into_iter().enumerate() {
                    if let Value::Object(m) = &mut ctx {
                        m.insert(
                            "Map".into(),
                            json!({ "Item": { "Index": index, "Value": item } }),
                        );
                    }
                    match self.evaluate(
                        tid,
                        state,
                        selector,
                        Reads::doc(&effective),
                        &ctx,
                        "ItemSelector",
                    ) {
                        Ok(v) => inputs.push(v),
                        Err(f) => return Body::Failed(f),
                    }
                }
            }
        }
        let n = inputs.len();
        self.emit(
            Some(tid),
            "MapStateStarted",
            Some(history::details(
                "mapStateStartedEventDetails",
                &[("length", Some(Value::from(n)))],
            )),
        );
        let kind = if map.mode == MapMode::Distributed {
            FanKind::MapRun
        } else {
            FanKind::Map
        };
        let mut map_run = None;
        if kind == FanKind::MapRun {
            let run_arn = map_run_arn(
                &self.exec.info,
                &state.name,
                map.label.as_deref(),
                &mut self.rng,
            );
            self.emit(
                Some(tid),
                "MapRunStarted",
                Some(history::details(
                    "mapRunStartedEventDetails",
                    &[("mapRunArn", Some(Value::String(run_arn.clone())))],
                )),
            );
            map_run = Some(run_arn);
        }
        let fan = FanOut {
            kind,
            inputs,
            results: vec![None; n],
            next: 0,
            running: BTreeMap::new(),
            max_concurrency,
            failures: 0,
            tolerated_count: tolerated_count.map(|c| c as u64),
            tolerated_percentage,
            stopped: BTreeMap::new(),
            map_run,
        };
        self.map_runs.extend(
            fan.map_run_report("RUNNING", self.now)
                .map(|report| MapRunReport {
                    start: true,
                    ..report
                }),
        );
        self.start_fan_out(tid, fan)
    }

    fn tolerance(
        &mut self,
        tid: ThreadId,
        t: Option<&Tolerance>,
        input: &Value,
        context: &Value,
        field: &str,
    ) -> Result<Option<f64>, Failure> {
        match t {
            None => Ok(None),
            Some(Tolerance::Const(n)) => Ok(Some(*n)),
            Some(Tolerance::Path(p)) => {
                let v = self.read_path(tid, p, input, context).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The {field}Path field refers to a path that does not exist: {}",
                        p.as_str()
                    ))
                })?;
                let n = match &v {
                    Value::Number(n) if field == "ToleratedFailureCount" => {
                        n.as_i64().map(|i| i as f64)
                    }
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) if field == "ToleratedFailureCount" => {
                        s.trim().parse::<i64>().ok().map(|i| i as f64)
                    }
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                };
                let kind = if field == "ToleratedFailureCount" {
                    "integer"
                } else {
                    "number"
                };
                n.map(Some).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The {field}Path field refers to value \"{}\" which is not a valid {kind}: {}",
                        value_text(&v),
                        p.as_str()
                    ))
                })
            }
            Some(Tolerance::Jsonata(expr)) => self.jsonata_field(tid, context, |scope, rng| {
                jsonata_fields::tolerance(expr, scope, rng, field)
            }),
        }
    }

    fn start_fan_out(&mut self, tid: ThreadId, fan: FanOut) -> Body {
        if fan.results.is_empty() {
            return self.fan_out_succeeded(tid, fan.kind, Vec::new());
        }
        if let Some(t) = self.thread_mut(tid) {
            t.blocked = Blocked::Children(fan);
        }
        self.launch_children(tid);
        Body::Blocked
    }

    fn launch_children(&mut self, tid: ThreadId) {
        loop {
            self.skip_kept_children(tid);
            let Some(parent) = self.thread(tid) else {
                return;
            };
            let Blocked::Children(fan) = &parent.blocked else {
                return;
            };
            let limit = if fan.max_concurrency == 0 {
                usize::MAX
            } else {
                fan.max_concurrency
            };
            if fan.next >= fan.results.len() || fan.running.len() >= limit {
                return;
            }
            let index = fan.next;
            let kind = fan.kind;
            let child_id = self.exec.fresh_id();
            let Some(state) = self.state_of(tid) else {
                return;
            };
            let (scope, start_at) = match &state.kind {
                StateKind::Parallel(p) => {
                    (index, p.branches.get(index).map(|b| b.start_at.clone()))
                }
                StateKind::Map(m) => (0, Some(m.processor.start_at.clone())),
                _ => return,
            };
            let Some(start_at) = start_at else { return };
            let now = self.now;
            let Some(parent) = self.thread_mut(tid) else {
                return;
            };
            let Blocked::Children(fan) = &mut parent.blocked else {
                return;
            };
            let input = std::mem::take(&mut fan.inputs[index]);
            fan.next += 1;
            fan.running.insert(index, child_id);
            let mut child_scope = parent.scope.clone();
            child_scope.push((parent.state.clone(), scope));
            let label = if parent.label.is_empty() {
                format!("{}[{index}]", parent.state)
            } else {
                format!("{}/{}[{index}]", parent.label, parent.state)
            };
            let child = Thread {
                parent: Some((tid, index)),
                scope: child_scope,
                label,
                state: String::new(),
                input: Value::Null,
                entered_event_id: 0,
                entered_time: now,
                last_event_id: parent.last_event_id,
                variables: parent.variables.clone(),
                retry_attempts: Vec::new(),
                retry_count: 0,
                map_item: (kind != FanKind::Parallel).then(|| (index, input.clone())),
                blocked: Blocked::Ready,
            };
            let state_name = parent.state.clone();
            self.exec.threads.insert(child_id, child);
            if kind == FanKind::Map {
                self.emit(
                    Some(child_id),
                    "MapIterationStarted",
                    Some(history::details(
                        "mapIterationStartedEventDetails",
                        &[
                            ("name", Some(Value::String(state_name))),
                            ("index", Some(Value::from(index))),
                        ],
                    )),
                );
            }
            let work = match self.resume_child(tid, index, child_id) {
                Some(resume) => resume,
                None => Work::Enter {
                    state: start_at,
                    input,
                },
            };
            self.work.push_back((child_id, work));
        }
    }

    /// Applies `UpdateMapRun` to the running Map Run `arn`, if there is one, and starts the
    /// iterations a higher concurrency allows.
    fn update_map_run(
        &mut self,
        arn: &str,
        max_concurrency: Option<u64>,
        tolerated_count: Option<u64>,
        tolerated_percentage: Option<f64>,
    ) {
        let now = self.now;
        let found = self
            .exec
            .threads
            .iter_mut()
            .find_map(|(tid, t)| match &mut t.blocked {
                Blocked::Children(fan) if fan.map_run.as_deref() == Some(arn) => {
                    if let Some(n) = max_concurrency {
                        fan.max_concurrency = usize::try_from(n).unwrap_or(usize::MAX);
                    }
                    if tolerated_count.is_some() {
                        fan.tolerated_count = tolerated_count;
                    }
                    if tolerated_percentage.is_some() {
                        fan.tolerated_percentage = tolerated_percentage;
                    }
                    Some((*tid, fan.map_run_report("RUNNING", now)))
                }
                _ => None,
            });
        if let Some((tid, report)) = found {
            self.map_runs.extend(report);
            self.launch_children(tid);
        }
    }

    fn child_done(&mut self, tid: ThreadId, index: usize, outcome: Result<Value, Failure>) {
        let now = self.now;
        let Some(parent) = self.thread(tid) else {
            return;
        };
        let Blocked::Children(fan) = &parent.blocked else {
            return;
        };
        let kind = fan.kind;
        let state_name = parent.state.clone();
        let iteration_event = |suffix: &str| {
            (
                format!("MapIteration{suffix}"),
                history::details(
                    &format!("mapIteration{suffix}EventDetails"),
                    &[
                        ("name", Some(Value::String(state_name.clone()))),
                        ("index", Some(Value::from(index))),
                    ],
                ),
            )
        };
        match outcome {
            Ok(value) => {
                if kind == FanKind::Map {
                    let (t, d) = iteration_event("Succeeded");
                    self.emit(Some(tid), &t, Some(d));
                }
                let Some(parent) = self.thread_mut(tid) else {
                    return;
                };
                let Blocked::Children(fan) = &mut parent.blocked else {
                    return;
                };
                fan.running.remove(&index);
                fan.results[index] = Some(value);
            }
            Err(failure) => {
                if kind == FanKind::Map {
                    let (t, d) = iteration_event("Failed");
                    self.emit(Some(tid), &t, Some(d));
                }
                let Some(parent) = self.thread_mut(tid) else {
                    return;
                };
                let Blocked::Children(fan) = &mut parent.blocked else {
                    return;
                };
                fan.running.remove(&index);
                fan.failures += 1;
                let total = fan.results.len();
                let tolerant = fan.tolerated_count.is_some() || fan.tolerated_percentage.is_some();
                // With both thresholds set, exceeding either one fails the Map.
                let over_count = fan.tolerated_count.is_some_and(|c| fan.failures as u64 > c);
                let over_pct = fan
                    .tolerated_percentage
                    .is_some_and(|p| (fan.failures as f64) * 100.0 / (total as f64) > p);
                if !tolerant || over_count || over_pct {
                    let failure = if tolerant {
                        Failure::new(
                            names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                            "The specified tolerated failure threshold was exceeded",
                        )
                    } else {
                        failure
                    };
                    let report = fan.map_run_report("FAILED", now);
                    self.abort_children(tid);
                    // After abort_children's ABORTED report: the run failed, it was not stopped.
                    self.map_runs.extend(report);
                    let (failed, run_failed) = match kind {
                        FanKind::Parallel => ("ParallelStateFailed", None),
                        FanKind::Map => ("MapStateFailed", None),
                        FanKind::MapRun => ("MapStateFailed", Some("MapRunFailed")),
                    };
                    if let Some(rf) = run_failed {
                        self.emit(Some(tid), rf, None);
                    }
                    self.emit(Some(tid), failed, None);
                    self.fail(tid, failure);
                    return;
                }
                fan.results[index] =
                    Some(json!({ "Error": failure.error, "Cause": failure.cause }));
            }
        }
        let Some(parent) = self.thread(tid) else {
            return;
        };
        let Blocked::Children(fan) = &parent.blocked else {
            return;
        };
        if fan.running.is_empty() && fan.next >= fan.results.len() {
            let report = fan.map_run_report("SUCCEEDED", now);
            let results = fan
                .results
                .iter()
                .map(|r| r.clone().unwrap_or(Value::Null))
                .collect();
            self.map_runs.extend(report);
            if let Some(t) = self.thread_mut(tid) {
                t.blocked = Blocked::Ready;
            }
            match self.fan_out_succeeded(tid, kind, results) {
                Body::Result(v) => self.complete(tid, v),
                Body::Failed(f) => self.fail(tid, f),
                Body::Blocked => {}
            }
        } else {
            self.launch_children(tid);
        }
    }

    fn fan_out_succeeded(&mut self, tid: ThreadId, kind: FanKind, results: Vec<Value>) -> Body {
        match kind {
            FanKind::Parallel => {
                self.emit(Some(tid), "ParallelStateSucceeded", None);
            }
            FanKind::Map => {
                self.emit(Some(tid), "MapStateSucceeded", None);
            }
            FanKind::MapRun => {
                self.emit(Some(tid), "MapRunSucceeded", None);
                self.emit(Some(tid), "MapStateSucceeded", None);
            }
        }
        Body::Result(Value::Array(results))
    }

    /// Stops every descendant of `tid`, recording aborted iterations and cancelling tasks.
    fn abort_children(&mut self, tid: ThreadId) {
        let running: Vec<(usize, ThreadId)> = match self.thread(tid).map(|t| &t.blocked) {
            Some(Blocked::Children(fan)) => {
                let report = fan.map_run_report("ABORTED", self.now);
                let running = fan.running.iter().map(|(i, c)| (*i, *c)).collect();
                self.map_runs.extend(report);
                running
            }
            _ => return,
        };
        let (kind, state_name) = match self.thread(tid) {
            Some(Thread {
                blocked: Blocked::Children(fan),
                state,
                ..
            }) => (fan.kind, state.clone()),
            _ => return,
        };
        for (index, child) in running {
            self.abort_thread(child);
            if kind == FanKind::Map {
                self.emit(
                    Some(tid),
                    "MapIterationAborted",
                    Some(history::details(
                        "mapIterationAbortedEventDetails",
                        &[
                            ("name", Some(Value::String(state_name.clone()))),
                            ("index", Some(Value::from(index))),
                        ],
                    )),
                );
            }
        }
        if let Some(Thread {
            blocked: Blocked::Children(fan),
            ..
        }) = self.thread_mut(tid)
        {
            fan.running.clear();
            fan.next = fan.results.len();
        }
    }

    fn abort_thread(&mut self, tid: ThreadId) {
        self.abort_children(tid);
        if let Some(t) = self.exec.threads.remove(&tid) {
            match t.blocked {
                Blocked::Task {
                    wake,
                    timeout_at,
                    heartbeat,
                    ..
                } => {
                    self.cancel_deadlines(tid, wake, timeout_at, heartbeat);
                    self.commands
                        .push(Command::CancelTask { thread: tid, wake });
                }
                Blocked::Wait { .. }
                | Blocked::Retry { .. }
                | Blocked::Ready
                | Blocked::Children(_) => {}
            }
            self.keep_for_redrive(t, None);
        }
        self.work.retain(|(t, _)| *t != tid);
    }

    fn cancel_all(&mut self) {
        if self.exec.threads.contains_key(&ROOT) {
            self.abort_thread(ROOT);
        }
        self.exec.threads.clear();
        self.work.clear();
    }

    // ----- leaving states ----------------------------------------------------------------------

    /// Processes a state's result (JSONPath: `ResultSelector`, `ResultPath`; JSONata: `Output`
    /// with `$states.result`), assigns variables and leaves the state.
    fn complete(&mut self, tid: ThreadId, result: Value) {
        let Some(state) = self.state_of(tid) else {
            return;
        };
        let context = self.context_for(tid, state);
        if state.query_language == QueryLanguage::Jsonata {
            let reads = Reads {
                doc: &result,
                result: Some(&result),
                error_output: None,
            };
            self.leave_with(
                tid,
                state,
                &result,
                reads,
                state.assign.as_ref(),
                state.output.as_ref(),
                None,
                &context,
            );
            return;
        }
        let handling = result_handling(state);
        let selected = match handling.and_then(|h| h.result_selector.as_ref()) {
            Some(selector) => {
                match self.evaluate(
                    tid,
                    state,
                    selector,
                    Reads::doc(&result),
                    &context,
                    "ResultSelector",
                ) {
                    Ok(v) => v,
                    Err(f) => {
                        let f = self.in_state(tid, f);
                        self.fail(tid, f);
                        return;
                    }
                }
            }
            None => result,
        };
        let result_path = match &state.kind {
            StateKind::Pass(p) => Some(&p.result_path),
            _ => handling.map(|h| &h.result_path),
        };
        // `Assign` reads the selected result; without one, the result moves into place uncopied.
        let (combined, selected) = if state.assign.is_some() {
            let combined = self.apply_result_path(tid, result_path, selected.clone());
            (combined, selected)
        } else {
            let combined = self.apply_result_path(tid, result_path, selected);
            (combined, Value::Null)
        };
        let combined = match combined {
            Ok(v) => v,
            Err(f) => {
                self.fail(tid, f);
                return;
            }
        };
        if state.assign.is_none() && state.output_path.as_ref().is_some_and(Path::is_whole_input) {
            // `OutputPath: $` with nothing to assign: the output is the combined document itself.
            self.exit_state(tid, state, combined, None, None);
            return;
        }
        self.leave_with(
            tid,
            state,
            &combined,
            Reads::doc(&selected),
            state.assign.as_ref(),
            None,
            None,
            &context,
        );
    }

    fn apply_result_path(
        &self,
        tid: ThreadId,
        path: Option<&ResultPath>,
        result: Value,
    ) -> Result<Value, Failure> {
        let Some(t) = self.thread(tid) else {
            return Ok(result);
        };
        match path {
            None => Ok(result),
            Some(ResultPath::Discard) => Ok(t.input.clone()),
            Some(ResultPath::At(p)) => {
                let mut doc = t.input.clone();
                p.assign(&mut doc, result).map(|()| doc).map_err(|e| {
                    Failure::new(
                        names::RESULT_PATH_MATCH_FAILURE,
                        format!(
                            "Unable to apply ResultPath \"{}\" to input \"{}\": {e}",
                            p.as_str(),
                            t.input
                        ),
                    )
                })
            }
        }
    }

    /// Leaves a state that has no result of its own (Choice, Wait, Succeed): its output is its
    /// effective input, and `Assign` reads that too.
    fn leave_as(
        &mut self,
        tid: ThreadId,
        state: &State,
        effective: Value,
        assign: Option<&Template>,
        output: Option<&Template>,
        next: Option<String>,
    ) {
        let context = self.context_for(tid, state);
        self.leave_with(
            tid,
            state,
            &effective,
            Reads::doc(&effective),
            assign,
            output,
            next,
            &context,
        );
    }

    /// The common end of a state: evaluates `Assign` (against the variables from before the
    /// state) and the output (JSONPath: `OutputPath` on `doc`; JSONata: `Output`, else `doc`),
    /// then records the exit, applies the variables and moves on.
    #[allow(clippy::too_many_arguments)] // One call per exit path; a struct would only rename them.
    fn leave_with(
        &mut self,
        tid: ThreadId,
        state: &State,
        doc: &Value,
        reads: Reads,
        assign: Option<&Template>,
        output: Option<&Template>,
        next: Option<String>,
        context: &Value,
    ) {
        let assigned = match assign {
            Some(template) => match self.evaluate(tid, state, template, reads, context, "Assign") {
                Ok(Value::Object(vars)) => Some(vars),
                Ok(_) => None,
                Err(f) => {
                    let f = self.in_state(tid, f);
                    self.fail(tid, f);
                    return;
                }
            },
            None => None,
        };
        let output = match (state.query_language, output) {
            (QueryLanguage::Jsonata, Some(template)) => {
                match self.evaluate(tid, state, template, reads, context, "Output") {
                    Ok(v) => v,
                    Err(f) => {
                        let f = self.in_state(tid, f);
                        self.fail(tid, f);
                        return;
                    }
                }
            }
            (QueryLanguage::Jsonata, None) => doc.clone(),
            (QueryLanguage::JsonPath, _) => match &state.output_path {
                None => Value::Object(Map::new()),
                Some(p) => match self.read_path(tid, p, doc, context) {
                    Some(v) => v,
                    None => {
                        let Some(t) = self.thread(tid) else {
                            return;
                        };
                        let env = Env {
                            input: doc,
                            context,
                            variables: &t.variables,
                        };
                        let f = invalid_path(p, &env);
                        let f = self.in_state(tid, f);
                        self.fail(tid, f);
                        return;
                    }
                },
            },
        };
        self.exit_state(tid, state, output, assigned, next);
    }

    /// Records a state's exit, applies its variables and moves the thread on.
    fn exit_state(
        &mut self,
        tid: ThreadId,
        state: &State,
        output: Value,
        assigned: Option<Map<String, Value>>,
        next: Option<String>,
    ) {
        if json_len(&output) > PAYLOAD_LIMIT {
            let f = Failure::new(
                names::DATA_LIMIT_EXCEEDED,
                format!(
                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                    state.name
                ),
            );
            self.fail(tid, f);
            return;
        }
        if let Some(vars) = &assigned {
            let size: usize = vars.values().map(json_len).sum();
            if size > PAYLOAD_LIMIT {
                let f = Failure::new(
                    names::DATA_LIMIT_EXCEEDED,
                    format!(
                        "The variables assigned by the state '{}' exceed the maximum size of 262144 bytes.",
                        state.name
                    ),
                );
                self.fail(tid, f);
                return;
            }
        }
        let details = self
            .exec
            .info
            .keep_history
            .then(|| history::state_exited(&state.name, &output, assigned.as_ref()));
        self.emit(
            Some(tid),
            &format!("{}StateExited", state.kind.type_name()),
            details,
        );
        if let (Some(vars), Some(t)) = (assigned, self.thread_mut(tid)) {
            for (k, v) in vars {
                t.variables.insert(k, v);
            }
            let total: usize = t.variables.values().map(json_len).sum();
            if total > VARIABLES_LIMIT {
                let f = Failure::new(
                    names::DATA_LIMIT_EXCEEDED,
                    format!(
                        "The workflow variables exceed the maximum size of {VARIABLES_LIMIT} bytes."
                    ),
                );
                self.thread_done(tid, Err(f));
                return;
            }
        }
        let next = next.or_else(|| match &state.transition {
            Transition::Next(n) => Some(n.clone()),
            _ => None,
        });
        match next {
            Some(n) if !matches!(state.kind, StateKind::Succeed) => {
                self.work.push_back((
                    tid,
                    Work::Enter {
                        state: n,
                        input: output,
                    },
                ));
            }
            _ => self.thread_done(tid, Ok(output)),
        }
    }

    /// Handles an error raised by the current state: retry, catch, or fail the thread.
    fn fail(&mut self, tid: ThreadId, failure: Failure) {
        let Some(state) = self.state_of(tid) else {
            return;
        };
        let handled = |run: &mut Self, outcome| {
            run.errors.push(ErrorHandled {
                state: state.name.clone(),
                error: failure.error.clone(),
                outcome,
            });
        };
        if !failure.is_terminal() {
            if let Some(delay) = self.retry_delay(tid, state, &failure) {
                handled(self, ErrorOutcome::Retried);
                if delay.is_zero() {
                    self.work.push_back((tid, Work::Execute));
                } else {
                    let wake = self.exec.fresh_id();
                    if let Some(t) = self.thread_mut(tid) {
                        t.blocked = Blocked::Retry { wake };
                    }
                    let at = self.now + delay;
                    self.commands.push(Command::StartTimer {
                        thread: tid,
                        wake,
                        at,
                    });
                }
                return;
            }
            if let Some(catcher) = catchers(state)
                .iter()
                .find(|c| failure.matches(&c.error_equals))
            {
                handled(self, ErrorOutcome::Caught);
                self.catch(tid, state, catcher, failure);
                return;
            }
        }
        handled(self, ErrorOutcome::Unhandled);
        self.thread_done(tid, Err(failure));
    }

    fn retry_delay(
        &mut self,
        tid: ThreadId,
        state: &State,
        failure: &Failure,
    ) -> Option<SignedDuration> {
        let list = retriers(state);
        let index = list.iter().position(|r| failure.matches(&r.error_equals))?;
        let retrier: &Retrier = &list[index];
        let t = self.exec.threads.get_mut(&tid)?;
        let attempts = t.retry_attempts.get(index).copied().unwrap_or(0);
        if attempts >= retrier.max_attempts {
            return None;
        }
        if let Some(a) = t.retry_attempts.get_mut(index) {
            *a += 1;
        }
        t.retry_count += 1;
        let mut secs = retrier.interval_seconds as f64 * retrier.backoff_rate.powi(attempts as i32);
        if let Some(max) = retrier.max_delay_seconds {
            secs = secs.min(max as f64);
        }
        if retrier.jitter == crate::definition::Jitter::Full {
            secs *= self.rng.next_f64();
        }
        let millis = (secs * 1000.0).clamp(0.0, 1e15) as i64;
        Some(SignedDuration::from_millis(millis))
    }

    fn catch(&mut self, tid: ThreadId, state: &State, catcher: &Catcher, failure: Failure) {
        let error_output = if failure.cause.is_empty() && failure.error.is_empty() {
            json!({})
        } else {
            json!({ "Error": failure.error, "Cause": failure.cause })
        };
        let context = self.context_for(tid, state);
        let reads = Reads {
            doc: &error_output,
            result: None,
            error_output: Some(&error_output),
        };
        let output = match (state.query_language, &catcher.output) {
            (QueryLanguage::Jsonata, Some(template)) => {
                self.evaluate(tid, state, template, reads, &context, "Output")
            }
            (QueryLanguage::Jsonata, None) => Ok(error_output.clone()),
            (QueryLanguage::JsonPath, _) => {
                self.apply_result_path(tid, Some(&catcher.result_path), error_output.clone())
            }
        };
        let output = match output {
            Ok(v) => v,
            Err(f) => {
                let f = self.in_state(tid, f);
                self.thread_done(tid, Err(f));
                return;
            }
        };
        let assigned = match &catcher.assign {
            Some(template) => {
                match self.evaluate(tid, state, template, reads, &context, "Assign") {
                    Ok(Value::Object(vars)) => Some(vars),
                    Ok(_) => None,
                    Err(f) => {
                        let f = self.in_state(tid, f);
                        self.thread_done(tid, Err(f));
                        return;
                    }
                }
            }
            None => None,
        };
        self.exit_state(tid, state, output, assigned, Some(catcher.next.clone()));
    }

    /// A thread reached its end: report to its parent, or finish the execution.
    fn thread_done(&mut self, tid: ThreadId, outcome: Result<Value, Failure>) {
        let Some(t) = self.exec.threads.remove(&tid) else {
            return;
        };
        match t.parent {
            None => {
                self.exec.threads.insert(tid, t);
                self.finish_execution(outcome);
                self.keep_root_for_redrive(tid);
                self.exec.threads.clear();
            }
            Some((parent, index)) => {
                if let Some(p) = self.thread_mut(parent) {
                    p.last_event_id = p.last_event_id.max(t.last_event_id);
                }
                if let Err(failure) = &outcome {
                    self.keep_for_redrive(t, Some(failure));
                }
                self.work
                    .push_back((parent, Work::ChildDone { index, outcome }));
            }
        }
    }

    fn finish_execution(&mut self, outcome: Result<Value, Failure>) {
        match outcome {
            Ok(output) => {
                self.emit(
                    Some(ROOT),
                    "ExecutionSucceeded",
                    Some(history::details(
                        "executionSucceededEventDetails",
                        &[
                            ("output", Some(output.clone())),
                            ("outputDetails", Some(history::truncated_false())),
                        ],
                    )),
                );
                self.exec.status = Status::Succeeded;
                self.exec.output = Some(output);
            }
            Err(failure) => {
                self.emit(
                    Some(ROOT),
                    "ExecutionFailed",
                    Some(history::details(
                        "executionFailedEventDetails",
                        &[
                            (
                                "error",
                                (!failure.error.is_empty())
                                    .then(|| Value::String(failure.error.clone())),
                            ),
                            (
                                "cause",
                                (!failure.cause.is_empty())
                                    .then(|| Value::String(failure.cause.clone())),
                            ),
                        ],
                    )),
                );
                self.exec.status = Status::Failed;
                self.exec.failure = Some(failure);
            }
        }
        self.work.clear();
    }
}

/// The `States.Runtime` failure for an `InputPath`, `ItemsPath` or `OutputPath` that matches
/// nothing, worded as AWS's JSONPath engine words it: a missing leaf is "No results for path",
/// a missing step on the way is "Missing property in path" up to that step.
fn invalid_path(path: &Path, env: &Env) -> Failure {
    let normalized = path.normalized();
    let split = normalized.find('[').unwrap_or(normalized.len());
    let (root, rest) = normalized.split_at(split);
    let steps = bracket_steps(rest);
    let mut prefix = root.to_string();
    for (i, step) in steps.iter().enumerate() {
        prefix.push_str(step);
        if i + 1 == steps.len() {
            break;
        }
        let missing = Path::parse(&prefix)
            .ok()
            .is_some_and(|p| p.is_definite() && p.select(env).is_none());
        if missing {
            return Failure::runtime(format!(
                "Invalid path '{}' : Missing property in path {prefix}",
                path.as_str()
            ));
        }
    }
    Failure::runtime(format!(
        "Invalid path '{}' : No results for path: {normalized}",
        path.as_str()
    ))
}

/// Splits `['a'][0]['b']` into its bracketed steps, respecting quoted names.
fn bracket_steps(text: &str) -> Vec<&str> {
    let mut steps = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '\'' => quoted = !quoted,
            ']' if !quoted => {
                steps.push(&text[start..=i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    steps
}

fn retriers(state: &State) -> &[Retrier] {
    match &state.kind {
        StateKind::Task(t) => &t.retry,
        StateKind::Parallel(p) => &p.retry,
        StateKind::Map(m) => &m.retry,
        _ => &[],
    }
}

fn catchers(state: &State) -> &[Catcher] {
    match &state.kind {
        StateKind::Task(t) => &t.catch,
        StateKind::Parallel(p) => &p.catch,
        StateKind::Map(m) => &m.catch,
        _ => &[],
    }
}

fn result_handling(state: &State) -> Option<&ResultHandling> {
    match &state.kind {
        StateKind::Task(t) => Some(&t.result),
        StateKind::Parallel(p) => Some(&p.result),
        StateKind::Map(m) => Some(&m.result),
        _ => None,
    }
}

fn region_of(arn: &str) -> String {
    arn.split(':')
        .nth(3)
        .filter(|r| !r.is_empty())
        .unwrap_or("us-east-1")
        .to_string()
}

fn map_run_arn(info: &ExecutionInfo, state: &str, label: Option<&str>, rng: &mut Rng) -> String {
    let prefix = info
        .state_machine_arn
        .split_once(":stateMachine:")
        .map(|(p, _)| p.to_string())
        .unwrap_or_else(|| "arn:aws:states:us-east-1:000000000000".to_string());
    format!(
        "{prefix}:mapRun:{}/{}:{}",
        info.state_machine_name,
        label.unwrap_or(state),
        rng.uuid()
    )
}
