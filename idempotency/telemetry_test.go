package idempotency_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/idempotency"
	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
)

func TestDoTelemetry(t *testing.T) {
	sdk := telemetrytest.New(t)
	r := idempotency.New(idempotency.NewMemory(idempotency.MemoryOptions{}), idempotency.Options{MeterProvider: sdk.Meters})
	ctx := context.Background()
	ok := func(context.Context) (idempotency.Outcome, error) {
		return idempotency.JSON(http.StatusCreated, map[string]int{"n": 1})
	}
	k := idempotency.Key{Scope: "transfers", Value: "key-1"}
	boom := errors.New("boom")

	_, replayed, err := r.Do(ctx, k, "fp", ok)
	require.NoError(t, err, "first request")
	require.False(t, replayed, "ran")
	_, replayed, err = r.Do(ctx, k, "fp", ok)
	require.NoError(t, err, "retry")
	require.True(t, replayed, "replayed")
	_, _, err = r.Do(ctx, k, "other", ok)
	require.ErrorIs(t, err, idempotency.ErrKeyMismatch, "another body")
	_, _, err = r.Do(ctx, idempotency.Key{Scope: "transfers", Value: "key-2"}, "fp",
		func(context.Context) (idempotency.Outcome, error) { return idempotency.Outcome{}, boom })
	require.ErrorIs(t, err, boom, "fn failed")
	_, _, err = r.Do(ctx, idempotency.Key{Scope: "transfers"}, "fp", ok)
	require.NoError(t, err, "no key")

	assert.Equal(t, map[string]int64{
		"svckit.idempotency.requests{result=claimed}":  1,
		"svckit.idempotency.requests{result=replayed}": 1,
		"svckit.idempotency.requests{result=mismatch}": 1,
		"svckit.idempotency.requests{result=error}":    1,
		"svckit.idempotency.requests{result=no_key}":   1,
	}, sdk.Sums(t), "claims, replays and mismatches, never a key")

	_, _, err = idempotency.Do(ctx, idempotency.NewMemory(idempotency.MemoryOptions{}), k, "fp", ok)
	require.NoError(t, err, "the function Do")
	assert.Equal(t, int64(1), sdk.Sums(t)["svckit.idempotency.requests{result=claimed}"], "counts nothing")
	assert.PanicsWithValue(t, "idempotency: New: nil Store", func() { idempotency.New(nil, idempotency.Options{}) },
		"a nil Store is a programming error")
}
