//! Topics with SNS semantics: a publish fans a message out to the topic's subscriptions (weir's
//! queues, functions run by the engine's task handler, and HTTP endpoints), each through its
//! filter policy, with retries and a dead-letter queue per subscription.
//!
//! # Design notes
//! - **Documents.** A topic is a document of kind `topic`, keyed by name; its ARN is
//!   `arn:aws:sns:REGION:ACCOUNT:NAME`. A subscription is a document of kind `subscription`,
//!   keyed by its ARN `TOPIC_ARN:UUID`, so a topic's subscriptions are the documents whose key
//!   starts with `TOPIC_ARN:` (topic names hold no `:`). Subscriptions are confirmed at once:
//!   weir sends no `SubscriptionConfirmation`.
//! - **Protocols.** `sqs` (a weir queue's ARN or URL; stored as its ARN), `lambda` and `function`
//!   (a function name or Lambda ARN, run by the engine's task handler as a Task with the
//!   resource `arn:aws:lambda:REGION:ACCOUNT:function:NAME` would be, with SNS's Lambda event),
//!   and `http` (an `http://` URL that gets a `POST` of the notification). FIFO topics take
//!   `sqs` subscriptions only, as SNS's do.
//! - **Delivery** (see `delivery`): a queue delivery is a store write made before `Publish`
//!   answers. Function and HTTP deliveries are messages of an internal store queue
//!   ([`DELIVERY_QUEUE`]) written before `Publish` answers too, and a background worker makes the
//!   attempts, so they survive a crash: an attempt cut short by a crash is made again when its
//!   lease (six minutes) ends, and a retry waiting for its delay waits on after a restart.
//!   Deliveries are therefore at least once; a crash in the middle of a publish may have
//!   delivered to some subscriptions and not yet to others, and the publisher, having no
//!   answer, publishes again.
//! - **Failures.** A failed function or HTTP attempt is tried again as the subscription's delivery
//!   policy says (`policy`; by default three retries after 1, 2 and 4 seconds); an HTTP status
//!   of 400 to 499 other than 429, an unknown function and a queue that cannot take the message
//!   are failures for good, tried no more. A delivery that failed for good goes to the
//!   subscription's dead-letter queue (`RedrivePolicy`) when it has one, and is dropped with a
//!   warning otherwise.
//! - **Filter policies** (`filter`): checked when set, matched at each publish.
//!
//! # What is not SNS
//! Notifications are not signed (`Signature`, `SigningCertURL` and `UnsubscribeURL` are
//! placeholders); FIFO topics deduplicate through their FIFO queues (a FIFO queue drops a repeated
//! `MessageDeduplicationId` for five minutes), and `Publish` answers no `SequenceNumber`;
//! access policies, encryption, archiving and tracing attributes are kept and not acted on.

pub(crate) mod delivery;
pub mod filter;
mod http;
pub(crate) mod integration;
pub mod policy;

pub use delivery::{DELIVERY_QUEUE, PublishRequest};
pub use filter::{FilterPolicy, Scope};
pub use policy::DeliveryPolicy;

use crate::documents;
use crate::engine::Engine;
use crate::error::Error;
use jiff::Timestamp;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{Notify, Semaphore};

/// The document kind of topics.
const TOPIC: &str = "topic";

/// The document kind of subscriptions.
const SUBSCRIPTION: &str = "subscription";

/// The topic attributes `CreateTopic` accepts.
const TOPIC_ATTRIBUTES: [&str; 10] = [
    "DisplayName",
    "Policy",
    "DeliveryPolicy",
    "FifoTopic",
    "ContentBasedDeduplication",
    "SignatureVersion",
    "TracingConfig",
    "KmsMasterKeyId",
    "ArchivePolicy",
    "FifoThroughputScope",
];

/// The subscription attributes `Subscribe` and `SetSubscriptionAttributes` accept.
pub const SUBSCRIPTION_ATTRIBUTES: [&str; 5] = [
    "RawMessageDelivery",
    "FilterPolicyScope",
    "FilterPolicy",
    "RedrivePolicy",
    "DeliveryPolicy",
];

/// The protocols weir delivers to.
pub const PROTOCOLS: [&str; 4] = ["sqs", "lambda", "function", "http"];

/// A topic, as `GetTopicAttributes` and `ListTopics` see it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicRecord {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Whether it is a FIFO topic (its name ends with `.fifo`).
    pub fifo: bool,
    /// The attributes set on it.
    pub attributes: BTreeMap<String, String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// When it was created.
    pub created: Timestamp,
}

impl TopicRecord {
    /// The delivery policy its subscriptions without their own follow.
    pub fn delivery_policy(&self) -> DeliveryPolicy {
        self.attributes
            .get("DeliveryPolicy")
            .and_then(|text| DeliveryPolicy::parse_topic(text).ok())
            .unwrap_or_default()
    }
}

/// A subscription, as `GetSubscriptionAttributes` and `ListSubscriptions` see it.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionRecord {
    /// Its ARN (`TOPIC_ARN:UUID`).
    pub arn: String,
    /// Its topic's ARN.
    pub topic_arn: String,
    /// `sqs`, `lambda`, `function` or `http`.
    pub protocol: String,
    /// Where deliveries go: a queue ARN, a function name or ARN, a URL.
    pub endpoint: String,
    /// The attributes set on it (`RawMessageDelivery`, `FilterPolicy`, `FilterPolicyScope`,
    /// `RedrivePolicy`, `DeliveryPolicy`).
    pub attributes: BTreeMap<String, String>,
    /// When it was made.
    pub created: Timestamp,
}

impl SubscriptionRecord {
    /// Whether messages go out as published, without the SNS envelope.
    pub fn raw(&self) -> bool {
        self.attributes
            .get("RawMessageDelivery")
            .is_some_and(|v| v == "true")
    }

    /// Where its filter policy looks.
    pub fn scope(&self) -> Scope {
        self.attributes
            .get("FilterPolicyScope")
            .and_then(|s| Scope::parse(s))
            .unwrap_or_default()
    }

    /// Its filter policy, if it has one (checked when it was set).
    pub fn filter_policy(&self) -> Option<FilterPolicy> {
        self.attributes
            .get("FilterPolicy")
            .and_then(|text| FilterPolicy::parse(text, self.scope()).ok())
    }

    /// The name of its dead-letter queue, if it has one.
    pub fn dead_letter_queue(&self) -> Option<String> {
        self.attributes
            .get("RedrivePolicy")
            .and_then(|text| policy::dead_letter_queue(text).ok())
    }

    /// Its own delivery policy, if it has one.
    pub fn delivery_policy(&self) -> Option<DeliveryPolicy> {
        self.attributes
            .get("DeliveryPolicy")
            .and_then(|text| DeliveryPolicy::parse_subscription(text).ok())
    }
}

/// The topics' in-memory state: what wakes the delivery worker, and the slots that bound its
/// attempts in flight.
pub(crate) struct Topics {
    wake: Arc<Notify>,
    slots: Arc<Semaphore>,
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            wake: Arc::new(Notify::new()),
            slots: Arc::new(Semaphore::new(delivery::MAX_ATTEMPTS_IN_FLIGHT)),
        }
    }
}

/// `NotFound`, as SNS words it for `what` (`Topic`, `Subscription`).
fn not_found(what: &str) -> Error {
    Error::NotAllowed {
        code: "NotFound",
        message: format!("{what} does not exist"),
    }
}

/// `InvalidParameter`: `detail` starts with the parameter's name.
fn invalid(detail: impl std::fmt::Display) -> Error {
    Error::NotAllowed {
        code: "InvalidParameter",
        message: format!("Invalid parameter: {detail}"),
    }
}

/// A problem already worded `Invalid parameter: ...`.
fn invalid_worded(message: String) -> Error {
    Error::NotAllowed {
        code: "InvalidParameter",
        message,
    }
}

/// Checks a topic name: 1 to 256 letters, digits, hyphens and underscores (a FIFO topic's with
/// `.fifo` after them); whether it names a FIFO topic.
fn check_topic_name(name: &str) -> Result<bool, Error> {
    crate::names::fifo_name(name, 256).ok_or_else(|| {
        invalid(
            "Topic Name: topic names must be made up of only uppercase and lowercase ASCII \
             letters, numbers, underscores, and hyphens (a FIFO topic's followed by .fifo), and \
             must be between 1 and 256 characters long",
        )
    })
}

/// A boolean attribute's value, written `true` or `false`.
fn boolean(name: &str, value: &str) -> Result<String, Error> {
    match value.to_ascii_lowercase().as_str() {
        flag @ ("true" | "false") => Ok(flag.to_string()),
        _ => Err(invalid(format!(
            "Attributes Reason: {name} must be true or false, not {value}"
        ))),
    }
}

/// Checks topic attributes for a new topic; the attributes to store.
fn check_topic_attributes(
    attributes: &BTreeMap<String, String>,
    fifo: bool,
) -> Result<BTreeMap<String, String>, Error> {
    let mut checked = BTreeMap::new();
    for (name, value) in attributes {
        let value = match name.as_str() {
            "FifoTopic" | "ContentBasedDeduplication" => boolean(name, value)?,
            "DeliveryPolicy" => {
                DeliveryPolicy::parse_topic(value).map_err(invalid_worded)?;
                value.clone()
            }
            "DisplayName" if value.chars().count() > 100 => {
                return Err(invalid(
                    "Attributes Reason: DisplayName must be at most 100 characters",
                ));
            }
            known if TOPIC_ATTRIBUTES.contains(&known) => value.clone(),
            other => {
                return Err(invalid(format!(
                    "Attributes Reason: Unknown attribute {other}; topics take {}",
                    TOPIC_ATTRIBUTES.join(", ")
                )));
            }
        };
        checked.insert(name.clone(), value);
    }
    match checked.get("FifoTopic").map(String::as_str) {
        Some("true") if !fifo => {
            return Err(invalid(
                "Topic Name: Fifo Topic names must end with .fifo and must be made up of only \
                 uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and \
                 must be between 1 and 256 characters long.",
            ));
        }
        Some("false") if fifo => {
            return Err(invalid(
                "Topic Name: a topic whose name ends with .fifo is a FIFO topic",
            ));
        }
        _ if fifo => {
            checked.insert("FifoTopic".to_string(), "true".to_string());
        }
        _ => {}
    }
    if !fifo && checked.contains_key("ContentBasedDeduplication") {
        return Err(invalid(
            "Attributes Reason: ContentBasedDeduplication applies to FIFO topics only",
        ));
    }
    Ok(checked)
}

/// Sets one subscription attribute in `attributes`, checked as SNS checks it (a filter policy
/// against the scope in force); an empty value removes a policy.
fn set_subscription_attribute(
    attributes: &mut BTreeMap<String, String>,
    name: &str,
    value: &str,
) -> Result<(), Error> {
    let scope = |attributes: &BTreeMap<String, String>| {
        attributes
            .get("FilterPolicyScope")
            .and_then(|s| Scope::parse(s))
            .unwrap_or_default()
    };
    let value = match name {
        "RawMessageDelivery" => boolean(name, value)?,
        "FilterPolicyScope" => {
            let scope = Scope::parse(value).ok_or_else(|| {
                invalid(format!(
                    "Attributes Reason: FilterPolicyScope must be MessageAttributes or \
                     MessageBody, not {value}"
                ))
            })?;
            if let Some(policy) = attributes.get("FilterPolicy") {
                FilterPolicy::parse(policy, scope).map_err(invalid_worded)?;
            }
            value.to_string()
        }
        "FilterPolicy" | "RedrivePolicy" | "DeliveryPolicy" if value.is_empty() => {
            attributes.remove(name);
            return Ok(());
        }
        "FilterPolicy" => {
            FilterPolicy::parse(value, scope(attributes)).map_err(invalid_worded)?;
            value.to_string()
        }
        "RedrivePolicy" => {
            policy::dead_letter_queue(value).map_err(invalid_worded)?;
            value.to_string()
        }
        "DeliveryPolicy" => {
            DeliveryPolicy::parse_subscription(value).map_err(invalid_worded)?;
            value.to_string()
        }
        other => {
            return Err(invalid(format!(
                "AttributeName: {other} is not a subscription attribute weir sets; it sets {}",
                SUBSCRIPTION_ATTRIBUTES.join(", ")
            )));
        }
    };
    attributes.insert(name.to_string(), value);
    Ok(())
}

impl Engine {
    /// The ARN of the topic called `name`.
    pub fn topic_arn(&self, name: &str) -> String {
        let options = self.options();
        format!("arn:aws:sns:{}:{}:{name}", options.region, options.account)
    }

    /// The name of the topic `arn` names: `InvalidParameter` for a malformed ARN, `NotFound` for
    /// another region's or account's topic.
    fn topic_name<'a>(&self, arn: &'a str) -> Result<&'a str, Error> {
        match arn.split(':').collect::<Vec<_>>().as_slice() {
            ["arn", _, "sns", region, account, name] if !name.is_empty() => {
                let options = self.options();
                if *region == options.region && *account == options.account {
                    Ok(name)
                } else {
                    Err(not_found("Topic"))
                }
            }
            _ => Err(invalid(format!("TopicArn: {arn} is not a topic ARN"))),
        }
    }

    /// Creates a topic; creating one that exists with the same attributes returns it, as SNS
    /// does, and with different ones fails.
    pub async fn create_topic(
        &self,
        name: &str,
        attributes: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<TopicRecord, Error> {
        let fifo = check_topic_name(name)?;
        let checked = check_topic_attributes(attributes, fifo)?;
        if tags.len() > 50 {
            return Err(invalid("Tags: a topic may have at most 50 tags"));
        }
        let existing = |found: TopicRecord| {
            if found.attributes == checked {
                Ok(found)
            } else {
                Err(invalid(
                    "Attributes Reason: Topic already exists with different attributes",
                ))
            }
        };
        if let Some(found) = self.find_topic(name).await? {
            return existing(found);
        }
        let record = TopicRecord {
            name: name.to_string(),
            arn: self.topic_arn(name),
            fifo,
            attributes: checked.clone(),
            tags: tags.clone(),
            created: self.clock().now(),
        };
        let body = documents::labelled_body(&record.attributes, &record.tags, record.created, None);
        match self.store().put_document(TOPIC, name, body, None).await {
            Ok(_) => Ok(record),
            Err(store::Error::AlreadyExists { .. }) => match self.find_topic(name).await? {
                Some(found) => existing(found),
                None => Err(not_found("Topic")),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// The topic `arn` names.
    pub async fn get_topic(&self, arn: &str) -> Result<TopicRecord, Error> {
        let name = self.topic_name(arn)?;
        self.find_topic(name)
            .await?
            .ok_or_else(|| not_found("Topic"))
    }

    async fn find_topic(&self, name: &str) -> Result<Option<TopicRecord>, Error> {
        let Some(document) = self.store().get_document(TOPIC, name).await? else {
            return Ok(None);
        };
        self.read_topic(name, &document.body).map(Some)
    }

    fn read_topic(&self, name: &str, text: &str) -> Result<TopicRecord, Error> {
        let value = documents::parse("topic", name, text)?;
        Ok(TopicRecord {
            name: name.to_string(),
            arn: self.topic_arn(name),
            fifo: name.ends_with(".fifo"),
            attributes: documents::strings(&value["attributes"]),
            tags: documents::strings(&value["tags"]),
            created: created(&value, "topic", name)?,
        })
    }

    /// Every topic, by name.
    pub async fn list_topics(&self) -> Result<Vec<TopicRecord>, Error> {
        self.store()
            .list_documents(TOPIC, "")
            .await?
            .iter()
            .map(|d| self.read_topic(&d.key, &d.body))
            .collect()
    }

    /// A topic's attributes as `GetTopicAttributes` answers them: those set, and SNS's
    /// computed ones (`TopicArn`, `Owner`, `SubscriptionsConfirmed`, ...).
    pub async fn topic_attributes(&self, arn: &str) -> Result<BTreeMap<String, String>, Error> {
        let topic = self.get_topic(arn).await?;
        let subscriptions = self.list_subscriptions(Some(arn)).await?;
        let account = self.options().account.clone();
        let mut out = topic.attributes.clone();
        out.insert("TopicArn".into(), topic.arn.clone());
        out.insert("Owner".into(), account.clone());
        out.entry("DisplayName".into()).or_default();
        out.entry("Policy".into()).or_insert_with(|| {
            json!({
                "Version": "2008-10-17",
                "Id": "__default_policy_ID",
                "Statement": [{
                    "Sid": "__default_statement_ID",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes",
                        "SNS:AddPermission", "SNS:RemovePermission", "SNS:DeleteTopic",
                        "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"],
                    "Resource": topic.arn,
                    "Condition": {"StringEquals": {"AWS:SourceOwner": account}},
                }],
            })
            .to_string()
        });
        out.insert(
            "SubscriptionsConfirmed".into(),
            subscriptions.len().to_string(),
        );
        out.insert("SubscriptionsPending".into(), "0".into());
        out.insert("SubscriptionsDeleted".into(), "0".into());
        out.insert(
            "EffectiveDeliveryPolicy".into(),
            json!({"http": {"defaultHealthyRetryPolicy":
                topic.delivery_policy().to_json()["healthyRetryPolicy"]}})
            .to_string(),
        );
        if topic.fifo {
            out.entry("ContentBasedDeduplication".into())
                .or_insert_with(|| "false".into());
        }
        Ok(out)
    }

    /// Changes one attribute of a topic (`SetTopicAttributes`), checked as at creation;
    /// `FifoTopic` cannot change.
    pub async fn set_topic_attribute(
        &self,
        arn: &str,
        name: &str,
        value: &str,
    ) -> Result<TopicRecord, Error> {
        if name == "FifoTopic" {
            return Err(invalid(
                "AttributeName: FifoTopic is set when a topic is created and cannot change",
            ));
        }
        self.edit_topic(arn, |record| {
            let mut attributes = record.attributes.clone();
            attributes.insert(name.to_string(), value.to_string());
            record.attributes = check_topic_attributes(&attributes, record.fifo)?;
            Ok(())
        })
        .await
    }

    /// Adds (or replaces) `add` and removes `remove` among a topic's tags (`TagResource`,
    /// `UntagResource`); at most 50 tags.
    pub async fn tag_topic(
        &self,
        arn: &str,
        add: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<TopicRecord, Error> {
        self.edit_topic(arn, |record| {
            let mut tags = record.tags.clone();
            tags.extend(add.iter().map(|(k, v)| (k.clone(), v.clone())));
            for key in remove {
                tags.remove(key);
            }
            if tags.len() > 50 {
                return Err(invalid("Tags: a topic may have at most 50 tags"));
            }
            record.tags = tags;
            Ok(())
        })
        .await
    }

    /// Reads a topic, lets `change` edit it, and writes it back (again, when another writer
    /// changed it meanwhile).
    async fn edit_topic(
        &self,
        arn: &str,
        change: impl Fn(&mut TopicRecord) -> Result<(), Error>,
    ) -> Result<TopicRecord, Error> {
        let name = self.topic_name(arn)?;
        let codec = documents::Codec {
            kind: TOPIC,
            read: |text: &str| self.read_topic(name, text),
            write: |record: &TopicRecord| {
                documents::labelled_body(&record.attributes, &record.tags, record.created, None)
            },
        };
        documents::edit(
            self.store().as_ref(),
            &codec,
            name,
            || not_found("Topic"),
            change,
        )
        .await
    }

    /// Deletes a topic and its subscriptions; deleting one that does not exist does nothing, as
    /// on SNS. Deliveries of its messages not yet made are dropped.
    pub async fn delete_topic(&self, arn: &str) -> Result<(), Error> {
        let name = self.topic_name(arn)?;
        for subscription in self.subscriptions_of(arn).await? {
            self.store()
                .delete_document(SUBSCRIPTION, &subscription.arn)
                .await?;
        }
        self.store().delete_document(TOPIC, name).await?;
        Ok(())
    }

    /// Subscribes an endpoint to a topic; subscribing the same endpoint again with the same
    /// attributes returns the existing subscription, as SNS does.
    pub async fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<SubscriptionRecord, Error> {
        let topic = self.get_topic(topic_arn).await?;
        if !PROTOCOLS.contains(&protocol) {
            return Err(invalid(format!(
                "Protocol: weir does not support the protocol {protocol}; it delivers to {}",
                PROTOCOLS.join(", ")
            )));
        }
        if topic.fifo && protocol != "sqs" {
            return Err(invalid(format!(
                "Invalid protocol type: {protocol}: FIFO topics deliver to sqs endpoints only"
            )));
        }
        let endpoint = self.check_endpoint(protocol, endpoint).await?;
        if protocol == "sqs" && !topic.fifo && endpoint.ends_with(".fifo") {
            return Err(invalid(format!(
                "Endpoint: a standard topic cannot deliver to the FIFO queue {endpoint}"
            )));
        }
        let mut checked = BTreeMap::new();
        // The scope first, so the filter policy is checked against it.
        let mut ordered: Vec<(&String, &String)> = attributes.iter().collect();
        ordered.sort_by_key(|(name, _)| name.as_str() != "FilterPolicyScope");
        for (name, value) in ordered {
            set_subscription_attribute(&mut checked, name, value)?;
        }
        self.check_dead_letter_queue(&checked).await?;
        let subscriptions = self.subscriptions_of(&topic.arn).await?;
        if let Some(found) = subscriptions
            .into_iter()
            .find(|s| s.protocol == protocol && s.endpoint == endpoint)
        {
            return if found.attributes == checked {
                Ok(found)
            } else {
                Err(invalid(
                    "Attributes: Subscription already exists with different attributes",
                ))
            };
        }
        let record = SubscriptionRecord {
            arn: format!("{}:{}", topic.arn, uuid::Uuid::new_v4()),
            topic_arn: topic.arn,
            protocol: protocol.to_string(),
            endpoint,
            attributes: checked,
            created: self.clock().now(),
        };
        self.store()
            .put_document(SUBSCRIPTION, &record.arn, subscription_body(&record), None)
            .await?;
        Ok(record)
    }

    /// Checks a subscription's endpoint for its protocol; the endpoint to store.
    async fn check_endpoint(&self, protocol: &str, endpoint: &str) -> Result<String, Error> {
        match protocol {
            "sqs" => {
                let name = endpoint.trim_end_matches('/').rsplit(['/', ':']).next();
                let queue = match name {
                    Some(name) if !name.is_empty() => self.find_queue(name).await?,
                    _ => None,
                };
                match queue {
                    Some(queue) => Ok(queue.arn),
                    None => Err(invalid(format!(
                        "Endpoint: {endpoint} is not the ARN or URL of one of weir's queues"
                    ))),
                }
            }
            "http" => {
                http::split_url(endpoint)
                    .map_err(|why| invalid(format!("Endpoint: {endpoint}: {why}")))?;
                Ok(endpoint.to_string())
            }
            _ => {
                let resource = delivery::function_arn(self, endpoint).ok_or_else(|| {
                    invalid(format!(
                        "Endpoint: {endpoint} is not a function name or Lambda function ARN"
                    ))
                })?;
                if self.tasks().supports(&resource) {
                    Ok(endpoint.to_string())
                } else {
                    Err(invalid(format!(
                        "Endpoint: this engine runs no function {resource}"
                    )))
                }
            }
        }
    }

    /// Refuses a redrive policy whose dead-letter queue does not exist.
    async fn check_dead_letter_queue(
        &self,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let Some(text) = attributes.get("RedrivePolicy") else {
            return Ok(());
        };
        let queue = policy::dead_letter_queue(text).map_err(invalid_worded)?;
        match self.find_queue(&queue).await? {
            Some(_) => Ok(()),
            None => Err(invalid(format!(
                "RedrivePolicy: the dead-letter queue {queue} does not exist"
            ))),
        }
    }

    /// Removes a subscription; deliveries for it not yet made are dropped.
    pub async fn unsubscribe(&self, arn: &str) -> Result<(), Error> {
        if self.store().delete_document(SUBSCRIPTION, arn).await? {
            Ok(())
        } else {
            Err(not_found("Subscription"))
        }
    }

    /// One subscription.
    pub async fn get_subscription(&self, arn: &str) -> Result<SubscriptionRecord, Error> {
        self.find_subscription(arn)
            .await?
            .ok_or_else(|| not_found("Subscription"))
    }

    pub(crate) async fn find_subscription(
        &self,
        arn: &str,
    ) -> Result<Option<SubscriptionRecord>, Error> {
        let Some(document) = self.store().get_document(SUBSCRIPTION, arn).await? else {
            return Ok(None);
        };
        read_subscription(arn, &document.body).map(Some)
    }

    /// The subscriptions of one topic (which must exist), or of every topic, by ARN.
    pub async fn list_subscriptions(
        &self,
        topic_arn: Option<&str>,
    ) -> Result<Vec<SubscriptionRecord>, Error> {
        match topic_arn {
            Some(arn) => {
                self.get_topic(arn).await?;
                self.subscriptions_of(arn).await
            }
            None => self
                .store()
                .list_documents(SUBSCRIPTION, "")
                .await?
                .iter()
                .map(|d| read_subscription(&d.key, &d.body))
                .collect(),
        }
    }

    pub(crate) async fn subscriptions_of(
        &self,
        topic_arn: &str,
    ) -> Result<Vec<SubscriptionRecord>, Error> {
        self.store()
            .list_documents(SUBSCRIPTION, &format!("{topic_arn}:"))
            .await?
            .iter()
            .map(|d| read_subscription(&d.key, &d.body))
            .collect()
    }

    /// Sets one attribute of a subscription (`SetSubscriptionAttributes`); an empty
    /// `FilterPolicy`, `RedrivePolicy` or `DeliveryPolicy` removes it.
    pub async fn set_subscription_attribute(
        &self,
        arn: &str,
        name: &str,
        value: &str,
    ) -> Result<SubscriptionRecord, Error> {
        loop {
            let Some(document) = self.store().get_document(SUBSCRIPTION, arn).await? else {
                return Err(not_found("Subscription"));
            };
            let mut record = read_subscription(arn, &document.body)?;
            set_subscription_attribute(&mut record.attributes, name, value)?;
            self.check_dead_letter_queue(&record.attributes).await?;
            match self
                .store()
                .put_document(
                    SUBSCRIPTION,
                    arn,
                    subscription_body(&record),
                    Some(document.version),
                )
                .await
            {
                Ok(_) => return Ok(record),
                Err(store::Error::Conflict { .. }) => continue,
                Err(store::Error::NotFound { .. }) => return Err(not_found("Subscription")),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A subscription's attributes as `GetSubscriptionAttributes` answers them.
    pub async fn subscription_attributes(
        &self,
        arn: &str,
    ) -> Result<BTreeMap<String, String>, Error> {
        let subscription = self.get_subscription(arn).await?;
        let policy = self.effective_delivery_policy(&subscription).await?;
        let mut out = subscription.attributes.clone();
        out.insert("SubscriptionArn".into(), subscription.arn.clone());
        out.insert("TopicArn".into(), subscription.topic_arn.clone());
        out.insert("Protocol".into(), subscription.protocol.clone());
        out.insert("Endpoint".into(), subscription.endpoint.clone());
        out.insert("Owner".into(), self.options().account.clone());
        out.insert("ConfirmationWasAuthenticated".into(), "true".into());
        out.insert("PendingConfirmation".into(), "false".into());
        out.entry("RawMessageDelivery".into())
            .or_insert_with(|| "false".into());
        out.insert(
            "EffectiveDeliveryPolicy".into(),
            policy.to_json().to_string(),
        );
        Ok(out)
    }

    /// The delivery policy a subscription's failed deliveries follow: its own, else its topic's,
    /// else SNS's default.
    pub(crate) async fn effective_delivery_policy(
        &self,
        subscription: &SubscriptionRecord,
    ) -> Result<DeliveryPolicy, Error> {
        if let Some(policy) = subscription.delivery_policy() {
            return Ok(policy);
        }
        let topic = match self.topic_name(&subscription.topic_arn) {
            Ok(name) => self.find_topic(name).await?,
            Err(_) => None,
        };
        Ok(topic.map(|t| t.delivery_policy()).unwrap_or_default())
    }
}

fn subscription_body(record: &SubscriptionRecord) -> String {
    json!({
        "topic": record.topic_arn,
        "protocol": record.protocol,
        "endpoint": record.endpoint,
        "attributes": record.attributes,
        "created": record.created.to_string(),
    })
    .to_string()
}

fn read_subscription(arn: &str, text: &str) -> Result<SubscriptionRecord, Error> {
    let value = documents::parse("subscription", arn, text)?;
    let text_of = |key: &str| value[key].as_str().unwrap_or_default().to_string();
    Ok(SubscriptionRecord {
        arn: arn.to_string(),
        topic_arn: text_of("topic"),
        protocol: text_of("protocol"),
        endpoint: text_of("endpoint"),
        attributes: documents::strings(&value["attributes"]),
        created: created(&value, "subscription", arn)?,
    })
}

/// When the stored `what` keyed `key` was created.
fn created(value: &Value, what: &str, key: &str) -> Result<Timestamp, Error> {
    documents::timestamp(value, "created")
        .ok_or_else(|| documents::corrupt(what, key, "no creation time"))
}
