//! Event-source mappings through the engine on a real SQLite file: a queue's messages handed in
//! batches to state machines and functions, partial batch failures, the queue's dead-letter
//! queue, retries and record age with an on-failure destination, bisection, the concurrency
//! limit, enable and disable, and a restart. Expected behaviour follows AWS Lambda's SQS event
//! source mappings. Time that matters (visibility timeouts, batching windows, record ages) runs
//! on a manual clock; the tests wait for facts, never for time.

mod support;

use engine::mappings::MappingConfig;
use engine::queues::{ReceiveRequest, SendRequest};
use engine::{Engine, Handlers, ManualClock, NewStateMachine, TaskFailure, handler_fn};
use jiff::SignedDuration;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{attrs, engine_with, open, setup, t0, text};

const FUNCTION: &str = "arn:aws:lambda:us-east-1:000000000000:function:work";

/// Waits until `check` holds (at most 20 s, then fails naming `what`).
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn queue(engine: &Engine, name: &str, attributes: &[(&str, &str)]) -> String {
    engine
        .create_queue(name, &attrs(attributes), &BTreeMap::new())
        .await
        .expect("the queue is created")
        .arn
}

async fn send(engine: &Engine, queue: &str, bodies: &[&str]) {
    engine
        .send_messages(queue, bodies.iter().map(|b| text(b)).collect())
        .await
        .expect("sends");
}

/// (visible, in flight) messages of a queue.
async fn counts(engine: &Engine, queue: &str) -> (u64, u64) {
    let attributes = engine.queue_attributes(queue).await.expect("attributes");
    let number = |key: &str| attributes[key].parse::<u64>().expect("a count");
    (
        number("ApproximateNumberOfMessages"),
        number("ApproximateNumberOfMessagesNotVisible"),
    )
}

/// The bodies of every batch a function was called with, in call order.
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<Vec<Vec<String>>>>);

impl Calls {
    fn record(&self, event: &Value) -> Vec<String> {
        let bodies: Vec<String> = event["Records"]
            .as_array()
            .expect("Records")
            .iter()
            .map(|r| r["body"].as_str().expect("a body").to_string())
            .collect();
        self.0.lock().expect("not poisoned").push(bodies.clone());
        bodies
    }

    fn all(&self) -> Vec<Vec<String>> {
        self.0.lock().expect("not poisoned").clone()
    }

    fn count(&self) -> usize {
        self.0.lock().expect("not poisoned").len()
    }
}

/// A function that fails every batch holding a record whose body is `poison` (all of them
/// when `poison` is `*`).
fn failing_on(poison: &'static str, calls: &Calls) -> Handlers {
    let calls = calls.clone();
    let mut handlers = Handlers::new();
    handlers.insert(
        FUNCTION,
        handler_fn(move |request| {
            let bodies = calls.record(&request.input);
            async move {
                if poison == "*" || bodies.iter().any(|b| b == poison) {
                    Err(TaskFailure::new("Poisoned", "a poison record"))
                } else {
                    Ok(json!({}))
                }
            }
        }),
    );
    handlers
}

async fn machine(engine: &Engine, name: &str, express: bool, definition: Value) -> String {
    engine
        .create_state_machine(NewStateMachine {
            name: name.to_string(),
            definition: definition.to_string(),
            express,
            role_arn: String::new(),
        })
        .await
        .expect("the definition is valid")
        .arn
}

async fn executions(engine: &Engine, machine: &str) -> Vec<store::ExecutionRecord> {
    engine
        .list_executions(store::ExecutionFilter {
            state_machine_arn: Some(machine.to_string()),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("lists")
        .items
}

#[tokio::test]
async fn a_standard_state_machine_gets_a_batch_in_sqss_lambda_event_shape() {
    let (_dir, engine, _clock) = setup(Handlers::new()).await;
    let arn = queue(&engine, "orders", &[]).await;
    let sent = engine
        .send_messages(
            "orders",
            vec![
                SendRequest {
                    body: "one".into(),
                    attributes: Map::from_iter([(
                        "kind".to_string(),
                        json!({"DataType": "String", "StringValue": "order"}),
                    )]),
                    ..SendRequest::default()
                },
                text("two"),
                text("three"),
            ],
        )
        .await
        .expect("sends");
    let machine = machine(
        &engine,
        "consume",
        false,
        json!({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let mapping = engine
        .create_event_source_mapping("orders", &machine, MappingConfig::default(), true)
        .await
        .expect("the mapping is created");
    assert_eq!(mapping.queue_arn, arn);
    assert_eq!(
        mapping.arn,
        format!(
            "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:{}",
            mapping.uuid
        )
    );
    eventually("the queue to be emptied", || async {
        counts(&engine, "orders").await == (0, 0)
    })
    .await;
    let runs = executions(&engine, &machine).await;
    assert_eq!(runs.len(), 1, "one batch, one execution");
    assert_eq!(runs[0].status, "SUCCEEDED");
    let input: Value = serde_json::from_str(&runs[0].input).expect("JSON input");
    let records = input["Records"].as_array().expect("Records");
    assert_eq!(records.len(), 3);
    let first = &records[0];
    assert_eq!(first["messageId"], json!(sent[0].id));
    assert_eq!(first["body"], "one");
    assert_eq!(first["md5OfBody"], json!(sent[0].md5_of_body));
    assert_eq!(first["eventSource"], "aws:sqs");
    assert_eq!(first["eventSourceARN"], json!(arn));
    assert_eq!(first["awsRegion"], "us-east-1");
    assert_eq!(first["attributes"]["ApproximateReceiveCount"], "1");
    assert!(first["attributes"]["SentTimestamp"].is_string());
    assert!(first["receiptHandle"].is_string());
    assert_eq!(
        first["messageAttributes"]["kind"],
        json!({"dataType": "String", "stringValue": "order", "stringListValues": [],
               "binaryListValues": []})
    );
    assert_eq!(
        first["md5OfMessageAttributes"],
        json!(sent[0].md5_of_attributes)
    );
}

#[tokio::test]
async fn an_express_machine_gets_batches_filled_up_to_the_batching_window() {
    let calls = Calls::default();
    let (_dir, engine, clock) = setup(failing_on("never", &calls)).await;
    queue(&engine, "clicks", &[]).await;
    let machine = machine(
        &engine,
        "count",
        true,
        json!({"StartAt": "Work", "States": {"Work": {
            "Type": "Task", "Resource": FUNCTION, "End": true
        }}}),
    )
    .await;
    let config = MappingConfig {
        batch_size: 5,
        batching_window_seconds: 2,
        ..MappingConfig::default()
    };
    engine
        .create_event_source_mapping("clicks", &machine, config, true)
        .await
        .expect("the mapping is created");
    send(&engine, "clicks", &["a", "b", "c"]).await;
    eventually("the poller to take the first messages", || async {
        counts(&engine, "clicks").await == (0, 3)
    })
    .await;
    // The window has not ended on the engine's clock: the batch waits to be filled.
    assert_eq!(calls.count(), 0);
    send(&engine, "clicks", &["d", "e"]).await;
    eventually("a full batch", || async { calls.count() == 1 }).await;
    assert_eq!(calls.all()[0], ["a", "b", "c", "d", "e"]);
    eventually("the batch to be deleted", || async {
        counts(&engine, "clicks").await == (0, 0)
    })
    .await;

    send(&engine, "clicks", &["f"]).await;
    eventually("the poller to take f", || async {
        counts(&engine, "clicks").await == (0, 1)
    })
    .await;
    assert_eq!(calls.count(), 1);
    clock.advance(SignedDuration::from_secs(2));
    eventually("the window to end the batch", || async {
        calls.count() == 2
    })
    .await;
    assert_eq!(calls.all()[1], ["f"]);
}

#[tokio::test]
async fn reported_batch_item_failures_leave_only_those_records_in_the_queue() {
    let (_dir, engine, clock) = setup(Handlers::new()).await;
    queue(&engine, "jobs", &[]).await;
    let machine = machine(
        &engine,
        "partial",
        false,
        json!({"QueryLanguage": "JSONata", "StartAt": "Report", "States": {"Report": {
            "Type": "Pass",
            "Output": {"batchItemFailures":
                "{% [$states.input.Records[body = 'bad'].{'itemIdentifier': messageId}] %}"},
            "End": true
        }}}),
    )
    .await;
    send(&engine, "jobs", &["good", "bad", "fine"]).await;
    let config = MappingConfig {
        report_batch_item_failures: true,
        ..MappingConfig::default()
    };
    let mapping = engine
        .create_event_source_mapping("jobs", &machine, config, true)
        .await
        .expect("the mapping is created");
    eventually("the good records to be deleted", || async {
        counts(&engine, "jobs").await == (0, 1)
    })
    .await;
    // The metrics count the records by outcome; the lag is the age of the one not yet handled.
    clock.advance(SignedDuration::from_secs(20));
    let families =
        engine::alarms::parse_exposition(&engine.render_metrics().await.expect("metrics render"));
    let series = |family: &str, outcome: Option<&str>| -> Vec<f64> {
        families[family]
            .series
            .iter()
            .filter(|s| {
                s.labels.get("mapping") == Some(&mapping.uuid)
                    && s.labels.get("queue").map(String::as_str) == Some("jobs")
                    && outcome
                        .is_none_or(|o| s.labels.get("outcome").map(String::as_str) == Some(o))
            })
            .map(|s| s.value)
            .collect()
    };
    assert_eq!(series("weir_mapping_records", Some("succeeded")), [2.0]);
    assert_eq!(series("weir_mapping_records", Some("failed")), [1.0]);
    assert_eq!(series("weir_mapping_lag_seconds", None), [20.0]);
    let runs = executions(&engine, &machine).await;
    assert_eq!(runs.len(), 1);
    let output: Value =
        serde_json::from_str(runs[0].output.as_deref().expect("an output")).expect("JSON output");
    assert_eq!(
        output["batchItemFailures"].as_array().map(Vec::len),
        Some(1)
    );
    // The one left is the bad one: deleting it by its receipt handle empties the queue.
    let input: Value = serde_json::from_str(&runs[0].input).expect("JSON input");
    let bad = input["Records"]
        .as_array()
        .expect("Records")
        .iter()
        .find(|r| r["body"] == "bad")
        .expect("the bad record");
    let handle = bad["receiptHandle"].as_str().expect("a handle").to_string();
    engine
        .delete_messages("jobs", &[handle])
        .await
        .expect("deletes");
    assert_eq!(counts(&engine, "jobs").await, (0, 0));
}

#[tokio::test]
async fn a_target_that_keeps_failing_sends_its_records_to_the_queues_dead_letter_queue() {
    let calls = Calls::default();
    let (_dir, engine, clock) = setup(failing_on("*", &calls)).await;
    let dlq = queue(&engine, "work-dlq", &[]).await;
    let policy = json!({"deadLetterTargetArn": dlq, "maxReceiveCount": 2}).to_string();
    queue(
        &engine,
        "work",
        &[("VisibilityTimeout", "10"), ("RedrivePolicy", &policy)],
    )
    .await;
    send(&engine, "work", &["doomed"]).await;
    engine
        .create_event_source_mapping("work", FUNCTION, MappingConfig::default(), true)
        .await
        .expect("the mapping is created");
    eventually("the first try", || async { calls.count() == 1 }).await;
    assert_eq!(
        counts(&engine, "work").await,
        (0, 1),
        "a failure deletes nothing"
    );
    clock.advance(SignedDuration::from_secs(10));
    eventually("the second try", || async { calls.count() == 2 }).await;
    clock.advance(SignedDuration::from_secs(10));
    eventually("the move to the dead-letter queue", || async {
        counts(&engine, "work-dlq").await == (1, 0)
    })
    .await;
    assert_eq!(counts(&engine, "work").await, (0, 0));
    assert_eq!(calls.count(), 2, "maxReceiveCount receives, then the DLQ");
}

#[tokio::test]
async fn records_past_their_retries_go_to_the_on_failure_destination() {
    let calls = Calls::default();
    let (_dir, engine, clock) = setup(failing_on("*", &calls)).await;
    queue(&engine, "source", &[("VisibilityTimeout", "10")]).await;
    let failed = queue(&engine, "failed", &[]).await;
    engine
        .send_messages(
            "source",
            vec![SendRequest {
                body: "x".into(),
                attributes: Map::from_iter([(
                    "trace".to_string(),
                    json!({"DataType": "String", "StringValue": "t-1"}),
                )]),
                ..SendRequest::default()
            }],
        )
        .await
        .expect("sends");
    let config = MappingConfig {
        maximum_retry_attempts: Some(1),
        on_failure_destination: Some(failed),
        ..MappingConfig::default()
    };
    engine
        .create_event_source_mapping("source", FUNCTION, config, true)
        .await
        .expect("the mapping is created");
    eventually("the first try", || async { calls.count() == 1 }).await;
    assert_eq!(counts(&engine, "failed").await, (0, 0));
    clock.advance(SignedDuration::from_secs(10));
    eventually("the record in the destination", || async {
        counts(&engine, "failed").await == (1, 0)
    })
    .await;
    eventually("the record deleted from its queue", || async {
        counts(&engine, "source").await == (0, 0)
    })
    .await;
    assert_eq!(calls.count(), 2, "one try and one retry");
    let given_up = engine
        .receive_messages(
            "failed",
            &ReceiveRequest {
                max: 10,
                visibility_timeout: None,
                wait_seconds: Some(0),
            },
        )
        .await
        .expect("receives");
    assert_eq!(given_up[0].body, "x");
    assert_eq!(
        given_up[0].message_attributes["trace"],
        json!({"DataType": "String", "StringValue": "t-1"})
    );
}

#[tokio::test]
async fn records_older_than_the_maximum_age_go_to_the_destination_without_a_call() {
    let calls = Calls::default();
    let (_dir, engine, clock) = setup(failing_on("never", &calls)).await;
    queue(&engine, "late", &[]).await;
    let stale = queue(&engine, "stale", &[]).await;
    send(&engine, "late", &["old"]).await;
    clock.advance(SignedDuration::from_secs(61));
    send(&engine, "late", &["new"]).await;
    let config = MappingConfig {
        maximum_record_age_seconds: Some(60),
        on_failure_destination: Some("stale".into()),
        ..MappingConfig::default()
    };
    let mapping = engine
        .create_event_source_mapping("late", FUNCTION, config, true)
        .await
        .expect("the mapping is created");
    assert_eq!(
        mapping.config.on_failure_destination,
        Some(stale),
        "a destination given by name is kept as its ARN"
    );
    eventually("the queue to be emptied", || async {
        counts(&engine, "late").await == (0, 0)
    })
    .await;
    assert_eq!(calls.all(), [["new"]]);
    assert_eq!(counts(&engine, "stale").await, (1, 0));
}

#[tokio::test]
async fn bisection_isolates_a_poison_record() {
    let calls = Calls::default();
    let (_dir, engine, _clock) = setup(failing_on("poison", &calls)).await;
    queue(&engine, "mixed", &[]).await;
    let quarantine = queue(&engine, "quarantine", &[]).await;
    send(&engine, "mixed", &["a", "b", "poison", "d"]).await;
    let config = MappingConfig {
        bisect_batch_on_function_error: true,
        maximum_retry_attempts: Some(0),
        on_failure_destination: Some(quarantine),
        ..MappingConfig::default()
    };
    engine
        .create_event_source_mapping("mixed", FUNCTION, config, true)
        .await
        .expect("the mapping is created");
    eventually("the queue to be emptied", || async {
        counts(&engine, "mixed").await == (0, 0)
    })
    .await;
    assert_eq!(
        calls.all(),
        vec![
            vec!["a", "b", "poison", "d"],
            vec!["a", "b"],
            vec!["poison", "d"],
            vec!["poison"],
            vec!["d"],
        ]
    );
    assert_eq!(counts(&engine, "quarantine").await, (1, 0));
}

#[tokio::test]
async fn no_more_batches_than_the_maximum_concurrency_are_in_flight() {
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let mut handlers = Handlers::new();
    {
        let (running, most, done, gate) =
            (running.clone(), most.clone(), done.clone(), gate.clone());
        handlers.insert(
            FUNCTION,
            handler_fn(move |_request| {
                let (running, most, done, gate) =
                    (running.clone(), most.clone(), done.clone(), gate.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    gate.acquire().await.expect("the gate stays open").forget();
                    running.fetch_sub(1, Ordering::SeqCst);
                    done.fetch_add(1, Ordering::SeqCst);
                    Ok(json!({}))
                }
            }),
        );
    }
    let (_dir, engine, _clock) = setup(handlers).await;
    queue(&engine, "busy", &[]).await;
    send(&engine, "busy", &["1", "2", "3", "4", "5", "6"]).await;
    let config = MappingConfig {
        batch_size: 1,
        maximum_concurrency: Some(2),
        ..MappingConfig::default()
    };
    engine
        .create_event_source_mapping("busy", FUNCTION, config, true)
        .await
        .expect("the mapping is created");
    eventually("two batches in flight", || async {
        running.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert_eq!(running.load(Ordering::SeqCst), 2);
    assert_eq!(
        counts(&engine, "busy").await,
        (4, 2),
        "the poller takes no more"
    );
    for finished in 1..=6 {
        gate.add_permits(1);
        eventually("a batch to finish", || async {
            done.load(Ordering::SeqCst) == finished
        })
        .await;
    }
    eventually("the queue to be emptied", || async {
        counts(&engine, "busy").await == (0, 0)
    })
    .await;
    assert_eq!(most.load(Ordering::SeqCst), 2, "at most two at once");
}

#[tokio::test]
async fn a_fifo_queues_groups_stay_in_order_through_a_mapping() {
    let calls = Calls::default();
    let (_dir, engine, _clock) = setup(failing_on("never", &calls)).await;
    queue(
        &engine,
        "steps.fifo",
        &[("ContentBasedDeduplication", "true")],
    )
    .await;
    let in_group = |body: &str, group: &str| SendRequest {
        body: body.to_string(),
        group_id: Some(group.to_string()),
        ..SendRequest::default()
    };
    engine
        .send_messages(
            "steps.fifo",
            vec![
                in_group("a1", "a"),
                in_group("a2", "a"),
                in_group("b1", "b"),
                in_group("a3", "a"),
            ],
        )
        .await
        .expect("sends");
    let config = MappingConfig {
        batch_size: 1,
        maximum_concurrency: Some(10),
        ..MappingConfig::default()
    };
    engine
        .create_event_source_mapping("steps.fifo", FUNCTION, config, true)
        .await
        .expect("the mapping is created");
    eventually("the queue to be emptied", || async {
        counts(&engine, "steps.fifo").await == (0, 0)
    })
    .await;
    let group_a: Vec<String> = calls
        .all()
        .into_iter()
        .flatten()
        .filter(|body| body.starts_with('a'))
        .collect();
    assert_eq!(group_a, ["a1", "a2", "a3"], "a group's records in order");
    assert_eq!(calls.count(), 4);
}

#[tokio::test]
async fn disabling_stops_deliveries_and_enabling_resumes_them() {
    let calls = Calls::default();
    let (_dir, engine, _clock) = setup(failing_on("never", &calls)).await;
    queue(&engine, "inbox", &[]).await;
    let mapping = engine
        .create_event_source_mapping("inbox", FUNCTION, MappingConfig::default(), true)
        .await
        .expect("the mapping is created");
    send(&engine, "inbox", &["first"]).await;
    eventually("the first delivery", || async { calls.count() == 1 }).await;
    eventually("the first message to be deleted", || async {
        counts(&engine, "inbox").await == (0, 0)
    })
    .await;

    let disabled = engine
        .update_event_source_mapping(&mapping.uuid, FUNCTION, mapping.config.clone(), false)
        .await
        .expect("disables");
    assert!(!disabled.enabled);
    // The poller has ended (the update waited for it): nothing takes messages any more.
    assert!(!engine.mapping_polls(&mapping.uuid));
    send(&engine, "inbox", &["second"]).await;
    assert_eq!(counts(&engine, "inbox").await, (1, 0));
    assert_eq!(calls.count(), 1);

    engine
        .update_event_source_mapping(&mapping.uuid, FUNCTION, mapping.config.clone(), true)
        .await
        .expect("enables");
    assert!(engine.mapping_polls(&mapping.uuid));
    eventually("the second delivery", || async { calls.count() == 2 }).await;
    assert_eq!(calls.all()[1], ["second"]);
}

#[tokio::test]
async fn an_enabled_mapping_resumes_when_the_engine_starts_again() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(t0()));
    let first_calls = Calls::default();
    let engine = engine_with(open(&dir), clock.clone(), failing_on("never", &first_calls)).await;
    queue(&engine, "durable", &[]).await;
    let mapping = engine
        .create_event_source_mapping("durable", FUNCTION, MappingConfig::default(), true)
        .await
        .expect("the mapping is created");
    engine.stop_mappings().await;
    drop(engine);

    let calls = Calls::default();
    let engine = engine_with(open(&dir), clock, failing_on("never", &calls)).await;
    assert!(engine.mapping_polls(&mapping.uuid));
    let found = engine
        .get_event_source_mapping(&mapping.uuid)
        .await
        .expect("the mapping is stored");
    assert_eq!(found, mapping);
    send(&engine, "durable", &["after restart"]).await;
    eventually("a delivery by the new engine", || async {
        calls.count() == 1
    })
    .await;
    assert_eq!(first_calls.count(), 0);
}

#[tokio::test]
async fn mappings_are_listed_changed_and_deleted() {
    let (_dir, engine, _clock) = setup(failing_on("never", &Calls::default())).await;
    queue(&engine, "a", &[]).await;
    queue(&engine, "b", &[]).await;
    let on_a = engine
        .create_event_source_mapping("a", FUNCTION, MappingConfig::default(), false)
        .await
        .expect("creates");
    let b_arn = engine.queue_arn("b");
    let on_b = engine
        .create_event_source_mapping(&b_arn, FUNCTION, MappingConfig::default(), false)
        .await
        .expect("creates from an ARN");
    assert!(!engine.mapping_polls(&on_a.uuid));
    let all = engine
        .list_event_source_mappings(None, None)
        .await
        .expect("lists");
    assert_eq!(all.len(), 2);
    let of_b = engine
        .list_event_source_mappings(Some("b"), Some(FUNCTION))
        .await
        .expect("lists");
    assert_eq!(of_b, std::slice::from_ref(&on_b));

    let config = MappingConfig {
        batch_size: 100,
        batching_window_seconds: 5,
        ..MappingConfig::default()
    };
    let changed = engine
        .update_event_source_mapping(&on_b.uuid, FUNCTION, config.clone(), false)
        .await
        .expect("updates");
    assert_eq!(changed.config, config);
    assert_eq!(changed.created, on_b.created);

    let deleted = engine
        .delete_event_source_mapping(&on_b.uuid)
        .await
        .expect("deletes");
    assert_eq!(deleted.uuid, on_b.uuid);
    let gone = engine
        .get_event_source_mapping(&on_b.uuid)
        .await
        .expect_err("it is gone");
    assert_eq!(gone.code(), "ResourceNotFoundException");
    let again = engine
        .delete_event_source_mapping(&on_b.uuid)
        .await
        .expect_err("it is gone");
    assert_eq!(again.code(), "ResourceNotFoundException");
}

#[tokio::test]
async fn invalid_mappings_are_refused_with_every_problem() {
    let (_dir, engine, _clock) = setup(failing_on("never", &Calls::default())).await;
    queue(&engine, "plain", &[]).await;
    queue(&engine, "ordered.fifo", &[]).await;
    let refused = |result: Result<engine::mappings::MappingRecord, engine::Error>| {
        let error = result.expect_err("refused");
        assert_eq!(error.code(), "InvalidParameterValueException", "{error}");
        error.to_string()
    };
    let message = refused(
        engine
            .create_event_source_mapping("missing", FUNCTION, MappingConfig::default(), true)
            .await,
    );
    assert!(message.contains("missing does not exist"), "{message}");
    let bad = MappingConfig {
        batch_size: 50,
        maximum_concurrency: Some(1),
        on_failure_destination: Some(engine.queue_arn("nowhere")),
        ..MappingConfig::default()
    };
    let message = refused(
        engine
            .create_event_source_mapping(
                "plain",
                "arn:aws:states:us-east-1:000000000000:stateMachine:none",
                bad,
                true,
            )
            .await,
    );
    for part in [
        "greater than 0 if maximum batch size",
        "MaximumConcurrency",
        "nowhere does not exist",
        "state machine cannot run",
    ] {
        assert!(message.contains(part), "{part} in {message}");
    }
    let fifo = MappingConfig {
        batch_size: 11,
        batching_window_seconds: 1,
        bisect_batch_on_function_error: true,
        ..MappingConfig::default()
    };
    let message = refused(
        engine
            .create_event_source_mapping("ordered.fifo", FUNCTION, fifo, true)
            .await,
    );
    assert_eq!(message.matches("; ").count(), 2, "{message}");
    let message = refused(
        engine
            .create_event_source_mapping(
                "plain",
                "arn:aws:lambda:us-east-1:000000000000:function:unknown",
                MappingConfig::default(),
                true,
            )
            .await,
    );
    assert!(message.contains("No function runs"), "{message}");
    let to_itself = MappingConfig {
        on_failure_destination: Some(engine.queue_arn("plain")),
        ..MappingConfig::default()
    };
    let message = refused(
        engine
            .create_event_source_mapping("plain", FUNCTION, to_itself, true)
            .await,
    );
    assert!(
        message.contains("must not be the event source"),
        "{message}"
    );
}
