//! An in-memory driver: runs a whole execution through [`step`] on a virtual clock.
//!
//! Timers and task durations advance the virtual clock instead of waiting, so a 60-second Wait
//! costs no wall time. Task results come from a caller-supplied function. This is the test
//! harness of the language and the heart of the Express engine.

use crate::definition::StateMachine;
use crate::error::{Failure, names};
use crate::execution::{
    Command, Event, Execution, ExecutionInfo, Status, TaskCommand, redrivable, step,
};
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
    slot: usize,
}

/// An execution in progress on the virtual clock.
///
/// [`run`] drives one to its end; tests that must act mid-run (stop an execution while it waits)
/// call [`Runner::advance`] and [`Runner::stop`] themselves.
pub struct Runner<'d> {
    def: &'d StateMachine,
    execution: Option<Execution>,
    history: Vec<HistoryEvent>,
    queue: BinaryHeap<Reverse<Pending>>,
    slots: Vec<Option<Event>>,
    seed: u64,
    started: Timestamp,
    now: Timestamp,
}

impl<'d> Runner<'d> {
    /// Starts an execution; its first transitions run at once.
    pub fn start(
        def: &'d StateMachine,
        info: ExecutionInfo,
        seed: u64,
        tasks: &mut dyn FnMut(&TaskCommand) -> TaskAnswer,
    ) -> Self {
        let started = info.start_time;
        let mut runner = Runner {
            def,
            execution: Some(Execution::new(info)),
            history: Vec::new(),
            queue: BinaryHeap::new(),
            slots: Vec::new(),
            seed,
            started,
            now: started,
        };
        runner.apply(Event::Start, tasks);
        runner
    }

    /// The execution's status now.
    pub fn status(&self) -> Status {
        self.execution
            .as_ref()
            .map(|e| e.status)
            .unwrap_or(Status::Running)
    }

    /// The virtual time now.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    fn apply(&mut self, event: Event, tasks: &mut dyn FnMut(&TaskCommand) -> TaskAnswer) {
        let Some(execution) = self.execution.take() else {
            return;
        };
        self.seed = self
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let s = step(self.def, execution, event, self.now, self.seed);
        self.execution = Some(s.execution);
        self.history.extend(s.events);
        for command in s.commands {
            let (at, event) = match command {
                Command::RunTask(task) => answer(&task, tasks(&task), self.now),
                Command::StartTimer { thread, wake, at } => {
                    (at, Event::TimerFired { thread, wake })
                }
                Command::ExecutionTimeout { at } => (at, Event::TimedOut),
                Command::TaskTimer { thread, wake, at } => {
                    (at, Event::TaskTimerFired { thread, wake })
                }
                Command::CancelTask { .. } | Command::CancelTaskTimer { .. } => continue,
            };
            self.slots.push(Some(event));
            self.queue.push(Reverse(Pending {
                at: at.max(self.now),
                seq: self.slots.len() as u64,
                slot: self.slots.len() - 1,
            }));
        }
    }

    /// Delivers the next pending event, moving the virtual clock to its time. Returns `false` when
    /// the execution has ended or nothing is pending.
    pub fn advance(&mut self, tasks: &mut dyn FnMut(&TaskCommand) -> TaskAnswer) -> bool {
        if self.status() != Status::Running {
            return false;
        }
        let Some(Reverse(pending)) = self.queue.pop() else {
            return false;
        };
        self.now = pending.at;
        if let Some(event) = self.slots.get_mut(pending.slot).and_then(Option::take) {
            self.apply(event, tasks);
        }
        true
    }

    /// Stops the execution (`StopExecution`).
    pub fn stop(&mut self, error: Option<String>, cause: Option<String>) {
        self.apply(Event::Stop { error, cause }, &mut |_| {
            TaskAnswer::fail(names::TASK_FAILED, "the execution was stopped")
        });
    }

    /// Redrives the execution (`RedriveExecution`) at `at` on the virtual clock, or now if `at` is
    /// earlier. Does nothing unless [`redrivable`] allows it then. Whatever was still pending
    /// belonged to the attempt that stopped, so it is dropped.
    pub fn redrive(&mut self, at: Timestamp, tasks: &mut dyn FnMut(&TaskCommand) -> TaskAnswer) {
        let at = self.now.max(at);
        let allowed = self
            .execution
            .as_ref()
            .is_some_and(|e| redrivable(e, at).is_ok());
        if !allowed {
            return;
        }
        self.now = at;
        self.queue.clear();
        self.slots.clear();
        self.apply(Event::Redrive, tasks);
    }

    /// The execution as it stands.
    pub fn execution(&self) -> Option<&Execution> {
        self.execution.as_ref()
    }

    /// Ends the run and reports how it went.
    pub fn finish(self) -> Outcome {
        let (status, output, failure) = match self.execution {
            Some(e) => (e.status, e.output, e.failure),
            None => (Status::Running, None, None),
        };
        Outcome {
            status,
            output,
            failure,
            history: self.history,
            started: self.started,
            ended: self.now,
        }
    }
}

fn answer(task: &TaskCommand, answer: TaskAnswer, now: Timestamp) -> (Timestamp, Event) {
    let limit = SignedDuration::from_secs(task.timeout_seconds.min(i64::MAX as u64 / 4) as i64);
    if answer.duration > limit {
        let event = Event::TaskFailed {
            thread: task.thread,
            wake: task.wake,
            error: names::TIMEOUT.to_string(),
            cause: String::new(),
        };
        return (now + limit, event);
    }
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

/// Runs an execution to its end. `tasks` answers every task the execution runs; `seed` makes
/// jitter and generated ids reproducible.
pub fn run(
    def: &StateMachine,
    info: ExecutionInfo,
    seed: u64,
    tasks: &mut dyn FnMut(&TaskCommand) -> TaskAnswer,
) -> Outcome {
    let mut runner = Runner::start(def, info, seed, tasks);
    while runner.advance(tasks) {}
    runner.finish()
}

/// A state machine ARN for in-memory runs of a definition called `name`.
pub fn local_state_machine_arn(name: &str) -> String {
    format!("arn:aws:states:us-east-1:000000000000:stateMachine:{name}")
}
