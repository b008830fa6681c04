package testdb

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEachCreatesIsolatedDatabases(t *testing.T) {
	Each(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		_, err := db.DB.ExecContext(ctx, "CREATE TABLE probe (id INTEGER PRIMARY KEY, name VARCHAR(20))")
		require.NoError(t, err, "a fresh database accepts DDL")
		_, err = db.DB.ExecContext(ctx, "INSERT INTO probe (id, name) VALUES (1, 'a')")
		require.NoError(t, err)
		var n int
		require.NoError(t, db.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM probe").Scan(&n))
		require.Equal(t, 1, n, "the table holds exactly the row this test inserted")
	})
}

func TestRedisPrefixIsCleanedUp(t *testing.T) {
	client, prefix := Redis(t)
	ctx := context.Background()
	require.NoError(t, client.Set(ctx, prefix+"k", "v", 0).Err())
	require.Equal(t, "v", client.Get(ctx, prefix+"k").Val())
}

func TestMySQLDSN(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"mysql://root@127.0.0.1:3306/test", "root@tcp(127.0.0.1:3306)/test?parseTime=true"},
		{"mysql://u:p@db/x", "u:p@tcp(db:3306)/x?parseTime=true"},
		{"root@tcp(127.0.0.1:3306)/test", "root@tcp(127.0.0.1:3306)/test?parseTime=true"},
	} {
		got, err := MySQLDSN(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}
