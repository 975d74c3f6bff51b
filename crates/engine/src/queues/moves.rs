//! Message move tasks (`StartMessageMoveTask`, `ListMessageMoveTasks`,
//! `CancelMessageMoveTask`): send a dead-letter queue's messages back to the queues they came
//! from, or to a given queue, at a bounded rate.
//!
//! A task moves the messages the dead-letter queue holds when it starts (its
//! `ApproximateNumberOfMessagesToMove`), in batches paced to `MaxNumberOfMessagesPerSecond`;
//! each batch is one atomic store operation, so a message is never in both queues. One task runs
//! per source queue at a time.
//!
//! Tasks are durable: each is a store document (kind `move-task`, keyed by its handle) written
//! when it starts, after each batch and when it ends. When the engine starts it resumes the
//! tasks that were `RUNNING`, from the count of messages moved as last written, and ends those
//! that were `CANCELLING` as `CANCELLED`. A stop between a batch and the write of its count
//! leaves the count one batch short, and the resumed task may then move up to one batch of
//! messages that reached the dead-letter queue after it started. Each message still moves once:
//! a batch is one atomic store operation. `ListMessageMoveTasks` reads the documents.

use super::{Engine, QueueRecord, invalid, lock, queue_name_of, refused};
use crate::documents;
use crate::error::Error;
use jiff::Timestamp;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The rate of a task that names none, in messages per second.
const DEFAULT_RATE: u64 = 500;

/// The document kind of move tasks.
const MOVE_TASK: &str = "move-task";

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

impl MoveTask {
    fn body(&self) -> String {
        json!({
            "status": self.status,
            "sourceArn": self.source_arn,
            "destinationArn": self.destination_arn,
            "maxPerSecond": self.max_per_second,
            "moved": self.moved,
            "toMove": self.to_move,
            "started": self.started.to_string(),
            "failure": self.failure,
        })
        .to_string()
    }

    fn read(handle: &str, text: &str) -> Result<MoveTask, Error> {
        let value = documents::parse(MOVE_TASK, handle, text)?;
        let corrupt = |what: &str| documents::corrupt(MOVE_TASK, handle, format!("bad {what}"));
        Ok(MoveTask {
            handle: handle.to_string(),
            status: value["status"]
                .as_str()
                .ok_or_else(|| corrupt("status"))?
                .to_string(),
            source_arn: value["sourceArn"]
                .as_str()
                .ok_or_else(|| corrupt("sourceArn"))?
                .to_string(),
            destination_arn: value["destinationArn"].as_str().map(str::to_string),
            max_per_second: value["maxPerSecond"].as_u64(),
            moved: value["moved"].as_u64().unwrap_or(0),
            to_move: value["toMove"].as_u64().unwrap_or(0),
            started: documents::timestamp(&value, "started").ok_or_else(|| corrupt("started"))?,
            failure: value["failure"].as_str().map(str::to_string),
        })
    }
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

/// The move tasks this process runs (or ran), by handle.
#[derive(Default)]
pub(crate) struct Moves {
    tasks: Mutex<BTreeMap<String, Arc<Task>>>,
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
        let running = self
            .stored_move_tasks()
            .await?
            .iter()
            .any(|t| t.source_arn == source_arn && t.status == "RUNNING");
        if running {
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
        let record = MoveTask {
            handle: handle.clone(),
            status: "RUNNING".to_string(),
            source_arn: source_arn.to_string(),
            destination_arn: destination_arn.map(str::to_string),
            max_per_second,
            moved: 0,
            to_move,
            started: self.clock().now(),
            failure: None,
        };
        self.store()
            .put_document(MOVE_TASK, &handle, record.body(), None)
            .await?;
        self.launch_move_task(record, source, destination);
        Ok(handle)
    }

    /// Runs a task (new or resumed) in the background.
    fn launch_move_task(
        &self,
        record: MoveTask,
        source: QueueRecord,
        destination: Option<QueueRecord>,
    ) {
        let rate = record.max_per_second.unwrap_or(DEFAULT_RATE);
        let task = Arc::new(Task {
            moved: AtomicU64::new(record.moved),
            record: Mutex::new(record),
            cancel: AtomicBool::new(false),
        });
        let handle = lock(&task.record).handle.clone();
        lock(&self.inner().queues.moves.tasks).insert(handle, task.clone());
        let engine = self.clone();
        tokio::spawn(async move {
            run(engine, task, source, destination, rate).await;
        });
    }

    /// Every stored move task.
    async fn stored_move_tasks(&self) -> Result<Vec<MoveTask>, Error> {
        self.store()
            .list_documents(MOVE_TASK, "")
            .await?
            .iter()
            .map(|d| MoveTask::read(&d.key, &d.body))
            .collect()
    }

    /// Resumes the move tasks a stopped process left `RUNNING` and ends those it left
    /// `CANCELLING` (see the module documentation). Called when the engine starts.
    pub(crate) async fn resume_move_tasks(&self) -> Result<(), Error> {
        for mut record in self.stored_move_tasks().await? {
            match record.status.as_str() {
                "CANCELLING" => {
                    record.status = "CANCELLED".to_string();
                    store_task(self, &record).await?;
                }
                "RUNNING" => {
                    let source = self.queue_by_arn(&record.source_arn, "SourceArn").await;
                    let destination = match &record.destination_arn {
                        Some(arn) => self.queue_by_arn(arn, "DestinationArn").await.map(Some),
                        None => Ok(None),
                    };
                    match (source, destination) {
                        (Ok(source), Ok(destination)) => {
                            tracing::info!(task = %record.handle, source = %record.source_arn,
                                moved = record.moved, "Message move task resumed.");
                            self.launch_move_task(record, source, destination);
                        }
                        (Err(error), _) | (_, Err(error)) => {
                            record.status = "FAILED".to_string();
                            record.failure = Some(error.to_string());
                            store_task(self, &record).await?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The move tasks of a dead-letter queue, newest first, at most `max`.
    pub async fn list_message_move_tasks(
        &self,
        source_arn: &str,
        max: usize,
    ) -> Result<Vec<MoveTask>, Error> {
        self.queue_by_arn(source_arn, "SourceArn").await?;
        let live = lock(&self.inner().queues.moves.tasks).clone();
        let mut tasks: Vec<MoveTask> = self
            .stored_move_tasks()
            .await?
            .into_iter()
            .filter(|t| t.source_arn == source_arn)
            .map(|t| live.get(&t.handle).map_or(t, |task| task.snapshot()))
            .collect();
        tasks.sort_by_key(|t| std::cmp::Reverse(t.started));
        tasks.truncate(max);
        Ok(tasks)
    }

    /// Cancels a running move task; how many messages it had moved.
    pub async fn cancel_message_move_task(&self, handle: &str) -> Result<u64, Error> {
        if uuid::Uuid::parse_str(handle).is_err() {
            return Err(invalid("Value for parameter TaskHandle is invalid."));
        }
        let task = lock(&self.inner().queues.moves.tasks).get(handle).cloned();
        let Some(task) = task else {
            return match self.store().get_document(MOVE_TASK, handle).await? {
                Some(document) => {
                    let record = MoveTask::read(handle, &document.body)?;
                    Err(refused(
                        "UnsupportedOperation",
                        format!(
                            "Task {handle} is {}: only a running task can be cancelled.",
                            record.status
                        ),
                    ))
                }
                None => Err(refused("ResourceNotFoundException", "Task does not exist.")),
            };
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
        save(self, &task.snapshot()).await;
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
                save(&engine, &task.snapshot()).await;
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
    save(&engine, &task.snapshot()).await;
}

/// Writes a task's document; a failed write is logged (the next one, or the final one, retries).
async fn save(engine: &Engine, record: &MoveTask) {
    if let Err(error) = store_task(engine, record).await {
        tracing::warn!(task = %record.handle, %error, "Message move task progress not stored.");
    }
}

/// Creates or replaces a task's document. Only the process running a task writes it.
async fn store_task(engine: &Engine, record: &MoveTask) -> Result<(), Error> {
    documents::upsert(
        engine.store().as_ref(),
        MOVE_TASK,
        &record.handle,
        record.body(),
    )
    .await
}
