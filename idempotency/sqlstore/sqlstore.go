// Package sqlstore is an idempotency.Store in one table on PostgreSQL,
// SQLite or MySQL/MariaDB, on the same *sql.DB as the work it guards:
//
//	store := sqlstore.New(db, dialect.Postgres, sqlstore.Options{})
//	if err := store.Migrate(ctx); err != nil { ... }
//	out, replayed, err := idempotency.Do(ctx, store, k, fp, work)
//
// A claim is a row inserted in the caller's transaction, so it commits or
// rolls back with the work; a concurrent claim of the same key waits for
// that transaction's row lock (the writer lock on SQLite). Migrate creates
// the table from an embedded schema, one file per dialect (Schema returns
// them, for those who run migrations with their own tool), and records it
// in svckit_schema_migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/idempotency"
	"github.com/svckit/svckit/migrate"
	"github.com/svckit/svckit/txn"
)

//go:embed schema/*.sql
var schemas embed.FS

// DefaultTable is the table a Store uses when Options.Table is empty.
const DefaultTable = "svckit_idempotency_keys"

// maxTableLen keeps "<table>_created_at" within PostgreSQL's 63 bytes.
const maxTableLen = 48

// Options configure New. The zero value uses DefaultTable and time.Now.
type Options struct {
	// Table is the SQL table: a letter or underscore, then letters, digits
	// and underscores, at most 48 bytes, unquoted. Empty means
	// DefaultTable.
	Table string
	// Now stamps claims with their creation time, which DeleteBefore
	// compares with. Nil means time.Now.
	Now func() time.Time
}

// Schema returns the store's schema files, one per dialect: postgres.sql,
// sqlite.sql and mysql.sql. Migrate runs the one of its dialect; users who
// keep their migrations in a tool of their own give it these instead.
// They create DefaultTable: for a Store with another Options.Table,
// replace that name in them (the index's name starts with it too).
func Schema() fs.FS {
	sub, err := fs.Sub(schemas, "schema")
	if err != nil { // a constant path: a build defect
		panic("sqlstore: " + err.Error())
	}
	return sub
}

// Store is an idempotency.Store in one table on PostgreSQL, SQLite or
// MySQL/MariaDB. Build it with New on the *sql.DB your work uses, and
// create the table with Migrate (or your own migrations, from Schema).
//
// Claim, Finish and Load run on the transaction the context carries for
// that database (txn.From), or on the pool outside one. On SQLite, open
// the database with _txlock=immediate (as svckit's examples do) so that
// racing transactions queue for the write lock from their BEGIN; deferred
// transactions may fail with SQLITE_BUSY instead, which txn.Do retries.
//
// The zero Store is not usable. A Store is safe for concurrent use; it
// does not own db: close db yourself.
type Store struct {
	db    *sql.DB
	d     dialect.Dialect
	table string
	now   func() time.Time

	claim, finish, load, deleteBefore string
}

var _ idempotency.Store = (*Store)(nil)

// New returns a Store on db speaking dialect d. It panics if db is nil,
// d is not valid or opts.Table is not a plain identifier.
func New(db *sql.DB, d dialect.Dialect, opts Options) *Store {
	if db == nil || !d.Valid() {
		panic("sqlstore: New needs a *sql.DB and a valid dialect.Dialect")
	}
	table := opts.Table
	if table == "" {
		table = DefaultTable
	}
	if !plainIdent(table) {
		panic(fmt.Sprintf("sqlstore: table name %q is not a plain identifier of at most %d bytes", table, maxTableLen))
	}
	b := func(q string) string { return d.Rebind(strings.ReplaceAll(q, "$table", table)) }
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{
		db: db, d: d, table: table, now: now,
		claim:        b(`INSERT INTO $table (scope, idem_key, fingerprint, status, created_at) VALUES (?, ?, ?, 0, ?)`),
		finish:       b(`UPDATE $table SET status = ?, body = ? WHERE scope = ? AND idem_key = ? AND status = 0`),
		load:         b(`SELECT fingerprint, status, body, created_at FROM $table WHERE scope = ? AND idem_key = ?`),
		deleteBefore: b(`DELETE FROM $table WHERE created_at < ?`),
	}
}

// plainIdent reports whether s is [A-Za-z_][A-Za-z0-9_]* of at most
// maxTableLen bytes: safe unquoted in every dialect.
func plainIdent(s string) bool {
	if s == "" || len(s) > maxTableLen {
		return false
	}
	for i := range len(s) {
		c := s[i]
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// statements reads the embedded schema of s's dialect, for s's table,
// without comments, one statement per element.
func (s *Store) statements() []string {
	body, err := schemas.ReadFile("schema/" + s.d.String() + ".sql")
	if err != nil { // every valid dialect has a file: a build defect
		panic("sqlstore: no schema for " + s.d.String())
	}
	out := migrate.Statements(string(body))
	for i, stmt := range out {
		out[i] = strings.ReplaceAll(stmt, DefaultTable, s.table)
	}
	return out
}

// Migrate creates the table and its index unless svckit_schema_migrations
// records them (version "idempotency_001_" and the table's name). It is safe
// to run at every start, from many instances at once: they take a lock
// shared by every svckit migration (a PostgreSQL advisory lock, MySQL's
// GET_LOCK, SQLite's write lock) and the schema is applied once.
func (s *Store) Migrate(ctx context.Context) error {
	m := migrate.Migration{
		Version:    "idempotency_001_" + s.table,
		File:       "idempotency/sqlstore/schema/" + s.d.String() + ".sql",
		Statements: s.statements(),
	}
	if err := migrate.Run(ctx, s.db, s.d, "svckit_schema_migrations", []migrate.Migration{m}); err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", s.table, err)
	}
	return nil
}

// Atomic runs fn in a transaction on the store's database: txn.Do, which
// joins the transaction ctx carries, if any.
func (s *Store) Atomic(ctx context.Context, fn func(ctx context.Context) error) error {
	return txn.Do(ctx, s.db, fn)
}

// Claim inserts k as pending, with fingerprint and the current time, in the
// transaction ctx carries (or on its own outside one). It returns ErrTaken
// when the key exists: then roll back, and Load the outcome. While another
// transaction holds the same key, the insert waits for it (a row lock on
// PostgreSQL and MySQL, the writer lock on SQLite): if it commits, ErrTaken;
// if it rolls back, the claim succeeds.
func (s *Store) Claim(ctx context.Context, k idempotency.Key, fingerprint string) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if err := idempotency.ValidateFingerprint(fingerprint); err != nil {
		return err
	}
	_, err := txn.From(ctx, s.db).ExecContext(ctx, s.claim, k.Scope, k.Value, fingerprint, s.now().UnixMicro())
	switch {
	case dialect.Classify(err) == dialect.UniqueViolation:
		return idempotency.ErrTaken
	case err != nil:
		return fmt.Errorf("sqlstore: claim: %w", dialect.Wrap(err))
	}
	return nil
}

// Finish records o as the outcome of the pending key k. It returns
// ErrNotPending when k is not claimed or has its outcome already, and an
// error when o is invalid (Status outside 100 to 599, Data not JSON).
func (s *Store) Finish(ctx context.Context, k idempotency.Key, o idempotency.Outcome) error {
	body, err := o.Encode()
	if err != nil {
		return err
	}
	res, err := txn.From(ctx, s.db).ExecContext(ctx, s.finish, o.Status, body, k.Scope, k.Value)
	if err != nil {
		return fmt.Errorf("sqlstore: finish: %w", dialect.Wrap(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: finish: %w", dialect.Wrap(err))
	}
	if n != 1 {
		return idempotency.ErrNotPending
	}
	return nil
}

// Load returns the record of k, read in the transaction ctx carries (or
// on the pool), or ErrNotFound.
func (s *Store) Load(ctx context.Context, k idempotency.Key) (idempotency.Record, error) {
	var (
		r      idempotency.Record
		status int
		body   []byte
		micros int64
	)
	err := txn.From(ctx, s.db).QueryRowContext(ctx, s.load, k.Scope, k.Value).Scan(&r.Fingerprint, &status, &body, &micros)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return idempotency.Record{}, idempotency.ErrNotFound
	case err != nil:
		return idempotency.Record{}, fmt.Errorf("sqlstore: load: %w", dialect.Wrap(err))
	}
	r.CreatedAt = time.UnixMicro(micros)
	if status != 0 {
		if r.Outcome, err = idempotency.DecodeOutcome(status, body); err != nil {
			return idempotency.Record{}, err
		}
	}
	return r, nil
}

// DeleteBefore deletes the keys claimed before t, finished or not, and
// returns how many went. Run it now and then (a ticker you own) with the
// retention you promise clients, such as 24 hours ago.
func (s *Store) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := txn.From(ctx, s.db).ExecContext(ctx, s.deleteBefore, t.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete before: %w", dialect.Wrap(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete before: %w", dialect.Wrap(err))
	}
	return n, nil
}
