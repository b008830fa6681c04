package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestCoarseClock reads a store's coarse clock from many goroutines: each
// sees it never go back and never ahead of the system clock, and the clock
// goroutine stops by itself once nobody reads it.
func TestCoarseClock(t *testing.T) {
	s := NewMemory(MemoryOptions{})
	defer s.Close()
	c := &s.clock
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			last := int64(0)
			deadline := time.Now().Add(20 * time.Millisecond)
			for time.Now().Before(deadline) {
				now, _ := c.coarse()
				if now < last {
					t.Errorf("coarse clock went back from %d to %d", last, now)
					return
				}
				if exact := c.exact(); now > exact {
					t.Errorf("coarse clock %d is ahead of the system clock %d", now, exact)
					return
				}
				last = now
			}
		})
	}
	wg.Wait()
	before, _ := c.coarse()
	assert.Eventually(t, func() bool {
		now, _ := c.coarse()
		return now > before
	}, 5*time.Second, coarseResolution, "the clock advances while it is read")
	assert.Eventually(t, func() bool { return !c.running.Load() }, 5*time.Second, time.Millisecond,
		"the clock goroutine stops once nobody reads the clock")
	goleak.VerifyNone(t)
}

// TestMemoryCloseStopsClock checks that the clock goroutine belongs to its
// store: two stores run two clocks, Close ends the store's own goroutine
// (goleak finds none of this test's goroutines left) while decisions go on,
// and a closed store keeps deciding on the system clock without starting it
// again.
func TestMemoryCloseStopsClock(t *testing.T) {
	a, b := NewMemory(MemoryOptions{}), NewMemory(MemoryOptions{})
	limit := Limit{Rate: 1_000_000, Period: time.Second}
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range []*Memory{a, b} {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := s.Allow(ctx, "k", limit)
				if err != nil || !res.Allowed {
					t.Errorf("decision failed: %v %+v", err, res)
					return
				}
			}
		})
	}
	require.Eventually(t, func() bool { return a.clock.running.Load() && b.clock.running.Load() },
		5*time.Second, time.Millisecond, "each deciding store runs its own clock")

	require.NoError(t, a.Close(), "Close never fails")
	assert.False(t, a.clock.running.Load(), "Close returns after the clock goroutine has stopped")
	assert.True(t, b.clock.running.Load(), "closing one store leaves the other's clock running")
	require.NoError(t, b.Close(), "Close never fails")
	assert.False(t, b.clock.running.Load(), "Close returns after the clock goroutine has stopped")
	goleak.VerifyNone(t, goleak.IgnoreCurrent(), goleak.IgnoreAnyFunction("testing.tRunner"))

	// Decisions still running after Close never start the clock again.
	time.Sleep(5 * coarseResolution)
	close(stop)
	wg.Wait()
	assert.False(t, a.clock.running.Load() || b.clock.running.Load(), "a closed store's clock stays stopped")
	res, err := a.Allow(ctx, "fresh", limit)
	require.NoError(t, err, "a closed store still decides")
	assert.True(t, res.Allowed, "a closed store still decides")
	require.NoError(t, a.Close(), "Close twice is harmless")
	goleak.VerifyNone(t)
}

// TestLimiterCloseOwnStore checks that a Limiter closes the store it made
// and leaves a store it was given to its owner.
func TestLimiterCloseOwnStore(t *testing.T) {
	ctx := context.Background()
	l := New(PerSecond(1000), nil)
	_, err := l.Allow(ctx, "k")
	require.NoError(t, err, "memory store never fails")
	require.True(t, l.own.clock.running.Load(), "deciding starts the store's clock")
	require.NoError(t, l.Close(), "Close never fails")
	assert.False(t, l.own.clock.running.Load(), "Close stops the clock of the store New made")
	assert.True(t, l.own.clock.closed.Load(), "and closes that store")

	given := NewMemory(MemoryOptions{})
	defer given.Close()
	l = New(PerSecond(1000), given)
	require.NoError(t, l.Close(), "Close never fails")
	assert.False(t, given.clock.closed.Load(), "a store given to New is left to its owner")
	goleak.VerifyNone(t, goleak.IgnoreCurrent())
}

// TestMemoryCoarseClockDeniesExactly checks that the default clock never
// denies an event the exact clock allows: each time a denied client waits
// exactly its RetryAfter, its next event is allowed, although the coarse
// clock may not have caught up yet.
func TestMemoryCoarseClockDeniesExactly(t *testing.T) {
	s := NewMemory(MemoryOptions{})
	defer s.Close()
	l := New(Limit{Rate: 1, Period: 3 * time.Millisecond}, s)
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
