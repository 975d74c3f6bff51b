//! Publishing: checking a message, fanning it out to the subscriptions whose filter policy it
//! passes, and delivering it: at once to queues, through a durable store queue and a background
//! worker to functions and HTTP endpoints, with retries and dead-letter queues.
//!
//! # Formats
//! - **Envelope** (queues, HTTP endpoints, dead-letter queues, unless `RawMessageDelivery`):
//!   `{"Type": "Notification", "MessageId", "TopicArn", "Subject" (when given), "Message",
//!   "Timestamp" (ISO 8601, milliseconds), "SignatureVersion": "1", "Signature",
//!   "SigningCertURL", "UnsubscribeURL", "MessageAttributes" (when given, each
//!   `{"Type", "Value"}`)}` as JSON text. With `RawMessageDelivery` the message goes as
//!   published, its attributes as SQS message attributes (queues).
//! - **Functions** get SNS's Lambda event: `{"Records": [{"EventSource": "aws:sns",
//!   "EventVersion": "1.0", "EventSubscriptionArn", "Sns": {...the envelope, with
//!   "SigningCertUrl", "UnsubscribeUrl", "Subject": null when absent and "MessageAttributes"
//!   always}}]}`.
//! - **HTTP** endpoints get a `POST` of the envelope (or the raw message) with
//!   `Content-Type: text/plain; charset=UTF-8` and SNS's `x-amz-sns-message-type`,
//!   `x-amz-sns-message-id`, `x-amz-sns-topic-arn`, `x-amz-sns-subscription-arn` and
//!   `x-amz-sns-rawdelivery` headers. A 2xx answer delivers; 429, 5xx, no connection and no answer
//!   within [`HTTP_TIMEOUT`] are tried again; other statuses fail for good.
//! - **Dead-letter messages** carry the envelope (or the raw message) and the SQS message
//!   attributes `ErrorCode`, `ErrorMessage`, `RequestID` (the message id) and `TopicArn`.
//!
//! # The delivery queue
//! Each function or HTTP delivery is a message of the store queue [`DELIVERY_QUEUE`] (not one of
//! the user's queues: its name is not a valid queue name) whose body is
//! `{"subscription": ARN, "notification": {...}}`. The worker receives deliveries with a lease of
//! [`LEASE`] on the engine's clock, makes each attempt, then deletes the delivery (delivered, or
//! failed for good and dead-lettered) or makes it visible again when its retry is due; the
//! receive count is the attempt number. A process that stops mid-attempt leaves the delivery
//! leased: the next process tries it again when the lease ends. On start the worker arms a
//! wake-up for each pending delivery (the first [`PEEK_ON_START`]); it also looks every
//! [`IDLE_POLL`]. The subscription is read at each attempt: an unsubscribed delivery is dropped,
//! and a changed endpoint or policy applies to the next attempt. A time-scaled clock
//! (`--time-scale`) shortens the lease as well, so a slow attempt may then be made twice.

use super::{SubscriptionRecord, invalid};
use crate::engine::Engine;
use crate::error::Error;
use crate::queues::SendRequest;
use crate::task::TaskRequest;
use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};
use std::sync::Weak;
use std::time::Duration;
use store::queue::{NewMessage, Receipt, Receive};
use tokio::sync::OwnedSemaphorePermit;

/// The store queue holding function and HTTP deliveries not yet made.
pub const DELIVERY_QUEUE: &str = "weir.topic-deliveries";

/// How long a received delivery stays leased to its attempt, on the engine's clock.
pub const LEASE: SignedDuration = SignedDuration::from_mins(6);

/// The longest an HTTP delivery attempt may take (SNS's limit).
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// The longest a function delivery attempt may take.
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(300);

/// How often the worker looks for deliveries when nothing woke it.
pub const IDLE_POLL: Duration = Duration::from_secs(5);

/// How many pending deliveries the worker looks at when it starts.
pub const PEEK_ON_START: usize = 1_000;

/// How many delivery attempts run at once.
pub(crate) const MAX_ATTEMPTS_IN_FLIGHT: usize = 32;

/// The largest message, with its attributes (SNS: 256 KiB).
const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// The most message attributes one message may carry.
const MAX_ATTRIBUTES: usize = 10;

/// What weir writes where SNS writes a signature.
const SIGNATURE: &str = "d2VpciBkb2VzIG5vdCBzaWduIG5vdGlmaWNhdGlvbnM=";

/// A message to publish.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PublishRequest {
    /// `Message`: the text, or with `structure` `json` a JSON object of texts by protocol
    /// (`default`, `sqs`, `lambda`, `http`).
    pub message: String,
    /// `Subject` (at most 100 printable ASCII characters).
    pub subject: Option<String>,
    /// `MessageAttributes`: `{"name": {"DataType", "StringValue" | "BinaryValue"}}`, with data
    /// types `String`, `String.Array`, `Number` and `Binary`.
    pub attributes: Map<String, Value>,
    /// `MessageStructure`: `json`, or none.
    pub structure: Option<String>,
    /// FIFO topics: `MessageGroupId`.
    pub group_id: Option<String>,
    /// FIFO topics: `MessageDeduplicationId`.
    pub dedup_id: Option<String>,
}

/// One published message, as its subscriptions receive it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Notification {
    pub(crate) message_id: String,
    pub(crate) topic_arn: String,
    pub(crate) subject: Option<String>,
    /// The text for this subscription's protocol.
    pub(crate) message: String,
    pub(crate) timestamp: Timestamp,
    pub(crate) attributes: Map<String, Value>,
    pub(crate) group_id: Option<String>,
    pub(crate) dedup_id: Option<String>,
}

/// Why a delivery attempt failed.
#[derive(Debug, Clone, PartialEq)]
struct Failed {
    code: String,
    message: String,
    /// Whether another attempt may succeed.
    transient: bool,
}

impl Notification {
    /// The SNS envelope, for queues, HTTP endpoints and dead-letter queues.
    fn envelope(&self, subscription_arn: &str, region: &str) -> Value {
        let mut m = Map::new();
        m.insert("Type".into(), json!("Notification"));
        m.insert("MessageId".into(), json!(self.message_id));
        m.insert("TopicArn".into(), json!(self.topic_arn));
        if let Some(subject) = &self.subject {
            m.insert("Subject".into(), json!(subject));
        }
        m.insert("Message".into(), json!(self.message));
        m.insert("Timestamp".into(), json!(iso(self.timestamp)));
        m.insert("SignatureVersion".into(), json!("1"));
        m.insert("Signature".into(), json!(SIGNATURE));
        m.insert("SigningCertURL".into(), json!(signing_cert_url(region)));
        m.insert(
            "UnsubscribeURL".into(),
            json!(unsubscribe_url(region, subscription_arn)),
        );
        if !self.attributes.is_empty() {
            m.insert("MessageAttributes".into(), self.envelope_attributes());
        }
        Value::Object(m)
    }

    /// SNS's Lambda event.
    fn lambda_event(&self, subscription_arn: &str, region: &str) -> Value {
        json!({"Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": subscription_arn,
            "Sns": {
                "Type": "Notification",
                "MessageId": self.message_id,
                "TopicArn": self.topic_arn,
                "Subject": self.subject,
                "Message": self.message,
                "Timestamp": iso(self.timestamp),
                "SignatureVersion": "1",
                "Signature": SIGNATURE,
                "SigningCertUrl": signing_cert_url(region),
                "UnsubscribeUrl": unsubscribe_url(region, subscription_arn),
                "MessageAttributes": self.envelope_attributes(),
            },
        }]})
    }

    /// The attributes as the envelope writes them: `{"name": {"Type", "Value"}}`.
    fn envelope_attributes(&self) -> Value {
        let attributes: Map<String, Value> = self
            .attributes
            .iter()
            .map(|(name, attribute)| {
                let value = attribute
                    .get("StringValue")
                    .or_else(|| attribute.get("BinaryValue"))
                    .cloned()
                    .unwrap_or(Value::Null);
                (
                    name.clone(),
                    json!({"Type": attribute["DataType"], "Value": value}),
                )
            })
            .collect();
        Value::Object(attributes)
    }

    /// The body a queue (or a dead-letter queue) receives, and its SQS message attributes.
    fn queue_message(&self, subscription: &SubscriptionRecord, region: &str) -> SendRequest {
        if subscription.raw() {
            SendRequest {
                body: self.message.clone(),
                attributes: self.attributes.clone(),
                ..SendRequest::default()
            }
        } else {
            SendRequest {
                body: self.envelope(&subscription.arn, region).to_string(),
                ..SendRequest::default()
            }
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "messageId": self.message_id,
            "topicArn": self.topic_arn,
            "subject": self.subject,
            "message": self.message,
            "timestamp": self.timestamp.to_string(),
            "attributes": self.attributes,
            "groupId": self.group_id,
            "dedupId": self.dedup_id,
        })
    }

    fn from_json(value: &Value) -> Option<Notification> {
        let text = |key: &str| value[key].as_str().map(str::to_string);
        Some(Notification {
            message_id: text("messageId")?,
            topic_arn: text("topicArn")?,
            subject: text("subject"),
            message: text("message")?,
            timestamp: value["timestamp"].as_str()?.parse().ok()?,
            attributes: value["attributes"].as_object().cloned().unwrap_or_default(),
            group_id: text("groupId"),
            dedup_id: text("dedupId"),
        })
    }
}

/// A time as SNS writes it: ISO 8601 with milliseconds.
fn iso(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn signing_cert_url(region: &str) -> String {
    format!("https://sns.{region}.amazonaws.com/SimpleNotificationService-weir-unsigned.pem")
}

fn unsubscribe_url(region: &str, subscription_arn: &str) -> String {
    format!(
        "https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}"
    )
}

/// The Lambda function ARN a `lambda`/`function` endpoint names: a Lambda ARN as it is, a
/// function name under the engine's region and account; `None` for neither.
pub(crate) fn function_arn(engine: &Engine, endpoint: &str) -> Option<String> {
    if endpoint.starts_with("arn:") {
        let parts: Vec<&str> = endpoint.split(':').collect();
        return match parts.as_slice() {
            ["arn", _, "lambda", _, _, "function", name, ..] if !name.is_empty() => {
                Some(endpoint.to_string())
            }
            _ => None,
        };
    }
    let valid = crate::names::is_plain(endpoint, 64);
    let options = engine.options();
    valid.then(|| {
        format!(
            "arn:aws:lambda:{}:{}:function:{endpoint}",
            options.region, options.account
        )
    })
}

/// Checks message attributes as SNS does: names, data types and values.
fn check_attributes(attributes: &Map<String, Value>) -> Result<(), Error> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(invalid(format!(
            "MessageAttributes: a message may have at most {MAX_ATTRIBUTES} attributes, not {}",
            attributes.len()
        )));
    }
    for (name, attribute) in attributes {
        let lower = name.to_ascii_lowercase();
        if name.is_empty()
            || name.len() > 256
            || name.starts_with('.')
            || name.ends_with('.')
            || name.contains("..")
            || lower.starts_with("aws.")
            || lower.starts_with("amazon.")
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(invalid(format!(
                "MessageAttributes: the attribute name {name:?} is invalid"
            )));
        }
        let data_type = attribute["DataType"].as_str().unwrap_or_default();
        let string = attribute["StringValue"].as_str();
        let ok = match data_type {
            "String" => string.is_some_and(|s| !s.is_empty()),
            "Number" => string.is_some_and(|s| s.trim().parse::<f64>().is_ok()),
            "String.Array" => string
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
                .is_some_and(|v| v.is_array()),
            "Binary" => attribute["BinaryValue"]
                .as_str()
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .is_some(),
            _ => {
                return Err(invalid(format!(
                    "MessageAttributes: the attribute {name} has the data type {data_type:?}; \
                     it must be String, String.Array, Number or Binary"
                )));
            }
        };
        if !ok {
            return Err(invalid(format!(
                "MessageAttributes: the attribute {name} has no valid value for the data type \
                 {data_type} (StringValue for String, Number and String.Array (a JSON array), \
                 BinaryValue in base64 for Binary)"
            )));
        }
    }
    Ok(())
}

/// Checks `Subject`: 1 to 100 printable ASCII characters, no line breaks.
fn check_subject(subject: &str) -> Result<(), Error> {
    let valid = !subject.is_empty()
        && subject.len() <= 100
        && subject
            .chars()
            .all(|c| c.is_ascii() && !c.is_ascii_control());
    if valid {
        Ok(())
    } else {
        Err(invalid(
            "Subject: it must be 1 to 100 printable ASCII characters, without line breaks",
        ))
    }
}

/// The text for each protocol: with `MessageStructure` `json`, the message's entry for the
/// protocol or its `default`; otherwise the message.
struct Texts {
    default: String,
    by_protocol: Map<String, Value>,
}

impl Texts {
    fn of(request: &PublishRequest) -> Result<Texts, Error> {
        match request.structure.as_deref() {
            None => Ok(Texts {
                default: request.message.clone(),
                by_protocol: Map::new(),
            }),
            Some("json") => {
                let Ok(Value::Object(by_protocol)) = serde_json::from_str(&request.message) else {
                    return Err(invalid(
                        "Message Structure - JSON message body failed to parse",
                    ));
                };
                let Some(default) = by_protocol.get("default").and_then(Value::as_str) else {
                    return Err(invalid(
                        "Message Structure - No default entry in JSON message body",
                    ));
                };
                Ok(Texts {
                    default: default.to_string(),
                    by_protocol,
                })
            }
            Some(other) => Err(invalid(format!(
                "MessageStructure: it must be json, not {other}"
            ))),
        }
    }

    fn for_protocol(&self, protocol: &str) -> &str {
        let key = if protocol == "function" {
            "lambda"
        } else {
            protocol
        };
        self.by_protocol
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or(&self.default)
    }
}

impl Engine {
    /// Publishes a message to a topic: every subscription whose filter policy it passes gets
    /// it (see the module documentation); the answer is its `MessageId`. Queue deliveries are
    /// made, and function and HTTP deliveries stored for the worker, before it answers.
    pub async fn publish(
        &self,
        topic_arn: &str,
        request: &PublishRequest,
    ) -> Result<String, Error> {
        let topic = self.get_topic(topic_arn).await?;
        if request.message.is_empty() {
            return Err(invalid("Empty message"));
        }
        let size = request.message.len()
            + request
                .attributes
                .iter()
                .map(|(name, a)| name.len() + a.to_string().len())
                .sum::<usize>();
        if size > MAX_MESSAGE_BYTES {
            return Err(invalid(format!(
                "Message too long: {size} bytes with its attributes, the limit is \
                 {MAX_MESSAGE_BYTES}"
            )));
        }
        if let Some(subject) = &request.subject {
            check_subject(subject)?;
        }
        check_attributes(&request.attributes)?;
        let texts = Texts::of(request)?;
        let (group_id, dedup_id) = if topic.fifo {
            let Some(group) = request.group_id.clone() else {
                return Err(invalid(
                    "MessageGroupId: The MessageGroupId parameter is required for FIFO topics",
                ));
            };
            let dedup = match &request.dedup_id {
                Some(id) => id.clone(),
                None if topic
                    .attributes
                    .get("ContentBasedDeduplication")
                    .map(String::as_str)
                    == Some("true") =>
                {
                    crate::queues::content_dedup_id(&request.message)
                }
                None => {
                    return Err(invalid(
                        "MessageDeduplicationId: The topic should either have \
                         ContentBasedDeduplication enabled or MessageDeduplicationId provided \
                         explicitly",
                    ));
                }
            };
            (Some(group), Some(dedup))
        } else {
            for (member, given) in [
                ("MessageGroupId", &request.group_id),
                ("MessageDeduplicationId", &request.dedup_id),
            ] {
                if given.is_some() {
                    return Err(invalid(format!(
                        "{member}: The request includes {member} parameter that is not valid \
                         for this topic type"
                    )));
                }
            }
            (None, None)
        };
        let now = self.clock().now();
        let message_id = uuid::Uuid::new_v4().to_string();
        let mut deferred = Vec::new();
        for subscription in self.subscriptions_of(&topic.arn).await? {
            let notification = Notification {
                message_id: message_id.clone(),
                topic_arn: topic.arn.clone(),
                subject: request.subject.clone(),
                message: texts.for_protocol(&subscription.protocol).to_string(),
                timestamp: now,
                attributes: request.attributes.clone(),
                group_id: group_id.clone(),
                dedup_id: dedup_id.clone(),
            };
            if let Some(policy) = subscription.filter_policy()
                && !policy.matches(&notification.attributes, &notification.message)
            {
                continue;
            }
            if subscription.protocol == "sqs" {
                self.deliver_to_queue(&subscription, &notification).await?;
            } else {
                deferred.push(NewMessage {
                    id: uuid::Uuid::new_v4().to_string(),
                    body: json!({
                        "subscription": subscription.arn,
                        "notification": notification.to_json(),
                    })
                    .to_string(),
                    attributes: "{}".to_string(),
                    sent_at: now,
                    visible_at: now,
                    group_id: None,
                    dedup_id: None,
                    dedup_expires_at: now,
                });
            }
        }
        if !deferred.is_empty() {
            self.store()
                .send_messages(DELIVERY_QUEUE, now, deferred)
                .await?;
            self.inner().topics.wake.notify_one();
        }
        Ok(message_id)
    }

    /// Sends a notification to a subscription's queue; a queue that refuses it sends it to the
    /// dead-letter queue. Only a failing store is an error.
    async fn deliver_to_queue(
        &self,
        subscription: &SubscriptionRecord,
        notification: &Notification,
    ) -> Result<(), Error> {
        let queue = crate::queues::queue_name_of(&subscription.endpoint).to_string();
        let request = self.fifo_fields(
            &queue,
            notification,
            notification.queue_message(subscription, &self.options().region),
        );
        match self.send_messages(&queue, vec![request]).await {
            Ok(_) => Ok(()),
            Err(error @ (Error::Store(_) | Error::Corrupt { .. })) => Err(error),
            Err(refused) => {
                let failed = Failed {
                    code: refused.code().to_string(),
                    message: refused.to_string(),
                    transient: false,
                };
                self.dead_letter(subscription, notification, &failed).await;
                Ok(())
            }
        }
    }

    /// `request` with the notification's group and deduplication ids when `queue` is a FIFO
    /// queue.
    fn fifo_fields(
        &self,
        queue: &str,
        notification: &Notification,
        request: SendRequest,
    ) -> SendRequest {
        if queue.ends_with(".fifo") {
            SendRequest {
                group_id: notification.group_id.clone(),
                dedup_id: notification.dedup_id.clone(),
                ..request
            }
        } else {
            request
        }
    }

    /// Sends a notification that could not be delivered to the subscription's dead-letter
    /// queue, or drops it with a warning when it has none (or the queue refuses it).
    async fn dead_letter(
        &self,
        subscription: &SubscriptionRecord,
        notification: &Notification,
        failed: &Failed,
    ) {
        let Some(queue) = subscription.dead_letter_queue() else {
            tracing::warn!(
                subscription = %subscription.arn,
                message_id = %notification.message_id,
                error = %failed.message,
                "Notification dropped: it could not be delivered and the subscription has no \
                 dead-letter queue."
            );
            return;
        };
        let mut request = self.fifo_fields(
            &queue,
            notification,
            notification.queue_message(subscription, &self.options().region),
        );
        let detail: String = failed.message.chars().take(1024).collect();
        let mut attributes = Map::new();
        for (name, value) in [
            ("ErrorCode", failed.code.as_str()),
            ("ErrorMessage", detail.as_str()),
            ("RequestID", notification.message_id.as_str()),
            ("TopicArn", notification.topic_arn.as_str()),
        ] {
            attributes.insert(
                name.into(),
                json!({"DataType": "String", "StringValue": value}),
            );
        }
        // The error's attributes first; the message's own as far as SQS's ten allow.
        for (name, value) in std::mem::take(&mut request.attributes) {
            if attributes.len() < MAX_ATTRIBUTES {
                attributes.entry(name).or_insert(value);
            }
        }
        request.attributes = attributes;
        match self.send_messages(&queue, vec![request]).await {
            Ok(_) => tracing::warn!(
                subscription = %subscription.arn,
                message_id = %notification.message_id,
                dead_letter_queue = %queue,
                error = %failed.message,
                "Notification moved to the subscription's dead-letter queue."
            ),
            Err(error) => tracing::error!(
                subscription = %subscription.arn,
                message_id = %notification.message_id,
                dead_letter_queue = %queue,
                %error,
                "Notification lost: its dead-letter queue refused it."
            ),
        }
    }

    /// One attempt to deliver to a function or an HTTP endpoint.
    async fn attempt_delivery(
        &self,
        subscription: &SubscriptionRecord,
        notification: &Notification,
        attempt: u64,
    ) -> Result<(), Failed> {
        let region = self.options().region.clone();
        if subscription.protocol == "http" {
            let body = if subscription.raw() {
                notification.message.clone()
            } else {
                notification
                    .envelope(&subscription.arn, &region)
                    .to_string()
            };
            let headers = [
                ("Content-Type", "text/plain; charset=UTF-8"),
                ("User-Agent", "Amazon Simple Notification Service Agent"),
                ("x-amz-sns-message-type", "Notification"),
                ("x-amz-sns-message-id", notification.message_id.as_str()),
                ("x-amz-sns-topic-arn", notification.topic_arn.as_str()),
                ("x-amz-sns-subscription-arn", subscription.arn.as_str()),
                (
                    "x-amz-sns-rawdelivery",
                    if subscription.raw() { "true" } else { "false" },
                ),
            ];
            return match super::http::post(&subscription.endpoint, &headers, &body, HTTP_TIMEOUT)
                .await
            {
                Ok(200..=299) => Ok(()),
                Ok(status) => Err(Failed {
                    code: format!("HttpStatus{status}"),
                    message: format!("{} answered HTTP {status}", subscription.endpoint),
                    transient: status == 429 || status >= 500,
                }),
                Err(failed) => Err(Failed {
                    code: "HttpError".to_string(),
                    message: format!("{}: {failed}", subscription.endpoint),
                    transient: true,
                }),
            };
        }
        let Some(resource) = function_arn(self, &subscription.endpoint) else {
            return Err(Failed {
                code: "InvalidEndpoint".to_string(),
                message: format!("{} names no function", subscription.endpoint),
                transient: false,
            });
        };
        let request = TaskRequest {
            execution_arn: subscription.arn.clone(),
            state: notification.topic_arn.clone(),
            resource,
            input: notification.lambda_event(&subscription.arn, &region),
            idempotency_key: format!("{}:{}:{attempt}", subscription.arn, notification.message_id),
            attempt,
            timeout_seconds: FUNCTION_TIMEOUT.as_secs(),
        };
        match tokio::time::timeout(FUNCTION_TIMEOUT, self.tasks().call(request)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(failure)) => Err(Failed {
                transient: failure.error != "Lambda.ResourceNotFoundException",
                code: failure.error,
                message: failure.cause,
            }),
            Err(_) => Err(Failed {
                code: "States.Timeout".to_string(),
                message: format!(
                    "the function did not answer within {} seconds",
                    FUNCTION_TIMEOUT.as_secs()
                ),
                transient: true,
            }),
        }
    }
}

/// Wakes the worker when the engine's clock reaches `at`.
fn wake_at(engine: &Engine, at: Timestamp) {
    let clock = engine.clock().clone();
    let wake = engine.inner().topics.wake.clone();
    tokio::spawn(async move {
        clock.sleep_until(at).await;
        wake.notify_one();
    });
}

/// Makes one attempt of a received delivery and settles it: deleted when delivered or failed
/// for good (dead-lettered), visible again at its retry time otherwise.
async fn attempt(engine: Engine, message: store::queue::Message, _slot: OwnedSemaphorePermit) {
    let receipt = Receipt {
        sequence: message.sequence,
        receive_count: message.receive_count,
    };
    let stored: Value = serde_json::from_str(&message.body).unwrap_or(Value::Null);
    let subscription_arn = stored["subscription"].as_str().unwrap_or_default();
    let Some(notification) = Notification::from_json(&stored["notification"]) else {
        tracing::error!(delivery = %message.id, "Unreadable topic delivery dropped.");
        settle(&engine, receipt).await;
        return;
    };
    let subscription = match engine.find_subscription(subscription_arn).await {
        Ok(Some(subscription)) => subscription,
        Ok(None) => {
            // Unsubscribed (or its topic deleted) since the message was published.
            settle(&engine, receipt).await;
            return;
        }
        Err(error) => {
            // The lease ends and the delivery is tried again.
            tracing::warn!(subscription = %subscription_arn, %error, "Delivery postponed.");
            return;
        }
    };
    let attempt = message.receive_count.saturating_sub(1);
    let Err(failed) = engine
        .attempt_delivery(&subscription, &notification, attempt)
        .await
    else {
        settle(&engine, receipt).await;
        return;
    };
    let policy = match engine.effective_delivery_policy(&subscription).await {
        Ok(policy) => policy,
        Err(error) => {
            tracing::warn!(subscription = %subscription.arn, %error, "Delivery postponed.");
            return;
        }
    };
    if failed.transient && attempt < policy.retries {
        let delay = policy.delay(attempt + 1);
        let now = engine.clock().now();
        let due = now
            .saturating_add(SignedDuration::from_secs(delay as i64))
            .unwrap_or(now);
        tracing::debug!(
            subscription = %subscription.arn,
            message_id = %notification.message_id,
            attempt,
            delay,
            error = %failed.message,
            "Delivery failed; it will be tried again."
        );
        match engine
            .store()
            .change_visibility(DELIVERY_QUEUE, now, vec![(receipt, due)])
            .await
        {
            Ok(_) => wake_at(&engine, due),
            Err(error) => {
                tracing::warn!(%error, "Delivery retry not scheduled; its lease will end.")
            }
        }
        return;
    }
    engine
        .dead_letter(&subscription, &notification, &failed)
        .await;
    settle(&engine, receipt).await;
}

/// Deletes a delivery that is done with.
async fn settle(engine: &Engine, receipt: Receipt) {
    if let Err(error) = engine
        .store()
        .delete_messages(DELIVERY_QUEUE, vec![receipt])
        .await
    {
        // Its lease ends and it is attempted again: at least once.
        tracing::warn!(%error, "Finished delivery not deleted.");
    }
}

/// Arms a wake-up for each pending delivery not yet due (retries waiting for their delay,
/// attempts a stopped process left leased).
async fn arm_pending(engine: &Engine) {
    let now = engine.clock().now();
    match engine
        .store()
        .peek_messages(DELIVERY_QUEUE, PEEK_ON_START)
        .await
    {
        Ok(pending) => {
            let mut due: Vec<Timestamp> = pending
                .iter()
                .map(|m| m.visible_at)
                .filter(|at| *at > now)
                .collect();
            due.sort();
            due.dedup();
            for at in due {
                wake_at(engine, at);
            }
        }
        Err(error) => tracing::warn!(%error, "Pending topic deliveries not looked at."),
    }
}

/// The delivery worker: receives due deliveries and attempts them, at most
/// [`MAX_ATTEMPTS_IN_FLIGHT`] at once, for as long as the engine lives.
pub(crate) async fn worker(inner: Weak<crate::engine::Inner>) {
    let (wake, slots) = match inner.upgrade() {
        Some(strong) => {
            let engine = Engine::from_inner(strong);
            arm_pending(&engine).await;
            let topics = &engine.inner().topics;
            (topics.wake.clone(), topics.slots.clone())
        }
        None => return,
    };
    loop {
        if slots.available_permits() == 0 {
            // A slot frees when an attempt ends.
            let _ = slots.acquire().await;
            continue;
        }
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let engine = Engine::from_inner(strong);
        let now = engine.clock().now();
        let received = engine
            .store()
            .receive_messages(Receive {
                queue: DELIVERY_QUEUE.to_string(),
                now,
                max: slots.available_permits().min(10),
                visible_until: now.saturating_add(LEASE).unwrap_or(now),
                redrive: None,
                fifo: false,
            })
            .await;
        match received {
            Ok(received) if !received.messages.is_empty() => {
                for message in received.messages {
                    let Ok(slot) = slots.clone().acquire_owned().await else {
                        return;
                    };
                    tokio::spawn(attempt(engine.clone(), message, slot));
                }
                continue;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "Topic deliveries not received."),
        }
        drop(engine);
        let _ = tokio::time::timeout(IDLE_POLL, wake.notified()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification() -> Notification {
        Notification {
            message_id: "m-1".into(),
            topic_arn: "arn:aws:sns:us-east-1:000000000000:orders".into(),
            subject: Some("hello".into()),
            message: "body".into(),
            timestamp: "2026-01-01T00:00:00Z".parse().expect("a timestamp"),
            attributes: json!({"kind": {"DataType": "String", "StringValue": "paid"}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            group_id: None,
            dedup_id: None,
        }
    }

    #[test]
    fn the_envelope_has_sns_fields_in_sns_order() {
        let envelope = notification().envelope("arn:sub", "us-east-1");
        let keys: Vec<&str> = envelope
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "Type",
                "MessageId",
                "TopicArn",
                "Subject",
                "Message",
                "Timestamp",
                "SignatureVersion",
                "Signature",
                "SigningCertURL",
                "UnsubscribeURL",
                "MessageAttributes"
            ]
        );
        assert_eq!(envelope["Timestamp"], json!("2026-01-01T00:00:00.000Z"));
        assert_eq!(
            envelope["MessageAttributes"],
            json!({"kind": {"Type": "String", "Value": "paid"}})
        );
    }

    #[test]
    fn the_lambda_event_wraps_the_notification_in_records() {
        let mut n = notification();
        n.subject = None;
        let event = n.lambda_event("arn:sub", "us-east-1");
        assert_eq!(event["Records"][0]["EventSource"], json!("aws:sns"));
        assert_eq!(
            event["Records"][0]["EventSubscriptionArn"],
            json!("arn:sub")
        );
        assert_eq!(event["Records"][0]["Sns"]["Subject"], Value::Null);
        assert_eq!(event["Records"][0]["Sns"]["Message"], json!("body"));
    }

    #[test]
    fn stored_notifications_read_back() {
        let n = notification();
        assert_eq!(Notification::from_json(&n.to_json()), Some(n));
    }

    #[test]
    fn attributes_follow_sns_rules() {
        let ok = |attributes: Value| {
            check_attributes(attributes.as_object().expect("an object")).is_ok()
        };
        assert!(ok(json!({"a": {"DataType": "String", "StringValue": "x"}})));
        assert!(ok(
            json!({"a": {"DataType": "Number", "StringValue": "1.5"}})
        ));
        assert!(ok(
            json!({"a": {"DataType": "String.Array", "StringValue": "[\"x\", 1]"}})
        ));
        assert!(ok(
            json!({"a": {"DataType": "Binary", "BinaryValue": "eA=="}})
        ));
        assert!(!ok(
            json!({"a": {"DataType": "Number", "StringValue": "one"}})
        ));
        assert!(!ok(
            json!({"a": {"DataType": "String.Array", "StringValue": "x"}})
        ));
        assert!(!ok(json!({"a": {"DataType": "Text", "StringValue": "x"}})));
        assert!(!ok(
            json!({"AWS.x": {"DataType": "String", "StringValue": "x"}})
        ));
        assert!(!ok(
            json!({"a b": {"DataType": "String", "StringValue": "x"}})
        ));
    }

    #[test]
    fn structured_messages_pick_the_protocols_text() {
        let request = PublishRequest {
            message: json!({"default": "d", "lambda": "l"}).to_string(),
            structure: Some("json".into()),
            ..PublishRequest::default()
        };
        let texts = Texts::of(&request).expect("a structured message");
        assert_eq!(texts.for_protocol("function"), "l");
        assert_eq!(texts.for_protocol("sqs"), "d");
        let no_default = PublishRequest {
            message: json!({"sqs": "s"}).to_string(),
            structure: Some("json".into()),
            ..PublishRequest::default()
        };
        assert!(Texts::of(&no_default).is_err());
    }
}
