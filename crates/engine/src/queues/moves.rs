//! Message move tasks (`StartMessageMoveTask`, `ListMessageMoveTasks`,
//! `CancelMessageMoveTask`): send a dead-letter queue's messages back to the queues they came
//! from, or to a given queue, at a bounded rate.
//!
//! A task moves the messages the dead-letter queue holds when it starts (its
//! `ApproximateNumberOfMessagesToMove`), in batches paced to `MaxNumberOfMessagesPerSecond`;
//! each batch is one atomic store operation, so a message is never in both queues. One task runs
//! per source queue at a time. Tasks live in this process: a restart ends a running task, and
//! what it had not moved stays in the dead-letter queue.

use super::{Engine, QueueRecord, invalid, lock, queue_name_of, refused};
use crate::error::Error;
use jiff::Timestamp;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The rate of a task that names none, in messages per second.
const DEFAULT_RATE: u64 = 500;

/// A move task as `ListMessageMoveTasks` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct MoveTask {
    /// Its handle.
    pub handle: String,
    /// `RUNNING`, `COMPLETED`, `CANCELLING`, `CANCELLED` or `FAILED`.
    pub status: String,
    /// The dead-letter queue's ARN.
    pub source_arn: String,
    /// Where messages go, if not back to their sources.
    pub destination_arn: Option<String>,
    /// The rate, if the caller set one.
    pub max_per_second: Option<u64>,
    /// How many it moved.
    pub moved: u64,
    /// How many it set out to move.
    pub to_move: u64,
    /// When it started.
    pub started: Timestamp,
    /// Why it failed.
    pub failure: Option<String>,
}

/// One task's live state.
struct Task {
    record: Mutex<MoveTask>,
    moved: AtomicU64,
    cancel: AtomicBool,
}

impl Task {
    fn snapshot(&self) -> MoveTask {
        let mut record = lock(&self.record).clone();
        record.moved = self.moved.load(Ordering::SeqCst);
        record
    }
}

/// The move tasks of this process, newest last per source queue.
#[derive(Default)]
pub(crate) struct Moves {
    tasks: Mutex<BTreeMap<String, Vec<Arc<Task>>>>,
}

impl Engine {
    /// Starts moving a dead-letter queue's messages back (`destination_arn`: to that queue
    /// instead of each message's source).
    pub async fn start_message_move_task(
        &self,
        source_arn: &str,
        destination_arn: Option<&str>,
        max_per_second: Option<u64>,
    ) -> Result<String, Error> {
        let source = self.queue_by_arn(source_arn, "SourceArn").await?;
        if self
            .dead_letter_source_queues(&source.name)
            .await?
            .is_empty()
        {
            return Err(invalid(
                "Source queue must be configured as a Dead Letter Queue.",
            ));
        }
        let destination = match destination_arn {
            Some(arn) => Some(self.queue_by_arn(arn, "DestinationArn").await?),
            None => None,
        };
        if let Some(rate) = max_per_second
            && !(1..=500).contains(&rate)
        {
            return Err(invalid(format!(
                "Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: \
                 Must be between 1 and 500."
            )));
        }
        let moves = &self.inner().queues.moves;
        if lock(&moves.tasks)
            .get(source_arn)
            .and_then(|tasks| tasks.last())
            .is_some_and(|t| lock(&t.record).status == "RUNNING")
        {
            return Err(invalid(
                "There is already a task running. Only one active task is allowed for a source \
                 queue arn at a given time.",
            ));
        }
        let counts = self
            .store()
            .queue_counts(&source.name, self.clock().now())
            .await?;
        let to_move = counts.visible + counts.in_flight + counts.delayed;
        let handle = uuid::Uuid::new_v4().to_string();
        let task = Arc::new(Task {
            record: Mutex::new(MoveTask {
                handle: handle.clone(),
                status: "RUNNING".to_string(),
                source_arn: source_arn.to_string(),
                destination_arn: destination_arn.map(str::to_string),
                max_per_second,
                moved: 0,
                to_move,
                started: self.clock().now(),
                failure: None,
            }),
            moved: AtomicU64::new(0),
            cancel: AtomicBool::new(false),
        });
        lock(&moves.tasks)
            .entry(source_arn.to_string())
            .or_default()
            .push(task.clone());
        let engine = self.clone();
        let rate = max_per_second.unwrap_or(DEFAULT_RATE);
        tokio::spawn(async move {
            run(engine, task, source, destination, rate).await;
        });
        Ok(handle)
    }

    /// The move tasks of a dead-letter queue, newest first, at most `max`.
    pub async fn list_message_move_tasks(
        &self,
        source_arn: &str,
        max: usize,
    ) -> Result<Vec<MoveTask>, Error> {
        self.queue_by_arn(source_arn, "SourceArn").await?;
        Ok(lock(&self.inner().queues.moves.tasks)
            .get(source_arn)
            .map(|tasks| tasks.iter().rev().take(max).map(|t| t.snapshot()).collect())
            .unwrap_or_default())
    }

    /// Cancels a running move task; how many messages it had moved.
    pub async fn cancel_message_move_task(&self, handle: &str) -> Result<u64, Error> {
        if uuid::Uuid::parse_str(handle).is_err() {
            return Err(invalid("Value for parameter TaskHandle is invalid."));
        }
        let tasks = lock(&self.inner().queues.moves.tasks);
        let task = tasks
            .values()
            .flatten()
            .find(|t| lock(&t.record).handle == handle)
            .cloned();
        drop(tasks);
        let Some(task) = task else {
            return Err(refused("ResourceNotFoundException", "Task does not exist."));
        };
        {
            let mut record = lock(&task.record);
            if record.status != "RUNNING" {
                return Err(refused(
                    "UnsupportedOperation",
                    format!(
                        "Task {handle} is {}: only a running task can be cancelled.",
                        record.status
                    ),
                ));
            }
            record.status = "CANCELLING".to_string();
        }
        task.cancel.store(true, Ordering::SeqCst);
        Ok(task.moved.load(Ordering::SeqCst))
    }

    /// The queue an ARN given as `parameter` names.
    async fn queue_by_arn(&self, arn: &str, parameter: &str) -> Result<QueueRecord, Error> {
        match self.find_queue(queue_name_of(arn)).await? {
            Some(queue) if queue.arn == arn => Ok(queue),
            _ => Err(refused(
                "ResourceNotFoundException",
                format!(
                    "The resource that you specified for the {parameter} parameter doesn't exist."
                ),
            )),
        }
    }
}

/// Moves batches until the task has moved what it set out to, is cancelled, or fails.
async fn run(
    engine: Engine,
    task: Arc<Task>,
    source: QueueRecord,
    destination: Option<QueueRecord>,
    rate: u64,
) {
    // Ten batches a second, each a tenth of the rate; below ten a second, one message per
    // 1/rate seconds.
    let (batch, period) = if rate >= 10 {
        (rate / 10, Duration::from_millis(100))
    } else {
        (1, Duration::from_millis(1000 / rate.max(1)))
    };
    let to_move = lock(&task.record).to_move;
    // The queues messages go to, whose long polls a batch wakes: the destination, or the queues
    // that use this one as their dead-letter queue (a message from any other queue is still
    // found by its long polls' next look, within `POLL_INTERVAL`).
    let woken: Vec<String> = match &destination {
        Some(queue) => vec![queue.name.clone()],
        None => engine
            .dead_letter_source_queues(&source.name)
            .await
            .map(|sources| sources.into_iter().map(|q| q.name).collect())
            .unwrap_or_default(),
    };
    let mut tick = tokio::time::interval(period);
    let status = loop {
        tick.tick().await;
        if task.cancel.load(Ordering::SeqCst) {
            break "CANCELLED";
        }
        let moved_so_far = task.moved.load(Ordering::SeqCst);
        if moved_so_far >= to_move {
            break "COMPLETED";
        }
        let want = batch.min(to_move - moved_so_far) as usize;
        let moved = engine
            .store()
            .move_messages(
                &source.name,
                destination.as_ref().map(|d| d.name.as_str()),
                want,
                engine.clock().now(),
            )
            .await;
        match moved {
            // Nothing visible left to move (the rest were deleted or are in flight).
            Ok(0) => break "COMPLETED",
            Ok(n) => {
                task.moved.fetch_add(n, Ordering::SeqCst);
                super::Counters::add(&engine.inner().queues.counters(&source.name).redriven, n);
                for queue in &woken {
                    engine.inner().queues.signal(queue).notify_waiters();
                }
            }
            Err(error) => {
                lock(&task.record).failure = Some(error.to_string());
                break "FAILED";
            }
        }
    };
    tracing::info!(
        source = %source.arn,
        moved = task.moved.load(Ordering::SeqCst),
        status,
        "Message move task ended."
    );
    lock(&task.record).status = status.to_string();
}
