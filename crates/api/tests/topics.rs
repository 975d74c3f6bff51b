//! weir's topic operations (`Weir.CreateTopic`, `Weir.Subscribe`, `Weir.Publish`, ...) through
//! the router (`oneshot`), on the SQLite store: a topic is created, subscribed, published to,
//! listed and deleted; bad requests are refused naming the member or parameter; and an HTTP
//! subscription delivers to a real axum endpoint on a local port that fails twice, retried on a
//! manual clock after 1 and 2 seconds.

mod support;

use axum::http::{HeaderMap, StatusCode};
use engine::queues::ReceiveRequest;
use engine::topics::DELIVERY_QUEUE;
use engine::{Engine, Handlers, ManualClock, Options};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::Store;

/// An API on a fresh store and a manual clock; its engine runs no tasks.
struct Setup {
    api: api::Api,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

fn t0() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().expect("a timestamp")
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store: Arc<dyn Store> = support::open(&dir);
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = Engine::start(
        store.clone(),
        clock.clone(),
        Arc::new(Handlers::new()),
        Options::default(),
    )
    .await
    .expect("the engine starts");
    Setup {
        api: support::api_on(engine, Arc::new(functions::Registry::new())),
        store,
        clock,
        _dir: dir,
    }
}

/// Calls `Weir.<operation>`, which must succeed; its answer.
async fn ok(setup: &Setup, operation: &str, input: Value) -> Value {
    support::ok(&setup.api, &format!("Weir.{operation}"), input).await
}

/// Calls `Weir.<operation>`, which must fail with `code`; its message.
async fn refused(setup: &Setup, operation: &str, input: Value, code: &str) -> String {
    support::refused(&setup.api, &format!("Weir.{operation}"), input, code).await
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_created_subscribed_published_to_listed_and_deleted() {
    let setup = setup().await;
    let engine = &setup.api.engine;
    let none = BTreeMap::new();
    let queue = engine
        .create_queue("inbox", &none, &none)
        .await
        .expect("creates");
    let topic = ok(
        &setup,
        "CreateTopic",
        json!({"name": "orders", "attributes": {"DisplayName": "Orders"}, "tags": {"team": "a"}}),
    )
    .await;
    assert_eq!(
        topic["topicArn"],
        json!("arn:aws:sns:us-east-1:000000000000:orders")
    );
    assert_eq!(topic["fifo"], json!(false));
    assert_eq!(topic["tags"], json!({"team": "a"}));
    assert!(topic["creationDate"].is_number());

    // A bare name stands for the topic's ARN.
    let subscription = ok(
        &setup,
        "Subscribe",
        json!({"topicArn": "orders", "protocol": "sqs", "endpoint": queue.arn,
               "attributes": {"RawMessageDelivery": "true"}}),
    )
    .await;
    let subscription_arn = subscription["subscriptionArn"]
        .as_str()
        .expect("an ARN")
        .to_string();
    assert_eq!(
        subscription["attributes"]["RawMessageDelivery"],
        json!("true")
    );

    let published = ok(
        &setup,
        "Publish",
        json!({"topicArn": topic["topicArn"], "message": "hello",
               "messageAttributes": {"kind": {"dataType": "String", "stringValue": "greeting"}}}),
    )
    .await;
    assert!(published["messageId"].is_string());
    let received = engine
        .receive_messages(
            "inbox",
            &ReceiveRequest {
                max: 10,
                visibility_timeout: Some(30),
                wait_seconds: Some(0),
            },
        )
        .await
        .expect("receives");
    assert_eq!(received[0].body, "hello");
    assert_eq!(
        received[0].message_attributes["kind"],
        json!({"DataType": "String", "StringValue": "greeting"})
    );

    let listed = ok(&setup, "ListTopics", json!({})).await;
    assert_eq!(listed["topics"][0]["name"], json!("orders"));
    assert_eq!(listed["topics"][0]["subscriptions"], json!(1));
    let described = ok(&setup, "GetTopicAttributes", json!({"topicArn": "orders"})).await;
    assert_eq!(described["attributes"]["DisplayName"], json!("Orders"));
    assert_eq!(
        described["attributes"]["SubscriptionsConfirmed"],
        json!("1")
    );
    let by_topic = ok(
        &setup,
        "ListSubscriptionsByTopic",
        json!({"topicArn": "orders"}),
    )
    .await;
    assert_eq!(
        by_topic["subscriptions"][0]["subscriptionArn"],
        json!(subscription_arn)
    );
    let all = ok(&setup, "ListSubscriptions", json!({})).await;
    assert_eq!(all["subscriptions"].as_array().map(Vec::len), Some(1));

    let changed = ok(
        &setup,
        "SetSubscriptionAttributes",
        json!({"subscriptionArn": subscription_arn, "attributeName": "FilterPolicy",
               "attributeValue": "{\"kind\": [\"order\"]}"}),
    )
    .await;
    assert_eq!(
        changed["attributes"]["FilterPolicy"],
        json!("{\"kind\": [\"order\"]}")
    );
    let effective = ok(
        &setup,
        "GetSubscriptionAttributes",
        json!({"subscriptionArn": subscription_arn}),
    )
    .await;
    assert_eq!(effective["attributes"]["Protocol"], json!("sqs"));
    assert_eq!(
        effective["attributes"]["PendingConfirmation"],
        json!("false")
    );
    let policy: Value = serde_json::from_str(
        effective["attributes"]["EffectiveDeliveryPolicy"]
            .as_str()
            .expect("a policy"),
    )
    .expect("JSON");
    assert_eq!(policy["healthyRetryPolicy"]["numRetries"], json!(3));

    ok(
        &setup,
        "Unsubscribe",
        json!({"subscriptionArn": subscription_arn}),
    )
    .await;
    refused(
        &setup,
        "Unsubscribe",
        json!({"subscriptionArn": subscription_arn}),
        "NotFound",
    )
    .await;
    ok(&setup, "DeleteTopic", json!({"topicArn": "orders"})).await;
    ok(&setup, "DeleteTopic", json!({"topicArn": "orders"})).await;
    let gone = refused(
        &setup,
        "Publish",
        json!({"topicArn": "orders", "message": "x"}),
        "NotFound",
    )
    .await;
    assert_eq!(gone, "Topic does not exist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_name_the_member_or_parameter() {
    let setup = setup().await;
    ok(&setup, "CreateTopic", json!({"name": "t"})).await;
    let missing = refused(
        &setup,
        "Subscribe",
        json!({"topicArn": "t", "endpoint": "http://127.0.0.1:1/"}),
        "ValidationException",
    )
    .await;
    assert!(missing.contains("'protocol'"), "{missing}");
    let protocol = refused(
        &setup,
        "Subscribe",
        json!({"topicArn": "t", "protocol": "email", "endpoint": "a@example.com"}),
        "InvalidParameter",
    )
    .await;
    assert!(
        protocol.starts_with("Invalid parameter: Protocol"),
        "{protocol}"
    );
    let filter = refused(
        &setup,
        "Subscribe",
        json!({"topicArn": "t", "protocol": "http", "endpoint": "http://127.0.0.1:1/",
               "attributes": {"FilterPolicy": "{\"a\": [{\"regex\": \"x\"}]}"}}),
        "InvalidParameter",
    )
    .await;
    assert!(
        filter.starts_with("Invalid parameter: FilterPolicy"),
        "{filter}"
    );
    let typed = refused(
        &setup,
        "Publish",
        json!({"topicArn": "t", "message": "x", "messageAttributes": {"kind": {"dataType": 1}}}),
        "SerializationException",
    )
    .await;
    assert!(
        typed.contains("'messageAttributes.kind.dataType'"),
        "{typed}"
    );
    let value = refused(
        &setup,
        "Publish",
        json!({"topicArn": "t", "message": "x",
               "messageAttributes": {"n": {"dataType": "Number", "stringValue": "many"}}}),
        "InvalidParameter",
    )
    .await;
    assert!(value.contains("MessageAttributes"), "{value}");
    let arn = refused(
        &setup,
        "GetTopicAttributes",
        json!({"topicArn": "arn:aws:sqs:us-east-1:000000000000:t"}),
        "InvalidParameter",
    )
    .await;
    assert!(arn.contains("TopicArn"), "{arn}");
    refused(
        &setup,
        "GetSubscriptionAttributes",
        json!({"subscriptionArn": "arn:aws:sns:us-east-1:000000000000:t:nope"}),
        "NotFound",
    )
    .await;
}

/// What the endpoint saw: each request's headers and body.
type Seen = Arc<Mutex<Vec<(HeaderMap, String)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_subscription_is_retried_against_a_real_endpoint() {
    let setup = setup().await;
    let seen: Seen = Arc::default();
    let kept = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let kept = kept.clone();
            async move {
                let mut seen = kept.lock().expect("not poisoned");
                seen.push((headers, body));
                if seen.len() <= 2 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    ok(&setup, "CreateTopic", json!({"name": "alerts"})).await;
    ok(
        &setup,
        "Subscribe",
        json!({"topicArn": "alerts", "protocol": "http", "endpoint": url}),
    )
    .await;
    let published = ok(
        &setup,
        "Publish",
        json!({"topicArn": "alerts", "message": "disk full", "subject": "Alert"}),
    )
    .await;

    let hits = || seen.lock().expect("not poisoned").len();
    let next_attempt = async || {
        setup
            .store
            .peek_messages(DELIVERY_QUEUE, 1)
            .await
            .expect("peeks")
            .first()
            .map(|m| m.visible_at)
    };
    let at = |seconds: i64| t0().saturating_add(SignedDuration::from_secs(seconds)).ok();
    until("the first retry to be scheduled", async || {
        next_attempt().await == at(1)
    })
    .await;
    assert_eq!(hits(), 1);
    setup.clock.advance(SignedDuration::from_secs(1));
    until("the second retry to be scheduled", async || {
        next_attempt().await == at(3)
    })
    .await;
    assert_eq!(hits(), 2);
    setup.clock.advance(SignedDuration::from_secs(2));
    until("the delivery", async || {
        hits() == 3 && next_attempt().await.is_none()
    })
    .await;

    let (headers, body) = seen.lock().expect("not poisoned")[2].clone();
    assert_eq!(headers["x-amz-sns-message-type"], "Notification");
    assert_eq!(
        headers["x-amz-sns-message-id"],
        published["messageId"].as_str().expect("an id")
    );
    let envelope: Value = serde_json::from_str(&body).expect("the envelope");
    assert_eq!(envelope["Message"], json!("disk full"));
    assert_eq!(envelope["Subject"], json!("Alert"));
    assert_eq!(envelope["MessageId"], published["messageId"]);
}
