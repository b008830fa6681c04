package dialect_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/testdb"
)

// safeToRetry is an error that says whether the request reached the server.
type safeToRetry bool

func (s safeToRetry) Error() string     { return "request not sent" }
func (s safeToRetry) SafeToRetry() bool { return bool(s) }

func TestClassifySafeToRetry(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want dialect.Class
	}{
		{"never sent", safeToRetry(true), dialect.ConnectionLost},
		{"never sent, wrapped", fmt.Errorf("txn: begin: %w", safeToRetry(true)), dialect.ConnectionLost},
		{"maybe sent", safeToRetry(false), dialect.Other},
		{"never sent but the context ended", errors.Join(context.DeadlineExceeded, safeToRetry(true)), dialect.Timeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, dialect.Classify(tc.err), "Classify(%v)", tc.err)
		})
	}
}

// TestClassifyPgxConnClosed: pgx's error for a statement on a connection
// that is already closed is a lost connection (503), not an unknown one.
func TestClassifyPgxConnClosed(t *testing.T) {
	url := os.Getenv(testdb.PostgresEnv)
	if url == "" {
		testdb.Postgres(t) // skips, or fails when services are required
		return
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err, "connect")
	require.NoError(t, conn.Close(ctx), "close")
	_, err = conn.Exec(ctx, "SELECT 1")
	require.Error(t, err, "a statement on a closed connection fails")
	assert.Equal(t, dialect.ConnectionLost, dialect.Classify(err), "pgx's %q", err)
}
