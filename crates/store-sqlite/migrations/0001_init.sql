-- weir SQLite schema, version 1.
--
-- Timestamps are INTEGER microseconds since the Unix epoch (UTC). Counters (revisions, versions,
-- event ids, claims) are INTEGER and never negative. JSON documents are TEXT, stored as given.

-- A state machine that exists: its ARN and its latest revision. Deleting a machine deletes this
-- row only; its revisions stay for the executions that run them.
CREATE TABLE state_machines (
    arn      TEXT    NOT NULL PRIMARY KEY,
    revision INTEGER NOT NULL
) WITHOUT ROWID;

-- Every revision of every state machine, whole and immutable: what get_revision returns, even
-- after the machine was updated or deleted.
CREATE TABLE state_machine_revisions (
    arn        TEXT    NOT NULL,
    revision   INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    role_arn   TEXT    NOT NULL,
    definition TEXT    NOT NULL,
    config     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (arn, revision)
);

-- One row per execution. The snapshot comes last: it can be large, and listings never read it.
CREATE TABLE executions (
    arn               TEXT    NOT NULL PRIMARY KEY,
    state_machine_arn TEXT    NOT NULL,
    revision          INTEGER NOT NULL,
    name              TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    input             TEXT    NOT NULL,
    output            TEXT,
    error             TEXT,
    cause             TEXT,
    start_date        INTEGER NOT NULL,
    stop_date         INTEGER,
    redrive_count     INTEGER NOT NULL,
    redrive_date      INTEGER,
    last_event_id     INTEGER NOT NULL,
    version           INTEGER NOT NULL,
    snapshot          TEXT    NOT NULL
);

-- Listings run newest first: all executions, one machine's, or one status's.
CREATE INDEX executions_by_start ON executions (start_date DESC, arn DESC);
CREATE INDEX executions_by_machine ON executions (state_machine_arn, start_date DESC, arn DESC);
CREATE INDEX executions_by_status ON executions (status, start_date DESC, arn DESC);

-- History events, clustered by execution and id (WITHOUT ROWID): reading a history is one range
-- scan, appending one is one b-tree insert.
CREATE TABLE history (
    execution_arn TEXT    NOT NULL,
    id            INTEGER NOT NULL,
    event_type    TEXT    NOT NULL,
    timestamp     INTEGER NOT NULL,
    body          TEXT    NOT NULL,
    PRIMARY KEY (execution_arn, id)
) WITHOUT ROWID;

-- Work still to be done. owner and lease_until are NULL until the first claim; claims counts the
-- claims so far.
CREATE TABLE work (
    id            TEXT    NOT NULL PRIMARY KEY,
    execution_arn TEXT    NOT NULL,
    due           INTEGER NOT NULL,
    payload       TEXT    NOT NULL,
    owner         TEXT,
    lease_until   INTEGER,
    claims        INTEGER NOT NULL DEFAULT 0
);

-- Claims scan in due order; clear_work deletes by execution.
CREATE INDEX work_by_due ON work (due, id);
CREATE INDEX work_by_execution ON work (execution_arn);
