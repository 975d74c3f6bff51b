//! `--resources FILE`: the queues and topics a pipeline needs, declared next to its definition
//! and made to exist when `weir server` or `weir run --durable` starts, so one command brings up
//! everything a definition sends to.
//!
//! ```json
//! {
//!   "queues": {
//!     "orders-dead-letter": {"attributes": {"MessageRetentionPeriod": "1209600"}},
//!     "orders": {"attributes": {"RedrivePolicy":
//!       "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:orders-dead-letter\",\"maxReceiveCount\":\"3\"}"}},
//!     "ops-alerts": {}
//!   },
//!   "topics": {
//!     "pipeline-alerts": {"subscriptions": [
//!       {"protocol": "sqs", "endpoint": "ops-alerts", "attributes": {"RawMessageDelivery": "true"}}
//!     ]}
//!   }
//! }
//! ```
//!
//! - `queues`: by name, each with optional `attributes` and `tags` (SQS's attribute names and
//!   rules; a `.fifo` name makes a FIFO queue). A queue that exists gets the attributes given
//!   (others keep their values). Every queue is created before any `RedrivePolicy` is set, so a
//!   queue may name a dead-letter queue declared after it.
//! - `topics`: by name, each with optional `attributes`, `tags` and `subscriptions`
//!   (`protocol` `sqs`, `lambda` or `http`; `endpoint` a queue name or ARN, a function name or
//!   ARN, an `http://` URL; optional `attributes` such as `RawMessageDelivery` or
//!   `FilterPolicy`). A subscription that exists is kept.
//!
//! Keys are kebab-case, unknown keys are refused, and every problem of the file is listed at
//! once; a resource the engine refuses stops the start with its name and the engine's reason.

use anyhow::{Context, Result, bail};
use engine::Engine;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The attribute that names a queue's dead-letter queue.
const REDRIVE_POLICY: &str = "RedrivePolicy";

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Resources {
    /// Queues by name.
    #[serde(default)]
    pub queues: BTreeMap<String, QueueSpec>,
    /// Topics by name.
    #[serde(default)]
    pub topics: BTreeMap<String, TopicSpec>,
}

/// One queue.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct QueueSpec {
    /// SQS attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// One topic.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TopicSpec {
    /// Topic attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Its subscriptions.
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionSpec>,
}

/// One subscription.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SubscriptionSpec {
    /// `sqs`, `lambda` or `http`.
    pub protocol: String,
    /// A queue name or ARN, a function name or ARN, or an `http://` URL.
    pub endpoint: String,
    /// Subscription attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// Reads a resources file; the error names the file and lists every problem in it.
pub fn read(path: &Path) -> Result<Resources> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the resources file {}", path.display()))?;
    let resources: Resources = serde_json::from_str(&text)
        .with_context(|| format!("the resources file {} is malformed", path.display()))?;
    let mut problems = Vec::new();
    for (name, topic) in &resources.topics {
        for (i, s) in topic.subscriptions.iter().enumerate() {
            if !["sqs", "lambda", "http"].contains(&s.protocol.as_str()) {
                problems.push(format!(
                    "topics.{name}.subscriptions[{i}].protocol: {} is not sqs, lambda or http",
                    s.protocol
                ));
            }
            if s.endpoint.is_empty() {
                problems.push(format!(
                    "topics.{name}.subscriptions[{i}].endpoint: must not be empty"
                ));
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "the resources file {} has {} problem(s):\n  {}",
            path.display(),
            problems.len(),
            problems.join("\n  ")
        );
    }
    Ok(resources)
}

/// Makes the resources of `path` exist on `engine`: queues (then their redrive policies), then
/// topics and their subscriptions.
pub async fn apply(engine: &Engine, path: &Path) -> Result<()> {
    let resources = read(path)?;
    let file = path.display();
    for (name, queue) in &resources.queues {
        let mut attributes = queue.attributes.clone();
        attributes.remove(REDRIVE_POLICY);
        let exists = engine.get_queue(name).await.is_ok();
        let done = if exists {
            engine.set_queue_attributes(name, &attributes).await
        } else {
            engine
                .create_queue(name, &attributes, &queue.tags)
                .await
                .map(|_| ())
        };
        done.with_context(|| format!("{file}: the queue {name}"))?;
    }
    for (name, queue) in &resources.queues {
        if let Some(policy) = queue.attributes.get(REDRIVE_POLICY) {
            let redrive = BTreeMap::from([(REDRIVE_POLICY.to_string(), policy.clone())]);
            engine
                .set_queue_attributes(name, &redrive)
                .await
                .with_context(|| format!("{file}: the queue {name}'s {REDRIVE_POLICY}"))?;
        }
    }
    for (name, topic) in &resources.topics {
        let record = engine
            .create_topic(name, &topic.attributes, &topic.tags)
            .await
            .with_context(|| format!("{file}: the topic {name}"))?;
        for (i, s) in topic.subscriptions.iter().enumerate() {
            engine
                .subscribe(&record.arn, &s.protocol, &s.endpoint, &s.attributes)
                .await
                .with_context(|| format!("{file}: topics.{name}.subscriptions[{i}]"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("a temp file");
        f.write_all(text.as_bytes()).expect("writes");
        f
    }

    #[test]
    fn problems_are_listed_with_where_they_are() {
        let f = file(
            r#"{"topics": {"t": {"subscriptions": [
                {"protocol": "email", "endpoint": "a@b"},
                {"protocol": "sqs", "endpoint": ""}]}}}"#,
        );
        let error = format!("{:#}", read(f.path()).expect_err("refused"));
        assert!(error.contains("2 problem(s)"), "{error}");
        assert!(
            error.contains("topics.t.subscriptions[0].protocol: email"),
            "{error}"
        );
        assert!(
            error.contains("topics.t.subscriptions[1].endpoint"),
            "{error}"
        );
        let f = file(r#"{"queues": {"q": {"atributes": {}}}}"#);
        let error = format!("{:#}", read(f.path()).expect_err("refused"));
        assert!(error.contains("unknown field `atributes`"), "{error}");
    }
}
