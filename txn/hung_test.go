package txn_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/faultproxy"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/txn"
)

// TestBeginOnHungConnectionPostgres: the server stops answering (a fault
// proxy swallows the traffic) while a pooled connection waits; DoWith's
// BEGIN on it ends at the caller's deadline with the context's error, instead of
// waiting for the connection, and the pool works again once the server
// answers.
func TestBeginOnHungConnectionPostgres(t *testing.T) {
	db := testdb.Postgres(t)
	u, err := url.Parse(db.DSN)
	require.NoError(t, err, "DSN parses")
	proxy, err := faultproxy.New(u.Host)
	require.NoError(t, err, "fault proxy")
	t.Cleanup(func() { require.NoError(t, proxy.Close(), "close the proxy") })
	u.Host = proxy.Addr()
	pool, err := sql.Open("pgx", u.String())
	require.NoError(t, err, "open through the proxy")
	t.Cleanup(func() { pool.Close() })
	pool.SetMaxOpenConns(1)
	// Two uses: pgx checks a pooled connection with a ping when it was last
	// handed out over a second ago; a recent one goes straight to BEGIN.
	require.NoError(t, pool.Ping(), "a connection in the pool")
	require.NoError(t, pool.Ping(), "the connection used again")

	proxy.BlackHole()
	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	ran := false
	began := time.Now()
	done := make(chan error, 1)
	go func() { done <- txn.Do(ctx, pool, func(context.Context) error { ran = true; return nil }) }()
	select {
	case err = <-done:
	case <-time.After(deadline + 2*time.Second):
		require.NoError(t, proxy.Clear(), "let the server answer")
		<-done
		t.Fatal("BEGIN on a hung connection waited past the caller's deadline")
	}
	took := time.Since(began)
	require.Error(t, err, "BEGIN on a hung connection fails")
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "it reports the deadline (504 TIMEOUT in envelope): %v", err)
	assert.False(t, ran, "fn never ran")
	assert.Less(t, took, deadline+500*time.Millisecond, "BEGIN ends at the deadline, not when the server answers")

	require.NoError(t, proxy.Clear(), "the server answers again")
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	require.NoError(t, txn.Do(ctx2, pool, func(ctx context.Context) error {
		var one int
		return txn.From(ctx, pool).QueryRowContext(ctx, "SELECT 1").Scan(&one)
	}), "the pool serves again after the fault")
}
