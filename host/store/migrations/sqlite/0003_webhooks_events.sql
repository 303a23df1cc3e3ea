-- fairdraw schema, version 3 (SQLite): draw events, webhook endpoints and
-- their deliveries. Keep in step with migrations/postgres/0003_webhooks_events.sql.
--
-- Every state change of a draw (lock, the countdown to its round, the
-- beacon, execution, automatic execution giving up) appends one row to
-- `draw_events` in the transaction that makes the change. Rows are
-- numbered per draw (`n` = 1, 2, …) by bumping `draws.event_count` in that
-- transaction, which holds the draw's row lock until commit: a draw's
-- events commit in the order of their numbers, so a reader that has seen
-- event n never misses a later-committed event with a smaller number.
ALTER TABLE draws ADD COLUMN event_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE draw_events (
    id          TEXT PRIMARY KEY,
    draw_id     TEXT NOT NULL REFERENCES draws (id),
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    n           INTEGER NOT NULL,
    type        TEXT NOT NULL,
    data        TEXT NOT NULL,
    -- One event per state change (`draw.locked:<draw id>`): a retried
    -- change records, and delivers, nothing twice.
    dedupe_key  TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    UNIQUE (draw_id, n)
);

-- An organisation's webhook endpoints. The secret is sealed under the
-- master key (like signing keys), bound to the endpoint's id. A deleted
-- endpoint keeps its row (its deliveries refer to it) and gets nothing new.
CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    url         TEXT NOT NULL,
    -- Space-separated event types.
    events      TEXT NOT NULL,
    secret      BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    deleted_at  INTEGER
);
CREATE INDEX webhooks_org ON webhooks (org_id, created_at, id);

-- One message per endpoint and event (its id is the `webhook-id` header,
-- the same on every attempt), delivered by a `deliver_webhook` job.
CREATE TABLE webhook_deliveries (
    id            TEXT PRIMARY KEY,
    webhook_id    TEXT NOT NULL REFERENCES webhooks (id),
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    event_id      TEXT NOT NULL REFERENCES draw_events (id),
    event_type    TEXT NOT NULL,
    -- The exact body sent (and signed) on every attempt.
    payload       TEXT NOT NULL,
    job_id        TEXT NOT NULL REFERENCES jobs (id),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_status   INTEGER,
    last_error    TEXT,
    delivered_at  INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at, id);

-- Every attempt of a delivery: the status (none when no response came) and
-- the error.
CREATE TABLE webhook_attempts (
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries (id),
    n            INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL,
    status       INTEGER,
    error        TEXT,
    PRIMARY KEY (delivery_id, n)
);
