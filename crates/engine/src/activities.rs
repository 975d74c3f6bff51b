//! Activities: tasks done by workers that poll for them (`GetActivityTask`) and answer with the
//! task token they were given (`SendTaskSuccess`, `SendTaskFailure`, `SendTaskHeartbeat`).
//!
//! # Design notes
//! - An activity is a store document (kind `activity`, keyed by its ARN).
//! - A scheduled activity task is an ordinary task work item: durable until a worker takes it.
//!   The engine keeps a queue per activity ARN in memory ([`Dispatcher`]); on start it refills
//!   the queues from the stored work items, like every other unanswered task.
//! - Handing a task to a worker commits [`Event::ActivityStarted`] and deletes the work item in
//!   the same commit, before the worker sees the token. From then on only the worker's answer or
//!   the task's durable deadlines (`TimeoutSeconds`, `HeartbeatSeconds`) end the task, as on AWS:
//!   a worker that dies holding a task is noticed by its heartbeat deadline, not by a redelivery.
//! - A worker that stops waiting (its request went away) before it was handed a task leaves the
//!   task in the queue for the next worker.

use crate::engine::{Engine, check_name};
use crate::error::Error;
use crate::work;
use asl::execution::{Event, TaskCommand, TaskToken};
use jiff::Timestamp;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::oneshot;

/// The document kind of activities.
const ACTIVITY: &str = "activity";

/// An activity, as `DescribeActivity` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRecord {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub creation_date: Timestamp,
}

/// A task handed to a worker by `GetActivityTask`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityTask {
    /// The token the worker answers with.
    pub token: String,
    /// The task's input.
    pub input: Value,
}

/// A scheduled activity task waiting for a worker.
#[derive(Debug)]
pub(crate) struct Pending {
    execution_arn: String,
    task: TaskCommand,
}

/// The tasks and the waiting workers of one activity.
#[derive(Default)]
struct Queue {
    tasks: VecDeque<Pending>,
    workers: VecDeque<oneshot::Sender<Pending>>,
}

/// Activity tasks waiting for workers and workers waiting for tasks, per activity ARN.
#[derive(Default)]
pub(crate) struct Dispatcher {
    queues: Mutex<HashMap<String, Queue>>,
    /// Set when the server stops: polls end at once, empty.
    closed: std::sync::atomic::AtomicBool,
}

impl Dispatcher {
    /// Offers a scheduled task to its activity's workers: the longest-waiting worker gets it, or
    /// it waits in the queue.
    pub(crate) fn offer(&self, execution_arn: &str, task: TaskCommand) {
        let mut pending = Pending {
            execution_arn: execution_arn.to_string(),
            task,
        };
        let mut queues = crate::engine::lock(&self.queues);
        let queue = queues.entry(pending.task.resource.clone()).or_default();
        while let Some(worker) = queue.workers.pop_front() {
            match worker.send(pending) {
                Ok(()) => return,
                // That worker went away; try the next.
                Err(back) => pending = back,
            }
        }
        queue.tasks.push_back(pending);
    }

    /// A waiting task of `activity`, or a receiver that gets the next one offered (a receiver
    /// that hears nothing once the dispatcher is closed).
    fn take(&self, activity: &str) -> Result<Pending, oneshot::Receiver<Pending>> {
        let mut queues = crate::engine::lock(&self.queues);
        let queue = queues.entry(activity.to_string()).or_default();
        if let Some(pending) = queue.tasks.pop_front() {
            return Ok(pending);
        }
        let (tx, rx) = oneshot::channel();
        if !self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            queue.workers.retain(|worker| !worker.is_closed());
            queue.workers.push_back(tx);
        }
        Err(rx)
    }

    /// Ends every poll now and every later one at once (the server is stopping).
    fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut queues = crate::engine::lock(&self.queues);
        for queue in queues.values_mut() {
            queue.workers.clear();
        }
    }

    /// Puts a task back at the head of its queue (its worker went away before taking it).
    fn put_back(&self, pending: Pending) {
        let mut queues = crate::engine::lock(&self.queues);
        let queue = queues.entry(pending.task.resource.clone()).or_default();
        let mut pending = pending;
        while let Some(worker) = queue.workers.pop_front() {
            match worker.send(pending) {
                Ok(()) => return,
                Err(back) => pending = back,
            }
        }
        queue.tasks.push_front(pending);
    }
}

/// A worker waiting for a task. If the wait is abandoned (the worker's request went away) after
/// a task was sent to it but before it was read, the task goes back to the queue.
struct Waiting<'d> {
    dispatcher: &'d Dispatcher,
    receiver: oneshot::Receiver<Pending>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.receiver.close();
        if let Ok(pending) = self.receiver.try_recv() {
            self.dispatcher.put_back(pending);
        }
    }
}

impl Engine {
    /// The ARN of the activity called `name`.
    pub fn activity_arn(&self, name: &str) -> String {
        let options = self.options();
        format!(
            "arn:aws:states:{}:{}:activity:{name}",
            options.region, options.account
        )
    }

    /// Creates an activity; creating one that exists returns it unchanged (AWS's idempotency:
    /// different tags are ignored).
    pub async fn create_activity(
        &self,
        name: &str,
        tags: &[(String, String)],
    ) -> Result<ActivityRecord, Error> {
        check_name(name)?;
        let arn = self.activity_arn(name);
        if let Some(found) = self.find_activity(&arn).await? {
            return Ok(found);
        }
        let record = ActivityRecord {
            arn: arn.clone(),
            name: name.to_string(),
            creation_date: self.clock().now(),
        };
        let body = json!({"name": record.name, "creationDate": record.creation_date.to_string()});
        match self
            .store()
            .put_document(ACTIVITY, &arn, body.to_string(), None)
            .await
        {
            Ok(_) => {}
            // Created by a concurrent request: that one is the activity.
            Err(store::Error::Conflict { .. } | store::Error::AlreadyExists { .. }) => {
                return self.describe_activity(&arn).await;
            }
            Err(e) => return Err(e.into()),
        }
        if !tags.is_empty() {
            self.tag_resource(&arn, tags).await?;
        }
        Ok(record)
    }

    /// One activity.
    pub async fn describe_activity(&self, arn: &str) -> Result<ActivityRecord, Error> {
        self.find_activity(arn)
            .await?
            .ok_or_else(|| activity_does_not_exist(arn))
    }

    async fn find_activity(&self, arn: &str) -> Result<Option<ActivityRecord>, Error> {
        let Some(document) = self.store().get_document(ACTIVITY, arn).await? else {
            return Ok(None);
        };
        let corrupt = |detail: String| Error::Corrupt {
            what: format!("activity {arn}"),
            detail,
        };
        let body: Value =
            serde_json::from_str(&document.body).map_err(|e| corrupt(e.to_string()))?;
        let name = body["name"].as_str().unwrap_or_default().to_string();
        let creation_date = body["creationDate"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| corrupt("no creationDate".to_string()))?;
        Ok(Some(ActivityRecord {
            arn: arn.to_string(),
            name,
            creation_date,
        }))
    }

    /// Deletes an activity (and its tags). Tasks already scheduled on it stay scheduled until
    /// their deadlines, as on AWS. Deleting an activity that does not exist succeeds.
    pub async fn delete_activity(&self, arn: &str) -> Result<(), Error> {
        self.store().delete_document(ACTIVITY, arn).await?;
        self.store()
            .delete_document(crate::resources::TAGS, arn)
            .await?;
        Ok(())
    }

    /// Every activity, in ARN order.
    pub async fn list_activities(&self) -> Result<Vec<ActivityRecord>, Error> {
        let mut out = Vec::new();
        for document in self.store().list_documents(ACTIVITY, "").await? {
            if let Some(record) = self.find_activity(&document.key).await? {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// Ends every `GetActivityTask` poll now, empty, and makes later polls return at once: for a
    /// server that stops, so that it does not wait a minute for its long polls.
    pub fn close_activity_polls(&self) {
        self.inner().activities.close();
    }

    /// Waits up to `wait` for a task of activity `arn` and hands it to the worker
    /// `worker_name`: `None` if none came. The task is recorded as started (`ActivityStarted`)
    /// before its token is returned.
    pub async fn get_activity_task(
        &self,
        arn: &str,
        worker_name: Option<&str>,
        wait: Duration,
    ) -> Result<Option<ActivityTask>, Error> {
        self.describe_activity(arn).await?;
        let dispatcher = &self.inner().activities;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let pending = match dispatcher.take(arn) {
                Ok(pending) => pending,
                Err(receiver) => {
                    let mut waiting = Waiting {
                        dispatcher,
                        receiver,
                    };
                    match tokio::time::timeout_at(deadline, &mut waiting.receiver).await {
                        Ok(Ok(pending)) => pending,
                        // A dropped sender means the dispatcher is gone with the engine.
                        Ok(Err(_)) | Err(_) => return Ok(None),
                    }
                }
            };
            let Pending {
                execution_arn,
                task,
            } = pending;
            let event = Event::ActivityStarted {
                thread: task.thread,
                wake: task.wake,
                worker_name: worker_name.map(str::to_string),
            };
            let work = work::task_id(&execution_arn, task.thread, task.wake);
            let delivered = match self
                .inner()
                .send(
                    &execution_arn,
                    event,
                    Some(work),
                    Some((task.thread, task.wake)),
                )
                .await
            {
                Ok(delivered) => delivered,
                // The execution is gone: so is its task.
                Err(Error::ExecutionDoesNotExist { .. }) => continue,
                Err(e) => return Err(e),
            };
            if !delivered.task_waited {
                // Timed out, stopped or retried while it waited in the queue.
                continue;
            }
            let token = TaskToken::new(&execution_arn, task.thread, task.wake).encode();
            return Ok(Some(ActivityTask {
                token,
                input: task.input,
            }));
        }
    }
}

/// AWS's error for an unknown activity.
fn activity_does_not_exist(arn: &str) -> Error {
    Error::NotAllowed {
        code: "ActivityDoesNotExist",
        message: format!("Activity Does Not Exist: '{arn}'"),
    }
}
