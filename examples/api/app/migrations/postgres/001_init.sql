-- Users, accounts, transfers and their entries (PostgreSQL).
-- Idempotency keys live in svckit's table, created by idempotency.SQL.Migrate.
CREATE TABLE IF NOT EXISTS users (
	id            VARCHAR(40) PRIMARY KEY,
	email         VARCHAR(254) NOT NULL,
	email_lower   VARCHAR(254) COLLATE "C" NOT NULL,
	name          VARCHAR(400) NOT NULL,
	roles         VARCHAR(200) NOT NULL DEFAULT '',
	password_hash VARCHAR(255) NOT NULL,
	created_at    TIMESTAMPTZ NOT NULL,
	updated_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email_lower ON users (email_lower);
CREATE INDEX IF NOT EXISTS users_created_at ON users (created_at, id);

CREATE TABLE IF NOT EXISTS accounts (
	id         VARCHAR(40) PRIMARY KEY,
	owner_id   VARCHAR(40) NOT NULL REFERENCES users (id),
	currency   CHAR(3) NOT NULL,
	balance    BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS accounts_owner ON accounts (owner_id);

CREATE TABLE IF NOT EXISTS transfers (
	id              VARCHAR(40) PRIMARY KEY,
	from_account_id VARCHAR(40) NOT NULL REFERENCES accounts (id),
	to_account_id   VARCHAR(40) NOT NULL REFERENCES accounts (id),
	amount          BIGINT NOT NULL CHECK (amount > 0),
	created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS transfers_from ON transfers (from_account_id, created_at, id);
CREATE INDEX IF NOT EXISTS transfers_to ON transfers (to_account_id, created_at, id);

-- One entry per account a transfer touches (double entry), so an account's
-- transfers page by (account_id, created_at, id) in either direction.
CREATE TABLE IF NOT EXISTS transfer_entries (
	id          VARCHAR(40) PRIMARY KEY,
	account_id  VARCHAR(40) NOT NULL REFERENCES accounts (id),
	transfer_id VARCHAR(40) NOT NULL REFERENCES transfers (id),
	amount      BIGINT NOT NULL,
	created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS transfer_entries_account ON transfer_entries (account_id, created_at, id);
