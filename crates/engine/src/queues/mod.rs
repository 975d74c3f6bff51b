//! Durable queues with SQS semantics: queues as engine documents (attributes, tags), messages in
//! the store (see `store::queue` for the atomic operations and their contract), and what SQS
//! adds on top: attribute rules, message checks and digests, receipt handles, long polling,
//! dead-letter redrive policies and message move tasks.
//!
//! # Design notes
//! - A queue is a document (kind `queue`, keyed by name). Its ARN is
//!   `arn:aws:sqs:REGION:ACCOUNT:NAME`; the API makes its URL.
//! - A receipt handle encodes the queue, the message's sequence and its receive count, so it
//!   needs no table: an old handle (the message was received again since) acts on nothing.
//! - Long polls wait on a per-queue signal that sends raise; they also look again every
//!   [`POLL_INTERVAL`], which catches messages whose delay or visibility timeout ran out.
//! - Retention: a sweeper deletes messages older than each queue's `MessageRetentionPeriod`
//!   every [`SWEEP_INTERVAL`].
//! - Message move tasks run in this process; a restart ends them (the messages already moved
//!   stay moved, the rest stay in the dead-letter queue).

mod attributes;
pub(crate) mod integration;
mod messages;
mod moves;

pub use attributes::RedrivePolicy;
pub use moves::MoveTask;

use crate::documents;
use crate::engine::{Engine, Inner, lock};
use crate::error::Error;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use store::queue::{NewMessage, Receive, Redrive};
use tokio::sync::Notify;

/// The document kind of queues.
const QUEUE: &str = "queue";

/// How often a long poll looks again without being signalled.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// How often expired messages are swept.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// The longest `WaitTimeSeconds`.
pub const MAX_WAIT_SECONDS: u64 = 20;

/// How long a FIFO deduplication id holds.
const DEDUP_WINDOW: SignedDuration = SignedDuration::from_mins(5);

/// A queue, as `GetQueueAttributes` and `ListQueues` see it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRecord {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Whether it is a FIFO queue (its name ends with `.fifo`).
    pub fifo: bool,
    /// The attributes set on it (defaults are not stored).
    pub attributes: BTreeMap<String, String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// When it was created.
    pub created: Timestamp,
    /// When its attributes last changed.
    pub modified: Timestamp,
}

impl QueueRecord {
    /// An attribute's value: the one set, or SQS's default.
    pub fn attribute(&self, name: &str) -> Option<String> {
        self.attributes.get(name).cloned().or_else(|| {
            attributes::DEFAULTS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_string())
        })
    }

    fn number(&self, name: &str) -> u64 {
        self.attribute(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_default()
    }

    /// Its dead-letter policy, if it has one.
    pub fn redrive_policy(&self) -> Option<RedrivePolicy> {
        self.attributes
            .get("RedrivePolicy")
            .filter(|p| !p.is_empty())
            .and_then(|p| attributes::redrive_policy(p).ok())
    }
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SendRequest {
    /// The body.
    pub body: String,
    /// `DelaySeconds` of this message (standard queues).
    pub delay_seconds: Option<u64>,
    /// `MessageAttributes`, in SQS's JSON shape (`{"name": {"DataType", "StringValue"}}`).
    pub attributes: Map<String, Value>,
    /// `MessageSystemAttributes` (`AWSTraceHeader`).
    pub system_attributes: Map<String, Value>,
    /// FIFO: `MessageGroupId`.
    pub group_id: Option<String>,
    /// FIFO: `MessageDeduplicationId`.
    pub dedup_id: Option<String>,
}

/// What `SendMessage` answers.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    /// `MessageId`.
    pub id: String,
    /// `MD5OfMessageBody`.
    pub md5_of_body: String,
    /// `MD5OfMessageAttributes`, with attributes.
    pub md5_of_attributes: Option<String>,
    /// `MD5OfMessageSystemAttributes`, with system attributes.
    pub md5_of_system_attributes: Option<String>,
    /// FIFO: `SequenceNumber`.
    pub sequence_number: Option<String>,
}

/// A receive.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiveRequest {
    /// `MaxNumberOfMessages` (1 to 10).
    pub max: usize,
    /// `VisibilityTimeout`; the queue's when `None`.
    pub visibility_timeout: Option<u64>,
    /// `WaitTimeSeconds`; the queue's `ReceiveMessageWaitTimeSeconds` when `None`.
    pub wait_seconds: Option<u64>,
}

/// A received message, with every system attribute (the API returns those asked for).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMessage {
    /// `MessageId`.
    pub id: String,
    /// `ReceiptHandle`.
    pub receipt_handle: String,
    /// `Body`.
    pub body: String,
    /// `MD5OfBody`.
    pub md5_of_body: String,
    /// System attributes (`SentTimestamp`, `ApproximateReceiveCount`, ...).
    pub attributes: BTreeMap<String, String>,
    /// `MessageAttributes` as sent.
    pub message_attributes: Map<String, Value>,
}

/// The size SQS counts for a message: its body plus its attributes' names, types and values.
pub fn message_size(body: &str, attributes: &Map<String, Value>) -> usize {
    messages::message_size(body, attributes)
}

/// The MD5 SQS reports for message attributes (`MD5OfMessageAttributes`) of the attributes
/// given, or `None` for none.
pub fn md5_of_message_attributes(attributes: &Map<String, Value>) -> Option<String> {
    messages::md5_of_attributes(attributes)
}

/// The deduplication id of a FIFO message sent without one to a queue or topic with
/// `ContentBasedDeduplication`: the SHA-256 of its body, in hex.
pub(crate) fn content_dedup_id(body: &str) -> String {
    Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What happened to one queue's messages since this process started (the counters a metrics
/// endpoint exposes; they start at zero on every start, as Prometheus counters may).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    sent: std::sync::atomic::AtomicU64,
    received: std::sync::atomic::AtomicU64,
    deleted: std::sync::atomic::AtomicU64,
    moved_to_dead_letter: std::sync::atomic::AtomicU64,
    redriven: std::sync::atomic::AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &std::sync::atomic::AtomicU64, n: u64) {
        counter.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}

/// One queue's gauges and counters.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueMetrics {
    /// The queue's name.
    pub queue: String,
    /// Messages visible now.
    pub visible: u64,
    /// Messages received and not yet visible again.
    pub in_flight: u64,
    /// Messages not yet visible (delays).
    pub delayed: u64,
    /// Age of the oldest message, in seconds (0 for an empty queue).
    pub oldest_age_seconds: f64,
    /// Messages sent (duplicates not counted) since this process started.
    pub sent: u64,
    /// Messages delivered by receives.
    pub received: u64,
    /// Messages deleted.
    pub deleted: u64,
    /// Messages moved from this queue to its dead-letter queue.
    pub moved_to_dead_letter: u64,
    /// Messages move tasks took out of this (dead-letter) queue.
    pub redriven: u64,
}

/// The queues' in-memory state: long-poll signals, purge times, move tasks, counters.
#[derive(Default)]
pub(crate) struct Queues {
    counters: Mutex<HashMap<String, Arc<Counters>>>,
    signals: Mutex<HashMap<String, Arc<Notify>>>,
    /// Set when the server stops: long polls end at once.
    closed: std::sync::atomic::AtomicBool,
    purged: Mutex<HashMap<String, Timestamp>>,
    pub(crate) moves: moves::Moves,
}

impl Queues {
    pub(crate) fn counters(&self, queue: &str) -> Arc<Counters> {
        lock(&self.counters)
            .entry(queue.to_string())
            .or_default()
            .clone()
    }

    fn signal(&self, queue: &str) -> Arc<Notify> {
        lock(&self.signals)
            .entry(queue.to_string())
            .or_insert_with(|| Arc::new(Notify::new()))
            .clone()
    }
}

/// An SQS error: its code and message.
pub(crate) fn refused(code: &'static str, message: impl Into<String>) -> Error {
    Error::NotAllowed {
        code,
        message: message.into(),
    }
}

fn does_not_exist() -> Error {
    refused("QueueDoesNotExist", "The specified queue does not exist.")
}

fn invalid(message: impl Into<String>) -> Error {
    refused("InvalidParameterValue", message)
}

/// Checks a queue name: 1 to 80 letters, digits, hyphens and underscores (a FIFO queue's with
/// `.fifo` after them).
fn check_queue_name(name: &str) -> Result<bool, Error> {
    crate::names::fifo_name(name, 80).ok_or_else(|| {
        invalid(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        )
    })
}

impl Engine {
    /// Ends every `ReceiveMessage` long poll now, empty, and makes later ones return at once:
    /// for a server that stops.
    pub fn close_queue_polls(&self) {
        let queues = &self.inner().queues;
        queues
            .closed
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for signal in lock(&queues.signals).values() {
            signal.notify_waiters();
        }
    }

    /// Every queue's gauges (from the store, now) and counters (since this process started).
    pub async fn queue_metrics(&self) -> Result<Vec<QueueMetrics>, Error> {
        let now = self.clock().now();
        let mut out = Vec::new();
        for queue in self.list_queues("").await? {
            let counts = self.store().queue_counts(&queue.name, now).await?;
            let counters = self.inner().queues.counters(&queue.name);
            let load =
                |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
            out.push(QueueMetrics {
                oldest_age_seconds: counts
                    .oldest_sent_at
                    .map_or(0.0, |at| now.duration_since(at).as_secs_f64().max(0.0)),
                visible: counts.visible,
                in_flight: counts.in_flight,
                delayed: counts.delayed,
                sent: load(&counters.sent),
                received: load(&counters.received),
                deleted: load(&counters.deleted),
                moved_to_dead_letter: load(&counters.moved_to_dead_letter),
                redriven: load(&counters.redriven),
                queue: queue.name,
            });
        }
        Ok(out)
    }

    /// The ARN of the queue called `name`.
    pub fn queue_arn(&self, name: &str) -> String {
        let options = self.options();
        format!("arn:aws:sqs:{}:{}:{name}", options.region, options.account)
    }

    /// Creates a queue; creating one that exists with the same attributes returns it, as SQS
    /// does, and with different ones fails with `QueueNameExists`.
    pub async fn create_queue(
        &self,
        name: &str,
        attributes: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<QueueRecord, Error> {
        let fifo = check_queue_name(name)?;
        if attributes
            .get("FifoQueue")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
            && !fifo
        {
            return Err(invalid(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or \
                 underscores, must end with .fifo suffix and be 1 to 80 in length.",
            ));
        }
        let checked = attributes::check(attributes, fifo).map_err(|(c, m)| refused(c, m))?;
        self.check_redrive(name, fifo, &checked).await?;
        if let Some(existing) = self.find_queue(name).await? {
            let differing: Vec<&str> = existing
                .attributes
                .keys()
                .chain(checked.keys())
                .filter(|k| {
                    existing.attribute(k)
                        != checked.get(*k).cloned().or_else(|| {
                            attributes::DEFAULTS
                                .iter()
                                .find(|(n, _)| n == k)
                                .map(|(_, v)| (*v).to_string())
                        })
                })
                .map(String::as_str)
                .collect();
            return if differing.is_empty() {
                Ok(existing)
            } else {
                Err(refused(
                    "QueueNameExists",
                    format!(
                        "A queue already exists with the same name and a different value for \
                         attribute {}",
                        differing[0]
                    ),
                ))
            };
        }
        let now = self.clock().now();
        let record = QueueRecord {
            name: name.to_string(),
            arn: self.queue_arn(name),
            fifo,
            attributes: checked,
            tags: tags.clone(),
            created: now,
            modified: now,
        };
        match self
            .store()
            .put_document(QUEUE, name, body(&record), None)
            .await
        {
            Ok(_) => Ok(record),
            Err(store::Error::AlreadyExists { .. }) => {
                self.find_queue(name).await?.ok_or_else(does_not_exist)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One queue.
    pub async fn get_queue(&self, name: &str) -> Result<QueueRecord, Error> {
        self.find_queue(name).await?.ok_or_else(does_not_exist)
    }

    pub(crate) async fn find_queue(&self, name: &str) -> Result<Option<QueueRecord>, Error> {
        let Some(document) = self.store().get_document(QUEUE, name).await? else {
            return Ok(None);
        };
        read(name, &document.body, self).map(Some)
    }

    /// Every queue whose name starts with `prefix`, by name.
    pub async fn list_queues(&self, prefix: &str) -> Result<Vec<QueueRecord>, Error> {
        self.store()
            .list_documents(QUEUE, prefix)
            .await?
            .iter()
            .map(|d| read(&d.key, &d.body, self))
            .collect()
    }

    /// Deletes a queue and its messages.
    pub async fn delete_queue(&self, name: &str) -> Result<(), Error> {
        if !self.store().delete_document(QUEUE, name).await? {
            return Err(does_not_exist());
        }
        self.store().purge_messages(name).await?;
        Ok(())
    }

    /// Sets attributes on a queue.
    pub async fn set_queue_attributes(
        &self,
        name: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        self.edit_queue(name, |record| {
            let checked =
                attributes::check(attributes, record.fifo).map_err(|(c, m)| refused(c, m))?;
            for (key, value) in checked {
                if value.is_empty()
                    && matches!(key.as_str(), "RedrivePolicy" | "RedriveAllowPolicy")
                {
                    record.attributes.remove(&key);
                } else {
                    record.attributes.insert(key, value);
                }
            }
            Ok(())
        })
        .await?;
        let record = self.get_queue(name).await?;
        self.check_redrive(name, record.fifo, &record.attributes)
            .await
    }

    /// Adds or replaces tags.
    pub async fn tag_queue(
        &self,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        self.edit_queue(name, |record| {
            record.tags.extend(tags.clone());
            if record.tags.len() > 50 {
                return Err(invalid("Too many tags: a queue may have at most 50."));
            }
            Ok(())
        })
        .await
    }

    /// Removes tags by key.
    pub async fn untag_queue(&self, name: &str, keys: &[String]) -> Result<(), Error> {
        self.edit_queue(name, |record| {
            for key in keys {
                record.tags.remove(key);
            }
            Ok(())
        })
        .await
    }

    async fn edit_queue(
        &self,
        name: &str,
        edit: impl Fn(&mut QueueRecord) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let codec = crate::documents::Codec {
            kind: QUEUE,
            read: |text: &str| read(name, text, self),
            write: body,
        };
        let now = self.clock().now();
        crate::documents::edit(
            self.store().as_ref(),
            &codec,
            name,
            does_not_exist,
            |record| {
                edit(record)?;
                record.modified = now;
                Ok(())
            },
        )
        .await
        .map(drop)
    }

    /// Checks a queue's redrive policy: the dead-letter queue exists, has the same type, and its
    /// `RedriveAllowPolicy` lets this queue use it.
    async fn check_redrive(
        &self,
        name: &str,
        fifo: bool,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let Some(text) = attributes.get("RedrivePolicy").filter(|t| !t.is_empty()) else {
            return Ok(());
        };
        let policy = attributes::redrive_policy(text).map_err(|(c, m)| refused(c, m))?;
        let target = queue_name_of(&policy.dead_letter_target_arn);
        let Some(dlq) = self.find_queue(target).await? else {
            return Err(invalid(format!(
                "Value {text} for parameter RedrivePolicy is invalid. Reason: Dead letter \
                 target does not exist."
            )));
        };
        if dlq.fifo != fifo {
            return Err(invalid(format!(
                "Value {text} for parameter RedrivePolicy is invalid. Reason: Dead-letter queue \
                 must be same type of queue as the source."
            )));
        }
        let allowed = match dlq
            .attributes
            .get("RedriveAllowPolicy")
            .filter(|t| !t.is_empty())
            .map(|t| attributes::redrive_allow_policy(t))
        {
            None | Some(Err(_)) | Some(Ok(attributes::RedriveAllow::All)) => true,
            Some(Ok(attributes::RedriveAllow::None)) => false,
            Some(Ok(attributes::RedriveAllow::ByQueue(arns))) => {
                arns.contains(&self.queue_arn(name))
            }
        };
        if !allowed {
            return Err(invalid(format!(
                "Value {text} for parameter RedrivePolicy is invalid. Reason: Queue {} does not \
                 allow this queue to use it as a dead-letter queue (RedriveAllowPolicy).",
                dlq.arn
            )));
        }
        Ok(())
    }

    /// Every attribute of a queue: those set, the defaults, and the computed ones.
    pub async fn queue_attributes(&self, name: &str) -> Result<BTreeMap<String, String>, Error> {
        let record = self.get_queue(name).await?;
        let counts = self.store().queue_counts(name, self.clock().now()).await?;
        let mut out = BTreeMap::new();
        for (key, value) in attributes::DEFAULTS {
            out.insert(key.to_string(), value.to_string());
        }
        out.extend(record.attributes.clone());
        out.insert("QueueArn".into(), record.arn.clone());
        out.insert(
            "ApproximateNumberOfMessages".into(),
            counts.visible.to_string(),
        );
        out.insert(
            "ApproximateNumberOfMessagesNotVisible".into(),
            counts.in_flight.to_string(),
        );
        out.insert(
            "ApproximateNumberOfMessagesDelayed".into(),
            counts.delayed.to_string(),
        );
        out.insert(
            "CreatedTimestamp".into(),
            record.created.as_second().to_string(),
        );
        out.insert(
            "LastModifiedTimestamp".into(),
            record.modified.as_second().to_string(),
        );
        out.entry("SqsManagedSseEnabled".into())
            .or_insert_with(|| "true".into());
        if record.fifo {
            out.insert("FifoQueue".into(), "true".into());
            for (key, default) in [
                ("ContentBasedDeduplication", "false"),
                ("DeduplicationScope", "queue"),
                ("FifoThroughputLimit", "perQueue"),
            ] {
                out.entry(key.into()).or_insert_with(|| default.into());
            }
        }
        Ok(out)
    }

    /// The queues whose redrive policy names `dead_letter_queue` as their dead-letter queue.
    pub async fn dead_letter_source_queues(
        &self,
        dead_letter_queue: &str,
    ) -> Result<Vec<QueueRecord>, Error> {
        let dlq = self.get_queue(dead_letter_queue).await?;
        Ok(self
            .list_queues("")
            .await?
            .into_iter()
            .filter(|q| {
                q.redrive_policy()
                    .is_some_and(|p| p.dead_letter_target_arn == dlq.arn)
            })
            .collect())
    }

    /// Sends messages to a queue, all or none (a batch's entries are checked first; the API
    /// reports each entry's own problem). Durable when it returns.
    pub async fn send_messages(
        &self,
        queue: &str,
        requests: Vec<SendRequest>,
    ) -> Result<Vec<SentMessage>, Error> {
        let record = self.get_queue(queue).await?;
        let now = self.clock().now();
        let mut stored = Vec::with_capacity(requests.len());
        let mut answers = Vec::with_capacity(requests.len());
        for request in &requests {
            let (message, answer) = self.prepare_message(&record, request, now)?;
            stored.push(message);
            answers.push(answer);
        }
        let sent = self.store().send_messages(queue, now, stored).await?;
        let fresh = sent.iter().filter(|s| !s.duplicate).count() as u64;
        Counters::add(&self.inner().queues.counters(queue).sent, fresh);
        for (answer, sent) in answers.iter_mut().zip(&sent) {
            answer.id.clone_from(&sent.id);
            if record.fifo {
                answer.sequence_number = Some(format!("{:020}", sent.sequence));
            }
        }
        self.inner().queues.signal(queue).notify_waiters();
        Ok(answers)
    }

    /// Checks one message against its queue and makes its stored form and its answer.
    pub fn check_message(&self, record: &QueueRecord, request: &SendRequest) -> Result<(), Error> {
        self.prepare_message(record, request, Timestamp::UNIX_EPOCH)
            .map(drop)
    }

    fn prepare_message(
        &self,
        record: &QueueRecord,
        request: &SendRequest,
        now: Timestamp,
    ) -> Result<(NewMessage, SentMessage), Error> {
        if request.body.is_empty() {
            return Err(refused(
                "MissingParameter",
                "The request must contain the parameter MessageBody.",
            ));
        }
        if !messages::body_is_valid(&request.body) {
            return Err(refused(
                "InvalidMessageContents",
                "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | \
                 #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
            ));
        }
        messages::check_attributes(&request.attributes).map_err(invalid)?;
        for (name, attribute) in &request.system_attributes {
            if name != "AWSTraceHeader"
                || attribute.get("DataType").and_then(Value::as_str) != Some("String")
            {
                return Err(invalid(format!(
                    "Message system attribute name '{name}' is invalid: only AWSTraceHeader of \
                     type String is supported."
                )));
            }
        }
        let limit = record.number("MaximumMessageSize");
        let size = messages::message_size(&request.body, &request.attributes);
        if size as u64 > limit {
            return Err(invalid(format!(
                "One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
            )));
        }
        let delay = match request.delay_seconds {
            Some(delay) if record.fifo => {
                return Err(invalid(format!(
                    "Value {delay} for parameter DelaySeconds is invalid. Reason: The request \
                     include parameter that is not valid for this queue type."
                )));
            }
            Some(delay) if delay > 900 => {
                return Err(invalid(format!(
                    "Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds \
                     must be >= 0 and <= 900."
                )));
            }
            Some(delay) => delay,
            None => record.number("DelaySeconds"),
        };
        let (group_id, dedup_id) = if record.fifo {
            let Some(group) = request.group_id.clone() else {
                return Err(refused(
                    "MissingParameter",
                    "The request must contain the parameter MessageGroupId.",
                ));
            };
            let dedup = match &request.dedup_id {
                Some(id) => id.clone(),
                None if record.attribute("ContentBasedDeduplication").as_deref()
                    == Some("true") =>
                {
                    content_dedup_id(&request.body)
                }
                None => {
                    return Err(invalid(
                        "The queue should either have ContentBasedDeduplication enabled or \
                         MessageDeduplicationId provided explicitly",
                    ));
                }
            };
            (Some(group), Some(dedup))
        } else {
            (request.group_id.clone(), None)
        };
        for (what, id) in [
            ("MessageGroupId", &group_id),
            ("MessageDeduplicationId", &dedup_id),
        ] {
            if let Some(id) = id
                && (id.is_empty() || id.len() > 128 || !id.chars().all(|c| c.is_ascii_graphic()))
            {
                return Err(invalid(format!(
                    "Value {id} for parameter {what} is invalid. Reason: {what} can only include \
                     alphanumeric and punctuation characters. 1 to 128 in length."
                )));
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        let attributes = json!({
            "MessageAttributes": request.attributes,
            "MessageSystemAttributes": request.system_attributes,
            "SenderId": self.options().account,
        });
        let message = NewMessage {
            id: id.clone(),
            body: request.body.clone(),
            attributes: attributes.to_string(),
            sent_at: now,
            visible_at: now
                .saturating_add(SignedDuration::from_secs(delay as i64))
                .unwrap_or(now),
            group_id,
            dedup_id,
            dedup_expires_at: now.saturating_add(DEDUP_WINDOW).unwrap_or(now),
        };
        let answer = SentMessage {
            id,
            md5_of_body: messages::md5_hex(request.body.as_bytes()),
            md5_of_attributes: messages::md5_of_attributes(&request.attributes),
            md5_of_system_attributes: messages::md5_of_attributes(&request.system_attributes),
            sequence_number: None,
        };
        Ok((message, answer))
    }

    /// Receives messages, waiting up to the request's (or the queue's) wait time for some to be
    /// visible.
    pub async fn receive_messages(
        &self,
        queue: &str,
        request: &ReceiveRequest,
    ) -> Result<Vec<ReceivedMessage>, Error> {
        let record = self.get_queue(queue).await?;
        if !(1..=10).contains(&request.max) {
            return Err(invalid(format!(
                "Value {} for parameter MaxNumberOfMessages is invalid. Reason: Must be between \
                 1 and 10, if provided.",
                request.max
            )));
        }
        let visibility = request
            .visibility_timeout
            .unwrap_or_else(|| record.number("VisibilityTimeout"));
        if visibility > 43_200 {
            return Err(invalid(format!(
                "Value {visibility} for parameter VisibilityTimeout is invalid. Reason: Must be \
                 >= 0 and <= 43200."
            )));
        }
        let wait = request
            .wait_seconds
            .unwrap_or_else(|| record.number("ReceiveMessageWaitTimeSeconds"));
        if wait > MAX_WAIT_SECONDS {
            return Err(invalid(format!(
                "Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and \
                 <= 20, if provided."
            )));
        }
        let redrive = match record.redrive_policy() {
            Some(policy) => Some(Redrive {
                max_receive_count: policy.max_receive_count,
                dead_letter_queue: queue_name_of(&policy.dead_letter_target_arn).to_string(),
            }),
            None => None,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
        let signal = self.inner().queues.signal(queue);
        loop {
            // Registered before looking, so a send between the look and the wait is not missed.
            let notified = signal.notified();
            let now = self.clock().now();
            let received = self
                .store()
                .receive_messages(Receive {
                    queue: queue.to_string(),
                    now,
                    max: request.max,
                    visible_until: now
                        .saturating_add(SignedDuration::from_secs(visibility as i64))
                        .unwrap_or(now),
                    redrive: redrive.clone(),
                    fifo: record.fifo,
                })
                .await?;
            let counters = self.inner().queues.counters(queue);
            Counters::add(&counters.received, received.messages.len() as u64);
            Counters::add(
                &counters.moved_to_dead_letter,
                received.moved_to_dead_letter,
            );
            if received.moved_to_dead_letter > 0
                && let Some(redrive) = &redrive
            {
                tracing::warn!(
                    queue = %queue,
                    dead_letter_queue = %redrive.dead_letter_queue,
                    moved = received.moved_to_dead_letter,
                    "Messages moved to the dead-letter queue."
                );
                self.inner()
                    .queues
                    .signal(&redrive.dead_letter_queue)
                    .notify_waiters();
            }
            if !received.messages.is_empty() {
                return Ok(received
                    .messages
                    .into_iter()
                    .map(|m| {
                        let source = m.source_queue.as_deref().map(|q| self.queue_arn(q));
                        received_message(queue, m, source)
                    })
                    .collect());
            }
            if received.moved_to_dead_letter > 0 {
                // Moves count towards `max`: messages behind them may be ready now.
                continue;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let closed = self
                .inner()
                .queues
                .closed
                .load(std::sync::atomic::Ordering::SeqCst);
            if left.is_zero() || closed {
                return Ok(Vec::new());
            }
            let _ = tokio::time::timeout(left.min(POLL_INTERVAL), notified).await;
        }
    }

    /// Deletes messages by receipt handle; per handle, `Ok` or the SQS error for it. A handle of
    /// a message received again since is accepted and deletes nothing, as on SQS.
    pub async fn delete_messages(
        &self,
        queue: &str,
        handles: &[String],
    ) -> Result<Vec<Result<(), Error>>, Error> {
        self.get_queue(queue).await?;
        let mut out: Vec<Result<(), Error>> = Vec::with_capacity(handles.len());
        let mut receipts = Vec::new();
        for handle in handles {
            match messages::read_receipt(queue, handle) {
                Some(receipt) => {
                    receipts.push(receipt);
                    out.push(Ok(()));
                }
                None => out.push(Err(invalid_receipt(handle))),
            }
        }
        if !receipts.is_empty() {
            let deleted = self.store().delete_messages(queue, receipts).await?;
            let n = deleted.iter().filter(|d| **d).count() as u64;
            Counters::add(&self.inner().queues.counters(queue).deleted, n);
        }
        Ok(out)
    }

    /// Changes when received messages become visible again; per handle, `Ok` or its SQS error.
    pub async fn change_message_visibility(
        &self,
        queue: &str,
        changes: &[(String, u64)],
    ) -> Result<Vec<Result<(), Error>>, Error> {
        self.get_queue(queue).await?;
        let now = self.clock().now();
        let mut out: Vec<Option<Result<(), Error>>> = Vec::with_capacity(changes.len());
        let mut valid = Vec::new();
        for (handle, timeout) in changes {
            if *timeout > 43_200 {
                out.push(Some(Err(invalid(format!(
                    "Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be \
                     >= 0 and <= 43200."
                )))));
                continue;
            }
            match messages::read_receipt(queue, handle) {
                Some(receipt) => {
                    let until = now
                        .saturating_add(SignedDuration::from_secs(*timeout as i64))
                        .unwrap_or(now);
                    valid.push((receipt, until));
                    out.push(None);
                }
                None => out.push(Some(Err(invalid_receipt(handle)))),
            }
        }
        let mut changed = if valid.is_empty() {
            Vec::new()
        } else {
            self.store().change_visibility(queue, now, valid).await?
        }
        .into_iter();
        let answers = out
            .into_iter()
            .map(|slot| match slot {
                Some(answer) => answer,
                None if changed.next().unwrap_or(false) => Ok(()),
                None => Err(refused(
                    "MessageNotInflight",
                    "Message does not exist or is not available for visibility timeout change.",
                )),
            })
            .collect();
        self.inner().queues.signal(queue).notify_waiters();
        Ok(answers)
    }

    /// Deletes every message of a queue; SQS allows one purge a minute.
    pub async fn purge_queue(&self, queue: &str) -> Result<(), Error> {
        self.get_queue(queue).await?;
        let now = self.clock().now();
        {
            let mut purged = lock(&self.inner().queues.purged);
            if let Some(last) = purged.get(queue)
                && now.duration_since(*last) < SignedDuration::from_mins(1)
            {
                return Err(refused(
                    "PurgeQueueInProgress",
                    format!(
                        "Only one PurgeQueue operation on {queue} is allowed every 60 seconds."
                    ),
                ));
            }
            purged.insert(queue.to_string(), now);
        }
        self.store().purge_messages(queue).await?;
        Ok(())
    }
}

/// The name at the end of a queue ARN.
pub(crate) fn queue_name_of(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

fn invalid_receipt(handle: &str) -> Error {
    refused(
        "ReceiptHandleIsInvalid",
        format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
    )
}

/// A stored message as `ReceiveMessage` answers it.
fn received_message(
    queue: &str,
    m: store::queue::Message,
    source_arn: Option<String>,
) -> ReceivedMessage {
    let stored: Value = serde_json::from_str(&m.attributes).unwrap_or(Value::Null);
    let message_attributes = stored["MessageAttributes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut attributes = BTreeMap::new();
    attributes.insert(
        "SentTimestamp".to_string(),
        m.sent_at.as_millisecond().to_string(),
    );
    attributes.insert(
        "ApproximateReceiveCount".to_string(),
        m.receive_count.to_string(),
    );
    if let Some(first) = m.first_received_at {
        attributes.insert(
            "ApproximateFirstReceiveTimestamp".to_string(),
            first.as_millisecond().to_string(),
        );
    }
    if let Some(sender) = stored["SenderId"].as_str() {
        attributes.insert("SenderId".to_string(), sender.to_string());
    }
    if let Some(trace) = stored["MessageSystemAttributes"]["AWSTraceHeader"]["StringValue"].as_str()
    {
        attributes.insert("AWSTraceHeader".to_string(), trace.to_string());
    }
    if let Some(group) = &m.group_id {
        attributes.insert("MessageGroupId".to_string(), group.clone());
    }
    if let Some(dedup) = &m.dedup_id {
        attributes.insert("MessageDeduplicationId".to_string(), dedup.clone());
        attributes.insert("SequenceNumber".to_string(), format!("{:020}", m.sequence));
    }
    if let Some(source) = source_arn {
        attributes.insert("DeadLetterQueueSourceArn".to_string(), source);
    }
    let receipt = store::queue::Receipt {
        sequence: m.sequence,
        receive_count: m.receive_count,
    };
    ReceivedMessage {
        id: m.id,
        receipt_handle: messages::receipt_handle(queue, receipt),
        md5_of_body: messages::md5_hex(m.body.as_bytes()),
        body: m.body,
        attributes,
        message_attributes,
    }
}

/// A queue record as stored.
fn body(record: &QueueRecord) -> String {
    documents::labelled_body(
        &record.attributes,
        &record.tags,
        record.created,
        Some(record.modified),
    )
}

/// Reads a stored queue record.
fn read(name: &str, text: &str, engine: &Engine) -> Result<QueueRecord, Error> {
    let value = documents::parse("queue", name, text)?;
    let time = |key: &str| {
        documents::timestamp(&value, key)
            .ok_or_else(|| documents::corrupt("queue", name, format!("no {key}")))
    };
    Ok(QueueRecord {
        name: name.to_string(),
        arn: engine.queue_arn(name),
        fifo: name.ends_with(".fifo"),
        attributes: documents::strings(&value["attributes"]),
        tags: documents::strings(&value["tags"]),
        created: time("created")?,
        modified: time("modified")?,
    })
}

/// Deletes messages past their queue's retention period, every [`SWEEP_INTERVAL`], for as long
/// as the engine lives.
pub(crate) async fn sweeper(inner: Weak<Inner>) {
    loop {
        tokio::time::sleep(SWEEP_INTERVAL).await;
        let Some(inner) = inner.upgrade() else { return };
        let engine = Engine::from_inner(inner);
        let Ok(queues) = engine.list_queues("").await else {
            continue;
        };
        let now = engine.clock().now();
        for queue in queues {
            let retention =
                SignedDuration::from_secs(queue.number("MessageRetentionPeriod") as i64);
            let before = now.saturating_sub(retention).unwrap_or(now);
            if let Err(error) = engine.store().expire_messages(&queue.name, before).await {
                tracing::warn!(queue = %queue.name, %error, "Expired messages not swept.");
            }
        }
    }
}
