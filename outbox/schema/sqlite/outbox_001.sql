-- svckit outbox (SQLite). Times are Unix microseconds. A row is pending
-- while published_at is NULL. SQLite has one writer: one relay at a time
-- holds the lease "relay" in svckit_outbox_leases.
CREATE TABLE IF NOT EXISTS svckit_outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    event_key    TEXT    NOT NULL,
    part         INTEGER NOT NULL,
    payload      BLOB    NOT NULL,
    headers      BLOB    NULL,
    created_at   INTEGER NOT NULL,
    published_at INTEGER NULL
);
CREATE INDEX IF NOT EXISTS svckit_outbox_pending ON svckit_outbox (seq) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS svckit_outbox_published ON svckit_outbox (published_at) WHERE published_at IS NOT NULL;
-- Leases: the one publishing relay ("relay"), the one active subscription
-- of a consumer (name "consumer.<name>").
CREATE TABLE IF NOT EXISTS svckit_outbox_leases (
    name       TEXT    PRIMARY KEY,
    owner      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
-- The inbox: one row per event a consumer applied, written in the
-- handler's transaction.
CREATE TABLE IF NOT EXISTS svckit_outbox_inbox (
    consumer   TEXT    NOT NULL,
    event_id   TEXT    NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX IF NOT EXISTS svckit_outbox_inbox_applied_at ON svckit_outbox_inbox (applied_at);
