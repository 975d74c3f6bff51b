//! weir's own operations on topics (SNS semantics, see the engine's `topics`), on the same JSON
//! 1.0 endpoint under the target prefix `Weir.` (`X-Amz-Target: Weir.CreateTopic`).
//!
//! | Operation | Request members | Answer |
//! | --- | --- | --- |
//! | `CreateTopic` | `name`, optional `attributes` and `tags` (objects of strings) | the topic |
//! | `GetTopicAttributes` | `topicArn` | the topic, with every attribute SNS reports |
//! | `SetTopicAttributes` | `topicArn`, `attributeName`, `attributeValue` | the topic |
//! | `TagResource`, `UntagResource`, `ListTagsForResource` | `resourceArn` (a topic ARN), `tags` (an object of strings) or `tagKeys` | `{"tags"}` |
//! | `ListTopics` | none | `{"topics": [topic, ...]}` by name |
//! | `DeleteTopic` | `topicArn` | `{}` (also when there was no such topic, as on SNS) |
//! | `Subscribe` | `topicArn`, `protocol` (`sqs`, `lambda`, `function`, `http`), `endpoint`, optional `attributes` | the subscription |
//! | `GetSubscriptionAttributes` | `subscriptionArn` | the subscription, with every attribute SNS reports |
//! | `SetSubscriptionAttributes` | `subscriptionArn`, `attributeName`, `attributeValue` | the subscription |
//! | `ListSubscriptions` | none | `{"subscriptions": [subscription, ...]}` by ARN |
//! | `ListSubscriptionsByTopic` | `topicArn` | likewise, for one topic |
//! | `Unsubscribe` | `subscriptionArn` | `{}` |
//! | `Publish` | `topicArn`, `message`, optional `subject`, `messageAttributes` (`{"name": {"dataType", "stringValue" \| "binaryValue"}}`), `messageStructure`, `messageGroupId`, `messageDeduplicationId` | `{"messageId"}` |
//!
//! `topicArn` takes a topic's ARN or its bare name. Attribute names and values are SNS's
//! (`RawMessageDelivery`, `FilterPolicy`, `FilterPolicyScope`, `RedrivePolicy`,
//! `DeliveryPolicy`; `DisplayName`, `FifoTopic`, ...). A topic: `name`, `topicArn`, `fifo`,
//! `subscriptions` (how many), `attributes`, `tags`, `creationDate` (epoch seconds). A
//! subscription: `subscriptionArn`, `topicArn`, `protocol`, `endpoint`, `attributes`,
//! `creationDate`.
//!
//! Errors: `NotFound` for a topic or subscription that does not exist, `InvalidParameter` for a
//! value SNS would refuse (the message names the parameter: `Invalid parameter: FilterPolicy:
//! ...`), `SerializationException` for a member of the wrong JSON type and
//! `ValidationException` for a missing one.

use crate::Api;
use crate::error::ApiError;
use crate::wire::{epoch, optional, required, string_map, wrong_type};
use engine::topics::{PublishRequest, SubscriptionRecord, TopicRecord};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};

/// The operations this module answers.
const OPERATIONS: [&str; 15] = [
    "CreateTopic",
    "GetTopicAttributes",
    "SetTopicAttributes",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "ListTopics",
    "DeleteTopic",
    "Subscribe",
    "GetSubscriptionAttributes",
    "SetSubscriptionAttributes",
    "ListSubscriptions",
    "ListSubscriptionsByTopic",
    "Unsubscribe",
    "Publish",
];

/// Whether `operation` (after `Weir.`) is one of the topic operations.
pub fn handles(operation: &str) -> bool {
    OPERATIONS.contains(&operation)
}

/// Runs one topic operation.
pub async fn call(api: &Api, operation: &str, input: &Value) -> Result<Value, ApiError> {
    let engine = &api.engine;
    match operation {
        "CreateTopic" => {
            let name = required(input, "name")?;
            let attributes = string_map(input, "attributes")?.unwrap_or_default();
            let tags = string_map(input, "tags")?.unwrap_or_default();
            let topic = engine.create_topic(name, &attributes, &tags).await?;
            Ok(topic_json(&topic, 0, &topic.attributes))
        }
        "GetTopicAttributes" => {
            let arn = topic_arn(api, input)?;
            let topic = engine.get_topic(&arn).await?;
            let attributes = engine.topic_attributes(&arn).await?;
            let count = attributes
                .get("SubscriptionsConfirmed")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            Ok(topic_json(&topic, count, &attributes))
        }
        "SetTopicAttributes" => {
            let arn = topic_arn(api, input)?;
            let name = required(input, "attributeName")?;
            let value = optional(input, "attributeValue")?.unwrap_or_default();
            let topic = engine.set_topic_attribute(&arn, name, value).await?;
            Ok(topic_json(&topic, 0, &topic.attributes))
        }
        "TagResource" | "UntagResource" | "ListTagsForResource" => {
            let arn = required(input, "resourceArn")?;
            let topic = match operation {
                "TagResource" => {
                    let tags = string_map(input, "tags")?.unwrap_or_default();
                    engine.tag_topic(arn, &tags, &[]).await?
                }
                "UntagResource" => {
                    let keys = crate::wire::string_list(input, "tagKeys")?.unwrap_or_default();
                    engine.tag_topic(arn, &BTreeMap::new(), &keys).await?
                }
                _ => engine.get_topic(arn).await?,
            };
            Ok(json!({ "tags": topic.tags }))
        }
        "ListTopics" => {
            let mut counts: HashMap<String, usize> = HashMap::new();
            for subscription in engine.list_subscriptions(None).await? {
                *counts.entry(subscription.topic_arn).or_default() += 1;
            }
            let topics: Vec<Value> = engine
                .list_topics()
                .await?
                .iter()
                .map(|t| topic_json(t, counts.get(&t.arn).copied().unwrap_or(0), &t.attributes))
                .collect();
            Ok(json!({ "topics": topics }))
        }
        "DeleteTopic" => {
            engine.delete_topic(&topic_arn(api, input)?).await?;
            Ok(json!({}))
        }
        "Subscribe" => {
            let arn = topic_arn(api, input)?;
            let protocol = required(input, "protocol")?;
            let endpoint = required(input, "endpoint")?;
            let attributes = string_map(input, "attributes")?.unwrap_or_default();
            let subscription = engine
                .subscribe(&arn, protocol, endpoint, &attributes)
                .await?;
            Ok(subscription_json(&subscription, &subscription.attributes))
        }
        "GetSubscriptionAttributes" => {
            let arn = required(input, "subscriptionArn")?;
            let subscription = engine.get_subscription(arn).await?;
            let attributes = engine.subscription_attributes(arn).await?;
            Ok(subscription_json(&subscription, &attributes))
        }
        "SetSubscriptionAttributes" => {
            let arn = required(input, "subscriptionArn")?;
            let name = required(input, "attributeName")?;
            let value = optional(input, "attributeValue")?.unwrap_or_default();
            let subscription = engine.set_subscription_attribute(arn, name, value).await?;
            Ok(subscription_json(&subscription, &subscription.attributes))
        }
        "ListSubscriptions" | "ListSubscriptionsByTopic" => {
            let topic = match operation {
                "ListSubscriptionsByTopic" => Some(topic_arn(api, input)?),
                _ => None,
            };
            let subscriptions: Vec<Value> = engine
                .list_subscriptions(topic.as_deref())
                .await?
                .iter()
                .map(|s| subscription_json(s, &s.attributes))
                .collect();
            Ok(json!({ "subscriptions": subscriptions }))
        }
        "Unsubscribe" => {
            engine
                .unsubscribe(required(input, "subscriptionArn")?)
                .await?;
            Ok(json!({}))
        }
        "Publish" => {
            let arn = topic_arn(api, input)?;
            let request = PublishRequest {
                message: required(input, "message")?.to_string(),
                subject: optional(input, "subject")?.map(str::to_string),
                attributes: message_attributes(input)?,
                structure: optional(input, "messageStructure")?.map(str::to_string),
                group_id: optional(input, "messageGroupId")?.map(str::to_string),
                dedup_id: optional(input, "messageDeduplicationId")?.map(str::to_string),
            };
            let message_id = engine.publish(&arn, &request).await?;
            Ok(json!({ "messageId": message_id }))
        }
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!("Unknown operation: Weir.{other}"),
        )),
    }
}

/// `topicArn`: a topic ARN, or a bare name made into this server's ARN for it.
fn topic_arn(api: &Api, input: &Value) -> Result<String, ApiError> {
    let given = required(input, "topicArn")?;
    Ok(if given.starts_with("arn:") {
        given.to_string()
    } else {
        api.engine.topic_arn(given)
    })
}

/// `messageAttributes` in the engine's (SNS's) shape:
/// `{"name": {"DataType", "StringValue" | "BinaryValue"}}`.
fn message_attributes(input: &Value) -> Result<Map<String, Value>, ApiError> {
    let member = "messageAttributes";
    let attributes = match input.get(member) {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::Object(attributes)) => attributes,
        Some(other) => return Err(wrong_type(member, "an object", other)),
    };
    let mut out = Map::new();
    for (name, attribute) in attributes {
        let path = format!("{member}.{name}");
        let Value::Object(_) = attribute else {
            return Err(wrong_type(&path, "an object", attribute));
        };
        let text = |key: &str| match attribute.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(other) => Err(wrong_type(&format!("{path}.{key}"), "a string", other)),
        };
        let Some(data_type) = text("dataType")? else {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value null at '{path}.dataType' failed to satisfy \
                 constraint: Member must not be null"
            )));
        };
        let mut converted = Map::new();
        converted.insert("DataType".into(), json!(data_type));
        for (from, to) in [
            ("stringValue", "StringValue"),
            ("binaryValue", "BinaryValue"),
        ] {
            if let Some(value) = text(from)? {
                converted.insert(to.into(), json!(value));
            }
        }
        out.insert(name.clone(), Value::Object(converted));
    }
    Ok(out)
}

fn topic_json(
    topic: &TopicRecord,
    subscriptions: usize,
    attributes: &BTreeMap<String, String>,
) -> Value {
    json!({
        "name": topic.name,
        "topicArn": topic.arn,
        "fifo": topic.fifo,
        "subscriptions": subscriptions,
        "attributes": attributes,
        "tags": topic.tags,
        "creationDate": epoch(topic.created),
    })
}

fn subscription_json(
    subscription: &SubscriptionRecord,
    attributes: &BTreeMap<String, String>,
) -> Value {
    json!({
        "subscriptionArn": subscription.arn,
        "topicArn": subscription.topic_arn,
        "protocol": subscription.protocol,
        "endpoint": subscription.endpoint,
        "attributes": attributes,
        "creationDate": epoch(subscription.created),
    })
}
