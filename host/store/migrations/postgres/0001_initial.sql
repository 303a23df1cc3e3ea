-- fairdraw schema, version 1 (PostgreSQL). Keep in step with
-- migrations/sqlite/0001_initial.sql: same tables, columns and constraints.
-- Times are Unix milliseconds (BIGINT); ids are opaque text.

-- An organisation owns every private resource.
CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- API keys: only the SHA-256 of the secret is stored.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    key_hash    BYTEA NOT NULL UNIQUE,
    scope       TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    label       TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX api_keys_org ON api_keys (org_id, created_at);

-- Ed25519 signing keys, the secret encrypted under FAIRDRAW_MASTER_KEY.
-- A rotation closes the active key (valid_until) and opens a new one; at most
-- one key per organisation is active.
CREATE TABLE signing_keys (
    key_id            TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organizations (id),
    public_key        BYTEA NOT NULL,
    encrypted_secret  BYTEA NOT NULL,
    valid_from        BIGINT NOT NULL,
    valid_until       BIGINT
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (org_id) WHERE valid_until IS NULL;

-- Draws and their life cycle: draft -> locked -> executed, or cancelled
-- (before lock) or failed (after lock).
CREATE TABLE draws (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES organizations (id),
    title               TEXT NOT NULL,
    rules               TEXT NOT NULL,
    randomness          TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('draft', 'locked', 'executed', 'cancelled', 'failed')),
    entry_count         BIGINT NOT NULL DEFAULT 0,
    eligible            BIGINT,
    total_tickets       BIGINT,
    lock_hash           TEXT,
    signing_key_id      TEXT REFERENCES signing_keys (key_id),
    declared            TEXT,
    earliest_execution  BIGINT,
    failure             TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    locked_at           BIGINT,
    executed_at         BIGINT,
    CHECK ((state = 'draft' OR state = 'cancelled') = (lock_hash IS NULL) OR state = 'failed')
);
CREATE INDEX draws_org_created ON draws (org_id, created_at, id);
CREATE INDEX draws_org_state ON draws (org_id, state, created_at, id);
-- The next issue's scheduler picks locked draws whose randomness is due.
CREATE INDEX draws_due ON draws (state, earliest_execution);

-- Exactly one lock per draw: the primary key.
CREATE TABLE draw_locks (
    draw_id     TEXT PRIMARY KEY REFERENCES draws (id),
    lock_hash   TEXT NOT NULL,
    lock_file   BYTEA NOT NULL,
    secret      BYTEA,
    created_at  BIGINT NOT NULL
);

-- Exactly one execution per draw: the primary key, and it needs a lock.
CREATE TABLE draw_executions (
    draw_id        TEXT PRIMARY KEY REFERENCES draw_locks (draw_id),
    bundle         BYTEA NOT NULL,
    bundle_sha256  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

-- One row per accepted upload (or plugin import page): a repeated upload of
-- the same body to the same collection is recognised by its SHA-256.
CREATE TABLE entry_uploads (
    draw_id      TEXT NOT NULL REFERENCES draws (id),
    collection   TEXT NOT NULL,
    body_sha256  TEXT NOT NULL,
    source       TEXT NOT NULL DEFAULT 'upload',
    first_seq    BIGINT NOT NULL,
    entries      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (draw_id, collection, body_sha256)
);

-- Entries in upload order (seq), per draw; the JSON is the engine's entry
-- without its collection field.
CREATE TABLE entries (
    draw_id     TEXT NOT NULL REFERENCES draws (id),
    seq         BIGINT NOT NULL,
    collection  TEXT NOT NULL,
    handle      TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    entry       TEXT NOT NULL,
    PRIMARY KEY (draw_id, seq)
);
CREATE INDEX entries_collection ON entries (draw_id, collection, seq);

-- Why the rules excluded an entry, written by the lock.
CREATE TABLE entry_exclusions (
    draw_id  TEXT NOT NULL,
    seq      BIGINT NOT NULL,
    rule     TEXT NOT NULL,
    reason   TEXT NOT NULL,
    PRIMARY KEY (draw_id, seq),
    FOREIGN KEY (draw_id, seq) REFERENCES entries (draw_id, seq)
);

-- Idempotency-Key records: the first request claims the key (status NULL),
-- then stores its response for 24 hours.
CREATE TABLE idempotency_keys (
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    key             TEXT NOT NULL,
    request_sha256  TEXT NOT NULL,
    status          BIGINT,
    content_type    TEXT,
    response        BYTEA,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (org_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
