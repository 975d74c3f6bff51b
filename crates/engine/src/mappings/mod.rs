//! Event-source mappings: a poller per enabled mapping reads a weir queue and hands batches of
//! its messages to a target, a state machine or a function, as AWS Lambda's SQS event source
//! mappings hand them to a function.
//!
//! # Behaviour
//! - A mapping (document kind `mapping`, keyed by a UUID; ARN
//!   `arn:aws:lambda:REGION:ACCOUNT:event-source-mapping:UUID`) names a queue, a target and its
//!   settings ([`MappingConfig`]), and whether it is enabled. Enabling starts its poller,
//!   disabling stops it (batches already handed over finish); [`Engine::start`] starts the
//!   pollers of every enabled mapping.
//! - The poller long-polls the queue, ten messages a receive, and gathers up to `BatchSize`
//!   (1 to 10,000) messages, waiting up to `MaximumBatchingWindowInSeconds` (0 to 300, on the
//!   engine's clock, from the first message) to fill the batch. As on AWS, a standard queue's
//!   `BatchSize` over 10 needs a window of at least a second; a FIFO queue's `BatchSize` is at
//!   most 10, with no window.
//! - The target gets `{"Records": [...]}`, each record as Lambda shows an SQS message
//!   (`messageId`, `receiptHandle`, `body`, `attributes`, `messageAttributes`, `md5OfBody`,
//!   `md5OfMessageAttributes` when there are attributes, `eventSource` `aws:sqs`,
//!   `eventSourceARN`, `awsRegion`). A Standard state machine runs an execution and succeeds
//!   when it `SUCCEEDED`, with its output as the response; an Express one runs synchronously; a
//!   function (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`) runs through the engine's task
//!   [`crate::Handler`], cut at the queue's visibility timeout, with the mapping's ARN as its
//!   execution ARN. A batch whose event is larger than the target takes (256 KiB for a state
//!   machine, 6 MiB for a function) goes in several invocations, one after another.
//! - Success deletes the batch's messages. Failure deletes nothing: the messages come back
//!   when their visibility timeout ends, and the queue's own `RedrivePolicy` moves them to its
//!   dead-letter queue after `maxReceiveCount` receives. The mapping's settings act first:
//!   - `FunctionResponseTypes: ["ReportBatchItemFailures"]`: the response's
//!     `batchItemFailures[].itemIdentifier` (message ids) fail; the other records are deleted.
//!     Lambda's rules decide a malformed response (see `batch::judge`).
//!   - `BisectBatchOnFunctionError`: a batch that fails as a whole is split in halves, each
//!     tried in turn, down to single records, so one poison record does not hold back the
//!     good ones (tracking: see `poller::run_bisecting`). Refused for FIFO queues, where a
//!     group's later records would run before an earlier one that failed.
//!   - `MaximumRetryAttempts` (0 to 10,000; -1, the default, leaves retries to the queue): a
//!     record that fails on its receive number `MaximumRetryAttempts + 1` is given up. A queue
//!     whose `maxReceiveCount` is not above that moves the record to its dead-letter queue
//!     first.
//!   - `MaximumRecordAgeInSeconds` (60 to 604,800; -1, the default, for no limit): a record
//!     older than this (since it was sent) is given up instead of invoked, or when it fails.
//!   - A record given up goes to `DestinationConfig.OnFailure.Destination`, a weir queue, as it
//!     was (body, message attributes, trace header; in a FIFO destination, its own message group
//!     deduplicated by its message id), and is deleted. Without a destination it is deleted: the
//!     record is discarded, as Lambda discards a stream's records. Either way a WARN says which
//!     record, why and where it went.
//!   - `ScalingConfig.MaximumConcurrency` (2 to 1,000; 1,000 when not set): at most this many
//!     batches of the mapping are in flight at once, the one being gathered included.
//!
//! # Design notes
//! - **Checkpoint-free.** A mapping stores only its settings. Which records are done is the
//!   queue's business: a record is done when it is deleted, and one in flight is invisible
//!   until its visibility timeout ends. A crash therefore loses nothing and repeats at most the
//!   batches in flight: targets see records at least once, as Lambda's do. The queue's
//!   `VisibilityTimeout` should cover the batching window and the target's run (AWS advises
//!   six times the function's timeout); a run that outlasts it sees its records delivered
//!   again meanwhile, and its late deletes do nothing (their receipt handles are stale).
//! - Retry counts are the messages' own `ApproximateReceiveCount`, so they survive restarts.
//! - Pollers run in this process: with several nodes on one store each node polls every
//!   enabled mapping (the queue shares the messages out) and `MaximumConcurrency` holds per node.

mod batch;
mod poller;

use crate::documents;
use crate::engine::{Engine, lock};
use crate::error::Error;
use crate::queues::{QueueRecord, queue_name_of};
use jiff::Timestamp;
use poller::{Limiter, Stop};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// The document kind of mappings.
const MAPPING: &str = "mapping";

/// The state name a function invocation reports (in its task log).
const TASK_STATE: &str = "EventSourceMapping";

/// The largest `BatchSize`.
pub const MAX_BATCH_SIZE: u64 = 10_000;

/// The longest `MaximumBatchingWindowInSeconds`.
pub const MAX_BATCHING_WINDOW: u64 = 300;

/// `MaximumConcurrency` when none is set, and the largest allowed.
pub const MAX_CONCURRENCY: u64 = 1_000;

/// The largest event a function takes (Lambda's synchronous payload limit).
const FUNCTION_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// What a mapping hands its batches to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A state machine, version or alias ARN.
    StateMachine(String),
    /// A Lambda function ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
    Function(String),
}

impl Target {
    /// The target an ARN names, if it names a state machine or a function.
    pub fn parse(arn: &str) -> Option<Target> {
        let parts: Vec<&str> = arn.split(':').collect();
        if parts.len() < 7 || parts[0] != "arn" || parts[6].is_empty() {
            return None;
        }
        match (parts[2], parts[5]) {
            ("states", "stateMachine") => Some(Target::StateMachine(arn.to_string())),
            ("lambda", "function") => Some(Target::Function(arn.to_string())),
            _ => None,
        }
    }

    /// Its ARN.
    pub fn arn(&self) -> &str {
        match self {
            Target::StateMachine(arn) | Target::Function(arn) => arn,
        }
    }

    /// The largest event it takes, in bytes.
    fn payload_limit(&self) -> usize {
        match self {
            Target::StateMachine(_) => asl::execution::PAYLOAD_LIMIT,
            Target::Function(_) => FUNCTION_PAYLOAD_LIMIT,
        }
    }
}

/// A mapping's settings, with AWS's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingConfig {
    /// `BatchSize`: the most records per batch (1 to 10,000; default 10).
    pub batch_size: u64,
    /// `MaximumBatchingWindowInSeconds`: how long to gather a batch (0 to 300; default 0).
    pub batching_window_seconds: u64,
    /// `FunctionResponseTypes` holds `ReportBatchItemFailures`.
    pub report_batch_item_failures: bool,
    /// `BisectBatchOnFunctionError`.
    pub bisect_batch_on_function_error: bool,
    /// `MaximumRetryAttempts` (0 to 10,000); `None` (-1) leaves retries to the queue.
    pub maximum_retry_attempts: Option<u64>,
    /// `MaximumRecordAgeInSeconds` (60 to 604,800); `None` (-1) for no limit.
    pub maximum_record_age_seconds: Option<u64>,
    /// `DestinationConfig.OnFailure.Destination`: the ARN of the queue records given up go to
    /// (given by name, it is stored as its ARN).
    pub on_failure_destination: Option<String>,
    /// `ScalingConfig.MaximumConcurrency` (2 to 1,000); `None` for 1,000.
    pub maximum_concurrency: Option<u64>,
}

impl Default for MappingConfig {
    fn default() -> Self {
        MappingConfig {
            batch_size: 10,
            batching_window_seconds: 0,
            report_batch_item_failures: false,
            bisect_batch_on_function_error: false,
            maximum_retry_attempts: None,
            maximum_record_age_seconds: None,
            on_failure_destination: None,
            maximum_concurrency: None,
        }
    }
}

/// A stored mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingRecord {
    /// Its id.
    pub uuid: String,
    /// Its ARN.
    pub arn: String,
    /// The name of the queue it reads.
    pub queue: String,
    /// That queue's ARN.
    pub queue_arn: String,
    /// What it hands batches to.
    pub target: Target,
    /// Its settings.
    pub config: MappingConfig,
    /// Whether its poller runs.
    pub enabled: bool,
    /// When it was created.
    pub created: Timestamp,
    /// When it last changed.
    pub modified: Timestamp,
}

/// The pollers running in this process, by mapping.
#[derive(Default)]
pub(crate) struct Mappings {
    running: Mutex<HashMap<String, Running>>,
    /// Each mapping's batches in flight, kept across its pollers.
    limiters: Mutex<HashMap<String, Arc<Limiter>>>,
}

/// A running poller.
struct Running {
    stop: Arc<Stop>,
    poller: JoinHandle<()>,
}

fn not_found(uuid: &str) -> Error {
    Error::NotAllowed {
        code: "ResourceNotFoundException",
        message: format!(
            "The resource you requested does not exist. (Event source mapping {uuid})"
        ),
    }
}

fn invalid(problems: &[String]) -> Error {
    Error::NotAllowed {
        code: "InvalidParameterValueException",
        message: problems.join("; "),
    }
}

/// The problems of a configuration on its own and with its queue (when the queue exists).
fn config_problems(config: &MappingConfig, queue: Option<&QueueRecord>) -> Vec<String> {
    let mut problems = Vec::new();
    if !(1..=MAX_BATCH_SIZE).contains(&config.batch_size) {
        problems.push(format!(
            "BatchSize must be between 1 and {MAX_BATCH_SIZE}, not {}.",
            config.batch_size
        ));
    }
    if config.batching_window_seconds > MAX_BATCHING_WINDOW {
        problems.push(format!(
            "MaximumBatchingWindowInSeconds must be between 0 and {MAX_BATCHING_WINDOW}, not {}.",
            config.batching_window_seconds
        ));
    }
    match queue {
        Some(queue) if queue.fifo => {
            if config.batch_size > 10 {
                problems.push(format!(
                    "BatchSize must be at most 10 for the FIFO queue {}, not {}.",
                    queue.name, config.batch_size
                ));
            }
            if config.batching_window_seconds > 0 {
                problems.push(
                    "MaximumBatchingWindowInSeconds is not supported for FIFO queues.".into(),
                );
            }
            if config.bisect_batch_on_function_error {
                problems.push(
                    "BisectBatchOnFunctionError is not supported for FIFO queues: a message \
                     group's later records would run before an earlier one that failed."
                        .into(),
                );
            }
        }
        _ => {
            if config.batch_size > 10 && config.batching_window_seconds == 0 {
                problems.push(
                    "Maximum batch window in seconds must be greater than 0 if maximum batch \
                     size is greater than 10."
                        .into(),
                );
            }
        }
    }
    if let Some(n) = config.maximum_retry_attempts
        && n > 10_000
    {
        problems.push(format!(
            "MaximumRetryAttempts must be between -1 and 10000, not {n}."
        ));
    }
    if let Some(n) = config.maximum_record_age_seconds
        && !(60..=604_800).contains(&n)
    {
        problems.push(format!(
            "MaximumRecordAgeInSeconds must be -1 or between 60 and 604800, not {n}."
        ));
    }
    if let Some(n) = config.maximum_concurrency
        && !(2..=MAX_CONCURRENCY).contains(&n)
    {
        problems.push(format!(
            "MaximumConcurrency must be between 2 and {MAX_CONCURRENCY}, not {n}."
        ));
    }
    problems
}

impl Engine {
    /// The ARN of the mapping `uuid`.
    pub fn mapping_arn(&self, uuid: &str) -> String {
        let options = self.options();
        format!(
            "arn:aws:lambda:{}:{}:event-source-mapping:{uuid}",
            options.region, options.account
        )
    }

    /// Creates a mapping from a queue (its name or ARN) to a target (a state machine or
    /// function ARN), and starts its poller when `enabled`.
    pub async fn create_event_source_mapping(
        &self,
        queue: &str,
        target: &str,
        config: MappingConfig,
        enabled: bool,
    ) -> Result<MappingRecord, Error> {
        let name = queue_name_of(queue);
        let Some(queue) = self.find_queue(name).await? else {
            return Err(invalid(&[format!(
                "The event source queue {queue} does not exist."
            )]));
        };
        let mut config = config;
        let target = self.check_mapping(&queue, target, &mut config).await?;
        let uuid = crate::express::fresh_uuid();
        let now = self.clock().now();
        let record = MappingRecord {
            arn: self.mapping_arn(&uuid),
            uuid,
            queue: queue.name,
            queue_arn: queue.arn,
            target,
            config,
            enabled,
            created: now,
            modified: now,
        };
        self.store()
            .put_document(MAPPING, &record.uuid, body(&record), None)
            .await?;
        if enabled {
            self.start_poller(&record).await;
        }
        Ok(record)
    }

    /// Checks a mapping's target and settings against its queue, every problem at once, and
    /// returns the target. The on-failure destination may be given by name: it becomes its ARN.
    async fn check_mapping(
        &self,
        queue: &QueueRecord,
        target: &str,
        config: &mut MappingConfig,
    ) -> Result<Target, Error> {
        let mut problems = config_problems(config, Some(queue));
        let parsed = Target::parse(target);
        match &parsed {
            None => problems.push(format!(
                "The target {target} is neither a state machine ARN \
                 (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME) nor a Lambda function ARN \
                 (arn:aws:lambda:REGION:ACCOUNT:function:NAME)."
            )),
            Some(Target::StateMachine(arn)) => {
                if let Err(error) = self.startable(arn).await {
                    problems.push(format!("The target state machine cannot run: {error}"));
                }
            }
            Some(Target::Function(arn)) => {
                if !self.tasks().supports(arn) {
                    problems.push(format!("No function runs {arn} on this server."));
                }
            }
        }
        if let Some(destination) = config.on_failure_destination.take() {
            match self.find_queue(queue_name_of(&destination)).await? {
                Some(found) if destination.starts_with("arn:") && found.arn != destination => {
                    problems.push(format!(
                        "The on-failure destination {destination} does not exist (did you mean \
                         {}?).",
                        found.arn
                    ));
                }
                Some(found) if found.name == queue.name => problems
                    .push("The on-failure destination must not be the event source queue.".into()),
                Some(found) => config.on_failure_destination = Some(found.arn),
                None => problems.push(format!(
                    "The on-failure destination {destination} does not exist."
                )),
            }
        }
        match parsed {
            Some(target) if problems.is_empty() => Ok(target),
            _ => Err(invalid(&problems)),
        }
    }

    /// One mapping.
    pub async fn get_event_source_mapping(&self, uuid: &str) -> Result<MappingRecord, Error> {
        let document = self
            .store()
            .get_document(MAPPING, uuid)
            .await?
            .ok_or_else(|| not_found(uuid))?;
        read(self, uuid, &document.body)
    }

    /// Every mapping, by UUID; only those of the queue `queue` (a name or ARN) and of the
    /// target `target` when given.
    pub async fn list_event_source_mappings(
        &self,
        queue: Option<&str>,
        target: Option<&str>,
    ) -> Result<Vec<MappingRecord>, Error> {
        let mut out = Vec::new();
        for document in self.store().list_documents(MAPPING, "").await? {
            let record = read(self, &document.key, &document.body)?;
            if queue.is_some_and(|q| queue_name_of(q) != record.queue)
                || target.is_some_and(|t| t != record.target.arn())
            {
                continue;
            }
            out.push(record);
        }
        Ok(out)
    }

    /// Replaces a mapping's target, settings and enabled flag (its queue stays), and starts,
    /// restarts or stops its poller to match.
    pub async fn update_event_source_mapping(
        &self,
        uuid: &str,
        target: &str,
        config: MappingConfig,
        enabled: bool,
    ) -> Result<MappingRecord, Error> {
        let record = loop {
            let document = self
                .store()
                .get_document(MAPPING, uuid)
                .await?
                .ok_or_else(|| not_found(uuid))?;
            let mut record = read(self, uuid, &document.body)?;
            let queue = match self.find_queue(&record.queue).await? {
                Some(queue) => queue,
                // The queue is gone: the mapping can still be changed (disabled, pointed
                // elsewhere); its poller reports the missing queue.
                None => QueueRecord {
                    name: record.queue.clone(),
                    arn: record.queue_arn.clone(),
                    fifo: record.queue.ends_with(".fifo"),
                    attributes: Default::default(),
                    tags: Default::default(),
                    created: record.created,
                    modified: record.modified,
                },
            };
            let mut config = config.clone();
            record.target = self.check_mapping(&queue, target, &mut config).await?;
            record.config = config;
            record.enabled = enabled;
            record.modified = self.clock().now();
            match self
                .store()
                .put_document(MAPPING, uuid, body(&record), Some(document.version))
                .await
            {
                Ok(_) => break record,
                Err(store::Error::Conflict { .. }) => continue,
                Err(store::Error::NotFound { .. }) => return Err(not_found(uuid)),
                Err(e) => return Err(e.into()),
            }
        };
        if record.enabled {
            self.start_poller(&record).await;
        } else {
            self.stop_poller(uuid).await;
        }
        Ok(record)
    }

    /// Deletes a mapping: its poller stops (batches in flight finish) and it is forgotten.
    /// Returns it as it was.
    pub async fn delete_event_source_mapping(&self, uuid: &str) -> Result<MappingRecord, Error> {
        let record = self.get_event_source_mapping(uuid).await?;
        self.stop_poller(uuid).await;
        if !self.store().delete_document(MAPPING, uuid).await? {
            return Err(not_found(uuid));
        }
        lock(&self.inner().mappings.limiters).remove(uuid);
        Ok(record)
    }

    /// Starts the pollers of every enabled mapping (at engine start).
    pub(crate) async fn resume_mappings(&self) -> Result<(), Error> {
        for record in self.list_event_source_mappings(None, None).await? {
            if record.enabled {
                self.start_poller(&record).await;
            }
        }
        Ok(())
    }

    /// Stops every poller of this engine and waits for them to end; batches in flight finish
    /// on their own. The mappings stay enabled in the store: the next [`Engine::start`] on it
    /// resumes them. For a process that stops (and tests that restart an engine).
    pub async fn stop_mappings(&self) {
        let running: Vec<Running> = lock(&self.inner().mappings.running)
            .drain()
            .map(|(_, running)| running)
            .collect();
        for running in &running {
            running.stop.stop();
        }
        for running in running {
            let _ = running.poller.await;
        }
    }

    /// Whether this engine runs a poller for the mapping `uuid` now.
    pub fn mapping_polls(&self, uuid: &str) -> bool {
        lock(&self.inner().mappings.running).contains_key(uuid)
    }

    /// Starts a mapping's poller with its current settings, in place of a running one.
    async fn start_poller(&self, record: &MappingRecord) {
        self.stop_poller(&record.uuid).await;
        let limit = usize::try_from(record.config.maximum_concurrency.unwrap_or(MAX_CONCURRENCY))
            .unwrap_or(1);
        let mappings = &self.inner().mappings;
        let limiter = lock(&mappings.limiters)
            .entry(record.uuid.clone())
            .or_insert_with(|| Limiter::new(limit))
            .clone();
        limiter.set_limit(limit);
        let stop = Arc::new(Stop::default());
        let poller = tokio::spawn(poller::poll(
            Arc::downgrade(self.inner()),
            Arc::new(record.clone()),
            stop.clone(),
            limiter,
        ));
        let previous =
            lock(&mappings.running).insert(record.uuid.clone(), Running { stop, poller });
        if let Some(previous) = previous {
            // Another call started one meanwhile: this one wins.
            previous.stop.stop();
        }
    }

    /// Stops a mapping's poller, if it runs, and waits for it to end.
    async fn stop_poller(&self, uuid: &str) {
        let running = lock(&self.inner().mappings.running).remove(uuid);
        if let Some(running) = running {
            running.stop.stop();
            let _ = running.poller.await;
        }
    }
}

/// A mapping as stored.
fn body(record: &MappingRecord) -> String {
    let config = &record.config;
    json!({
        "queue": record.queue,
        "target": record.target.arn(),
        "enabled": record.enabled,
        "batchSize": config.batch_size,
        "batchingWindowSeconds": config.batching_window_seconds,
        "reportBatchItemFailures": config.report_batch_item_failures,
        "bisectBatchOnFunctionError": config.bisect_batch_on_function_error,
        "maximumRetryAttempts": config.maximum_retry_attempts,
        "maximumRecordAgeSeconds": config.maximum_record_age_seconds,
        "onFailureDestination": config.on_failure_destination,
        "maximumConcurrency": config.maximum_concurrency,
        "created": record.created.to_string(),
        "modified": record.modified.to_string(),
    })
    .to_string()
}

/// Reads a stored mapping.
fn read(engine: &Engine, uuid: &str, text: &str) -> Result<MappingRecord, Error> {
    let corrupt = |detail: String| documents::corrupt("event source mapping", uuid, detail);
    let value = documents::parse("event source mapping", uuid, text)?;
    let string = |key: &str| value[key].as_str().map(str::to_string);
    let number = |key: &str| value[key].as_u64();
    let flag = |key: &str| value[key].as_bool().unwrap_or(false);
    let time =
        |key: &str| documents::timestamp(&value, key).ok_or_else(|| corrupt(format!("no {key}")));
    let queue = string("queue").ok_or_else(|| corrupt("no queue".into()))?;
    let target = string("target")
        .as_deref()
        .and_then(Target::parse)
        .ok_or_else(|| corrupt("no target".into()))?;
    Ok(MappingRecord {
        uuid: uuid.to_string(),
        arn: engine.mapping_arn(uuid),
        queue_arn: engine.queue_arn(&queue),
        queue,
        target,
        config: MappingConfig {
            batch_size: number("batchSize").unwrap_or(10),
            batching_window_seconds: number("batchingWindowSeconds").unwrap_or(0),
            report_batch_item_failures: flag("reportBatchItemFailures"),
            bisect_batch_on_function_error: flag("bisectBatchOnFunctionError"),
            maximum_retry_attempts: number("maximumRetryAttempts"),
            maximum_record_age_seconds: number("maximumRecordAgeSeconds"),
            on_failure_destination: string("onFailureDestination"),
            maximum_concurrency: number("maximumConcurrency"),
        },
        enabled: flag("enabled"),
        created: time("created")?,
        modified: time("modified")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_state_machines_or_functions() {
        assert_eq!(
            Target::parse("arn:aws:states:us-east-1:000000000000:stateMachine:m"),
            Some(Target::StateMachine(
                "arn:aws:states:us-east-1:000000000000:stateMachine:m".into()
            ))
        );
        assert!(matches!(
            Target::parse("arn:aws:states:us-east-1:000000000000:stateMachine:m:prod"),
            Some(Target::StateMachine(_))
        ));
        assert!(matches!(
            Target::parse("arn:aws:lambda:us-east-1:000000000000:function:f"),
            Some(Target::Function(_))
        ));
        assert_eq!(Target::parse("f"), None);
        assert_eq!(
            Target::parse("arn:aws:states:us-east-1:000000000000:activity:a"),
            None
        );
        assert_eq!(Target::parse("arn:aws:sqs:us-east-1:000000000000:q"), None);
    }

    #[test]
    fn settings_follow_awss_ranges_and_every_problem_is_reported() {
        assert!(config_problems(&MappingConfig::default(), None).is_empty());
        let bad = MappingConfig {
            batch_size: 100,
            batching_window_seconds: 0,
            maximum_retry_attempts: Some(10_001),
            maximum_record_age_seconds: Some(10),
            maximum_concurrency: Some(1),
            ..MappingConfig::default()
        };
        assert_eq!(config_problems(&bad, None).len(), 4);
        let big = MappingConfig {
            batch_size: 10_000,
            batching_window_seconds: 1,
            ..MappingConfig::default()
        };
        assert!(config_problems(&big, None).is_empty());
    }
}
