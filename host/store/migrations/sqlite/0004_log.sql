-- fairdraw schema, version 4 (SQLite): the transparency log (issue 14).
-- Keep in step with migrations/postgres/0004_log.sql. (0003 is the
-- webhooks migration of another branch.)
--
-- Every lock and execution receipt the server signs is queued here in the
-- transaction that stores it (`idx IS NULL`); the sequencer, one at a time
-- across replicas by the lease in `log_sequencer`, gives queued entries
-- their index gap-free (`MAX(idx) + 1`, in queue order), stores the new
-- complete tree nodes and signs a checkpoint, all in one transaction.
CREATE TABLE log_entries (
    -- Queue order.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The leaf index, once sequenced.
    idx           INTEGER UNIQUE CHECK (idx >= 0),
    -- The entry bytes (JCS of engine `log::entry::LogEntry`) and their
    -- RFC 6962 leaf hash.
    entry         BLOB NOT NULL,
    leaf_hash     BLOB NOT NULL CHECK (length(leaf_hash) = 32),
    draw_id       TEXT NOT NULL REFERENCES draws (id),
    kind          TEXT NOT NULL CHECK (kind IN ('lock', 'execution')),
    created_at    INTEGER NOT NULL,
    sequenced_at  INTEGER,
    CHECK ((idx IS NULL) = (sequenced_at IS NULL))
);
-- What the sequencer scans.
CREATE INDEX log_entries_pending ON log_entries (id) WHERE idx IS NULL;
-- A draw's log proofs.
CREATE INDEX log_entries_draw ON log_entries (draw_id, kind);

-- Complete tree nodes at the tile levels above the leaves: `level` L is the
-- node of height 8L, `n` its index at that height (the tlog-tiles hash tile
-- L/floor(n/256) holds it at position n mod 256). Written once.
CREATE TABLE log_tree_nodes (
    level  INTEGER NOT NULL CHECK (level >= 1),
    n      INTEGER NOT NULL CHECK (n >= 0),
    hash   BLOB NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, n)
);

-- Signed checkpoints, one per tree size the sequencer reached.
CREATE TABLE log_checkpoints (
    size        INTEGER PRIMARY KEY CHECK (size >= 0),
    root        BLOB NOT NULL CHECK (length(root) = 32),
    -- The signed note (checkpoint text and the log's signature line).
    note        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Witness cosignatures (C2SP tlog-cosignature lines) of a checkpoint.
CREATE TABLE log_cosignatures (
    size        INTEGER NOT NULL REFERENCES log_checkpoints (size),
    witness     TEXT NOT NULL,
    line        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (size, witness)
);

-- The log's Ed25519 key, created on first start, encrypted under the
-- master key like the organisations' signing keys.
CREATE TABLE log_keys (
    id                TEXT PRIMARY KEY CHECK (id = 'log'),
    public_key        BLOB NOT NULL,
    encrypted_secret  BLOB NOT NULL,
    created_at        INTEGER NOT NULL
);

-- The sequencer's lease: one row; a replica sequences only while its token
-- is here and `locked_until` is in the future, and every sequencing
-- transaction starts by re-checking (and extending) it.
CREATE TABLE log_sequencer (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    holder        TEXT,
    lease_token   TEXT,
    locked_until  INTEGER
);
INSERT INTO log_sequencer (id) VALUES (1);
