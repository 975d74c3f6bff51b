//! weir's topics through the engine on a real SQLite file: publishes fan out to queues through
//! filter policies (raw and in the SNS envelope), to functions run by the task handler, and to a
//! real HTTP endpoint on a local port that fails before it answers; retries follow the delivery
//! policy on a manual clock, exhausted and refused deliveries land in the subscription's
//! dead-letter queue, pending retries survive a restart, and a state machine publishes with
//! `arn:aws:states:::sns:publish`. Expected values follow the SNS developer guide.

mod support;

use engine::queues::{QueueRecord, ReceiveRequest};
use engine::topics::{DELIVERY_QUEUE, PublishRequest, TopicRecord};
use engine::{Engine, Handlers, ManualClock, NewStateMachine, TaskFailure, handler_fn};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::Store;
use support::{attrs, create, engine_with, open, t0};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn message(text: &str, attributes: Value) -> PublishRequest {
    PublishRequest {
        message: text.to_string(),
        attributes: attributes.as_object().cloned().unwrap_or_default(),
        ..PublishRequest::default()
    }
}

struct Setup {
    dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    engine: Engine,
}

async fn setup(handlers: Handlers) -> Setup {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = open(&dir);
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = engine_with(store.clone(), clock.clone(), handlers).await;
    Setup {
        dir,
        store,
        clock,
        engine,
    }
}

/// Every message of a queue, received once and in order.
async fn drain(engine: &Engine, queue: &str) -> Vec<engine::queues::ReceivedMessage> {
    engine
        .receive_messages(
            queue,
            &ReceiveRequest {
                max: 10,
                visibility_timeout: Some(60),
                wait_seconds: Some(0),
            },
        )
        .await
        .expect("receives")
}

/// Waits (on the wall clock, up to ten seconds) until `done` holds.
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..1000 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// When the pending delivery is next attempted, if one is pending.
async fn next_attempt(store: &Arc<dyn Store>) -> Option<Timestamp> {
    store
        .peek_messages(DELIVERY_QUEUE, 10)
        .await
        .expect("peeks")
        .first()
        .map(|m| m.visible_at)
}

/// Waits until the pending delivery's next attempt is at `at`.
async fn scheduled(store: &Arc<dyn Store>, at: Timestamp) {
    until(&format!("a retry at {at}"), async || {
        next_attempt(store).await == Some(at)
    })
    .await;
}

fn secs(n: i64) -> Timestamp {
    t0().saturating_add(SignedDuration::from_secs(n))
        .expect("in range")
}

/// One request an endpoint received.
#[derive(Debug, Clone)]
struct Received {
    head: String,
    body: String,
}

/// A real HTTP/1.1 endpoint on a local port: answers the n-th POST with `statuses[n]` (the last
/// one repeats) and keeps every request.
struct Endpoint {
    url: String,
    requests: Arc<Mutex<Vec<Received>>>,
}

impl Endpoint {
    async fn start(statuses: &[u16]) -> Endpoint {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
        let requests: Arc<Mutex<Vec<Received>>> = Arc::default();
        let kept = requests.clone();
        let statuses = statuses.to_vec();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut bytes = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                    let read = socket.read(&mut chunk).await.expect("reads");
                    assert!(read > 0, "the client closed early");
                    bytes.extend_from_slice(&chunk[..read]);
                };
                let head = String::from_utf8_lossy(&bytes[..head_end]).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().expect("a length"))
                    })
                    .unwrap_or(0);
                while bytes.len() < head_end + length {
                    let read = socket.read(&mut chunk).await.expect("reads");
                    bytes.extend_from_slice(&chunk[..read]);
                }
                let body = String::from_utf8_lossy(&bytes[head_end..]).to_string();
                let status = {
                    let mut requests = kept.lock().expect("not poisoned");
                    requests.push(Received { head, body });
                    statuses[(requests.len() - 1).min(statuses.len() - 1)]
                };
                let answer = format!(
                    "HTTP/1.1 {status} Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        Endpoint { url, requests }
    }

    fn hits(&self) -> usize {
        self.requests.lock().expect("not poisoned").len()
    }

    fn request(&self, n: usize) -> Received {
        self.requests.lock().expect("not poisoned")[n].clone()
    }
}

#[tokio::test]
async fn publishes_fan_out_to_queues_through_their_filter_policies() {
    let Setup { engine, .. } = setup(Handlers::new()).await;
    let topic = engine
        .create_topic("orders", &BTreeMap::new(), &BTreeMap::new())
        .await
        .expect("creates");
    assert_eq!(topic.arn, "arn:aws:sns:us-east-1:000000000000:orders");
    let none = BTreeMap::new();
    let paid = engine
        .create_queue("paid", &none, &none)
        .await
        .expect("creates");
    let big = engine
        .create_queue("big", &none, &none)
        .await
        .expect("creates");
    let raw = engine
        .subscribe(
            &topic.arn,
            "sqs",
            &paid.arn,
            &attrs(&[
                ("RawMessageDelivery", "true"),
                ("FilterPolicy", r#"{"status": ["paid"]}"#),
            ]),
        )
        .await
        .expect("subscribes");
    assert!(raw.arn.starts_with(&format!("{}:", topic.arn)));
    let enveloped = engine
        .subscribe(
            &topic.arn,
            "sqs",
            // A queue URL names the queue as well as its ARN.
            "http://127.0.0.1:8083/000000000000/big",
            &attrs(&[
                ("FilterPolicyScope", "MessageBody"),
                ("FilterPolicy", r#"{"total": [{"numeric": [">", 100]}]}"#),
            ]),
        )
        .await
        .expect("subscribes");
    assert_eq!(enveloped.endpoint, big.arn);

    let status = |s: &str| json!({"status": {"DataType": "String", "StringValue": s}});
    let first = engine
        .publish(&topic.arn, &message(r#"{"total": 250}"#, status("paid")))
        .await
        .expect("publishes");
    engine
        .publish(&topic.arn, &message(r#"{"total": 5}"#, status("paid")))
        .await
        .expect("publishes");
    engine
        .publish(
            &topic.arn,
            &message(r#"{"total": 500}"#, status("refunded")),
        )
        .await
        .expect("publishes");
    engine
        .publish(&topic.arn, &message("not json", json!({})))
        .await
        .expect("publishes");

    let raw_messages = drain(&engine, "paid").await;
    assert_eq!(
        raw_messages
            .iter()
            .map(|m| m.body.as_str())
            .collect::<Vec<_>>(),
        [r#"{"total": 250}"#, r#"{"total": 5}"#],
        "the raw subscription gets paid orders as published"
    );
    assert_eq!(
        raw_messages[0].message_attributes["status"],
        json!({"DataType": "String", "StringValue": "paid"}),
        "raw delivery passes the attributes as SQS message attributes"
    );

    let wrapped = drain(&engine, "big").await;
    assert_eq!(wrapped.len(), 2, "totals over 100, whatever their status");
    let envelope: Value = serde_json::from_str(&wrapped[0].body).expect("JSON");
    assert_eq!(envelope["Type"], json!("Notification"));
    assert_eq!(envelope["MessageId"], json!(first));
    assert_eq!(envelope["TopicArn"], json!(topic.arn));
    assert_eq!(envelope["Message"], json!(r#"{"total": 250}"#));
    assert_eq!(envelope["Timestamp"], json!("2026-01-01T00:00:00.000Z"));
    assert_eq!(envelope["SignatureVersion"], json!("1"));
    assert!(
        envelope["UnsubscribeURL"]
            .as_str()
            .is_some_and(|u| u.ends_with(&enveloped.arn))
    );
    assert_eq!(
        envelope["MessageAttributes"],
        json!({"status": {"Type": "String", "Value": "paid"}})
    );
    assert!(envelope.get("Subject").is_none(), "no subject was given");
    assert!(wrapped[0].message_attributes.is_empty());

    let listed = engine
        .list_subscriptions(Some(&topic.arn))
        .await
        .expect("lists");
    assert_eq!(listed.len(), 2);
    let attributes = engine.topic_attributes(&topic.arn).await.expect("reads");
    assert_eq!(attributes["SubscriptionsConfirmed"], "2");
    engine.delete_topic(&topic.arn).await.expect("deletes");
    assert!(
        engine
            .list_subscriptions(None)
            .await
            .expect("lists")
            .is_empty(),
        "deleting a topic deletes its subscriptions"
    );
    let gone = engine
        .publish(&topic.arn, &message("x", json!({})))
        .await
        .expect_err("no topic");
    assert_eq!(gone.code(), "NotFound");
}

#[tokio::test]
async fn http_deliveries_are_retried_with_backoff_until_the_endpoint_answers() {
    let Setup {
        engine,
        store,
        clock,
        ..
    } = setup(Handlers::new()).await;
    let endpoint = Endpoint::start(&[500, 503, 200]).await;
    let topic = engine
        .create_topic("alerts", &BTreeMap::new(), &BTreeMap::new())
        .await
        .expect("creates");
    let subscription = engine
        .subscribe(&topic.arn, "http", &endpoint.url, &BTreeMap::new())
        .await
        .expect("subscribes");
    let id = engine
        .publish(
            &topic.arn,
            &PublishRequest {
                subject: Some("Disk full".into()),
                ..message("disk at 99%", json!({}))
            },
        )
        .await
        .expect("publishes");

    scheduled(&store, secs(1)).await;
    assert_eq!(endpoint.hits(), 1, "the retry waits for its delay");
    let first = endpoint.request(0);
    assert!(
        first.head.starts_with("POST /hook HTTP/1.1\r\n"),
        "{}",
        first.head
    );
    for header in [
        "x-amz-sns-message-type: Notification".to_string(),
        format!("x-amz-sns-message-id: {id}"),
        format!("x-amz-sns-topic-arn: {}", topic.arn),
        format!("x-amz-sns-subscription-arn: {}", subscription.arn),
        "Content-Type: text/plain; charset=UTF-8".to_string(),
    ] {
        assert!(first.head.contains(&header), "{header} in {}", first.head);
    }
    let envelope: Value = serde_json::from_str(&first.body).expect("a JSON envelope");
    assert_eq!(envelope["Subject"], json!("Disk full"));
    assert_eq!(envelope["Message"], json!("disk at 99%"));

    clock.advance(SignedDuration::from_secs(1));
    scheduled(&store, secs(3)).await;
    assert_eq!(endpoint.hits(), 2, "the second delay is two seconds");
    clock.advance(SignedDuration::from_secs(2));
    until("the third attempt", async || endpoint.hits() == 3).await;
    until("the delivery to be done", async || {
        next_attempt(&store).await.is_none()
    })
    .await;
    assert_eq!(
        endpoint.request(2).body,
        first.body,
        "every attempt sends the same"
    );
}

#[tokio::test]
async fn deliveries_that_fail_for_good_go_to_the_subscriptions_dead_letter_queue() {
    let Setup {
        engine,
        store,
        clock,
        ..
    } = setup(Handlers::new()).await;
    let down = Endpoint::start(&[500]).await;
    let gone = Endpoint::start(&[404]).await;
    let none = BTreeMap::new();
    let dlq = engine
        .create_queue("alerts-dlq", &none, &none)
        .await
        .expect("creates");
    let topic = engine
        .create_topic("alerts", &none, &none)
        .await
        .expect("creates");
    let redrive = json!({"deadLetterTargetArn": dlq.arn}).to_string();
    let retry_once = json!({"healthyRetryPolicy": {"numRetries": 1}}).to_string();
    let subscription = engine
        .subscribe(
            &topic.arn,
            "http",
            &down.url,
            &attrs(&[("RedrivePolicy", &redrive), ("DeliveryPolicy", &retry_once)]),
        )
        .await
        .expect("subscribes");
    let attributes = engine
        .subscription_attributes(&subscription.arn)
        .await
        .expect("reads");
    assert_eq!(
        serde_json::from_str::<Value>(&attributes["EffectiveDeliveryPolicy"]).expect("JSON")["healthyRetryPolicy"]
            ["numRetries"],
        json!(1)
    );
    engine
        .subscribe(
            &topic.arn,
            "http",
            &gone.url,
            &attrs(&[("RedrivePolicy", &redrive), ("RawMessageDelivery", "true")]),
        )
        .await
        .expect("subscribes");
    let id = engine
        .publish(&topic.arn, &message("reboot", json!({})))
        .await
        .expect("publishes");

    // A 404 is the endpoint's answer for good: no retry.
    until("the refused delivery in the DLQ", async || {
        gone.hits() == 1
            && engine
                .queue_attributes("alerts-dlq")
                .await
                .is_ok_and(|a| a["ApproximateNumberOfMessages"] == "1")
    })
    .await;
    let refused = drain(&engine, "alerts-dlq").await;
    assert_eq!(
        refused[0].body, "reboot",
        "a raw subscription dead-letters the raw message"
    );
    assert_eq!(
        refused[0].message_attributes["ErrorCode"]["StringValue"],
        json!("HttpStatus404")
    );

    scheduled(&store, secs(1)).await;
    clock.advance(SignedDuration::from_secs(1));
    until("the retry and the dead letter", async || {
        down.hits() == 2 && next_attempt(&store).await.is_none()
    })
    .await;
    let dead = drain(&engine, "alerts-dlq").await;
    assert_eq!(dead.len(), 1);
    let envelope: Value = serde_json::from_str(&dead[0].body).expect("the envelope");
    assert_eq!(envelope["MessageId"], json!(id));
    assert_eq!(envelope["Message"], json!("reboot"));
    let attribute = |name: &str| dead[0].message_attributes[name]["StringValue"].clone();
    assert_eq!(attribute("ErrorCode"), json!("HttpStatus500"));
    assert_eq!(attribute("RequestID"), json!(id));
    assert_eq!(attribute("TopicArn"), json!(topic.arn));
    assert!(
        attribute("ErrorMessage")
            .as_str()
            .is_some_and(|m| m.contains("answered HTTP 500"))
    );
    assert_eq!(down.hits(), 2, "one attempt and one retry");
}

#[tokio::test]
async fn functions_get_the_sns_event_and_are_retried() {
    const AUDIT: &str = "arn:aws:lambda:us-east-1:000000000000:function:audit";
    let events: Arc<Mutex<Vec<Value>>> = Arc::default();
    let kept = events.clone();
    let mut handlers = Handlers::new();
    handlers.insert(
        AUDIT,
        handler_fn(move |request| {
            let kept = kept.clone();
            async move {
                let mut events = kept.lock().expect("not poisoned");
                events.push(request.input);
                if events.len() == 1 {
                    Err(TaskFailure::new("Boom", "the first call fails"))
                } else {
                    Ok(Value::Null)
                }
            }
        }),
    );
    let Setup {
        engine,
        store,
        clock,
        ..
    } = setup(handlers).await;
    let topic = engine
        .create_topic("audit", &BTreeMap::new(), &BTreeMap::new())
        .await
        .expect("creates");
    let refused = engine
        .subscribe(&topic.arn, "lambda", "unknown", &BTreeMap::new())
        .await
        .expect_err("no handler runs it");
    assert!(refused.to_string().contains("Endpoint"), "{refused}");
    let subscription = engine
        .subscribe(&topic.arn, "function", "audit", &BTreeMap::new())
        .await
        .expect("subscribes");
    let structured = json!({"default": "for queues", "lambda": "for functions"}).to_string();
    engine
        .publish(
            &topic.arn,
            &PublishRequest {
                message: structured,
                structure: Some("json".into()),
                attributes: json!({"n": {"DataType": "Number", "StringValue": "7"}})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                ..PublishRequest::default()
            },
        )
        .await
        .expect("publishes");
    scheduled(&store, secs(1)).await;
    clock.advance(SignedDuration::from_secs(1));
    until("the retry", async || {
        events.lock().expect("not poisoned").len() == 2 && next_attempt(&store).await.is_none()
    })
    .await;
    let event = events.lock().expect("not poisoned")[1].clone();
    let record = &event["Records"][0];
    assert_eq!(record["EventSource"], json!("aws:sns"));
    assert_eq!(record["EventSubscriptionArn"], json!(subscription.arn));
    assert_eq!(record["Sns"]["Message"], json!("for functions"));
    assert_eq!(record["Sns"]["Subject"], Value::Null);
    assert_eq!(
        record["Sns"]["MessageAttributes"],
        json!({"n": {"Type": "Number", "Value": "7"}})
    );
}

#[tokio::test]
async fn pending_retries_survive_a_restart() {
    let Setup {
        dir,
        store,
        clock,
        engine,
    } = setup(Handlers::new()).await;
    let endpoint = Endpoint::start(&[500, 200]).await;
    let topic = engine
        .create_topic("jobs", &BTreeMap::new(), &BTreeMap::new())
        .await
        .expect("creates");
    engine
        .subscribe(&topic.arn, "http", &endpoint.url, &BTreeMap::new())
        .await
        .expect("subscribes");
    engine
        .publish(&topic.arn, &message("run", json!({})))
        .await
        .expect("publishes");
    scheduled(&store, secs(1)).await;
    drop(engine);
    drop(store);

    let engine = engine_with(open(&dir), clock.clone(), Handlers::new()).await;
    // Let the new worker look at the pending delivery before the clock moves.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let advanced = std::time::Instant::now();
    clock.advance(SignedDuration::from_secs(1));
    until("the retry after the restart", async || endpoint.hits() == 2).await;
    assert!(
        advanced.elapsed() < Duration::from_secs(4),
        "the new worker armed a wake-up for the retry instead of waiting for its 5-second look"
    );
    drop(engine);
}

/// A topic and a queue both called `name` (FIFO ones, content-deduplicated, for a `.fifo`
/// name), the queue subscribed with `attributes`.
async fn topic_to_queue(
    engine: &Engine,
    name: &str,
    attributes: &[(&str, &str)],
) -> (TopicRecord, QueueRecord) {
    let fifo = name.ends_with(".fifo");
    let (queue_attributes, topic_attributes) = if fifo {
        (
            attrs(&[("FifoQueue", "true")]),
            attrs(&[("ContentBasedDeduplication", "true")]),
        )
    } else {
        (BTreeMap::new(), BTreeMap::new())
    };
    let queue = engine
        .create_queue(name, &queue_attributes, &BTreeMap::new())
        .await
        .expect("creates");
    let topic = engine
        .create_topic(name, &topic_attributes, &BTreeMap::new())
        .await
        .expect("creates");
    engine
        .subscribe(&topic.arn, "sqs", &queue.arn, &attrs(attributes))
        .await
        .expect("subscribes");
    (topic, queue)
}

/// Starts an execution of `machine` and waits for its end.
async fn run_to_end(engine: &Engine, machine: &str) -> store::ExecutionRecord {
    let started = engine
        .start_execution(machine, None, None)
        .await
        .expect("starts");
    engine.wait(&started.execution_arn).await.expect("ends")
}

#[tokio::test]
async fn a_state_machine_publishes_with_sns_publish() {
    let Setup { engine, .. } = setup(Handlers::new()).await;
    let (topic, _) = topic_to_queue(&engine, "orders", &[]).await;
    let definition = |topic_arn: &str| {
        json!({"StartAt": "Publish", "States": {"Publish": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {
                "TopicArn": topic_arn,
                "Message": {"order": 7},
                "Subject": "new order",
                "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "order"}}
            },
            "End": true
        }}})
    };
    let machine = create(&engine, "publisher", definition(&topic.arn)).await;
    let done = run_to_end(&engine, &machine).await;
    assert_eq!(done.status, "SUCCEEDED", "{done:?}");
    let output: Value =
        serde_json::from_str(done.output.as_deref().unwrap_or("null")).expect("JSON output");
    let keys: Vec<&str> = output
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        ["MessageId", "SdkHttpMetadata", "SdkResponseMetadata"]
    );
    assert_eq!(output["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    let received = drain(&engine, "orders").await;
    let envelope: Value = serde_json::from_str(&received[0].body).expect("the envelope");
    assert_eq!(envelope["MessageId"], output["MessageId"]);
    assert_eq!(envelope["Message"], json!(r#"{"order":7}"#));
    assert_eq!(envelope["Subject"], json!("new order"));
    assert_eq!(
        envelope["MessageAttributes"]["kind"],
        json!({"Type": "String", "Value": "order"})
    );

    let missing = create(
        &engine,
        "lost",
        definition("arn:aws:sns:us-east-1:000000000000:nowhere"),
    )
    .await;
    let failed = run_to_end(&engine, &missing).await;
    assert_eq!(failed.status, "FAILED");
    assert_eq!(failed.error.as_deref(), Some("SNS.NotFoundException"));
    let cause = failed.cause.unwrap_or_default();
    assert!(
        cause.starts_with(
            "Topic does not exist (Service: AmazonSNS; Status Code: 404; Error Code: NotFound; \
             Request ID: "
        ) && cause.ends_with("; Proxy: null)"),
        "{cause}"
    );

    // Express executions publish the same way.
    let express = engine
        .create_state_machine(NewStateMachine {
            name: "fast-publisher".into(),
            definition: definition(&topic.arn).to_string(),
            express: true,
            role_arn: String::new(),
        })
        .await
        .expect("creates");
    let outcome = engine
        .start_sync_execution(&express.arn, None, None)
        .await
        .expect("runs");
    assert_eq!(outcome.status.as_str(), "SUCCEEDED");
    assert_eq!(drain(&engine, "orders").await.len(), 1);
}

#[tokio::test]
async fn fifo_topics_keep_groups_and_drop_repeats_in_fifo_queues() {
    let Setup { engine, .. } = setup(Handlers::new()).await;
    let none = BTreeMap::new();
    let (topic, queue) = topic_to_queue(&engine, "ledger.fifo", &[]).await;
    let standard = engine
        .create_topic("ledger", &none, &none)
        .await
        .expect("creates");
    let (_, text) = refused(
        engine
            .subscribe(&standard.arn, "sqs", &queue.arn, &none)
            .await,
    );
    assert!(text.contains("FIFO queue"), "{text}");
    for _ in 0..2 {
        engine
            .publish(
                &topic.arn,
                &PublishRequest {
                    group_id: Some("account-1".into()),
                    ..message("debit 5", json!({}))
                },
            )
            .await
            .expect("publishes");
    }
    let received = drain(&engine, "ledger.fifo").await;
    assert_eq!(
        received.len(),
        1,
        "the repeat is dropped within five minutes"
    );
    assert_eq!(received[0].attributes["MessageGroupId"], "account-1");
}

/// The code and message of a refusal.
fn refused<T>(result: Result<T, engine::Error>) -> (&'static str, String) {
    let error = result.err().expect("refused");
    (error.code(), error.to_string())
}

#[tokio::test]
async fn a_callback_task_publishes_its_token_and_waits_for_the_answer() {
    let Setup { engine, .. } = setup(Handlers::new()).await;
    let (topic, _) = topic_to_queue(&engine, "approvals", &[("RawMessageDelivery", "true")]).await;
    let machine = create(
        &engine,
        "approve",
        json!({"StartAt": "Ask", "States": {"Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
            "Parameters": {"TopicArn": topic.arn, "Message": {"token.$": "$$.Task.Token"}},
            "End": true
        }}}),
    )
    .await;
    let started = engine
        .start_execution(&machine, None, None)
        .await
        .expect("starts");
    let mut asked = Vec::new();
    until("the question in the queue", async || {
        asked = drain(&engine, "approvals").await;
        !asked.is_empty()
    })
    .await;
    let question: Value = serde_json::from_str(&asked[0].body).expect("the raw message");
    let token = question["token"].as_str().expect("the task token");
    assert_eq!(
        engine
            .describe_execution(&started.execution_arn)
            .await
            .expect("describes")
            .status,
        "RUNNING",
        "the task waits for its token"
    );
    engine
        .send_task_success(token, r#"{"approved": true}"#)
        .await
        .expect("answers");
    let done = engine.wait(&started.execution_arn).await.expect("ends");
    assert_eq!(done.output.as_deref(), Some(r#"{"approved":true}"#));
}

#[tokio::test]
async fn bad_topics_subscriptions_and_messages_are_refused_naming_the_parameter() {
    let Setup { engine, .. } = setup(Handlers::new()).await;
    let none = BTreeMap::new();
    let (code, text) = refused(engine.create_topic("bad name", &none, &none).await);
    assert_eq!(
        (code, text.starts_with("Invalid parameter: Topic Name")),
        ("InvalidParameter", true)
    );
    let topic = engine
        .create_topic("t", &attrs(&[("DisplayName", "T")]), &none)
        .await
        .expect("creates");
    let again = engine
        .create_topic("t", &attrs(&[("DisplayName", "T")]), &none)
        .await
        .expect("the same topic again");
    assert_eq!(again.arn, topic.arn);
    let (_, text) = refused(
        engine
            .create_topic("t", &attrs(&[("DisplayName", "U")]), &none)
            .await,
    );
    assert!(text.contains("different attributes"), "{text}");
    let fifo = engine
        .create_topic("t.fifo", &none, &none)
        .await
        .expect("creates");
    assert_eq!(fifo.attributes["FifoTopic"], "true");

    let cases = [
        ("email", "a@example.com", none.clone(), "Protocol"),
        (
            "sqs",
            "arn:aws:sqs:us-east-1:000000000000:nope",
            none.clone(),
            "Endpoint",
        ),
        ("http", "https://example.com/", none.clone(), "Endpoint"),
        (
            "http",
            "http://127.0.0.1:1/",
            attrs(&[("FilterPolicy", r#"{"a": "b"}"#)]),
            "FilterPolicy",
        ),
        (
            "http",
            "http://127.0.0.1:1/",
            attrs(&[("RawMessageDelivery", "yes")]),
            "RawMessageDelivery",
        ),
        (
            "http",
            "http://127.0.0.1:1/",
            attrs(&[(
                "RedrivePolicy",
                r#"{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:nope"}"#,
            )]),
            "RedrivePolicy",
        ),
        (
            "http",
            "http://127.0.0.1:1/",
            attrs(&[("Color", "red")]),
            "AttributeName",
        ),
    ];
    for (protocol, endpoint, attributes, parameter) in cases {
        let (code, text) = refused(
            engine
                .subscribe(&topic.arn, protocol, endpoint, &attributes)
                .await,
        );
        assert_eq!(code, "InvalidParameter", "{text}");
        assert!(text.contains(parameter), "{parameter} in {text}");
    }
    let (_, text) = refused(
        engine
            .subscribe(&fifo.arn, "http", "http://127.0.0.1:1/", &none)
            .await,
    );
    assert!(text.contains("FIFO"), "{text}");

    let subscription = engine
        .subscribe(&topic.arn, "http", "http://127.0.0.1:1/", &none)
        .await
        .expect("subscribes");
    let same = engine
        .subscribe(&topic.arn, "http", "http://127.0.0.1:1/", &none)
        .await
        .expect("the same subscription again");
    assert_eq!(same.arn, subscription.arn);
    engine
        .set_subscription_attribute(&subscription.arn, "FilterPolicyScope", "MessageBody")
        .await
        .expect("sets");
    let nested = engine
        .set_subscription_attribute(&subscription.arn, "FilterPolicy", r#"{"a": {"b": ["c"]}}"#)
        .await
        .expect("a nested policy suits the body scope");
    assert_eq!(nested.scope(), engine::topics::Scope::MessageBody);
    let (_, text) = refused(
        engine
            .set_subscription_attribute(&subscription.arn, "FilterPolicyScope", "MessageAttributes")
            .await,
    );
    assert!(text.contains("nested"), "{text}");

    let publish = async |request: PublishRequest| engine.publish(&topic.arn, &request).await;
    for (request, parameter) in [
        (message("", json!({})), "Empty message"),
        (
            PublishRequest {
                subject: Some("two\nlines".into()),
                ..message("x", json!({}))
            },
            "Subject",
        ),
        (
            message(
                "x",
                json!({"n": {"DataType": "Number", "StringValue": "many"}}),
            ),
            "MessageAttributes",
        ),
        (
            PublishRequest {
                group_id: Some("g".into()),
                ..message("x", json!({}))
            },
            "MessageGroupId",
        ),
        (
            PublishRequest {
                structure: Some("json".into()),
                ..message(r#"{"sqs": "x"}"#, json!({}))
            },
            "No default entry",
        ),
    ] {
        let (code, text) = refused(publish(request).await);
        assert_eq!(code, "InvalidParameter", "{text}");
        assert!(text.contains(parameter), "{parameter} in {text}");
    }
    let (_, text) = refused(engine.publish(&fifo.arn, &message("x", json!({}))).await);
    assert!(text.contains("MessageGroupId"), "{text}");
    let (code, _) = refused(engine.get_topic("not an arn").await);
    assert_eq!(code, "InvalidParameter");
    let (code, _) = refused(engine.unsubscribe(&format!("{}:nope", topic.arn)).await);
    assert_eq!(code, "NotFound");
}
