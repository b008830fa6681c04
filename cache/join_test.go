package cache_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/dedupe"
	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
)

// pausingStore stores like the store it wraps, then holds the writer until
// release is closed: the moment between a fill's write and the end of the
// fill, when callers may still join it.
type pausingStore struct {
	cache.Store[string]
	once    sync.Once
	stored  chan struct{}
	release chan struct{}
}

// Set pauses the first write only.
func (s *pausingStore) Set(ctx context.Context, k string, e cache.Entry[string], ttl time.Duration) error {
	err := s.Store.Set(ctx, k, e, ttl)
	s.once.Do(func() {
		close(s.stored)
		<-s.release
	})
	return err
}

// TestJoinerAfterInvalidation is the history a linearizability check caught
// across instances: a fill reads the old row and stores it; an update
// commits elsewhere and its invalidation removes the entry; a read that
// begins after that update finished misses and joins the fill, still in
// flight. It must not return the fill's old value.
func TestJoinerAfterInvalidation(t *testing.T) {
	ctx := context.Background()
	mem := cache.NewMemory[string](cache.MemoryOptions[string]{})
	t.Cleanup(func() { mem.Close() })
	store := &pausingStore{Store: mem, stored: make(chan struct{}), release: make(chan struct{})}
	sdk := telemetrytest.New(t)
	a := cache.NewAside[string, string](store, cache.Options[string]{Name: "join", MeterProvider: sdk.Meters})
	t.Cleanup(func() { a.Close() })

	var row atomic.Value // the database
	row.Store("v1")
	load := func(context.Context) (string, error) { return row.Load().(string), nil }

	first := make(chan string)
	go func() {
		v, err := a.Get(ctx, "k", load)
		assert.NoError(t, err, "the first read")
		first <- v
	}()
	<-store.stored // the fill read v1 and stored it

	// Another process updates the row and invalidates the entry; its
	// update has finished before the second read begins.
	row.Store("v2")
	require.NoError(t, mem.Delete(ctx, "k"), "invalidate")

	second := make(chan string)
	go func() {
		v, err := a.Get(ctx, "k", load)
		assert.NoError(t, err, "the second read")
		second <- v
	}()
	// The second read has missed and joined the fill still in flight.
	waitJoined(t, sdk, "join", 1)
	close(store.release)

	assert.Equal(t, "v1", <-first, "the first read began before the update: v1 is its answer")
	assert.Equal(t, "v2", <-second, "the second read began after the update finished: never v1")
}

// waitJoined waits until n calls have joined a load in flight in the
// Aside named name, as its dedupe group counts them: each is then bound to
// that load's result.
func waitJoined(t *testing.T, sdk *telemetrytest.SDK, name string, n int64) {
	t.Helper()
	sdk.WaitSum(t, dedupe.MetricCalls+"{"+dedupe.AttrRole+"=shared,"+dedupe.AttrName+"="+name+"}", n, 10*time.Second)
}
