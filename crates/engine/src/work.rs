//! Work items: how the commands of a step become durable rows in the store, and back.
//!
//! A work item's id is derived from what it answers (execution ARN, kind, thread, wake id), so
//! the engine never needs a store round trip to learn it, and the commit that consumes an event
//! can delete the event's work item by name.

use asl::execution::{Command, Event, ThreadId};
use jiff::Timestamp;
use store::WorkItem;

/// The id of the work item that runs a task.
pub fn task_id(arn: &str, thread: ThreadId, wake: u64) -> String {
    format!("{arn}|task|{thread}|{wake}")
}

/// The id of the work item of a Wait or retry timer.
pub fn timer_id(arn: &str, thread: ThreadId, wake: u64) -> String {
    format!("{arn}|timer|{thread}|{wake}")
}

/// The id of the work item of a task's deadline (`TimeoutSeconds` or a heartbeat deadline). A
/// heartbeat arms a new one each time, so the deadline is part of the id.
pub fn task_timer_id(arn: &str, thread: ThreadId, wake: u64, at: Timestamp) -> String {
    format!("{arn}|tasktimer|{thread}|{wake}|{}", at.as_millisecond())
}

/// The id of the work item of the execution's `TimeoutSeconds`.
pub fn timeout_id(arn: &str) -> String {
    format!("{arn}|timeout")
}

/// What a step's commands add to and remove from the store's work.
#[derive(Debug, Default)]
pub struct WorkChanges {
    /// Items to add.
    pub add: Vec<WorkItem>,
    /// Item ids to delete.
    pub done: Vec<String>,
}

/// Turns commands into work changes. A command that cannot be serialized is a bug in `asl`'s
/// types; it is reported as a string so the caller can fail the commit.
pub fn changes(arn: &str, now: Timestamp, commands: &[Command]) -> Result<WorkChanges, String> {
    let mut out = WorkChanges::default();
    for command in commands {
        let (id, due) = match command {
            Command::RunTask(task) => (task_id(arn, task.thread, task.wake), now),
            Command::StartTimer { thread, wake, at } => (timer_id(arn, *thread, *wake), *at),
            Command::ExecutionTimeout { at } => (timeout_id(arn), *at),
            Command::TaskTimer { thread, wake, at } => {
                (task_timer_id(arn, *thread, *wake, *at), *at)
            }
            Command::CancelTask { thread, wake } => {
                out.done.push(task_id(arn, *thread, *wake));
                continue;
            }
            Command::CancelTaskTimer { thread, wake, at } => {
                out.done.push(task_timer_id(arn, *thread, *wake, *at));
                continue;
            }
        };
        let payload = serde_json::to_string(command).map_err(|e| e.to_string())?;
        out.add.push(WorkItem {
            id,
            execution_arn: arn.to_string(),
            due,
            payload,
        });
    }
    Ok(out)
}

/// Reads a work item's command back.
pub fn command(item: &WorkItem) -> Result<Command, String> {
    serde_json::from_str(&item.payload).map_err(|e| format!("work item {}: {e}", item.id))
}

/// The event a timer command delivers when it fires, with its work item id.
pub fn timer_event(arn: &str, command: &Command) -> Option<(Event, String)> {
    match command {
        Command::StartTimer { thread, wake, .. } => Some((
            Event::TimerFired {
                thread: *thread,
                wake: *wake,
            },
            timer_id(arn, *thread, *wake),
        )),
        Command::ExecutionTimeout { .. } => Some((Event::TimedOut, timeout_id(arn))),
        Command::TaskTimer { thread, wake, at } => Some((
            Event::TaskTimerFired {
                thread: *thread,
                wake: *wake,
            },
            task_timer_id(arn, *thread, *wake, *at),
        )),
        Command::RunTask(_) | Command::CancelTask { .. } | Command::CancelTaskTimer { .. } => None,
    }
}
