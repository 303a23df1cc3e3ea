-- fairdraw schema, version 6 (PostgreSQL): each organisation's draw sequence
-- number (issue 14). Keep in step with migrations/sqlite/0006_draw_sequence.sql.
--
-- A lock takes the next number in its claim transaction (`UPDATE …
-- RETURNING`), so numbers are gap-free and a lock that fails takes none;
-- it is signed into the lock receipt and logged with it, so a monitor of
-- the transparency log sees a number that never appeared (a draw locked
-- and hidden). Draws locked before this migration carry no number; the
-- first lock after it is 1.
ALTER TABLE organizations ADD COLUMN draw_sequence BIGINT NOT NULL DEFAULT 0 CHECK (draw_sequence >= 0);
