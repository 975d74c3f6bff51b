//! An in-memory driver: runs a whole execution through [`step`] on a virtual clock.
//!
//! Timers and task durations advance the virtual clock instead of waiting, so a 60-second Wait
//! costs no wall time. Task results come from a caller-supplied function. This is the test
//! harness of the language and the heart of the Express engine.

use crate::definition::StateMachine;
use crate::error::{Failure, names};
use crate::execution::{Command, Event, Execution, ExecutionInfo, Status, TaskCommand, step};
use crate::history::HistoryEvent;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// What a scripted task does.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskResult {
    /// Succeed with this output.
    Succeed(Value),
    /// Fail with this error and cause.
    Fail {
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
}

/// A scripted task answer and how long (virtual time) the task takes.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskAnswer {
    /// The outcome.
    pub result: TaskResult,
    /// How long the task runs; a task that runs past its timeout fails with `States.Timeout`.
    pub duration: SignedDuration,
}

impl TaskAnswer {
    /// An immediate success.
    pub fn ok(output: Value) -> Self {
        TaskAnswer {
            result: TaskResult::Succeed(output),
            duration: SignedDuration::ZERO,
        }
    }

    /// An immediate failure.
    pub fn fail(error: &str, cause: &str) -> Self {
        TaskAnswer {
            result: TaskResult::Fail {
                error: error.to_string(),
                cause: cause.to_string(),
            },
            duration: SignedDuration::ZERO,
        }
    }
}

/// How an in-memory run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The final status (`Running` only if the run stalled with nothing left to wait for).
    pub status: Status,
    /// The output, when succeeded.
    pub output: Option<Value>,
    /// The error, when failed, timed out or aborted.
    pub failure: Option<Failure>,
    /// The whole history.
    pub history: Vec<HistoryEvent>,
    /// When the execution started and ended on the virtual clock.
    pub started: Timestamp,
    /// When the last event happened on the virtual clock.
    pub ended: Timestamp,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    at: Timestamp,
    seq: u64,
}

/// Runs an execution to its end. `tasks` answers every task the execution runs; `seed` makes
/// jitter and generated ids reproducible.
pub fn run(
    def: &StateMachine,
    info: ExecutionInfo,
    seed: u64,
    tasks: &mut dyn FnMut(&TaskCommand) -> TaskAnswer,
) -> Outcome {
    let started = info.start_time;
    let mut now = started;
    let mut execution = Execution::new(info);
    let mut history = Vec::new();
    let mut queue: BinaryHeap<Reverse<(Pending, usize)>> = BinaryHeap::new();
    let mut slots: Vec<Option<Event>> = Vec::new();
    let mut seq = 0u64;
    let mut next_seed = seed;
    let mut event = Some(Event::Start);
    loop {
        if let Some(e) = event.take() {
            next_seed = next_seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let s = step(def, execution, e, now, next_seed);
            execution = s.execution;
            history.extend(s.events);
            for command in s.commands {
                let (at, answer) = match command {
                    Command::RunTask(task) => {
                        let answer = tasks(&task);
                        let limit = SignedDuration::from_secs(
                            task.timeout_seconds.min(i64::MAX as u64 / 4) as i64,
                        );
                        if answer.duration > limit {
                            (
                                now + limit,
                                Event::TaskFailed {
                                    thread: task.thread,
                                    wake: task.wake,
                                    error: names::TIMEOUT.to_string(),
                                    cause: String::new(),
                                },
                            )
                        } else {
                            let event = match answer.result {
                                TaskResult::Succeed(output) => Event::TaskSucceeded {
                                    thread: task.thread,
                                    wake: task.wake,
                                    output,
                                },
                                TaskResult::Fail { error, cause } => Event::TaskFailed {
                                    thread: task.thread,
                                    wake: task.wake,
                                    error,
                                    cause,
                                },
                            };
                            (now + answer.duration, event)
                        }
                    }
                    Command::StartTimer { thread, wake, at } => {
                        (at, Event::TimerFired { thread, wake })
                    }
                    Command::ExecutionTimeout { at } => (at, Event::TimedOut),
                    Command::CancelTask { .. } => continue,
                };
                seq += 1;
                slots.push(Some(answer));
                queue.push(Reverse((
                    Pending {
                        at: at.max(now),
                        seq,
                    },
                    slots.len() - 1,
                )));
            }
        }
        if execution.status != Status::Running {
            break;
        }
        let Some(Reverse((pending, slot))) = queue.pop() else {
            break;
        };
        now = pending.at;
        event = slots.get_mut(slot).and_then(Option::take);
    }
    Outcome {
        status: execution.status,
        output: execution.output,
        failure: execution.failure,
        history,
        started,
        ended: now,
    }
}

/// A state machine ARN for in-memory runs of a definition called `name`.
pub fn local_state_machine_arn(name: &str) -> String {
    format!("arn:aws:states:us-east-1:000000000000:stateMachine:{name}")
}
