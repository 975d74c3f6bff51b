//! What a mapping decides about one batch, with no I/O: the event its target gets (SQS's Lambda
//! event shape), how a batch is cut to the target's payload limit, what the target's answer
//! means for each record (`ReportBatchItemFailures`), and when a failing record is given up
//! (`MaximumRetryAttempts`, `MaximumRecordAgeInSeconds`).

use super::MappingConfig;
use crate::queues::{ReceivedMessage, md5_of_message_attributes};
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// One received message with the record its target sees.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// The message as received (its receipt handle settles it).
    pub(crate) message: ReceivedMessage,
    /// Its record in the event (`{"messageId", "receiptHandle", "body", ...}`).
    pub(crate) event: Value,
    /// The length of the record's JSON text.
    pub(crate) size: usize,
}

/// The record of `message` received from the queue `queue_arn` in `region`, as Lambda shows an
/// SQS message to a function.
pub(crate) fn record(message: ReceivedMessage, queue_arn: &str, region: &str) -> Record {
    let mut event = Map::new();
    event.insert("messageId".into(), json!(message.id));
    event.insert("receiptHandle".into(), json!(message.receipt_handle));
    event.insert("body".into(), json!(message.body));
    event.insert("attributes".into(), json!(message.attributes));
    event.insert(
        "messageAttributes".into(),
        Value::Object(lambda_attributes(&message.message_attributes)),
    );
    event.insert("md5OfBody".into(), json!(message.md5_of_body));
    if let Some(md5) = md5_of_message_attributes(&message.message_attributes) {
        event.insert("md5OfMessageAttributes".into(), json!(md5));
    }
    event.insert("eventSource".into(), json!("aws:sqs"));
    event.insert("eventSourceARN".into(), json!(queue_arn));
    event.insert("awsRegion".into(), json!(region));
    let event = Value::Object(event);
    let size = event.to_string().len();
    Record {
        message,
        event,
        size,
    }
}

/// Message attributes as Lambda's SQS records spell them: `{"stringValue", "stringListValues",
/// "binaryListValues", "dataType"}` instead of SQS's `{"StringValue", "DataType"}`.
fn lambda_attributes(attributes: &Map<String, Value>) -> Map<String, Value> {
    attributes
        .iter()
        .map(|(name, attribute)| {
            let mut out = Map::new();
            if let Some(fields) = attribute.as_object() {
                for (key, value) in fields {
                    let mut chars = key.chars();
                    let key = match chars.next() {
                        Some(first) => first.to_lowercase().chain(chars).collect(),
                        None => String::new(),
                    };
                    out.insert(key, value.clone());
                }
            }
            for list in ["stringListValues", "binaryListValues"] {
                out.entry(list).or_insert_with(|| json!([]));
            }
            (name.clone(), Value::Object(out))
        })
        .collect()
}

/// The event of one invocation: `{"Records": [...]}`.
pub(crate) fn event(records: &[Record]) -> Value {
    json!({"Records": records.iter().map(|r| r.event.clone()).collect::<Vec<_>>()})
}

/// The length of the event text of `records` (`{"Records":[` ... `]}`).
fn event_size(sizes: impl Iterator<Item = usize>) -> usize {
    let (count, sum): (usize, usize) = sizes.fold((0, 0), |(n, total), size| (n + 1, total + size));
    "{\"Records\":[]}".len() + sum + count.saturating_sub(1)
}

/// Cuts a batch into consecutive invocations whose events fit in `limit` bytes, in order. A
/// record too large on its own is an invocation by itself (which its target then refuses).
pub(crate) fn invocations(records: Vec<Record>, limit: usize) -> Vec<Vec<Record>> {
    let mut out: Vec<Vec<Record>> = Vec::new();
    for record in records {
        let fits = out.last().is_some_and(|current| {
            event_size(current.iter().map(|r| r.size).chain([record.size])) <= limit
        });
        match out.last_mut() {
            Some(current) if fits => current.push(record),
            _ => out.push(vec![record]),
        }
    }
    out
}

/// A failure of a target: an error name and a cause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    /// The error name (`States.TaskFailed`, a function's `errorType`, ...).
    pub(crate) error: String,
    /// The cause.
    pub(crate) cause: String,
}

impl Failure {
    /// A failure with this error name and cause.
    pub(crate) fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

/// How one invocation of the target ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// It succeeded with this output (a Standard execution that `SUCCEEDED`, a function's
    /// result).
    Succeeded(Value),
    /// It failed.
    Failed(Failure),
}

/// What an invocation's outcome means for its records.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// Every record succeeded.
    Succeeded,
    /// The records at these positions failed (reported in `batchItemFailures`); the others
    /// succeeded.
    Partial(BTreeSet<usize>),
    /// The whole batch failed.
    Failed(Failure),
}

/// Judges an invocation. Without `ReportBatchItemFailures` a success is a success whatever the
/// output says. With it, Lambda's rules for SQS apply: no output, an output without
/// `batchItemFailures`, or a null or empty list is a complete success; a list naming records by
/// `itemIdentifier` (their `messageId`) fails those; an entry with no `itemIdentifier`, an empty
/// or null one, one naming no record of the batch, or a `batchItemFailures` that is not a list
/// fails the whole batch.
pub(crate) fn judge(records: &[Record], outcome: &Outcome, report_item_failures: bool) -> Verdict {
    let output = match outcome {
        Outcome::Failed(failure) => return Verdict::Failed(failure.clone()),
        Outcome::Succeeded(_) if !report_item_failures => return Verdict::Succeeded,
        Outcome::Succeeded(output) => output,
    };
    let malformed = |detail: String| {
        Verdict::Failed(Failure::new(
            "weir.InvalidBatchItemFailures",
            format!("The batch response is not a valid partial batch response: {detail}"),
        ))
    };
    let items = match output.get("batchItemFailures") {
        None | Some(Value::Null) => return Verdict::Succeeded,
        Some(Value::Array(items)) if items.is_empty() => return Verdict::Succeeded,
        Some(Value::Array(items)) => items,
        Some(other) => return malformed(format!("batchItemFailures is {other}, not a list")),
    };
    let mut failed = BTreeSet::new();
    for item in items {
        let id = match item.get("itemIdentifier") {
            Some(Value::String(id)) if !id.is_empty() => id,
            _ => return malformed(format!("{item} has no itemIdentifier")),
        };
        match records.iter().position(|r| r.message.id == *id) {
            Some(position) => failed.insert(position),
            None => return malformed(format!("no record of the batch has the messageId {id}")),
        };
    }
    Verdict::Partial(failed)
}

/// Why a failing record is given up instead of left to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Condition {
    /// It failed `MaximumRetryAttempts + 1` times.
    RetryAttemptsExhausted,
    /// It is older than `MaximumRecordAgeInSeconds`.
    RecordAgeExceeded,
}

impl Condition {
    /// The name Lambda gives this condition in its failure records.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Condition::RetryAttemptsExhausted => "RetryAttemptsExhausted",
            Condition::RecordAgeExceeded => "RecordAgeExceeded",
        }
    }
}

/// Whether a message is older than the mapping's `MaximumRecordAgeInSeconds` at `now` (its age
/// runs from when it was sent).
pub(crate) fn too_old(message: &ReceivedMessage, config: &MappingConfig, now: Timestamp) -> bool {
    let (Some(limit), Some(sent)) = (
        config.maximum_record_age_seconds,
        attribute(message, "SentTimestamp"),
    ) else {
        return false;
    };
    let age_ms = now.as_millisecond().saturating_sub(sent);
    age_ms > i64::try_from(limit.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// What to do with a record whose invocation failed: give it up (and why), or `None` to leave
/// it for the queue to deliver again. Its receive count is how many times it was tried.
pub(crate) fn give_up(
    message: &ReceivedMessage,
    config: &MappingConfig,
    now: Timestamp,
) -> Option<Condition> {
    if too_old(message, config, now) {
        return Some(Condition::RecordAgeExceeded);
    }
    let tries = attribute(message, "ApproximateReceiveCount").unwrap_or(1);
    let retries = u64::try_from(tries.saturating_sub(1)).unwrap_or(0);
    config
        .maximum_retry_attempts
        .filter(|limit| retries >= *limit)
        .map(|_| Condition::RetryAttemptsExhausted)
}

/// A numeric system attribute of a message.
fn attribute(message: &ReceivedMessage, name: &str) -> Option<i64> {
    message.attributes.get(name).and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn message(id: &str, body: &str, receives: u64, sent_ms: i64) -> ReceivedMessage {
        let mut attributes = BTreeMap::new();
        attributes.insert("ApproximateReceiveCount".to_string(), receives.to_string());
        attributes.insert("SentTimestamp".to_string(), sent_ms.to_string());
        ReceivedMessage {
            id: id.to_string(),
            receipt_handle: format!("handle-{id}"),
            body: body.to_string(),
            md5_of_body: String::new(),
            attributes,
            message_attributes: Map::new(),
        }
    }

    fn records(ids: &[&str]) -> Vec<Record> {
        ids.iter()
            .map(|id| record(message(id, "x", 1, 0), "arn:aws:sqs:r:a:q", "r"))
            .collect()
    }

    #[test]
    fn a_record_has_the_shape_lambda_gives_sqs_messages() {
        let mut m = message("m1", "hello", 1, 1_000);
        m.message_attributes.insert(
            "kind".into(),
            json!({"DataType": "String", "StringValue": "order"}),
        );
        let r = record(m, "arn:aws:sqs:us-east-1:000000000000:orders", "us-east-1");
        assert_eq!(r.event["messageId"], "m1");
        assert_eq!(r.event["receiptHandle"], "handle-m1");
        assert_eq!(r.event["eventSource"], "aws:sqs");
        assert_eq!(
            r.event["eventSourceARN"],
            "arn:aws:sqs:us-east-1:000000000000:orders"
        );
        assert_eq!(r.event["awsRegion"], "us-east-1");
        assert_eq!(r.event["attributes"]["SentTimestamp"], "1000");
        assert_eq!(
            r.event["messageAttributes"]["kind"],
            json!({"dataType": "String", "stringValue": "order", "stringListValues": [],
                   "binaryListValues": []})
        );
        assert!(r.event["md5OfMessageAttributes"].is_string());
        assert_eq!(r.size, r.event.to_string().len());
    }

    #[test]
    fn invocations_stay_within_the_payload_limit_in_order() {
        let batch = records(&["a", "b", "c", "d"]);
        let one = batch[0].size;
        let event_of_two = event_size([one, one].into_iter());
        assert_eq!(event_of_two, event(&batch[..2]).to_string().len());
        let cut = invocations(batch, event_of_two);
        let ids: Vec<Vec<&str>> = cut
            .iter()
            .map(|part| part.iter().map(|r| r.message.id.as_str()).collect())
            .collect();
        assert_eq!(ids, [["a", "b"], ["c", "d"]]);
        assert_eq!(invocations(records(&["a", "b"]), 10).len(), 2);
    }

    #[test]
    fn partial_batch_responses_follow_lambdas_rules() {
        let batch = records(&["a", "b", "c"]);
        let ok = |output: Value| judge(&batch, &Outcome::Succeeded(output), true);
        assert_eq!(ok(Value::Null), Verdict::Succeeded);
        assert_eq!(ok(json!({})), Verdict::Succeeded);
        assert_eq!(ok(json!({"batchItemFailures": null})), Verdict::Succeeded);
        assert_eq!(ok(json!({"batchItemFailures": []})), Verdict::Succeeded);
        assert_eq!(
            ok(json!({"batchItemFailures": [{"itemIdentifier": "c"}, {"itemIdentifier": "a"}]})),
            Verdict::Partial(BTreeSet::from([0, 2]))
        );
        for bad in [
            json!({"batchItemFailures": [{"itemIdentifier": ""}]}),
            json!({"batchItemFailures": [{"itemIdentifier": null}]}),
            json!({"batchItemFailures": [{"id": "a"}]}),
            json!({"batchItemFailures": [{"itemIdentifier": "z"}]}),
            json!({"batchItemFailures": "a"}),
        ] {
            assert!(matches!(ok(bad.clone()), Verdict::Failed(_)), "{bad}");
        }
        // Without ReportBatchItemFailures the response is not read.
        assert_eq!(
            judge(
                &batch,
                &Outcome::Succeeded(json!({"batchItemFailures": [{"itemIdentifier": "a"}]})),
                false
            ),
            Verdict::Succeeded
        );
        let failure = Failure::new("Boom", "it broke");
        assert_eq!(
            judge(&batch, &Outcome::Failed(failure.clone()), true),
            Verdict::Failed(failure)
        );
    }

    #[test]
    fn a_record_is_given_up_after_its_retries_or_when_too_old() {
        let config = MappingConfig {
            maximum_retry_attempts: Some(2),
            maximum_record_age_seconds: Some(60),
            ..MappingConfig::default()
        };
        let now = Timestamp::from_second(100).expect("a valid time");
        let sent = 50_000;
        assert_eq!(give_up(&message("a", "x", 1, sent), &config, now), None);
        assert_eq!(give_up(&message("a", "x", 2, sent), &config, now), None);
        assert_eq!(
            give_up(&message("a", "x", 3, sent), &config, now),
            Some(Condition::RetryAttemptsExhausted)
        );
        let old = message("a", "x", 1, 39_000);
        assert!(too_old(&old, &config, now));
        assert_eq!(
            give_up(&old, &config, now),
            Some(Condition::RecordAgeExceeded)
        );
        let unlimited = MappingConfig::default();
        assert_eq!(give_up(&message("a", "x", 99, 0), &unlimited, now), None);
        assert!(!too_old(&message("a", "x", 1, 0), &unlimited, now));
    }
}
