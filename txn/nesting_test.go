package txn_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/txn"
)

// retryable is a fake driver error with a PostgreSQL serialization failure.
type retryable struct{}

func (retryable) Error() string    { return "fake serialization failure" }
func (retryable) SQLState() string { return "40001" }

func TestJoin(t *testing.T) {
	errInner := errors.New("inner")
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		createSchema(t, db, 0, 0)
		ctx := context.Background()

		t.Run("shares the transaction", func(t *testing.T) {
			var hooks []string
			err := txn.Do(ctx, db.DB, func(ctx context.Context) error {
				outer := txn.From(ctx, db.DB)
				note(t, ctx, db, 1, "outer")
				return txn.DoWith(ctx, db.DB, txn.Options{TxOptions: &sql.TxOptions{ReadOnly: true}}, func(ctx context.Context) error {
					assert.Same(t, outer, txn.From(ctx, db.DB), "a joined call uses the outer transaction")
					note(t, ctx, db, 2, "inner, TxOptions ignored")
					txn.AfterCommit(ctx, func(context.Context) { hooks = append(hooks, "inner") })
					return nil
				})
			})
			require.NoError(t, err, "commit")
			assert.Equal(t, []int{1, 2}, noteIDs(t, db), "both writes commit together")
			assert.Equal(t, []string{"inner"}, hooks, "a joined call's hook runs after the outer commit")
		})

		t.Run("a failed joined call dooms the transaction", func(t *testing.T) {
			err := txn.Do(ctx, db.DB, func(ctx context.Context) error {
				note(t, ctx, db, 3, "outer")
				innerErr := txn.Do(ctx, db.DB, func(ctx context.Context) error { return errInner })
				assert.ErrorIs(t, innerErr, errInner, "the joined call's error reaches its caller")
				return nil // handled, or so the caller thinks
			})
			require.ErrorIs(t, err, txn.ErrRollbackOnly, "the outer call cannot commit")
			require.ErrorIs(t, err, errInner, "and says why")
			assert.Equal(t, []int{1, 2}, noteIDs(t, db), "nothing from the doomed transaction")
		})

		t.Run("a recovered panic in a joined call dooms the transaction", func(t *testing.T) {
			err := txn.Do(ctx, db.DB, func(ctx context.Context) error {
				note(t, ctx, db, 3, "outer")
				assert.Panics(t, func() {
					_ = txn.Do(ctx, db.DB, func(ctx context.Context) error { panic("inner") })
				}, "the joined call's panic reaches its caller")
				return nil
			})
			require.ErrorIs(t, err, txn.ErrRollbackOnly, "the outer call cannot commit")
			assert.Equal(t, []int{1, 2}, noteIDs(t, db), "nothing from the doomed transaction")
		})

		t.Run("only the outermost call retries", func(t *testing.T) {
			outerRuns, innerRuns := 0, 0
			err := txn.DoWith(ctx, db.DB, txn.Options{MaxAttempts: 3, Backoff: noWait}, func(ctx context.Context) error {
				outerRuns++
				return txn.DoWith(ctx, db.DB, txn.Options{MaxAttempts: 5}, func(context.Context) error {
					innerRuns++
					return retryable{}
				})
			})
			var re *txn.RetryError
			require.ErrorAs(t, err, &re, "retries exhausted")
			assert.Equal(t, 3, re.Attempts, "the outer call's MaxAttempts counts")
			assert.Equal(t, 3, outerRuns, "the outer fn ran once per attempt")
			assert.Equal(t, 3, innerRuns, "the joined fn ran once per outer attempt")
		})
	})
}

func TestSavepoint(t *testing.T) {
	errInner := errors.New("inner")
	sp := txn.Options{Propagation: txn.Savepoint}
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		createSchema(t, db, 0, 0)
		ctx := context.Background()

		t.Run("inner failure rolls back to the savepoint", func(t *testing.T) {
			var hooks []string
			err := txn.Do(ctx, db.DB, func(ctx context.Context) error {
				note(t, ctx, db, 1, "outer")
				txn.AfterCommit(ctx, func(context.Context) { hooks = append(hooks, "outer") })
				err := txn.DoWith(ctx, db.DB, sp, func(ctx context.Context) error {
					note(t, ctx, db, 2, "rolled back")
					txn.AfterCommit(ctx, func(context.Context) { hooks = append(hooks, "rolled back") })
					return errInner
				})
				assert.ErrorIs(t, err, errInner, "the savepoint's error reaches its caller")
				err = txn.DoWith(ctx, db.DB, sp, func(ctx context.Context) error {
					note(t, ctx, db, 3, "released")
					txn.AfterCommit(ctx, func(context.Context) { hooks = append(hooks, "released") })
					return txn.DoWith(ctx, db.DB, sp, func(ctx context.Context) error {
						note(t, ctx, db, 4, "nested, rolled back")
						txn.AfterCommit(ctx, func(context.Context) { hooks = append(hooks, "nested") })
						return errInner
					})
				})
				assert.ErrorIs(t, err, errInner, "the released savepoint passes its nested failure on")
				err = txn.DoWith(ctx, db.DB, sp, func(ctx context.Context) error {
					note(t, ctx, db, 5, "released")
					txn.AfterCommit(ctx, func(context.Context) { hooks = append(hooks, "released") })
					return nil
				})
				require.NoError(t, err, "release")
				note(t, ctx, db, 6, "outer again")
				return nil
			})
			require.NoError(t, err, "commit")
			assert.Equal(t, []int{1, 5, 6}, noteIDs(t, db), "only the failed savepoints' writes are undone")
			assert.Equal(t, []string{"outer", "released"}, hooks, "hooks of rolled-back savepoints are dropped")
		})

		t.Run("the database error of a statement is recoverable", func(t *testing.T) {
			err := txn.Do(ctx, db.DB, func(ctx context.Context) error {
				err := txn.DoWith(ctx, db.DB, sp, func(ctx context.Context) error {
					_, err := txn.From(ctx, db.DB).ExecContext(ctx, rebind(db, "INSERT INTO notes (id, body) VALUES (?, ?)"), 1, "duplicate")
					return err
				})
				assert.Error(t, err, "the duplicate key fails")
				note(t, ctx, db, 7, "after the failed savepoint")
				return nil
			})
			require.NoError(t, err, "the transaction goes on after ROLLBACK TO SAVEPOINT, even on PostgreSQL")
			assert.Equal(t, []int{1, 5, 6, 7}, noteIDs(t, db), "the outer write commits")
		})

		t.Run("released savepoint undone by the outer rollback", func(t *testing.T) {
			hookRan := false
			err := txn.Do(ctx, db.DB, func(ctx context.Context) error {
				require.NoError(t, txn.DoWith(ctx, db.DB, sp, func(ctx context.Context) error {
					note(t, ctx, db, 8, "released, then rolled back")
					txn.AfterCommit(ctx, func(context.Context) { hookRan = true })
					return nil
				}), "release")
				return errInner
			})
			require.ErrorIs(t, err, errInner, "rollback")
			assert.Equal(t, []int{1, 5, 6, 7}, noteIDs(t, db), "the released savepoint's write is undone")
			assert.False(t, hookRan, "its hook is dropped")
		})

		t.Run("a joined failure inside a savepoint rolls back only the savepoint", func(t *testing.T) {
			err := txn.Do(ctx, db.DB, func(ctx context.Context) error {
				err := txn.DoWith(ctx, db.DB, sp, func(ctx context.Context) error {
					note(t, ctx, db, 9, "rolled back")
					_ = txn.Do(ctx, db.DB, func(context.Context) error { return errInner })
					return nil
				})
				assert.ErrorIs(t, err, txn.ErrRollbackOnly, "the savepoint cannot be released")
				note(t, ctx, db, 10, "outer")
				return nil
			})
			require.NoError(t, err, "the outer transaction commits")
			assert.Equal(t, []int{1, 5, 6, 7, 10}, noteIDs(t, db), "the savepoint's write is undone")
		})

		t.Run("a retryable error dooms the whole transaction", func(t *testing.T) {
			runs := 0
			err := txn.DoWith(ctx, db.DB, txn.Options{Backoff: noWait}, func(ctx context.Context) error {
				runs++
				err := txn.DoWith(ctx, db.DB, sp, func(context.Context) error {
					if runs == 1 {
						return retryable{}
					}
					return nil
				})
				if runs == 1 {
					assert.ErrorAs(t, err, new(retryable), "the savepoint returns the retryable error")
				}
				return nil // swallowed: the outer call retries anyway
			})
			require.NoError(t, err, "the second attempt commits")
			assert.Equal(t, 2, runs, "the whole fn ran again")
		})

		t.Run("outside a transaction it begins one", func(t *testing.T) {
			err := txn.DoWith(ctx, db.DB, sp, func(ctx context.Context) error {
				assert.True(t, txn.InTx(ctx, db.DB), "fn runs in a transaction")
				note(t, ctx, db, 11, "own transaction")
				return nil
			})
			require.NoError(t, err, "commit")
			assert.Contains(t, noteIDs(t, db), 11, "committed")
		})
	})
}

func TestIndependent(t *testing.T) {
	errOuter := errors.New("outer")
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		createSchema(t, db, 0, 0)
		ctx := context.Background()
		var outerOpts txn.Options
		if db.Dialect == testdb.SQLiteDialect {
			// One writer at a time: a writing outer transaction would hold
			// the lock the independent one needs (see Independent).
			outerOpts.TxOptions = &sql.TxOptions{ReadOnly: true}
		}
		var hooks []string
		err := txn.DoWith(ctx, db.DB, outerOpts, func(ctx context.Context) error {
			outer := txn.From(ctx, db.DB)
			if db.Dialect != testdb.SQLiteDialect {
				note(t, ctx, db, 1, "outer, rolled back")
			}
			err := txn.DoWith(ctx, db.DB, txn.Options{Propagation: txn.Independent}, func(ctx context.Context) error {
				assert.NotSame(t, outer, txn.From(ctx, db.DB), "a new transaction")
				note(t, ctx, db, 2, "independent")
				txn.AfterCommit(ctx, func(context.Context) { hooks = append(hooks, "independent") })
				return nil
			})
			require.NoError(t, err, "the independent transaction commits")
			assert.Equal(t, []string{"independent"}, hooks, "its hooks ran after its own commit")
			assert.Same(t, outer, txn.From(ctx, db.DB), "the outer context still carries the outer transaction")
			return errOuter
		})
		require.ErrorIs(t, err, errOuter, "the outer transaction rolls back")
		assert.Equal(t, []int{2}, noteIDs(t, db), "the independent write survives the outer rollback")
	})
}

func TestTwoDatabases(t *testing.T) {
	a, b := testdb.SQLite(t), testdb.SQLite(t)
	createSchema(t, a, 0, 0)
	createSchema(t, b, 0, 0)
	ctx := context.Background()
	err := txn.Do(ctx, a.DB, func(ctx context.Context) error {
		txA := txn.From(ctx, a.DB)
		note(t, ctx, a, 1, "a")
		require.False(t, txn.InTx(ctx, b.DB), "a transaction on a is none on b")
		return txn.Do(ctx, b.DB, func(ctx context.Context) error {
			assert.Same(t, txA, txn.From(ctx, a.DB), "a's transaction is still found")
			assert.True(t, txn.InTx(ctx, b.DB), "b has its own")
			note(t, ctx, b, 1, "b")
			return nil
		})
	})
	require.NoError(t, err, "both commit")
	assert.Equal(t, []int{1}, noteIDs(t, a), "a committed")
	assert.Equal(t, []int{1}, noteIDs(t, b), "b committed")
}

func TestUnknownPropagation(t *testing.T) {
	db := testdb.SQLite(t)
	err := txn.DoWith(context.Background(), db.DB, txn.Options{Propagation: 9}, func(context.Context) error {
		t.Error("fn must not run")
		return nil
	})
	require.Error(t, err, "an unknown propagation is refused")
	assert.Equal(t, "Propagation(9)", txn.Propagation(9).String(), "String of an unknown value")
	assert.Equal(t, "Savepoint", txn.Savepoint.String(), "String")
}
