package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/svckit/svckit/dialect"
)

// Migration is one versioned schema script.
type Migration struct {
	// Version is recorded once the script has run; it is never run again
	// on a database that has it recorded.
	Version string
	// File names the script in errors.
	File string
	// Statements are run in order.
	Statements []string
	// Func, when not nil, runs after Statements, on the connection (on
	// PostgreSQL, the transaction) the migration runs on, under the lock:
	// a step SQL alone cannot say, such as one that depends on what the
	// database holds. Its error is reported as a *Error of the file.
	Func func(ctx context.Context, q Querier) error
}

// Querier runs statements: the *sql.Conn or *sql.Tx a migration runs on,
// or a *sql.DB.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// FromFS returns the migrations of the "*.sql" files in dir of fsys, in
// file-name order, each versioned by its name without ".sql".
func FromFS(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		file := path.Join(dir, e.Name())
		body, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		out = append(out, Migration{Version: strings.TrimSuffix(e.Name(), ".sql"), File: file, Statements: Statements(string(body))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Error is returned by Run when a statement fails: it names the
// file and the statement. Run has released its lock by then.
type Error struct {
	File      string
	Index     int    // of the statement in the file, from 1
	Statement string // the statement, as run
	Err       error
}

// Error names the file, the statement and the database's error.
func (e *Error) Error() string {
	stmt := strings.Join(strings.Fields(e.Statement), " ")
	if len(stmt) > 120 {
		stmt = stmt[:117] + "..."
	}
	return fmt.Sprintf("migrate: %s, statement %d (%s): %v", e.File, e.Index, stmt, e.Err)
}

// Unwrap returns the database's error.
func (e *Error) Unwrap() error { return e.Err }

// lockTimeout bounds the wait for another instance's migrations on MySQL,
// whose GET_LOCK needs a timeout; PostgreSQL and SQLite wait for ctx.
const lockTimeout = 5 * time.Minute

// Run applies the migrations whose versions table does not record yet, in
// order, and records each, holding a lock that every svckit migration of
// the same database (PostgreSQL: database and current schema; MySQL and
// MariaDB: database) takes, so instances starting together run each
// migration once and wait for each other:
//
//   - PostgreSQL: a session advisory lock; each migration and its record
//     commit in one transaction (PostgreSQL's DDL is transactional).
//   - MySQL and MariaDB: GET_LOCK (DDL commits by itself there: a migration
//     that fails half-way stays half-applied and unrecorded, so write
//     migrations that can run again, with IF NOT EXISTS).
//   - SQLite: the database's write lock, BEGIN IMMEDIATE, around all of it;
//     a failure rolls back every migration of the call.
//
// The lock is released before Run returns, also on failure; a failing
// statement is reported as a *Error.
func Run(ctx context.Context, db *sql.DB, d dialect.Dialect, table string, migs []Migration) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Close()
	unlock, err := lock(ctx, conn, d)
	if err != nil {
		return err
	}
	defer func() {
		// A lock on a connection that broke went with it.
		if uerr := unlock(err != nil); uerr != nil && err == nil {
			err = uerr
		}
	}()
	create := "CREATE TABLE IF NOT EXISTS " + table + " (version VARCHAR(100) NOT NULL PRIMARY KEY)"
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("migrate: create %s: %w", table, err)
	}
	for _, m := range migs {
		var n int
		q := "SELECT COUNT(*) FROM " + table + " WHERE version = " + d.Placeholder(1)
		if err := conn.QueryRowContext(ctx, q, m.Version).Scan(&n); err != nil {
			return fmt.Errorf("migrate: read %s: %w", table, err)
		}
		if n > 0 {
			continue
		}
		if err := apply(ctx, conn, d, table, m); err != nil {
			return err
		}
	}
	return nil
}

// apply runs one migration and records it; on PostgreSQL in a transaction.
func apply(ctx context.Context, conn *sql.Conn, d dialect.Dialect, table string, m Migration) (err error) {
	var ex Querier = conn
	if d == dialect.Postgres {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate: %s: begin: %w", m.File, err)
		}
		defer func() {
			if err != nil {
				_ = tx.Rollback()
			}
		}()
		ex = tx
		defer func() {
			if err == nil {
				if cerr := tx.Commit(); cerr != nil {
					err = fmt.Errorf("migrate: %s: commit: %w", m.File, cerr)
				}
			}
		}()
	}
	for i, stmt := range m.Statements {
		if _, err := ex.ExecContext(ctx, stmt); err != nil {
			return &Error{File: m.File, Index: i + 1, Statement: stmt, Err: err}
		}
	}
	if m.Func != nil {
		if err := m.Func(ctx, ex); err != nil {
			return &Error{File: m.File, Index: len(m.Statements) + 1, Statement: "(Func)", Err: err}
		}
	}
	ins := "INSERT INTO " + table + " (version) VALUES (" + d.Placeholder(1) + ")"
	if _, err := ex.ExecContext(ctx, ins, m.Version); err != nil {
		return fmt.Errorf("migrate: %s: record version %s: %w", m.File, m.Version, err)
	}
	return nil
}

// Applied returns the versions table records, sorted, or nil when there
// is no such table (no migration has run). It takes no lock: a status
// report, not a decision to migrate.
func Applied(ctx context.Context, q Querier, d dialect.Dialect, table string) ([]string, error) {
	var exists string
	switch d {
	case dialect.Postgres: // in the current schema, as Run's CREATE TABLE
		exists = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
	case dialect.MySQL:
		exists = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
	default:
		exists = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	}
	var n int
	if err := q.QueryRowContext(ctx, exists, table).Scan(&n); err != nil {
		return nil, fmt.Errorf("migrate: look for %s: %w", table, err)
	}
	if n == 0 {
		return nil, nil
	}
	rows, err := q.QueryContext(ctx, "SELECT version FROM "+table)
	if err != nil {
		return nil, fmt.Errorf("migrate: read %s: %w", table, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("migrate: read %s: %w", table, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: read %s: %w", table, err)
	}
	sort.Strings(out) // byte order, whatever the column's collation
	return out, nil
}

// errLockTimeout is returned when MySQL's GET_LOCK gives up.
var errLockTimeout = errors.New("migrate: timed out waiting for another instance's migrations")

// lock takes the migration lock on conn and returns its release, told
// whether the migrations failed.
func lock(ctx context.Context, conn *sql.Conn, d dialect.Dialect) (func(failed bool) error, error) {
	switch d {
	case dialect.Postgres:
		const key = `hashtextextended('svckit.migrate.' || current_schema(), 0)`
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock("+key+")"); err != nil {
			return nil, fmt.Errorf("migrate: advisory lock: %w", err)
		}
		return func(bool) error {
			_, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock("+key+")")
			return unlockErr(err)
		}, nil
	case dialect.MySQL:
		const name = `LEFT(CONCAT('svckit.migrate.', DATABASE()), 64)`
		var got sql.NullInt64
		secs := int(lockTimeout / time.Second)
		if dl, ok := ctx.Deadline(); ok {
			secs = max(int(time.Until(dl)/time.Second), 0)
		}
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+name+", ?)", secs).Scan(&got); err != nil {
			return nil, fmt.Errorf("migrate: GET_LOCK: %w", err)
		}
		if got.Int64 != 1 {
			return nil, errLockTimeout
		}
		return func(bool) error {
			_, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK("+name+")")
			return unlockErr(err)
		}, nil
	default: // SQLite
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return nil, fmt.Errorf("migrate: begin immediate: %w", err)
		}
		return func(failed bool) error {
			end := "COMMIT"
			if failed {
				end = "ROLLBACK"
			}
			_, err := conn.ExecContext(context.WithoutCancel(ctx), end)
			return unlockErr(err)
		}, nil
	}
}

func unlockErr(err error) error {
	if err != nil {
		return fmt.Errorf("migrate: release lock: %w", err)
	}
	return nil
}
