//! weir's queues through the engine on a real SQLite file: SQS's rules for attributes, sends,
//! receives, visibility, receipts, dead-letter queues, FIFO groups and deduplication, purges and
//! move tasks. Expected values follow the SQS developer guide and API reference.

mod support;

use engine::queues::{ReceiveRequest, SendRequest};
use engine::{Handlers, ManualClock};
use jiff::SignedDuration;
use serde_json::{Map, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use support::{attrs, engine_with, open, setup, t0, text};

fn take(max: usize, visibility: u64) -> ReceiveRequest {
    ReceiveRequest {
        max,
        visibility_timeout: Some(visibility),
        wait_seconds: Some(0),
    }
}

fn code(error: &engine::Error) -> &'static str {
    error.code()
}

#[tokio::test]
async fn messages_are_invisible_while_received_and_come_back_after_the_timeout() {
    let (_dir, engine, clock) = setup(Handlers::new()).await;
    engine
        .create_queue(
            "orders",
            &attrs(&[("VisibilityTimeout", "10")]),
            &BTreeMap::new(),
        )
        .await
        .expect("creates");
    let sent = engine
        .send_messages("orders", vec![text("one"), text("two")])
        .await
        .expect("sends");
    assert_eq!(sent[0].md5_of_body, "f97c5d29941bfb1b2fdab0874906ab82");
    let first = engine
        .receive_messages("orders", &take(10, 10))
        .await
        .expect("receives");
    assert_eq!(
        first.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["one", "two"]
    );
    assert_eq!(first[0].attributes["ApproximateReceiveCount"], "1");
    assert!(
        engine
            .receive_messages("orders", &take(10, 10))
            .await
            .expect("receives")
            .is_empty(),
        "received messages are invisible"
    );
    let counts = engine.queue_attributes("orders").await.expect("attributes");
    assert_eq!(counts["ApproximateNumberOfMessagesNotVisible"], "2");
    assert_eq!(counts["ApproximateNumberOfMessages"], "0");

    engine
        .delete_messages("orders", &[first[0].receipt_handle.clone()])
        .await
        .expect("deletes");
    clock.advance(SignedDuration::from_secs(10));
    let again = engine
        .receive_messages("orders", &take(10, 10))
        .await
        .expect("receives");
    assert_eq!(again.len(), 1, "the deleted message stays deleted");
    assert_eq!(again[0].body, "two");
    assert_eq!(again[0].attributes["ApproximateReceiveCount"], "2");

    // The first receive's handle is stale now: it deletes nothing.
    engine
        .delete_messages("orders", &[first[1].receipt_handle.clone()])
        .await
        .expect("a stale handle is accepted");
    let counts = engine.queue_attributes("orders").await.expect("attributes");
    assert_eq!(counts["ApproximateNumberOfMessagesNotVisible"], "1");
    let bad = engine
        .delete_messages("orders", &["nonsense".to_string()])
        .await
        .expect("answers per handle");
    assert_eq!(bad[0].as_ref().map_err(code), Err("ReceiptHandleIsInvalid"));
}

#[tokio::test]
async fn a_message_received_too_often_moves_to_the_dead_letter_queue_and_back() {
    let (_dir, engine, clock) = setup(Handlers::new()).await;
    let dlq = engine
        .create_queue("orders-dlq", &BTreeMap::new(), &BTreeMap::new())
        .await
        .expect("creates");
    let policy = json!({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 2}).to_string();
    engine
        .create_queue(
            "orders",
            &attrs(&[("RedrivePolicy", &policy)]),
            &BTreeMap::new(),
        )
        .await
        .expect("creates");
    engine
        .send_messages("orders", vec![text("poison")])
        .await
        .expect("sends");
    for _ in 0..2 {
        let got = engine
            .receive_messages("orders", &take(1, 5))
            .await
            .expect("receives");
        assert_eq!(got.len(), 1);
        clock.advance(SignedDuration::from_secs(5));
    }
    let third = engine
        .receive_messages("orders", &take(1, 5))
        .await
        .expect("receives");
    assert!(third.is_empty(), "the third receive moves it instead");
    let dead = engine
        .receive_messages("orders-dlq", &take(10, 0))
        .await
        .expect("receives");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "poison");
    let sources = engine
        .dead_letter_source_queues("orders-dlq")
        .await
        .expect("lists");
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].name, "orders");

    let handle = engine
        .start_message_move_task(&dlq.arn, None, Some(10))
        .await
        .expect("starts");
    for _ in 0..100 {
        let tasks = engine
            .list_message_move_tasks(&dlq.arn, 10)
            .await
            .expect("lists");
        if tasks[0].status == "COMPLETED" {
            assert_eq!(tasks[0].handle, handle);
            assert_eq!(tasks[0].moved, 1);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let back = engine
        .receive_messages("orders", &take(10, 5))
        .await
        .expect("receives");
    assert_eq!(back.len(), 1, "the move task brought it back");
    assert_eq!(back[0].attributes["ApproximateReceiveCount"], "1");

    let metrics = engine.queue_metrics().await.expect("metrics");
    let of = |name: &str| {
        metrics
            .iter()
            .find(|m| m.queue == name)
            .cloned()
            .expect("a queue's metrics")
    };
    let orders = of("orders");
    assert_eq!(
        (
            orders.sent,
            orders.received,
            orders.moved_to_dead_letter,
            orders.in_flight
        ),
        (1, 3, 1, 1)
    );
    let dead = of("orders-dlq");
    assert_eq!((dead.received, dead.redriven, dead.visible), (1, 1, 0));
}

#[tokio::test]
async fn fifo_queues_keep_group_order_and_drop_duplicates() {
    let (_dir, engine, _clock) = setup(Handlers::new()).await;
    engine
        .create_queue(
            "jobs.fifo",
            &attrs(&[("FifoQueue", "true")]),
            &BTreeMap::new(),
        )
        .await
        .expect("creates");
    let in_group = |body: &str, group: &str, dedup: &str| SendRequest {
        body: body.to_string(),
        group_id: Some(group.to_string()),
        dedup_id: Some(dedup.to_string()),
        ..SendRequest::default()
    };
    let sent = engine
        .send_messages(
            "jobs.fifo",
            vec![
                in_group("a1", "a", "1"),
                in_group("b1", "b", "2"),
                in_group("a2", "a", "3"),
                in_group("a1-again", "a", "1"),
            ],
        )
        .await
        .expect("sends");
    assert_eq!(
        sent[3].id, sent[0].id,
        "a duplicate answers with the first id"
    );
    let first = engine
        .receive_messages("jobs.fifo", &take(1, 30))
        .await
        .expect("receives");
    assert_eq!(first[0].body, "a1");
    // Group a is blocked while a1 is in flight; b is not.
    let next = engine
        .receive_messages("jobs.fifo", &take(10, 30))
        .await
        .expect("receives");
    assert_eq!(
        next.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["b1"]
    );
    engine
        .delete_messages("jobs.fifo", &[first[0].receipt_handle.clone()])
        .await
        .expect("deletes");
    let last = engine
        .receive_messages("jobs.fifo", &take(10, 30))
        .await
        .expect("receives");
    assert_eq!(last[0].body, "a2");
    let missing_group = engine
        .send_messages("jobs.fifo", vec![text("no group")])
        .await
        .expect_err("FIFO needs a group");
    assert_eq!(code(&missing_group), "MissingParameter");
}

#[tokio::test]
async fn bad_requests_are_refused_with_sqs_codes() {
    let (_dir, engine, _clock) = setup(Handlers::new()).await;
    let refused = engine
        .create_queue("bad name!", &BTreeMap::new(), &BTreeMap::new())
        .await
        .expect_err("invalid name");
    assert_eq!(code(&refused), "InvalidParameterValue");
    engine
        .create_queue("q", &attrs(&[("DelaySeconds", "5")]), &BTreeMap::new())
        .await
        .expect("creates");
    let again = engine
        .create_queue("q", &attrs(&[("DelaySeconds", "6")]), &BTreeMap::new())
        .await
        .expect_err("same name, other attributes");
    assert_eq!(code(&again), "QueueNameExists");
    let missing = engine
        .send_messages("nope", vec![text("x")])
        .await
        .expect_err("no such queue");
    assert_eq!(code(&missing), "QueueDoesNotExist");
    let empty = engine
        .send_messages("q", vec![text("")])
        .await
        .expect_err("empty body");
    assert_eq!(code(&empty), "MissingParameter");
    let big = engine
        .send_messages("q", vec![text(&"x".repeat(262_145))])
        .await
        .expect_err("too big");
    assert_eq!(code(&big), "InvalidParameterValue");
    let mut attributes = Map::new();
    attributes.insert(
        "n".into(),
        json!({"DataType": "Number", "StringValue": "x"}),
    );
    let bad = engine
        .send_messages(
            "q",
            vec![SendRequest {
                body: "b".into(),
                attributes,
                ..SendRequest::default()
            }],
        )
        .await
        .expect_err("not a number");
    assert_eq!(code(&bad), "InvalidParameterValue");
    engine.purge_queue("q").await.expect("purges");
    let twice = engine
        .purge_queue("q")
        .await
        .expect_err("one purge a minute");
    assert_eq!(code(&twice), "PurgeQueueInProgress");
}

#[tokio::test]
async fn a_long_poll_returns_when_a_message_arrives() {
    let (_dir, engine, _clock) = setup(Handlers::new()).await;
    engine
        .create_queue("events", &BTreeMap::new(), &BTreeMap::new())
        .await
        .expect("creates");
    let poller = {
        let engine = engine.clone();
        tokio::spawn(async move {
            let began = std::time::Instant::now();
            let got = engine
                .receive_messages(
                    "events",
                    &ReceiveRequest {
                        max: 1,
                        visibility_timeout: None,
                        wait_seconds: Some(20),
                    },
                )
                .await;
            (got, began.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    engine
        .send_messages("events", vec![text("hello")])
        .await
        .expect("sends");
    let (got, waited) = poller.await.expect("the poll ends");
    assert_eq!(got.expect("receives")[0].body, "hello");
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
}

#[tokio::test]
async fn sends_survive_a_restart() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = engine_with(open(&dir), clock.clone(), Handlers::new()).await;
    engine
        .create_queue("durable", &BTreeMap::new(), &BTreeMap::new())
        .await
        .expect("creates");
    engine
        .send_messages("durable", vec![text("kept")])
        .await
        .expect("sends");
    drop(engine);
    let engine = engine_with(open(&dir), clock, Handlers::new()).await;
    let got = engine
        .receive_messages("durable", &take(10, 30))
        .await
        .expect("receives");
    assert_eq!(got[0].body, "kept");
}

#[tokio::test]
async fn a_task_sends_its_token_through_a_queue_and_a_consumer_answers() {
    let (_dir, engine, _clock) = setup(Handlers::new()).await;
    let queue = engine
        .create_queue("approvals", &BTreeMap::new(), &BTreeMap::new())
        .await
        .expect("creates");
    let machine = support::create(
        &engine,
        "approve",
        json!({"StartAt": "Ask", "States": {"Ask": {
            "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {
                "QueueUrl": format!("http://127.0.0.1:8083/000000000000/{}", queue.name),
                "MessageBody": {"order.$": "$.order", "token.$": "$$.Task.Token"}
            },
            "End": true
        }}}),
    )
    .await;
    let run = engine
        .start_execution(&machine, None, Some(r#"{"order": 7}"#))
        .await
        .expect("starts");
    let got = engine
        .receive_messages(
            "approvals",
            &ReceiveRequest {
                max: 1,
                visibility_timeout: Some(30),
                wait_seconds: Some(10),
            },
        )
        .await
        .expect("receives");
    let body: serde_json::Value = serde_json::from_str(&got[0].body).expect("a JSON body");
    assert_eq!(body["order"], 7);
    engine
        .send_task_success(
            body["token"].as_str().expect("a token"),
            r#"{"approved": true}"#,
        )
        .await
        .expect("the token works");
    let done = engine.wait(&run.execution_arn).await.expect("ends");
    assert_eq!(done.output.as_deref(), Some(r#"{"approved":true}"#));
    let history = support::types(&engine, &run.execution_arn).await;
    assert!(
        history.contains(&"TaskSubmitted".to_string()),
        "{history:?}"
    );
}

/// A move task's state after a restart: the first process (its own Tokio runtime) is dropped
/// while the task runs, which ends the task's work mid-way as a crash would; the engine started
/// again on the same SQLite file resumes it from what it had written, and it moves every message
/// once.
#[test]
fn a_message_move_task_survives_a_restart_and_moves_each_message_once() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(t0()));
    let runtime = || tokio::runtime::Runtime::new().expect("a runtime");
    let (dlq_arn, handle, moved_before) = runtime().block_on(async {
        let engine = engine_with(open(&dir), clock.clone(), Handlers::new()).await;
        let none = BTreeMap::new();
        let dlq = engine
            .create_queue("redo-dlq", &none, &none)
            .await
            .expect("creates");
        let policy = json!({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 2}).to_string();
        let source = engine
            .create_queue("redo", &attrs(&[("RedrivePolicy", &policy)]), &none)
            .await
            .expect("creates");
        let bodies = (0..30).map(|i| text(&format!("m{i}"))).collect();
        engine
            .send_messages("redo-dlq", bodies)
            .await
            .expect("sends");
        // Ten a second: three seconds for all thirty.
        let handle = engine
            .start_message_move_task(&dlq.arn, Some(&source.arn), Some(10))
            .await
            .expect("starts");
        let mut moved = 0;
        for _ in 0..200 {
            let tasks = engine
                .list_message_move_tasks(&dlq.arn, 10)
                .await
                .expect("lists");
            moved = tasks[0].moved;
            if moved >= 5 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!((5..30).contains(&moved), "moved {moved} before the stop");
        (dlq.arn, handle, moved)
    });
    // The first runtime is gone, and the task's work with it.
    runtime().block_on(async {
        let engine = engine_with(open(&dir), clock.clone(), Handlers::new()).await;
        let mut last = None;
        for _ in 0..500 {
            let tasks = engine
                .list_message_move_tasks(&dlq_arn, 10)
                .await
                .expect("lists");
            if tasks[0].status == "COMPLETED" {
                last = Some(tasks[0].clone());
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let task = last.expect("the resumed task completes");
        assert_eq!(task.handle, handle);
        assert!(task.moved > moved_before);
        let metrics = engine.queue_metrics().await.expect("metrics");
        let visible = |name: &str| {
            metrics
                .iter()
                .find(|m| m.queue == name)
                .map(|m| m.visible)
                .expect("the queue")
        };
        assert_eq!(visible("redo-dlq"), 0, "everything moved");
        assert_eq!(visible("redo"), 30, "each message once");
        assert_eq!(task.to_move, 30);
        // A stop between a batch (one message at this rate) and the write of its count leaves
        // the count one batch short; the messages themselves are exact (above).
        assert!((29..=30).contains(&task.moved), "moved {}", task.moved);
    });
}
