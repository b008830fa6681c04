package redisstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
	"github.com/svckit/svckit/ratelimit"
	"github.com/svckit/svckit/ratelimit/redisstore"
)

func TestFailuresTelemetry(t *testing.T) {
	sdk := telemetrytest.New(t)
	ctx := context.Background()
	limit := ratelimit.PerSecond(10)
	open := redisstore.New(deadClient(t), redisstore.Options{Fallback: ratelimit.NewMemory(ratelimit.MemoryOptions{}), MeterProvider: sdk.Meters})
	closed := redisstore.New(deadClient(t), redisstore.Options{MeterProvider: sdk.Meters})
	for range 3 {
		res, err := open.Allow(ctx, "k", limit)
		require.NoError(t, err, "the fallback decides")
		assert.True(t, res.Allowed, "within the fallback's limit")
	}
	_, err := closed.Allow(ctx, "k", limit)
	require.ErrorIs(t, err, ratelimit.ErrUnavailable, "no fallback: fail closed")
	assert.Equal(t, map[string]int64{
		"svckit.ratelimit.store.failures{outcome=fallback}":    3,
		"svckit.ratelimit.store.failures{outcome=unavailable}": 1,
	}, sdk.Sums(t), "decisions Redis did not take, by outcome")
}
