//! `weir topics`: an API client for a running `weir server`'s topics (the `Weir.` topic
//! operations, see the `api` crate's `topics` module).
//!
//! ```text
//! weir topics create orders [--attribute DisplayName=Orders] [--tag team=data]
//! weir topics list | describe orders | delete orders
//! weir topics subscribe orders --protocol sqs \
//!     --notification-endpoint arn:aws:sqs:us-east-1:000000000000:inbox \
//!     [--raw] [--filter-policy '{"kind": ["paid"]}'] [--filter-scope MessageBody] \
//!     [--dead-letter-queue QUEUE_ARN] [--retries 5 --min-delay 1 --max-delay 60]
//! weir topics subscriptions [orders]
//! weir topics unsubscribe SUBSCRIPTION_ARN
//! weir topics publish orders 'hello' [--subject S] [--attribute kind=paid] [--attribute n:Number=5]
//! ```
//!
//! TOPIC is a topic's ARN or its name. Output and exit status are those of the other client
//! commands (see `commands`): tables or `key: value` lines, `--json` for the server's answer, 1
//! for an API error, 2 for a usage problem.

use crate::commands::{ClientArgs, Session, finish, print_fields, print_json, table, text, time};
use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

/// `weir topics`: the options and the subcommand.
#[derive(Args)]
pub struct TopicsArgs {
    /// The server and the output format.
    #[command(flatten)]
    pub client: ClientArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: TopicCommand,
}

/// The topic subcommands. TOPIC is a topic ARN or a bare name.
#[derive(Subcommand)]
pub enum TopicCommand {
    /// Create a topic (a name ending with .fifo makes a FIFO topic).
    Create {
        /// The topic's name (1 to 256 letters, digits, hyphens, underscores).
        name: String,
        /// A topic attribute (DisplayName, DeliveryPolicy, ContentBasedDeduplication, ...);
        /// repeat for more.
        #[arg(long = "attribute", value_name = "NAME=VALUE", value_parser = pair)]
        attributes: Vec<(String, String)>,
        /// A tag; repeat for more.
        #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = pair)]
        tags: Vec<(String, String)>,
    },
    /// List the topics: NAME, SUBSCRIPTIONS, ARN.
    List,
    /// Describe a topic, with every attribute.
    Describe {
        /// The topic (ARN or name).
        topic: String,
    },
    /// Delete a topic and its subscriptions.
    Delete {
        /// The topic (ARN or name).
        topic: String,
    },
    /// Subscribe an endpoint to a topic.
    Subscribe {
        /// The topic (ARN or name).
        topic: String,
        /// How messages are delivered.
        #[arg(long, value_parser = ["sqs", "lambda", "function", "http"])]
        protocol: String,
        /// Where: a queue ARN or URL (sqs), a function name or Lambda ARN (lambda, function),
        /// an http:// URL (http). (`--endpoint` names the server, as for every client command.)
        #[arg(long, value_name = "ENDPOINT")]
        notification_endpoint: String,
        /// Deliver messages as published, without the SNS envelope.
        #[arg(long)]
        raw: bool,
        /// The filter policy (JSON).
        #[arg(long, value_name = "JSON")]
        filter_policy: Option<String>,
        /// What the filter policy looks at.
        #[arg(long, value_name = "SCOPE", value_parser = ["MessageAttributes", "MessageBody"])]
        filter_scope: Option<String>,
        /// The queue (ARN) that gets messages whose delivery failed for good.
        #[arg(long, value_name = "QUEUE_ARN")]
        dead_letter_queue: Option<String>,
        /// Retries of a failed function or HTTP delivery [default: 3].
        #[arg(long, value_name = "N")]
        retries: Option<u64>,
        /// The first retry's delay, doubled for each next one [default: 1].
        #[arg(long, value_name = "SECONDS")]
        min_delay: Option<u64>,
        /// The longest delay between retries [default: 20].
        #[arg(long, value_name = "SECONDS")]
        max_delay: Option<u64>,
        /// Another subscription attribute; repeat for more.
        #[arg(long = "attribute", value_name = "NAME=VALUE", value_parser = pair)]
        attributes: Vec<(String, String)>,
    },
    /// Remove a subscription.
    Unsubscribe {
        /// The subscription's ARN.
        subscription: String,
    },
    /// List subscriptions, of one topic or of all: SUBSCRIPTION, PROTOCOL, ENDPOINT, RAW,
    /// FILTERED.
    Subscriptions {
        /// Only this topic's (ARN or name).
        topic: Option<String>,
    },
    /// Publish a message to a topic and print its message id.
    Publish {
        /// The topic (ARN or name).
        topic: String,
        /// The message.
        message: String,
        /// The subject (e-mail style, up to 100 characters).
        #[arg(long)]
        subject: Option<String>,
        /// A message attribute: NAME=VALUE for a String, NAME:TYPE=VALUE for another data type
        /// (Number, String.Array, Binary); repeat for more.
        #[arg(long = "attribute", value_name = "NAME[:TYPE]=VALUE", value_parser = pair)]
        attributes: Vec<(String, String)>,
        /// `json`: the message is a JSON object of messages by protocol, with a "default".
        #[arg(long, value_name = "STRUCTURE", value_parser = ["json"])]
        structure: Option<String>,
        /// FIFO topics: the message group.
        #[arg(long, value_name = "ID")]
        group_id: Option<String>,
        /// FIFO topics: the deduplication id.
        #[arg(long, value_name = "ID")]
        dedup_id: Option<String>,
    },
}

/// Reads `NAME=VALUE`.
fn pair(given: &str) -> Result<(String, String), String> {
    match given.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("expected NAME=VALUE, not {given:?}")),
    }
}

/// Pairs as a JSON object of strings.
fn object(pairs: &[(String, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(name, value)| (name.clone(), json!(value)))
            .collect(),
    )
}

/// Runs `weir topics ...`.
pub fn topics(args: TopicsArgs) -> Result<bool> {
    let session = Session::new(&args.client, None);
    finish(run(&session, args.command))
}

fn run(session: &Session, command: TopicCommand) -> Result<bool> {
    match command {
        TopicCommand::Create {
            name,
            attributes,
            tags,
        } => {
            let request = json!({"name": name, "attributes": object(&attributes),
                                 "tags": object(&tags)});
            let answer = call(session, "CreateTopic", request)?;
            show_topic(session, &answer)
        }
        TopicCommand::List => list(session),
        TopicCommand::Describe { topic } => {
            let answer = call(session, "GetTopicAttributes", json!({"topicArn": topic}))?;
            show_topic(session, &answer)
        }
        TopicCommand::Delete { topic } => {
            let answer = call(session, "DeleteTopic", json!({"topicArn": topic}))?;
            done(session, &answer, &format!("deleted {topic}"))
        }
        TopicCommand::Subscribe {
            topic,
            protocol,
            notification_endpoint,
            raw,
            filter_policy,
            filter_scope,
            dead_letter_queue,
            retries,
            min_delay,
            max_delay,
            attributes,
        } => {
            let mut set: Map<String, Value> = Map::new();
            if raw {
                set.insert("RawMessageDelivery".into(), json!("true"));
            }
            if let Some(scope) = filter_scope {
                set.insert("FilterPolicyScope".into(), json!(scope));
            }
            if let Some(policy) = filter_policy {
                set.insert("FilterPolicy".into(), json!(policy));
            }
            if let Some(queue) = dead_letter_queue {
                let policy = json!({"deadLetterTargetArn": queue}).to_string();
                set.insert("RedrivePolicy".into(), json!(policy));
            }
            let mut retry = Map::new();
            for (member, value) in [
                ("numRetries", retries),
                ("minDelayTarget", min_delay),
                ("maxDelayTarget", max_delay),
            ] {
                if let Some(value) = value {
                    retry.insert(member.into(), json!(value));
                }
            }
            if !retry.is_empty() {
                let policy = json!({"healthyRetryPolicy": retry}).to_string();
                set.insert("DeliveryPolicy".into(), json!(policy));
            }
            for (name, value) in attributes {
                set.insert(name, json!(value));
            }
            let request = json!({"topicArn": topic, "protocol": protocol,
                                 "endpoint": notification_endpoint,
                                 "attributes": set});
            let answer = call(session, "Subscribe", request)?;
            show_subscription(session, &answer)
        }
        TopicCommand::Unsubscribe { subscription } => {
            let answer = call(
                session,
                "Unsubscribe",
                json!({"subscriptionArn": subscription}),
            )?;
            done(session, &answer, &format!("unsubscribed {subscription}"))
        }
        TopicCommand::Subscriptions { topic } => subscriptions(session, topic.as_deref()),
        TopicCommand::Publish {
            topic,
            message,
            subject,
            attributes,
            structure,
            group_id,
            dedup_id,
        } => {
            let mut request = json!({"topicArn": topic, "message": message,
                                     "messageAttributes": message_attributes(&attributes)});
            for (member, value) in [
                ("subject", subject),
                ("messageStructure", structure),
                ("messageGroupId", group_id),
                ("messageDeduplicationId", dedup_id),
            ] {
                if let Some(value) = value {
                    request[member] = json!(value);
                }
            }
            let answer = call(session, "Publish", request)?;
            if session.json {
                return print_json(&answer);
            }
            print_fields(&[("message id", text(&answer, "messageId"))]);
            Ok(true)
        }
    }
}

fn call(session: &Session, operation: &str, input: Value) -> Result<Value> {
    Ok(session.client.call_weir(operation, &input)?)
}

/// `--attribute NAME[:TYPE]=VALUE` pairs as the API's `messageAttributes`.
fn message_attributes(pairs: &[(String, String)]) -> Value {
    let attributes: Map<String, Value> = pairs
        .iter()
        .map(|(name, value)| {
            let (name, data_type) = name.split_once(':').unwrap_or((name, "String"));
            let member = if data_type == "Binary" {
                "binaryValue"
            } else {
                "stringValue"
            };
            (
                name.to_string(),
                json!({"dataType": data_type, member: value}),
            )
        })
        .collect();
    Value::Object(attributes)
}

/// An answer with nothing to show but that it was done.
fn done(session: &Session, answer: &Value, said: &str) -> Result<bool> {
    if session.json {
        return print_json(answer);
    }
    println!("{said}");
    Ok(true)
}

/// An object of strings as `NAME: VALUE` fields.
fn attribute_fields(value: &Value) -> Vec<(String, String)> {
    value
        .get("attributes")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn show_topic(session: &Session, topic: &Value) -> Result<bool> {
    if session.json {
        return print_json(topic);
    }
    let attributes = attribute_fields(topic);
    let tags = topic
        .get("tags")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let mut fields = vec![
        ("name", text(topic, "name")),
        ("arn", text(topic, "topicArn")),
        ("fifo", text(topic, "fifo")),
        ("subscriptions", text(topic, "subscriptions")),
        ("tags", tags),
        ("created", time(topic, "creationDate")),
    ];
    fields.extend(attributes.iter().map(|(k, v)| (k.as_str(), v.clone())));
    print_fields(&fields);
    Ok(true)
}

fn show_subscription(session: &Session, subscription: &Value) -> Result<bool> {
    if session.json {
        return print_json(subscription);
    }
    let attributes = attribute_fields(subscription);
    let mut fields = vec![
        ("subscription", text(subscription, "subscriptionArn")),
        ("topic", text(subscription, "topicArn")),
        ("protocol", text(subscription, "protocol")),
        ("endpoint", text(subscription, "endpoint")),
        ("created", time(subscription, "creationDate")),
    ];
    fields.extend(attributes.iter().map(|(k, v)| (k.as_str(), v.clone())));
    print_fields(&fields);
    Ok(true)
}

fn list(session: &Session) -> Result<bool> {
    let answer = call(session, "ListTopics", json!({}))?;
    if session.json {
        return print_json(&answer);
    }
    let rows: Vec<Vec<String>> = answer["topics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            vec![
                text(t, "name"),
                text(t, "subscriptions"),
                text(t, "topicArn"),
            ]
        })
        .collect();
    print!("{}", table(&["NAME", "SUBSCRIPTIONS", "ARN"], &rows));
    Ok(true)
}

fn subscriptions(session: &Session, topic: Option<&str>) -> Result<bool> {
    let answer = match topic {
        Some(topic) => call(
            session,
            "ListSubscriptionsByTopic",
            json!({"topicArn": topic}),
        )?,
        None => call(session, "ListSubscriptions", json!({}))?,
    };
    if session.json {
        return print_json(&answer);
    }
    let rows: Vec<Vec<String>> = answer["subscriptions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let attribute = |name: &str| s["attributes"].get(name).and_then(Value::as_str);
            vec![
                text(s, "subscriptionArn"),
                text(s, "protocol"),
                text(s, "endpoint"),
                (attribute("RawMessageDelivery") == Some("true")).to_string(),
                attribute("FilterPolicy").is_some().to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["SUBSCRIPTION", "PROTOCOL", "ENDPOINT", "RAW", "FILTERED"],
            &rows
        )
    );
    Ok(true)
}
