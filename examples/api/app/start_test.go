package app_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/examples/api/app"
	"github.com/svckit/svckit/internal/testdb"
)

// startRounds is how many fresh databases the concurrent start is tried on:
// SVCKIT_START_ROUNDS, default 20.
func startRounds() int {
	if n, err := strconv.Atoi(os.Getenv("SVCKIT_START_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 20
}

// TestConcurrentStart starts eight instances at the same moment on a fresh,
// empty database with Redis, as a deployment of eight replicas does, on
// PostgreSQL and on MariaDB/MySQL, again and again: every instance becomes
// ready, and each migration is recorded once.
func TestConcurrentStart(t *testing.T) {
	engines := []struct {
		name string
		open func(testing.TB) *testdb.DB
	}{{"postgres", testdb.Postgres}, {"mysql", testdb.MySQL}}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			_, prefix := testdb.Redis(t)
			redisURL := testdb.RedisURL(t)
			for round := range startRounds() {
				t.Run("round"+strconv.Itoa(round), func(t *testing.T) {
					concurrentStart(t, e.open(t), redisURL, prefix+strconv.Itoa(round)+":")
				})
			}
		})
	}
}

func concurrentStart(t *testing.T, db *testdb.DB, redisURL, prefix string) {
	const instances = 8
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	apps := make([]*app.App, instances)
	errs := make([]error, instances)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range apps {
		pool, err := sql.Open(db.Driver, db.DSN)
		require.NoError(t, err, "pool")
		t.Cleanup(func() { pool.Close() })
		cfg := testConfig()
		cfg.DB = pool
		cfg.Database = app.Database{Driver: db.Driver, Dialect: db.Dialect}
		cfg.RedisURL = redisURL
		cfg.RedisPrefix = prefix
		wg.Go(func() {
			<-gate
			apps[i], errs[i] = app.New(ctx, cfg)
		})
	}
	close(gate)
	wg.Wait()
	for i, a := range apps {
		if a != nil {
			t.Cleanup(func() { require.NoError(t, a.Close(), "close instance %d", i) })
		}
	}
	for i, err := range errs {
		require.NoError(t, err, "instance %d starts", i)
	}
	for i, a := range apps {
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		assert.Equal(t, http.StatusOK, rec.Code, "instance %d ready: %s", i, rec.Body)
	}
	d, err := dialect.Parse(db.Dialect)
	require.NoError(t, err, "dialect")
	for _, table := range []string{app.MigrationsTable} {
		rows, err := db.DB.QueryContext(ctx, "SELECT version, COUNT(*) FROM "+table+" GROUP BY version")
		require.NoError(t, err, "read %s", table)
		n := 0
		for rows.Next() {
			var v string
			var c int
			require.NoError(t, rows.Scan(&v, &c), "scan")
			assert.Equal(t, 1, c, "%s: version %s recorded once", table, v)
			n++
		}
		require.NoError(t, rows.Err(), "rows")
		rows.Close()
		assert.Positive(t, n, "%s records the migrations", table)
	}
	var admins int
	q := "SELECT COUNT(*) FROM users WHERE email_lower = " + d.Placeholder(1)
	require.NoError(t, db.DB.QueryRowContext(ctx, q, adminEmail).Scan(&admins), "count admins")
	assert.Equal(t, 1, admins, "one admin, created by one instance")
}
