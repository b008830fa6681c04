CREATE TABLE IF NOT EXISTS svckit_refresh_families (
    family_id  VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    subject    VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    expires_at BIGINT       NOT NULL,
    rotations  BIGINT       NOT NULL DEFAULT 0,
    revoked_at BIGINT       NULL,
    created_at BIGINT       NOT NULL,
    INDEX svckit_refresh_families_subject (subject)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS svckit_refresh_tokens (
    jti_hash    CHAR(64)    CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    family_id   VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    parent_hash CHAR(64)    CHARACTER SET ascii COLLATE ascii_bin NULL,
    expires_at  BIGINT      NOT NULL,
    used_at     BIGINT      NULL,
    created_at  BIGINT      NOT NULL,
    INDEX svckit_refresh_tokens_family (family_id),
    INDEX svckit_refresh_tokens_parent (parent_hash),
    INDEX svckit_refresh_tokens_expires (expires_at),
    CONSTRAINT svckit_refresh_tokens_family_fk FOREIGN KEY (family_id)
        REFERENCES svckit_refresh_families (family_id) ON DELETE CASCADE
) ENGINE=InnoDB;
