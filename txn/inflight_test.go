package txn_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/txn"
)

// TestRollbackWaitsForStatements: fn returns while a goroutine it started
// still has a query open on the transaction. database/sql cancels that
// query and waits for it (Tx.closemu) before it rolls back, so Rollback
// never runs concurrently with a statement; -race checks the rest.
func TestRollbackWaitsForStatements(t *testing.T) {
	errBoom := errors.New("boom")
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		createSchema(t, db, 3, 10)
		ctx := context.Background()
		opened, rowsDone := make(chan struct{}), make(chan error, 1)
		err := txn.Do(ctx, db.DB, func(ctx context.Context) error {
			exec(t, ctx, db, "UPDATE accounts SET balance = 0 WHERE id = 1")
			rows, err := txn.From(ctx, db.DB).QueryContext(ctx, "SELECT id FROM accounts ORDER BY id")
			require.NoError(t, err, "query")
			go func() { // still reading when fn returns
				close(opened)
				for rows.Next() {
				}
				rowsDone <- rows.Err()
			}()
			<-opened
			return errBoom
		})
		require.ErrorIs(t, err, errBoom, "fn's error")
		assert.Zero(t, db.DB.Stats().InUse, "when Do returns the statement has released the connection")
		rowsErr := <-rowsDone
		if rowsErr != nil {
			assert.ErrorIs(t, rowsErr, context.Canceled, "an unfinished read is cancelled")
		}
		all, _ := balances(t, db.DB)
		assert.Equal(t, int64(10), all[1], "the update rolled back")
	})
}
