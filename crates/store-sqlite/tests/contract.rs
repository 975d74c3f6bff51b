//! The store contract suite on `SqliteStore`, a fresh temporary file per check, plus what only a
//! file-backed store shows: reopening sees every acknowledged write, and concurrent writers share
//! batches.

use std::path::Path;
use std::sync::Arc;
use store::{Commit, EventRecord, ExecutionRecord, StateMachineRecord, Store, WorkItem};
use store_sqlite::{Options, SqliteStore, Synchronous};
use tempfile::TempDir;

/// A fresh store in a temporary directory, and the directory, which must outlive it.
async fn fresh() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(&dir.path().join("weir.db"), Options::default())
        .expect("a fresh store opens");
    (store, dir)
}

store::store_contract_tests!(fresh);

fn at(micros: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_microsecond(1_767_225_600_000_001 + micros).expect("in range")
}

fn machine() -> StateMachineRecord {
    StateMachineRecord {
        arn: "arn:aws:states:us-east-1:000000000000:stateMachine:kept".to_owned(),
        name: "kept".to_owned(),
        kind: "STANDARD".to_owned(),
        role_arn: "arn:aws:iam::000000000000:role/weir".to_owned(),
        revision: 1,
        definition: r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#.to_owned(),
        config: "{}".to_owned(),
        created_at: at(1),
        updated_at: at(1),
    }
}

/// The commit creating execution `name`, with one event and one work item.
fn create(name: &str) -> Commit {
    let arn = format!("arn:aws:states:us-east-1:000000000000:execution:kept:{name}");
    Commit {
        execution: ExecutionRecord {
            arn: arn.clone(),
            state_machine_arn: machine().arn,
            revision: 1,
            name: name.to_owned(),
            status: "RUNNING".to_owned(),
            input: "{}".to_owned(),
            output: None,
            error: None,
            cause: None,
            start_date: at(10),
            stop_date: None,
            redrive_count: 0,
            redrive_date: None,
            last_event_id: 1,
            version: 1,
        },
        expected_version: None,
        snapshot: format!(r#"{{"name":"{name}"}}"#),
        events: vec![EventRecord {
            id: 1,
            event_type: "ExecutionStarted".to_owned(),
            timestamp: at(11),
            body: format!(r#"{{"name":"{name}"}}"#),
        }],
        add_work: vec![WorkItem {
            id: format!("{name}-work"),
            execution_arn: arn,
            due: at(12),
            payload: "{}".to_owned(),
        }],
        done_work: Vec::new(),
        clear_work: false,
        documents: Vec::new(),
    }
}

/// The store in the file at `path` opened again, once per [`Synchronous`] setting.
fn reopen_each_way(path: &Path) -> impl Iterator<Item = SqliteStore> + '_ {
    [Synchronous::Full, Synchronous::Normal]
        .into_iter()
        .map(move |synchronous| {
            let options = Options {
                synchronous,
                ..Options::default()
            };
            SqliteStore::open(path, options).expect("the store reopens")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reopening_sees_every_acknowledged_write() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("weir.db");
    let commits: Vec<Commit> = (0..50)
        .map(|index| create(&format!("e{index:02}")))
        .collect();
    {
        let store =
            Arc::new(SqliteStore::open(&path, Options::default()).expect("the store opens"));
        store.create_state_machine(machine()).await.expect("create");
        let tasks: Vec<_> = commits
            .iter()
            .cloned()
            .map(|commit| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.commit(commit).await })
            })
            .collect();
        for task in tasks {
            task.await
                .expect("the task finishes")
                .expect("the commit lands");
        }
    }
    let mode: String = rusqlite::Connection::open(&path)
        .and_then(|connection| {
            connection.pragma_query_value(None, "journal_mode", |row| row.get(0))
        })
        .expect("the file is readable");
    assert_eq!(mode, "wal", "the file is in WAL mode");
    for store in reopen_each_way(&path) {
        assert_eq!(
            store.get_state_machine(&machine().arn).await,
            Ok(Some(machine()))
        );
        for commit in &commits {
            let (row, snapshot) = store
                .load_execution(&commit.execution.arn)
                .await
                .expect("load")
                .expect("the execution survived the reopen");
            assert_eq!(row, commit.execution);
            assert_eq!(snapshot, commit.snapshot);
            let history = store.history(&commit.execution.arn, 0, 10, false).await;
            assert_eq!(history, Ok(commit.events.clone()));
        }
        let claimed = store
            .claim_work("reopened", at(100), at(100), at(200), 1_000)
            .await
            .expect("claim");
        assert_eq!(
            claimed.len(),
            commits.len(),
            "every work item survived the reopen"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_commits_share_batches() {
    let (store, _dir) = fresh().await;
    let store = Arc::new(store);
    let callers = 200;
    let tasks: Vec<_> = (0..callers)
        .map(|index| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.commit(create(&format!("b{index:03}"))).await })
        })
        .collect();
    for task in tasks {
        task.await
            .expect("the task finishes")
            .expect("the commit lands");
    }
    let stats = store.stats();
    assert_eq!(stats.commits, callers, "every commit counted: {stats:?}");
    assert_eq!(
        stats.requests, callers,
        "only the commits were writes: {stats:?}"
    );
    assert!(
        stats.largest_batch > 1,
        "concurrent commits must share a batch: {stats:?}"
    );
    assert!(
        stats.batches < callers,
        "fewer transactions than commits: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_batch_bounds_a_batch() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let options = Options {
        max_batch: 3,
        ..Options::default()
    };
    let store = Arc::new(SqliteStore::open(&dir.path().join("weir.db"), options).expect("opens"));
    let tasks: Vec<_> = (0..60)
        .map(|index| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.commit(create(&format!("m{index:02}"))).await })
        })
        .collect();
    for task in tasks {
        task.await
            .expect("the task finishes")
            .expect("the commit lands");
    }
    let stats = store.stats();
    assert!(
        stats.largest_batch <= 3,
        "a batch holds at most max_batch requests: {stats:?}"
    );
    assert!(
        stats.batches >= 20,
        "60 requests need at least 20 batches of 3: {stats:?}"
    );
}

#[tokio::test]
async fn a_foreign_cursor_is_not_found() {
    let (store, _dir) = fresh().await;
    let result = store.list_state_machines(Some("not a cursor"), 10).await;
    assert!(
        matches!(
            result,
            Err(store::Error::NotFound {
                kind: "page cursor",
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn open_fails_cleanly_without_a_directory() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let result = SqliteStore::open(&dir.path().join("missing/weir.db"), Options::default());
    assert!(
        matches!(
            result,
            Err(store::Error::Backend {
                operation: "open",
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn dropping_outside_a_runtime_finishes() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(&dir.path().join("weir.db"), Options::default()).expect("opens");
    drop(store);
    SqliteStore::open(&dir.path().join("weir.db"), Options::default()).expect("reopens");
}

/// A request that fails after it wrote (here on a work item id that exists, found only when its
/// insert fails) is rolled back to its savepoint alone; the requests batched with it commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_late_failure_rolls_back_only_its_request() {
    let (store, _dir) = fresh().await;
    let store = Arc::new(store);
    let first = create("late");
    store.commit(first.clone()).await.expect("the create lands");
    let mut clash = create("late");
    clash.expected_version = Some(1);
    clash.execution.version = 2;
    clash.execution.status = "SUCCEEDED".to_owned();
    clash.snapshot = r#"{"clash":true}"#.to_owned();
    clash.events[0].id = 2;
    clash.execution.last_event_id = 2;
    let tasks: Vec<_> = (0..50)
        .map(|index| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.commit(create(&format!("n{index:02}"))).await })
        })
        .collect();
    let result = store.commit(clash).await;
    assert!(
        matches!(
            result,
            Err(store::Error::AlreadyExists {
                kind: "work item",
                ..
            })
        ),
        "{result:?}"
    );
    for task in tasks {
        task.await
            .expect("the task finishes")
            .expect("the neighbours land");
    }
    let (row, snapshot) = store
        .load_execution(&first.execution.arn)
        .await
        .expect("load")
        .expect("exists");
    assert_eq!(
        row, first.execution,
        "the failed commit's row change was rolled back"
    );
    assert_eq!(snapshot, first.snapshot);
    assert_eq!(
        store.history(&first.execution.arn, 0, 10, false).await,
        Ok(first.events.clone()),
        "the failed commit's event was rolled back"
    );
}

fn message(id: &str) -> store::queue::NewMessage {
    store::queue::NewMessage {
        id: id.to_owned(),
        body: format!("body of {id}"),
        attributes: "{}".to_owned(),
        sent_at: at(1),
        visible_at: at(1),
        group_id: None,
        dedup_id: Some(id.to_owned()),
        dedup_expires_at: at(1_000_000),
    }
}

/// Every acknowledged send, receive and delete is in the file after the store closes; sequences
/// keep growing across a reopen, even past a deleted highest one; deduplication records survive.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_queue_writes_survive_reopening() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("weir.db");
    let (before, highest) = {
        let store =
            Arc::new(SqliteStore::open(&path, Options::default()).expect("the store opens"));
        let tasks: Vec<_> = (0..50)
            .map(|index| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    store
                        .send_messages("kept", at(1), vec![message(&format!("m{index:02}"))])
                        .await
                })
            })
            .collect();
        for task in tasks {
            let sent = task
                .await
                .expect("the task finishes")
                .expect("the send lands");
            assert!(!sent[0].duplicate);
        }
        let receive = store::queue::Receive {
            queue: "kept".to_owned(),
            now: at(2),
            max: 10,
            visible_until: at(100),
            redrive: None,
            fifo: false,
        };
        let received = store.receive_messages(receive).await.expect("receive");
        assert_eq!(received.messages.len(), 10);
        let stored = store.peek_messages("kept", 100).await.expect("peek");
        let last = stored.last().expect("50 messages").clone();
        assert!(
            stored
                .iter()
                .all(|message| message.sequence <= last.sequence),
            "peek is in sequence order"
        );
        // Receive the rest, then delete the message with the highest sequence.
        let everything = store::queue::Receive {
            queue: "kept".to_owned(),
            now: at(3),
            max: 100,
            visible_until: at(100),
            redrive: None,
            fifo: false,
        };
        let rest = store.receive_messages(everything).await.expect("receive");
        let newest = rest.messages.last().expect("40 messages").clone();
        assert_eq!(newest.sequence, last.sequence);
        let deleted = store
            .delete_messages(
                "kept",
                vec![store::queue::Receipt {
                    sequence: newest.sequence,
                    receive_count: 1,
                }],
            )
            .await;
        assert_eq!(deleted, Ok(vec![true]));
        (
            store.peek_messages("kept", 100).await.expect("peek"),
            newest.sequence,
        )
    };
    assert_eq!(before.len(), 49);
    for store in reopen_each_way(&path) {
        assert_eq!(
            store.peek_messages("kept", 100).await,
            Ok(before.clone()),
            "every message, with its receive state, survived the reopen"
        );
        let again = store
            .send_messages("kept", at(4), vec![message("m00")])
            .await
            .expect("send");
        assert!(again[0].duplicate, "deduplication records survived");
    }
    let store = SqliteStore::open(&path, Options::default()).expect("the store reopens");
    let fresh = store
        .send_messages("kept", at(4), vec![message("fresh")])
        .await
        .expect("send");
    assert!(
        fresh[0].sequence > highest,
        "a sequence is never used twice, not even the deleted highest one"
    );
}
