CREATE TABLE IF NOT EXISTS svckit_refresh_families (
    family_id  VARCHAR(64)  PRIMARY KEY,
    subject    VARCHAR(255) NOT NULL,
    expires_at BIGINT       NOT NULL,
    rotations  BIGINT       NOT NULL DEFAULT 0,
    revoked_at BIGINT       NULL,
    created_at BIGINT       NOT NULL
);
CREATE INDEX IF NOT EXISTS svckit_refresh_families_subject ON svckit_refresh_families (subject);
CREATE TABLE IF NOT EXISTS svckit_refresh_tokens (
    jti_hash    CHAR(64)    PRIMARY KEY,
    family_id   VARCHAR(64) NOT NULL REFERENCES svckit_refresh_families (family_id) ON DELETE CASCADE,
    parent_hash CHAR(64)    NULL,
    expires_at  BIGINT      NOT NULL,
    used_at     BIGINT      NULL,
    created_at  BIGINT      NOT NULL
);
CREATE INDEX IF NOT EXISTS svckit_refresh_tokens_family ON svckit_refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS svckit_refresh_tokens_parent ON svckit_refresh_tokens (parent_hash);
CREATE INDEX IF NOT EXISTS svckit_refresh_tokens_expires ON svckit_refresh_tokens (expires_at);
