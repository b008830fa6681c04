package cache_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
)

// swr returns an Aside refreshing after a minute on a fake clock shared with
// its store, and the clock.
func swr(t *testing.T, opts cache.Options[string]) (*cache.Aside[string, int], *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	m := newMemory(t, cache.MemoryOptions[int]{Now: clk.Now})
	opts.TTL = time.Hour
	opts.RefreshAfter = time.Minute
	opts.Jitter = -1
	opts.Now = clk.Now
	a := cache.NewAside[string, int](m, opts)
	t.Cleanup(func() { require.NoError(t, a.Close(), "close") })
	return a, clk
}

func TestRefreshServesStaleWhileOneRefreshRuns(t *testing.T) {
	ctx := context.Background()
	a, clk := swr(t, cache.Options[string]{})
	var loads atomic.Int32
	release := make(chan struct{})
	load := func(context.Context) (int, error) {
		n := loads.Add(1)
		if n > 1 {
			<-release
		}
		return int(n), nil
	}
	v, err := a.Get(ctx, "k", load)
	require.NoError(t, err, "first load")
	require.Equal(t, 1, v, "first value")

	clk.Advance(30 * time.Second)
	v, _ = a.Get(ctx, "k", load)
	assert.Equal(t, 1, v, "a fresh value is served")
	assert.Equal(t, uint64(0), a.Stats().Refreshes, "no refresh while fresh")

	clk.Advance(time.Minute) // now stale, still within TTL
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := a.Get(ctx, "k", load)
			assert.NoError(t, err, "stale read")
			assert.Equal(t, 1, v, "the stale value is served at once")
		}()
	}
	wg.Wait()
	assert.Equal(t, uint64(1), a.Stats().Refreshes, "one background refresh for many stale reads")
	close(release)
	require.NoError(t, a.Close(), "close waits for the refresh")
	assert.Equal(t, int32(2), loads.Load(), "the loader ran once more")
	v, _ = a.Get(ctx, "k", load)
	assert.Equal(t, 2, v, "the refreshed value replaced the stale one")
}

func TestRefreshFailureKeepsStaleValue(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	a, clk := swr(t, cache.Options[string]{Logger: slog.New(rec)})
	_, err := a.Get(ctx, "k", func(context.Context) (int, error) { return 1, nil })
	require.NoError(t, err, "first load")
	clk.Advance(2 * time.Minute)

	tests := []struct {
		name string
		load func(context.Context) (int, error)
	}{
		{"error", func(context.Context) (int, error) { return 0, errStoreDown }},
		{"not found", func(context.Context) (int, error) { return 0, cache.ErrNotFound }},
		{"panic", func(context.Context) (int, error) { panic("refresh bug") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := a.Get(ctx, "k", tt.load)
			require.NoError(t, err, "stale read")
			assert.Equal(t, 1, v, "stale value served")
			a.WaitRefreshes()
			v, err = a.Get(ctx, "k", tt.load)
			require.NoError(t, err, "read after the failed refresh")
			assert.Equal(t, 1, v, "the stale value stays")
			a.WaitRefreshes()
		})
	}
	assert.Contains(t, rec.levels(), slog.LevelError, "a panicking refresh is reported")
}

func TestRefreshStopsAfterClose(t *testing.T) {
	ctx := context.Background()
	a, clk := swr(t, cache.Options[string]{})
	loads := 0
	load := func(context.Context) (int, error) { loads++; return loads, nil }
	_, err := a.Get(ctx, "k", load)
	require.NoError(t, err, "first load")
	require.NoError(t, a.Close(), "close")
	clk.Advance(2 * time.Minute)
	v, err := a.Get(ctx, "k", load)
	require.NoError(t, err, "stale read after Close")
	assert.Equal(t, 1, v, "stale value served")
	assert.Equal(t, 1, loads, "no refresh after Close")
}

func TestRefreshDeleteWins(t *testing.T) {
	ctx := context.Background()
	a, clk := swr(t, cache.Options[string]{})
	_, err := a.Get(ctx, "k", func(context.Context) (int, error) { return 1, nil })
	require.NoError(t, err, "first load")
	clk.Advance(2 * time.Minute)
	started := make(chan struct{})
	release := make(chan struct{})
	_, err = a.Get(ctx, "k", func(context.Context) (int, error) {
		close(started)
		<-release
		return 2, nil // read before the update below
	})
	require.NoError(t, err, "stale read starts the refresh")
	<-started
	require.NoError(t, a.Delete(ctx, "k"), "update invalidates")
	v, err := a.Get(ctx, "k", func(context.Context) (int, error) { return 3, nil })
	require.NoError(t, err, "read after the update")
	assert.Equal(t, 3, v, "the read after the update loads afresh")
	close(release)
	a.WaitRefreshes()
	v, _ = a.Get(ctx, "k", func(context.Context) (int, error) { return 4, nil })
	assert.Equal(t, 3, v, "the refresh begun before the update did not overwrite")
}
