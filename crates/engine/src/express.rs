//! Express executions: run in memory through the same `step` as Standard ones, with no store
//! and no history kept. Tasks are delivered at least once (a crash loses the execution, and the
//! caller starts it again); `StartSyncExecution` waits for the result, up to five minutes.

use crate::engine::Engine;
use crate::error::Error;
use crate::task::TaskRequest;
use asl::definition::StateMachine;
use asl::execution::{Command, Event, Execution, ExecutionInfo, Status, step};
use asl::history::HistoryEvent;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The longest a synchronous Express execution may run (AWS: five minutes).
pub const SYNC_LIMIT: SignedDuration = SignedDuration::from_mins(5);

/// How an Express execution ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpressOutcome {
    /// The execution ARN (`...:express:<machine>:<name>:<id>`).
    pub execution_arn: String,
    /// The final status.
    pub status: Status,
    /// The output, when it succeeded.
    pub output: Option<Value>,
    /// The error and cause, when it failed or timed out.
    pub failure: Option<asl::Failure>,
    /// When it started.
    pub start_date: Timestamp,
    /// When it ended.
    pub stop_date: Timestamp,
    /// The history, kept in memory only for the caller (logging).
    pub history: Vec<HistoryEvent>,
}

impl Engine {
    /// Runs an Express state machine's execution to its end and returns the outcome
    /// (`StartSyncExecution`). Runs longer than five minutes end as `TIMED_OUT`.
    pub async fn start_sync_execution(
        &self,
        state_machine_arn: &str,
        name: Option<&str>,
        input: Option<&str>,
    ) -> Result<ExpressOutcome, Error> {
        let crate::engine::Startable {
            record: machine,
            definition,
            ..
        } = self.startable(state_machine_arn).await?;
        if machine.kind != "EXPRESS" {
            return Err(Error::NotAllowed {
                code: "StateMachineTypeNotSupported",
                message: "This operation is not supported by this type of state machine".into(),
            });
        }
        let info = self.express_info(&machine, name, input, true)?;
        Ok(self.run_express(definition, info).await)
    }

    /// An Express execution's facts. Its history is not kept: nothing reads it (until logging
    /// comes), and building it would copy every state's input and output.
    pub(crate) fn express_info(
        &self,
        machine: &store::StateMachineRecord,
        name: Option<&str>,
        input: Option<&str>,
        sync: bool,
    ) -> Result<ExecutionInfo, Error> {
        let name = match name {
            Some(name) => {
                crate::engine::check_name(name)?;
                name.to_string()
            }
            None => fresh_uuid(),
        };
        let input = crate::engine::parse_input(input.unwrap_or("{}"))?;
        let now = self.clock().now();
        let mut info =
            ExecutionInfo::new_express(&machine.arn, &name, &fresh_uuid(), input, now, sync);
        info.keep_history = false;
        info.role_arn = machine.role_arn.clone();
        Ok(info)
    }

    /// Runs an Express execution in memory to its end.
    pub(crate) async fn run_express(
        &self,
        definition: Arc<StateMachine>,
        info: ExecutionInfo,
    ) -> ExpressOutcome {
        let clock = self.clock().clone();
        let start_date = info.start_time;
        let arn = info.arn.clone();
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        let mut execution = Execution::new(info);
        let mut history = Vec::new();
        let mut next = Some(Event::Start);
        let mut position = 0u64;
        // The five-minute limit, on top of any TimeoutSeconds of the definition.
        let limit = start_date
            .saturating_add(SYNC_LIMIT)
            .unwrap_or(Timestamp::MAX);
        let mut timers = Vec::new();
        while let Some(event) = next.take() {
            position += 1;
            let stepped = step(&definition, execution, event, clock.now(), position);
            execution = stepped.execution;
            history.extend(stepped.events);
            if execution.status != Status::Running {
                break;
            }
            for command in stepped.commands {
                match command {
                    Command::RunTask(task) => {
                        let answer = if crate::nested::runs(&task.resource) {
                            crate::nested::run(self.clone(), arn.clone(), task.clone())
                        } else if crate::queues::integration::runs(&task.resource) {
                            crate::queues::integration::run(self.clone(), task.clone())
                        } else if crate::topics::integration::runs(&task.resource) {
                            crate::topics::integration::run(self.clone(), task.clone())
                        } else {
                            self.tasks().call(TaskRequest::of(&arn, &task))
                        };
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            let _ = tx.send(crate::task::answer(&task, answer.await));
                        });
                    }
                    Command::StartTimer { thread, wake, at } => {
                        timers.push(spawn_timer(
                            self,
                            &tx,
                            at,
                            Event::TimerFired { thread, wake },
                        ));
                    }
                    Command::ExecutionTimeout { at } => {
                        timers.push(spawn_timer(self, &tx, at, Event::TimedOut));
                    }
                    Command::TaskTimer { thread, wake, at } => {
                        timers.push(spawn_timer(
                            self,
                            &tx,
                            at,
                            Event::TaskTimerFired { thread, wake },
                        ));
                    }
                    Command::CancelTask { .. } | Command::CancelTaskTimer { .. } => {}
                }
            }
            next = tokio::select! {
                event = rx.recv() => event,
                () = clock.sleep_until(limit) => Some(Event::TimedOut),
            };
        }
        for timer in timers {
            timer.abort();
        }
        let stop_date = clock.now();
        self.inner().metrics.record_express(
            &arn,
            execution.status.as_str(),
            stop_date.duration_since(start_date).as_secs_f64().max(0.0),
        );
        ExpressOutcome {
            execution_arn: arn,
            status: execution.status,
            output: execution.output,
            failure: execution.failure,
            start_date,
            stop_date,
            history,
        }
    }
}

/// A fresh seed from a generator seeded once per process: a system call per id would cost
/// more than a whole Express execution of Pass states.
fn draw() -> u64 {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        let bytes = *uuid::Uuid::new_v4().as_bytes();
        u64::from_le_bytes([
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
        ])
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    asl::Rng::new(seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15)).next_u64()
}

/// A random (version 4) UUID.
pub(crate) fn fresh_uuid() -> String {
    asl::Rng::new(draw()).uuid()
}

/// A random number below `n` (alias routing by weight).
pub(crate) fn random_below(n: u64) -> u64 {
    draw() % n.max(1)
}

/// Sends `event` when the engine's clock reaches `at`.
fn spawn_timer(
    engine: &Engine,
    tx: &mpsc::UnboundedSender<Event>,
    at: Timestamp,
    event: Event,
) -> tokio::task::JoinHandle<()> {
    let clock = engine.clock().clone();
    let tx = tx.clone();
    tokio::spawn(async move {
        clock.sleep_until(at).await;
        let _ = tx.send(event);
    })
}
