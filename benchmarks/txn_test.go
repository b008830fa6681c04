package benchmarks

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"testing"

	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/txn"
)

// BenchmarkTxn compares one short write transaction (BEGIN, one UPDATE,
// COMMIT) run through txn.Do with the same transaction written by hand with
// database/sql, on a cancellable context as a request's would be. The
// difference is what the helper costs: the context value, the scope
// bookkeeping, the dedicated connection and the cancellation watch.
//
// "nop" is a driver whose statements cost nothing, so it shows the helper's
// overhead on its own, with no server round trip to hide it.
func BenchmarkTxn(b *testing.B) {
	const update = "UPDATE txn_bench SET n = n + 1 WHERE id = 1"
	for _, engine := range []struct {
		name string
		open func(testing.TB) *sql.DB
	}{
		{"sqlite", func(tb testing.TB) *sql.DB { return txnBenchDB(tb, testdb.SQLite(tb)) }},
		{"postgres", func(tb testing.TB) *sql.DB { return txnBenchDB(tb, testdb.Postgres(tb)) }},
		{"nop", func(testing.TB) *sql.DB { return sql.OpenDB(txnNopConnector{}) }},
	} {
		b.Run(engine.name, func(b *testing.B) {
			db := engine.open(b)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			b.Run("database-sql", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := tx.ExecContext(ctx, update); err != nil {
						_ = tx.Rollback()
						b.Fatal(err)
					}
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("svckit", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					err := txn.Do(ctx, db, func(ctx context.Context) error {
						_, err := txn.From(ctx, db).ExecContext(ctx, update)
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// txnBenchDB prepares the table BenchmarkTxn updates, on one connection
// that does not wait for the disk at commit.
func txnBenchDB(tb testing.TB, db *testdb.DB) *sql.DB {
	db.DB.SetMaxOpenConns(1)
	noSync := "SET synchronous_commit = off"
	if db.Dialect == testdb.SQLiteDialect {
		noSync = "PRAGMA synchronous = NORMAL" // in WAL mode
	}
	for _, stmt := range []string{
		noSync,
		"CREATE TABLE txn_bench (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
		"INSERT INTO txn_bench (id, n) VALUES (1, 0)",
	} {
		if _, err := db.DB.Exec(stmt); err != nil {
			tb.Fatal(err)
		}
	}
	return db.DB
}

// txnNopConnector opens txnNopConn values: a database/sql driver whose
// transactions and statements do nothing.
type txnNopConnector struct{}

func (txnNopConnector) Connect(context.Context) (driver.Conn, error) { return txnNopConn{}, nil }
func (txnNopConnector) Driver() driver.Driver                        { return nil }

type txnNopConn struct{}

func (txnNopConn) Prepare(string) (driver.Stmt, error) { return nil, driver.ErrSkip }
func (txnNopConn) Close() error                        { return nil }
func (txnNopConn) Begin() (driver.Tx, error)           { return txnNopConn{}, nil }
func (txnNopConn) BeginTx(context.Context, driver.TxOptions) (driver.Tx, error) {
	return txnNopConn{}, nil
}
func (txnNopConn) Commit() error   { return nil }
func (txnNopConn) Rollback() error { return nil }
func (txnNopConn) ExecContext(context.Context, string, []driver.NamedValue) (driver.Result, error) {
	return driver.RowsAffected(1), nil
}
