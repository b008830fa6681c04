package cache_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/txn"
)

func TestDeleteAfterCommitInTransaction(t *testing.T) {
	ctx := context.Background()
	db := testdb.SQLite(t).DB
	_, err := db.ExecContext(ctx, `CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`)
	require.NoError(t, err, "create table")
	_, err = db.ExecContext(ctx, `INSERT INTO users (id, name) VALUES (1, 'old')`)
	require.NoError(t, err, "insert")

	a := cache.NewAside[int64, string](newMemory[string](t, cache.MemoryOptions[string]{}), cache.Options[int64]{Prefix: "user:"})
	load := func(ctx context.Context) (string, error) {
		var name string
		err := txn.From(ctx, db).QueryRowContext(ctx, `SELECT name FROM users WHERE id = 1`).Scan(&name)
		return name, err
	}
	cached := func(t *testing.T) string {
		t.Helper()
		v, err := a.Get(ctx, 1, func(context.Context) (string, error) { return "(loaded)", nil })
		require.NoError(t, err, "get")
		return v
	}
	_, err = a.Get(ctx, 1, load)
	require.NoError(t, err, "warm the cache")

	errAbort := errors.New("abort")
	tests := []struct {
		name    string
		newName string
		fnErr   error
		wantErr error
		after   string // what the cache serves after the transaction
	}{
		{"rollback keeps the entry", "rolled back", errAbort, errAbort, "old"},
		{"commit deletes the entry", "new", nil, nil, "(loaded)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := txn.Do(ctx, db, func(ctx context.Context) error {
				if _, err := txn.From(ctx, db).ExecContext(ctx, `UPDATE users SET name = ? WHERE id = 1`, tt.newName); err != nil {
					return err
				}
				txn.DeleteAfterCommit(ctx, a, 1)
				assert.Equal(t, "old", cached(t), "nothing is deleted before the commit")
				return tt.fnErr
			})
			require.ErrorIs(t, err, tt.wantErr, "transaction outcome")
			assert.Equal(t, tt.after, cached(t), "cache after the transaction")
		})
	}
	var name string
	require.NoError(t, db.QueryRowContext(ctx, `SELECT name FROM users WHERE id = 1`).Scan(&name), "read row")
	assert.Equal(t, "new", name, "the committed update is in the database")
}
