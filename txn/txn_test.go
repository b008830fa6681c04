package txn_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/txn"
)

// note inserts a row into notes on the transaction in ctx.
func note(t testing.TB, ctx context.Context, db *testdb.DB, id int, body string) {
	t.Helper()
	exec(t, ctx, db, "INSERT INTO notes (id, body) VALUES (?, ?)", id, body)
}

// noteIDs returns the ids in notes, in order, read on the pool.
func noteIDs(t testing.TB, db *testdb.DB) []int {
	t.Helper()
	rows, err := db.DB.Query("SELECT id FROM notes ORDER BY id")
	require.NoError(t, err, "select notes")
	defer rows.Close()
	ids := []int{}
	for rows.Next() {
		var id int
		require.NoError(t, rows.Scan(&id), "scan note")
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err(), "iterate notes")
	return ids
}

func TestCommitAndRollback(t *testing.T) {
	errBoom := errors.New("boom")
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		createSchema(t, db, 0, 0)
		ctx := context.Background()

		require.False(t, txn.InTx(ctx, db.DB), "no transaction outside Do")
		assert.Same(t, db.DB, txn.From(ctx, db.DB), "From returns the pool outside a transaction")

		err := txn.Do(ctx, db.DB, func(ctx context.Context) error {
			assert.True(t, txn.InTx(ctx, db.DB), "fn runs in a transaction")
			assert.NotSame(t, db.DB, txn.From(ctx, db.DB), "From returns the transaction inside Do")
			note(t, ctx, db, 1, "kept")
			return nil
		})
		require.NoError(t, err, "fn returning nil commits")

		err = txn.Do(ctx, db.DB, func(ctx context.Context) error {
			note(t, ctx, db, 2, "dropped")
			return errBoom
		})
		require.ErrorIs(t, err, errBoom, "fn's error is returned as is")
		var re *txn.RetryError
		assert.False(t, errors.As(err, &re), "a non-retryable error is not a RetryError")

		assert.Equal(t, []int{1}, noteIDs(t, db), "the failed transaction rolled back")
		assert.Zero(t, db.DB.Stats().InUse, "connections are back in the pool")
	})
}

func TestPanicRollsBack(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		createSchema(t, db, 0, 0)
		ctx := context.Background()
		hookRan := false
		assert.PanicsWithValue(t, "kaboom", func() {
			_ = txn.Do(ctx, db.DB, func(ctx context.Context) error {
				note(t, ctx, db, 1, "dropped")
				txn.AfterCommit(ctx, func(context.Context) { hookRan = true })
				panic("kaboom")
			})
		}, "the panic goes on unchanged")
		assert.Empty(t, noteIDs(t, db), "the panicking transaction rolled back")
		assert.False(t, hookRan, "hooks are dropped on panic")
		assert.Zero(t, db.DB.Stats().InUse, "the connection is back in the pool")
		assert.Equal(t, 1, db.DB.Stats().OpenConnections, "and still usable")
	})
}

func TestCancelledContextRollsBack(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		createSchema(t, db, 0, 0)
		ctx, cancel := context.WithCancel(context.Background())
		hookRan := false
		err := txn.Do(ctx, db.DB, func(ctx context.Context) error {
			note(t, ctx, db, 1, "dropped")
			txn.AfterCommit(ctx, func(context.Context) { hookRan = true })
			cancel()
			return nil
		})
		require.ErrorIs(t, err, context.Canceled, "Commit fails with the context's error")
		assert.Empty(t, noteIDs(t, db), "the transaction rolled back")
		assert.False(t, hookRan, "hooks are dropped")

		err = txn.Do(ctx, db.DB, func(context.Context) error {
			t.Error("fn must not run with a cancelled context")
			return nil
		})
		require.ErrorIs(t, err, context.Canceled, "Begin fails with a cancelled context")
		assert.Zero(t, db.DB.Stats().InUse, "connections are back in the pool")
	})
}

// TestCancelReleasesLocksAtOnce: the cancellation rolls the transaction back
// while fn is still running, so another transaction can take its locks.
func TestCancelReleasesLocksAtOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		createSchema(t, db, 1, 10)
		ctx, cancel := context.WithCancel(context.Background())
		err := txn.Do(ctx, db.DB, func(ctx context.Context) error {
			exec(t, ctx, db, "UPDATE accounts SET balance = 0 WHERE id = 1")
			cancel()
			// Waits for the lock the cancelled transaction held (the row on
			// PostgreSQL and MySQL, the database on SQLite).
			other := txn.Do(context.Background(), db.DB, func(ctx context.Context) error {
				exec(t, ctx, db, "UPDATE accounts SET balance = balance + 5 WHERE id = 1")
				return nil
			})
			require.NoError(t, other, "another transaction gets the lock while fn still runs")
			_, err := txn.From(ctx, db.DB).ExecContext(ctx, rebind(db, "UPDATE accounts SET balance = 1 WHERE id = 1"))
			assert.Error(t, err, "the cancelled transaction is gone")
			return nil
		})
		require.ErrorIs(t, err, context.Canceled, "Do reports the cancellation")
		all, _ := balances(t, db.DB)
		assert.Equal(t, int64(15), all[1], "only the other transaction's update committed")
		assert.Zero(t, db.DB.Stats().InUse, "connections are back in the pool")
	})
}

func TestAfterCommit(t *testing.T) {
	errBoom := errors.New("boom")
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		createSchema(t, db, 0, 0)
		ctx := context.Background()

		var order []string
		txn.AfterCommit(ctx, func(context.Context) { order = append(order, "outside") })
		require.Equal(t, []string{"outside"}, order, "outside a transaction the hook runs at once")

		order = nil
		err := txn.Do(ctx, db.DB, func(ctx context.Context) error {
			txn.AfterCommit(ctx, func(ctx context.Context) {
				assert.False(t, txn.InTx(ctx, db.DB), "hooks run outside the transaction")
				order = append(order, "first")
			})
			note(t, ctx, db, 1, "x")
			return txn.Do(ctx, db.DB, func(ctx context.Context) error {
				txn.AfterCommit(ctx, func(context.Context) { order = append(order, "joined") })
				assert.Empty(t, order, "hooks wait for the commit")
				return nil
			})
		})
		require.NoError(t, err, "commit")
		assert.Equal(t, []string{"first", "joined"}, order, "hooks run once each, in order, after the commit")

		order = nil
		err = txn.Do(ctx, db.DB, func(ctx context.Context) error {
			txn.AfterCommit(ctx, func(context.Context) { order = append(order, "rolled back") })
			return errBoom
		})
		require.ErrorIs(t, err, errBoom, "rollback")
		assert.Empty(t, order, "hooks are dropped on rollback")
	})
}

func TestAfterCommitHookPanics(t *testing.T) {
	db := testdb.SQLite(t)
	createSchema(t, db, 0, 0)
	var ran []int
	assert.PanicsWithValue(t, "hook 1", func() {
		_ = txn.Do(context.Background(), db.DB, func(ctx context.Context) error {
			note(t, ctx, db, 1, "kept")
			txn.AfterCommit(ctx, func(context.Context) { ran = append(ran, 1); panic("hook 1") })
			txn.AfterCommit(ctx, func(context.Context) { ran = append(ran, 2); panic("hook 2") })
			txn.AfterCommit(ctx, func(context.Context) { ran = append(ran, 3) })
			return nil
		})
	}, "the first hook's panic is raised again")
	assert.Equal(t, []int{1, 2, 3}, ran, "a panicking hook does not stop the others")
	assert.Equal(t, []int{1}, noteIDs(t, db), "the transaction committed before the hooks ran")
}

func TestAfterCommitLate(t *testing.T) {
	db := testdb.SQLite(t)
	createSchema(t, db, 0, 0)
	var kept context.Context
	require.NoError(t, txn.Do(context.Background(), db.DB, func(ctx context.Context) error {
		kept = ctx
		return nil
	}), "commit")
	ran := false
	txn.AfterCommit(kept, func(context.Context) { ran = true })
	assert.True(t, ran, "a hook queued after the commit runs at once")
	_, err := txn.From(kept, db.DB).ExecContext(context.Background(), "SELECT 1")
	assert.ErrorIs(t, err, sql.ErrTxDone, "a kept transaction context is done")

	errBoom := errors.New("boom")
	require.ErrorIs(t, txn.Do(context.Background(), db.DB, func(ctx context.Context) error {
		kept = ctx
		return errBoom
	}), errBoom, "rollback")
	ran = false
	txn.AfterCommit(kept, func(context.Context) { ran = true })
	assert.False(t, ran, "a hook queued after a rollback is dropped")
}

// TestConcurrentUseInsideFn: goroutines started by fn share the transaction,
// join it and queue hooks at the same time (run with -race).
func TestConcurrentUseInsideFn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		createSchema(t, db, 0, 0)
		var hooks atomic.Int64
		err := txn.Do(context.Background(), db.DB, func(ctx context.Context) error {
			var wg sync.WaitGroup
			errs := make([]error, 8)
			for i := range errs {
				wg.Go(func() {
					errs[i] = txn.Do(ctx, db.DB, func(ctx context.Context) error {
						txn.AfterCommit(ctx, func(context.Context) { hooks.Add(1) })
						_, err := txn.From(ctx, db.DB).ExecContext(ctx, rebind(db, "INSERT INTO notes (id, body) VALUES (?, ?)"), i, "x")
						return err
					})
				})
			}
			wg.Wait()
			return errors.Join(errs...)
		})
		require.NoError(t, err, "every goroutine's insert commits")
		assert.Equal(t, int64(8), hooks.Load(), "every hook ran once")
		assert.Len(t, noteIDs(t, db), 8, "every row committed")
	})
}
