package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCoarseClock reads the coarse clock from many goroutines: each sees it
// never go back and never ahead of the system clock, and the clock goroutine
// stops by itself once nobody reads it.
func TestCoarseClock(t *testing.T) {
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			last := int64(0)
			deadline := time.Now().Add(20 * time.Millisecond)
			for time.Now().Before(deadline) {
				now := coarseNow()
				if now < last {
					t.Errorf("coarse clock went back from %d to %d", last, now)
					return
				}
				if exact := exactNow(); now > exact {
					t.Errorf("coarse clock %d is ahead of the system clock %d", now, exact)
					return
				}
				last = now
			}
		})
	}
	wg.Wait()
	before := coarseNow()
	time.Sleep(5 * coarseResolution)
	assert.Greater(t, coarseNow(), before, "the clock advances while it is read")
	assert.Eventually(t, func() bool { return !coarse.running.Load() }, 5*time.Second, time.Millisecond,
		"the clock goroutine stops once nobody reads the clock")
}

// TestMemoryCoarseClockDeniesExactly checks that the default clock never
// denies an event the exact clock allows: each time a denied client waits
// exactly its RetryAfter, its next event is allowed, although the coarse
// clock may not have caught up yet.
func TestMemoryCoarseClockDeniesExactly(t *testing.T) {
	l := New(Limit{Rate: 1, Period: 3 * time.Millisecond}, NewMemory(MemoryOptions{}))
	ctx := context.Background()
	for i := range 100 {
		res, err := l.Allow(ctx, "k")
		require.NoError(t, err, "memory store never fails")
		if res.Allowed {
			continue
		}
		require.Positive(t, res.RetryAfter, "round %d: a denial says how long to wait", i)
		require.LessOrEqual(t, res.RetryAfter, 3*time.Millisecond, "round %d: never longer than one interval", i)
		time.Sleep(res.RetryAfter)
		res, err = l.Allow(ctx, "k")
		require.NoError(t, err, "memory store never fails")
		require.True(t, res.Allowed, "round %d: allowed once RetryAfter has passed", i)
	}
}
