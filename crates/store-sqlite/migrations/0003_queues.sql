-- weir SQLite schema, version 3: the messages of durable queues (SQS semantics) and their
-- deduplication records. A queue's settings are documents; only its messages live here.

-- One row per stored message, in whichever queue holds it now. `sequence` is the rowid, with
-- AUTOINCREMENT so that no sequence is ever used twice, not even after the highest one was
-- deleted: receipts name messages by sequence. The body comes last: it can be large, and the
-- scans below never read it.
CREATE TABLE messages (
    sequence          INTEGER PRIMARY KEY AUTOINCREMENT,
    queue             TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    visible_at        INTEGER NOT NULL,
    receive_count     INTEGER NOT NULL,
    first_received_at INTEGER,
    sent_at           INTEGER NOT NULL,
    group_id          TEXT,
    dedup_id          TEXT,
    source_queue      TEXT,
    attributes        TEXT    NOT NULL,
    body              TEXT    NOT NULL
);

-- Receives, moves and peeks walk one queue in sequence order and stop after a few messages. The
-- index carries what they test (visibility, receive count, group), so skipping messages that are
-- not visible never reads a row, and counting a queue reads the index alone.
CREATE INDEX messages_by_queue
    ON messages (queue, sequence, visible_at, receive_count, group_id);

-- FIFO receives: whether a group has a message in flight, or an earlier one delayed, is a seek
-- into the group's messages that are not visible. Messages without a group (standard queues')
-- stay out of both group indexes.
CREATE INDEX messages_by_group
    ON messages (queue, group_id, visible_at, receive_count)
    WHERE group_id IS NOT NULL;

-- FIFO receives behind a long backlog of a blocked group walk the queue group by group: one
-- seek finds the next group, a range its messages in sequence order. Receives never change it.
CREATE INDEX messages_by_group_sequence
    ON messages (queue, group_id, sequence)
    WHERE group_id IS NOT NULL;

-- Retention (expire_messages) and the oldest message of a queue.
CREATE INDEX messages_by_sent ON messages (queue, sent_at);

-- Deduplication records: the first message sent with a deduplication id, until expires_at. They
-- outlive their message; purge drops a queue's records, retention drops expired ones.
CREATE TABLE message_dedup (
    queue      TEXT    NOT NULL,
    dedup_id   TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    sequence   INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (queue, dedup_id)
) WITHOUT ROWID;

CREATE INDEX message_dedup_by_expiry ON message_dedup (queue, expires_at);
