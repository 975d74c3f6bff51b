//! The contract test suite: async checks every [`Store`] backend runs against a
//! fresh, empty store of its own.
//!
//! Each check is a `pub async fn` that gets a fresh, empty store and panics, naming the broken
//! rule, when the backend breaks the contract written in the [crate documentation](crate). Most
//! checks take `&dyn Store`; the concurrency checks take an `Arc<dyn Store>` and a [`Spawn`], so
//! that many callers run on tasks of their own.
//!
//! A backend runs the whole suite with [`store_contract_tests!`](crate::store_contract_tests!) in
//! one of its test files; it makes a module `contract` with one `#[tokio::test]` per check, so
//! each check shows in the test output under its own name:
//!
//! ```rust,ignore
//! /// A fresh, empty store, and what must outlive it (here its directory).
//! async fn fresh() -> (SqliteStore, tempfile::TempDir) {
//!     let dir = tempfile::tempdir().expect("a temporary directory");
//!     let store = SqliteStore::open(&dir.path().join("weir.db"), Options::default())
//!         .expect("the store opens");
//!     (store, dir)
//! }
//!
//! store::store_contract_tests!(fresh);
//! ```
//!
//! The test file's crate needs `tokio` (with `macros` and `rt-multi-thread`) as a dependency.
//!
//! # Timestamps
//! Every timestamp in the checks has microseconds and no finer digits, and the checks expect them
//! back unchanged: backends MUST keep at least microsecond precision.
//!
//! # What the checks pin down beyond the contract's words
//! - A page's cursor is `None` exactly when no records follow it (a backend reads one record ahead).
//! - Executions with the same start time list by ARN, descending, like the start times.
//! - A lease that ends exactly at `now` still holds ("ended before now" is strict).
//! - A create [`Commit`]'s first event id is 1; a commit without events is fine.
//! - The stored row's `version` is `expected_version + 1` (or 1), whatever the commit's record says.
//! - Queues need no creating: a queue nobody sent to is empty (peek, counts, purge).
//! - A receive of `max` 0 takes nothing; a send of no messages stores nothing; `peek_messages`
//!   reads at most `limit` messages.
//! - A receipt named twice in one `delete_messages` deletes once: the second answer is `false`.

use crate::queue::{Message, NewMessage, QueueCounts, Receipt, Receive, Received, Redrive, Sent};
use crate::{
    BoxFuture, Claimed, Commit, Error, EventRecord, ExecutionFilter, ExecutionRecord,
    StateMachineRecord, Store, WorkItem,
};
use jiff::Timestamp;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Runs a future on a task of its own and returns a future that resolves when that task has
/// finished, re-raising its panic. [`store_contract_tests!`](crate::store_contract_tests!) passes
/// one built on `tokio::spawn`.
pub type Spawn = fn(BoxFuture<'static, ()>) -> BoxFuture<'static, ()>;

/// How many callers the concurrency checks run at once.
pub const CONCURRENT_CALLERS: usize = 200;

/// Makes a module `contract` with one `#[tokio::test]` per contract check, each on a fresh store.
///
/// The argument is an expression callable with no arguments (usually the name of an `async fn`)
/// whose future yields `(store, guard)`: a fresh, empty store implementing [`Store`]
/// and `'static`, and anything that must outlive it (a temporary directory, `()`). The store is
/// dropped before the guard. The invoking crate needs `tokio` as a dependency.
#[macro_export]
macro_rules! store_contract_tests {
    ($fresh:expr) => {
        $crate::store_contract_tests!(@module $fresh;
            plain:
                state_machine_create_and_get,
                state_machine_create_existing_is_already_exists,
                state_machine_update_adds_revision,
                state_machine_update_revision_must_be_next,
                state_machine_update_missing_is_not_found,
                state_machine_delete_keeps_revisions,
                list_state_machines_by_arn_in_pages,
                commit_creates_execution,
                commit_round_trips_every_field,
                commit_versions_count_commits,
                commit_create_existing_is_already_exists_and_writes_nothing,
                commit_stale_version_is_conflict_and_writes_nothing,
                commit_to_missing_execution_fails_and_writes_nothing,
                commit_event_id_gap_is_conflict_and_writes_nothing,
                commit_event_id_repeat_is_conflict_and_writes_nothing,
                commit_first_event_id_is_one,
                history_in_order_and_reverse,
                history_pages_with_after_and_limit,
                work_claimed_only_when_due,
                work_claimed_in_due_order_up_to_limit,
                work_lease_excludes_other_owners,
                work_same_owner_reclaims,
                work_expired_lease_lets_another_owner_claim,
                work_claims_counted,
                work_done_deletes_items,
                work_clear_deletes_execution_items_before_adding,
                list_executions_newest_first,
                list_executions_pages_with_cursor,
                list_executions_filters_by_machine_and_status,
                running_executions_lists_running_only,
                documents_create_replace_and_delete,
                documents_written_with_a_commit,
                documents_list_by_prefix_in_key_order,
                queue_send_keeps_sequence_order,
                queue_counts_by_state,
                queue_receive_takes_visible_messages,
                queue_receive_moves_exhausted_messages_to_dead_letter_queue,
                queue_stale_receipts_change_nothing,
                queue_change_visibility_only_in_flight,
                queue_fifo_in_flight_group_blocks,
                queue_fifo_takes_several_of_one_group,
                queue_fifo_skips_a_blocked_backlog,
                queue_deduplication_within_window,
                queue_purge_drops_dedup_records,
                queue_expire_deletes_old_messages,
                queue_move_messages_back;
            concurrent:
                concurrent_commits_all_land,
                concurrent_failures_do_not_fail_others,
                concurrent_claims_never_share_an_item,
                readers_never_see_part_of_a_commit,
                queue_concurrent_receives_never_share_a_message;
        );
    };
    (@module $fresh:expr; plain: $($plain:ident),* $(,)?; concurrent: $($concurrent:ident),* $(,)?;) => {
        /// The store contract suite, one test per check.
        mod contract {
            #[allow(unused_imports, reason = "the fresh-store function lives in the parent")]
            use super::*;

            /// Runs `task` on a tokio task; the returned future re-raises its panic.
            fn spawn(task: $crate::BoxFuture<'static, ()>) -> $crate::BoxFuture<'static, ()> {
                let handle = ::tokio::spawn(task);
                ::std::boxed::Box::pin(async move {
                    if let ::std::result::Result::Err(error) = handle.await {
                        match error.try_into_panic() {
                            ::std::result::Result::Ok(panic) => ::std::panic::resume_unwind(panic),
                            ::std::result::Result::Err(error) => {
                                panic!("a contract task did not finish: {error}")
                            }
                        }
                    }
                })
            }

            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $plain() {
                    let (store, guard) = ($fresh)().await;
                    $crate::contract::$plain(&store).await;
                    drop(store);
                    drop(guard);
                }
            )*

            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $concurrent() {
                    let (store, guard) = ($fresh)().await;
                    let store: ::std::sync::Arc<dyn $crate::Store> = ::std::sync::Arc::new(store);
                    $crate::contract::$concurrent(::std::sync::Arc::clone(&store), spawn).await;
                    drop(store);
                    drop(guard);
                }
            )*
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Test data.

/// 2026-01-01T00:00:00.123457Z, in microseconds: odd microseconds catch lost precision.
const T0_MICROS: i64 = 1_767_225_600_123_457;

/// More pages than any paging loop of the checks needs: a backend whose cursors loop fails.
const MAX_PAGES: usize = 100;

/// `T0` plus `offset` microseconds.
fn at(offset: i64) -> Timestamp {
    Timestamp::from_microsecond(T0_MICROS + offset).expect("contract timestamps are in range")
}

/// `T0` plus `seconds`.
fn secs(seconds: i64) -> Timestamp {
    at(seconds * 1_000_000)
}

/// Far in the future: a `now` at which every lease has ended and every item is due.
fn far() -> Timestamp {
    secs(100 * 365 * 24 * 3600)
}

fn machine_arn(name: &str) -> String {
    format!("arn:aws:states:us-east-1:000000000000:stateMachine:{name}")
}

fn machine(name: &str) -> StateMachineRecord {
    StateMachineRecord {
        arn: machine_arn(name),
        name: name.to_owned(),
        kind: "STANDARD".to_owned(),
        role_arn: "arn:aws:iam::000000000000:role/weir".to_owned(),
        revision: 1,
        definition: format!(
            r#"{{"StartAt":"{name}","States":{{"{name}":{{"Type":"Pass","End":true}}}}}}"#
        ),
        config: r#"{"description":"first"}"#.to_owned(),
        created_at: at(1),
        updated_at: at(1),
    }
}

/// `previous` as revision `revision`, with a new definition, role, config and update time.
fn revised(previous: &StateMachineRecord, revision: u64) -> StateMachineRecord {
    StateMachineRecord {
        revision,
        role_arn: format!("arn:aws:iam::000000000000:role/weir-{revision}"),
        definition: format!(
            r#"{{"StartAt":"R{revision}","States":{{"R{revision}":{{"Type":"Succeed"}}}}}}"#
        ),
        config: format!(r#"{{"description":"revision {revision}"}}"#),
        updated_at: at(1_000 * i64::try_from(revision).expect("small revision") + 7),
        ..previous.clone()
    }
}

fn execution_arn(machine_name: &str, name: &str) -> String {
    format!("arn:aws:states:us-east-1:000000000000:execution:{machine_name}:{name}")
}

/// A new RUNNING execution of `machine_name` (version and last event id 0: not stored yet).
fn execution(machine_name: &str, name: &str, start: Timestamp) -> ExecutionRecord {
    ExecutionRecord {
        arn: execution_arn(machine_name, name),
        state_machine_arn: machine_arn(machine_name),
        revision: 1,
        name: name.to_owned(),
        status: "RUNNING".to_owned(),
        input: format!(r#"{{"name":"{name}"}}"#),
        output: None,
        error: None,
        cause: None,
        start_date: start,
        stop_date: None,
        redrive_count: 0,
        redrive_date: None,
        last_event_id: 0,
        version: 0,
    }
}

/// Event `id` of the execution `arn`; its body names both, so events of executions differ.
fn event(arn: &str, id: u64) -> EventRecord {
    EventRecord {
        id,
        event_type: if id == 1 {
            "ExecutionStarted"
        } else {
            "PassStateEntered"
        }
        .to_owned(),
        timestamp: at(i64::try_from(id).expect("small id") * 1_000 + 3),
        body: format!(r#"{{"id":{id},"execution":"{arn}"}}"#),
    }
}

/// Events `first..=last` of `arn`.
fn events(arn: &str, first: u64, last: u64) -> Vec<EventRecord> {
    (first..=last).map(|id| event(arn, id)).collect()
}

fn item(id: &str, execution_arn: &str, due: Timestamp) -> WorkItem {
    WorkItem {
        id: id.to_owned(),
        execution_arn: execution_arn.to_owned(),
        due,
        payload: format!(r#"{{"work":"{id}"}}"#),
    }
}

/// The commit that creates `execution` with events `1..=events`.
fn start(execution: &ExecutionRecord, events_count: u64) -> Commit {
    let mut row = execution.clone();
    row.version = 1;
    row.last_event_id = events_count;
    Commit {
        events: events(&row.arn, 1, events_count),
        execution: row,
        expected_version: None,
        snapshot: r#"{"snapshot":1}"#.to_owned(),
        add_work: Vec::new(),
        done_work: Vec::new(),
        clear_work: false,
        documents: Vec::new(),
    }
}

/// The commit that follows the stored `row`, appending `events_count` events.
fn step(row: &ExecutionRecord, events_count: u64) -> Commit {
    let mut next = row.clone();
    next.version = row.version + 1;
    next.last_event_id = row.last_event_id + events_count;
    Commit {
        events: events(
            &row.arn,
            row.last_event_id + 1,
            row.last_event_id + events_count,
        ),
        execution: next,
        expected_version: Some(row.version),
        snapshot: format!(r#"{{"snapshot":{}}}"#, row.version + 1),
        add_work: Vec::new(),
        done_work: Vec::new(),
        clear_work: false,
        documents: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers that call the store and panic on failure.

async fn create_machine(store: &dyn Store, record: &StateMachineRecord) {
    if let Err(error) = store.create_state_machine(record.clone()).await {
        panic!("create_state_machine({}) failed: {error}", record.arn);
    }
}

async fn get_machine(store: &dyn Store, arn: &str) -> Option<StateMachineRecord> {
    store
        .get_state_machine(arn)
        .await
        .unwrap_or_else(|error| panic!("get_state_machine({arn}) failed: {error}"))
}

async fn get_revision(store: &dyn Store, arn: &str, revision: u64) -> Option<StateMachineRecord> {
    store
        .get_revision(arn, revision)
        .await
        .unwrap_or_else(|error| panic!("get_revision({arn}, {revision}) failed: {error}"))
}

/// Commits and returns the stored row, which must equal the commit's row.
async fn commit(store: &dyn Store, commit: Commit) -> ExecutionRecord {
    let arn = commit.execution.arn.clone();
    let expected = commit.execution.clone();
    if let Err(error) = store.commit(commit).await {
        panic!("commit to {arn} failed: {error}");
    }
    let (row, _) = load(store, &arn).await;
    assert_eq!(
        row, expected,
        "the stored row of {arn} must be the committed row"
    );
    row
}

async fn load(store: &dyn Store, arn: &str) -> (ExecutionRecord, String) {
    store
        .load_execution(arn)
        .await
        .unwrap_or_else(|error| panic!("load_execution({arn}) failed: {error}"))
        .unwrap_or_else(|| panic!("execution {arn} must exist"))
}

async fn history(
    store: &dyn Store,
    arn: &str,
    after: u64,
    limit: usize,
    reverse: bool,
) -> Vec<EventRecord> {
    store
        .history(arn, after, limit, reverse)
        .await
        .unwrap_or_else(|error| {
            panic!(
                "history({arn}, after {after}, limit {limit}, reverse {reverse}) failed: {error}"
            )
        })
}

fn ids(events: &[EventRecord]) -> Vec<u64> {
    events.iter().map(|event| event.id).collect()
}

async fn claim(
    store: &dyn Store,
    owner: &str,
    now: Timestamp,
    due_by: Timestamp,
    lease_until: Timestamp,
    limit: usize,
) -> Vec<Claimed> {
    store
        .claim_work(owner, now, due_by, lease_until, limit)
        .await
        .unwrap_or_else(|error| panic!("claim_work by {owner} at {now} failed: {error}"))
}

fn claimed_ids(claimed: &[Claimed]) -> Vec<&str> {
    claimed
        .iter()
        .map(|claimed| claimed.item.id.as_str())
        .collect()
}

/// The ids of every work item in the store, sorted. It claims them all for a probe owner with a
/// lease that never ends, so call it last, or only where that does not matter.
async fn work_ids(store: &dyn Store) -> Vec<String> {
    let claimed = claim(store, "contract-probe", far(), far(), far(), 100_000).await;
    let mut ids: Vec<String> = claimed.into_iter().map(|claimed| claimed.item.id).collect();
    ids.sort();
    ids
}

async fn list_executions(
    store: &dyn Store,
    filter: ExecutionFilter,
) -> (Vec<ExecutionRecord>, Option<String>) {
    let page = store
        .list_executions(filter.clone())
        .await
        .unwrap_or_else(|error| panic!("list_executions({filter:?}) failed: {error}"));
    (page.items, page.cursor)
}

/// Every execution the filter selects, read `limit` at a time; checks each page's size and cursor.
async fn list_all_executions(
    store: &dyn Store,
    mut filter: ExecutionFilter,
) -> Vec<ExecutionRecord> {
    let limit = filter.limit;
    let mut all = Vec::new();
    for _page in 0..=MAX_PAGES {
        let (items, cursor) = list_executions(store, filter.clone()).await;
        assert!(
            items.len() <= limit,
            "a page must hold at most `limit` ({limit}) executions"
        );
        all.extend(items.iter().cloned());
        match cursor {
            Some(cursor) => {
                assert_eq!(
                    items.len(),
                    limit,
                    "a page followed by another must be full"
                );
                filter.cursor = Some(cursor);
            }
            None => return all,
        }
    }
    panic!("paging through executions ({filter:?}) must end within {MAX_PAGES} pages");
}

fn arns(records: &[ExecutionRecord]) -> Vec<&str> {
    records.iter().map(|record| record.arn.as_str()).collect()
}

/// What a failed commit must leave unchanged: the row, the snapshot and the history.
#[derive(Debug, PartialEq)]
struct Seen {
    row: Option<(ExecutionRecord, String)>,
    history: Vec<EventRecord>,
}

async fn seen(store: &dyn Store, arn: &str) -> Seen {
    let row = store
        .load_execution(arn)
        .await
        .unwrap_or_else(|error| panic!("load_execution({arn}) failed: {error}"));
    let history = match store.history(arn, 0, 100_000, false).await {
        Ok(history) => history,
        Err(Error::NotFound { .. }) if row.is_none() => Vec::new(),
        Err(error) => panic!("history({arn}) failed: {error}"),
    };
    Seen { row, history }
}

/// Commits `bad`, which must fail as `expected` says, and checks it wrote nothing to its
/// execution. (Work is checked by the caller with [`work_ids`] at the end.)
async fn assert_rejected(store: &dyn Store, bad: Commit, rule: &str, expected: fn(&Error) -> bool) {
    let arn = bad.execution.arn.clone();
    let before = seen(store, &arn).await;
    match store.commit(bad).await {
        Ok(()) => panic!("{rule}: the commit to {arn} must fail, but it was accepted"),
        Err(error) => assert!(
            expected(&error),
            "{rule}: the commit to {arn} failed with the wrong error: {error:?}"
        ),
    }
    let after = seen(store, &arn).await;
    assert_eq!(
        after, before,
        "{rule}: a failed commit to {arn} must write nothing"
    );
}

fn is_conflict(error: &Error) -> bool {
    matches!(error, Error::Conflict { .. })
}

fn is_already_exists(error: &Error) -> bool {
    matches!(error, Error::AlreadyExists { .. })
}

fn is_not_found_or_conflict(error: &Error) -> bool {
    matches!(error, Error::NotFound { .. } | Error::Conflict { .. })
}

/// A stored execution with two work items (`<name>-w1`, `<name>-w2`), at version 2 with 3 events.
async fn execution_with_work(store: &dyn Store, name: &str) -> ExecutionRecord {
    let row = commit(store, start(&execution("orders", name, secs(0)), 2)).await;
    let mut next = step(&row, 1);
    next.add_work = vec![
        item(&format!("{name}-w1"), &row.arn, secs(10)),
        item(&format!("{name}-w2"), &row.arn, secs(20)),
    ];
    commit(store, next).await
}

/// Adds the work and acknowledgements a rejected commit must not write.
fn with_work_changes(mut bad: Commit, name: &str, clear: bool) -> Commit {
    bad.add_work = vec![item(&format!("{name}-bad"), &bad.execution.arn, secs(5))];
    bad.done_work = vec![format!("{name}-w1")];
    bad.clear_work = clear;
    bad
}

// ---------------------------------------------------------------------------------------------
// State machines.

/// A created machine reads back as given, as its latest revision and as revision 1.
pub async fn state_machine_create_and_get(store: &dyn Store) {
    let orders = machine("orders");
    create_machine(store, &orders).await;
    assert_eq!(
        get_machine(store, &orders.arn).await,
        Some(orders.clone()),
        "get_state_machine must return the created machine as given"
    );
    assert_eq!(
        get_revision(store, &orders.arn, 1).await,
        Some(orders.clone()),
        "revision 1 must be the created machine"
    );
    assert_eq!(
        get_revision(store, &orders.arn, 2).await,
        None,
        "there is no revision 2 yet"
    );
    assert_eq!(
        get_machine(store, &machine_arn("missing")).await,
        None,
        "an unknown ARN has no machine"
    );
}

/// Creating a machine whose ARN exists fails with `AlreadyExists` and changes nothing.
pub async fn state_machine_create_existing_is_already_exists(store: &dyn Store) {
    let orders = machine("orders");
    create_machine(store, &orders).await;
    let mut again = orders.clone();
    again.definition = r#"{"StartAt":"Other","States":{"Other":{"Type":"Succeed"}}}"#.to_owned();
    let result = store.create_state_machine(again).await;
    assert!(
        matches!(result, Err(Error::AlreadyExists { .. })),
        "creating an existing state machine must fail with AlreadyExists, got {result:?}"
    );
    assert_eq!(
        get_machine(store, &orders.arn).await,
        Some(orders),
        "a failed create must change nothing"
    );
}

/// An update adds a revision; the latest is what `get_state_machine` returns, and every earlier
/// revision stays as it was.
pub async fn state_machine_update_adds_revision(store: &dyn Store) {
    let first = machine("orders");
    create_machine(store, &first).await;
    let second = revised(&first, 2);
    store
        .update_state_machine(second.clone())
        .await
        .expect("update to revision 2 must succeed");
    assert_eq!(
        get_machine(store, &first.arn).await,
        Some(second.clone()),
        "the latest revision is 2"
    );
    let third = revised(&second, 3);
    store
        .update_state_machine(third.clone())
        .await
        .expect("update to revision 3 must succeed");
    assert_eq!(
        get_machine(store, &first.arn).await,
        Some(third.clone()),
        "the latest revision is 3"
    );
    assert_eq!(
        get_revision(store, &first.arn, 1).await,
        Some(first.clone()),
        "revision 1 must not change"
    );
    assert_eq!(
        get_revision(store, &first.arn, 2).await,
        Some(second),
        "revision 2 must not change"
    );
    assert_eq!(
        get_revision(store, &first.arn, 3).await,
        Some(third),
        "revision 3 reads back"
    );
}

/// An update whose revision is not the stored revision + 1 fails with `Conflict` and changes
/// nothing; so of two racing updates from the same revision, one lands.
pub async fn state_machine_update_revision_must_be_next(store: &dyn Store) {
    let first = machine("orders");
    create_machine(store, &first).await;
    for revision in [1, 3] {
        let result = store.update_state_machine(revised(&first, revision)).await;
        assert!(
            matches!(result, Err(Error::Conflict { .. })),
            "an update to revision {revision} of a machine at revision 1 must be a Conflict, got {result:?}"
        );
    }
    assert_eq!(
        get_machine(store, &first.arn).await,
        Some(first.clone()),
        "a failed update must change nothing"
    );
    assert_eq!(
        get_revision(store, &first.arn, 3).await,
        None,
        "a failed update must add no revision"
    );
    let winner = revised(&first, 2);
    store
        .update_state_machine(winner.clone())
        .await
        .expect("update to revision 2 must succeed");
    let mut loser = revised(&first, 2);
    loser.definition = r#"{"StartAt":"Lost","States":{"Lost":{"Type":"Succeed"}}}"#.to_owned();
    let result = store.update_state_machine(loser).await;
    assert!(
        matches!(result, Err(Error::Conflict { .. })),
        "a second update to revision 2 must be a Conflict, got {result:?}"
    );
    assert_eq!(
        get_revision(store, &first.arn, 2).await,
        Some(winner),
        "revision 2 is the first update"
    );
}

/// Updating a machine that does not exist fails with `NotFound`.
pub async fn state_machine_update_missing_is_not_found(store: &dyn Store) {
    let result = store
        .update_state_machine(revised(&machine("ghost"), 2))
        .await;
    assert!(
        matches!(result, Err(Error::NotFound { .. })),
        "updating a missing state machine must fail with NotFound, got {result:?}"
    );
    assert_eq!(
        get_machine(store, &machine_arn("ghost")).await,
        None,
        "a failed update creates nothing"
    );
}

/// A deleted machine is gone from `get_state_machine` and listings, but its revisions stay
/// readable for its executions.
pub async fn state_machine_delete_keeps_revisions(store: &dyn Store) {
    let first = machine("orders");
    create_machine(store, &first).await;
    let second = revised(&first, 2);
    store
        .update_state_machine(second.clone())
        .await
        .expect("update to revision 2 must succeed");
    create_machine(store, &machine("other")).await;
    store
        .delete_state_machine(&first.arn)
        .await
        .expect("delete_state_machine must succeed");
    assert_eq!(
        get_machine(store, &first.arn).await,
        None,
        "a deleted machine must be gone"
    );
    let page = store
        .list_state_machines(None, 100)
        .await
        .expect("list_state_machines must succeed");
    let listed: Vec<&str> = page
        .items
        .iter()
        .map(|record| record.arn.as_str())
        .collect();
    assert_eq!(
        listed,
        vec![machine_arn("other").as_str()],
        "a deleted machine must not be listed"
    );
    assert_eq!(
        get_revision(store, &first.arn, 1).await,
        Some(first.clone()),
        "revision 1 must outlive the machine"
    );
    assert_eq!(
        get_revision(store, &second.arn, 2).await,
        Some(second.clone()),
        "revision 2 must outlive the machine"
    );
    // Created again, the machine continues the numbering; the old revisions stay as they were.
    assert!(
        matches!(
            store.create_state_machine(first.clone()).await,
            Err(Error::AlreadyExists { .. })
        ),
        "creating at a revision that exists must be AlreadyExists"
    );
    let again = revised(&machine("orders"), 3);
    store
        .create_state_machine(again.clone())
        .await
        .expect("creating after the old revisions must succeed");
    assert_eq!(get_machine(store, &again.arn).await, Some(again));
    assert_eq!(
        get_revision(store, &second.arn, 2).await,
        Some(second),
        "the deleted machine's revisions must not change"
    );
}

/// Machines list by ARN, a page at a time; a page's cursor is `None` exactly when nothing follows.
pub async fn list_state_machines_by_arn_in_pages(store: &dyn Store) {
    for name in ["delta", "alpha", "echo", "charlie", "bravo"] {
        create_machine(store, &machine(name)).await;
    }
    store
        .delete_state_machine(&machine_arn("charlie"))
        .await
        .expect("delete_state_machine must succeed");
    let bravo = revised(&machine("bravo"), 2);
    store
        .update_state_machine(bravo.clone())
        .await
        .expect("update must succeed");
    let expected = vec![machine("alpha"), bravo, machine("delta"), machine("echo")];
    for limit in [1, 2, 3, 4, 10] {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = store
                .list_state_machines(cursor.as_deref(), limit)
                .await
                .unwrap_or_else(|error| {
                    panic!("list_state_machines(limit {limit}) failed: {error}")
                });
            pages += 1;
            assert!(pages <= 10, "paging with limit {limit} must end");
            assert!(
                page.items.len() <= limit,
                "a page must hold at most {limit} machines"
            );
            all.extend(page.items.iter().cloned());
            match page.cursor {
                Some(next) => {
                    assert_eq!(
                        page.items.len(),
                        limit,
                        "a page followed by another must be full"
                    );
                    cursor = Some(next);
                }
                None => break,
            }
        }
        assert_eq!(
            all, expected,
            "paging with limit {limit} must list the latest revisions by ARN"
        );
        assert_eq!(
            pages,
            expected.len().div_ceil(limit),
            "limit {limit}: no empty last page"
        );
    }
    let mut listed = Vec::new();
    let first = store
        .list_state_machines(None, 2)
        .await
        .expect("list_state_machines must succeed");
    listed.extend(first.items);
    create_machine(store, &machine("aardvark")).await;
    create_machine(store, &machine("zulu")).await;
    let rest = store
        .list_state_machines(first.cursor.as_deref(), 100)
        .await
        .expect("list_state_machines must succeed");
    listed.extend(rest.items);
    let names: Vec<&str> = listed.iter().map(|record| record.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["alpha", "bravo", "delta", "echo", "zulu"],
        "a cursor must continue after its last ARN even when machines were added since"
    );
}

// ---------------------------------------------------------------------------------------------
// Commits.

/// A create commit stores the row (version 1), the snapshot, the events and the work.
pub async fn commit_creates_execution(store: &dyn Store) {
    let new = execution("orders", "first", secs(0));
    let mut create = start(&new, 2);
    create.add_work = vec![item("first-w1", &new.arn, secs(1))];
    let snapshot = create.snapshot.clone();
    let expected_events = create.events.clone();
    let row = commit(store, create).await;
    assert_eq!(row.version, 1, "a created execution is at version 1");
    let (_, stored_snapshot) = load(store, &new.arn).await;
    assert_eq!(
        stored_snapshot, snapshot,
        "the snapshot must read back as committed"
    );
    assert_eq!(
        history(store, &new.arn, 0, 100, false).await,
        expected_events,
        "the events must read back"
    );
    assert_eq!(
        store
            .load_execution(&execution_arn("orders", "missing"))
            .await,
        Ok(None),
        "an unknown execution loads as None"
    );
    assert_eq!(
        work_ids(store).await,
        vec!["first-w1"],
        "the work item must be stored"
    );
}

/// Every field of the row, the snapshot and the events reads back exactly: optional fields,
/// microsecond timestamps, non-ASCII text and large values.
pub async fn commit_round_trips_every_field(store: &dyn Store) {
    let new = execution("orders", "everything", at(-987_654_321));
    let row = commit(store, start(&new, 1)).await;
    let mut next = step(&row, 1);
    next.execution.status = "FAILED".to_owned();
    next.execution.revision = 7;
    next.execution.error = Some("States.TaskFailed".to_owned());
    next.execution.cause = Some("Ünïcødé \"quoted\" 'single' \\ back\nslash — ✓ 🚀".to_owned());
    next.execution.stop_date = Some(at(123_456_789));
    next.execution.redrive_count = 3;
    next.execution.redrive_date = Some(at(99_999_999));
    next.snapshot = format!(r#"{{"big":"{}"}}"#, "x".repeat(300 * 1024));
    next.events[0].body = format!(r#"{{"big":"{}","text":"ünï 🚀"}}"#, "y".repeat(260 * 1024));
    next.events[0].event_type = "ExecutionFailed".to_owned();
    let snapshot = next.snapshot.clone();
    let expected_events: Vec<EventRecord> = std::iter::once(event(&row.arn, 1))
        .chain(next.events.iter().cloned())
        .collect();
    commit(store, next).await;
    let (_, stored_snapshot) = load(store, &row.arn).await;
    assert!(
        stored_snapshot == snapshot,
        "a 300 KiB snapshot must read back unchanged"
    );
    assert!(
        history(store, &row.arn, 0, 100, false).await == expected_events,
        "events (a 260 KiB body, non-ASCII text, microsecond timestamps) must read back unchanged"
    );
    let mut succeeded = step(&load(store, &row.arn).await.0, 0);
    succeeded.execution.status = "SUCCEEDED".to_owned();
    succeeded.execution.output = Some(r#"{"result":[1,2.5,null,"ü"]}"#.to_owned());
    succeeded.execution.error = None;
    succeeded.execution.cause = None;
    succeeded.execution.redrive_date = None;
    commit(store, succeeded).await;
}

/// Each commit adds 1 to the version, whatever version the commit's row carries.
pub async fn commit_versions_count_commits(store: &dyn Store) {
    let mut create = start(&execution("orders", "counted", secs(0)), 1);
    create.execution.version = 42;
    let arn = create.execution.arn.clone();
    store
        .commit(create)
        .await
        .expect("the create commit must succeed");
    let mut row = load(store, &arn).await.0;
    assert_eq!(
        row.version, 1,
        "a created execution is at version 1, whatever the commit's row says"
    );
    for expected in 2..=5 {
        let mut next = step(&row, if expected % 2 == 0 { 0 } else { 2 });
        next.execution.version = 0;
        store
            .commit(next)
            .await
            .unwrap_or_else(|error| panic!("commit {expected} failed: {error}"));
        row = load(store, &arn).await.0;
        assert_eq!(row.version, expected, "each commit adds 1 to the version");
    }
    assert_eq!(
        row.last_event_id, 5,
        "the row's last event id follows the events"
    );
    assert_eq!(
        ids(&history(store, &arn, 0, 100, false).await),
        vec![1, 2, 3, 4, 5],
        "commits without events add none"
    );
}

/// A create commit for an existing execution fails with `AlreadyExists` and writes nothing: no row
/// change, no events, no work added or deleted.
pub async fn commit_create_existing_is_already_exists_and_writes_nothing(store: &dyn Store) {
    let row = execution_with_work(store, "taken").await;
    let mut again = start(&execution("orders", "taken", secs(9)), 1);
    again.snapshot = r#"{"snapshot":"other"}"#.to_owned();
    assert_rejected(
        store,
        with_work_changes(again.clone(), "taken", false),
        "create of an existing execution",
        is_already_exists,
    )
    .await;
    assert_rejected(
        store,
        with_work_changes(again, "taken", true),
        "create of an existing execution (clear_work)",
        is_already_exists,
    )
    .await;
    assert_eq!(
        load(store, &row.arn).await.0,
        row,
        "the existing row must be unchanged"
    );
    assert_eq!(
        work_ids(store).await,
        vec!["taken-w1", "taken-w2"],
        "a failed commit must not add or delete work"
    );
}

/// A commit naming a version other than the stored one fails with `Conflict` and writes nothing;
/// a commit naming the stored version then lands.
pub async fn commit_stale_version_is_conflict_and_writes_nothing(store: &dyn Store) {
    let row = execution_with_work(store, "raced").await;
    let mut stale = step(&row, 1);
    stale.expected_version = Some(row.version - 1);
    assert_rejected(
        store,
        with_work_changes(stale.clone(), "raced", false),
        "stale expected_version",
        is_conflict,
    )
    .await;
    assert_rejected(
        store,
        with_work_changes(stale, "raced", true),
        "stale expected_version (clear_work)",
        is_conflict,
    )
    .await;
    let mut ahead = step(&row, 1);
    ahead.expected_version = Some(row.version + 1);
    assert_rejected(
        store,
        with_work_changes(ahead, "raced", false),
        "expected_version ahead of the row",
        is_conflict,
    )
    .await;
    let mut zero = step(&row, 1);
    zero.expected_version = Some(0);
    assert_rejected(
        store,
        with_work_changes(zero, "raced", false),
        "expected_version 0",
        is_conflict,
    )
    .await;
    assert_eq!(
        work_ids(store).await,
        vec!["raced-w1", "raced-w2"],
        "a failed commit must not add or delete work"
    );
    let winner = commit(store, step(&row, 1)).await;
    assert_eq!(
        winner.version,
        row.version + 1,
        "the commit naming the stored version lands"
    );
    let loser = step(&row, 1);
    assert_rejected(store, loser, "the second of two racing steps", is_conflict).await;
}

/// A commit with an `expected_version` for an execution that does not exist fails (`NotFound` or
/// `Conflict`) and writes nothing.
pub async fn commit_to_missing_execution_fails_and_writes_nothing(store: &dyn Store) {
    let mut ghost = start(&execution("orders", "ghost", secs(0)), 1);
    ghost.expected_version = Some(1);
    ghost.execution.version = 2;
    ghost.add_work = vec![item("ghost-w", &ghost.execution.arn, secs(0))];
    assert_rejected(
        store,
        ghost.clone(),
        "a commit to a missing execution",
        is_not_found_or_conflict,
    )
    .await;
    assert_eq!(
        store.load_execution(&ghost.execution.arn).await,
        Ok(None),
        "no row may appear"
    );
    assert_eq!(
        work_ids(store).await,
        Vec::<String>::new(),
        "no work may appear"
    );
}

/// A commit whose first event id skips ids, or whose events skip ids among themselves, fails with
/// `Conflict` and writes nothing.
pub async fn commit_event_id_gap_is_conflict_and_writes_nothing(store: &dyn Store) {
    let row = execution_with_work(store, "gap").await;
    let last = row.last_event_id;
    let mut skips = step(&row, 2);
    skips.events = events(&row.arn, last + 2, last + 3);
    assert_rejected(
        store,
        with_work_changes(skips, "gap", false),
        "first event id skips one",
        is_conflict,
    )
    .await;
    let mut inner = step(&row, 2);
    inner.events = vec![event(&row.arn, last + 1), event(&row.arn, last + 3)];
    assert_rejected(
        store,
        with_work_changes(inner, "gap", true),
        "event ids skip within a commit",
        is_conflict,
    )
    .await;
    assert_eq!(
        work_ids(store).await,
        vec!["gap-w1", "gap-w2"],
        "a failed commit must not add or delete work"
    );
    commit(store, step(&row, 2)).await;
    assert_eq!(
        ids(&history(store, &row.arn, 0, 100, false).await),
        vec![1, 2, 3, 4, 5],
        "consecutive ids land"
    );
}

/// A commit repeating a stored event id, or repeating an id among its own events, fails with
/// `Conflict` and writes nothing.
pub async fn commit_event_id_repeat_is_conflict_and_writes_nothing(store: &dyn Store) {
    let row = execution_with_work(store, "repeat").await;
    let last = row.last_event_id;
    let mut again = step(&row, 2);
    again.events = events(&row.arn, last, last + 1);
    assert_rejected(
        store,
        with_work_changes(again, "repeat", false),
        "first event id repeats the last",
        is_conflict,
    )
    .await;
    let mut restart = step(&row, 2);
    restart.events = events(&row.arn, 1, 2);
    assert_rejected(
        store,
        with_work_changes(restart, "repeat", true),
        "event ids restart at 1",
        is_conflict,
    )
    .await;
    let mut twice = step(&row, 2);
    twice.events = vec![event(&row.arn, last + 1), event(&row.arn, last + 1)];
    assert_rejected(
        store,
        with_work_changes(twice, "repeat", false),
        "an event id twice in a commit",
        is_conflict,
    )
    .await;
    assert_eq!(
        work_ids(store).await,
        vec!["repeat-w1", "repeat-w2"],
        "a failed commit must not add or delete work"
    );
}

/// A create commit's events start at 1 (else `Conflict`, and nothing is created); a create commit
/// may carry no events.
pub async fn commit_first_event_id_is_one(store: &dyn Store) {
    for first in [0, 2] {
        let mut create = start(&execution("orders", "late", secs(0)), 2);
        create.events = events(&create.execution.arn, first, first + 1);
        create.add_work = vec![item("late-w", &create.execution.arn, secs(0))];
        assert_rejected(
            store,
            create,
            "a new execution's first event id is not 1",
            is_conflict,
        )
        .await;
    }
    assert_eq!(
        work_ids(store).await,
        Vec::<String>::new(),
        "a failed create must add no work"
    );
    let quiet = commit(store, start(&execution("orders", "quiet", secs(0)), 0)).await;
    assert_eq!(
        history(store, &quiet.arn, 0, 10, false).await,
        Vec::new(),
        "no events yet"
    );
    commit(store, step(&quiet, 2)).await;
    assert_eq!(
        ids(&history(store, &quiet.arn, 0, 10, false).await),
        vec![1, 2],
        "events then start at 1"
    );
}

// ---------------------------------------------------------------------------------------------
// History.

/// Stores ten events of `orders:ten` in three commits, and three of `orders:other`.
async fn ten_events(store: &dyn Store) -> String {
    let mut row = commit(store, start(&execution("orders", "ten", secs(0)), 4)).await;
    row = commit(store, step(&row, 3)).await;
    commit(store, step(&row, 3)).await;
    commit(store, start(&execution("orders", "other", secs(0)), 3)).await;
    execution_arn("orders", "ten")
}

/// History reads in id order, or reverse from the last event; executions' histories do not mix.
pub async fn history_in_order_and_reverse(store: &dyn Store) {
    let arn = ten_events(store).await;
    assert_eq!(
        history(store, &arn, 0, 100, false).await,
        events(&arn, 1, 10),
        "history is in id order"
    );
    let mut reversed = events(&arn, 1, 10);
    reversed.reverse();
    assert_eq!(
        history(store, &arn, 0, 100, true).await,
        reversed,
        "reverse from 0 starts at the last event"
    );
    let other = execution_arn("orders", "other");
    assert_eq!(
        history(store, &other, 0, 100, false).await,
        events(&other, 1, 3),
        "histories must not mix"
    );
    let missing = store
        .history(&execution_arn("orders", "missing"), 0, 100, false)
        .await;
    assert!(
        matches!(&missing, Ok(events) if events.is_empty())
            || matches!(missing, Err(Error::NotFound { .. })),
        "the history of an unknown execution is empty or NotFound, got {missing:?}"
    );
}

/// `after` and `limit` page through history forwards and backwards.
pub async fn history_pages_with_after_and_limit(store: &dyn Store) {
    let arn = ten_events(store).await;
    let cases: [(u64, usize, bool, Vec<u64>); 10] = [
        (3, 4, false, vec![4, 5, 6, 7]),
        (8, 5, false, vec![9, 10]),
        (10, 5, false, vec![]),
        (0, 3, false, vec![1, 2, 3]),
        (0, 3, true, vec![10, 9, 8]),
        (8, 3, true, vec![7, 6, 5]),
        (2, 5, true, vec![1]),
        (1, 5, true, vec![]),
        (11, 2, true, vec![10, 9]),
        (0, 1, true, vec![10]),
    ];
    for (after, limit, reverse, expected) in cases {
        assert_eq!(
            ids(&history(store, &arn, after, limit, reverse).await),
            expected,
            "history(after {after}, limit {limit}, reverse {reverse})"
        );
    }
    for reverse in [false, true] {
        let mut all = Vec::new();
        let mut after = 0;
        for _page in 0..=MAX_PAGES {
            let page = history(store, &arn, after, 3, reverse).await;
            match page.last() {
                Some(last) => after = last.id,
                None => break,
            }
            all.extend(ids(&page));
            if (!reverse && after == 10) || (reverse && after == 1) {
                break;
            }
        }
        let mut expected: Vec<u64> = (1..=10).collect();
        if reverse {
            expected.reverse();
        }
        assert_eq!(
            all, expected,
            "paging 3 at a time (reverse {reverse}) must read every event once"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Work.

/// Stores an execution with the given work items and returns its ARN.
async fn with_work(store: &dyn Store, name: &str, items: &[(&str, Timestamp)]) -> String {
    let mut create = start(&execution("orders", name, secs(0)), 1);
    let arn = create.execution.arn.clone();
    create.add_work = items.iter().map(|(id, due)| item(id, &arn, *due)).collect();
    commit(store, create).await;
    arn
}

/// Only items due at or before `due_by` are claimed, with their fields as added.
pub async fn work_claimed_only_when_due(store: &dyn Store) {
    let arn = with_work(
        store,
        "timers",
        &[("t30", secs(30)), ("t10", secs(10)), ("t20", secs(20))],
    )
    .await;
    let early = claim(store, "a", secs(5), secs(5), secs(65), 10).await;
    assert_eq!(
        claimed_ids(&early),
        Vec::<&str>::new(),
        "nothing is due at T0+5s"
    );
    let claimed = claim(store, "a", secs(20), secs(20), secs(80), 10).await;
    assert_eq!(
        claimed_ids(&claimed),
        vec!["t10", "t20"],
        "items due at or before due_by are claimed"
    );
    assert_eq!(
        claimed[0].item,
        item("t10", &arn, secs(10)),
        "a claimed item reads back as added"
    );
    assert_eq!(claimed[0].claims, 0, "a first claim has claims 0");
    let later = claim(store, "b", secs(30), secs(30), secs(90), 10).await;
    assert_eq!(
        claimed_ids(&later),
        vec!["t30"],
        "t30 is due at T0+30s; t10 and t20 are leased to a"
    );
    let ahead = claim(store, "c", secs(31), far(), far(), 10).await;
    assert_eq!(
        claimed_ids(&ahead),
        Vec::<&str>::new(),
        "everything is leased; due_by ahead of now changes nothing"
    );
}

/// Items come in due order, at most `limit` of them; the rest stay for the next claim.
pub async fn work_claimed_in_due_order_up_to_limit(store: &dyn Store) {
    with_work(
        store,
        "one",
        &[("d4", secs(4)), ("d1", secs(1)), ("d5", secs(5))],
    )
    .await;
    with_work(store, "two", &[("d3", secs(3)), ("d2", at(1_000_001))]).await;
    let first = claim(store, "a", secs(10), secs(10), secs(60), 3).await;
    assert_eq!(
        claimed_ids(&first),
        vec!["d1", "d2", "d3"],
        "the three earliest items, in due order"
    );
    let rest = claim(store, "b", secs(10), secs(10), secs(60), 10).await;
    assert_eq!(
        claimed_ids(&rest),
        vec!["d4", "d5"],
        "the rest, in due order"
    );
}

/// While a lease holds (until and including `lease_until`), another owner cannot claim the item.
pub async fn work_lease_excludes_other_owners(store: &dyn Store) {
    with_work(store, "leased", &[("w", secs(0))]).await;
    assert_eq!(
        claimed_ids(&claim(store, "a", secs(0), secs(0), secs(60), 10).await),
        vec!["w"]
    );
    for now in [secs(1), secs(59), at(59_999_999), secs(60)] {
        let claimed = claim(store, "b", now, now, now, 10).await;
        assert_eq!(
            claimed_ids(&claimed),
            Vec::<&str>::new(),
            "a lease until T0+60s must hold at {now}"
        );
    }
}

/// The owner holding a lease may claim the item again, which renews the lease.
pub async fn work_same_owner_reclaims(store: &dyn Store) {
    with_work(store, "renewed", &[("w", secs(0))]).await;
    let first = claim(store, "a", secs(0), secs(0), secs(60), 10).await;
    assert_eq!(claimed_ids(&first), vec!["w"], "a claims w");
    let again = claim(store, "a", secs(30), secs(30), secs(120), 10).await;
    assert_eq!(
        claimed_ids(&again),
        vec!["w"],
        "the same owner claims w again before its lease ends"
    );
    let other = claim(store, "b", secs(90), secs(90), secs(150), 10).await;
    assert_eq!(
        claimed_ids(&other),
        Vec::<&str>::new(),
        "the renewed lease (until T0+120s) holds at T0+90s"
    );
}

/// Once a lease has ended, another owner claims the item.
pub async fn work_expired_lease_lets_another_owner_claim(store: &dyn Store) {
    let arn = with_work(store, "expired", &[("w", secs(0))]).await;
    claim(store, "a", secs(0), secs(0), secs(60), 10).await;
    let now = at(60_000_001);
    let taken = claim(store, "b", now, now, secs(120), 10).await;
    assert_eq!(
        claimed_ids(&taken),
        vec!["w"],
        "a lease that ended before now lets another owner claim"
    );
    assert_eq!(
        taken[0].item,
        item("w", &arn, secs(0)),
        "the item is unchanged by claims"
    );
    let back = claim(store, "a", secs(61), secs(61), secs(130), 10).await;
    assert_eq!(
        claimed_ids(&back),
        Vec::<&str>::new(),
        "the old owner lost the item to b's lease"
    );
}

/// `claims` counts earlier claims of the item, by any owner.
pub async fn work_claims_counted(store: &dyn Store) {
    with_work(store, "counted", &[("w", secs(0))]).await;
    let counts = [
        claim(store, "a", secs(0), secs(0), secs(10), 1).await,
        claim(store, "a", secs(5), secs(5), secs(20), 1).await,
        claim(store, "b", secs(21), secs(21), secs(30), 1).await,
        claim(store, "c", secs(31), secs(31), secs(40), 1).await,
    ]
    .iter()
    .map(|claimed| match claimed.as_slice() {
        [one] => one.claims,
        other => panic!("each claim must return the one item, got {other:?}"),
    })
    .collect::<Vec<u64>>();
    assert_eq!(counts, vec![0, 1, 2, 3], "claims counts earlier claims");
}

/// A work item lives until a commit deletes it: claims do not, `done_work` does, and unknown ids
/// in `done_work` are ignored.
pub async fn work_done_deletes_items(store: &dyn Store) {
    let arn = with_work(
        store,
        "done",
        &[("w1", secs(0)), ("w2", secs(0)), ("w3", secs(0))],
    )
    .await;
    claim(store, "a", secs(0), secs(0), secs(10), 10).await;
    let again = claim(store, "b", secs(11), secs(11), secs(20), 10).await;
    assert_eq!(
        claimed_ids(&again),
        vec!["w1", "w2", "w3"],
        "claimed items live on (at least once)"
    );
    let mut done = step(&load(store, &arn).await.0, 1);
    done.done_work = vec!["w1".to_owned(), "w3".to_owned(), "never-added".to_owned()];
    commit(store, done).await;
    assert_eq!(
        work_ids(store).await,
        vec!["w2"],
        "done_work deletes its items; unknown ids are ignored"
    );
}

/// `clear_work` deletes the execution's items (and no others) before `add_work` adds new ones,
/// even under an id it just deleted.
pub async fn work_clear_deletes_execution_items_before_adding(store: &dyn Store) {
    let arn = with_work(store, "ended", &[("a1", secs(1)), ("a2", secs(2))]).await;
    with_work(store, "bystander", &[("b1", secs(3))]).await;
    claim(store, "a", secs(0), secs(5), secs(100), 10).await;
    let mut end = step(&load(store, &arn).await.0, 1);
    end.clear_work = true;
    end.add_work = vec![item("a3", &arn, secs(4)), item("a1", &arn, secs(9))];
    commit(store, end).await;
    let claimed = claim(store, "z", secs(50), secs(50), secs(200), 10).await;
    let fresh: Vec<(&str, u64)> = claimed
        .iter()
        .map(|claimed| (claimed.item.id.as_str(), claimed.claims))
        .collect();
    assert_eq!(
        fresh,
        vec![("a3", 0), ("a1", 0)],
        "cleared items are gone; a1 was added again, fresh and unleased"
    );
    assert_eq!(
        claimed[1].item,
        item("a1", &arn, secs(9)),
        "the new a1 is the one added"
    );
    assert_eq!(
        work_ids(store).await,
        vec!["a1", "a3", "b1"],
        "other executions' work stays"
    );
}

// ---------------------------------------------------------------------------------------------
// Listing executions.

/// Stores executions and returns them as stored, in listing order (newest first; ties by ARN,
/// descending).
async fn listed_executions(
    store: &dyn Store,
    specs: &[(&str, &str, i64, &str)],
) -> Vec<ExecutionRecord> {
    let mut stored = Vec::new();
    for (machine_name, name, start_seconds, status) in specs {
        let mut new = execution(machine_name, name, secs(*start_seconds));
        new.status = (*status).to_owned();
        stored.push(commit(store, start(&new, 1)).await);
    }
    stored.sort_by(|a, b| (b.start_date, &b.arn).cmp(&(a.start_date, &a.arn)));
    stored
}

fn filter(machine_name: Option<&str>, status: Option<&str>, limit: usize) -> ExecutionFilter {
    ExecutionFilter {
        state_machine_arn: machine_name.map(machine_arn),
        status: status.map(str::to_owned),
        cursor: None,
        limit,
    }
}

/// Executions list newest first, with their rows as stored.
pub async fn list_executions_newest_first(store: &dyn Store) {
    let expected = listed_executions(
        store,
        &[
            ("orders", "b", 20, "RUNNING"),
            ("orders", "a", 40, "RUNNING"),
            ("billing", "c", 10, "SUCCEEDED"),
            ("orders", "d", 30, "FAILED"),
        ],
    )
    .await;
    let (items, cursor) = list_executions(store, filter(None, None, 100)).await;
    assert_eq!(
        arns(&items),
        arns(&expected),
        "executions list newest first"
    );
    assert_eq!(items, expected, "listed rows are the stored rows");
    assert_eq!(cursor, None, "one page holds them all");
}

/// Paging through executions reads each once, in order, ties broken by ARN; a cursor continues
/// where it stopped even when newer executions started since.
pub async fn list_executions_pages_with_cursor(store: &dyn Store) {
    let expected = listed_executions(
        store,
        &[
            ("orders", "e1", 10, "RUNNING"),
            ("orders", "e2", 20, "RUNNING"),
            ("orders", "e3", 20, "RUNNING"),
            ("billing", "e4", 20, "RUNNING"),
            ("orders", "e5", 30, "RUNNING"),
            ("orders", "e6", 5, "RUNNING"),
            ("orders", "e7", 20, "RUNNING"),
        ],
    )
    .await;
    for limit in [1, 2, 3, 7, 8] {
        let all = list_all_executions(store, filter(None, None, limit)).await;
        assert_eq!(
            arns(&all),
            arns(&expected),
            "paging with limit {limit}: newest first, ties by ARN descending"
        );
    }
    let (first, cursor) = list_executions(store, filter(None, None, 3)).await;
    commit(store, start(&execution("orders", "newer", secs(99)), 1)).await;
    commit(store, start(&execution("orders", "e2-tie", secs(20)), 1)).await;
    let mut next = filter(None, None, 100);
    next.cursor = cursor;
    let (rest, _) = list_executions(store, next).await;
    let mut seen: Vec<&str> = arns(&first);
    seen.extend(arns(&rest));
    let tie = execution_arn("orders", "e2-tie");
    let mut want: Vec<&str> = arns(&expected);
    let position = want
        .iter()
        .position(|arn| *arn == execution_arn("orders", "e2").as_str())
        .expect("e2 is listed");
    want.insert(position, tie.as_str());
    assert_eq!(
        seen, want,
        "a cursor continues after its last execution; newer ones do not shift pages"
    );
}

/// Filters by state machine and by status (and both) select the right executions, newest first,
/// also across pages, and follow status changes.
pub async fn list_executions_filters_by_machine_and_status(store: &dyn Store) {
    let all = listed_executions(
        store,
        &[
            ("orders", "o1", 10, "RUNNING"),
            ("orders", "o2", 20, "SUCCEEDED"),
            ("orders", "o3", 30, "RUNNING"),
            ("billing", "b1", 15, "RUNNING"),
            ("billing", "b2", 25, "FAILED"),
        ],
    )
    .await;
    fn select<'a>(
        all: &'a [ExecutionRecord],
        machine_name: Option<&str>,
        status: Option<&str>,
    ) -> Vec<&'a str> {
        all.iter()
            .filter(|record| {
                machine_name.is_none_or(|name| record.state_machine_arn == machine_arn(name))
            })
            .filter(|record| status.is_none_or(|status| record.status == status))
            .map(|record| record.arn.as_str())
            .collect()
    }
    let cases = [
        (Some("orders"), None),
        (Some("billing"), None),
        (None, Some("RUNNING")),
        (None, Some("FAILED")),
        (Some("orders"), Some("RUNNING")),
        (Some("billing"), Some("SUCCEEDED")),
        (Some("nothing"), None),
    ];
    for (machine_name, status) in cases {
        for limit in [1, 2, 10] {
            let listed = list_all_executions(store, filter(machine_name, status, limit)).await;
            assert_eq!(
                arns(&listed),
                select(&all, machine_name, status),
                "machine {machine_name:?}, status {status:?}, limit {limit}"
            );
        }
    }
    let o1 = execution_arn("orders", "o1");
    let mut done = step(&load(store, &o1).await.0, 1);
    done.execution.status = "SUCCEEDED".to_owned();
    commit(store, done).await;
    let running = list_all_executions(store, filter(Some("orders"), Some("RUNNING"), 10)).await;
    assert_eq!(
        arns(&running),
        vec![execution_arn("orders", "o3").as_str()],
        "a status change moves the execution"
    );
    let succeeded = list_all_executions(store, filter(Some("orders"), Some("SUCCEEDED"), 10)).await;
    assert_eq!(
        arns(&succeeded),
        vec![execution_arn("orders", "o2").as_str(), o1.as_str()],
        "still newest first by start time after the status change"
    );
}

/// `running_executions` names exactly the RUNNING executions.
pub async fn running_executions_lists_running_only(store: &dyn Store) {
    let running = || async {
        let mut arns = store
            .running_executions()
            .await
            .expect("running_executions must succeed");
        arns.sort();
        arns
    };
    assert_eq!(
        running().await,
        Vec::<String>::new(),
        "an empty store runs nothing"
    );
    listed_executions(
        store,
        &[
            ("orders", "r1", 1, "RUNNING"),
            ("orders", "s1", 2, "SUCCEEDED"),
            ("billing", "r2", 3, "RUNNING"),
            ("billing", "f1", 4, "FAILED"),
        ],
    )
    .await;
    let r1 = execution_arn("orders", "r1");
    let r2 = execution_arn("billing", "r2");
    assert_eq!(
        running().await,
        vec![r2.clone(), r1.clone()],
        "exactly the RUNNING executions"
    );
    let mut aborted = step(&load(store, &r1).await.0, 1);
    aborted.execution.status = "ABORTED".to_owned();
    commit(store, aborted).await;
    assert_eq!(
        running().await,
        vec![r2],
        "an execution that stopped is no longer running"
    );
}

// ---------------------------------------------------------------------------------------------
// Concurrency.

/// Sets its flag when dropped, so that readers stop even if the writer panics.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Waits for every task.
async fn join(tasks: Vec<BoxFuture<'static, ()>>) {
    for task in tasks {
        task.await;
    }
}

/// [`CONCURRENT_CALLERS`] tasks each create an execution, then step it, all at once; every commit
/// lands and every caller gets its own result.
pub async fn concurrent_commits_all_land(store: Arc<dyn Store>, spawn: Spawn) {
    let tasks = (0..CONCURRENT_CALLERS)
        .map(|index| {
            let store = Arc::clone(&store);
            spawn(Box::pin(async move {
                let name = format!("parallel-{index:03}");
                let mut create = start(
                    &execution(
                        "orders",
                        &name,
                        at(i64::try_from(index).expect("small index")),
                    ),
                    2,
                );
                create.add_work = vec![item(&name, &create.execution.arn, secs(0))];
                let arn = create.execution.arn.clone();
                if let Err(error) = store.commit(create.clone()).await {
                    panic!("concurrent create of {arn} failed: {error}");
                }
                let mut next = step(&create.execution, 1);
                next.snapshot = format!(r#"{{"snapshot":"{name}"}}"#);
                next.add_work = vec![item(&format!("{name}-next"), &arn, secs(1))];
                next.done_work = vec![name.clone()];
                if let Err(error) = store.commit(next).await {
                    panic!("concurrent step of {arn} failed: {error}");
                }
            }))
        })
        .collect();
    join(tasks).await;
    let store = &*store;
    for index in 0..CONCURRENT_CALLERS {
        let name = format!("parallel-{index:03}");
        let arn = execution_arn("orders", &name);
        let (row, snapshot) = load(store, &arn).await;
        assert_eq!(
            (row.version, row.last_event_id),
            (2, 3),
            "both commits of {arn} must land"
        );
        assert_eq!(
            snapshot,
            format!(r#"{{"snapshot":"{name}"}}"#),
            "{arn} keeps its own snapshot"
        );
        assert_eq!(
            history(store, &arn, 0, 100, false).await,
            events(&arn, 1, 3),
            "{arn} keeps its own events"
        );
    }
    let mut running = store
        .running_executions()
        .await
        .expect("running_executions must succeed");
    running.sort();
    assert_eq!(
        running.len(),
        CONCURRENT_CALLERS,
        "every execution is running"
    );
    let expected: Vec<String> = (0..CONCURRENT_CALLERS)
        .map(|index| format!("parallel-{index:03}-next"))
        .collect();
    assert_eq!(
        work_ids(store).await,
        expected,
        "each execution's work is its own"
    );
}

/// In a burst of concurrent commits, the failing ones (conflicts, duplicates, gaps) fail alone:
/// every good commit lands, every bad one gets its own error and writes nothing.
pub async fn concurrent_failures_do_not_fail_others(store: Arc<dyn Store>, spawn: Spawn) {
    let half = CONCURRENT_CALLERS / 2;
    let mut rows = Vec::new();
    for index in 0..half {
        let name = format!("burst-{index:03}");
        rows.push(commit(&*store, start(&execution("orders", &name, secs(0)), 2)).await);
    }
    let mut tasks = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let good = {
            let mut good = step(row, 1);
            good.snapshot = format!(r#"{{"good":{index}}}"#);
            good.add_work = vec![item(&format!("good-{index:03}"), &row.arn, secs(0))];
            good
        };
        let (bad, rule): (Commit, &'static str) = match index % 3 {
            0 => {
                let mut stale = step(row, 1);
                stale.expected_version = Some(row.version + 5);
                (stale, "a stale version")
            }
            1 => (
                start(&execution("orders", &row.name, secs(0)), 1),
                "a duplicate create",
            ),
            _ => {
                let mut gap = step(row, 1);
                gap.events = events(&row.arn, 10, 10);
                (gap, "an event id gap")
            }
        };
        let mut bad = bad;
        bad.snapshot = r#"{"bad":true}"#.to_owned();
        bad.add_work = vec![item(&format!("bad-{index:03}"), &row.arn, secs(0))];
        let good_store = Arc::clone(&store);
        tasks.push(spawn(Box::pin(async move {
            let arn = good.execution.arn.clone();
            if let Err(error) = good_store.commit(good).await {
                panic!("a good commit to {arn} failed in a burst with bad ones: {error}");
            }
        })));
        let bad_store = Arc::clone(&store);
        tasks.push(spawn(Box::pin(async move {
            let arn = bad.execution.arn.clone();
            match bad_store.commit(bad).await {
                Ok(()) => panic!("{rule} to {arn} must fail"),
                Err(Error::Conflict { .. } | Error::AlreadyExists { .. }) => {}
                Err(error) => panic!("{rule} to {arn} failed with the wrong error: {error:?}"),
            }
        })));
    }
    join(tasks).await;
    let store = &*store;
    for (index, row) in rows.iter().enumerate() {
        let (stored, snapshot) = load(store, &row.arn).await;
        assert_eq!(
            stored.version, 2,
            "the good commit to {} lands once",
            row.arn
        );
        assert_eq!(
            snapshot,
            format!(r#"{{"good":{index}}}"#),
            "{} has the good commit's snapshot",
            row.arn
        );
        assert_eq!(
            history(store, &row.arn, 0, 100, false).await,
            events(&row.arn, 1, 3),
            "{}: the good events only",
            row.arn
        );
    }
    let expected: Vec<String> = (0..half).map(|index| format!("good-{index:03}")).collect();
    assert_eq!(
        work_ids(store).await,
        expected,
        "only the good commits' work is stored"
    );
}

/// Many owners claiming at once never get the same item while its lease holds.
pub async fn concurrent_claims_never_share_an_item(store: Arc<dyn Store>, spawn: Spawn) {
    let items: Vec<(String, Timestamp)> = (0..CONCURRENT_CALLERS)
        .map(|index| {
            (
                format!("job-{index:03}"),
                at(i64::try_from(index).expect("small index")),
            )
        })
        .collect();
    let refs: Vec<(&str, Timestamp)> = items.iter().map(|(id, due)| (id.as_str(), *due)).collect();
    with_work(&*store, "jobs", &refs).await;
    let taken = Arc::new(Mutex::new(Vec::new()));
    let tasks = (0..10)
        .map(|owner| {
            let store = Arc::clone(&store);
            let taken = Arc::clone(&taken);
            spawn(Box::pin(async move {
                for round in 0..=CONCURRENT_CALLERS {
                    assert!(
                        round < CONCURRENT_CALLERS,
                        "claiming must run out of items: an owner keeps getting leased ones"
                    );
                    // A new owner each round: an owner may claim its own items again.
                    let owner = format!("worker-{owner}-{round}");
                    let claimed = store
                        .claim_work(&owner, secs(10), secs(10), secs(70), 7)
                        .await
                        .unwrap_or_else(|error| panic!("claim_work by {owner} failed: {error}"));
                    if claimed.is_empty() {
                        break;
                    }
                    let mut taken = taken
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    taken.extend(
                        claimed
                            .into_iter()
                            .map(|claimed| (claimed.item.id, claimed.claims)),
                    );
                }
            }))
        })
        .collect();
    join(tasks).await;
    let taken = std::mem::take(
        &mut *taken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let distinct: BTreeSet<&str> = taken.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        taken.len(),
        CONCURRENT_CALLERS,
        "each item is claimed exactly once while leases hold"
    );
    assert_eq!(
        distinct.len(),
        CONCURRENT_CALLERS,
        "no item is claimed by two owners"
    );
    assert!(
        taken.iter().all(|(_, claims)| *claims == 0),
        "every claim was a first claim"
    );
}

/// A reader never sees part of a commit: while commits of two events each land, every history read
/// holds an even number of events, and every row read matches a whole commit.
pub async fn readers_never_see_part_of_a_commit(store: Arc<dyn Store>, spawn: Spawn) {
    const COMMITS: u64 = 60;
    let arn = commit(&*store, start(&execution("orders", "watched", secs(0)), 2))
        .await
        .arn;
    let done = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    {
        let store = Arc::clone(&store);
        let done = Arc::clone(&done);
        let arn = arn.clone();
        tasks.push(spawn(Box::pin(async move {
            let _done = SetOnDrop(done);
            for _ in 0..COMMITS {
                let (row, _) = load(&*store, &arn).await;
                let mut next = step(&row, 2);
                next.snapshot = format!(r#"{{"version":{}}}"#, row.version + 1);
                next.add_work = vec![item(&format!("w{}", row.version + 1), &arn, secs(0))];
                if let Err(error) = store.commit(next).await {
                    panic!("commit of version {} failed: {error}", row.version + 1);
                }
            }
        })));
    }
    for _ in 0..4 {
        let store = Arc::clone(&store);
        let done = Arc::clone(&done);
        let arn = arn.clone();
        tasks.push(spawn(Box::pin(async move {
            let mut reads = 0;
            while !done.load(Ordering::SeqCst) || reads == 0 {
                reads += 1;
                let events = history(&*store, &arn, 0, 1_000, false).await;
                assert!(
                    events.len() % 2 == 0,
                    "a reader saw {} events: part of a commit",
                    events.len()
                );
                assert_eq!(
                    ids(&events),
                    (1..=events.len() as u64).collect::<Vec<_>>(),
                    "history has no holes"
                );
                let (row, snapshot) = load(&*store, &arn).await;
                assert_eq!(
                    row.last_event_id,
                    2 * row.version,
                    "a reader saw a row from part of a commit"
                );
                if row.version > 1 {
                    assert_eq!(
                        snapshot,
                        format!(r#"{{"version":{}}}"#, row.version),
                        "the snapshot must match its row"
                    );
                }
            }
        })));
    }
    join(tasks).await;
    let (row, _) = load(&*store, &arn).await;
    assert_eq!(row.version, COMMITS + 1, "every commit landed");
}

/// A document is created at version 1, replaced only at the version read, and deleted once.
pub async fn documents_create_replace_and_delete(store: &dyn Store) {
    let put = |body: &str, expected| store.put_document("alias", "a1", body.to_owned(), expected);
    assert_eq!(put("{\"v\":1}", None).await, Ok(1), "created at version 1");
    assert!(
        matches!(put("{}", None).await, Err(Error::AlreadyExists { .. })),
        "creating it again is AlreadyExists"
    );
    assert_eq!(
        put("{\"v\":2}", Some(1)).await,
        Ok(2),
        "replaced at the version read"
    );
    assert!(
        matches!(put("{\"v\":3}", Some(1)).await, Err(Error::Conflict { .. })),
        "a stale version is a Conflict"
    );
    let found = store
        .get_document("alias", "a1")
        .await
        .expect("get_document must succeed")
        .expect("the document exists");
    assert_eq!((found.body.as_str(), found.version), ("{\"v\":2}", 2));
    assert!(
        matches!(
            store
                .put_document("alias", "missing", "{}".to_owned(), Some(1))
                .await,
            Err(Error::NotFound { .. })
        ),
        "replacing a missing document is NotFound"
    );
    assert_eq!(
        store
            .get_document("tags", "a1")
            .await
            .expect("get_document must succeed"),
        None,
        "kinds are separate"
    );
    assert_eq!(store.delete_document("alias", "a1").await, Ok(true));
    assert_eq!(store.delete_document("alias", "a1").await, Ok(false));
    assert_eq!(
        store
            .get_document("alias", "a1")
            .await
            .expect("get_document must succeed"),
        None
    );
}

/// A commit's documents are written with it: created or replaced (last write wins), and not
/// at all when the commit fails.
pub async fn documents_written_with_a_commit(store: &dyn Store) {
    let row = execution("docs", "d1", at(1));
    let mut first = start(&row, 1);
    first.documents = vec![
        ("map-run".into(), "run-1".into(), "{\"n\":1}".into()),
        ("map-run".into(), "run-1".into(), "{\"n\":2}".into()),
    ];
    commit(store, first).await;
    let found = store
        .get_document("map-run", "run-1")
        .await
        .expect("get_document must succeed")
        .expect("the commit wrote the document");
    assert_eq!(found.body, "{\"n\":2}", "the last write of a commit wins");
    let (stored, _) = load(store, &row.arn).await;
    let mut stale = step(&stored, 1);
    stale.expected_version = Some(stored.version + 7);
    stale.documents = vec![("map-run".into(), "run-1".into(), "{\"n\":3}".into())];
    assert!(store.commit(stale).await.is_err(), "a stale commit fails");
    let found = store
        .get_document("map-run", "run-1")
        .await
        .expect("get_document must succeed")
        .expect("the document is still there");
    assert_eq!(
        found.body, "{\"n\":2}",
        "a failed commit writes no document"
    );
}

/// `list_documents` gives one kind's documents whose key starts with the prefix, in key order;
/// `%` and `_` in the prefix are plain characters.
pub async fn documents_list_by_prefix_in_key_order(store: &dyn Store) {
    for key in ["m:2", "m:10", "m:1", "n:1", "m_x", "m%y"] {
        store
            .put_document("version", key, format!("\"{key}\""), None)
            .await
            .expect("put_document must succeed");
    }
    store
        .put_document("alias", "m:3", "{}".to_owned(), None)
        .await
        .expect("put_document must succeed");
    let keys = |prefix: &'static str| async move {
        store
            .list_documents("version", prefix)
            .await
            .expect("list_documents must succeed")
            .into_iter()
            .map(|d| d.key)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys("m:").await,
        vec!["m:1", "m:10", "m:2"],
        "key order, one kind"
    );
    assert_eq!(keys("m_").await, vec!["m_x"], "`_` is not a wildcard");
    assert_eq!(keys("m%").await, vec!["m%y"], "`%` is not a wildcard");
    assert_eq!(keys("").await.len(), 6, "an empty prefix lists the kind");
}

// ---------------------------------------------------------------------------------------------
// Queues.

/// The main queue of the queue checks.
const ORDERS: &str = "orders";

/// The dead-letter queue of the queue checks.
const ORDERS_DLQ: &str = "orders-dlq";

/// A message `id` sent at `sent_at`, visible from `visible_at`, with no group or deduplication id.
fn new_message(id: &str, sent_at: Timestamp, visible_at: Timestamp) -> NewMessage {
    NewMessage {
        id: id.to_owned(),
        body: format!("body of {id}"),
        attributes: format!(r#"{{"id":"{id}"}}"#),
        sent_at,
        visible_at,
        group_id: None,
        dedup_id: None,
        dedup_expires_at: sent_at,
    }
}

/// A message `id` of FIFO group `group`, sent and visible at `sent_at`.
fn grouped(id: &str, group: &str, sent_at: Timestamp) -> NewMessage {
    NewMessage {
        group_id: Some(group.to_owned()),
        ..new_message(id, sent_at, sent_at)
    }
}

/// How long the deduplication records of the queue checks hold, in seconds.
const DEDUP_WINDOW: i64 = 300;

/// A message `id` with deduplication id `dedup`, sent and visible at `secs(sent)`, its record
/// holding for [`DEDUP_WINDOW`].
fn deduplicated(id: &str, dedup: &str, sent: i64) -> NewMessage {
    NewMessage {
        dedup_id: Some(dedup.to_owned()),
        dedup_expires_at: secs(sent + DEDUP_WINDOW),
        ..new_message(id, secs(sent), secs(sent))
    }
}

/// A receive from `queue` at `now` of up to `max` messages, in flight until `visible_until`, with
/// no redrive policy, not FIFO.
fn receive_of(queue: &str, now: Timestamp, max: usize, visible_until: Timestamp) -> Receive {
    Receive {
        queue: queue.to_owned(),
        now,
        max,
        visible_until,
        redrive: None,
        fifo: false,
    }
}

/// [`receive_of`] on a FIFO queue.
fn fifo_receive(queue: &str, now: Timestamp, max: usize, visible_until: Timestamp) -> Receive {
    Receive {
        fifo: true,
        ..receive_of(queue, now, max, visible_until)
    }
}

/// [`receive_of`] with a redrive policy to [`ORDERS_DLQ`] after `max_receive_count` receives.
fn redriven(
    queue: &str,
    now: Timestamp,
    max: usize,
    visible_until: Timestamp,
    max_receive_count: u64,
) -> Receive {
    Receive {
        redrive: Some(Redrive {
            max_receive_count,
            dead_letter_queue: ORDERS_DLQ.to_owned(),
        }),
        ..receive_of(queue, now, max, visible_until)
    }
}

/// Sends `message` alone to `queue` at its send time; what the send answered.
async fn send_one(store: &dyn Store, queue: &str, message: NewMessage) -> Sent {
    let now = message.sent_at;
    let mut sent = send(store, queue, now, &[message]).await;
    sent.remove(0)
}

async fn send(
    store: &dyn Store,
    queue: &str,
    now: Timestamp,
    messages: &[NewMessage],
) -> Vec<Sent> {
    let sent = store
        .send_messages(queue, now, messages.to_vec())
        .await
        .unwrap_or_else(|error| panic!("send_messages to {queue} failed: {error}"));
    assert_eq!(
        sent.len(),
        messages.len(),
        "send_messages answers once per message"
    );
    sent
}

/// Sends messages `(id, group)`, sent and visible at `secs(0)`, to [`ORDERS`]; their stored
/// form.
async fn send_grouped(store: &dyn Store, messages: &[(&str, &str)]) -> Vec<Message> {
    let messages: Vec<NewMessage> = messages
        .iter()
        .map(|(id, group)| grouped(id, group, secs(0)))
        .collect();
    send_new(store, ORDERS, &messages).await
}

/// Sends messages `ids`, sent and visible at `secs(0)`, to `queue`; their stored form.
async fn send_ready(store: &dyn Store, queue: &str, ids: &[&str]) -> Vec<Message> {
    let messages: Vec<NewMessage> = ids
        .iter()
        .map(|id| new_message(id, secs(0), secs(0)))
        .collect();
    send_new(store, queue, &messages).await
}

/// Sends `messages` (none a duplicate) to `queue` at their send time; their stored form.
async fn send_new(store: &dyn Store, queue: &str, messages: &[NewMessage]) -> Vec<Message> {
    let now = messages.first().map_or(at(0), |message| message.sent_at);
    let sent = send(store, queue, now, messages).await;
    messages
        .iter()
        .zip(sent)
        .map(|(message, sent)| {
            assert_eq!(
                (sent.id.as_str(), sent.duplicate),
                (message.id.as_str(), false),
                "a message without a deduplication record is stored under its own id"
            );
            message.stored(queue, sent.sequence)
        })
        .collect()
}

async fn receive(store: &dyn Store, receive: Receive) -> Received {
    let described = format!("{receive:?}");
    store
        .receive_messages(receive)
        .await
        .unwrap_or_else(|error| panic!("receive_messages({described}) failed: {error}"))
}

/// The ids a receive delivered, in order.
fn delivered(received: &Received) -> Vec<&str> {
    received
        .messages
        .iter()
        .map(|message| message.id.as_str())
        .collect()
}

/// Every message of `queue`, in sequence order.
async fn peek(store: &dyn Store, queue: &str) -> Vec<Message> {
    store
        .peek_messages(queue, 10_000)
        .await
        .unwrap_or_else(|error| panic!("peek_messages({queue}) failed: {error}"))
}

fn message_ids(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|message| message.id.as_str()).collect()
}

async fn counts(store: &dyn Store, queue: &str, now: Timestamp) -> QueueCounts {
    store
        .queue_counts(queue, now)
        .await
        .unwrap_or_else(|error| panic!("queue_counts({queue}) failed: {error}"))
}

/// The receipt of `message` as it is now.
fn receipt(message: &Message) -> Receipt {
    Receipt {
        sequence: message.sequence,
        receive_count: message.receive_count,
    }
}

/// `message` after a receive at `now` that keeps it until `visible_until`.
fn received_at(message: &Message, now: Timestamp, visible_until: Timestamp) -> Message {
    Message {
        receive_count: message.receive_count + 1,
        first_received_at: message.first_received_at.or(Some(now)),
        visible_at: visible_until,
        ..message.clone()
    }
}

/// Sequences are unique in the store and grow in send order, across calls and queues; a queue
/// holds its messages in sequence order, every field as sent.
pub async fn queue_send_keeps_sequence_order(store: &dyn Store) {
    let first = send_new(
        store,
        ORDERS,
        &[
            new_message("m1", at(10), at(10)),
            new_message("m2", at(5), secs(60)),
            NewMessage {
                group_id: Some("g".to_owned()),
                ..new_message("m3", at(10), at(10))
            },
        ],
    )
    .await;
    let other = send_new(store, "other", &[new_message("o1", at(20), at(20))]).await;
    let second = send_new(store, ORDERS, &[new_message("m4", at(30), at(30))]).await;
    let sequences: Vec<u64> = first
        .iter()
        .chain(&other)
        .chain(&second)
        .map(|message| message.sequence)
        .collect();
    assert!(
        sequences.windows(2).all(|pair| pair[0] < pair[1]),
        "sequences must grow in send order, across calls and queues: {sequences:?}"
    );
    let expected: Vec<Message> = first.iter().chain(&second).cloned().collect();
    assert_eq!(
        peek(store, ORDERS).await,
        expected,
        "a queue holds its messages in sequence order, as sent"
    );
    assert_eq!(peek(store, "other").await, other, "queues are separate");
    let two = store
        .peek_messages(ORDERS, 2)
        .await
        .expect("peek_messages must succeed");
    assert_eq!(two, expected[..2], "peek reads at most `limit`, in order");
    assert_eq!(
        peek(store, "empty").await,
        Vec::new(),
        "an unknown queue is empty"
    );
    assert_eq!(
        send(store, ORDERS, at(40), &[]).await,
        Vec::new(),
        "sending nothing stores nothing"
    );
}

/// Counts split a queue's messages into visible, in flight and delayed at `now`, and name the
/// oldest send time.
pub async fn queue_counts_by_state(store: &dyn Store) {
    assert_eq!(
        counts(store, ORDERS, secs(0)).await,
        QueueCounts::default(),
        "an empty queue counts nothing"
    );
    send_new(
        store,
        ORDERS,
        &[
            new_message("taken", secs(0), secs(0)),
            new_message("waiting", secs(0), secs(0)),
            new_message("delayed", at(-7), secs(60)),
            new_message("ready", secs(1), secs(1)),
        ],
    )
    .await;
    send_new(
        store,
        "other",
        &[new_message("elsewhere", secs(-100), secs(-100))],
    )
    .await;
    let taken = receive(store, receive_of(ORDERS, secs(2), 1, secs(30))).await;
    assert_eq!(delivered(&taken), vec!["taken"]);
    for (now, visible, in_flight, delayed, rule) in [
        (secs(2), 2, 1, 1, "two visible, one received, one delayed"),
        (
            secs(30),
            3,
            0,
            1,
            "a message whose visibility ended at `now` is visible",
        ),
        (
            secs(60),
            4,
            0,
            0,
            "a delayed message is visible once its delay ends",
        ),
    ] {
        assert_eq!(
            counts(store, ORDERS, now).await,
            QueueCounts {
                visible,
                in_flight,
                delayed,
                oldest_sent_at: Some(at(-7)),
            },
            "{rule}; the oldest message is the one sent first, whatever its sequence"
        );
    }
}

/// A receive takes the first visible messages in sequence order, up to `max`, skipping delayed
/// and in-flight ones; it counts the receive, notes the first one, and hides the message until
/// `visible_until`.
pub async fn queue_receive_takes_visible_messages(store: &dyn Store) {
    let sent = send_new(
        store,
        ORDERS,
        &[
            new_message("m1", secs(0), secs(0)),
            new_message("m2", secs(0), secs(50)),
            new_message("m3", secs(0), secs(0)),
            new_message("m4", secs(0), secs(0)),
            new_message("m5", secs(0), secs(0)),
        ],
    )
    .await;
    let none = receive(store, receive_of(ORDERS, secs(1), 0, secs(31))).await;
    assert_eq!(none, Received::default(), "a receive of 0 takes nothing");
    let first = receive(store, receive_of(ORDERS, secs(1), 2, secs(31))).await;
    assert_eq!(
        first,
        Received {
            messages: vec![
                received_at(&sent[0], secs(1), secs(31)),
                received_at(&sent[2], secs(1), secs(31)),
            ],
            moved_to_dead_letter: 0,
        },
        "the first two visible messages, delayed m2 skipped, as they are after the receive"
    );
    let second = receive(store, receive_of(ORDERS, secs(2), 10, secs(32))).await;
    assert_eq!(
        delivered(&second),
        vec!["m4", "m5"],
        "in-flight messages are skipped"
    );
    let third = receive(store, receive_of(ORDERS, secs(3), 10, secs(33))).await;
    assert_eq!(
        third,
        Received::default(),
        "nothing is visible: every message is delayed or in flight"
    );
    let again = receive(store, receive_of(ORDERS, secs(50), 10, secs(80))).await;
    let expected_again = vec![
        received_at(&first.messages[0], secs(50), secs(80)),
        received_at(&sent[1], secs(50), secs(80)),
        received_at(&first.messages[1], secs(50), secs(80)),
        received_at(&second.messages[0], secs(50), secs(80)),
        received_at(&second.messages[1], secs(50), secs(80)),
    ];
    assert_eq!(
        again.messages, expected_again,
        "once visible again, messages come in sequence order; receive counts grow and the \
         first receive time stays"
    );
    assert_eq!(again.messages[0].receive_count, 2);
    assert_eq!(again.messages[0].first_received_at, Some(secs(1)));
    assert_eq!(
        peek(store, ORDERS).await,
        expected_again,
        "a receive stores what it returns"
    );
}

/// A message received `max_receive_count` times moves to the dead-letter queue on its next
/// receive instead of being delivered: once, whole, with its source queue; the moves count
/// toward `max`.
pub async fn queue_receive_moves_exhausted_messages_to_dead_letter_queue(store: &dyn Store) {
    let sent = send_ready(store, ORDERS, &["a", "b", "c"]).await;
    let policy = 2;
    let first = receive(store, redriven(ORDERS, secs(1), 3, secs(10), policy)).await;
    assert_eq!(delivered(&first), vec!["a", "b", "c"]);
    let second = receive(store, redriven(ORDERS, secs(10), 1, secs(20), policy)).await;
    assert_eq!(delivered(&second), vec!["a"], "a is received a second time");
    let third = receive(store, redriven(ORDERS, secs(20), 2, secs(30), policy)).await;
    assert_eq!(
        third.moved_to_dead_letter, 1,
        "a reached max_receive_count: it moves"
    );
    assert_eq!(
        delivered(&third),
        vec!["b"],
        "the move counts toward max: only b is delivered"
    );
    let moved_a = Message {
        queue: ORDERS_DLQ.to_owned(),
        source_queue: Some(ORDERS.to_owned()),
        receive_count: 0,
        visible_at: secs(20),
        first_received_at: Some(secs(1)),
        ..sent[0].clone()
    };
    assert_eq!(
        peek(store, ORDERS_DLQ).await,
        vec![moved_a.clone()],
        "the moved message keeps its sequence and fields; it is visible in the dead-letter queue \
         with receive count 0 and its source queue"
    );
    assert_eq!(
        message_ids(&peek(store, ORDERS).await),
        vec!["b", "c"],
        "a moved message is no longer in its queue"
    );
    let fourth = receive(store, redriven(ORDERS, secs(30), 10, secs(40), policy)).await;
    assert_eq!(
        (delivered(&fourth), fourth.moved_to_dead_letter),
        (vec!["c"], 1),
        "b moves (received twice), c is delivered a second time"
    );
    let fifth = receive(store, redriven(ORDERS, secs(40), 10, secs(50), policy)).await;
    assert_eq!(
        (delivered(&fifth), fifth.moved_to_dead_letter),
        (Vec::<&str>::new(), 1),
        "c moves; nothing is delivered"
    );
    assert_eq!(peek(store, ORDERS).await, Vec::new(), "the queue is empty");
    let dead = peek(store, ORDERS_DLQ).await;
    assert_eq!(
        message_ids(&dead),
        vec!["a", "b", "c"],
        "each message is in the dead-letter queue exactly once, in sequence order"
    );
    assert_eq!(
        counts(store, ORDERS_DLQ, secs(40)).await,
        QueueCounts {
            visible: 3,
            in_flight: 0,
            delayed: 0,
            oldest_sent_at: Some(secs(0)),
        }
    );
    let from_dlq = receive(store, receive_of(ORDERS_DLQ, secs(41), 1, secs(51))).await;
    assert_eq!(
        from_dlq.messages,
        vec![received_at(&moved_a, secs(41), secs(51))],
        "a dead-letter queue is received from like any queue"
    );
    let empty = receive(store, redriven(ORDERS, secs(60), 10, secs(70), policy)).await;
    assert_eq!(
        empty,
        Received::default(),
        "nothing is left to move or deliver"
    );
}

/// A receipt acts only on the message as it was received: an older receive's receipt, another
/// queue's, or an unknown one neither deletes nor changes visibility; per receipt, the answer
/// says which acted.
pub async fn queue_stale_receipts_change_nothing(store: &dyn Store) {
    let sent = send_ready(store, ORDERS, &["m"]).await;
    let first = receive(store, receive_of(ORDERS, secs(1), 1, secs(10))).await;
    let old = receipt(&first.messages[0]);
    let second = receive(store, receive_of(ORDERS, secs(10), 1, secs(20))).await;
    let current = receipt(&second.messages[0]);
    assert_eq!(current.sequence, sent[0].sequence);
    assert_eq!((old.receive_count, current.receive_count), (1, 2));
    let before = peek(store, ORDERS).await;
    let changed = store
        .change_visibility(ORDERS, secs(11), vec![(old, secs(100))])
        .await;
    assert_eq!(changed, Ok(vec![false]), "a stale receipt changes nothing");
    let deleted = store.delete_messages(ORDERS, vec![old]).await;
    assert_eq!(deleted, Ok(vec![false]), "a stale receipt deletes nothing");
    let elsewhere = store.delete_messages("other", vec![current]).await;
    assert_eq!(
        elsewhere,
        Ok(vec![false]),
        "a receipt acts only in its message's queue"
    );
    let changed_elsewhere = store
        .change_visibility("other", secs(11), vec![(current, secs(100))])
        .await;
    assert_eq!(changed_elsewhere, Ok(vec![false]));
    assert_eq!(
        peek(store, ORDERS).await,
        before,
        "the message is unchanged"
    );
    let unknown = Receipt {
        sequence: current.sequence + 1_000,
        receive_count: 1,
    };
    let deleted = store
        .delete_messages(ORDERS, vec![old, current, unknown, current])
        .await;
    assert_eq!(
        deleted,
        Ok(vec![false, true, false, false]),
        "one answer per receipt, in order: only the current receipt deletes, once"
    );
    assert_eq!(peek(store, ORDERS).await, Vec::new(), "the message is gone");
}

/// Change-visibility acts only on messages in flight at `now`: it can hide one longer or make it
/// visible at once; a visible or delayed message is left alone.
pub async fn queue_change_visibility_only_in_flight(store: &dyn Store) {
    let sent = send_new(
        store,
        ORDERS,
        &[
            new_message("visible", secs(0), secs(0)),
            new_message("delayed", secs(0), secs(100)),
        ],
    )
    .await;
    let untouched = store
        .change_visibility(
            ORDERS,
            secs(1),
            vec![(receipt(&sent[0]), secs(50)), (receipt(&sent[1]), secs(50))],
        )
        .await;
    assert_eq!(
        untouched,
        Ok(vec![false, false]),
        "visible and delayed messages are not in flight"
    );
    assert_eq!(peek(store, ORDERS).await, sent, "nothing changed");
    let taken = receive(store, receive_of(ORDERS, secs(1), 1, secs(10))).await;
    let current = receipt(&taken.messages[0]);
    let longer = store
        .change_visibility(ORDERS, secs(2), vec![(current, secs(60))])
        .await;
    assert_eq!(
        longer,
        Ok(vec![true]),
        "an in-flight message's visibility changes"
    );
    assert_eq!(peek(store, ORDERS).await[0].visible_at, secs(60));
    assert_eq!(
        receive(store, receive_of(ORDERS, secs(30), 10, secs(40))).await,
        Received::default(),
        "still in flight after its first visibility would have ended"
    );
    let now = store
        .change_visibility(ORDERS, secs(31), vec![(current, secs(31))])
        .await;
    assert_eq!(now, Ok(vec![true]), "visibility can end at once");
    assert_eq!(
        counts(store, ORDERS, secs(31)).await.visible,
        1,
        "the message is visible again"
    );
    let expired = store
        .change_visibility(ORDERS, secs(32), vec![(current, secs(90))])
        .await;
    assert_eq!(
        expired,
        Ok(vec![false]),
        "a message whose visibility ended is not in flight, even with its current receipt"
    );
    let again = receive(store, receive_of(ORDERS, secs(33), 10, secs(43))).await;
    assert_eq!(
        (delivered(&again), again.messages[0].receive_count),
        (vec!["visible"], 2),
        "it is received again"
    );
}

/// FIFO: a group with a message in flight gives nothing else until that message is deleted or
/// visible again; other groups go on.
pub async fn queue_fifo_in_flight_group_blocks(store: &dyn Store) {
    send_grouped(
        store,
        &[
            ("a1", "a"),
            ("b1", "b"),
            ("a2", "a"),
            ("b2", "b"),
            ("c1", "c"),
        ],
    )
    .await;
    let first = receive(store, fifo_receive(ORDERS, secs(1), 1, secs(30))).await;
    assert_eq!(delivered(&first), vec!["a1"]);
    let second = receive(store, fifo_receive(ORDERS, secs(2), 10, secs(30))).await;
    assert_eq!(
        delivered(&second),
        vec!["b1", "b2", "c1"],
        "group a is blocked by a1 in flight; b and c are not"
    );
    send_new(store, ORDERS, &[grouped("c2", "c", secs(3))]).await;
    assert_eq!(
        receive(store, fifo_receive(ORDERS, secs(4), 10, secs(30))).await,
        Received::default(),
        "every group has a message in flight"
    );
    let deleted = store
        .delete_messages(ORDERS, vec![receipt(&first.messages[0])])
        .await;
    assert_eq!(deleted, Ok(vec![true]));
    let third = receive(store, fifo_receive(ORDERS, secs(5), 10, secs(30))).await;
    assert_eq!(
        delivered(&third),
        vec!["a2"],
        "deleting a1 unblocks group a"
    );
    let fourth = receive(store, fifo_receive(ORDERS, secs(30), 10, secs(60))).await;
    assert_eq!(
        delivered(&fourth),
        vec!["b1", "a2", "b2", "c1", "c2"],
        "once visible again, every group resumes in sequence order"
    );
}

/// FIFO: one receive may take several messages of one group, in sequence order; a message of a
/// group whose earlier message is delayed waits for it; a message without a group is not taken.
pub async fn queue_fifo_takes_several_of_one_group(store: &dyn Store) {
    send_new(
        store,
        ORDERS,
        &[
            grouped("a1", "a", secs(0)),
            grouped("a2", "a", secs(0)),
            grouped("a3", "a", secs(0)),
            NewMessage {
                group_id: Some("late".to_owned()),
                ..new_message("late1", secs(0), secs(20))
            },
            grouped("late2", "late", secs(0)),
            grouped("b1", "b", secs(0)),
            new_message("loose", secs(0), secs(0)),
        ],
    )
    .await;
    let first = receive(store, fifo_receive(ORDERS, secs(1), 2, secs(60))).await;
    assert_eq!(
        delivered(&first),
        vec!["a1", "a2"],
        "several of one group, in order"
    );
    let second = receive(store, fifo_receive(ORDERS, secs(2), 10, secs(60))).await;
    assert_eq!(
        delivered(&second),
        vec!["b1"],
        "a3 waits for a1 and a2; late2 waits for the delayed late1"
    );
    let third = receive(store, fifo_receive(ORDERS, secs(20), 10, secs(60))).await;
    assert_eq!(
        delivered(&third),
        vec!["late1", "late2"],
        "once late1 is visible, its group goes in order"
    );
    assert_eq!(
        delivered(&receive(store, receive_of(ORDERS, secs(21), 10, secs(60))).await),
        vec!["a3", "loose"],
        "a standard receive ignores groups: it takes a3, and the message without a group"
    );
}

/// FIFO: behind a long backlog of a group with a message in flight, a receive still finds the
/// other groups' messages, in sequence order.
pub async fn queue_fifo_skips_a_blocked_backlog(store: &dyn Store) {
    let backlog: Vec<NewMessage> = (0..1_000)
        .map(|index| grouped(&format!("a{index:04}"), "a", secs(0)))
        .collect();
    send_new(store, ORDERS, &backlog).await;
    send_grouped(store, &[("b1", "b"), ("c1", "c"), ("b2", "b")]).await;
    let first = receive(store, fifo_receive(ORDERS, secs(1), 1, secs(60))).await;
    assert_eq!(delivered(&first), vec!["a0000"]);
    let second = receive(store, fifo_receive(ORDERS, secs(2), 10, secs(60))).await;
    assert_eq!(
        delivered(&second),
        vec!["b1", "c1", "b2"],
        "group a waits for a0000; the groups behind its backlog do not"
    );
    assert_eq!(
        receive(store, fifo_receive(ORDERS, secs(3), 10, secs(60))).await,
        Received::default(),
        "every group has a message in flight"
    );
}

/// A send whose deduplication id has a record that holds is not stored and answers with the
/// first message; the record outlives its message, holds until it expires, and is per queue.
pub async fn queue_deduplication_within_window(store: &dyn Store) {
    let first = send_new(store, ORDERS, &[deduplicated("m1", "d", 0)]).await;
    assert_eq!(
        send_one(store, ORDERS, deduplicated("m2", "d", 10)).await,
        Sent {
            id: "m1".to_owned(),
            sequence: first[0].sequence,
            duplicate: true,
        },
        "a duplicate answers with the first message's id and sequence"
    );
    let batch = send(
        store,
        ORDERS,
        secs(11),
        &[deduplicated("m3", "e", 11), deduplicated("m4", "e", 11)],
    )
    .await;
    assert!(!batch[0].duplicate, "m3 is new");
    assert_eq!(
        (batch[1].id.as_str(), batch[1].sequence, batch[1].duplicate),
        ("m3", batch[0].sequence, true),
        "a duplicate within one send is caught"
    );
    let elsewhere = send_one(store, "other", deduplicated("o1", "d", 12)).await;
    assert!(!elsewhere.duplicate, "records belong to their queue");
    assert_eq!(
        message_ids(&peek(store, ORDERS).await),
        vec!["m1", "m3"],
        "duplicates are not stored"
    );
    let taken = receive(store, receive_of(ORDERS, secs(13), 10, secs(20))).await;
    let receipts: Vec<Receipt> = taken.messages.iter().map(receipt).collect();
    assert_eq!(
        store.delete_messages(ORDERS, receipts).await,
        Ok(vec![true, true])
    );
    let after_delete = send_one(store, ORDERS, deduplicated("m5", "d", DEDUP_WINDOW - 1)).await;
    assert_eq!(
        (after_delete.id.as_str(), after_delete.duplicate),
        ("m1", true),
        "the record outlives its message, until it expires"
    );
    let expired = send_one(store, ORDERS, deduplicated("m6", "d", DEDUP_WINDOW)).await;
    assert_eq!(
        (expired.id.as_str(), expired.duplicate),
        ("m6", false),
        "a record expires at dedup_expires_at"
    );
    assert!(
        expired.sequence > batch[0].sequence,
        "a message stored again gets a new sequence"
    );
    assert_eq!(
        send_one(store, ORDERS, deduplicated("m7", "d", DEDUP_WINDOW + 1)).await,
        Sent {
            id: "m6".to_owned(),
            sequence: expired.sequence,
            duplicate: true,
        },
        "the new record holds"
    );
}

/// A purge deletes every message of the queue, whatever its state, and its deduplication
/// records; other queues keep theirs.
pub async fn queue_purge_drops_dedup_records(store: &dyn Store) {
    send_new(
        store,
        ORDERS,
        &[
            deduplicated("m1", "d", 0),
            new_message("m2", secs(0), secs(0)),
            new_message("m3", secs(0), secs(100)),
        ],
    )
    .await;
    let other = send_new(store, "other", &[deduplicated("o1", "d", 0)]).await;
    receive(store, receive_of(ORDERS, secs(1), 1, secs(30))).await;
    assert_eq!(
        store.purge_messages(ORDERS).await,
        Ok(3),
        "every message is purged"
    );
    assert_eq!(peek(store, ORDERS).await, Vec::new());
    assert_eq!(
        peek(store, "other").await,
        other,
        "another queue keeps its messages"
    );
    let again = send_one(store, ORDERS, deduplicated("m4", "d", 2)).await;
    assert_eq!(
        (again.id.as_str(), again.duplicate),
        ("m4", false),
        "the purge dropped the deduplication record"
    );
    let still = send_one(store, "other", deduplicated("o2", "d", 2)).await;
    assert!(still.duplicate, "another queue keeps its records");
    assert_eq!(store.purge_messages("empty").await, Ok(0));
}

/// Retention deletes a queue's messages sent before the bound, whatever their state, and keeps
/// deduplication records that still hold.
pub async fn queue_expire_deletes_old_messages(store: &dyn Store) {
    let sent = send_new(
        store,
        ORDERS,
        &[
            deduplicated("old", "d", 0),
            new_message("taken", secs(10), secs(10)),
            new_message("kept", secs(20), secs(20)),
            new_message("delayed-old", secs(5), secs(100)),
        ],
    )
    .await;
    let other = send_ready(store, "other", &["o1"]).await;
    receive(store, receive_of(ORDERS, secs(11), 2, secs(60))).await;
    assert_eq!(
        store.expire_messages(ORDERS, secs(20)).await,
        Ok(3),
        "messages sent strictly before the bound go, in flight or delayed too"
    );
    assert_eq!(peek(store, ORDERS).await, vec![sent[2].clone()]);
    assert_eq!(
        peek(store, "other").await,
        other,
        "other queues are untouched"
    );
    assert_eq!(store.expire_messages(ORDERS, secs(20)).await, Ok(0));
    assert!(
        send_one(store, ORDERS, deduplicated("again", "d", 21))
            .await
            .duplicate,
        "a deduplication record that still holds outlives its expired message"
    );
}

/// Moving messages back takes up to `max` visible messages of a dead-letter queue in sequence
/// order, to their source queue or to a named one, requeued as new.
pub async fn queue_move_messages_back(store: &dyn Store) {
    let from_a = send_ready(store, "a", &["a1", "a2"]).await;
    let from_b = send_ready(store, "b", &["b1"]).await;
    let direct = send_ready(store, ORDERS_DLQ, &["d1"]).await;
    let from_a3 = send_ready(store, "a", &["a3"]).await;
    for queue in ["a", "b"] {
        receive(store, redriven(queue, secs(1), 10, secs(2), 1)).await;
        let moved = receive(store, redriven(queue, secs(2), 10, secs(3), 1)).await;
        assert!(moved.messages.is_empty(), "every message of {queue} moves");
    }
    assert_eq!(
        message_ids(&peek(store, ORDERS_DLQ).await),
        vec!["a1", "a2", "b1", "d1", "a3"],
        "the dead-letter queue holds the messages in sequence order"
    );
    let busy = receive(store, receive_of(ORDERS_DLQ, secs(3), 1, secs(100))).await;
    assert_eq!(
        delivered(&busy),
        vec!["a1"],
        "a1 is in flight in the dead-letter queue"
    );
    assert_eq!(
        store.move_messages(ORDERS_DLQ, None, 1, secs(4)).await,
        Ok(1),
        "at most max move"
    );
    let requeued = |message: &Message, queue: &str, now: Timestamp| Message {
        queue: queue.to_owned(),
        visible_at: now,
        receive_count: 0,
        source_queue: None,
        first_received_at: Some(secs(1)),
        ..message.clone()
    };
    assert_eq!(
        peek(store, "a").await,
        vec![requeued(&from_a[1], "a", secs(4))],
        "the first visible message moves back to its source queue, requeued, with its sequence"
    );
    assert_eq!(
        store.move_messages(ORDERS_DLQ, None, 10, secs(5)).await,
        Ok(2),
        "b1 and a3 move; a1 is in flight, d1 has no source queue"
    );
    assert_eq!(
        peek(store, "a").await,
        vec![
            requeued(&from_a[1], "a", secs(4)),
            requeued(&from_a3[0], "a", secs(5)),
        ]
    );
    assert_eq!(
        peek(store, "b").await,
        vec![requeued(&from_b[0], "b", secs(5))]
    );
    assert_eq!(
        message_ids(&peek(store, ORDERS_DLQ).await),
        vec!["a1", "d1"]
    );
    assert_eq!(
        store
            .move_messages(ORDERS_DLQ, Some("c"), 10, secs(100))
            .await,
        Ok(2),
        "with a destination, every visible message moves, source queue or not"
    );
    let in_c = peek(store, "c").await;
    assert_eq!(
        in_c,
        vec![
            requeued(&from_a[0], "c", secs(100)),
            Message {
                queue: "c".to_owned(),
                visible_at: secs(100),
                ..direct[0].clone()
            },
        ]
    );
    assert_eq!(peek(store, ORDERS_DLQ).await, Vec::new());
    assert_eq!(
        store.move_messages(ORDERS_DLQ, None, 10, secs(100)).await,
        Ok(0)
    );
}

/// Concurrent receives never deliver one message twice while it is in flight, and messages that
/// used up their receives move to the dead-letter queue exactly once.
pub async fn queue_concurrent_receives_never_share_a_message(store: Arc<dyn Store>, spawn: Spawn) {
    let messages: Vec<NewMessage> = (0..CONCURRENT_CALLERS)
        .map(|index| new_message(&format!("m{index:03}"), secs(0), secs(0)))
        .collect();
    for chunk in messages.chunks(10) {
        send_new(&*store, ORDERS, chunk).await;
    }
    let half = CONCURRENT_CALLERS / 2;
    let once = receive(&*store, receive_of(ORDERS, secs(1), half, secs(10))).await;
    assert_eq!(once.messages.len(), half);
    let taken = Arc::new(Mutex::new((Vec::new(), 0_u64)));
    let tasks = (0..10)
        .map(|_| {
            let store = Arc::clone(&store);
            let taken = Arc::clone(&taken);
            spawn(Box::pin(async move {
                for round in 0..=CONCURRENT_CALLERS {
                    assert!(
                        round < CONCURRENT_CALLERS,
                        "receiving must run out of messages"
                    );
                    let received =
                        receive(&*store, redriven(ORDERS, secs(10), 7, secs(1_000), 1)).await;
                    if received.messages.is_empty() && received.moved_to_dead_letter == 0 {
                        break;
                    }
                    let mut taken = taken
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    taken
                        .0
                        .extend(received.messages.into_iter().map(|message| message.id));
                    taken.1 += received.moved_to_dead_letter;
                }
            }))
        })
        .collect();
    join(tasks).await;
    let (ids, moved) = std::mem::take(
        &mut *taken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let distinct: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(ids.len(), half, "each fresh message is delivered once");
    assert_eq!(distinct.len(), half, "no message is delivered twice");
    assert_eq!(moved, half as u64, "each received message moves once");
    let expected_dead: Vec<&str> = messages[..half].iter().map(|m| m.id.as_str()).collect();
    let expected_live: Vec<&str> = messages[half..].iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        distinct.into_iter().collect::<Vec<_>>(),
        expected_live,
        "the fresh messages are the ones delivered"
    );
    let dead = peek(&*store, ORDERS_DLQ).await;
    assert_eq!(
        message_ids(&dead),
        expected_dead,
        "the dead-letter queue holds each moved message once"
    );
    assert_eq!(
        message_ids(&peek(&*store, ORDERS).await),
        expected_live,
        "the delivered messages stay in their queue"
    );
}

#[cfg(test)]
mod tests {
    /// Every check is in [`store_contract_tests!`](crate::store_contract_tests!), once.
    #[test]
    fn the_macro_runs_every_check() {
        let source = include_str!("contract.rs");
        let (macro_text, _) = source
            .split_once("(@module $fresh:expr;")
            .expect("the macro lists the checks before its @module arm");
        let listed: Vec<&str> = macro_text
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|word| !word.is_empty())
            .collect();
        let checks: Vec<&str> = source
            .lines()
            .filter_map(|line| line.strip_prefix("pub async fn "))
            .filter_map(|rest| rest.split_once('(').map(|(name, _)| name))
            .collect();
        assert!(checks.len() > 30, "found the checks: {checks:?}");
        for check in checks {
            let times = listed.iter().filter(|word| **word == check).count();
            assert_eq!(
                times, 1,
                "{check} must be listed once in store_contract_tests!"
            );
        }
    }
}
