//! `RedriveExecution`: restarting a failed, timed-out or aborted Standard execution from where it
//! stopped, as AWS Step Functions does it.
//!
//! # AWS's rules
//! From "Restarting state machine executions with redrive in Step Functions"
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html>) and the
//! `RedriveExecution` API reference
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html>):
//!
//! - A redrive continues the execution from the unsuccessful step and uses the same input. The
//!   results of the steps that succeeded are kept and those steps are not run again. The execution
//!   keeps its ARN and definition, and its history goes on: the new events are appended, the first
//!   being `ExecutionRedriven` with `executionRedrivenEventDetails.redriveCount`
//!   (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_ExecutionRedrivenEventDetails.html>).
//! - A Task, Parallel or inline Map state that runs again starts with its retry counts at 0.
//! - A Parallel or inline Map state runs again only the branches or iterations that failed or were
//!   aborted (and those that never started); the ones that succeeded keep their results. When the
//!   state failed with `States.DataLimitExceeded` it runs again whole, successful children
//!   included.
//! - The state machine's `TimeoutSeconds` starts over from the redrive.
//! - A Choice state evaluates its rules again, a Fail state fails again, and a Wait state waits
//!   again (leaving at once when its `Timestamp` is in the past).
//! - The context object shows `Execution.RedriveCount` and, once redriven, `Execution.RedriveTime`
//!   (<https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html>).
//! - Which executions can be redriven: see [`redrivable`].
//!
//! # Model
//! When a thread of control fails or is aborted, [`step`](super::step) keeps it as a [`Stopped`]
//! record instead of dropping it: a Parallel branch or Map iteration in its parent's
//! [`FanOut::stopped`](super::FanOut::stopped), the root thread in
//! [`Execution::redrive_from`]. The record holds the state the thread was in, that state's raw
//! input and the thread's variables; a thread that was waiting for its own children still holds
//! their fan-out, with their results and their own records, so the whole tree of unfinished work
//! survives the end of the execution.
//!
//! [`Event::Redrive`](super::Event::Redrive) walks that tree. A stopped thread re-enters its state with the same input (a
//! `...StateEntered` event, retry counts at 0). A thread that was waiting for a Parallel or inline
//! Map re-enters that state and launches again only the children without a result, in index
//! order and within `MaxConcurrency`; a child that had started resumes from its own record, one
//! that never started starts from the beginning with its original input.
//!
//! # Where AWS documents nothing, and where weir differs
//! - AWS does not document the events of a Parallel or Map that runs again. Here it records
//!   `...StateEntered` and `ParallelStateStarted` / `MapStateStarted` again before its children
//!   run, so that each visit in the history has an entered and an exited event, as for a Task
//!   state that runs again.
//! - AWS redrives a failed Map Run and reruns only its unsuccessful child executions
//!   (<https://docs.aws.amazon.com/step-functions/latest/dg/redrive-map-run.html>). weir runs a
//!   Distributed Map in memory, without child executions, so a redrive runs it again whole, with
//!   a new Map Run.
//! - A Parallel or Map that failed after all its children had succeeded (in its
//!   `ResultSelector`, `ResultPath`, `OutputPath` or `Assign`) runs again whole: the fan-out ends
//!   when its last child succeeds, so no results are kept past that point.
//! - AWS documents a hard limit of 1000 redrives for a Map Run, not for an execution, so
//!   executions have no redrive limit here.

use super::{
    Blocked, Body, Command, Execution, FanKind, ROOT, Run, Status, Thread, ThreadId, Work,
};
use crate::error::{Failure, names};
use crate::history;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value};

/// The error code AWS answers `RedriveExecution` with when an execution cannot be redriven.
pub const NOT_REDRIVABLE_ERROR: &str = "ExecutionNotRedrivable";

/// When AWS launched `RedriveExecution` (2023-11-15T00:00:00Z): executions started before it
/// cannot be redriven.
pub const REDRIVE_LAUNCH: Timestamp = Timestamp::constant(1_700_006_400, 0);

/// How long after it stops an execution can be redriven: 14 days.
pub const REDRIVABLE_PERIOD: SignedDuration = SignedDuration::from_hours(14 * 24);

/// The longest an execution may stay open: one year (365 days).
pub const MAX_OPEN_TIME: SignedDuration = SignedDuration::from_hours(365 * 24);

/// An execution can be redriven only while its history has fewer events than this, leaving room
/// for `ExecutionRedriven` and at least one more event under the 25,000-event limit.
pub const REDRIVE_HISTORY_LIMIT: u64 = 24_999;

/// A thread of control as it stood when it failed or was aborted: where a redrive resumes it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stopped {
    /// The thread: its state, that state's raw input, its variables and, when it waited for a
    /// Parallel or Map, that fan-out with its results and its own stopped children.
    pub thread: Thread,
    /// The error the thread failed with; `None` when it was aborted.
    pub failure: Option<Failure>,
}

/// Why an execution cannot be redriven, returned with the [`NOT_REDRIVABLE_ERROR`] error code.
///
/// The messages are the `redriveStatusReason` texts listed in the `DescribeExecution` API
/// reference, without a final period as AWS's recorded responses have them ("Execution is
/// SUCCEEDED and cannot be redriven"); `Express` quotes the `RedriveExecution` API reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotRedrivable {
    /// Express executions cannot be redriven.
    #[error("This API action is not supported by EXPRESS state machines")]
    Express,
    /// The execution is still running.
    #[error("Execution is RUNNING and cannot be redriven")]
    Running,
    /// The execution succeeded.
    #[error("Execution is SUCCEEDED and cannot be redriven")]
    Succeeded,
    /// The execution started before 2023-11-15, or stopped before weir kept what a redrive
    /// needs (an execution stored by an older weir).
    #[error("Execution was started before the launch of RedriveExecution")]
    StartedBeforeLaunch,
    /// The history has [`REDRIVE_HISTORY_LIMIT`] events or more.
    #[error("Execution history event limit exceeded")]
    HistoryLimit,
    /// More than [`MAX_OPEN_TIME`] has passed since the execution started.
    #[error("Execution has exceeded the max execution time")]
    MaxExecutionTime,
    /// More than [`REDRIVABLE_PERIOD`] has passed since the execution stopped.
    #[error("Execution redrivable period exceeded")]
    PeriodExceeded,
}

/// Whether `RedriveExecution` may restart `execution` at `now`, and if not, why.
///
/// AWS's conditions (<https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html#redrive-eligibility>):
/// the execution is a Standard one; its status isn't `RUNNING` or `SUCCEEDED` (so it is
/// `FAILED`, `TIMED_OUT` or `ABORTED`); it started on or after November 15, 2023; its history has
/// fewer than 24,999 events; it hasn't exceeded the maximum open time of one year; and its
/// redrivable period of 14 days, which starts when it stops, hasn't passed. The reasons are
/// checked in that order.
pub fn redrivable(execution: &Execution, now: Timestamp) -> Result<(), NotRedrivable> {
    if execution.info.express {
        return Err(NotRedrivable::Express);
    }
    match execution.status {
        Status::Running => return Err(NotRedrivable::Running),
        Status::Succeeded => return Err(NotRedrivable::Succeeded),
        Status::Failed | Status::TimedOut | Status::Aborted => {}
    }
    let Some(stop_time) = execution.stop_time else {
        return Err(NotRedrivable::StartedBeforeLaunch);
    };
    if execution.info.start_time < REDRIVE_LAUNCH || execution.redrive_from.is_none() {
        return Err(NotRedrivable::StartedBeforeLaunch);
    }
    if execution.last_event_id >= REDRIVE_HISTORY_LIMIT {
        return Err(NotRedrivable::HistoryLimit);
    }
    if now.duration_since(execution.info.start_time) > MAX_OPEN_TIME {
        return Err(NotRedrivable::MaxExecutionTime);
    }
    if now.duration_since(stop_time) > REDRIVABLE_PERIOD {
        return Err(NotRedrivable::PeriodExceeded);
    }
    Ok(())
}

/// The thread a record restores. A thread that failed with `States.DataLimitExceeded`, or that
/// waited for a Map Run, re-enters its state afresh instead of resuming its fan-out.
fn restored(stopped: Stopped) -> Thread {
    let mut thread = stopped.thread;
    let whole = stopped
        .failure
        .is_some_and(|f| f.error == names::DATA_LIMIT_EXCEEDED);
    let map_run = matches!(&thread.blocked, Blocked::Children(fan) if fan.kind == FanKind::MapRun);
    if whole || map_run {
        thread.blocked = Blocked::Ready;
    }
    thread
}

impl Run<'_> {
    /// [`Event::Redrive`](super::Event::Redrive): restarts a redrivable execution where it stopped;
    /// does nothing to any other.
    pub(super) fn redrive(&mut self) {
        if redrivable(&self.exec, self.now).is_err() {
            return;
        }
        let Some(from) = self.exec.redrive_from.take() else {
            return;
        };
        let count = self.exec.info.redrive_count.unwrap_or(0).saturating_add(1);
        self.exec.info.redrive_count = Some(count);
        self.exec.info.redrive_time = Some(self.now);
        self.exec.status = Status::Running;
        self.exec.output = None;
        self.exec.failure = None;
        self.exec.stop_time = None;
        self.exec.threads.clear();
        let id = self.emit(
            None,
            "ExecutionRedriven",
            Some(history::details(
                "executionRedrivenEventDetails",
                &[("redriveCount", Some(Value::from(count)))],
            )),
        );
        // "When you redrive an execution, the state machine level timeout, if defined, is reset
        // to 0."
        if let Some(secs) = self.def.timeout_seconds {
            let at = self.now + SignedDuration::from_secs(secs.min(i64::MAX as u64 / 2) as i64);
            self.commands.push(Command::ExecutionTimeout { at });
        }
        let mut root = restored(from);
        root.parent = None;
        root.last_event_id = id;
        self.exec.threads.insert(ROOT, root);
        self.work.push_back((ROOT, Work::Redrive));
    }

    /// Runs a restored thread again: re-enters its state, or resumes the Parallel or Map it
    /// waited for.
    pub(super) fn resume(&mut self, tid: ThreadId) {
        let Some(t) = self.thread(tid) else {
            return;
        };
        if !matches!(t.blocked, Blocked::Children(_)) {
            let (name, input) = (t.state.clone(), t.input.clone());
            self.enter(tid, name, input);
            return;
        }
        let details = self
            .exec
            .info
            .keep_history
            .then(|| history::state_entered(&t.state, &t.input));
        let Some(state) = self.state_of(tid) else {
            return;
        };
        let retriers = super::retriers(state).len();
        if let Some(t) = self.thread_mut(tid) {
            t.retry_attempts = vec![0; retriers];
            t.retry_count = 0;
        }
        let id = self.emit(
            Some(tid),
            &format!("{}StateEntered", state.kind.type_name()),
            details,
        );
        let now = self.now;
        let Some(t) = self.thread_mut(tid) else {
            return;
        };
        t.entered_event_id = id;
        t.entered_time = now;
        let Blocked::Children(fan) = &mut t.blocked else {
            return;
        };
        for index in fan.stopped.keys() {
            if let Some(result) = fan.results.get_mut(*index) {
                *result = None;
            }
        }
        fan.next = 0;
        fan.running.clear();
        fan.failures = 0;
        let kind = fan.kind;
        let length = fan.results.len();
        let finished = fan.results.iter().all(Option::is_some).then(|| {
            fan.results
                .iter()
                .map(|r| r.clone().unwrap_or(Value::Null))
                .collect::<Vec<_>>()
        });
        match kind {
            FanKind::Parallel => {
                self.emit(Some(tid), "ParallelStateStarted", None);
            }
            FanKind::Map | FanKind::MapRun => {
                self.emit(
                    Some(tid),
                    "MapStateStarted",
                    Some(history::details(
                        "mapStateStartedEventDetails",
                        &[("length", Some(Value::from(length)))],
                    )),
                );
            }
        }
        let Some(results) = finished else {
            self.launch_children(tid);
            return;
        };
        // Nothing left to run: every child had a result when the thread stopped.
        if let Some(t) = self.thread_mut(tid) {
            t.blocked = Blocked::Ready;
        }
        match self.fan_out_succeeded(tid, kind, results) {
            Body::Result(v) => self.complete(tid, v),
            Body::Failed(f) => self.fail(tid, f),
            Body::Blocked => {}
        }
    }

    /// Before launching a child of `tid`: skips the children that kept a result from before a
    /// redrive (a fan-out that never stopped has none ahead of `next`).
    pub(super) fn skip_kept_children(&mut self, tid: ThreadId) {
        if let Some(Thread {
            blocked: Blocked::Children(fan),
            ..
        }) = self.exec.threads.get_mut(&tid)
        {
            while fan.results.get(fan.next).is_some_and(Option::is_some) {
                fan.next += 1;
            }
        }
    }

    /// When launching child `index` of `parent` as thread `child`: if that child had stopped
    /// before a redrive, restores it from its record and returns the work that resumes it.
    pub(super) fn resume_child(
        &mut self,
        parent: ThreadId,
        index: usize,
        child: ThreadId,
    ) -> Option<Work> {
        let stopped = match self.exec.threads.get_mut(&parent) {
            Some(Thread {
                blocked: Blocked::Children(fan),
                ..
            }) => fan.stopped.remove(&index)?,
            _ => return None,
        };
        let from = restored(stopped);
        let t = self.exec.threads.get_mut(&child)?;
        t.state = from.state;
        t.input = from.input;
        t.variables = from.variables;
        t.map_item = from.map_item;
        t.blocked = from.blocked;
        Some(Work::Redrive)
    }

    /// Keeps a thread that failed (`failure`) or was aborted (`None`) for a later redrive: a
    /// child in its parent's fan-out, the root thread in the execution.
    pub(super) fn keep_for_redrive(&mut self, thread: Thread, failure: Option<&Failure>) {
        let stopped = Stopped {
            thread,
            failure: failure.cloned(),
        };
        match stopped.thread.parent {
            None => self.exec.redrive_from = Some(stopped),
            Some((parent, index)) => {
                if let Some(Thread {
                    blocked: Blocked::Children(fan),
                    ..
                }) = self.exec.threads.get_mut(&parent)
                {
                    fan.stopped.insert(index, stopped);
                }
            }
        }
    }

    /// Keeps the root thread `tid` for a later redrive once the execution has failed.
    pub(super) fn keep_root_for_redrive(&mut self, tid: ThreadId) {
        if self.exec.status == Status::Succeeded {
            return;
        }
        if let Some(root) = self.exec.threads.remove(&tid) {
            let failure = self.exec.failure.clone();
            self.keep_for_redrive(root, failure.as_ref());
        }
    }

    /// Whether an [`Event::TimedOut`](super::Event::TimedOut) is the timer of an attempt before
    /// the last redrive: the `TimeoutSeconds` of a redriven execution count from the redrive.
    pub(super) fn stale_timeout(&self) -> bool {
        match (self.exec.info.redrive_time, self.def.timeout_seconds) {
            (Some(redriven), Some(secs)) => redriven
                .checked_add(SignedDuration::from_secs(
                    secs.min(i64::MAX as u64 / 2) as i64
                ))
                .is_ok_and(|deadline| self.now < deadline),
            _ => false,
        }
    }

    /// After a step that began with the history at `last_event_id`: records when the execution
    /// stopped, if it stopped in this step, and makes sure an unsuccessful execution has a point
    /// to redrive from (the start, when it failed before entering any state).
    pub(super) fn settle(&mut self, last_event_id: u64) {
        if self.exec.status == Status::Running || self.exec.last_event_id == last_event_id {
            return;
        }
        self.exec.stop_time = Some(self.now);
        if self.exec.status == Status::Succeeded || self.exec.redrive_from.is_some() {
            return;
        }
        let root = Thread {
            parent: None,
            scope: Vec::new(),
            label: String::new(),
            state: self.def.scope.start_at.clone(),
            input: self.exec.info.input.clone(),
            entered_event_id: 0,
            entered_time: self.now,
            last_event_id: 0,
            variables: Map::new(),
            retry_attempts: Vec::new(),
            retry_count: 0,
            map_item: None,
            blocked: Blocked::Ready,
        };
        self.exec.redrive_from = Some(Stopped {
            thread: root,
            failure: self.exec.failure.clone(),
        });
    }
}
