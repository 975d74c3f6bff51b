//! The writer: one thread that owns the write connection and group-commits every write.
//!
//! # Group commit
//! Callers send a [`Request`] over a channel and wait on a oneshot. The thread blocks for the
//! first request, then takes whatever else is already queued, up to `max_batch`, without waiting
//! for more: under load, requests queue up while the previous batch's `COMMIT` syncs, so batches
//! grow with the load and a lone request pays no extra latency.
//!
//! A batch runs in one `BEGIN IMMEDIATE ... COMMIT`. Each request runs inside its own
//! `SAVEPOINT`: a request that fails (a conflict, a duplicate) is rolled back to its savepoint
//! alone, and the others still commit. Only after `COMMIT` returns are the callers answered, so an
//! `Ok` is durable (as far as the `synchronous` setting makes it).
//!
//! # Failures
//! - `BEGIN` fails: every request of the batch fails with [`Error::Backend`].
//! - SQLite rolls back the whole transaction itself (an I/O error, a full disk), or a savepoint
//!   statement fails: the batch is abandoned; every request not already failed on its own fails
//!   with [`Error::Backend`].
//! - `COMMIT` fails: the batch is rolled back; every request that had succeeded fails with
//!   [`Error::Backend`].
//!
//! # Shutdown
//! When the store is dropped the channel closes; the thread answers everything still queued, then
//! exits. A caller that stopped waiting (a dropped future) may still have its write applied.

use crate::codec::{self, backend, int, micros};
use crate::queue;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;
use store::queue::{NewMessage, Receipt, Receive, Received, Sent};
use store::{Claimed, Commit, Error, Result, StateMachineRecord, WorkItem};
use tokio::sync::oneshot;

/// One write.
#[derive(Debug)]
pub(crate) enum Op {
    /// [`store::Store::create_state_machine`].
    CreateMachine(StateMachineRecord),
    /// [`store::Store::update_state_machine`].
    UpdateMachine(StateMachineRecord),
    /// [`store::Store::delete_state_machine`].
    DeleteMachine(String),
    /// [`store::Store::commit`].
    Commit(Box<Commit>),
    /// [`store::Store::put_document`].
    PutDocument {
        /// The document's kind.
        kind: String,
        /// Its key.
        key: String,
        /// Its new body.
        body: String,
        /// The version it replaces; `None` creates it.
        expected: Option<u64>,
    },
    /// [`store::Store::delete_document`].
    DeleteDocument {
        /// The document's kind.
        kind: String,
        /// Its key.
        key: String,
    },
    /// [`store::Store::claim_work`].
    Claim {
        /// Who claims.
        owner: String,
        /// The time leases are compared with.
        now: Timestamp,
        /// Items due at or before this are claimed.
        due_by: Timestamp,
        /// The new lease's end.
        lease_until: Timestamp,
        /// At most this many.
        limit: usize,
    },
    /// [`store::Store::send_messages`].
    SendMessages {
        /// The queue.
        queue: String,
        /// The time deduplication records are compared with.
        now: Timestamp,
        /// The messages, all stored or none.
        messages: Vec<NewMessage>,
    },
    /// [`store::Store::receive_messages`].
    ReceiveMessages(Box<Receive>),
    /// [`store::Store::delete_messages`].
    DeleteMessages {
        /// The queue.
        queue: String,
        /// The messages to delete.
        receipts: Vec<Receipt>,
    },
    /// [`store::Store::change_visibility`].
    ChangeVisibility {
        /// The queue.
        queue: String,
        /// Only messages in flight at this time change.
        now: Timestamp,
        /// Each message and when it becomes visible.
        changes: Vec<(Receipt, Timestamp)>,
    },
    /// [`store::Store::purge_messages`].
    PurgeMessages(String),
    /// [`store::Store::expire_messages`].
    ExpireMessages {
        /// The queue.
        queue: String,
        /// Messages sent before this are deleted.
        sent_before: Timestamp,
    },
    /// [`store::Store::move_messages`].
    MoveMessages {
        /// The dead-letter queue.
        from: String,
        /// Where to, if not each message's source queue.
        to: Option<String>,
        /// At most this many.
        max: usize,
        /// The time visibility is compared with.
        now: Timestamp,
    },
}

/// What a write returns.
#[derive(Debug)]
pub(crate) enum Reply {
    /// The write is done.
    Done,
    /// The claimed items, in due order.
    Claimed(Vec<Claimed>),
    /// A document's new version.
    Version(u64),
    /// Whether something was deleted.
    Deleted(bool),
    /// What a send did, per message.
    Sent(Vec<Sent>),
    /// What a receive did.
    Received(Received),
    /// Per receipt, whether it acted.
    Acted(Vec<bool>),
    /// How many messages a purge, an expiry or a move touched.
    Count(u64),
}

/// A write and where to send its result.
#[derive(Debug)]
pub(crate) struct Request {
    /// The write.
    pub(crate) op: Op,
    /// Where its result goes once its batch committed (or failed).
    pub(crate) reply: oneshot::Sender<Result<Reply>>,
}

/// Counters the writer keeps; read through [`crate::SqliteStore::stats`].
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) commits: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) largest_batch: AtomicU64,
    /// Told about every batch, once set (see [`store::Store::observe_writes`]).
    pub(crate) observer: std::sync::RwLock<Option<Arc<dyn store::WriteObserver>>>,
}

impl std::fmt::Debug for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counters")
            .field("requests", &self.requests)
            .field("commits", &self.commits)
            .field("batches", &self.batches)
            .field("largest_batch", &self.largest_batch)
            .field("observed", &observer(self).is_some())
            .finish()
    }
}

/// The observer set last, if any.
pub(crate) fn observer(counters: &Counters) -> Option<Arc<dyn store::WriteObserver>> {
    counters
        .observer
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Starts the writer thread on `connection`.
pub(crate) fn spawn(
    connection: Connection,
    max_batch: usize,
    counters: Arc<Counters>,
) -> Result<(Sender<Request>, JoinHandle<()>)> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("weir-sqlite-writer".to_owned())
        .spawn(move || run(&connection, &receiver, max_batch.max(1), &counters))
        .map_err(|error| Error::Backend {
            operation: "open",
            detail: format!("cannot start the writer thread: {error}"),
        })?;
    Ok((sender, handle))
}

/// The writer loop: until every sender is gone and the queue is empty, take a batch, run it,
/// answer it.
fn run(
    connection: &Connection,
    receiver: &Receiver<Request>,
    max_batch: usize,
    counters: &Counters,
) {
    let mut batch = Vec::with_capacity(max_batch.min(1_024));
    while let Ok(first) = receiver.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let results = run_batch(connection, batch.iter().map(|request| &request.op));
        if let Some(observer) = observer(counters) {
            observer.transaction(batch.len(), started.elapsed().as_secs_f64());
        }
        let size = batch.len() as u64;
        counters.requests.fetch_add(size, Ordering::Relaxed);
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters.largest_batch.fetch_max(size, Ordering::Relaxed);
        for (request, result) in batch.drain(..).zip(results) {
            if matches!(request.op, Op::Commit(_)) && result.is_ok() {
                counters.commits.fetch_add(1, Ordering::Relaxed);
            }
            // The caller may have stopped waiting; its write stands either way.
            let _ = request.reply.send(result);
        }
    }
}

/// Runs `ops` in one transaction, each in its own savepoint; one result per op.
fn run_batch<'a>(
    connection: &Connection,
    ops: impl ExactSizeIterator<Item = &'a Op>,
) -> Vec<Result<Reply>> {
    let count = ops.len();
    if let Err(error) = sql(connection, "BEGIN IMMEDIATE") {
        let error = backend("begin a write transaction")(error);
        return (0..count).map(|_| Err(error.clone())).collect();
    }
    let mut results: Vec<Result<Reply>> = Vec::with_capacity(count);
    for op in ops {
        let result = sql(connection, "SAVEPOINT request")
            .map_err(backend("begin a savepoint"))
            .and_then(|()| apply(connection, op));
        let closed = if connection.is_autocommit() {
            // SQLite rolled the whole transaction back (I/O error, full disk).
            Err(Error::Backend {
                operation: "write",
                detail: match &result {
                    Err(error) => format!("SQLite rolled back the batch: {error}"),
                    Ok(_) => "SQLite rolled back the batch".to_owned(),
                },
            })
        } else if result.is_ok() {
            sql(connection, "RELEASE request").map_err(backend("release a savepoint"))
        } else {
            sql(connection, "ROLLBACK TO request")
                .and_then(|()| sql(connection, "RELEASE request"))
                .map_err(backend("roll back a savepoint"))
        };
        results.push(result);
        if let Err(error) = closed {
            return abandon(connection, results, count, &error);
        }
    }
    match sql(connection, "COMMIT") {
        Ok(()) => results,
        Err(error) => {
            let error = backend("commit")(error);
            abandon(connection, results, count, &error)
        }
    }
}

/// Runs one statement without parameters, prepared once per connection.
fn sql(connection: &Connection, statement: &str) -> rusqlite::Result<()> {
    connection.prepare_cached(statement)?.execute([]).map(drop)
}

/// Rolls the batch back: requests that failed on their own keep their error, every other one
/// (done or not yet run) fails with `error`.
fn abandon(
    connection: &Connection,
    mut results: Vec<Result<Reply>>,
    count: usize,
    error: &Error,
) -> Vec<Result<Reply>> {
    if !connection.is_autocommit() {
        // If this fails too, the connection is beyond repair; the next BEGIN reports it.
        let _ = sql(connection, "ROLLBACK");
    }
    for result in &mut results {
        if result.is_ok() {
            *result = Err(error.clone());
        }
    }
    results.resize_with(count, || Err(error.clone()));
    results
}

/// Runs one op inside the current savepoint.
fn apply(connection: &Connection, op: &Op) -> Result<Reply> {
    match op {
        Op::CreateMachine(machine) => create_machine(connection, machine).map(|()| Reply::Done),
        Op::UpdateMachine(machine) => update_machine(connection, machine).map(|()| Reply::Done),
        Op::DeleteMachine(arn) => delete_machine(connection, arn).map(|()| Reply::Done),
        Op::Commit(commit) => apply_commit(connection, commit).map(|()| Reply::Done),
        Op::PutDocument {
            kind,
            key,
            body,
            expected,
        } => put_document(connection, kind, key, body, *expected).map(Reply::Version),
        Op::DeleteDocument { kind, key } => {
            delete_document(connection, kind, key).map(Reply::Deleted)
        }
        Op::Claim {
            owner,
            now,
            due_by,
            lease_until,
            limit,
        } => claim(connection, owner, *now, *due_by, *lease_until, *limit).map(Reply::Claimed),
        Op::SendMessages {
            queue,
            now,
            messages,
        } => queue::send(connection, queue, *now, messages).map(Reply::Sent),
        Op::ReceiveMessages(receive) => queue::receive(connection, receive).map(Reply::Received),
        Op::DeleteMessages { queue, receipts } => {
            queue::delete(connection, queue, receipts).map(Reply::Acted)
        }
        Op::ChangeVisibility {
            queue,
            now,
            changes,
        } => queue::change_visibility(connection, queue, *now, changes).map(Reply::Acted),
        Op::PurgeMessages(queue) => queue::purge(connection, queue).map(Reply::Count),
        Op::ExpireMessages { queue, sent_before } => {
            queue::expire(connection, queue, *sent_before).map(Reply::Count)
        }
        Op::MoveMessages { from, to, max, now } => {
            queue::move_back(connection, from, to.as_deref(), *max, *now).map(Reply::Count)
        }
    }
}

fn put_document(
    connection: &Connection,
    kind: &str,
    key: &str,
    body: &str,
    expected: Option<u64>,
) -> Result<u64> {
    const OPERATION: &str = "put_document";
    let stored: Option<i64> = connection
        .prepare_cached("SELECT version FROM documents WHERE kind = ?1 AND key = ?2")
        .and_then(|mut statement| {
            statement
                .query_row(params![kind, key], |row| row.get(0))
                .optional()
        })
        .map_err(backend(OPERATION))?;
    let stored = stored
        .map(|version| codec::count("document version", version))
        .transpose()?;
    let next = match (expected, stored) {
        (None, None) => 1,
        (None, Some(_)) => {
            return Err(Error::AlreadyExists {
                kind: "document",
                key: format!("{kind}/{key}"),
            });
        }
        (Some(_), None) => {
            return Err(Error::NotFound {
                kind: "document",
                key: format!("{kind}/{key}"),
            });
        }
        (Some(expected), Some(stored)) if expected != stored => {
            return Err(Error::Conflict {
                kind: "document",
                key: format!("{kind}/{key}"),
                detail: format!("expected version {expected}, found {stored}"),
            });
        }
        (Some(_), Some(stored)) => stored + 1,
    };
    let version = int(OPERATION, "version", next)?;
    connection
        .prepare_cached(
            "INSERT INTO documents (kind, key, body, version) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body, version = excluded.version",
        )
        .and_then(|mut statement| statement.execute(params![kind, key, body, version]))
        .map_err(backend(OPERATION))?;
    Ok(next)
}

fn delete_document(connection: &Connection, kind: &str, key: &str) -> Result<bool> {
    connection
        .prepare_cached("DELETE FROM documents WHERE kind = ?1 AND key = ?2")
        .and_then(|mut statement| statement.execute(params![kind, key]))
        .map(|deleted| deleted > 0)
        .map_err(backend("delete_document"))
}

fn insert_revision(
    connection: &Connection,
    machine: &StateMachineRecord,
    operation: &'static str,
) -> Result<()> {
    let revision = int(operation, "revision", machine.revision)?;
    connection
        .prepare_cached(
            "INSERT INTO state_machine_revisions \
             (arn, revision, name, kind, role_arn, definition, config, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                machine.arn,
                revision,
                machine.name,
                machine.kind,
                machine.role_arn,
                machine.definition,
                machine.config,
                micros(machine.created_at),
                micros(machine.updated_at),
            ])
        })
        .map(drop)
        .map_err(backend(operation))
}

/// The stored latest revision of a state machine.
fn stored_revision(
    connection: &Connection,
    arn: &str,
    operation: &'static str,
) -> Result<Option<u64>> {
    let revision: Option<i64> = connection
        .prepare_cached("SELECT revision FROM state_machines WHERE arn = ?1")
        .and_then(|mut statement| statement.query_row([arn], |row| row.get(0)).optional())
        .map_err(backend(operation))?;
    revision
        .map(|revision| codec::count("state machine revision", revision))
        .transpose()
}

fn create_machine(connection: &Connection, machine: &StateMachineRecord) -> Result<()> {
    const OPERATION: &str = "create_state_machine";
    if stored_revision(connection, &machine.arn, OPERATION)?.is_some() {
        return Err(Error::AlreadyExists {
            kind: "state machine",
            key: machine.arn.clone(),
        });
    }
    // Revisions of an earlier, deleted machine with this ARN stay for its executions: the new
    // machine must start after them.
    let revision = int(OPERATION, "revision", machine.revision)?;
    let taken: Option<i64> = connection
        .prepare_cached("SELECT 1 FROM state_machine_revisions WHERE arn = ?1 AND revision = ?2")
        .and_then(|mut statement| {
            statement
                .query_row(params![machine.arn, revision], |row| row.get(0))
                .optional()
        })
        .map_err(backend(OPERATION))?;
    if taken.is_some() {
        return Err(Error::AlreadyExists {
            kind: "state machine revision",
            key: format!("{}:{}", machine.arn, machine.revision),
        });
    }
    insert_revision(connection, machine, OPERATION)?;
    let revision = int(OPERATION, "revision", machine.revision)?;
    connection
        .prepare_cached("INSERT INTO state_machines (arn, revision) VALUES (?1, ?2)")
        .and_then(|mut statement| statement.execute(params![machine.arn, revision]))
        .map_err(backend(OPERATION))?;
    Ok(())
}

fn update_machine(connection: &Connection, machine: &StateMachineRecord) -> Result<()> {
    const OPERATION: &str = "update_state_machine";
    let Some(stored) = stored_revision(connection, &machine.arn, OPERATION)? else {
        return Err(Error::NotFound {
            kind: "state machine",
            key: machine.arn.clone(),
        });
    };
    if Some(machine.revision) != stored.checked_add(1) {
        return Err(Error::Conflict {
            kind: "state machine",
            key: machine.arn.clone(),
            detail: format!(
                "revision {} does not follow the stored revision {stored}",
                machine.revision
            ),
        });
    }
    insert_revision(connection, machine, OPERATION)?;
    let revision = int(OPERATION, "revision", machine.revision)?;
    connection
        .prepare_cached("UPDATE state_machines SET revision = ?2 WHERE arn = ?1")
        .and_then(|mut statement| statement.execute(params![machine.arn, revision]))
        .map_err(backend(OPERATION))?;
    Ok(())
}

fn delete_machine(connection: &Connection, arn: &str) -> Result<()> {
    let deleted = connection
        .prepare_cached("DELETE FROM state_machines WHERE arn = ?1")
        .and_then(|mut statement| statement.execute([arn]))
        .map_err(backend("delete_state_machine"))?;
    if deleted == 0 {
        return Err(Error::NotFound {
            kind: "state machine",
            key: arn.to_owned(),
        });
    }
    Ok(())
}

fn apply_commit(connection: &Connection, commit: &Commit) -> Result<()> {
    const OPERATION: &str = "commit";
    let failed = backend(OPERATION);
    let row = &commit.execution;
    let stored: Option<(i64, i64)> = connection
        .prepare_cached("SELECT version, last_event_id FROM executions WHERE arn = ?1")
        .and_then(|mut statement| {
            statement
                .query_row([&row.arn], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(&failed)?;
    let stored = stored
        .map(|(version, last)| {
            Ok::<_, Error>((
                codec::count("execution version", version)?,
                codec::count("execution last_event_id", last)?,
            ))
        })
        .transpose()?;
    let (version, last_event_id) = match (commit.expected_version, stored) {
        (None, Some(_)) => {
            return Err(Error::AlreadyExists {
                kind: "execution",
                key: row.arn.clone(),
            });
        }
        (None, None) => (1, 0),
        (Some(_), None) => {
            return Err(Error::NotFound {
                kind: "execution",
                key: row.arn.clone(),
            });
        }
        (Some(expected), Some((version, _))) if expected != version => {
            return Err(Error::Conflict {
                kind: "execution",
                key: row.arn.clone(),
                detail: format!("expected version {expected}, stored version {version}"),
            });
        }
        (Some(_), Some((version, last))) => (version + 1, last),
    };
    let mut next_id = last_event_id + 1;
    for event in &commit.events {
        if event.id != next_id {
            return Err(Error::Conflict {
                kind: "execution",
                key: row.arn.clone(),
                detail: format!("event id {} where {next_id} comes next", event.id),
            });
        }
        next_id += 1;
    }
    let last_event_id = next_id - 1;

    let values = params![
        row.arn,
        row.state_machine_arn,
        int(OPERATION, "revision", row.revision)?,
        row.name,
        row.status,
        row.input,
        row.output,
        row.error,
        row.cause,
        micros(row.start_date),
        row.stop_date.map(micros),
        int(OPERATION, "redrive_count", row.redrive_count)?,
        row.redrive_date.map(micros),
        int(OPERATION, "last_event_id", last_event_id)?,
        int(OPERATION, "version", version)?,
        commit.snapshot,
    ];
    let sql = if stored.is_none() {
        "INSERT INTO executions (arn, state_machine_arn, revision, name, status, input, output, \
         error, cause, start_date, stop_date, redrive_count, redrive_date, last_event_id, \
         version, snapshot) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
    } else {
        "UPDATE executions SET state_machine_arn = ?2, revision = ?3, name = ?4, status = ?5, \
         input = ?6, output = ?7, error = ?8, cause = ?9, start_date = ?10, stop_date = ?11, \
         redrive_count = ?12, redrive_date = ?13, last_event_id = ?14, version = ?15, \
         snapshot = ?16 WHERE arn = ?1"
    };
    connection
        .prepare_cached(sql)
        .and_then(|mut statement| statement.execute(values))
        .map_err(&failed)?;

    {
        let mut insert = connection
            .prepare_cached(
                "INSERT INTO history (execution_arn, id, event_type, timestamp, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(&failed)?;
        for event in &commit.events {
            let id = int(OPERATION, "event id", event.id)?;
            insert
                .execute(params![
                    row.arn,
                    id,
                    event.event_type,
                    micros(event.timestamp),
                    event.body
                ])
                .map_err(|error| {
                    if codec::is_constraint(&error) {
                        Error::Conflict {
                            kind: "execution",
                            key: row.arn.clone(),
                            detail: format!("event id {} is stored already", event.id),
                        }
                    } else {
                        failed(error)
                    }
                })?;
        }
    }

    if commit.clear_work {
        connection
            .prepare_cached("DELETE FROM work WHERE execution_arn = ?1")
            .and_then(|mut statement| statement.execute([&row.arn]))
            .map_err(&failed)?;
    }
    if !commit.done_work.is_empty() {
        let mut delete = connection
            .prepare_cached("DELETE FROM work WHERE id = ?1")
            .map_err(&failed)?;
        for id in &commit.done_work {
            delete.execute([id]).map_err(&failed)?;
        }
    }
    if !commit.add_work.is_empty() {
        let mut insert = connection
            .prepare_cached(
                "INSERT INTO work (id, execution_arn, due, payload, owner, lease_until, claims) \
                 VALUES (?1, ?2, ?3, ?4, NULL, NULL, 0)",
            )
            .map_err(&failed)?;
        for WorkItem {
            id,
            execution_arn,
            due,
            payload,
        } in &commit.add_work
        {
            insert
                .execute(params![id, execution_arn, micros(*due), payload])
                .map_err(|error| {
                    if codec::is_constraint(&error) {
                        Error::AlreadyExists {
                            kind: "work item",
                            key: id.clone(),
                        }
                    } else {
                        failed(error)
                    }
                })?;
        }
    }
    if !commit.documents.is_empty() {
        let mut upsert = connection
            .prepare_cached(
                "INSERT INTO documents (kind, key, body, version) VALUES (?1, ?2, ?3, 1) \
                 ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body, \
                 version = documents.version + 1",
            )
            .map_err(&failed)?;
        for (kind, key, body) in &commit.documents {
            upsert.execute(params![kind, key, body]).map_err(&failed)?;
        }
    }
    Ok(())
}

fn claim(
    connection: &Connection,
    owner: &str,
    now: Timestamp,
    due_by: Timestamp,
    lease_until: Timestamp,
    limit: usize,
) -> Result<Vec<Claimed>> {
    const OPERATION: &str = "claim_work";
    let failed = backend(OPERATION);
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut statement = connection
        .prepare_cached(
            "UPDATE work SET owner = ?1, lease_until = ?2, claims = claims + 1 \
             WHERE id IN ( \
                 SELECT id FROM work \
                 WHERE due <= ?3 AND (owner IS NULL OR owner = ?1 OR lease_until < ?4) \
                 ORDER BY due, id LIMIT ?5) \
             RETURNING id, execution_arn, due, payload, claims",
        )
        .map_err(&failed)?;
    let mut rows = statement
        .query(params![
            owner,
            micros(lease_until),
            micros(due_by),
            micros(now),
            codec::limit(limit)
        ])
        .map_err(&failed)?;
    let mut claimed = Vec::new();
    while let Some(row) = rows.next().map_err(&failed)? {
        let claims: i64 = codec::column(row, 4, "work claims", OPERATION)?;
        claimed.push(Claimed {
            item: WorkItem {
                id: codec::column(row, 0, "work id", OPERATION)?,
                execution_arn: codec::column(row, 1, "work execution_arn", OPERATION)?,
                due: codec::timestamp("work due", codec::column(row, 2, "work due", OPERATION)?)?,
                payload: codec::column(row, 3, "work payload", OPERATION)?,
            },
            // The column counts this claim too.
            claims: codec::count("work claims", claims.saturating_sub(1))?,
        });
    }
    // RETURNING does not keep the subquery's order.
    claimed.sort_by(|a, b| (a.item.due, &a.item.id).cmp(&(b.item.due, &b.item.id)));
    Ok(claimed)
}
