package app

import (
	"context"
	"database/sql"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/testdb"
)

// instances starts n instances on db and the Redis at redisURL.
func instances(t *testing.T, n int, db *testdb.DB, redisURL, prefix string) []*App {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	apps := make([]*App, n)
	for i := range apps {
		pool, err := sql.Open(db.Driver, db.DSN)
		require.NoError(t, err, "pool")
		// Bounded as the service bounds its own (DB_MAX_OPEN_CONNS): a
		// burst of loads on four unbounded pools can take every slot
		// the database has ("too many clients").
		pool.SetMaxOpenConns(DefaultMaxOpenConns)
		t.Cleanup(func() { pool.Close() })
		a, err := New(ctx, Config{
			DB: pool, Database: Database{Driver: db.Driver, Dialect: db.Dialect},
			RedisURL: redisURL, RedisPrefix: prefix,
			JWTSecret: []byte("history-secret-history-secret-history"),
			Logger:    slog.New(slog.DiscardHandler), PasswordCost: 64,
		})
		require.NoError(t, err, "instance %d", i)
		t.Cleanup(func() { require.NoError(t, a.Close(), "close instance %d", i) })
		apps[i] = a
	}
	return apps
}
