package txn_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/txn"
)

func TestTelemetry(t *testing.T) {
	sdk := telemetrytest.New(t)
	db := testdb.SQLite(t)
	opts := txn.Options{Telemetry: txn.NewTelemetry(sdk.Meters, sdk.Tracers), Backoff: noWait}
	ctx, end := sdk.Parent(context.Background())
	boom := errors.New("boom")

	require.NoError(t, txn.DoWith(ctx, db.DB, opts, func(context.Context) error { return nil }), "commit")
	runs := 0
	require.NoError(t, txn.DoWith(ctx, db.DB, opts, func(context.Context) error {
		if runs++; runs == 1 {
			return &pgconn.PgError{Code: "40P01"} // a deadlock: retried
		}
		return nil
	}), "commit after a retry")
	require.ErrorIs(t, txn.DoWith(ctx, db.DB, opts, func(context.Context) error { return boom }), boom, "rollback")
	require.NoError(t, txn.DoWith(context.Background(), db.DB, opts, func(ctx context.Context) error {
		return txn.DoWith(ctx, db.DB, opts, func(context.Context) error { return nil }) // joined: not counted
	}), "untraced commit")
	end()

	assert.Equal(t, map[string]int64{
		"svckit.txn.transactions{result=committed}":   3,
		"svckit.txn.transactions{result=rolled_back}": 1,
		"svckit.txn.attempts":                         5,
		"svckit.txn.retries{reason=deadlock}":         1,
	}, sdk.Sums(t), "outcomes, attempts and retries by reason")

	assert.Equal(t, []string{"sqlite error *errors.errorString", "sqlite ok", "sqlite ok+retry:reason=deadlock"}, txnSpans(t, sdk),
		"one span per traced transaction, retries as events")
}

// TestTelemetryCountsEveryRun checks the SDK sees each transaction of a
// loop; the allocation proof is TestTelemetryHooksAllocateNothing.
func TestTelemetryCountsEveryRun(t *testing.T) {
	sdk := telemetrytest.New(t)
	db := testdb.SQLite(t)
	opts := txn.Options{Telemetry: txn.NewTelemetry(sdk.Meters, sdk.Tracers)}
	for range 50 {
		require.NoError(t, txn.DoWith(context.Background(), db.DB, opts, func(context.Context) error { return nil }), "commit")
	}
	assert.Equal(t, int64(50), sdk.Sums(t)["svckit.txn.transactions{result=committed}"], "every commit counted")
	assert.Empty(t, sdk.Spans.GetSpans(), "no span without a traced caller")
}
