//! What the engine's test files share: a real SQLite store in a temp dir, a fixed start time,
//! an engine on them, and shortcuts for creating machines, reading history and writing queue
//! attributes and messages.

#![allow(dead_code)] // Each test file uses its own part of this module.

use engine::queues::SendRequest;
use engine::{Clock, Engine, Handlers, ManualClock, NewStateMachine, Options};
use jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use store::Store;
use store_sqlite::SqliteStore;

/// The SQLite store in `dir` (created on first use).
pub fn open(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    Arc::new(
        SqliteStore::open(
            &dir.path().join("weir.db"),
            store_sqlite::Options::default(),
        )
        .expect("a store opens on a fresh file"),
    )
}

/// The time manual clocks start at.
pub fn t0() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().expect("a valid timestamp")
}

/// An engine on `store` with default options.
pub async fn engine_with(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    handlers: Handlers,
) -> Engine {
    Engine::start(store, clock, Arc::new(handlers), Options::default())
        .await
        .expect("the engine starts")
}

/// An engine running `handlers` on a fresh store and a manual clock at [`t0`], with the temp dir
/// its store lives in.
pub async fn setup(handlers: Handlers) -> (tempfile::TempDir, Engine, Arc<ManualClock>) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = engine_with(open(&dir), clock.clone(), handlers).await;
    (dir, engine, clock)
}

/// Creates a Standard machine and returns its ARN.
pub async fn create(engine: &Engine, name: &str, definition: Value) -> String {
    engine
        .create_state_machine(NewStateMachine {
            name: name.to_string(),
            definition: definition.to_string(),
            express: false,
            role_arn: String::new(),
        })
        .await
        .expect("the definition is valid")
        .arn
}

/// The event types of an execution's history, in order.
pub async fn types(engine: &Engine, arn: &str) -> Vec<String> {
    engine
        .history(arn, 0, 1000, false)
        .await
        .expect("history reads")
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

/// Attributes (or tags) from name/value pairs.
pub fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A message with `body` and nothing else.
pub fn text(body: &str) -> SendRequest {
    SendRequest {
        body: body.to_string(),
        ..SendRequest::default()
    }
}

/// Creates the queue `queue` and the topic `topic` with the queue subscribed to it (raw
/// delivery), as alarm tests read their notifications; returns the topic's ARN.
pub async fn topic_into_queue(engine: &Engine, topic: &str, queue: &str) -> String {
    let none = BTreeMap::new();
    engine
        .create_queue(queue, &none, &none)
        .await
        .expect("the queue is created");
    let topic = engine
        .create_topic(topic, &none, &none)
        .await
        .expect("the topic is created");
    engine
        .subscribe(
            &topic.arn,
            "sqs",
            &engine.queue_arn(queue),
            &attrs(&[("RawMessageDelivery", "true")]),
        )
        .await
        .expect("the queue subscribes");
    topic.arn
}
