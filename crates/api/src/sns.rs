//! SNS's query protocol, as boto3's `sns` client and the AWS CLI speak it: a form-encoded `POST /`
//! with `Action=...&Version=2010-03-31`, answered in XML. Each action is translated to the
//! matching `Weir.` topic operation (see `topics`), so both APIs share one implementation and
//! one set of checks.
//!
//! | Action | Parameters | Result |
//! | --- | --- | --- |
//! | `CreateTopic` | `Name`, `Attributes.entry.N.key/value`, `Tags.member.N.Key/Value` | `TopicArn` |
//! | `DeleteTopic` | `TopicArn` | |
//! | `ListTopics` | (`NextToken` ignored: one page) | `Topics.member.N.TopicArn` |
//! | `GetTopicAttributes` | `TopicArn` | `Attributes` |
//! | `SetTopicAttributes` | `TopicArn`, `AttributeName`, `AttributeValue` | |
//! | `TagResource`, `UntagResource`, `ListTagsForResource` | `ResourceArn`, `Tags.member.N.Key/Value` or `TagKeys.member.N` | (`Tags.member.N`) |
//! | `Subscribe` | `TopicArn`, `Protocol`, `Endpoint`, `Attributes.entry.N` | `SubscriptionArn` |
//! | `Unsubscribe` | `SubscriptionArn` | |
//! | `ListSubscriptions`, `ListSubscriptionsByTopic` | (`TopicArn`) | `Subscriptions.member.N` |
//! | `GetSubscriptionAttributes` | `SubscriptionArn` | `Attributes` |
//! | `SetSubscriptionAttributes` | `SubscriptionArn`, `AttributeName`, `AttributeValue` | |
//! | `Publish` | `TopicArn` (or `TargetArn`), `Message`, `Subject`, `MessageStructure`, `MessageGroupId`, `MessageDeduplicationId`, `MessageAttributes.entry.N.Name/Value.DataType/Value.StringValue/Value.BinaryValue` | `MessageId` |
//! | `PublishBatch` | `TopicArn`, `PublishBatchRequestEntries.member.N.Id/Message/...` (up to 10) | `Successful`, `Failed` |
//!
//! Errors come as SNS's `ErrorResponse` (`Sender` type, SNS's codes: `NotFound`,
//! `InvalidParameter`, ...), so the SDKs raise their modelled exceptions
//! (`sns.exceptions.NotFoundException`). Other actions answer `InvalidAction`.

use crate::Api;
use crate::error::ApiError;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// SNS's API version, the `Version` every request carries.
pub const VERSION: &str = "2010-03-31";

/// The XML namespace of SNS's answers.
const NAMESPACE: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

/// The most entries `PublishBatch` takes.
const MAX_BATCH: usize = 10;

/// Whether a request is in SNS's query protocol: form-encoded with SNS's `Version`.
pub fn is_sns(content_type: Option<&str>, params: &[(String, String)]) -> bool {
    content_type.is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
        && params.iter().any(|(k, v)| k == "Version" && v == VERSION)
}

/// Decodes an `application/x-www-form-urlencoded` body into its pairs, in order.
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    fn decode(text: &[u8]) -> String {
        let mut out = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            match text[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < text.len() => {
                    let hex = std::str::from_utf8(&text[i + 1..i + 3])
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    match hex {
                        Some(byte) => {
                            out.push(byte);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                other => out.push(other),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, |b| *b == b'=');
            let key = decode(parts.next().unwrap_or_default());
            let value = decode(parts.next().unwrap_or_default());
            (key, value)
        })
        .collect()
}

/// The request's parameters by name.
struct Params(BTreeMap<String, String>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The members of a list parameter (`PREFIX.N.FIELD`), in index order, each as its fields.
    fn list(&self, prefix: &str) -> Vec<BTreeMap<String, String>> {
        let mut items: BTreeMap<u64, BTreeMap<String, String>> = BTreeMap::new();
        let lead = format!("{prefix}.");
        for (key, value) in &self.0 {
            let Some(rest) = key.strip_prefix(&lead) else {
                continue;
            };
            let (index, field) = rest.split_once('.').unwrap_or((rest, ""));
            if let Ok(index) = index.parse::<u64>() {
                items
                    .entry(index)
                    .or_default()
                    .insert(field.to_string(), value.clone());
            }
        }
        items.into_values().collect()
    }

    /// A map parameter (`PREFIX.entry.N.key` / `.value`, or other field names).
    fn map(&self, prefix: &str, key: &str, value: &str) -> Map<String, Value> {
        self.list(prefix)
            .into_iter()
            .filter_map(|mut item| {
                let k = item.remove(key)?;
                Some((k, json!(item.remove(value).unwrap_or_default())))
            })
            .collect()
    }

    /// `MessageAttributes` in the `Weir.Publish` shape.
    fn message_attributes(&self, prefix: &str) -> Map<String, Value> {
        self.list(prefix)
            .into_iter()
            .filter_map(|item| {
                let name = item.get("Name")?.clone();
                let mut attribute = Map::new();
                for (from, to) in [
                    ("Value.DataType", "dataType"),
                    ("Value.StringValue", "stringValue"),
                    ("Value.BinaryValue", "binaryValue"),
                ] {
                    if let Some(v) = item.get(from) {
                        attribute.insert(to.into(), json!(v));
                    }
                }
                Some((name, Value::Object(attribute)))
            })
            .collect()
    }
}

/// Runs one SNS action and answers it in XML.
pub async fn handle(api: &Api, pairs: Vec<(String, String)>) -> Response {
    let params = Params(pairs.into_iter().collect());
    let action = params.get("Action").unwrap_or_default().to_string();
    match run(api, &action, &params).await {
        Ok(result) => xml(StatusCode::OK, &answer(&action, &result)),
        Err(error) => error_response(&error),
    }
}

/// The `Weir.Publish` input of a publish from its SNS parameters: those of the request for
/// `Publish`, an entry's for `PublishBatch`.
fn publish_input(topic: &str, fields: &BTreeMap<String, String>) -> Value {
    let mut input = json!({"topicArn": topic});
    for (from, to) in [
        ("Message", "message"),
        ("Subject", "subject"),
        ("MessageStructure", "messageStructure"),
        ("MessageGroupId", "messageGroupId"),
        ("MessageDeduplicationId", "messageDeduplicationId"),
    ] {
        if let Some(v) = fields.get(from) {
            input[to] = json!(v);
        }
    }
    let attributes = Params(fields.clone()).message_attributes("MessageAttributes.entry");
    input["messageAttributes"] = Value::Object(attributes);
    input
}

/// The result elements of one action, as XML text (inside `<ActionResult>`).
async fn run(api: &Api, action: &str, params: &Params) -> Result<String, ApiError> {
    let call = |operation: &'static str, input: Value| async move {
        crate::topics::call(api, operation, &input).await
    };
    let required = |name: &str| {
        params.get(name).map(str::to_string).ok_or_else(|| {
            ApiError::new(
                "InvalidParameter",
                format!("Invalid parameter: {name}: the parameter is required"),
            )
        })
    };
    Ok(match action {
        "CreateTopic" => {
            let input = json!({
                "name": required("Name")?,
                "attributes": params.map("Attributes.entry", "key", "value"),
                "tags": params.map("Tags.member", "Key", "Value"),
            });
            let topic = call("CreateTopic", input).await?;
            element("TopicArn", text(&topic["topicArn"]))
        }
        "DeleteTopic" => {
            call("DeleteTopic", json!({"topicArn": required("TopicArn")?})).await?;
            String::new()
        }
        "ListTopics" => {
            let listed = call("ListTopics", json!({})).await?;
            let members: String = listed["topics"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| element("member", element("TopicArn", text(&t["topicArn"]))))
                .collect();
            element("Topics", members)
        }
        "GetTopicAttributes" => {
            let topic = call(
                "GetTopicAttributes",
                json!({"topicArn": required("TopicArn")?}),
            )
            .await?;
            attributes(&topic["attributes"])
        }
        "SetTopicAttributes" => {
            call(
                "SetTopicAttributes",
                json!({"topicArn": required("TopicArn")?,
                       "attributeName": required("AttributeName")?,
                       "attributeValue": params.get("AttributeValue").unwrap_or_default()}),
            )
            .await?;
            String::new()
        }
        "TagResource" | "UntagResource" | "ListTagsForResource" => {
            let mut input = json!({"resourceArn": required("ResourceArn")?});
            let operation = match action {
                "TagResource" => {
                    input["tags"] = Value::Object(params.map("Tags.member", "Key", "Value"));
                    "TagResource"
                }
                "UntagResource" => {
                    let keys: Vec<String> = params
                        .list("TagKeys.member")
                        .into_iter()
                        .filter_map(|mut item| item.remove(""))
                        .collect();
                    input["tagKeys"] = json!(keys);
                    "UntagResource"
                }
                _ => "ListTagsForResource",
            };
            let tagged = call(operation, input).await?;
            if action != "ListTagsForResource" {
                return Ok(String::new());
            }
            let members: String = tagged["tags"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    element(
                        "member",
                        element("Key", escape(k)) + &element("Value", text(v)),
                    )
                })
                .collect();
            element("Tags", members)
        }
        "Subscribe" => {
            let input = json!({
                "topicArn": required("TopicArn")?,
                "protocol": required("Protocol")?,
                "endpoint": params.get("Endpoint").unwrap_or_default(),
                "attributes": params.map("Attributes.entry", "key", "value"),
            });
            let subscription = call("Subscribe", input).await?;
            element("SubscriptionArn", text(&subscription["subscriptionArn"]))
        }
        "Unsubscribe" => {
            call(
                "Unsubscribe",
                json!({"subscriptionArn": required("SubscriptionArn")?}),
            )
            .await?;
            String::new()
        }
        "ListSubscriptions" | "ListSubscriptionsByTopic" => {
            let (operation, input) = if action == "ListSubscriptions" {
                ("ListSubscriptions", json!({}))
            } else {
                (
                    "ListSubscriptionsByTopic",
                    json!({"topicArn": required("TopicArn")?}),
                )
            };
            let listed = call(operation, input).await?;
            let account = api.account.clone();
            let members: String = listed["subscriptions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    element(
                        "member",
                        [
                            element("SubscriptionArn", text(&s["subscriptionArn"])),
                            element("Owner", escape(&account)),
                            element("Protocol", text(&s["protocol"])),
                            element("Endpoint", text(&s["endpoint"])),
                            element("TopicArn", text(&s["topicArn"])),
                        ]
                        .concat(),
                    )
                })
                .collect();
            element("Subscriptions", members)
        }
        "GetSubscriptionAttributes" => {
            let subscription = call(
                "GetSubscriptionAttributes",
                json!({"subscriptionArn": required("SubscriptionArn")?}),
            )
            .await?;
            attributes(&subscription["attributes"])
        }
        "SetSubscriptionAttributes" => {
            call(
                "SetSubscriptionAttributes",
                json!({"subscriptionArn": required("SubscriptionArn")?,
                       "attributeName": required("AttributeName")?,
                       "attributeValue": params.get("AttributeValue").unwrap_or_default()}),
            )
            .await?;
            String::new()
        }
        "Publish" => {
            let topic = params
                .get("TopicArn")
                .or_else(|| params.get("TargetArn"))
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::new(
                        "InvalidParameter",
                        "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter",
                    )
                })?;
            let published = call("Publish", publish_input(&topic, &params.0)).await?;
            element("MessageId", text(&published["messageId"]))
        }
        "PublishBatch" => {
            let topic = required("TopicArn")?;
            let entries = params.list("PublishBatchRequestEntries.member");
            if entries.is_empty() || entries.len() > MAX_BATCH {
                return Err(ApiError::new(
                    if entries.is_empty() {
                        "EmptyBatchRequest"
                    } else {
                        "TooManyEntriesInBatchRequest"
                    },
                    format!(
                        "The batch request must hold 1 to {MAX_BATCH} entries, not {}.",
                        entries.len()
                    ),
                ));
            }
            let (mut successful, mut failed) = (String::new(), String::new());
            for entry in &entries {
                let id = entry.get("Id").cloned().unwrap_or_default();
                match call("Publish", publish_input(&topic, entry)).await {
                    Ok(published) => {
                        successful.push_str(&element(
                            "member",
                            element("Id", escape(&id))
                                + &element("MessageId", text(&published["messageId"])),
                        ));
                    }
                    Err(error) => {
                        failed.push_str(&element(
                            "member",
                            [
                                element("Id", escape(&id)),
                                element("Code", escape(error.code)),
                                element("Message", escape(&error.message)),
                                element("SenderFault", "true".to_string()),
                            ]
                            .concat(),
                        ));
                    }
                }
            }
            element("Successful", successful) + &element("Failed", failed)
        }
        other => {
            return Err(ApiError::new(
                "InvalidAction",
                format!("weir's SNS endpoint does not support the action {other:?} yet"),
            ));
        }
    })
}

/// `<Attributes>` from a JSON object of strings.
fn attributes(map: &Value) -> String {
    let entries: String = map
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let value = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            element(
                "entry",
                element("key", escape(k)) + &element("value", escape(&value)),
            )
        })
        .collect();
    element("Attributes", entries)
}

fn text(value: &Value) -> String {
    escape(value.as_str().unwrap_or_default())
}

fn element(name: &str, content: String) -> String {
    format!("<{name}>{content}</{name}>")
}

/// `text` with XML's special characters escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            other => out.push(other),
        }
    }
    out
}

/// A request id for `ResponseMetadata`.
fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let now = jiff::Timestamp::now().as_nanosecond() as u64;
    format!(
        "{:08x}-{:04x}-4000-8000-{:012x}",
        now >> 32,
        (now >> 16) & 0xffff,
        n
    )
}

fn answer(action: &str, result: &str) -> String {
    // Always there, even empty: the SDKs look for it when the action has an (empty) result.
    let result = element(&format!("{action}Result"), result.to_string());
    format!(
        "<{action}Response xmlns=\"{NAMESPACE}\">{result}<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        request_id()
    )
}

fn xml(status: StatusCode, body: &str) -> Response {
    let mut response = (status, Body::from(body.to_string())).into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("text/xml"));
    response
}

/// SNS's `ErrorResponse` for `error`; the status stays the error's (404 for `NotFound`).
fn error_response(error: &ApiError) -> Response {
    let status = if error.code == "NotFound" {
        StatusCode::NOT_FOUND
    } else {
        error.status
    };
    let kind = if status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    let body = format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        escape(error.code),
        escape(&error.message),
        request_id()
    );
    xml(status, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_are_decoded() {
        let pairs = form_pairs(b"Action=Publish&Message=a+b%26c%3D%C3%A9&Empty=&Bad=%zz");
        assert_eq!(
            pairs,
            [
                ("Action".to_string(), "Publish".to_string()),
                ("Message".to_string(), "a b&c=é".to_string()),
                ("Empty".to_string(), String::new()),
                ("Bad".to_string(), "%zz".to_string()),
            ]
        );
    }

    #[test]
    fn lists_and_maps_are_read_in_index_order() {
        let params = Params(
            [
                ("Attributes.entry.2.key", "B"),
                ("Attributes.entry.2.value", "2"),
                ("Attributes.entry.10.key", "C"),
                ("Attributes.entry.10.value", "3"),
                ("Attributes.entry.1.key", "A"),
                ("Attributes.entry.1.value", "1"),
                ("MessageAttributes.entry.1.Name", "color"),
                ("MessageAttributes.entry.1.Value.DataType", "String"),
                ("MessageAttributes.entry.1.Value.StringValue", "red"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        let keys: Vec<String> = params
            .list("Attributes.entry")
            .into_iter()
            .filter_map(|mut item| item.remove("key"))
            .collect();
        assert_eq!(keys, ["A", "B", "C"]);
        assert_eq!(
            Value::Object(params.message_attributes("MessageAttributes.entry")),
            json!({"color": {"dataType": "String", "stringValue": "red"}})
        );
        assert_eq!(escape("<a & 'b'>"), "&lt;a &amp; &apos;b&apos;&gt;");
    }
}
