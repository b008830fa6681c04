package dedupe_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/dedupe"
	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
)

func TestTelemetryLeaderAndShared(t *testing.T) {
	sdk := telemetrytest.New(t)
	g := dedupe.New[string, int](dedupe.Options{Name: "users", MeterProvider: sdk.Meters})
	release := make(chan struct{})
	const callers = 5
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			_, _, err := g.Do(ctx, "k", func(context.Context) (int, error) { <-release; return 1, nil })
			assert.NoError(t, err, "call")
		})
	}
	require.Eventually(t, func() bool { return dedupe.Waiters(g, "k") == callers }, 5*time.Second, time.Millisecond, "every caller joined")
	close(release)
	wg.Wait()
	r := <-g.DoChan(ctx, "k", func(context.Context) (int, error) { return 2, nil })
	require.NoError(t, r.Err, "a later call starts its own execution")
	assert.Equal(t, map[string]int64{
		"svckit.dedupe.calls{role=leader,svckit.dedupe.name=users}": 2,
		"svckit.dedupe.calls{role=shared,svckit.dedupe.name=users}": callers - 1,
	}, sdk.Sums(t), "one leader per execution, the others shared, never a key")
}

func TestTelemetryNilCountsNothing(t *testing.T) {
	var g dedupe.Group[string, int]
	allocs := testing.AllocsPerRun(500, func() {
		_, _, _ = g.Do(context.Background(), "k", func(context.Context) (int, error) { return 1, nil })
	})
	sdk := telemetrytest.New(t)
	g2 := dedupe.New[string, int](dedupe.Options{MeterProvider: sdk.Meters})
	allocs2 := testing.AllocsPerRun(500, func() {
		_, _, _ = g2.Do(context.Background(), "k", func(context.Context) (int, error) { return 1, nil })
	})
	t.Logf("allocs per Do: no telemetry %v, SDK %v", allocs, allocs2)
	assert.Equal(t, allocs, allocs2, "counting a call adds no allocation")
}
