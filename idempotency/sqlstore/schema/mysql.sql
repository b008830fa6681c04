-- Idempotency keys (MySQL 8 / MariaDB 10.5+). Binary columns compare byte for
-- byte: no collation folds case or pads spaces. created_at is in Unix
-- microseconds; status is 0 while the request that claimed the key runs.
CREATE TABLE IF NOT EXISTS svckit_idempotency_keys (
    scope       VARBINARY(255) NOT NULL,
    idem_key    VARBINARY(255) NOT NULL,
    fingerprint VARBINARY(255) NOT NULL,
    status      INT            NOT NULL,
    body        LONGBLOB       NULL,
    created_at  BIGINT         NOT NULL,
    PRIMARY KEY (scope, idem_key),
    INDEX svckit_idempotency_keys_created_at (created_at)
) ENGINE=InnoDB;
