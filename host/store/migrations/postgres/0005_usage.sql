-- fairdraw schema, version 5 (PostgreSQL): usage counters and quotas per
-- organisation (issue 9, "Usage and analytics"). Keep in step with
-- migrations/sqlite/0005_usage.sql.
--
-- One row per organisation, created by the first counted effect (or by
-- `fairdraw admin set-quota`). Each counter is bumped in the transaction of
-- its effect by a conditional `UPDATE … WHERE quota IS NULL OR used + n <=
-- quota`: the row lock (PostgreSQL) or the write lock (SQLite) serialises
-- concurrent requests, so a quota is never crossed and a refused request
-- rolls back whole. A quota below the usage is allowed (it refuses what
-- comes next); NULL means no quota.
CREATE TABLE org_usage (
    org_id                TEXT PRIMARY KEY REFERENCES organizations (id),
    -- Draws created.
    draws                 BIGINT NOT NULL DEFAULT 0 CHECK (draws >= 0),
    -- Entries imported (accepted uploads; a repeated upload adds nothing).
    entries               BIGINT NOT NULL DEFAULT 0 CHECK (entries >= 0),
    -- Draws executed.
    executions            BIGINT NOT NULL DEFAULT 0 CHECK (executions >= 0),
    -- Sum over executed draws of (executed_at - locked_at), milliseconds:
    -- the mean time from lock to execution is this over `executions`.
    lock_to_execution_ms  BIGINT NOT NULL DEFAULT 0,
    draws_quota           BIGINT CHECK (draws_quota >= 0),
    entries_quota         BIGINT CHECK (entries_quota >= 0),
    executions_quota      BIGINT CHECK (executions_quota >= 0),
    updated_at            BIGINT NOT NULL DEFAULT 0
);

-- Existing organisations start from what they already did.
INSERT INTO org_usage (org_id, draws, entries, executions, lock_to_execution_ms)
SELECT o.id,
    (SELECT COUNT(*) FROM draws d WHERE d.org_id = o.id),
    (SELECT COALESCE(SUM(d.entry_count), 0)::BIGINT FROM draws d WHERE d.org_id = o.id),
    (SELECT COUNT(*) FROM draws d WHERE d.org_id = o.id AND d.state = 'executed'),
    (SELECT COALESCE(SUM(d.executed_at - d.locked_at), 0)::BIGINT FROM draws d
        WHERE d.org_id = o.id AND d.state = 'executed')
FROM organizations o;
