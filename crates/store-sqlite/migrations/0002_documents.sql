-- weir SQLite schema, version 2: documents, small versioned JSON records the engine owns
-- (published state machine versions, aliases, tag sets), keyed by kind and key.
CREATE TABLE documents (
    kind    TEXT    NOT NULL,
    key     TEXT    NOT NULL,
    body    TEXT    NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
