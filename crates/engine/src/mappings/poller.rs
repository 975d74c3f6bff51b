//! The poller of one enabled mapping, and the batches it hands to the mapping's target: gather
//! a batch (long polls, chunks of ten, up to the batching window), invoke the target, then
//! settle every record: delete it, leave it to come back, or give it up to the on-failure
//! destination. See the module above for the rules.

use super::batch::{self, Condition, Failure, Outcome, Record, Verdict};
use super::{MappingRecord, Target};
use crate::engine::{Engine, Inner, lock};
use crate::queues::{POLL_INTERVAL, ReceiveRequest, ReceivedMessage, SendRequest};
use crate::task::TaskRequest;
use asl::execution::Status;
use serde_json::{Map, Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::Notify;

/// How long one receive of an idle poller waits: how soon a disabled or updated mapping's
/// poller ends.
const IDLE_WAIT_SECONDS: u64 = 1;

/// How long a poller waits after its queue could not be read before it tries again.
const ERROR_BACKOFF: Duration = Duration::from_secs(1);

/// Tells a poller to end.
#[derive(Default)]
pub(crate) struct Stop {
    stopped: AtomicBool,
    notify: Notify,
}

impl Stop {
    /// Tells the poller to end after what it is doing.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    fn is_set(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Resolves once the poller was told to end.
    async fn wait(&self) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if !self.is_set() {
            notified.await;
        }
    }
}

/// The batches of one mapping in flight, at most `limit` at once (`MaximumConcurrency`). It
/// outlives the mapping's pollers, so a poller started again by an update counts the batches its
/// predecessor left running.
pub(crate) struct Limiter {
    slots: Mutex<Slots>,
    freed: Notify,
}

struct Slots {
    in_flight: usize,
    limit: usize,
}

/// One batch's place under the limit, given back when dropped.
pub(crate) struct Slot(Arc<Limiter>);

impl Limiter {
    /// A limiter allowing `limit` batches at once.
    pub(crate) fn new(limit: usize) -> Arc<Limiter> {
        Arc::new(Limiter {
            slots: Mutex::new(Slots {
                in_flight: 0,
                limit,
            }),
            freed: Notify::new(),
        })
    }

    /// Changes the limit; batches beyond a lowered limit finish, and no new one starts until
    /// the count is below it.
    pub(crate) fn set_limit(&self, limit: usize) {
        lock(&self.slots).limit = limit;
        self.freed.notify_waiters();
    }

    /// Waits for a place under the limit.
    async fn acquire(self: &Arc<Self>) -> Slot {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut slots = lock(&self.slots);
                if slots.in_flight < slots.limit {
                    slots.in_flight += 1;
                    return Slot(self.clone());
                }
            }
            freed.await;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut slots = lock(&self.0.slots);
        slots.in_flight = slots.in_flight.saturating_sub(1);
        drop(slots);
        self.0.freed.notify_waiters();
    }
}

/// Polls the mapping's queue until told to stop or the engine is gone: takes a place under the
/// concurrency limit, gathers a batch, and hands it to a task of its own.
pub(crate) async fn poll(
    inner: Weak<Inner>,
    mapping: Arc<MappingRecord>,
    stop: Arc<Stop>,
    limiter: Arc<Limiter>,
) {
    let mut failing = false;
    while !stop.is_set() {
        let slot = tokio::select! {
            slot = limiter.acquire() => slot,
            () = stop.wait() => return,
        };
        let gathered = gather(&inner, &mapping, &stop).await;
        match gathered {
            Ok(Some((engine, messages))) => {
                failing = false;
                let mapping = mapping.clone();
                tokio::spawn(async move {
                    settle_batch(&engine, &mapping, messages).await;
                    drop(slot);
                });
            }
            Ok(None) => return,
            Err(error) => {
                if !failing {
                    tracing::warn!(
                        mapping = %mapping.uuid,
                        queue = %mapping.queue,
                        %error,
                        "An event-source mapping cannot read its queue; it tries again every second."
                    );
                }
                failing = true;
                drop(slot);
                tokio::select! {
                    () = tokio::time::sleep(ERROR_BACKOFF) => {}
                    () = stop.wait() => return,
                }
            }
        }
    }
}

/// One receive of up to `max` messages, waiting up to `wait` seconds for the first.
fn request(max: usize, wait: u64) -> ReceiveRequest {
    ReceiveRequest {
        max: max.clamp(1, 10),
        visibility_timeout: None,
        wait_seconds: Some(wait),
    }
}

/// Waits for the first messages, then fills the batch for up to the batching window. `None`
/// when told to stop (or the engine is gone) before any message came. The engine is held only
/// while a batch is being gathered, so an idle poller does not keep a dropped engine alive.
async fn gather(
    inner: &Weak<Inner>,
    mapping: &MappingRecord,
    stop: &Stop,
) -> Result<Option<(Engine, Vec<ReceivedMessage>)>, crate::Error> {
    let size = usize::try_from(mapping.config.batch_size).unwrap_or(10);
    let (engine, mut batch) = loop {
        if stop.is_set() {
            return Ok(None);
        }
        let Some(engine) = inner.upgrade().map(Engine::from_inner) else {
            return Ok(None);
        };
        let asked = tokio::time::Instant::now();
        let first = engine
            .receive_messages(&mapping.queue, &request(size, IDLE_WAIT_SECONDS))
            .await?;
        if !first.is_empty() {
            break (engine, first);
        }
        drop(engine);
        // A receive that came back empty at once means the engine's queue polls are closed
        // (the server is stopping): do not spin.
        if asked.elapsed() < Duration::from_secs(IDLE_WAIT_SECONDS) / 2 {
            tokio::select! {
                () = tokio::time::sleep(POLL_INTERVAL) => {}
                () = stop.wait() => return Ok(None),
            }
        }
    };
    let clock = engine.clock().clone();
    let window = jiff::SignedDuration::from_secs(
        i64::try_from(mapping.config.batching_window_seconds).unwrap_or(300),
    );
    let deadline = clock.now().saturating_add(window).unwrap_or(clock.now());
    while batch.len() < size && !stop.is_set() {
        let left = deadline.duration_since(clock.now());
        if left <= jiff::SignedDuration::ZERO {
            break;
        }
        let wait = if left.as_secs() >= 1 {
            IDLE_WAIT_SECONDS
        } else {
            // Less than a second left: wait for the window's end on the engine's clock, then
            // take what is there.
            tokio::select! {
                () = clock.sleep_until(deadline) => {}
                () = stop.wait() => {}
            }
            0
        };
        match engine
            .receive_messages(&mapping.queue, &request(size - batch.len(), wait))
            .await
        {
            Ok(more) => batch.extend(more),
            // Hand over what was gathered rather than leave it invisible until its timeout.
            Err(error) => {
                tracing::warn!(
                    mapping = %mapping.uuid,
                    queue = %mapping.queue,
                    %error,
                    "A batch was cut short: its queue could not be read."
                );
                break;
            }
        }
        if wait == 0 {
            break;
        }
    }
    Ok(Some((engine, batch)))
}

/// Everything one batch goes through: records too old are given up at once, the rest go to the
/// target in invocations that fit its payload limit.
async fn settle_batch(engine: &Engine, mapping: &MappingRecord, messages: Vec<ReceivedMessage>) {
    let now = engine.clock().now();
    let (expired, fresh): (Vec<ReceivedMessage>, Vec<ReceivedMessage>) = messages
        .into_iter()
        .partition(|m| batch::too_old(m, &mapping.config, now));
    if !expired.is_empty() {
        let failure = Failure::new(
            Condition::RecordAgeExceeded.as_str(),
            "The record is older than MaximumRecordAgeInSeconds.",
        );
        let expired: Vec<(&ReceivedMessage, Condition)> = expired
            .iter()
            .map(|m| (m, Condition::RecordAgeExceeded))
            .collect();
        give_up(engine, mapping, &expired, &failure).await;
    }
    let region = engine.options().region.clone();
    let records: Vec<Record> = fresh
        .into_iter()
        .map(|m| batch::record(m, &mapping.queue_arn, &region))
        .collect();
    // A function runs at most the queue's visibility timeout: by then its records are visible
    // again anyway.
    let timeout = match &mapping.target {
        Target::Function(_) => engine
            .get_queue(&mapping.queue)
            .await
            .ok()
            .and_then(|queue| queue.attribute("VisibilityTimeout"))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(30),
        Target::StateMachine(_) => 0,
    };
    for invocation in batch::invocations(records, mapping.target.payload_limit()) {
        run_bisecting(engine, mapping, invocation, timeout).await;
    }
}

/// Invokes the target with a batch and settles its records. With `BisectBatchOnFunctionError`,
/// a batch that fails as a whole is split in halves, each tried in turn (first half first),
/// until the parts that fail are single records. The parts still to try are a stack in this
/// task's memory: nothing is stored, because the messages stay in flight under their receipt
/// handles for the whole bisection. If the process stops halfway, the records not yet deleted
/// come back after their visibility timeout and the bisection starts again from their new batch.
async fn run_bisecting(
    engine: &Engine,
    mapping: &MappingRecord,
    records: Vec<Record>,
    timeout: u64,
) {
    let mut parts = vec![records];
    while let Some(part) = parts.pop() {
        let outcome = invoke(engine, mapping, &part, timeout).await;
        match batch::judge(&part, &outcome, mapping.config.report_batch_item_failures) {
            Verdict::Succeeded => {
                delete(engine, mapping, part.iter()).await;
                count(engine, mapping, "succeeded", part.len());
            }
            Verdict::Partial(failed) => {
                let reported = |i: &usize| failed.contains(i);
                let good = part.iter().enumerate().filter(|(i, _)| !reported(i));
                delete(engine, mapping, good.map(|(_, r)| r)).await;
                count(
                    engine,
                    mapping,
                    "succeeded",
                    part.len().saturating_sub(failed.len()),
                );
                let bad: Vec<&Record> = part
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| reported(i))
                    .map(|(_, r)| r)
                    .collect();
                let failure = Failure::new(
                    "weir.BatchItemFailure",
                    "The target reported the record in batchItemFailures.",
                );
                failed_records(engine, mapping, &bad, &failure).await;
            }
            Verdict::Failed(_)
                if mapping.config.bisect_batch_on_function_error && part.len() > 1 =>
            {
                let mut first = part;
                let second = first.split_off(first.len() / 2);
                parts.push(second);
                parts.push(first);
            }
            Verdict::Failed(failure) => {
                let all: Vec<&Record> = part.iter().collect();
                failed_records(engine, mapping, &all, &failure).await;
            }
        }
    }
}

/// Runs the target once on `records`.
async fn invoke(
    engine: &Engine,
    mapping: &MappingRecord,
    records: &[Record],
    timeout: u64,
) -> Outcome {
    let event = batch::event(records);
    match &mapping.target {
        Target::StateMachine(arn) => run_state_machine(engine, arn, &event).await,
        Target::Function(arn) => {
            let Some(first) = records.first().map(|r| &r.message) else {
                return Outcome::Succeeded(Value::Null);
            };
            let tries = first
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1);
            let request = TaskRequest {
                execution_arn: mapping.arn.clone(),
                state: super::TASK_STATE.to_string(),
                resource: arn.clone(),
                input: event,
                idempotency_key: format!("{}:{}:{tries}:{}", mapping.uuid, first.id, records.len()),
                attempt: tries.saturating_sub(1),
                timeout_seconds: timeout.max(1),
            };
            match engine.tasks().call(request).await {
                Ok(output) => Outcome::Succeeded(output),
                Err(failure) => Outcome::Failed(Failure::new(failure.error, failure.cause)),
            }
        }
    }
}

/// Runs a state machine on an event: a Standard execution to its end (a success is `SUCCEEDED`),
/// or an Express one synchronously.
async fn run_state_machine(engine: &Engine, arn: &str, event: &Value) -> Outcome {
    let refused =
        |error: crate::Error| Outcome::Failed(Failure::new(error.code(), error.to_string()));
    let input = event.to_string();
    let express = match engine.startable(arn).await {
        Ok(startable) => startable.record.kind == "EXPRESS",
        Err(error) => return refused(error),
    };
    if express {
        return match engine.start_sync_execution(arn, None, Some(&input)).await {
            Ok(run) if run.status == Status::Succeeded => {
                Outcome::Succeeded(run.output.unwrap_or(Value::Null))
            }
            Ok(run) => Outcome::Failed(match run.failure {
                Some(failure) => Failure::new(failure.error, failure.cause),
                None => Failure::new(run.status.as_str(), ""),
            }),
            Err(error) => refused(error),
        };
    }
    let started = match engine.start_execution(arn, None, Some(&input)).await {
        Ok(started) => started,
        Err(error) => return refused(error),
    };
    match engine.wait(&started.execution_arn).await {
        Ok(run) if run.status == "SUCCEEDED" => Outcome::Succeeded(
            run.output
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok())
                .unwrap_or(Value::Null),
        ),
        Ok(run) => Outcome::Failed(Failure::new(
            run.error.unwrap_or_else(|| run.status.clone()),
            run.cause.unwrap_or_default(),
        )),
        Err(error) => refused(error),
    }
}

/// Deletes records that were handled.
async fn delete<'a>(
    engine: &Engine,
    mapping: &MappingRecord,
    records: impl Iterator<Item = &'a Record>,
) {
    let handles: Vec<String> = records.map(|r| r.message.receipt_handle.clone()).collect();
    delete_handles(engine, mapping, &handles).await;
}

async fn delete_handles(engine: &Engine, mapping: &MappingRecord, handles: &[String]) {
    if handles.is_empty() {
        return;
    }
    if let Err(error) = engine.delete_messages(&mapping.queue, handles).await {
        tracing::warn!(
            mapping = %mapping.uuid,
            queue = %mapping.queue,
            %error,
            "Handled messages were not deleted; they will be delivered again."
        );
    }
}

/// Records whose invocation failed: those past `MaximumRecordAgeInSeconds` or
/// `MaximumRetryAttempts` are given up; the others are left in flight, to come back after the
/// queue's visibility timeout (and to its dead-letter queue, by its redrive policy).
async fn failed_records(
    engine: &Engine,
    mapping: &MappingRecord,
    records: &[&Record],
    failure: &Failure,
) {
    let now = engine.clock().now();
    let given_up: Vec<(&ReceivedMessage, Condition)> = records
        .iter()
        .filter_map(|r| batch::give_up(&r.message, &mapping.config, now).map(|c| (&r.message, c)))
        .collect();
    let left = records.len() - given_up.len();
    count(engine, mapping, "failed", left);
    if left > 0 {
        tracing::warn!(
            mapping = %mapping.uuid,
            queue = %mapping.queue,
            target = %mapping.target.arn(),
            records = left,
            error = %failure.error,
            cause = %failure.cause,
            "Records failed; they come back after the queue's visibility timeout."
        );
    }
    give_up(engine, mapping, &given_up, failure).await;
}

/// Gives records up: sends them to the on-failure destination (body and message attributes
/// as they were) and deletes them; without a destination, deletes (discards) them, as Lambda
/// discards a stream's records. A record whose send fails stays in flight, to come back.
async fn give_up(
    engine: &Engine,
    mapping: &MappingRecord,
    records: &[(&ReceivedMessage, Condition)],
    failure: &Failure,
) {
    if records.is_empty() {
        return;
    }
    for (message, condition) in records {
        tracing::warn!(
            mapping = %mapping.uuid,
            queue = %mapping.queue,
            message = %message.id,
            condition = condition.as_str(),
            error = %failure.error,
            destination = mapping.config.on_failure_destination.as_deref().unwrap_or("none: discarded"),
            "An event-source mapping gave a record up."
        );
    }
    if let Some(destination) = &mapping.config.on_failure_destination {
        let name = crate::queues::queue_name_of(destination);
        let fifo = name.ends_with(".fifo");
        let sends: Vec<SendRequest> = records
            .iter()
            .map(|(m, _)| resend(m, fifo, &mapping.uuid))
            .collect();
        if let Err(error) = engine.send_messages(name, sends).await {
            tracing::warn!(
                mapping = %mapping.uuid,
                destination = %destination,
                %error,
                "Records not sent to the on-failure destination; they stay in the queue."
            );
            return;
        }
    }
    let handles: Vec<String> = records
        .iter()
        .map(|(m, _)| m.receipt_handle.clone())
        .collect();
    delete_handles(engine, mapping, &handles).await;
    count(engine, mapping, "given_up", records.len());
}

/// Counts records of `mapping` in `weir_mapping_records_total`.
fn count(engine: &Engine, mapping: &MappingRecord, outcome: &str, records: usize) {
    engine
        .inner()
        .metrics
        .record_mapping(&mapping.uuid, &mapping.queue, outcome, records);
}

/// A received message sent again as it was: body, message attributes and trace header; to a
/// FIFO destination in its own message group (or the mapping's), deduplicated by its id.
fn resend(message: &ReceivedMessage, fifo: bool, mapping: &str) -> SendRequest {
    let mut system_attributes = Map::new();
    if let Some(trace) = message.attributes.get("AWSTraceHeader") {
        system_attributes.insert(
            "AWSTraceHeader".into(),
            json!({"DataType": "String", "StringValue": trace}),
        );
    }
    let (group_id, dedup_id) = if fifo {
        let group = message
            .attributes
            .get("MessageGroupId")
            .cloned()
            .unwrap_or_else(|| mapping.to_string());
        (Some(group), Some(message.id.clone()))
    } else {
        (None, None)
    };
    SendRequest {
        body: message.body.clone(),
        delay_seconds: None,
        attributes: message.message_attributes.clone(),
        system_attributes,
        group_id,
        dedup_id,
    }
}
