-- fairdraw schema, version 2 (PostgreSQL): the job queue. Keep in step with
-- migrations/sqlite/0002_jobs.sql.
--
-- A job is claimed by a worker with a lease: `state = 'running'`, a fresh
-- random `lease_token` and `locked_until`. Every later write of the worker
-- (complete, fail, snooze, release, extend) names the token, so a worker
-- whose lease expired and was taken over cannot write any more. A running
-- job whose lease has expired is claimable again (its worker died).
CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    draw_id       TEXT REFERENCES draws (id),
    kind          TEXT NOT NULL CHECK (kind IN ('import_source', 'poll_beacon', 'execute_draw', 'deliver_webhook')),
    payload       TEXT NOT NULL,
    -- At most one job per key (`poll_beacon:<draw id>`): enqueueing twice is a no-op.
    dedupe_key    TEXT UNIQUE,
    state         TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    run_at        BIGINT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    max_attempts  BIGINT NOT NULL CHECK (max_attempts >= 1),
    lease_token   TEXT,
    locked_by     TEXT,
    locked_until  BIGINT,
    last_error    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    finished_at   BIGINT,
    CHECK ((state = 'running') = (lease_token IS NOT NULL AND locked_until IS NOT NULL))
);
-- What the workers scan: queued jobs by due time, running ones by lease end.
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_lease ON jobs (state, locked_until);
-- The API's listing, per organisation.
CREATE INDEX jobs_org ON jobs (org_id, state, created_at, id);
CREATE INDEX jobs_org_created ON jobs (org_id, created_at, id);
CREATE INDEX jobs_draw ON jobs (draw_id, created_at);
