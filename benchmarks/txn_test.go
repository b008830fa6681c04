package benchmarks

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"testing"
	"time"

	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/txn"
)

// BenchmarkTxn compares one short write transaction (BEGIN, one UPDATE,
// COMMIT) run through txn.Do with the same transaction written by hand with
// database/sql, on a cancellable context as a request's would be. The
// difference is what the helper costs: the context value, the scope
// bookkeeping, the dedicated connection and the cancellation watch. Both
// send the same three statements (txn's TestRoundTripsPostgres counts them).
//
// "nop" is a driver whose statements cost nothing, so it shows the helper's
// overhead on its own, with no server round trip to hide it.
func BenchmarkTxn(b *testing.B) {
	for _, engine := range txnEngines() {
		b.Run(engine.name, func(b *testing.B) {
			db := engine.open(b)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for _, impl := range txnImpls() {
				b.Run(impl.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if err := impl.run(ctx, db); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkTxnPaired runs BenchmarkTxn's two transactions in alternating
// blocks (ABBA) on the same connection and row, and reports the time per
// transaction of each and their ratio, svckit/database-sql. Noise that
// lasts longer than a block hits both alike, so the ratio holds on a shared
// machine where BenchmarkTxn's ns/op swing by a fifth from run to run;
// ns/op is the mean of the two.
func BenchmarkTxnPaired(b *testing.B) {
	const block = 64 // transactions of one kind in a row
	for _, engine := range txnEngines() {
		b.Run(engine.name, func(b *testing.B) {
			db := engine.open(b)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			impls := txnImpls()
			var (
				took  [2]time.Duration
				count [2]int
				began time.Time
			)
			k, i := 0, 0
			for b.Loop() {
				if i%block == 0 {
					if i > 0 {
						took[k] += time.Since(began)
					}
					k = (i/block + i/(2*block)) % 2 // blocks A B B A A B B A ...
					began = time.Now()
				}
				if err := impls[k].run(ctx, db); err != nil {
					b.Fatal(err)
				}
				count[k]++
				i++
			}
			took[k] += time.Since(began)
			if count[0] == 0 || count[1] == 0 {
				return // too few iterations to compare
			}
			per := func(k int) float64 { return float64(took[k].Nanoseconds()) / float64(count[k]) }
			b.ReportMetric(per(0), impls[0].name+"-ns/txn")
			b.ReportMetric(per(1), impls[1].name+"-ns/txn")
			b.ReportMetric(per(1)/per(0), impls[1].name+"/"+impls[0].name)
		})
	}
}

// txnEngines are the databases the transaction benchmarks run on.
func txnEngines() []struct {
	name string
	open func(testing.TB) *sql.DB
} {
	return []struct {
		name string
		open func(testing.TB) *sql.DB
	}{
		{"sqlite", func(tb testing.TB) *sql.DB { return txnBenchDB(tb, testdb.SQLite(tb)) }},
		{"postgres", func(tb testing.TB) *sql.DB { return txnBenchDB(tb, testdb.Postgres(tb)) }},
		{"nop", func(testing.TB) *sql.DB { return sql.OpenDB(txnNopConnector{}) }},
	}
}

// txnUpdate is the statement of the benchmarks' transaction.
const txnUpdate = "UPDATE txn_bench SET n = n + 1 WHERE id = 1"

// txnImpls are the transaction written by hand with database/sql and the
// same through txn.Do, in that order.
func txnImpls() [2]struct {
	name string
	run  func(ctx context.Context, db *sql.DB) error
} {
	return [2]struct {
		name string
		run  func(ctx context.Context, db *sql.DB) error
	}{
		{"database-sql", func(ctx context.Context, db *sql.DB) error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, txnUpdate); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		}},
		{"svckit", func(ctx context.Context, db *sql.DB) error {
			return txn.Do(ctx, db, func(ctx context.Context) error {
				_, err := txn.From(ctx, db).ExecContext(ctx, txnUpdate)
				return err
			})
		}},
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
