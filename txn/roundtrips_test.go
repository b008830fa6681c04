package txn_test

import (
	"context"
	"database/sql"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/faultproxy"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/txn"
)

// TestRoundTripsPostgres: a transaction through DoWith costs the round trips
// of the same transaction written by hand with database/sql (BEGIN, the
// statement, COMMIT) and not one more: no ping, no SET, no savepoint, for
// any TxOptions. A proxy in front of the server counts what the client
// sends; pgx's ping of a connection idle for a second is switched off so
// that a slow run cannot add one.
func TestRoundTripsPostgres(t *testing.T) {
	db := testdb.Postgres(t)
	u, err := url.Parse(db.DSN)
	require.NoError(t, err, "DSN parses")
	proxy, err := faultproxy.New(u.Host)
	require.NoError(t, err, "proxy")
	t.Cleanup(func() { require.NoError(t, proxy.Close(), "close the proxy") })
	u.Host = proxy.Addr()
	cfg, err := pgx.ParseConfig(u.String())
	require.NoError(t, err, "pgx config")
	pool := stdlib.OpenDB(*cfg, stdlib.OptionShouldPing(func(context.Context, stdlib.ShouldPingParams) bool { return false }))
	t.Cleanup(func() { pool.Close() })
	pool.SetMaxOpenConns(1)
	require.NoError(t, pool.Ping(), "a connection in the pool")

	// Cancellable, as a request's context is.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const stmt, n = "SELECT 1", 5
	sent := func(run func() error) int64 {
		t.Helper()
		before := proxy.Requests()
		for range n {
			require.NoError(t, run(), "transaction")
		}
		return proxy.Requests() - before
	}
	for name, opts := range map[string]*sql.TxOptions{
		"default":      nil,
		"serializable": {Isolation: sql.LevelSerializable},
		"read only":    {ReadOnly: true},
	} {
		t.Run(name, func(t *testing.T) {
			byHand := sent(func() error {
				tx, err := pool.BeginTx(ctx, opts)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					_ = tx.Rollback()
					return err
				}
				return tx.Commit()
			})
			withDo := sent(func() error {
				return txn.DoWith(ctx, pool, txn.Options{TxOptions: opts}, func(ctx context.Context) error {
					_, err := txn.From(ctx, pool).ExecContext(ctx, stmt)
					return err
				})
			})
			assert.Equal(t, int64(3*n), byHand, "BEGIN, the statement and COMMIT by hand: three round trips a transaction")
			assert.Equal(t, byHand, withDo, "DoWith sends what the hand-written transaction sends")
		})
	}
}
