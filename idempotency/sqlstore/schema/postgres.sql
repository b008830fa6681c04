-- Idempotency keys (PostgreSQL). created_at is in Unix microseconds; status
-- is 0 while the request that claimed the key runs.
CREATE TABLE IF NOT EXISTS svckit_idempotency_keys (
    scope       TEXT    NOT NULL,
    idem_key    TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    body        BYTEA   NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX IF NOT EXISTS svckit_idempotency_keys_created_at ON svckit_idempotency_keys (created_at);
