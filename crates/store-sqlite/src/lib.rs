//! The default store: one SQLite file (WAL), one writer thread that group-commits, and readers on
//! their own connections.
//!
//! [`SqliteStore`] implements [`store::Store`] and keeps its whole contract.
//!
//! # Design
//! - **One file in WAL mode.** `journal_mode=WAL`; `synchronous=FULL` by default, so an
//!   acknowledged write survives a power loss ([`Synchronous`]).
//! - **One writer.** Every write (state machines, commits, claims) goes to one thread that owns
//!   the only write connection. It takes whatever requests are queued (up to
//!   [`Options::max_batch`]), runs them in one transaction with a savepoint each, and answers them
//!   after `COMMIT`: many executions' commits share one sync, and one request's failure rolls back
//!   that request alone. See the `writer` module for the details.
//! - **Queues.** Messages are rows of one table, written through the same writer (a send, a
//!   receive, a delete is one request); see the `queue` module for the indexes and statements.
//! - **Readers.** Reads run on [`Options::readers`] read-only connections of their own (short
//!   ones on the calling task's thread, queue counts on `tokio::task::spawn_blocking`); WAL lets
//!   them read while the writer writes.
//! - **Schema.** SQL migrations embedded in the binary (`migrations/*.sql`), applied at open and
//!   recorded in `schema_version`.
//!
//! # Stored values
//! Timestamps are kept as microseconds since the Unix epoch: finer digits are dropped. JSON text
//! (definitions, snapshots, event bodies, payloads) is stored as given. Paging cursors are opaque
//! hex strings; a cursor this store did not make fails with [`Error::NotFound`] (kind
//! `page cursor`).
//!
//! # What the store decides for the caller
//! The stored row of a commit gets `version` = expected version + 1 (or 1) and `last_event_id` =
//! the id of the last stored event, whatever the commit's record says. A work item id that exists
//! already fails the commit with [`Error::AlreadyExists`] (kind `work item`); a commit deletes
//! work in this order: `clear_work`, then `done_work`, then adds `add_work`. Creating a state
//! machine whose ARN belonged to a deleted machine replaces the deleted machine's revisions.
//! Listing limits are capped at 1000; a limit of 0 reads as 1.
//!
//! Queues: [`Store::peek_messages`] reads at most `limit` messages, uncapped (0 reads none).
//! [`Store::expire_messages`] also drops the queue's deduplication records that expired at or
//! before `sent_before` (retention passes a time in the past, so no later send could have matched
//! them). [`Store::queue_counts`] reads one index entry per message of the queue (about 25 ms
//! per 100,000 messages).
//!
//! # Cancellation
//! A write is sent to the writer when its future is first polled. Dropping the future after that
//! does not cancel the write: it still commits (or fails), unseen. Callers that need to know
//! reload. A receive dropped this way still takes its messages: they come back when their
//! visibility ends.

mod codec;
mod queue;
mod read;
mod schema;
mod writer;

use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;
use store::queue::{Message, NewMessage, QueueCounts, Receipt, Receive, Received, Sent};
use store::{
    BoxFuture, Claimed, Commit, Document, Error, EventRecord, ExecutionFilter, ExecutionRecord,
    Page, Result, StateMachineRecord, Store,
};
use tokio::sync::oneshot;
use writer::{Counters, Op, Reply, Request};

/// How long a connection waits for a lock held by another process before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How hard SQLite syncs each commit to disk (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// `FULL`: an acknowledged commit survives a process crash and a power loss. The default.
    #[default]
    Full,
    /// `NORMAL`: an acknowledged commit survives a process crash, but a power loss or an operating
    /// system crash may lose the last commits (never corrupt the file). Faster: the WAL is synced
    /// at checkpoints, not at every commit.
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Settings of a [`SqliteStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// How hard each commit is synced to disk. Default: [`Synchronous::Full`].
    pub synchronous: Synchronous,
    /// How many read-only connections serve reads at once (at least 1). Default: 2.
    pub readers: usize,
    /// The most write requests one transaction carries (at least 1). Default: 512.
    pub max_batch: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            synchronous: Synchronous::Full,
            readers: 2,
            max_batch: 512,
        }
    }
}

/// Counts of the writer's work since the store opened, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Write requests answered (state machine changes, commits, claims, documents, queue
    /// operations; succeeded or failed).
    pub requests: u64,
    /// [`Store::commit`] calls that landed.
    pub commits: u64,
    /// Write transactions (batches) run.
    pub batches: u64,
    /// The most requests one batch carried.
    pub largest_batch: u64,
}

/// The SQLite store. See the [crate documentation](crate).
///
/// Dropping it closes the store: the writer finishes every queued request, then its thread
/// exits, and the drop waits for that.
pub struct SqliteStore {
    path: PathBuf,
    /// Requests to the writer; `None` once dropping.
    sender: Option<std::sync::mpsc::Sender<Request>>,
    /// The writer thread; `None` once joined.
    writer: Option<JoinHandle<()>>,
    readers: Arc<read::Readers>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (or creates) the store in the file at `path`, whose directory must exist: switches it
    /// to WAL mode, migrates its schema, opens the readers and starts the writer.
    pub fn open(path: &Path, options: Options) -> Result<SqliteStore, Error> {
        let failed = codec::backend("open");
        let mut connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|error| Error::Backend {
            operation: "open",
            detail: format!("{}: {error}", path.display()),
        })?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(&failed)?;
        let mode: String = connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(&failed)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Backend {
                operation: "open",
                detail: format!(
                    "{} cannot use WAL mode (journal mode {mode}); it must be a file",
                    path.display()
                ),
            });
        }
        connection
            .pragma_update(None, "synchronous", options.synchronous.pragma())
            .map_err(&failed)?;
        // Keep the WAL file from growing without bound after a burst.
        connection
            .pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
            .map_err(&failed)?;
        // A larger page cache than SQLite's 2 MiB keeps hot history and index pages in memory;
        // savepoint journals stay in memory.
        connection
            .pragma_update(None, "cache_size", -32 * 1024)
            .map_err(&failed)?;
        connection
            .pragma_update(None, "temp_store", "MEMORY")
            .map_err(&failed)?;
        connection.set_prepared_statement_cache_capacity(64);
        schema::migrate(&mut connection)?;
        let readers = Arc::new(read::Readers::open(path, options.readers, BUSY_TIMEOUT)?);
        let counters = Arc::new(Counters::default());
        let (sender, writer) = writer::spawn(connection, options.max_batch, Arc::clone(&counters))?;
        Ok(SqliteStore {
            path: path.to_owned(),
            sender: Some(sender),
            writer: Some(writer),
            readers,
            counters,
        })
    }

    /// The file the store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The writer's counts so far.
    pub fn stats(&self) -> Stats {
        Stats {
            requests: self.counters.requests.load(Ordering::Relaxed),
            commits: self.counters.commits.load(Ordering::Relaxed),
            batches: self.counters.batches.load(Ordering::Relaxed),
            largest_batch: self.counters.largest_batch.load(Ordering::Relaxed),
        }
    }

    /// Sends `op` to the writer and waits until its batch committed.
    async fn write(&self, op: Op) -> Result<Reply> {
        let sender = self.sender.as_ref().ok_or(Error::Closed)?;
        let (reply, answer) = oneshot::channel();
        sender
            .send(Request { op, reply })
            .map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)?
    }

    /// Sends `op` to the writer, expecting no data back.
    async fn write_done(&self, op: Op) -> Result<()> {
        self.write(op).await.map(drop)
    }

    /// Sends `op` to the writer, expecting one flag per receipt back.
    async fn write_acted(&self, op: Op, operation: &'static str) -> Result<Vec<bool>> {
        match self.write(op).await? {
            Reply::Acted(acted) => Ok(acted),
            other => Err(unexpected(operation, &other)),
        }
    }

    /// Sends `op` to the writer, expecting a count of messages back.
    async fn write_count(&self, op: Op, operation: &'static str) -> Result<u64> {
        match self.write(op).await? {
            Reply::Count(count) => Ok(count),
            other => Err(unexpected(operation, &other)),
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the channel lets the writer drain the queue and exit.
        drop(self.sender.take());
        if let Some(writer) = self.writer.take() {
            // A panicked writer has nothing left to flush; its callers got `Closed`.
            let _ = writer.join();
        }
    }
}

/// The writer answered an op with the wrong kind of reply: a bug, reported rather than panicked.
fn unexpected(operation: &'static str, reply: &Reply) -> Error {
    Error::Backend {
        operation,
        detail: format!("the writer answered with {reply:?}"),
    }
}

/// A `u64` argument as an SQL integer, saturating (ids and revisions beyond `i64::MAX` are never
/// stored, so saturating finds the same rows).
fn saturating(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Store for SqliteStore {
    /// A later observer replaces an earlier one.
    fn observe_writes(&self, observer: Arc<dyn store::WriteObserver>) {
        *self
            .counters
            .observer
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(observer);
    }

    fn create_state_machine(&self, machine: StateMachineRecord) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.write_done(Op::CreateMachine(machine)))
    }

    fn update_state_machine(&self, machine: StateMachineRecord) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.write_done(Op::UpdateMachine(machine)))
    }

    fn delete_state_machine(&self, arn: &str) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.write_done(Op::DeleteMachine(arn.to_owned())))
    }

    fn get_state_machine(&self, arn: &str) -> BoxFuture<'_, Result<Option<StateMachineRecord>>> {
        let arn = arn.to_owned();
        Box::pin(self.readers.run("get_state_machine", move |connection| {
            read::state_machine(connection, &arn)
        }))
    }

    fn get_revision(
        &self,
        arn: &str,
        revision: u64,
    ) -> BoxFuture<'_, Result<Option<StateMachineRecord>>> {
        let arn = arn.to_owned();
        Box::pin(self.readers.run("get_revision", move |connection| {
            read::revision(connection, &arn, saturating(revision))
        }))
    }

    fn list_state_machines(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Page<StateMachineRecord>>> {
        let cursor = cursor.map(str::to_owned);
        Box::pin(self.readers.run("list_state_machines", move |connection| {
            read::state_machines(connection, cursor.as_deref(), limit)
        }))
    }

    fn commit(&self, commit: Commit) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.write_done(Op::Commit(Box::new(commit))))
    }

    fn load_execution(
        &self,
        arn: &str,
    ) -> BoxFuture<'_, Result<Option<(ExecutionRecord, String)>>> {
        let arn = arn.to_owned();
        Box::pin(self.readers.run("load_execution", move |connection| {
            read::execution(connection, &arn)
        }))
    }

    fn list_executions(
        &self,
        filter: ExecutionFilter,
    ) -> BoxFuture<'_, Result<Page<ExecutionRecord>>> {
        Box::pin(self.readers.run("list_executions", move |connection| {
            read::executions(connection, &filter)
        }))
    }

    fn history(
        &self,
        arn: &str,
        after: u64,
        limit: usize,
        reverse: bool,
    ) -> BoxFuture<'_, Result<Vec<EventRecord>>> {
        let arn = arn.to_owned();
        Box::pin(self.readers.run("history", move |connection| {
            read::history(connection, &arn, saturating(after), limit, reverse)
        }))
    }

    fn claim_work(
        &self,
        owner: &str,
        now: Timestamp,
        due_by: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Claimed>>> {
        let op = Op::Claim {
            owner: owner.to_owned(),
            now,
            due_by,
            lease_until,
            limit,
        };
        Box::pin(async move {
            match self.write(op).await? {
                Reply::Claimed(claimed) => Ok(claimed),
                other => Err(unexpected("claim_work", &other)),
            }
        })
    }

    fn put_document(
        &self,
        kind: &str,
        key: &str,
        body: String,
        expected: Option<u64>,
    ) -> BoxFuture<'_, Result<u64>> {
        let op = Op::PutDocument {
            kind: kind.to_owned(),
            key: key.to_owned(),
            body,
            expected,
        };
        Box::pin(async move {
            match self.write(op).await? {
                Reply::Version(version) => Ok(version),
                other => Err(unexpected("put_document", &other)),
            }
        })
    }

    fn get_document(&self, kind: &str, key: &str) -> BoxFuture<'_, Result<Option<Document>>> {
        let (kind, key) = (kind.to_owned(), key.to_owned());
        Box::pin(self.readers.run("get_document", move |connection| {
            read::document(connection, &kind, &key)
        }))
    }

    fn list_documents(&self, kind: &str, prefix: &str) -> BoxFuture<'_, Result<Vec<Document>>> {
        let (kind, prefix) = (kind.to_owned(), prefix.to_owned());
        Box::pin(self.readers.run("list_documents", move |connection| {
            read::documents(connection, &kind, &prefix)
        }))
    }

    fn delete_document(&self, kind: &str, key: &str) -> BoxFuture<'_, Result<bool>> {
        let op = Op::DeleteDocument {
            kind: kind.to_owned(),
            key: key.to_owned(),
        };
        Box::pin(async move {
            match self.write(op).await? {
                Reply::Deleted(deleted) => Ok(deleted),
                other => Err(unexpected("delete_document", &other)),
            }
        })
    }

    fn running_executions(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(self.readers.run("running_executions", read::running))
    }

    fn send_messages(
        &self,
        queue: &str,
        now: Timestamp,
        messages: Vec<NewMessage>,
    ) -> BoxFuture<'_, Result<Vec<Sent>>> {
        let op = Op::SendMessages {
            queue: queue.to_owned(),
            now,
            messages,
        };
        Box::pin(async move {
            match self.write(op).await? {
                Reply::Sent(sent) => Ok(sent),
                other => Err(unexpected("send_messages", &other)),
            }
        })
    }

    fn receive_messages(&self, receive: Receive) -> BoxFuture<'_, Result<Received>> {
        Box::pin(async move {
            match self.write(Op::ReceiveMessages(Box::new(receive))).await? {
                Reply::Received(received) => Ok(received),
                other => Err(unexpected("receive_messages", &other)),
            }
        })
    }

    fn delete_messages(
        &self,
        queue: &str,
        receipts: Vec<Receipt>,
    ) -> BoxFuture<'_, Result<Vec<bool>>> {
        let op = Op::DeleteMessages {
            queue: queue.to_owned(),
            receipts,
        };
        Box::pin(self.write_acted(op, "delete_messages"))
    }

    fn change_visibility(
        &self,
        queue: &str,
        now: Timestamp,
        changes: Vec<(Receipt, Timestamp)>,
    ) -> BoxFuture<'_, Result<Vec<bool>>> {
        let op = Op::ChangeVisibility {
            queue: queue.to_owned(),
            now,
            changes,
        };
        Box::pin(self.write_acted(op, "change_visibility"))
    }

    fn purge_messages(&self, queue: &str) -> BoxFuture<'_, Result<u64>> {
        let op = Op::PurgeMessages(queue.to_owned());
        Box::pin(self.write_count(op, "purge_messages"))
    }

    fn expire_messages(&self, queue: &str, sent_before: Timestamp) -> BoxFuture<'_, Result<u64>> {
        let op = Op::ExpireMessages {
            queue: queue.to_owned(),
            sent_before,
        };
        Box::pin(self.write_count(op, "expire_messages"))
    }

    fn move_messages(
        &self,
        from: &str,
        to: Option<&str>,
        max: usize,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<u64>> {
        let op = Op::MoveMessages {
            from: from.to_owned(),
            to: to.map(str::to_owned),
            max,
            now,
        };
        Box::pin(self.write_count(op, "move_messages"))
    }

    fn queue_counts(&self, queue: &str, now: Timestamp) -> BoxFuture<'_, Result<QueueCounts>> {
        let queue = queue.to_owned();
        // Counting reads every index entry of the queue: off the async threads.
        Box::pin(
            self.readers
                .run_blocking("queue_counts", move |connection| {
                    queue::counts(connection, &queue, now)
                }),
        )
    }

    fn peek_messages(&self, queue: &str, limit: usize) -> BoxFuture<'_, Result<Vec<Message>>> {
        let queue = queue.to_owned();
        Box::pin(self.readers.run("peek_messages", move |connection| {
            queue::peek(connection, &queue, limit)
        }))
    }
}
