//! Reads: a small pool of read-only connections; short queries run on the calling task's
//! thread, the few whose cost grows with the data (queue counts) on `tokio::task::spawn_blocking`.
//!
//! In WAL mode readers do not block the writer nor each other, and each statement reads one
//! committed state: a reader sees a commit whole or not at all, and sees every commit that was
//! acknowledged before the read started.

use crate::codec::{self, backend};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, params, params_from_iter};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use store::{
    Document, Error, EventRecord, ExecutionFilter, ExecutionRecord, Page, Result,
    StateMachineRecord,
};
use tokio::sync::Semaphore;

/// The largest page a listing returns, whatever limit it is given.
pub(crate) const MAX_PAGE: usize = 1_000;

/// Read-only connections, lent out one per read.
#[derive(Debug)]
pub(crate) struct Readers {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl Readers {
    /// Opens `count` (at least 1) read-only connections to the database at `path`.
    pub(crate) fn open(path: &Path, count: usize, busy_timeout: Duration) -> Result<Readers> {
        let count = count.max(1);
        let connections = (0..count)
            .map(|_| connect(path, busy_timeout))
            .collect::<Result<Vec<_>>>()?;
        Ok(Readers {
            path: path.to_owned(),
            busy_timeout,
            idle: Mutex::new(connections),
            permits: Arc::new(Semaphore::new(count)),
        })
    }

    /// Runs `read` on a connection of the pool, on the calling task's thread.
    ///
    /// Reads are short (point lookups, pages of at most [`MAX_PAGE`] rows: tens of microseconds
    /// to a few milliseconds), so they run inline rather than on a blocking thread: handing each
    /// read to another thread and back cost more than the read itself (measured: a
    /// `ListStateMachines` over HTTP took several times a whole `StartSyncExecution`).
    pub(crate) async fn run<T, F>(self: &Arc<Self>, operation: &'static str, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let _permit = self.permits.acquire().await.map_err(|_| Error::Closed)?;
        let connection = self.lend(operation)?;
        let result = read(&connection);
        self.give_back(connection);
        result
    }

    /// Runs `read` like [`Readers::run`], but on `tokio::task::spawn_blocking`: for reads whose
    /// cost grows with the data (counting a queue's messages reads an index entry per message),
    /// which would hold up the calling task's thread for milliseconds.
    pub(crate) async fn run_blocking<T, F>(
        self: &Arc<Self>,
        operation: &'static str,
        read: F,
    ) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let _permit = self.permits.acquire().await.map_err(|_| Error::Closed)?;
        let connection = self.lend(operation)?;
        let (connection, result) = tokio::task::spawn_blocking(move || {
            let result = read(&connection);
            (connection, result)
        })
        .await
        .map_err(|error| Error::Backend {
            operation,
            detail: format!("the read did not finish: {error}"),
        })?;
        self.give_back(connection);
        result
    }

    /// An idle connection, or a new one if one was lost (a read panicked, or the caller of a
    /// blocking read stopped waiting). Call with a permit held.
    fn lend(&self, operation: &'static str) -> Result<Connection> {
        let lent = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match lent {
            Some(connection) => Ok(connection),
            None => connect(&self.path, self.busy_timeout).map_err(|error| match error {
                Error::Backend { detail, .. } => Error::Backend { operation, detail },
                other => other,
            }),
        }
    }

    /// Returns a lent connection to the pool.
    fn give_back(&self, connection: Connection) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(connection);
    }
}

/// Opens one read-only connection.
fn connect(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    let failed = backend("open a reader");
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(&failed)?;
    connection.busy_timeout(busy_timeout).map_err(&failed)?;
    connection.set_prepared_statement_cache_capacity(32);
    Ok(connection)
}

/// The latest revision of a state machine that exists.
pub(crate) fn state_machine(
    connection: &Connection,
    arn: &str,
) -> Result<Option<StateMachineRecord>> {
    const OPERATION: &str = "get_state_machine";
    let failed = backend(OPERATION);
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {} FROM state_machines m \
             JOIN state_machine_revisions r ON r.arn = m.arn AND r.revision = m.revision \
             WHERE m.arn = ?1",
            codec::MACHINE_COLUMNS
        ))
        .map_err(&failed)?;
    let mut rows = statement.query([arn]).map_err(&failed)?;
    rows.next()
        .map_err(&failed)?
        .map(|row| codec::machine_from_row(row, OPERATION))
        .transpose()
}

/// One revision of a state machine, deleted or not.
pub(crate) fn revision(
    connection: &Connection,
    arn: &str,
    revision: i64,
) -> Result<Option<StateMachineRecord>> {
    const OPERATION: &str = "get_revision";
    let failed = backend(OPERATION);
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {} FROM state_machine_revisions r WHERE r.arn = ?1 AND r.revision = ?2",
            codec::MACHINE_COLUMNS
        ))
        .map_err(&failed)?;
    let mut rows = statement.query(params![arn, revision]).map_err(&failed)?;
    rows.next()
        .map_err(&failed)?
        .map(|row| codec::machine_from_row(row, OPERATION))
        .transpose()
}

/// A page of state machines by ARN.
pub(crate) fn state_machines(
    connection: &Connection,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Page<StateMachineRecord>> {
    const OPERATION: &str = "list_state_machines";
    let failed = backend(OPERATION);
    let limit = limit.clamp(1, MAX_PAGE);
    let after = cursor.map(codec::parse_machine_cursor).transpose()?;
    let sql = format!(
        "SELECT {} FROM state_machines m \
         JOIN state_machine_revisions r ON r.arn = m.arn AND r.revision = m.revision \
         {} ORDER BY m.arn LIMIT ?1",
        codec::MACHINE_COLUMNS,
        if after.is_some() {
            "WHERE m.arn > ?2"
        } else {
            ""
        }
    );
    let mut statement = connection.prepare_cached(&sql).map_err(&failed)?;
    // One more than asked for tells whether another page follows.
    let fetch = Value::Integer(codec::limit(limit + 1));
    let parameters = std::iter::once(fetch).chain(after.map(Value::Text));
    let mut rows = statement
        .query(params_from_iter(parameters))
        .map_err(&failed)?;
    let mut items = Vec::with_capacity(limit);
    while let Some(row) = rows.next().map_err(&failed)? {
        items.push(codec::machine_from_row(row, OPERATION)?);
    }
    let cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|last| codec::machine_cursor(&last.arn))
    } else {
        None
    };
    Ok(Page { items, cursor })
}

/// An execution's row and snapshot.
pub(crate) fn execution(
    connection: &Connection,
    arn: &str,
) -> Result<Option<(ExecutionRecord, String)>> {
    const OPERATION: &str = "load_execution";
    let failed = backend(OPERATION);
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {}, snapshot FROM executions WHERE arn = ?1",
            codec::EXECUTION_COLUMNS
        ))
        .map_err(&failed)?;
    let mut rows = statement.query([arn]).map_err(&failed)?;
    let Some(row) = rows.next().map_err(&failed)? else {
        return Ok(None);
    };
    let record = codec::execution_from_row(row, OPERATION)?;
    let snapshot = codec::column(row, 15, "execution snapshot", OPERATION)?;
    Ok(Some((record, snapshot)))
}

/// A page of executions, newest first (start time, then ARN, both descending).
pub(crate) fn executions(
    connection: &Connection,
    filter: &ExecutionFilter,
) -> Result<Page<ExecutionRecord>> {
    const OPERATION: &str = "list_executions";
    let failed = backend(OPERATION);
    let limit = filter.limit.clamp(1, MAX_PAGE);
    let mut conditions = Vec::new();
    let mut parameters = Vec::new();
    if let Some(machine) = &filter.state_machine_arn {
        parameters.push(Value::Text(machine.clone()));
        conditions.push(format!("state_machine_arn = ?{}", parameters.len()));
    }
    if let Some(status) = &filter.status {
        parameters.push(Value::Text(status.clone()));
        conditions.push(format!("status = ?{}", parameters.len()));
    }
    if let Some(cursor) = &filter.cursor {
        let (start, arn) = codec::parse_execution_cursor(cursor)?;
        parameters.push(Value::Integer(start));
        parameters.push(Value::Text(arn));
        conditions.push(format!(
            "(start_date, arn) < (?{}, ?{})",
            parameters.len() - 1,
            parameters.len()
        ));
    }
    parameters.push(Value::Integer(codec::limit(limit + 1)));
    let sql = format!(
        "SELECT {} FROM executions {}{} ORDER BY start_date DESC, arn DESC LIMIT ?{}",
        codec::EXECUTION_COLUMNS,
        if conditions.is_empty() { "" } else { "WHERE " },
        conditions.join(" AND "),
        parameters.len()
    );
    let mut statement = connection.prepare_cached(&sql).map_err(&failed)?;
    let mut rows = statement
        .query(params_from_iter(parameters))
        .map_err(&failed)?;
    let mut items = Vec::with_capacity(limit);
    while let Some(row) = rows.next().map_err(&failed)? {
        items.push(codec::execution_from_row(row, OPERATION)?);
    }
    let cursor = if items.len() > limit {
        items.truncate(limit);
        items
            .last()
            .map(|last| codec::execution_cursor(codec::micros(last.start_date), &last.arn))
    } else {
        None
    };
    Ok(Page { items, cursor })
}

/// History events after `after` (or before it, in reverse).
pub(crate) fn history(
    connection: &Connection,
    arn: &str,
    after: i64,
    limit: usize,
    reverse: bool,
) -> Result<Vec<EventRecord>> {
    const OPERATION: &str = "history";
    let failed = backend(OPERATION);
    if limit == 0 {
        return Ok(Vec::new());
    }
    let (condition, order, bound) = match (reverse, after) {
        (false, after) => (">", "ASC", after),
        (true, 0) => ("<", "DESC", i64::MAX),
        (true, before) => ("<", "DESC", before),
    };
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {} FROM history WHERE execution_arn = ?1 AND id {condition} ?2 \
             ORDER BY id {order} LIMIT ?3",
            codec::EVENT_COLUMNS
        ))
        .map_err(&failed)?;
    let mut rows = statement
        .query(params![arn, bound, codec::limit(limit)])
        .map_err(&failed)?;
    let mut events = Vec::new();
    while let Some(row) = rows.next().map_err(&failed)? {
        events.push(codec::event_from_row(row, OPERATION)?);
    }
    Ok(events)
}

/// The ARNs of RUNNING executions, by ARN.
pub(crate) fn running(connection: &Connection) -> Result<Vec<String>> {
    const OPERATION: &str = "running_executions";
    let failed = backend(OPERATION);
    let mut statement = connection
        .prepare_cached("SELECT arn FROM executions WHERE status = 'RUNNING' ORDER BY arn")
        .map_err(&failed)?;
    let mut rows = statement.query([]).map_err(&failed)?;
    let mut arns = Vec::new();
    while let Some(row) = rows.next().map_err(&failed)? {
        arns.push(codec::column(row, 0, "execution arn", OPERATION)?);
    }
    Ok(arns)
}

/// One document.
pub(crate) fn document(connection: &Connection, kind: &str, key: &str) -> Result<Option<Document>> {
    const OPERATION: &str = "get_document";
    let failed = backend(OPERATION);
    let mut statement = connection
        .prepare_cached(
            "SELECT kind, key, body, version FROM documents WHERE kind = ?1 AND key = ?2",
        )
        .map_err(&failed)?;
    let mut rows = statement.query(params![kind, key]).map_err(&failed)?;
    rows.next()
        .map_err(&failed)?
        .map(|row| document_from_row(row, OPERATION))
        .transpose()
}

/// The documents of one kind whose key starts with `prefix`, in key order.
pub(crate) fn documents(
    connection: &Connection,
    kind: &str,
    prefix: &str,
) -> Result<Vec<Document>> {
    const OPERATION: &str = "list_documents";
    let failed = backend(OPERATION);
    // A range on the key instead of LIKE: the prefix may hold `%` or `_`, and the range uses the
    // primary key.
    let mut statement = connection
        .prepare_cached(
            "SELECT kind, key, body, version FROM documents \
             WHERE kind = ?1 AND key >= ?2 AND substr(key, 1, length(?2)) = ?2 ORDER BY key",
        )
        .map_err(&failed)?;
    let mut rows = statement.query(params![kind, prefix]).map_err(&failed)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(&failed)? {
        found.push(document_from_row(row, OPERATION)?);
    }
    Ok(found)
}

fn document_from_row(row: &rusqlite::Row<'_>, operation: &'static str) -> Result<Document> {
    let failed = backend(operation);
    let version: i64 = row.get(3).map_err(&failed)?;
    Ok(Document {
        kind: row.get(0).map_err(&failed)?,
        key: row.get(1).map_err(&failed)?,
        body: row.get(2).map_err(&failed)?,
        version: codec::count("document version", version)?,
    })
}
