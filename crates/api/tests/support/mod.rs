//! What the API's test files share: a real SQLite store in a temp dir, an API on an engine whose
//! tasks run weir functions, and calls through the router (`oneshot`) that check the answer's
//! status.

#![allow(dead_code)] // Each test file uses its own part of this module.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use engine::{Engine, Options, SystemClock};
use functions::{FunctionHandler, Registry};
use serde_json::{Value, json};
use std::sync::Arc;
use store_sqlite::SqliteStore;
use tower::ServiceExt;

/// An API and the temp dir its store lives in (removed when dropped).
pub struct Setup {
    /// What the router serves.
    pub api: api::Api,
    _dir: tempfile::TempDir,
}

/// The SQLite store in `dir` (created on first use).
pub fn open(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
    Arc::new(
        SqliteStore::open(
            &dir.path().join("weir.db"),
            store_sqlite::Options::default(),
        )
        .expect("the store opens"),
    )
}

/// An API on a fresh store, its engine running tasks with the functions registered in it, on
/// the wall clock.
pub async fn with_functions() -> Setup {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = open(&dir);
    let registry = Arc::new(
        Registry::open(store.clone())
            .await
            .expect("the registry opens"),
    );
    let engine = Engine::start(
        store,
        Arc::new(SystemClock),
        Arc::new(FunctionHandler::new(registry.clone())),
        Options::default(),
    )
    .await
    .expect("the engine starts");
    Setup {
        api: api_on(engine, registry),
        _dir: dir,
    }
}

/// The API on `engine` and `functions`, in region `us-east-1` of account `000000000000`, with no
/// access keys.
pub fn api_on(engine: Engine, functions: Arc<Registry>) -> api::Api {
    api::Api {
        engine,
        functions,
        region: "us-east-1".into(),
        account: "000000000000".into(),
        keys: None,
    }
}

/// Calls `target` (`Weir.CreateFunction`, ...) with `input`: the status and the JSON answer.
pub async fn call(api: &api::Api, target: &str, input: Value) -> (StatusCode, Value) {
    let request = Request::post("/")
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", target)
        .body(Body::from(input.to_string()))
        .expect("a request");
    let response = api::router(api.clone())
        .oneshot(request)
        .await
        .expect("an answer");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    (
        status,
        serde_json::from_slice(&body).expect("the answer is JSON"),
    )
}

/// Calls `target`, which must succeed; its answer.
pub async fn ok(api: &api::Api, target: &str, input: Value) -> Value {
    let (status, answer) = call(api, target, input).await;
    assert_eq!(status, StatusCode::OK, "{target}: {answer}");
    answer
}

/// Calls `target`, which must fail with the error `code`; its message.
pub async fn refused(api: &api::Api, target: &str, input: Value, code: &str) -> String {
    let (status, answer) = call(api, target, input).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{target}: {answer}");
    assert_eq!(answer["__type"], json!(code), "{target}: {answer}");
    answer["message"].as_str().unwrap_or_default().to_string()
}
