package txn_test

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/txn"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// errInsufficientFunds is the business error of transfer.
var errInsufficientFunds = errors.New("insufficient funds")

// noWait retries at once: tests synchronise with channels, never with time.
func noWait(int) time.Duration { return 0 }

// rebind turns ? placeholders into $1, $2, ... on PostgreSQL.
func rebind(db *testdb.DB, query string) string {
	if db.Dialect != testdb.PostgresDialect {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// exec runs a statement on the transaction in ctx (or the pool) and fails
// the test on error.
func exec(t testing.TB, ctx context.Context, db *testdb.DB, query string, args ...any) {
	t.Helper()
	_, err := txn.From(ctx, db.DB).ExecContext(ctx, rebind(db, query), args...)
	require.NoError(t, err, "exec %q", query)
}

// count returns SELECT COUNT(*) FROM table on the pool.
func count(t testing.TB, db *testdb.DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, db.DB.QueryRow("SELECT COUNT(*) FROM "+table).Scan(&n), "count %s", table)
	return n
}

// createSchema creates accounts (ids 1..n, each with balance) and transfers.
func createSchema(t testing.TB, db *testdb.DB, n int, balance int64) {
	t.Helper()
	id := "INTEGER PRIMARY KEY"
	switch db.Dialect {
	case testdb.PostgresDialect:
		id = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
	case testdb.MySQLDialect:
		id = "BIGINT AUTO_INCREMENT PRIMARY KEY"
	}
	ctx := context.Background()
	exec(t, ctx, db, "CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)")
	exec(t, ctx, db, "CREATE TABLE transfers (id "+id+", from_id BIGINT NOT NULL, to_id BIGINT NOT NULL, amount BIGINT NOT NULL)")
	exec(t, ctx, db, "CREATE TABLE notes (id BIGINT PRIMARY KEY, body VARCHAR(100) NOT NULL)")
	for i := 1; i <= n; i++ {
		exec(t, ctx, db, "INSERT INTO accounts (id, balance) VALUES (?, ?)", i, balance)
	}
}

// transfer moves amount from one account to another in a transaction: it
// locks both rows in id order, checks the funds, debits, credits and records
// the transfer. attempts counts how many times fn ran.
func transfer(ctx context.Context, db *testdb.DB, opts txn.Options, from, to, amount int64, attempts *atomic.Int64, committed func()) error {
	return txn.DoWith(ctx, db.DB, opts, func(ctx context.Context) error {
		attempts.Add(1)
		q := txn.From(ctx, db.DB)
		lock := "SELECT id, balance FROM accounts WHERE id IN (?, ?) ORDER BY id"
		if db.Dialect != testdb.SQLiteDialect {
			lock += " FOR UPDATE"
		}
		rows, err := q.QueryContext(ctx, rebind(db, lock), from, to)
		if err != nil {
			return err
		}
		balances := map[int64]int64{}
		for rows.Next() {
			var id, balance int64
			if err := rows.Scan(&id, &balance); err != nil {
				rows.Close()
				return err
			}
			balances[id] = balance
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		if balances[from] < amount {
			return errInsufficientFunds
		}
		for _, s := range []struct {
			query string
			args  []any
		}{
			{"UPDATE accounts SET balance = balance - ? WHERE id = ?", []any{amount, from}},
			{"UPDATE accounts SET balance = balance + ? WHERE id = ?", []any{amount, to}},
			{"INSERT INTO transfers (from_id, to_id, amount) VALUES (?, ?, ?)", []any{from, to, amount}},
		} {
			if _, err := q.ExecContext(ctx, rebind(db, s.query), s.args...); err != nil {
				return err
			}
		}
		txn.AfterCommit(ctx, func(context.Context) { committed() })
		return nil
	})
}

// balances returns every account balance by id and their sum.
func balances(t testing.TB, db *sql.DB) (map[int64]int64, int64) {
	t.Helper()
	rows, err := db.Query("SELECT id, balance FROM accounts")
	require.NoError(t, err, "select balances")
	defer rows.Close()
	all, sum := map[int64]int64{}, int64(0)
	for rows.Next() {
		var id, b int64
		require.NoError(t, rows.Scan(&id, &b), "scan balance")
		all[id] = b
		sum += b
	}
	require.NoError(t, rows.Err(), "iterate balances")
	return all, sum
}
