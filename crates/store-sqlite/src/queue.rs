//! Queue messages on SQLite: the writes behind the [`store::Store`] queue methods (run by the
//! writer, inside one request's savepoint) and the two reads (run on a reader).
//!
//! # Design
//! - **One row per message** in `messages`, whichever queue holds it. Moving a message (to a
//!   dead-letter queue, or back) changes its `queue` column, so it keeps its row and its sequence
//!   and is never in two queues.
//! - **The sequence is the rowid**, `AUTOINCREMENT`: SQLite never hands out a sequence twice, not
//!   even after the highest one was deleted, so a receipt (sequence, receive count) never names a
//!   later message. Sequences grow in commit order, which is send order: one writer at a time.
//! - **A receive is one indexed scan and one statement per candidate.** The scan walks the
//!   queue's entries of `messages_by_queue` in sequence order and stops after `max` candidates
//!   (by reading no further: a bound `LIMIT` makes SQLite re-prepare the statement each time);
//!   the index carries visibility, receive count and group, so skipping messages in flight reads
//!   no row. Each candidate is then delivered (`UPDATE ... RETURNING` the whole message) or moved
//!   to the dead-letter queue (`UPDATE` of its queue).
//! - **FIFO receives skip blocked groups.** The scan tests each visible message with a
//!   `NOT EXISTS` seek into its group's messages that are not visible (`messages_by_group`). A
//!   group with a message in flight may hold a long backlog of visible messages, each tested in
//!   turn: after [`FIFO_SCAN_BUDGET`] messages the receive walks the queue group by group instead
//!   (one seek per group in `messages_by_group_sequence`, then that group's first messages), so a
//!   blocked backlog costs one seek however long it is. Both group indexes are partial: messages
//!   without a group (standard queues') stay out of them.
//! - **Deduplication records** (`message_dedup`) are read before and written with each message
//!   that has a deduplication id, in the same savepoint.
//! - Every statement is prepared once per connection (`prepare_cached`); a batch (a send of ten,
//!   a delete of ten receipts) runs in its request's one savepoint.
//!
//! # Choices the contract leaves to the backend
//! - Expired deduplication records are garbage: [`expire`] drops a queue's records that expired
//!   at or before its `sent_before` (retention runs with a `sent_before` in the past, so no later
//!   send could still have matched them).
//! - [`peek`] reads at most `limit` messages, uncapped; a `limit` of 0 reads none.
//! - A purge or an expiry deletes in one statement, inside the writer: a huge queue holds up the
//!   other writes while it runs.

use crate::codec::{self, MESSAGE_COLUMNS, backend, column, count, micros};
use rusqlite::{Connection, OptionalExtension, params};
use store::Result;
use store::queue::{Message, NewMessage, QueueCounts, Receipt, Receive, Received, Sent};

/// Stores `messages` on `queue`, skipping duplicates of a deduplication record that holds at
/// `now`.
pub(crate) fn send(
    connection: &Connection,
    queue: &str,
    now: jiff::Timestamp,
    messages: &[NewMessage],
) -> Result<Vec<Sent>> {
    const OPERATION: &str = "send_messages";
    let failed = backend(OPERATION);
    let now = micros(now);
    let mut insert = connection
        .prepare_cached(
            "INSERT INTO messages (queue, id, visible_at, receive_count, first_received_at, \
             sent_at, group_id, dedup_id, source_queue, attributes, body) \
             VALUES (?1, ?2, ?3, 0, NULL, ?4, ?5, ?6, NULL, ?7, ?8)",
        )
        .map_err(&failed)?;
    let mut sent = Vec::with_capacity(messages.len());
    for message in messages {
        if let Some(dedup_id) = &message.dedup_id {
            let first: Option<(String, i64)> = connection
                .prepare_cached(
                    "SELECT id, sequence FROM message_dedup \
                     WHERE queue = ?1 AND dedup_id = ?2 AND expires_at > ?3",
                )
                .and_then(|mut statement| {
                    statement
                        .query_row(params![queue, dedup_id, now], |row| {
                            Ok((row.get(0)?, row.get(1)?))
                        })
                        .optional()
                })
                .map_err(&failed)?;
            if let Some((id, sequence)) = first {
                sent.push(Sent {
                    id,
                    sequence: count("deduplication sequence", sequence)?,
                    duplicate: true,
                });
                continue;
            }
        }
        insert
            .execute(params![
                queue,
                message.id,
                micros(message.visible_at),
                micros(message.sent_at),
                message.group_id,
                message.dedup_id,
                message.attributes,
                message.body,
            ])
            .map_err(&failed)?;
        let sequence = connection.last_insert_rowid();
        if let Some(dedup_id) = &message.dedup_id {
            connection
                .prepare_cached(
                    "INSERT INTO message_dedup (queue, dedup_id, id, sequence, expires_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (queue, dedup_id) DO UPDATE SET id = excluded.id, \
                     sequence = excluded.sequence, expires_at = excluded.expires_at",
                )
                .and_then(|mut statement| {
                    statement.execute(params![
                        queue,
                        dedup_id,
                        message.id,
                        sequence,
                        micros(message.dedup_expires_at)
                    ])
                })
                .map_err(&failed)?;
        }
        sent.push(Sent {
            id: message.id.clone(),
            sequence: count("message sequence", sequence)?,
            duplicate: false,
        });
    }
    Ok(sent)
}

/// The visible messages of queue `?1` at `?2`, in sequence order: their sequence and receive
/// count. The caller stops reading after the first few: a bound `LIMIT` would make SQLite
/// prepare the statement again at every execution (it plans with the limit's value).
const CANDIDATES: &str = "SELECT sequence, receive_count FROM messages \
     WHERE queue = ?1 AND visible_at <= ?2 ORDER BY sequence";

/// [`CANDIDATES`] of a FIFO queue (messages with a group only), and whether each may be taken:
/// its group has no message in flight and no earlier message delayed.
const FIFO_CANDIDATES: &str = "SELECT m.sequence, m.receive_count, NOT EXISTS ( \
         SELECT 1 FROM messages b \
         WHERE b.queue = ?1 AND b.group_id = m.group_id AND b.visible_at > ?2 \
         AND (b.receive_count > 0 OR b.sequence < m.sequence)) \
     FROM messages m WHERE m.queue = ?1 AND m.visible_at <= ?2 AND m.group_id IS NOT NULL \
     ORDER BY m.sequence";

/// How many visible messages a FIFO receive reads in sequence order before it gives up on that
/// and walks the queue group by group instead.
const FIFO_SCAN_BUDGET: usize = 256;

/// The groups of queue `?1`, in name order: a loose scan of a group index, one seek per group,
/// however many messages each holds.
const GROUPS: &str = "WITH RECURSIVE groups (name) AS ( \
         SELECT MIN(group_id) FROM messages WHERE queue = ?1 AND group_id IS NOT NULL \
         UNION ALL \
         SELECT (SELECT MIN(group_id) FROM messages WHERE queue = ?1 AND group_id > name) \
         FROM groups WHERE name IS NOT NULL) \
     SELECT name FROM groups WHERE name IS NOT NULL";

/// Of group `?2` of queue `?1` at `?3`: whether a message is in flight, and the lowest sequence
/// of a message that is not visible (the group's messages before it are all visible).
const GROUP_STATE: &str = "SELECT COALESCE(MAX(receive_count > 0), 0), MIN(sequence) \
     FROM messages WHERE queue = ?1 AND group_id = ?2 AND visible_at > ?3";

/// The sequences of group `?2` of queue `?1` below sequence `?3`, in order, from the index alone.
/// (Without statistics SQLite would rather walk the whole queue in sequence order, testing the
/// group.)
const GROUP_PREFIX: &str = "SELECT sequence FROM messages INDEXED BY messages_by_group_sequence \
     WHERE queue = ?1 AND group_id = ?2 AND sequence < ?3 ORDER BY sequence";

/// Takes up to `receive.max` visible messages: delivers them, or moves to the dead-letter queue
/// those that used up their receives.
pub(crate) fn receive(connection: &Connection, receive: &Receive) -> Result<Received> {
    const OPERATION: &str = "receive_messages";
    let failed = backend(OPERATION);
    if receive.max == 0 {
        return Ok(Received::default());
    }
    let now = micros(receive.now);
    let candidates = if receive.fifo {
        fifo_candidates(connection, &receive.queue, now, receive.max)?
    } else {
        let mut select = connection.prepare_cached(CANDIDATES).map_err(&failed)?;
        let mut rows = select.query(params![receive.queue, now]).map_err(&failed)?;
        let mut candidates = Vec::with_capacity(receive.max.min(1_024));
        while candidates.len() < receive.max
            && let Some(row) = rows.next().map_err(&failed)?
        {
            candidates.push(candidate(row)?);
        }
        candidates
    };
    let mut received = Received {
        messages: Vec::with_capacity(candidates.len()),
        moved_to_dead_letter: 0,
    };
    let mut deliver = connection
        .prepare_cached(&format!(
            "UPDATE messages SET receive_count = receive_count + 1, \
             first_received_at = COALESCE(first_received_at, ?2), visible_at = ?3 \
             WHERE sequence = ?1 RETURNING {MESSAGE_COLUMNS}"
        ))
        .map_err(&failed)?;
    let visible_until = micros(receive.visible_until);
    for (sequence, receive_count) in candidates {
        match &receive.redrive {
            Some(redrive) if receive_count >= redrive.max_receive_count => {
                connection
                    .prepare_cached(
                        "UPDATE messages SET queue = ?2, source_queue = queue, \
                         receive_count = 0, visible_at = ?3 WHERE sequence = ?1",
                    )
                    .and_then(|mut statement| {
                        statement.execute(params![sequence, redrive.dead_letter_queue, now])
                    })
                    .map_err(&failed)?;
                received.moved_to_dead_letter += 1;
            }
            _ => {
                let mut rows = deliver
                    .query(params![sequence, now, visible_until])
                    .map_err(&failed)?;
                let row = rows
                    .next()
                    .map_err(&failed)?
                    .ok_or_else(|| store::Error::Backend {
                        operation: OPERATION,
                        detail: format!("message {sequence} vanished during the receive"),
                    })?;
                received
                    .messages
                    .push(codec::message_from_row(row, OPERATION)?);
            }
        }
    }
    Ok(received)
}

/// A candidate's sequence and receive count, from the first two columns of `row`.
fn candidate(row: &rusqlite::Row<'_>) -> Result<(i64, u64)> {
    const OPERATION: &str = "receive_messages";
    let sequence: i64 = column(row, 0, "message sequence", OPERATION)?;
    let receive_count = codec::count_column(row, 1, "message receive_count", OPERATION)?;
    Ok((sequence, receive_count))
}

/// The first `max` messages of a FIFO queue a receive at `now` may take, in sequence order.
///
/// Most receives find them among the first visible messages, so this reads the queue in
/// sequence order first. But the messages of a group with one in flight are visible and may not
/// be taken: behind a long backlog of such a group, reading in sequence order would test every
/// message of it. After [`FIFO_SCAN_BUDGET`] messages the receive walks the queue group by group
/// instead ([`fifo_walk`]), which skips a blocked group in one seek. Both give the same answer.
fn fifo_candidates(
    connection: &Connection,
    queue: &str,
    now: i64,
    max: usize,
) -> Result<Vec<(i64, u64)>> {
    const OPERATION: &str = "receive_messages";
    let failed = backend(OPERATION);
    let mut select = connection
        .prepare_cached(FIFO_CANDIDATES)
        .map_err(&failed)?;
    let mut rows = select.query(params![queue, now]).map_err(&failed)?;
    let mut candidates = Vec::with_capacity(max.min(1_024));
    let mut read = 0;
    while let Some(row) = rows.next().map_err(&failed)? {
        if column::<bool>(row, 2, "message eligibility", OPERATION)? {
            candidates.push(candidate(row)?);
            if candidates.len() == max {
                return Ok(candidates);
            }
        }
        read += 1;
        if read == FIFO_SCAN_BUDGET {
            return fifo_walk(connection, queue, now, max);
        }
    }
    Ok(candidates)
}

/// [`fifo_candidates`] group by group: for each group without a message in flight, its messages
/// up to the first one that is not visible; the first `max` of those in sequence order.
fn fifo_walk(
    connection: &Connection,
    queue: &str,
    now: i64,
    max: usize,
) -> Result<Vec<(i64, u64)>> {
    const OPERATION: &str = "receive_messages";
    let failed = backend(OPERATION);
    let groups: Vec<String> = connection
        .prepare_cached(GROUPS)
        .and_then(|mut statement| {
            statement
                .query_map([queue], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(&failed)?;
    let mut state = connection.prepare_cached(GROUP_STATE).map_err(&failed)?;
    let mut prefix = connection.prepare_cached(GROUP_PREFIX).map_err(&failed)?;
    let mut sequences = Vec::new();
    for group in &groups {
        let (in_flight, first_hidden): (bool, Option<i64>) = state
            .query_row(params![queue, group, now], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .map_err(&failed)?;
        if in_flight {
            continue;
        }
        let mut rows = prefix
            .query(params![queue, group, first_hidden.unwrap_or(i64::MAX)])
            .map_err(&failed)?;
        let mut taken = 0;
        while taken < max
            && let Some(row) = rows.next().map_err(&failed)?
        {
            sequences.push(column::<i64>(row, 0, "message sequence", OPERATION)?);
            taken += 1;
        }
    }
    sequences.sort_unstable();
    sequences.truncate(max);
    let mut receive_count = connection
        .prepare_cached("SELECT receive_count FROM messages WHERE sequence = ?1")
        .map_err(&failed)?;
    sequences
        .into_iter()
        .map(|sequence| {
            let count: i64 = receive_count
                .query_row([sequence], |row| row.get(0))
                .map_err(&failed)?;
            Ok((sequence, codec::count("message receive_count", count)?))
        })
        .collect()
}

/// Deletes the messages of `queue` that `receipts` name; per receipt, whether it did.
pub(crate) fn delete(
    connection: &Connection,
    queue: &str,
    receipts: &[Receipt],
) -> Result<Vec<bool>> {
    const OPERATION: &str = "delete_messages";
    let failed = backend(OPERATION);
    let mut delete = connection
        .prepare_cached(
            "DELETE FROM messages WHERE sequence = ?1 AND queue = ?2 AND receive_count = ?3",
        )
        .map_err(&failed)?;
    receipts
        .iter()
        .map(|receipt| {
            delete
                .execute(params![
                    crate::saturating(receipt.sequence),
                    queue,
                    crate::saturating(receipt.receive_count)
                ])
                .map(|deleted| deleted > 0)
                .map_err(&failed)
        })
        .collect()
}

/// Sets when the in-flight messages of `queue` that `changes` name become visible; per change,
/// whether it named one.
pub(crate) fn change_visibility(
    connection: &Connection,
    queue: &str,
    now: jiff::Timestamp,
    changes: &[(Receipt, jiff::Timestamp)],
) -> Result<Vec<bool>> {
    const OPERATION: &str = "change_visibility";
    let failed = backend(OPERATION);
    let mut change = connection
        .prepare_cached(
            "UPDATE messages SET visible_at = ?4 \
             WHERE sequence = ?1 AND queue = ?2 AND receive_count = ?3 \
             AND receive_count > 0 AND visible_at > ?5",
        )
        .map_err(&failed)?;
    let now = micros(now);
    changes
        .iter()
        .map(|(receipt, visible_at)| {
            change
                .execute(params![
                    crate::saturating(receipt.sequence),
                    queue,
                    crate::saturating(receipt.receive_count),
                    micros(*visible_at),
                    now
                ])
                .map(|changed| changed > 0)
                .map_err(&failed)
        })
        .collect()
}

/// Deletes every message of `queue` and its deduplication records; how many messages.
pub(crate) fn purge(connection: &Connection, queue: &str) -> Result<u64> {
    const OPERATION: &str = "purge_messages";
    let failed = backend(OPERATION);
    let deleted = connection
        .prepare_cached("DELETE FROM messages WHERE queue = ?1")
        .and_then(|mut statement| statement.execute([queue]))
        .map_err(&failed)?;
    connection
        .prepare_cached("DELETE FROM message_dedup WHERE queue = ?1")
        .and_then(|mut statement| statement.execute([queue]))
        .map_err(&failed)?;
    Ok(deleted as u64)
}

/// Deletes the messages of `queue` sent before `sent_before`, and its deduplication records that
/// expired by then; how many messages.
pub(crate) fn expire(
    connection: &Connection,
    queue: &str,
    sent_before: jiff::Timestamp,
) -> Result<u64> {
    const OPERATION: &str = "expire_messages";
    let failed = backend(OPERATION);
    let sent_before = micros(sent_before);
    let deleted = connection
        .prepare_cached("DELETE FROM messages WHERE queue = ?1 AND sent_at < ?2")
        .and_then(|mut statement| statement.execute(params![queue, sent_before]))
        .map_err(&failed)?;
    connection
        .prepare_cached("DELETE FROM message_dedup WHERE queue = ?1 AND expires_at <= ?2")
        .and_then(|mut statement| statement.execute(params![queue, sent_before]))
        .map_err(&failed)?;
    Ok(deleted as u64)
}

/// Moves up to `max` visible messages of `from`, in sequence order, to `to` or else to their
/// source queue; how many moved.
pub(crate) fn move_back(
    connection: &Connection,
    from: &str,
    to: Option<&str>,
    max: usize,
    now: jiff::Timestamp,
) -> Result<u64> {
    const OPERATION: &str = "move_messages";
    if max == 0 {
        return Ok(0);
    }
    // The subquery picks the rows before any moves (SQLite materializes an uncorrelated IN list).
    connection
        .prepare_cached(
            "UPDATE messages SET queue = COALESCE(?2, source_queue), source_queue = NULL, \
             receive_count = 0, visible_at = ?3 \
             WHERE sequence IN ( \
                 SELECT sequence FROM messages \
                 WHERE queue = ?1 AND visible_at <= ?3 \
                 AND (?2 IS NOT NULL OR source_queue IS NOT NULL) \
                 ORDER BY sequence LIMIT ?4)",
        )
        .and_then(|mut statement| {
            statement.execute(params![from, to, micros(now), codec::limit(max)])
        })
        .map(|moved| moved as u64)
        .map_err(backend(OPERATION))
}

/// A queue's messages counted by state at `now`.
pub(crate) fn counts(
    connection: &Connection,
    queue: &str,
    now: jiff::Timestamp,
) -> Result<QueueCounts> {
    const OPERATION: &str = "queue_counts";
    let failed = backend(OPERATION);
    let mut statement = connection
        .prepare_cached(
            "SELECT COALESCE(SUM(visible_at <= ?2), 0), \
             COALESCE(SUM(visible_at > ?2 AND receive_count > 0), 0), \
             COALESCE(SUM(visible_at > ?2 AND receive_count = 0), 0), \
             (SELECT MIN(sent_at) FROM messages WHERE queue = ?1) \
             FROM messages WHERE queue = ?1",
        )
        .map_err(&failed)?;
    let mut rows = statement
        .query(params![queue, micros(now)])
        .map_err(&failed)?;
    let Some(row) = rows.next().map_err(&failed)? else {
        return Ok(QueueCounts::default());
    };
    let oldest: Option<i64> = column(row, 3, "message sent_at", OPERATION)?;
    Ok(QueueCounts {
        visible: codec::count_column(row, 0, "visible count", OPERATION)?,
        in_flight: codec::count_column(row, 1, "in-flight count", OPERATION)?,
        delayed: codec::count_column(row, 2, "delayed count", OPERATION)?,
        oldest_sent_at: oldest
            .map(|micros| codec::timestamp("message sent_at", micros))
            .transpose()?,
    })
}

/// Up to `limit` messages of `queue`, in sequence order.
pub(crate) fn peek(connection: &Connection, queue: &str, limit: usize) -> Result<Vec<Message>> {
    const OPERATION: &str = "peek_messages";
    let failed = backend(OPERATION);
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE queue = ?1 ORDER BY sequence LIMIT ?2"
        ))
        .map_err(&failed)?;
    let mut rows = statement
        .query(params![queue, codec::limit(limit)])
        .map_err(&failed)?;
    let mut messages = Vec::new();
    while let Some(row) = rows.next().map_err(&failed)? {
        messages.push(codec::message_from_row(row, OPERATION)?);
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A migrated, empty in-memory database.
    fn database() -> Connection {
        let mut connection = Connection::open_in_memory().expect("an in-memory database");
        crate::schema::migrate(&mut connection).expect("the schema migrates");
        connection
    }

    /// Stores a message of `queue` straight into the table: its group, when it becomes visible
    /// (microseconds) and how often it was received.
    fn insert(
        connection: &Connection,
        queue: &str,
        group: Option<&str>,
        visible_at: i64,
        receive_count: i64,
    ) {
        connection
            .execute(
                "INSERT INTO messages (queue, id, visible_at, receive_count, sent_at, group_id, \
                 attributes, body) VALUES (?1, 'id', ?2, ?3, 0, ?4, '', '')",
                params![queue, visible_at, receive_count, group],
            )
            .expect("the message is stored");
    }

    /// SQLite's plan for `sql` on a migrated, empty database, one line per step.
    fn plan(sql: &str) -> String {
        let connection = database();
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("the statement prepares");
        let parameters = statement.parameter_count();
        let values = vec![rusqlite::types::Value::Integer(1); parameters];
        let rows = statement
            .query_map(rusqlite::params_from_iter(values), |row| {
                row.get::<_, String>(3)
            })
            .expect("the plan is readable");
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .expect("the plan is readable")
            .join("\n")
    }

    /// The receive statements seek an index and read in its order: no table scan, no sort.
    #[test]
    fn receives_seek_and_never_sort() {
        for (sql, index) in [
            (CANDIDATES, "COVERING INDEX messages_by_queue (queue=?)"),
            (
                FIFO_CANDIDATES,
                "COVERING INDEX messages_by_queue (queue=?)",
            ),
            (
                FIFO_CANDIDATES,
                "COVERING INDEX messages_by_group (queue=? AND group_id=? AND visible_at>?)",
            ),
            (
                GROUPS,
                "COVERING INDEX messages_by_group_sequence (queue=? AND group_id>?)",
            ),
            (
                GROUP_STATE,
                "COVERING INDEX messages_by_group (queue=? AND group_id=? AND visible_at>?)",
            ),
            (
                GROUP_PREFIX,
                "COVERING INDEX messages_by_group_sequence (queue=? AND group_id=? AND sequence<?)",
            ),
        ] {
            let plan = plan(sql);
            assert!(plan.contains(index), "{sql}\nmust use {index}:\n{plan}");
            assert!(
                !plan.contains("SCAN m") && !plan.contains("TEMP B-TREE"),
                "{sql}\nneither scans the table nor sorts:\n{plan}"
            );
        }
    }

    /// Receives of any size, and walks, run the cached statements without SQLite preparing them
    /// again (it does when a bound value steers its plan, as a bound `LIMIT` does).
    #[test]
    fn receives_are_prepared_once() {
        let connection = database();
        for index in 0..20 {
            insert(&connection, "q", Some(&format!("g{}", index % 3)), 0, 0);
        }
        for (round, max) in [1, 3, 2, 10, 1].into_iter().enumerate() {
            let now = i64::try_from(round).expect("small") * 100;
            for fifo in [false, true] {
                let receive = Receive {
                    queue: "q".to_owned(),
                    now: jiff::Timestamp::from_microsecond(now).expect("in range"),
                    max,
                    visible_until: jiff::Timestamp::from_microsecond(now).expect("in range"),
                    redrive: None,
                    fifo,
                };
                super::receive(&connection, &receive).expect("the receive runs");
            }
            fifo_walk(&connection, "q", now, max).expect("the walk runs");
        }
        for sql in [
            CANDIDATES,
            FIFO_CANDIDATES,
            GROUPS,
            GROUP_STATE,
            GROUP_PREFIX,
        ] {
            let statement = connection.prepare_cached(sql).expect("cached");
            assert_eq!(
                statement.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "prepared again: {sql}"
            );
        }
    }

    /// Every message a FIFO receive may take, in sequence order, read without a budget.
    fn all_fifo_candidates(connection: &Connection, now: i64) -> Vec<(i64, u64)> {
        let mut select = connection
            .prepare(FIFO_CANDIDATES)
            .expect("the statement prepares");
        let mut rows = select.query(params!["q", now]).expect("the query runs");
        let mut candidates = Vec::new();
        while let Some(row) = rows.next().expect("a row") {
            if row.get::<_, bool>(2).expect("eligibility") {
                candidates.push(candidate(row).expect("a candidate"));
            }
        }
        candidates
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// The group walk takes exactly what the scan in sequence order takes, whatever the
        /// mix of visible, delayed and in-flight messages, groups and messages without one.
        #[test]
        fn the_group_walk_takes_what_the_scan_takes(
            messages in proptest::collection::vec(
                (proptest::option::weighted(0.9, 0..4_u8), 0..4_i64, 0..3_i64, any::<bool>()),
                0..40,
            ),
            now in 0..4_i64,
            max in 1..12_usize,
        ) {
            let connection = database();
            for (group, visible_at, receive_count, other_queue) in messages {
                let group = group.map(|group| format!("g{group}"));
                let queue = if other_queue { "other" } else { "q" };
                insert(&connection, queue, group.as_deref(), visible_at, receive_count);
            }
            let mut expected = all_fifo_candidates(&connection, now);
            expected.truncate(max);
            let walked = fifo_walk(&connection, "q", now, max).expect("the walk runs");
            prop_assert_eq!(walked, expected);
        }
    }

    /// Behind a blocked group's backlog longer than the scan budget, a FIFO receive still takes
    /// the other groups' messages, and only those it may take.
    #[test]
    fn a_blocked_backlog_falls_back_to_the_walk() {
        let connection = database();
        insert(&connection, "q", Some("a"), 100, 1);
        for _ in 0..2 * FIFO_SCAN_BUDGET {
            insert(&connection, "q", Some("a"), 0, 0);
        }
        insert(&connection, "q", Some("b"), 0, 0);
        insert(&connection, "q", None, 0, 0);
        insert(&connection, "q", Some("c"), 100, 0);
        insert(&connection, "q", Some("c"), 0, 0);
        insert(&connection, "q", Some("d"), 0, 2);
        insert(&connection, "q", Some("b"), 0, 1);
        let taken = fifo_candidates(&connection, "q", 50, 10).expect("the receive runs");
        let b = i64::try_from(2 * FIFO_SCAN_BUDGET + 2).expect("small");
        assert_eq!(taken, vec![(b, 0), (b + 4, 2), (b + 5, 1)]);
    }
}
