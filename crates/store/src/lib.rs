//! The store: where weir keeps state machines, executions, their histories and the work still to
//! be done, behind one narrow [`Store`] trait that decides nothing.
//!
//! # Contract
//! Every backend MUST keep these rules; [`contract`] checks them and every backend runs it.
//!
//! - **One commit is atomic.** A [`Commit`] writes an execution's row and snapshot, appends its
//!   history events, adds work items and deletes acknowledged ones, all or nothing. A reader never
//!   sees part of a commit.
//! - **Acknowledged means durable.** When [`Store::commit`] resolves `Ok`, the commit survives a
//!   crash of the process (and, with the backend's default settings, a power loss). Backends MAY
//!   group many callers' commits into one transaction (group commit); each caller still gets its
//!   own result, and one caller's failed commit MUST NOT fail the others.
//! - **Optimistic concurrency.** Each execution row has a version. A commit names the version it
//!   read (`expected_version`); if the row's version differs, the commit fails with
//!   [`Error::Conflict`] and writes nothing. A commit with `expected_version: None` creates the
//!   execution and fails with [`Error::AlreadyExists`] if one with that ARN exists. So several
//!   processes may share a store: at most one of two racing steps of an execution lands.
//! - **History is append-only and ordered.** Event ids of an execution are consecutive from 1; a
//!   commit whose first event id is not the stored last id + 1 fails with [`Error::Conflict`].
//!   [`Store::history`] returns events in id order (or reverse).
//! - **Work is claimed with leases.** A work item (a task to run, a timer) is visible to
//!   [`Store::claim_work`] once it is due; a claim sets an owner and a lease, and another owner can
//!   claim the item only after the lease expires. The same owner may claim it again (renewal, or
//!   a restart of the same node). A work item lives until a commit deletes it (`done_work`, or
//!   `clear_work` when the execution ends): work is delivered at least once.
//! - **Revisions are immutable.** Updating a state machine adds a revision; executions keep the
//!   revision they started on, and [`Store::get_revision`] returns it even after the machine is
//!   updated or deleted. A machine created again under the ARN of a deleted one continues its
//!   numbering (the caller picks a revision no earlier machine used); creating at a revision
//!   that exists fails with [`Error::AlreadyExists`].
//! - **Order of listings.** State machines list by ARN; executions newest first (start time
//!   descending, then ARN descending). Paging cursors are opaque strings owned by the backend; a
//!   cursor the backend did not make is refused with [`Error::NotFound`] (kind `page cursor`).
//!   A page's cursor is `None` exactly when nothing follows.
//! - **Work ids are unique.** A commit applies `clear_work`, then `done_work`, then `add_work`;
//!   adding an id that exists fails the commit with [`Error::AlreadyExists`].
//! - **Documents are small versioned records** (versions, aliases, tags: JSON owned by the
//!   engine) keyed by `(kind, key)`: [`Store::put_document`] with `expected: None` creates one
//!   ([`Error::AlreadyExists`] if it exists), with `Some(v)` replaces the one at version `v`
//!   ([`Error::Conflict`] otherwise, [`Error::NotFound`] if there is none); each write returns the
//!   new version (1 on create). [`Store::list_documents`] lists one kind by key prefix, in key
//!   order.
//! - **Queues** keep messages with SQS semantics through a few atomic operations; their
//!   contract is in [`queue`].
//! - **The store owns `version` and `last_event_id`.** It writes the expected version + 1 (1 on
//!   create) and the last appended event's id, whatever the commit's record says.

pub mod contract;
pub mod queue;

use jiff::Timestamp;
use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future: what the [`Store`] methods return, so the trait works as `dyn Store`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A store result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in a store.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The record to create exists already.
    #[error("{kind} {key} already exists")]
    AlreadyExists {
        /// What kind of record (`state machine`, `execution`).
        kind: &'static str,
        /// Its key.
        key: String,
    },
    /// The record to read or change does not exist.
    #[error("{kind} {key} does not exist")]
    NotFound {
        /// What kind of record.
        kind: &'static str,
        /// Its key.
        key: String,
    },
    /// Someone else changed the record since it was read; reload and decide again.
    #[error("{kind} {key} changed concurrently: {detail}")]
    Conflict {
        /// What kind of record.
        kind: &'static str,
        /// Its key.
        key: String,
        /// What differed.
        detail: String,
    },
    /// A stored value could not be read back.
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt {
        /// Which value.
        what: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The backend failed (I/O, SQL, connection).
    #[error("{operation} failed: {detail}")]
    Backend {
        /// The operation that failed.
        operation: &'static str,
        /// The backend's message.
        detail: String,
    },
    /// The store was shut down.
    #[error("the store is closed")]
    Closed,
}

/// A state machine as stored: the latest revision with its definition.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMachineRecord {
    /// The state machine ARN (the key).
    pub arn: String,
    /// Its name.
    pub name: String,
    /// `STANDARD` or `EXPRESS`.
    pub kind: String,
    /// The role ARN.
    pub role_arn: String,
    /// The revision number, 1 for the created machine, +1 per update.
    pub revision: u64,
    /// The definition text of this revision, as the caller gave it.
    pub definition: String,
    /// Other settings of this revision (logging, tracing, description) as JSON text, owned by the
    /// engine.
    pub config: String,
    /// When the machine was created.
    pub created_at: Timestamp,
    /// When this revision was made.
    pub updated_at: Timestamp,
}

/// An execution's row: what describe and list show, without its snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionRecord {
    /// The execution ARN (the key).
    pub arn: String,
    /// The state machine it runs.
    pub state_machine_arn: String,
    /// The revision of the state machine it runs.
    pub revision: u64,
    /// Its name.
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// The input, JSON text.
    pub input: String,
    /// The output, JSON text, once succeeded.
    pub output: Option<String>,
    /// The error name, once failed.
    pub error: Option<String>,
    /// The cause, once failed.
    pub cause: Option<String>,
    /// When it started.
    pub start_date: Timestamp,
    /// When it ended.
    pub stop_date: Option<Timestamp>,
    /// How many times it was redriven.
    pub redrive_count: u64,
    /// When it was last redriven.
    pub redrive_date: Option<Timestamp>,
    /// The id of its last history event.
    pub last_event_id: u64,
    /// The row version, +1 per commit (1 after the first).
    pub version: u64,
}

/// One history event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// Its id within the execution, from 1.
    pub id: u64,
    /// The event type (`TaskStateEntered`, ...).
    pub event_type: String,
    /// When it happened.
    pub timestamp: Timestamp,
    /// The whole event as JSON text, owned by the engine.
    pub body: String,
}

/// Something still to be done for an execution: a task to run or a timer to fire.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItem {
    /// A key unique in the store, chosen by the engine (execution ARN + thread + wake id).
    pub id: String,
    /// The execution it belongs to.
    pub execution_arn: String,
    /// When it is due (now for a task; the firing time for a timer).
    pub due: Timestamp,
    /// What to do, as JSON text, owned by the engine.
    pub payload: String,
}

/// Everything one decision writes, atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    /// The execution's new row; its `version` is written as `expected_version + 1` (or 1).
    pub execution: ExecutionRecord,
    /// The version read before deciding; `None` creates the execution.
    pub expected_version: Option<u64>,
    /// The engine's snapshot of the execution's state after the decision.
    pub snapshot: String,
    /// History events to append, ids consecutive after the stored last id.
    pub events: Vec<EventRecord>,
    /// Work items to add.
    pub add_work: Vec<WorkItem>,
    /// Work item ids to delete (acknowledged or no longer wanted); unknown ids are ignored.
    pub done_work: Vec<String>,
    /// Delete all of this execution's work items (it ended) before adding `add_work`.
    pub clear_work: bool,
    /// Documents written with the decision (`(kind, key, body)`), created or replaced whatever
    /// their version (last write wins), in order.
    pub documents: Vec<(String, String, String)>,
}

/// A claimed work item.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    /// The item.
    pub item: WorkItem,
    /// How many times it was claimed before (0 on the first claim).
    pub claims: u64,
}

/// A small versioned record owned by the engine (a published version, an alias, a tag set).
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// What kind of record (`version`, `alias`, `tags`).
    pub kind: String,
    /// Its key within the kind (usually an ARN).
    pub key: String,
    /// Its content, JSON text.
    pub body: String,
    /// Its version: 1 when created, +1 per write.
    pub version: u64,
}

/// Which executions to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionFilter {
    /// Only executions of this state machine.
    pub state_machine_arn: Option<String>,
    /// Only executions with this status.
    pub status: Option<String>,
    /// Continue after this cursor (from the previous page).
    pub cursor: Option<String>,
    /// At most this many (the backend may cap it).
    pub limit: usize,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The records.
    pub items: Vec<T>,
    /// Where the next page starts, if there is one.
    pub cursor: Option<String>,
}

/// The store's operations. See the module documentation for the contract.
pub trait Store: Send + Sync {
    /// Creates a state machine at `machine.revision` (1, or the next number after a deleted
    /// machine's revisions); fails with [`Error::AlreadyExists`] if the ARN exists or that
    /// revision does.
    fn create_state_machine(&self, machine: StateMachineRecord) -> BoxFuture<'_, Result<()>>;

    /// Adds a revision to an existing machine: `machine.revision` must be the stored revision + 1,
    /// else [`Error::Conflict`]; [`Error::NotFound`] if there is no such machine.
    fn update_state_machine(&self, machine: StateMachineRecord) -> BoxFuture<'_, Result<()>>;

    /// Deletes a state machine; its revisions stay readable for its executions.
    fn delete_state_machine(&self, arn: &str) -> BoxFuture<'_, Result<()>>;

    /// The latest revision of a state machine.
    fn get_state_machine(&self, arn: &str) -> BoxFuture<'_, Result<Option<StateMachineRecord>>>;

    /// One revision of a state machine, even if the machine was deleted since.
    fn get_revision(
        &self,
        arn: &str,
        revision: u64,
    ) -> BoxFuture<'_, Result<Option<StateMachineRecord>>>;

    /// State machines by ARN, a page at a time.
    fn list_state_machines(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Page<StateMachineRecord>>>;

    /// Writes one decision atomically; resolves once it is durable.
    fn commit(&self, commit: Commit) -> BoxFuture<'_, Result<()>>;

    /// An execution's row and snapshot.
    fn load_execution(&self, arn: &str)
    -> BoxFuture<'_, Result<Option<(ExecutionRecord, String)>>>;

    /// Executions, newest first, a page at a time.
    fn list_executions(
        &self,
        filter: ExecutionFilter,
    ) -> BoxFuture<'_, Result<Page<ExecutionRecord>>>;

    /// History events with ids after `after` (or before it, when `reverse`; `after == 0` with
    /// `reverse` starts at the last event), at most `limit`.
    fn history(
        &self,
        arn: &str,
        after: u64,
        limit: usize,
        reverse: bool,
    ) -> BoxFuture<'_, Result<Vec<EventRecord>>>;

    /// Claims up to `limit` work items due at or before `due_by` that are unclaimed, claimed by
    /// `owner`, or whose lease ended before `now`; each claimed item is leased to `owner` until
    /// `lease_until`. Items come in due order.
    fn claim_work(
        &self,
        owner: &str,
        now: Timestamp,
        due_by: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Claimed>>>;

    /// The ARNs of executions whose status is `RUNNING`.
    fn running_executions(&self) -> BoxFuture<'_, Result<Vec<String>>>;

    /// Creates (`expected: None`) or replaces (`Some(version)`) a document; returns its new
    /// version.
    fn put_document(
        &self,
        kind: &str,
        key: &str,
        body: String,
        expected: Option<u64>,
    ) -> BoxFuture<'_, Result<u64>>;

    /// One document.
    fn get_document(&self, kind: &str, key: &str) -> BoxFuture<'_, Result<Option<Document>>>;

    /// The documents of one kind whose key starts with `prefix`, in key order.
    fn list_documents(&self, kind: &str, prefix: &str) -> BoxFuture<'_, Result<Vec<Document>>>;

    /// Deletes a document; `false` if there was none.
    fn delete_document(&self, kind: &str, key: &str) -> BoxFuture<'_, Result<bool>>;

    /// Stores messages on `queue` (see [`queue`] for deduplication), all or none; durable when
    /// it resolves. One [`queue::Sent`] per message, in order.
    fn send_messages(
        &self,
        queue: &str,
        now: Timestamp,
        messages: Vec<queue::NewMessage>,
    ) -> BoxFuture<'_, Result<Vec<queue::Sent>>>;

    /// Takes visible messages off a queue for a while (see [`queue`]).
    fn receive_messages(&self, receive: queue::Receive) -> BoxFuture<'_, Result<queue::Received>>;

    /// Deletes messages by receipt; per receipt, whether it named a stored message of `queue`.
    fn delete_messages(
        &self,
        queue: &str,
        receipts: Vec<queue::Receipt>,
    ) -> BoxFuture<'_, Result<Vec<bool>>>;

    /// Sets when in-flight messages become visible again; per receipt, whether it named a
    /// message of `queue` in flight at `now` (one that is not changes nothing).
    fn change_visibility(
        &self,
        queue: &str,
        now: Timestamp,
        changes: Vec<(queue::Receipt, Timestamp)>,
    ) -> BoxFuture<'_, Result<Vec<bool>>>;

    /// Deletes every message of a queue and its deduplication records; how many messages.
    fn purge_messages(&self, queue: &str) -> BoxFuture<'_, Result<u64>>;

    /// Deletes a queue's messages sent before `sent_before` (retention); how many.
    fn expire_messages(&self, queue: &str, sent_before: Timestamp) -> BoxFuture<'_, Result<u64>>;

    /// Moves up to `max` visible messages of a dead-letter queue back to `to`, or to the queue
    /// each came from (see [`queue`]); how many moved.
    fn move_messages(
        &self,
        from: &str,
        to: Option<&str>,
        max: usize,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<u64>>;

    /// A queue's messages counted by state at `now`.
    fn queue_counts(
        &self,
        queue: &str,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<queue::QueueCounts>>;

    /// Up to `limit` messages of a queue in sequence order whatever their state, without
    /// changing them (for tests, inspection and the console).
    fn peek_messages(
        &self,
        queue: &str,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<queue::Message>>>;

    /// Tells `observer` about every write transaction from now on (for metrics). A backend
    /// that does not group its writes may ignore it; setting a second observer replaces the
    /// first or is ignored, as the backend documents.
    fn observe_writes(&self, observer: std::sync::Arc<dyn WriteObserver>) {
        let _ = observer;
    }
}

/// Hears about the store's write transactions: how many requests each carried and how long it
/// took from its start to its durable commit. Called on the writer's path, so it must be quick
/// (an atomic add, not I/O).
pub trait WriteObserver: Send + Sync {
    /// One write transaction of `requests` requests committed (or failed) in `seconds`.
    fn transaction(&self, requests: usize, seconds: f64);
}
