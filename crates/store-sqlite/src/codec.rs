//! Conversions between store records and SQLite values, and from rusqlite errors to store errors.
//!
//! - Timestamps are `INTEGER` microseconds since the Unix epoch; finer digits are dropped.
//! - Counters (`u64`) are `INTEGER` (`i64`); a stored negative counter is [`Error::Corrupt`], a
//!   counter beyond `i64::MAX` cannot be written ([`Error::Backend`]).
//! - Page cursors are hex-encoded text: `m` + the last state machine ARN of a page, or `e` + the
//!   last execution's start time, a space, and its ARN.

use jiff::Timestamp;
use rusqlite::Row;
use rusqlite::types::FromSql;
use store::queue::Message;
use store::{Error, EventRecord, ExecutionRecord, Result, StateMachineRecord};

/// Maps a rusqlite error to [`Error::Backend`] for `operation`.
pub(crate) fn backend(operation: &'static str) -> impl Fn(rusqlite::Error) -> Error {
    move |error| Error::Backend {
        operation,
        detail: error.to_string(),
    }
}

/// Whether `error` is a violated constraint (a duplicate key).
pub(crate) fn is_constraint(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
}

/// A timestamp as stored.
pub(crate) fn micros(timestamp: Timestamp) -> i64 {
    timestamp.as_microsecond()
}

/// A stored timestamp.
pub(crate) fn timestamp(what: &str, micros: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(micros).map_err(|error| Error::Corrupt {
        what: what.to_owned(),
        detail: format!("{micros} microseconds: {error}"),
    })
}

/// A counter as stored.
pub(crate) fn int(operation: &'static str, what: &str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::Backend {
        operation,
        detail: format!("{what} {value} is too large for SQLite"),
    })
}

/// A stored counter.
pub(crate) fn count(what: &str, value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::Corrupt {
        what: what.to_owned(),
        detail: format!("negative value {value}"),
    })
}

/// A limit as an SQL parameter.
pub(crate) fn limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Column `index` of `row`: a value of the wrong type is corrupt, any other failure a backend one.
pub(crate) fn column<T: FromSql>(
    row: &Row<'_>,
    index: usize,
    what: &str,
    operation: &'static str,
) -> Result<T> {
    row.get(index).map_err(|error| match error {
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::Utf8Error(..) => Error::Corrupt {
            what: what.to_owned(),
            detail: error.to_string(),
        },
        error => backend(operation)(error),
    })
}

/// Column `index` of `row` as a counter.
pub(crate) fn count_column(
    row: &Row<'_>,
    index: usize,
    what: &str,
    operation: &'static str,
) -> Result<u64> {
    count(what, column(row, index, what, operation)?)
}

/// Column `index` of `row` as a timestamp.
fn time_column(
    row: &Row<'_>,
    index: usize,
    what: &str,
    operation: &'static str,
) -> Result<Timestamp> {
    timestamp(what, column(row, index, what, operation)?)
}

/// Column `index` of `row` as an optional timestamp.
fn optional_time_column(
    row: &Row<'_>,
    index: usize,
    what: &str,
    operation: &'static str,
) -> Result<Option<Timestamp>> {
    column::<Option<i64>>(row, index, what, operation)?
        .map(|micros| timestamp(what, micros))
        .transpose()
}

/// The columns [`machine_from_row`] reads, of `state_machine_revisions` as `r`.
pub(crate) const MACHINE_COLUMNS: &str = "r.arn, r.name, r.kind, r.role_arn, r.revision, \
     r.definition, r.config, r.created_at, r.updated_at";

/// A state machine revision from a row of [`MACHINE_COLUMNS`].
pub(crate) fn machine_from_row(
    row: &Row<'_>,
    operation: &'static str,
) -> Result<StateMachineRecord> {
    Ok(StateMachineRecord {
        arn: column(row, 0, "state machine arn", operation)?,
        name: column(row, 1, "state machine name", operation)?,
        kind: column(row, 2, "state machine kind", operation)?,
        role_arn: column(row, 3, "state machine role_arn", operation)?,
        revision: count_column(row, 4, "state machine revision", operation)?,
        definition: column(row, 5, "state machine definition", operation)?,
        config: column(row, 6, "state machine config", operation)?,
        created_at: time_column(row, 7, "state machine created_at", operation)?,
        updated_at: time_column(row, 8, "state machine updated_at", operation)?,
    })
}

/// The columns [`execution_from_row`] reads, of `executions`.
pub(crate) const EXECUTION_COLUMNS: &str = "arn, state_machine_arn, revision, name, status, \
     input, output, error, cause, start_date, stop_date, redrive_count, redrive_date, \
     last_event_id, version";

/// An execution from a row of [`EXECUTION_COLUMNS`].
pub(crate) fn execution_from_row(
    row: &Row<'_>,
    operation: &'static str,
) -> Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        arn: column(row, 0, "execution arn", operation)?,
        state_machine_arn: column(row, 1, "execution state_machine_arn", operation)?,
        revision: count_column(row, 2, "execution revision", operation)?,
        name: column(row, 3, "execution name", operation)?,
        status: column(row, 4, "execution status", operation)?,
        input: column(row, 5, "execution input", operation)?,
        output: column(row, 6, "execution output", operation)?,
        error: column(row, 7, "execution error", operation)?,
        cause: column(row, 8, "execution cause", operation)?,
        start_date: time_column(row, 9, "execution start_date", operation)?,
        stop_date: optional_time_column(row, 10, "execution stop_date", operation)?,
        redrive_count: count_column(row, 11, "execution redrive_count", operation)?,
        redrive_date: optional_time_column(row, 12, "execution redrive_date", operation)?,
        last_event_id: count_column(row, 13, "execution last_event_id", operation)?,
        version: count_column(row, 14, "execution version", operation)?,
    })
}

/// The columns [`event_from_row`] reads, of `history`.
pub(crate) const EVENT_COLUMNS: &str = "id, event_type, timestamp, body";

/// A history event from a row of [`EVENT_COLUMNS`].
pub(crate) fn event_from_row(row: &Row<'_>, operation: &'static str) -> Result<EventRecord> {
    Ok(EventRecord {
        id: count_column(row, 0, "event id", operation)?,
        event_type: column(row, 1, "event type", operation)?,
        timestamp: time_column(row, 2, "event timestamp", operation)?,
        body: column(row, 3, "event body", operation)?,
    })
}

/// The columns [`message_from_row`] reads, of `messages`.
pub(crate) const MESSAGE_COLUMNS: &str = "queue, id, sequence, body, attributes, sent_at, \
     visible_at, receive_count, first_received_at, group_id, dedup_id, source_queue";

/// A queue message from a row of [`MESSAGE_COLUMNS`].
pub(crate) fn message_from_row(row: &Row<'_>, operation: &'static str) -> Result<Message> {
    Ok(Message {
        queue: column(row, 0, "message queue", operation)?,
        id: column(row, 1, "message id", operation)?,
        sequence: count_column(row, 2, "message sequence", operation)?,
        body: column(row, 3, "message body", operation)?,
        attributes: column(row, 4, "message attributes", operation)?,
        sent_at: time_column(row, 5, "message sent_at", operation)?,
        visible_at: time_column(row, 6, "message visible_at", operation)?,
        receive_count: count_column(row, 7, "message receive_count", operation)?,
        first_received_at: optional_time_column(row, 8, "message first_received_at", operation)?,
        group_id: column(row, 9, "message group_id", operation)?,
        dedup_id: column(row, 10, "message dedup_id", operation)?,
        source_queue: column(row, 11, "message source_queue", operation)?,
    })
}

/// The cursor after the state machine `arn`.
pub(crate) fn machine_cursor(arn: &str) -> String {
    hex(&format!("m{arn}"))
}

/// The ARN a state machine cursor continues after.
pub(crate) fn parse_machine_cursor(cursor: &str) -> Result<String> {
    unhex(cursor)
        .and_then(|text| text.strip_prefix('m').map(str::to_owned))
        .ok_or_else(|| bad_cursor(cursor))
}

/// The cursor after the execution started at `start` (microseconds) with `arn`.
pub(crate) fn execution_cursor(start: i64, arn: &str) -> String {
    hex(&format!("e{start} {arn}"))
}

/// The start time (microseconds) and ARN an execution cursor continues after.
pub(crate) fn parse_execution_cursor(cursor: &str) -> Result<(i64, String)> {
    unhex(cursor)
        .and_then(|text| {
            let (start, arn) = text.strip_prefix('e')?.split_once(' ')?;
            Some((start.parse().ok()?, arn.to_owned()))
        })
        .ok_or_else(|| bad_cursor(cursor))
}

/// A cursor this store did not make. (The trait has no error for a bad argument; an unknown
/// cursor is a page that does not exist.)
fn bad_cursor(cursor: &str) -> Error {
    Error::NotFound {
        kind: "page cursor",
        key: cursor.to_owned(),
    }
}

fn hex(text: &str) -> String {
    text.bytes().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<String> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(text.get(index..index + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let arn = "arn:aws:states:us-east-1:000000000000:stateMachine:ünï 🚀";
        assert_eq!(
            parse_machine_cursor(&machine_cursor(arn)),
            Ok(arn.to_owned())
        );
        assert_eq!(
            parse_execution_cursor(&execution_cursor(-42, arn)),
            Ok((-42, arn.to_owned()))
        );
    }

    #[test]
    fn foreign_cursors_are_refused() {
        for cursor in ["", "zz", "6", "6d61", "e1 x"] {
            assert!(matches!(
                parse_execution_cursor(cursor),
                Err(Error::NotFound { .. })
            ));
        }
        assert!(parse_machine_cursor(&execution_cursor(1, "x")).is_err());
        assert!(parse_execution_cursor(&machine_cursor("x")).is_err());
    }
}
