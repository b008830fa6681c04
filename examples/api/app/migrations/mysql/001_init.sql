-- Users, accounts, transfers and their entries (MySQL 8 / MariaDB 10.5+).
-- Idempotency keys live in svckit's table, created by idempotency.SQL.Migrate.
CREATE TABLE IF NOT EXISTS users (
	id            VARCHAR(40) NOT NULL PRIMARY KEY,
	email         VARCHAR(254) NOT NULL,
	email_lower   VARCHAR(254) NOT NULL,
	name          VARCHAR(400) NOT NULL,
	roles         VARCHAR(200) NOT NULL DEFAULT '',
	password_hash VARCHAR(255) NOT NULL,
	created_at    DATETIME(6) NOT NULL,
	updated_at    DATETIME(6) NOT NULL,
	UNIQUE KEY users_email_lower (email_lower),
	KEY users_created_at (created_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS accounts (
	id         VARCHAR(40) NOT NULL PRIMARY KEY,
	owner_id   VARCHAR(40) NOT NULL,
	currency   CHAR(3) NOT NULL,
	balance    BIGINT NOT NULL DEFAULT 0,
	created_at DATETIME(6) NOT NULL,
	updated_at DATETIME(6) NOT NULL,
	CONSTRAINT accounts_balance_not_negative CHECK (balance >= 0),
	KEY accounts_owner (owner_id),
	CONSTRAINT accounts_owner_fk FOREIGN KEY (owner_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS transfers (
	id              VARCHAR(40) NOT NULL PRIMARY KEY,
	from_account_id VARCHAR(40) NOT NULL,
	to_account_id   VARCHAR(40) NOT NULL,
	amount          BIGINT NOT NULL,
	created_at      DATETIME(6) NOT NULL,
	CONSTRAINT transfers_amount_positive CHECK (amount > 0),
	KEY transfers_from (from_account_id, created_at, id),
	KEY transfers_to (to_account_id, created_at, id),
	CONSTRAINT transfers_from_fk FOREIGN KEY (from_account_id) REFERENCES accounts (id),
	CONSTRAINT transfers_to_fk FOREIGN KEY (to_account_id) REFERENCES accounts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One entry per account a transfer touches (double entry), so an account's
-- transfers page by (account_id, created_at, id) in either direction.
CREATE TABLE IF NOT EXISTS transfer_entries (
	id          VARCHAR(40) NOT NULL PRIMARY KEY,
	account_id  VARCHAR(40) NOT NULL,
	transfer_id VARCHAR(40) NOT NULL,
	amount      BIGINT NOT NULL,
	created_at  DATETIME(6) NOT NULL,
	KEY transfer_entries_account (account_id, created_at, id),
	CONSTRAINT transfer_entries_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id),
	CONSTRAINT transfer_entries_transfer_fk FOREIGN KEY (transfer_id) REFERENCES transfers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
