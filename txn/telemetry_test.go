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
	r := txn.New(db.DB, txn.Options{MeterProvider: sdk.Meters, TracerProvider: sdk.Tracers, Backoff: noWait})
	ctx, end := sdk.Parent(context.Background())
	boom := errors.New("boom")

	require.NoError(t, r.Do(ctx, func(context.Context) error { return nil }), "commit")
	runs := 0
	require.NoError(t, r.Do(ctx, func(context.Context) error {
		if runs++; runs == 1 {
			return &pgconn.PgError{Code: "40P01"} // a deadlock: retried
		}
		return nil
	}), "commit after a retry")
	require.ErrorIs(t, r.Do(ctx, func(context.Context) error { return boom }), boom, "rollback")
	require.NoError(t, r.Do(context.Background(), func(ctx context.Context) error {
		return r.Do(ctx, func(context.Context) error { return nil }) // joined: not counted
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

// TestRunnerDoWith: a Runner's DoWith takes its options for one call and
// reports to the Runner's instruments; the package's DoWith reports
// nothing; New refuses a nil database at once.
func TestRunnerDoWith(t *testing.T) {
	sdk := telemetrytest.New(t)
	db := testdb.SQLite(t)
	r := txn.New(db.DB, txn.Options{MeterProvider: sdk.Meters, MaxAttempts: 1})
	deadlockOnce := func() func(context.Context) error {
		runs := 0
		return func(context.Context) error {
			if runs++; runs == 1 {
				return &pgconn.PgError{Code: "40P01"}
			}
			return nil
		}
	}
	require.Error(t, r.Do(context.Background(), deadlockOnce()), "the Runner's own options: one attempt")
	require.NoError(t, r.DoWith(context.Background(), txn.Options{MaxAttempts: 2, Backoff: noWait}, deadlockOnce()),
		"this call's options: a retry")
	require.NoError(t, txn.DoWith(context.Background(), db.DB, txn.Options{Backoff: noWait}, deadlockOnce()), "the package's DoWith")
	assert.Equal(t, map[string]int64{
		"svckit.txn.transactions{result=committed}":   1,
		"svckit.txn.transactions{result=rolled_back}": 1,
		"svckit.txn.attempts":                         3,
		"svckit.txn.retries{reason=deadlock}":         1,
	}, sdk.Sums(t), "the Runner's two calls, and nothing of the package's DoWith")
	assert.Same(t, db.DB, r.DB(), "DB is the Runner's database")
	assert.PanicsWithValue(t, "txn: New: nil *sql.DB", func() { txn.New(nil, txn.Options{}) }, "a nil database is a programming error")
}

// TestTelemetryCountsEveryRun checks the SDK sees each transaction of a
// loop; the allocation proof is TestTelemetryHooksAllocateNothing.
func TestTelemetryCountsEveryRun(t *testing.T) {
	sdk := telemetrytest.New(t)
	db := testdb.SQLite(t)
	r := txn.New(db.DB, txn.Options{MeterProvider: sdk.Meters, TracerProvider: sdk.Tracers})
	for range 50 {
		require.NoError(t, r.Do(context.Background(), func(context.Context) error { return nil }), "commit")
	}
	assert.Equal(t, int64(50), sdk.Sums(t)["svckit.txn.transactions{result=committed}"], "every commit counted")
	assert.Empty(t, sdk.Spans.GetSpans(), "no span without a traced caller")
}
