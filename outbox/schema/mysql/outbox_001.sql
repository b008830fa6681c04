-- svckit outbox (MySQL 8 / MariaDB 10.6+). Times are Unix microseconds. A
-- row is pending while published_at is NULL; part is the ordering key's
-- partition, which one relay at a time holds (svckit_outbox_parts, FOR
-- UPDATE SKIP LOCKED). Binary key columns compare byte for byte.
CREATE TABLE IF NOT EXISTS svckit_outbox (
    seq          BIGINT         NOT NULL AUTO_INCREMENT PRIMARY KEY,
    id           VARCHAR(36)    NOT NULL,
    type         VARCHAR(128)   NOT NULL,
    event_key    VARBINARY(255) NOT NULL,
    part         SMALLINT       NOT NULL,
    payload      LONGBLOB       NOT NULL,
    headers      BLOB           NULL,
    created_at   BIGINT         NOT NULL,
    published_at BIGINT         NULL,
    INDEX svckit_outbox_pending (published_at, seq)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS svckit_outbox_parts (
    part       SMALLINT       NOT NULL PRIMARY KEY,
    owner      VARBINARY(64)  NOT NULL DEFAULT '',
    expires_at BIGINT         NOT NULL DEFAULT 0
) ENGINE=InnoDB;
INSERT IGNORE INTO svckit_outbox_parts (part) VALUES
    (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15),
    (16), (17), (18), (19), (20), (21), (22), (23), (24), (25), (26), (27), (28), (29), (30), (31);
-- Leases: the one active subscription of a consumer (name
-- "consumer.<name>").
CREATE TABLE IF NOT EXISTS svckit_outbox_leases (
    name       VARBINARY(128) NOT NULL PRIMARY KEY,
    owner      VARBINARY(64)  NOT NULL,
    expires_at BIGINT         NOT NULL
) ENGINE=InnoDB;
-- The inbox: one row per event a consumer applied, written in the
-- handler's transaction.
CREATE TABLE IF NOT EXISTS svckit_outbox_inbox (
    consumer   VARBINARY(128) NOT NULL,
    event_id   VARCHAR(36)    NOT NULL,
    applied_at BIGINT         NOT NULL,
    PRIMARY KEY (consumer, event_id),
    INDEX svckit_outbox_inbox_applied_at (applied_at)
) ENGINE=InnoDB;
