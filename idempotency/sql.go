package idempotency

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/migrate"
	"github.com/svckit/svckit/txn"
)

//go:embed schema/*.sql
var schemas embed.FS

// DefaultTable is the table SQL uses when Options.Table is empty.
const DefaultTable = "svckit_idempotency_keys"

// maxTableLen keeps "<table>_created_at" within PostgreSQL's 63 bytes.
const maxTableLen = 48

// Options configure New, NewSQL and NewMemory, each reading its own
// fields. The zero value uses DefaultTable, time.Now and otel's global
// meter provider.
type Options struct {
	// Table is the SQL table: a letter or underscore, then letters, digits
	// and underscores, at most 48 bytes, unquoted. Empty means
	// DefaultTable. Memory ignores it.
	Table string
	// Now stamps claims with their creation time, which DeleteBefore
	// compares with. Nil means time.Now. New ignores it.
	Now func() time.Time
	// MeterProvider receives a Runner's MetricRequests. Nil means otel's
	// global provider. New reads it; the stores ignore it.
	MeterProvider metric.MeterProvider
}

func (o Options) now() func() time.Time {
	if o.Now == nil {
		return time.Now
	}
	return o.Now
}

// SQL is a Store in one table on PostgreSQL, SQLite or MySQL/MariaDB. Build
// it with NewSQL on the *sql.DB your work uses, and create the table with
// Migrate (or your own migrations, from Schema).
//
// Claim, Finish and Load run on the transaction the context carries for
// that database (txn.From), or on the pool outside one. On SQLite, open
// the database with _txlock=immediate (as svckit's examples do) so that
// racing transactions queue for the write lock from their BEGIN; deferred
// transactions may fail with SQLITE_BUSY instead, which txn.Do retries.
//
// The zero SQL is not usable. A SQL is safe for concurrent use; it does
// not own db: close db yourself.
type SQL struct {
	db    *sql.DB
	d     dialect.Dialect
	table string
	now   func() time.Time

	claim, finish, load, deleteBefore string
}

// NewSQL returns a store on db speaking dialect d. It panics if db is nil,
// d is not valid or opts.Table is not a plain identifier.
func NewSQL(db *sql.DB, d dialect.Dialect, opts Options) *SQL {
	if db == nil || !d.Valid() {
		panic("idempotency: NewSQL needs a *sql.DB and a valid dialect.Dialect")
	}
	table := opts.Table
	if table == "" {
		table = DefaultTable
	}
	if !plainIdent(table) {
		panic(fmt.Sprintf("idempotency: table name %q is not a plain identifier of at most %d bytes", table, maxTableLen))
	}
	b := func(q string) string { return d.Rebind(strings.ReplaceAll(q, "$table", table)) }
	return &SQL{
		db: db, d: d, table: table, now: opts.now(),
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

// Schema returns the statements Migrate runs, separated by ";\n", for
// those who keep migrations in their own tool.
func (s *SQL) Schema() string { return strings.Join(s.statements(), ";\n") + ";\n" }

// statements reads the embedded schema of s's dialect, for s's table,
// without comments, one statement per element.
func (s *SQL) statements() []string {
	body, err := schemas.ReadFile("schema/" + s.d.String() + ".sql")
	if err != nil { // every valid dialect has a file: a build defect
		panic("idempotency: no schema for " + s.d.String())
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
func (s *SQL) Migrate(ctx context.Context) error {
	m := migrate.Migration{
		Version:    "idempotency_001_" + s.table,
		File:       "idempotency/schema/" + s.d.String() + ".sql",
		Statements: s.statements(),
	}
	if err := migrate.Run(ctx, s.db, s.d, "svckit_schema_migrations", []migrate.Migration{m}); err != nil {
		return fmt.Errorf("idempotency: migrate %s: %w", s.table, err)
	}
	return nil
}

// Atomic runs fn in a transaction on the store's database: txn.Do, which
// joins the transaction ctx carries, if any.
func (s *SQL) Atomic(ctx context.Context, fn func(ctx context.Context) error) error {
	return txn.Do(ctx, s.db, fn)
}

// Claim inserts k as pending, with fingerprint and the current time, in the
// transaction ctx carries (or on its own outside one). It returns ErrTaken
// when the key exists: then roll back, and Load the outcome. While another
// transaction holds the same key, the insert waits for it (a row lock on
// PostgreSQL and MySQL, the writer lock on SQLite): if it commits, ErrTaken;
// if it rolls back, the claim succeeds.
func (s *SQL) Claim(ctx context.Context, k Key, fingerprint string) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if err := checkText("fingerprint", fingerprint); err != nil {
		return err
	}
	_, err := txn.From(ctx, s.db).ExecContext(ctx, s.claim, k.Scope, k.Value, fingerprint, s.now().UnixMicro())
	switch {
	case dialect.Classify(err) == dialect.UniqueViolation:
		return ErrTaken
	case err != nil:
		return fmt.Errorf("idempotency: claim: %w", dialect.Wrap(err))
	}
	return nil
}

// Finish records o as the outcome of the pending key k. It returns
// ErrNotPending when k is not claimed or has its outcome already, and an
// error when o is invalid (Status outside 100 to 599, Data not JSON).
func (s *SQL) Finish(ctx context.Context, k Key, o Outcome) error {
	if err := o.validate(); err != nil {
		return err
	}
	body, err := o.encode()
	if err != nil {
		return err
	}
	res, err := txn.From(ctx, s.db).ExecContext(ctx, s.finish, o.Status, body, k.Scope, k.Value)
	if err != nil {
		return fmt.Errorf("idempotency: finish: %w", dialect.Wrap(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("idempotency: finish: %w", dialect.Wrap(err))
	}
	if n != 1 {
		return ErrNotPending
	}
	return nil
}

// Load returns the record of k, read in the transaction ctx carries (or
// on the pool), or ErrNotFound.
func (s *SQL) Load(ctx context.Context, k Key) (Record, error) {
	var (
		r      Record
		status int
		body   []byte
		micros int64
	)
	err := txn.From(ctx, s.db).QueryRowContext(ctx, s.load, k.Scope, k.Value).Scan(&r.Fingerprint, &status, &body, &micros)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Record{}, ErrNotFound
	case err != nil:
		return Record{}, fmt.Errorf("idempotency: load: %w", dialect.Wrap(err))
	}
	r.CreatedAt = time.UnixMicro(micros)
	if status != 0 {
		if r.Outcome, err = decode(status, body); err != nil {
			return Record{}, err
		}
	}
	return r, nil
}

// DeleteBefore deletes the keys claimed before t, finished or not, and
// returns how many went. Run it now and then (a ticker you own) with the
// retention you promise clients, such as 24 hours ago.
func (s *SQL) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := txn.From(ctx, s.db).ExecContext(ctx, s.deleteBefore, t.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("idempotency: delete before: %w", dialect.Wrap(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("idempotency: delete before: %w", dialect.Wrap(err))
	}
	return n, nil
}
