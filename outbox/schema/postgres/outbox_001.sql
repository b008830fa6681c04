-- svckit outbox (PostgreSQL). Times are Unix microseconds. A row is pending
-- while published_at is NULL; part is the ordering key's partition, which
-- one relay at a time holds (svckit_outbox_parts, FOR UPDATE SKIP LOCKED).
CREATE TABLE IF NOT EXISTS svckit_outbox (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT     NOT NULL,
    type         TEXT     NOT NULL,
    event_key    TEXT     NOT NULL,
    part         SMALLINT NOT NULL,
    payload      BYTEA    NOT NULL,
    headers      BYTEA    NULL,
    created_at   BIGINT   NOT NULL,
    published_at BIGINT   NULL
);
CREATE INDEX IF NOT EXISTS svckit_outbox_pending ON svckit_outbox (seq) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS svckit_outbox_published ON svckit_outbox (published_at) WHERE published_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS svckit_outbox_parts (
    part       SMALLINT PRIMARY KEY,
    owner      TEXT     NOT NULL DEFAULT '',
    expires_at BIGINT   NOT NULL DEFAULT 0
);
INSERT INTO svckit_outbox_parts (part) SELECT generate_series(0, 31) ON CONFLICT DO NOTHING;
-- Leases: the one active subscription of a consumer (name
-- "consumer.<name>").
CREATE TABLE IF NOT EXISTS svckit_outbox_leases (
    name       TEXT   PRIMARY KEY,
    owner      TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
-- The inbox: one row per event a consumer applied, written in the
-- handler's transaction.
CREATE TABLE IF NOT EXISTS svckit_outbox_inbox (
    consumer   TEXT   NOT NULL,
    event_id   TEXT   NOT NULL,
    applied_at BIGINT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX IF NOT EXISTS svckit_outbox_inbox_applied_at ON svckit_outbox_inbox (applied_at);
