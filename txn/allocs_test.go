package txn_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/txn"
)

// TestDoAllocations measures one write transaction through Do on a driver
// whose statements cost nothing, against the same transaction written by
// hand with database/sql, on a cancellable context as a request's would be.
// Do may add two allocations: the sql.Conn it holds the connection with
// (for ConnWait and to wait for database/sql's rollback on cancellation)
// and the attempt's one allocation for its transaction, scope and fn's
// context. The figure guards BenchmarkTxn/nop in benchmarks/.
//
// AllocsPerRun runs on one thread: each run yields so that the goroutine
// database/sql starts per transaction has ended and the next one reuses
// it; otherwise its creation counts now and then.
func TestDoAllocations(t *testing.T) {
	db := sql.OpenDB(nopConnector{})
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const update = "UPDATE t SET n = n + 1"

	byHand := testing.AllocsPerRun(200, func() {
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err, "begin")
		_, err = tx.ExecContext(ctx, update)
		require.NoError(t, err, "exec")
		require.NoError(t, tx.Commit(), "commit")
		runtime.Gosched() // database/sql's watch goroutine ends, so the next one reuses it
	})
	withDo := testing.AllocsPerRun(200, func() {
		require.NoError(t, txn.Do(ctx, db, func(ctx context.Context) error {
			_, err := txn.From(ctx, db).ExecContext(ctx, update)
			return err
		}), "Do")
		runtime.Gosched()
	})
	assert.LessOrEqual(t, withDo, byHand+2, "Do allocates at most two more than BeginTx/Exec/Commit by hand (%v by hand)", byHand)
}

// TestFnContext: the context fn receives is the caller's in every respect
// (values, deadline, cancellation) besides the transaction it carries, and
// a context derived from it finds the caller's cancellation as it would
// through context.WithValue, so it starts no goroutine of its own.
func TestFnContext(t *testing.T) {
	db := sql.OpenDB(nopConnector{})
	t.Cleanup(func() { db.Close() })
	type key struct{}
	deadline := time.Now().Add(time.Hour)
	parent, cancel := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), deadline)
	defer cancel()

	var derivedAllocs, valueAllocs float64
	require.NoError(t, txn.Do(parent, db, func(ctx context.Context) error {
		assert.Equal(t, "v", ctx.Value(key{}), "the caller's values pass through")
		got, ok := ctx.Deadline()
		assert.True(t, ok && got.Equal(deadline), "the caller's deadline: %v", got)
		assert.Equal(t, parent.Done(), ctx.Done(), "the caller's Done channel")
		assert.NoError(t, ctx.Err(), "not cancelled yet")
		assert.True(t, txn.InTx(ctx, db), "the transaction is in the context")
		assert.False(t, txn.InTx(parent, db), "the caller's context does not carry it")

		derivedAllocs = testing.AllocsPerRun(100, func() {
			_, stop := context.WithCancel(ctx)
			stop()
		})
		plain := context.WithValue(parent, key{}, "w")
		valueAllocs = testing.AllocsPerRun(100, func() {
			_, stop := context.WithCancel(plain)
			stop()
		})
		return nil
	}), "Do")
	assert.Equal(t, valueAllocs, derivedAllocs, "WithCancel over fn's context costs what it costs over a WithValue context (no watch goroutine)")

	inner, cancelInner := context.WithCancel(parent)
	require.ErrorIs(t, txn.Do(inner, db, func(ctx context.Context) error {
		cancelInner()
		<-ctx.Done()
		assert.ErrorIs(t, ctx.Err(), context.Canceled, "fn's context ends with the caller's")
		return ctx.Err()
	}), context.Canceled, "Do reports the cancellation")
}

// nopConnector opens nopConn values: a database/sql driver whose
// transactions and statements do nothing and cost nothing.
type nopConnector struct{}

func (nopConnector) Connect(context.Context) (driver.Conn, error) { return nopConn{}, nil }
func (nopConnector) Driver() driver.Driver                        { return nil }

type nopConn struct{}

var (
	_ driver.ConnBeginTx   = nopConn{}
	_ driver.ExecerContext = nopConn{}
	_ driver.Tx            = nopConn{}
)

func (nopConn) Prepare(string) (driver.Stmt, error) { return nil, driver.ErrSkip }
func (nopConn) Close() error                        { return nil }
func (nopConn) Begin() (driver.Tx, error)           { return nopConn{}, nil }
func (nopConn) BeginTx(context.Context, driver.TxOptions) (driver.Tx, error) {
	return nopConn{}, nil
}
func (nopConn) Commit() error   { return nil }
func (nopConn) Rollback() error { return nil }
func (nopConn) ExecContext(context.Context, string, []driver.NamedValue) (driver.Result, error) {
	return driver.RowsAffected(1), nil
}
