-- Users, accounts, transfers and their entries (SQLite).
-- Idempotency keys live in svckit's table, created by idempotency.SQL.Migrate.
CREATE TABLE IF NOT EXISTS users (
	id            TEXT PRIMARY KEY,
	email         TEXT NOT NULL,
	email_lower   TEXT NOT NULL,
	name          TEXT NOT NULL,
	roles         TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL,
	created_at    DATETIME NOT NULL,
	updated_at    DATETIME NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email_lower ON users (email_lower);
CREATE INDEX IF NOT EXISTS users_created_at ON users (created_at, id);

CREATE TABLE IF NOT EXISTS accounts (
	id         TEXT PRIMARY KEY,
	owner_id   TEXT NOT NULL REFERENCES users (id),
	currency   TEXT NOT NULL,
	balance    INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL
);
CREATE INDEX IF NOT EXISTS accounts_owner ON accounts (owner_id);

CREATE TABLE IF NOT EXISTS transfers (
	id              TEXT PRIMARY KEY,
	from_account_id TEXT NOT NULL REFERENCES accounts (id),
	to_account_id   TEXT NOT NULL REFERENCES accounts (id),
	amount          INTEGER NOT NULL CHECK (amount > 0),
	created_at      DATETIME NOT NULL
);
CREATE INDEX IF NOT EXISTS transfers_from ON transfers (from_account_id, created_at, id);
CREATE INDEX IF NOT EXISTS transfers_to ON transfers (to_account_id, created_at, id);

-- One entry per account a transfer touches (double entry), so an account's
-- transfers page by (account_id, created_at, id) in either direction.
CREATE TABLE IF NOT EXISTS transfer_entries (
	id          TEXT PRIMARY KEY,
	account_id  TEXT NOT NULL REFERENCES accounts (id),
	transfer_id TEXT NOT NULL REFERENCES transfers (id),
	amount      INTEGER NOT NULL,
	created_at  DATETIME NOT NULL
);
CREATE INDEX IF NOT EXISTS transfer_entries_account ON transfer_entries (account_id, created_at, id);
