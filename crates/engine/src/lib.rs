//! The engine: loads an execution, asks `asl` what happens next, commits the decision to the
//! store, then carries out its commands.
//!
//! # Design notes
//! - **Decide, commit, act.** Every event an execution receives (start, task result, timer,
//!   stop, timeout) goes through [`asl::execution::step`]; the new snapshot, the history events
//!   and the work the step asks for (tasks, timers) are written in one [`store::Commit`]; only
//!   after the store acknowledged it does the engine run tasks or arm timers. The event's own
//!   work item is deleted in that same commit, so a crash before the commit redelivers the
//!   event's work and a crash after it cannot repeat the transition.
//! - **One actor per busy execution.** Events for one execution are handled one batch at a time
//!   by a Tokio task that owns the execution's state while it is busy and goes away when idle;
//!   many executions commit concurrently, so the store can group their commits.
//! - **Work is the resume list.** On start the engine claims every work item in the store
//!   (tasks not yet answered, timers not yet fired) and carries it out again; tasks carry
//!   idempotency keys because a crash can deliver them twice.
//! - **Express** executions run in memory through the same `step`, with no store.

mod activities;
pub mod alarms;
mod callbacks;
mod clock;
mod documents;
mod engine;
mod error;
mod express;
mod map_runs;
pub mod mappings;
pub mod metrics;
mod names;
mod nested;
pub mod queues;
mod resources;
mod sdk;
mod task;
pub mod topics;
mod work;

pub use activities::{ActivityRecord, ActivityTask};
pub use callbacks::{MAX_CAUSE_LENGTH, MAX_ERROR_LENGTH};
pub use clock::{Clock, ManualClock, ScaledClock, SystemClock};
pub use engine::{Engine, NewStateMachine, Options, StartedExecution};
pub use error::Error;
pub use express::ExpressOutcome;
pub use map_runs::MapRun;
pub use resources::{AliasRecord, MAX_TAGS, Qualified, Route, VersionRecord, qualify};
pub use task::{Handler, Handlers, TaskFailure, TaskRequest, handler_fn};

pub use store::BoxFuture;
