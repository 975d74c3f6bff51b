//! The SQS operations (target prefix `AmazonSQS`): SQS's JSON protocol as the SDKs speak it
//! since botocore 1.34 (`X-Amz-Target: AmazonSQS.SendMessage`, PascalCase members), on weir's
//! durable queues (`engine::queues`).
//!
//! - Queue URLs are `http://HOST/ACCOUNT/NAME`, `HOST` being the request's `Host` header, so the
//!   URLs a client gets point at the server it asked. A `QueueUrl` is read back by its last two
//!   path segments: the name, and the account, which must be this server's.
//! - Errors are SQS's: `{"__type": "com.amazonaws.sqs#<Shape>", "message"}` with the status of
//!   SQS's model and the header `x-amzn-query-error: <QueryCode>;Sender` (SQS is
//!   `awsQueryCompatible`): the SDKs raise the modelled exception (`QueueDoesNotExist`) and report
//!   the query code (`AWS.SimpleQueueService.NonExistentQueue`) as the error's code. A failed
//!   entry of a batch carries the query code too.
//! - Batches (`SendMessageBatch`, `DeleteMessageBatch`, `ChangeMessageVisibilityBatch`) hold 1
//!   to 10 entries with distinct ids of letters, digits, hyphens and underscores (at most 80);
//!   a `SendMessageBatch` is at most [`MAX_BATCH_BYTES`] in all, whatever the queue's
//!   `MaximumMessageSize`. An entry's own problem fails that entry alone.
//! - `ReceiveMessage` answers only the system attributes (`AttributeNames`,
//!   `MessageSystemAttributeNames`) and message attributes (`MessageAttributeNames`: `All`, `*`,
//!   `.*`, a name, or `prefix.*`) asked for, `MD5OfMessageAttributes` being the digest of those
//!   returned. A long poll (`WaitTimeSeconds`, up to 20) waits in the engine without holding
//!   up other requests.
//! - `AddPermission` and `RemovePermission` are refused (`UnsupportedOperation`): weir's queues
//!   have no access policy of their own.

use crate::Api;
use crate::error::ApiError;
use crate::wire::{optional, optional_int, string_list, string_map, wrong_type};
use axum::http::{HeaderMap, StatusCode};
use engine::queues::{self, MoveTask, ReceiveRequest, ReceivedMessage, SendRequest, SentMessage};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// The largest `SendMessageBatch`: the sum of its messages' sizes (bodies and attributes), as
/// SQS's API reference sets it.
pub const MAX_BATCH_BYTES: usize = 1_048_576;

/// The most entries a batch holds.
const MAX_BATCH_ENTRIES: usize = 10;

/// The longest batch entry id.
const MAX_BATCH_ID: usize = 80;

/// The queue attributes `GetQueueAttributes` knows (SQS's `QueueAttributeName`, without `All`).
const QUEUE_ATTRIBUTES: [&str; 21] = [
    "Policy",
    "VisibilityTimeout",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
    "ApproximateNumberOfMessagesDelayed",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy",
    "FifoQueue",
    "ContentBasedDeduplication",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "RedriveAllowPolicy",
    "SqsManagedSseEnabled",
];

/// One of SQS's errors as its JSON protocol answers it.
struct SqsError {
    /// The short code (the engine's, and the shape's name).
    code: &'static str,
    /// `__type`: the shape's id.
    shape: &'static str,
    /// The code of SQS's query protocol, sent in `x-amzn-query-error`.
    query_code: &'static str,
    /// The HTTP status.
    status: u16,
}

/// SQS's errors, from its service model (`aws.protocols#awsQueryError`): short code, query code,
/// status. `InvalidParameterValue` and `MissingParameter` are SQS's common errors.
macro_rules! sqs_errors {
    ($($code:literal => $query:literal, $status:literal;)*) => {
        const ERRORS: &[SqsError] = &[$(SqsError {
            code: $code,
            shape: concat!("com.amazonaws.sqs#", $code),
            query_code: $query,
            status: $status,
        }),*];
    };
}

sqs_errors! {
    "QueueDoesNotExist" => "AWS.SimpleQueueService.NonExistentQueue", 400;
    "QueueNameExists" => "QueueAlreadyExists", 400;
    "InvalidAttributeName" => "InvalidAttributeName", 400;
    "InvalidAttributeValue" => "InvalidAttributeValue", 400;
    "InvalidParameterValue" => "InvalidParameterValue", 400;
    "MissingParameter" => "MissingParameter", 400;
    "InvalidMessageContents" => "InvalidMessageContents", 400;
    "ReceiptHandleIsInvalid" => "ReceiptHandleIsInvalid", 404;
    "MessageNotInflight" => "AWS.SimpleQueueService.MessageNotInflight", 400;
    "PurgeQueueInProgress" => "AWS.SimpleQueueService.PurgeQueueInProgress", 403;
    "UnsupportedOperation" => "AWS.SimpleQueueService.UnsupportedOperation", 400;
    "ResourceNotFoundException" => "ResourceNotFoundException", 404;
    "InvalidAddress" => "InvalidAddress", 404;
    "BatchEntryIdsNotDistinct" => "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400;
    "BatchRequestTooLong" => "AWS.SimpleQueueService.BatchRequestTooLong", 400;
    "EmptyBatchRequest" => "AWS.SimpleQueueService.EmptyBatchRequest", 400;
    "InvalidBatchEntryId" => "AWS.SimpleQueueService.InvalidBatchEntryId", 400;
    "TooManyEntriesInBatchRequest" => "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400;
}

/// Gives an SQS error its shape, query code and status; other errors pass unchanged.
fn as_sqs(error: ApiError) -> ApiError {
    match ERRORS.iter().find(|known| known.code == error.code) {
        Some(known) if error.query_code.is_none() => ApiError {
            code: known.shape,
            message: error.message,
            status: StatusCode::from_u16(known.status).unwrap_or(StatusCode::BAD_REQUEST),
            query_code: Some(known.query_code),
        },
        _ => error,
    }
}

/// Runs one `AmazonSQS.` operation.
pub async fn call(
    api: &Api,
    headers: &HeaderMap,
    operation: &str,
    input: &Value,
) -> Result<Value, ApiError> {
    let host = headers
        .get("host")
        .and_then(|host| host.to_str().ok())
        .unwrap_or("localhost");
    let sqs = Sqs {
        api,
        base: format!("http://{host}/{}", api.account),
    };
    sqs.call(operation, input).await.map_err(as_sqs)
}

/// The operations, for one request (which names the host queue URLs point at).
struct Sqs<'a> {
    api: &'a Api,
    /// `http://HOST/ACCOUNT`.
    base: String,
}

impl Sqs<'_> {
    async fn call(&self, operation: &str, input: &Value) -> Result<Value, ApiError> {
        match operation {
            "CreateQueue" => self.create_queue(input).await,
            "GetQueueUrl" => self.get_queue_url(input).await,
            "ListQueues" => self.list_queues(input).await,
            "DeleteQueue" => {
                self.engine().delete_queue(self.queue(input)?).await?;
                Ok(json!({}))
            }
            "GetQueueAttributes" => self.get_queue_attributes(input).await,
            "SetQueueAttributes" => {
                let queue = self.queue(input)?;
                let attributes =
                    string_map(input, "Attributes")?.ok_or_else(|| missing("Attributes"))?;
                self.engine()
                    .set_queue_attributes(queue, &attributes)
                    .await?;
                Ok(json!({}))
            }
            "TagQueue" => {
                let queue = self.queue(input)?;
                let tags = string_map(input, "Tags")?.ok_or_else(|| missing("Tags"))?;
                self.engine().tag_queue(queue, &tags).await?;
                Ok(json!({}))
            }
            "UntagQueue" => {
                let queue = self.queue(input)?;
                let keys = string_list(input, "TagKeys")?.ok_or_else(|| missing("TagKeys"))?;
                self.engine().untag_queue(queue, &keys).await?;
                Ok(json!({}))
            }
            "ListQueueTags" => {
                let queue = self.engine().get_queue(self.queue(input)?).await?;
                Ok(if queue.tags.is_empty() {
                    json!({})
                } else {
                    json!({ "Tags": queue.tags })
                })
            }
            "PurgeQueue" => {
                self.engine().purge_queue(self.queue(input)?).await?;
                Ok(json!({}))
            }
            "ListDeadLetterSourceQueues" => self.dead_letter_sources(input).await,
            "SendMessage" => self.send_message(input).await,
            "SendMessageBatch" => self.send_message_batch(input).await,
            "ReceiveMessage" => self.receive_message(input).await,
            "DeleteMessage" => self.delete_message(input).await,
            "DeleteMessageBatch" => self.delete_message_batch(input).await,
            "ChangeMessageVisibility" => self.change_visibility(input).await,
            "ChangeMessageVisibilityBatch" => self.change_visibility_batch(input).await,
            "StartMessageMoveTask" => self.start_move_task(input).await,
            "ListMessageMoveTasks" => self.list_move_tasks(input).await,
            "CancelMessageMoveTask" => {
                let handle = required(input, "TaskHandle")?;
                let moved = self.engine().cancel_message_move_task(handle).await?;
                Ok(json!({ "ApproximateNumberOfMessagesMoved": moved }))
            }
            "AddPermission" | "RemovePermission" => Err(ApiError::new(
                "UnsupportedOperation",
                format!("{operation} is not supported: weir's queues have no access policy."),
            )),
            other => Err(ApiError::new(
                "UnknownOperationException",
                format!("Unknown operation: AmazonSQS.{other}"),
            )),
        }
    }

    fn engine(&self) -> &engine::Engine {
        &self.api.engine
    }

    /// A queue's URL.
    fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    /// The name of the queue the request's `QueueUrl` names.
    fn queue<'i>(&self, input: &'i Value) -> Result<&'i str, ApiError> {
        let url = required(input, "QueueUrl")?;
        let path = match url.split_once("://") {
            Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
            None => url,
        };
        let mut segments = path.rsplit('/').filter(|segment| !segment.is_empty());
        match (segments.next(), segments.next()) {
            (Some(name), Some(account)) if account == self.api.account => Ok(name),
            (Some(_), Some(_)) => Err(does_not_exist()),
            _ => Err(ApiError::new(
                "InvalidAddress",
                format!("The address {url} is not valid for this endpoint."),
            )),
        }
    }

    async fn create_queue(&self, input: &Value) -> Result<Value, ApiError> {
        let name = required(input, "QueueName")?;
        let attributes = string_map(input, "Attributes")?.unwrap_or_default();
        let tags = string_map(input, "tags")?.unwrap_or_default();
        let queue = self.engine().create_queue(name, &attributes, &tags).await?;
        Ok(json!({ "QueueUrl": self.url(&queue.name) }))
    }

    async fn get_queue_url(&self, input: &Value) -> Result<Value, ApiError> {
        let name = required(input, "QueueName")?;
        if optional(input, "QueueOwnerAWSAccountId")?.is_some_and(|a| a != self.api.account) {
            return Err(does_not_exist());
        }
        let queue = self.engine().get_queue(name).await?;
        Ok(json!({ "QueueUrl": self.url(&queue.name) }))
    }

    async fn list_queues(&self, input: &Value) -> Result<Value, ApiError> {
        let prefix = optional(input, "QueueNamePrefix")?.unwrap_or("");
        let names = self.engine().list_queues(prefix).await?;
        let names = names.into_iter().map(|queue| queue.name).collect();
        self.url_page(input, names, "QueueUrls", false)
    }

    /// A page of queue URLs under `member` (left out when there are none, unless `always`),
    /// with `NextToken` when more follow.
    fn url_page(
        &self,
        input: &Value,
        names: Vec<String>,
        member: &str,
        always: bool,
    ) -> Result<Value, ApiError> {
        let (names, next) = page(input, names)?;
        let mut answer = Map::new();
        if always || !names.is_empty() {
            let urls = names.iter().map(|name| self.url(name)).collect();
            answer.insert(member.into(), urls);
        }
        if let Some(next) = next {
            answer.insert("NextToken".into(), Value::String(next));
        }
        Ok(Value::Object(answer))
    }

    async fn get_queue_attributes(&self, input: &Value) -> Result<Value, ApiError> {
        let queue = self.queue(input)?;
        let wanted = string_list(input, "AttributeNames")?.unwrap_or_default();
        if let Some(unknown) = wanted
            .iter()
            .find(|name| *name != "All" && !QUEUE_ATTRIBUTES.contains(&name.as_str()))
        {
            return Err(ApiError::new(
                "InvalidAttributeName",
                format!("Unknown Attribute {unknown}."),
            ));
        }
        let all = wanted.iter().any(|name| name == "All");
        let attributes: Map<String, Value> = self
            .engine()
            .queue_attributes(queue)
            .await?
            .into_iter()
            .filter(|(name, _)| all || wanted.contains(name))
            .map(|(name, value)| (name, Value::String(value)))
            .collect();
        Ok(if attributes.is_empty() {
            json!({})
        } else {
            json!({ "Attributes": attributes })
        })
    }

    async fn dead_letter_sources(&self, input: &Value) -> Result<Value, ApiError> {
        let sources = self
            .engine()
            .dead_letter_source_queues(self.queue(input)?)
            .await?;
        let names = sources.into_iter().map(|source| source.name).collect();
        // `queueUrls` is required in the answer, even empty.
        self.url_page(input, names, "queueUrls", true)
    }

    async fn send_message(&self, input: &Value) -> Result<Value, ApiError> {
        let queue = self.queue(input)?;
        let request = send_request(input)?;
        let sent = self.engine().send_messages(queue, vec![request]).await?;
        let sent = sent
            .first()
            .ok_or_else(|| ApiError::internal("a send of one message answered none"))?;
        Ok(Value::Object(sent_json(sent)))
    }

    async fn send_message_batch(&self, input: &Value) -> Result<Value, ApiError> {
        let queue = self.engine().get_queue(self.queue(input)?).await?;
        let entries = batch(input, "SendMessageBatchRequestEntry")?;
        let requests = entries
            .iter()
            .map(|(_, entry)| send_request(entry))
            .collect::<Result<Vec<_>, _>>()?;
        let size: usize = requests.iter().map(message_size).sum();
        if size > MAX_BATCH_BYTES {
            return Err(ApiError::new(
                "BatchRequestTooLong",
                format!(
                    "Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. You have sent \
                     {size} bytes."
                ),
            ));
        }
        if queue.fifo {
            check_fifo_batch(&queue, &requests)?;
        }
        let ids = entries.iter().map(|(id, _)| *id);
        let (outcomes, valid) = screen(ids.zip(requests), |request| {
            self.engine().check_message(&queue, &request)?;
            Ok(request)
        });
        let sent = if valid.is_empty() {
            Vec::new()
        } else {
            self.engine().send_messages(&queue.name, valid).await?
        };
        Ok(batch_answer(fill(outcomes, sent, |sent| {
            Ok(sent_json(&sent))
        })))
    }

    async fn receive_message(&self, input: &Value) -> Result<Value, ApiError> {
        let queue = self.queue(input)?;
        let max = count(
            input,
            "MaxNumberOfMessages",
            "Must be between 1 and 10, if provided.",
        )?
        .unwrap_or(1);
        let request = ReceiveRequest {
            max: usize::try_from(max).unwrap_or(usize::MAX),
            visibility_timeout: count(input, "VisibilityTimeout", "Must be >= 0 and <= 43200.")?,
            wait_seconds: count(
                input,
                "WaitTimeSeconds",
                "Must be >= 0 and <= 20, if provided.",
            )?,
        };
        let mut system = string_list(input, "AttributeNames")?.unwrap_or_default();
        system.extend(string_list(input, "MessageSystemAttributeNames")?.unwrap_or_default());
        let wanted = string_list(input, "MessageAttributeNames")?.unwrap_or_default();
        let messages = self.engine().receive_messages(queue, &request).await?;
        if messages.is_empty() {
            return Ok(json!({}));
        }
        let messages: Vec<Value> = messages
            .into_iter()
            .map(|message| message_json(message, &system, &wanted))
            .collect();
        Ok(json!({ "Messages": messages }))
    }

    async fn delete_message(&self, input: &Value) -> Result<Value, ApiError> {
        let queue = self.queue(input)?;
        let handle = required(input, "ReceiptHandle")?.to_string();
        let answers = self.engine().delete_messages(queue, &[handle]).await?;
        answers.into_iter().next().unwrap_or(Ok(()))?;
        Ok(json!({}))
    }

    async fn delete_message_batch(&self, input: &Value) -> Result<Value, ApiError> {
        let queue = self.queue(input)?;
        let entries = batch(input, "DeleteMessageBatchRequestEntry")?;
        let handles = entries
            .iter()
            .map(|(_, entry)| required(entry, "ReceiptHandle").map(str::to_string))
            .collect::<Result<Vec<_>, _>>()?;
        let answers = self.engine().delete_messages(queue, &handles).await?;
        Ok(batch_answer(entries.iter().zip(answers).map(
            |((id, _), answer)| (*id, answer.map(|()| Map::new()).map_err(ApiError::from)),
        )))
    }

    async fn change_visibility(&self, input: &Value) -> Result<Value, ApiError> {
        let queue = self.queue(input)?;
        let change = visibility_change(input)?;
        let answers = self
            .engine()
            .change_message_visibility(queue, &[change])
            .await?;
        answers.into_iter().next().unwrap_or(Ok(()))?;
        Ok(json!({}))
    }

    async fn change_visibility_batch(&self, input: &Value) -> Result<Value, ApiError> {
        let queue = self.queue(input)?;
        let entries = batch(input, "ChangeMessageVisibilityBatchRequestEntry")?;
        let (outcomes, changes) = screen(entries, visibility_change);
        let answers = if changes.is_empty() {
            Vec::new()
        } else {
            self.engine()
                .change_message_visibility(queue, &changes)
                .await?
        };
        Ok(batch_answer(fill(outcomes, answers, |answer| {
            answer.map(|()| Map::new()).map_err(ApiError::from)
        })))
    }

    async fn start_move_task(&self, input: &Value) -> Result<Value, ApiError> {
        let source = required(input, "SourceArn")?;
        let destination = optional(input, "DestinationArn")?;
        let rate = count(
            input,
            "MaxNumberOfMessagesPerSecond",
            "Must be between 1 and 500.",
        )?;
        let handle = self
            .engine()
            .start_message_move_task(source, destination, rate)
            .await?;
        Ok(json!({ "TaskHandle": handle }))
    }

    async fn list_move_tasks(&self, input: &Value) -> Result<Value, ApiError> {
        let source = required(input, "SourceArn")?;
        let max = match optional_int(input, "MaxResults")? {
            None => 1,
            Some(n @ 1..=10) => usize::try_from(n).unwrap_or(1),
            Some(n) => return Err(invalid_value(n, "MaxResults", "Must be between 1 and 10.")),
        };
        let tasks: Vec<Value> = self
            .engine()
            .list_message_move_tasks(source, max)
            .await?
            .iter()
            .map(move_task_json)
            .collect();
        Ok(json!({ "Results": tasks }))
    }
}

/// A required string member; SQS's `MissingParameter` without it.
fn required<'i>(input: &'i Value, member: &str) -> Result<&'i str, ApiError> {
    optional(input, member)?.ok_or_else(|| missing(member))
}

fn missing(member: &str) -> ApiError {
    ApiError::new(
        "MissingParameter",
        format!("The request must contain the parameter {member}."),
    )
}

fn does_not_exist() -> ApiError {
    ApiError::new("QueueDoesNotExist", "The specified queue does not exist.")
}

/// SQS's `InvalidParameterValue` for one parameter.
fn invalid_value(value: impl std::fmt::Display, member: &str, reason: &str) -> ApiError {
    ApiError::new(
        "InvalidParameterValue",
        format!("Value {value} for parameter {member} is invalid. Reason: {reason}"),
    )
}

/// An optional integer member that may not be negative (`reason`: SQS's rule for it); the
/// engine checks the upper bounds.
fn count(input: &Value, member: &str, reason: &str) -> Result<Option<u64>, ApiError> {
    match optional_int(input, member)? {
        None => Ok(None),
        Some(n) => u64::try_from(n)
            .map(Some)
            .map_err(|_| invalid_value(n, member, reason)),
    }
}

/// An optional object member whose values are structures (`MessageAttributes`).
fn structures(input: &Value, member: &str) -> Result<Map<String, Value>, ApiError> {
    match input.get(member) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(fields)) => match fields.values().find(|value| !value.is_object()) {
            Some(other) => Err(wrong_type(member, "a map of structures", other)),
            None => Ok(fields.clone()),
        },
        Some(other) => Err(wrong_type(member, "a map of structures", other)),
    }
}

/// One page of a listing of queue names: those after `NextToken`, at most `MaxResults` (1 to
/// 1000; up to 1000 without it), and the token of the next page when `MaxResults` was given and
/// more follow. The token is the last name given, in hex.
fn page(input: &Value, mut names: Vec<String>) -> Result<(Vec<String>, Option<String>), ApiError> {
    let max = match optional_int(input, "MaxResults")? {
        None => None,
        Some(n @ 1..=1000) => usize::try_from(n).ok(),
        Some(n) => {
            return Err(invalid_value(
                n,
                "MaxResults",
                "Must be between 1 and 1000, if provided.",
            ));
        }
    };
    names.sort();
    if let Some(token) = optional(input, "NextToken")? {
        let after = hex::decode(token)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| ApiError::new("InvalidParameterValue", "Invalid NextToken value."))?;
        names.retain(|name| *name > after);
    }
    let limit = max.unwrap_or(1000);
    let more = names.len() > limit;
    names.truncate(limit);
    let next = names
        .last()
        .filter(|_| more && max.is_some())
        .map(hex::encode);
    Ok((names, next))
}

/// A batch's entries with their ids, checked as SQS checks them (1 to 10 entries, ids distinct,
/// of letters, digits, hyphens and underscores, 1 to 80 long); `entry` names the entry type in
/// the refusal of an empty batch.
fn batch<'i>(input: &'i Value, entry: &str) -> Result<Vec<(&'i str, &'i Value)>, ApiError> {
    let entries = match input.get("Entries") {
        None | Some(Value::Null) => return Err(missing("Entries")),
        Some(Value::Array(entries)) => entries,
        Some(other) => return Err(wrong_type("Entries", "a list", other)),
    };
    if entries.is_empty() {
        return Err(ApiError::new(
            "EmptyBatchRequest",
            format!("There should be at least one {entry} in the request."),
        ));
    }
    if entries.len() > MAX_BATCH_ENTRIES {
        return Err(ApiError::new(
            "TooManyEntriesInBatchRequest",
            format!(
                "Maximum number of entries per request are {MAX_BATCH_ENTRIES}. You have sent {}.",
                entries.len()
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    entries
        .iter()
        .map(|entry| {
            let id = required(entry, "Id")?;
            let valid = !id.is_empty()
                && id.len() <= MAX_BATCH_ID
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                return Err(ApiError::new(
                    "InvalidBatchEntryId",
                    "A batch entry id can only contain alphanumeric characters, hyphens and \
                     underscores. It can be at most 80 letters long.",
                ));
            }
            if !seen.insert(id) {
                return Err(ApiError::new(
                    "BatchEntryIdsNotDistinct",
                    format!("Id {id} repeated."),
                ));
            }
            Ok((id, entry))
        })
        .collect()
}

/// A batch's answer: `Successful` entries (their id and fields) and `Failed` ones (id, SQS's
/// query code, message, and whether the caller is at fault), in the order of the request.
fn batch_answer<'i>(results: impl IntoIterator<Item = (&'i str, Outcome)>) -> Value {
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for (id, result) in results {
        match result {
            Ok(fields) => {
                let mut entry = Map::new();
                entry.insert("Id".into(), json!(id));
                entry.extend(fields);
                successful.push(Value::Object(entry));
            }
            Err(error) => {
                let error = as_sqs(error);
                failed.push(json!({
                    "Id": id,
                    "SenderFault": !error.status.is_server_error(),
                    "Code": error.query_code.unwrap_or(error.code),
                    "Message": error.message,
                }));
            }
        }
    }
    json!({ "Successful": successful, "Failed": failed })
}

/// A batch entry's outcome: its fields, or why it failed.
type Outcome = Result<Map<String, Value>, ApiError>;

/// Checks each entry of a batch alone: one `check` refuses fails alone (its outcome is its
/// error), the others (outcome `None`) go to the engine together, in order.
fn screen<'i, E, T>(
    entries: impl IntoIterator<Item = (&'i str, E)>,
    check: impl Fn(E) -> Result<T, ApiError>,
) -> (Vec<(&'i str, Option<Outcome>)>, Vec<T>) {
    let mut outcomes = Vec::new();
    let mut passed = Vec::new();
    for (id, entry) in entries {
        match check(entry) {
            Ok(checked) => {
                passed.push(checked);
                outcomes.push((id, None));
            }
            Err(error) => outcomes.push((id, Some(Err(error)))),
        }
    }
    (outcomes, passed)
}

/// The outcomes of a batch whose entries were checked here first: those refused keep their
/// error, those let through (`None`) take the engine's answers in order.
fn fill<T>(
    outcomes: Vec<(&str, Option<Outcome>)>,
    answers: Vec<T>,
    outcome: impl Fn(T) -> Outcome,
) -> impl Iterator<Item = (&str, Outcome)> {
    let mut answers = answers.into_iter();
    outcomes.into_iter().map(move |(id, checked)| {
        let result = checked.unwrap_or_else(|| match answers.next() {
            Some(answer) => outcome(answer),
            None => Err(ApiError::internal(
                "a batch answered fewer entries than it took",
            )),
        });
        (id, result)
    })
}

/// A `SendMessage` request, or one entry of a `SendMessageBatch`.
fn send_request(input: &Value) -> Result<SendRequest, ApiError> {
    Ok(SendRequest {
        body: required(input, "MessageBody")?.to_string(),
        delay_seconds: count(
            input,
            "DelaySeconds",
            "DelaySeconds must be >= 0 and <= 900.",
        )?,
        attributes: structures(input, "MessageAttributes")?,
        system_attributes: structures(input, "MessageSystemAttributes")?,
        group_id: optional(input, "MessageGroupId")?.map(str::to_string),
        dedup_id: optional(input, "MessageDeduplicationId")?.map(str::to_string),
    })
}

/// The size SQS counts for a message (see `engine::queues::message_size`).
fn message_size(request: &SendRequest) -> usize {
    engine::queues::message_size(&request.body, &request.attributes)
}

/// SQS refuses a whole FIFO batch, not its entries, when an entry lacks its group or its
/// deduplication id.
fn check_fifo_batch(
    queue: &engine::queues::QueueRecord,
    requests: &[SendRequest],
) -> Result<(), ApiError> {
    if requests.iter().any(|request| request.group_id.is_none()) {
        return Err(ApiError::new(
            "InvalidParameterValue",
            "The request must contain the parameter MessageGroupId.",
        ));
    }
    let content_based = queue.attribute("ContentBasedDeduplication").as_deref() == Some("true");
    if !content_based && requests.iter().any(|request| request.dedup_id.is_none()) {
        return Err(ApiError::new(
            "InvalidParameterValue",
            "The queue should either have ContentBasedDeduplication enabled or \
             MessageDeduplicationId provided explicitly",
        ));
    }
    Ok(())
}

/// What `SendMessage` answers for a sent message (a batch entry adds its id).
fn sent_json(sent: &SentMessage) -> Map<String, Value> {
    let mut answer = Map::new();
    answer.insert("MessageId".into(), json!(sent.id));
    answer.insert("MD5OfMessageBody".into(), json!(sent.md5_of_body));
    if let Some(md5) = &sent.md5_of_attributes {
        answer.insert("MD5OfMessageAttributes".into(), json!(md5));
    }
    if let Some(md5) = &sent.md5_of_system_attributes {
        answer.insert("MD5OfMessageSystemAttributes".into(), json!(md5));
    }
    if let Some(sequence) = &sent.sequence_number {
        answer.insert("SequenceNumber".into(), json!(sequence));
    }
    answer
}

/// A received message with the system attributes in `system` (or all, with `All`) and the
/// message attributes `wanted` selects, `MD5OfMessageAttributes` being theirs.
fn message_json(message: ReceivedMessage, system: &[String], wanted: &[String]) -> Value {
    let mut answer = Map::new();
    answer.insert("MessageId".into(), json!(message.id));
    answer.insert("ReceiptHandle".into(), json!(message.receipt_handle));
    answer.insert("MD5OfBody".into(), json!(message.md5_of_body));
    answer.insert("Body".into(), json!(message.body));
    let every = system.iter().any(|name| name == "All");
    let attributes: Map<String, Value> = message
        .attributes
        .into_iter()
        .filter(|(name, _)| every || system.contains(name))
        .map(|(name, value)| (name, Value::String(value)))
        .collect();
    if !attributes.is_empty() {
        answer.insert("Attributes".into(), Value::Object(attributes));
    }
    let chosen: Map<String, Value> = message
        .message_attributes
        .into_iter()
        .filter(|(name, _)| wanted.iter().any(|filter| selects(filter, name)))
        .collect();
    if let Some(md5) = queues::md5_of_message_attributes(&chosen) {
        answer.insert("MD5OfMessageAttributes".into(), json!(md5));
        answer.insert("MessageAttributes".into(), Value::Object(chosen));
    }
    Value::Object(answer)
}

/// Whether a `MessageAttributeNames` entry selects the attribute `name`: `All`, `*` and `.*`
/// select every one, `prefix.*` those whose name starts with `prefix`, a name itself.
fn selects(filter: &str, name: &str) -> bool {
    match filter {
        "All" | "*" | ".*" => true,
        _ => filter
            .strip_suffix(".*")
            .map_or(filter == name, |prefix| name.starts_with(prefix)),
    }
}

/// A `ChangeMessageVisibility` request, or one batch entry: the receipt handle and the new
/// timeout.
fn visibility_change(input: &Value) -> Result<(String, u64), ApiError> {
    let handle = required(input, "ReceiptHandle")?;
    let timeout = count(input, "VisibilityTimeout", "Must be >= 0 and <= 43200.")?
        .ok_or_else(|| missing("VisibilityTimeout"))?;
    Ok((handle.to_string(), timeout))
}

/// A move task as `ListMessageMoveTasks` shows it: the handle only while it runs, the
/// destination and rate only when the caller gave them, `StartedTimestamp` in epoch
/// milliseconds.
fn move_task_json(task: &MoveTask) -> Value {
    let mut answer = Map::new();
    if task.status == "RUNNING" {
        answer.insert("TaskHandle".into(), json!(task.handle));
    }
    answer.insert("Status".into(), json!(task.status));
    answer.insert("SourceArn".into(), json!(task.source_arn));
    if let Some(destination) = &task.destination_arn {
        answer.insert("DestinationArn".into(), json!(destination));
    }
    if let Some(rate) = task.max_per_second {
        answer.insert("MaxNumberOfMessagesPerSecond".into(), json!(rate));
    }
    answer.insert("ApproximateNumberOfMessagesMoved".into(), json!(task.moved));
    answer.insert(
        "ApproximateNumberOfMessagesToMove".into(),
        json!(task.to_move),
    );
    if let Some(reason) = &task.failure {
        answer.insert("FailureReason".into(), json!(reason));
    }
    answer.insert(
        "StartedTimestamp".into(),
        json!(task.started.as_millisecond()),
    );
    Value::Object(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_filters_select_as_sqs_documents() {
        for filter in ["All", "*", ".*"] {
            assert!(selects(filter, "Help.Me"));
        }
        assert!(selects("Hel.*", "Hello"));
        assert!(selects("Hel.*", "Help.Me"));
        assert!(!selects("Hel.*", "General"));
        assert!(selects("General", "General"));
        assert!(!selects("Gen", "General"));
    }

    #[test]
    fn sqs_errors_carry_their_shape_query_code_and_status() {
        let error = as_sqs(does_not_exist());
        assert_eq!(error.code, "com.amazonaws.sqs#QueueDoesNotExist");
        assert_eq!(
            error.query_code,
            Some("AWS.SimpleQueueService.NonExistentQueue")
        );
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        let purge = as_sqs(ApiError::new("PurgeQueueInProgress", "wait"));
        assert_eq!(purge.status, StatusCode::FORBIDDEN);
        let other = as_sqs(ApiError::new("SerializationException", "bad"));
        assert_eq!(other.code, "SerializationException");
        assert_eq!(other.query_code, None);
    }

    #[test]
    fn batches_need_one_to_ten_distinct_well_formed_ids() {
        let code = |input: Value| batch(&input, "E").err().map(|e| e.code);
        assert_eq!(code(json!({"Entries": []})), Some("EmptyBatchRequest"));
        let eleven: Vec<Value> = (0..11).map(|i| json!({"Id": i.to_string()})).collect();
        assert_eq!(
            code(json!({ "Entries": eleven })),
            Some("TooManyEntriesInBatchRequest")
        );
        assert_eq!(
            code(json!({"Entries": [{"Id": "a"}, {"Id": "a"}]})),
            Some("BatchEntryIdsNotDistinct")
        );
        assert_eq!(
            code(json!({"Entries": [{"Id": "a:b"}]})),
            Some("InvalidBatchEntryId")
        );
        assert_eq!(
            code(json!({"Entries": [{"Id": "x".repeat(81)}]})),
            Some("InvalidBatchEntryId")
        );
        assert_eq!(code(json!({"Entries": [{"Id": "a-1_B"}]})), None);
    }

    #[test]
    fn pages_of_names_resume_after_the_token() {
        let names = |n: usize| (0..n).map(|i| format!("q{i:02}")).collect::<Vec<_>>();
        let (first, next) = page(&json!({"MaxResults": 2}), names(5)).expect("a page");
        assert_eq!(first, ["q00", "q01"]);
        let token = next.expect("more follow");
        let (second, _) =
            page(&json!({"MaxResults": 2, "NextToken": token}), names(5)).expect("a page");
        assert_eq!(second, ["q02", "q03"]);
        let (all, none) = page(&json!({}), names(5)).expect("a page");
        assert_eq!((all.len(), none), (5, None));
        assert!(page(&json!({"NextToken": "zz"}), names(1)).is_err());
    }
}
