package cache_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
)

func TestAsideTelemetry(t *testing.T) {
	sdk := telemetrytest.New(t)
	store := newFlaky[string](t)
	a := cache.NewAside[string, string](store, cache.Options[string]{
		Name: "users", MeterProvider: sdk.Meters, TracerProvider: sdk.Tracers,
	})
	ctx, end := sdk.Parent(context.Background())
	boom := errors.New("boom")

	_, err := a.Get(ctx, "k", constLoad("v")) // miss, load ok
	require.NoError(t, err, "load")
	_, err = a.Get(ctx, "k", constLoad("w")) // hit
	require.NoError(t, err, "hit")
	_, err = a.Get(ctx, "nf", func(context.Context) (string, error) { return "", cache.ErrNotFound })
	require.ErrorIs(t, err, cache.ErrNotFound, "miss, load not found")
	_, err = a.Get(ctx, "nf", constLoad("x"))
	require.ErrorIs(t, err, cache.ErrNotFound, "negative hit")
	_, err = a.Get(ctx, "bad", func(context.Context) (string, error) { return "", boom })
	require.ErrorIs(t, err, boom, "miss, load error")
	deleted := false
	_, err = a.Get(ctx, "fenced", func(ctx context.Context) (string, error) {
		if !deleted { // the first fill is refused; the second stores
			deleted = true
			require.NoError(t, a.Delete(ctx, "fenced"), "delete during the load")
		}
		return "old", nil
	})
	require.NoError(t, err, "a refused fill is loaded again, and answers its caller")
	store.fail.Store(true)
	_, err = a.Get(ctx, "k", constLoad("v")) // store down: miss, fallback, load ok, no set
	require.NoError(t, err, "served from the loader")
	store.fail.Store(false)
	end()

	name := "svckit.cache.name=users"
	assert.Equal(t, map[string]int64{
		"svckit.cache.requests{result=hit," + name + "}":            1,
		"svckit.cache.requests{result=miss," + name + "}":           5,
		"svckit.cache.requests{result=negative_hit," + name + "}":   1,
		"svckit.cache.loads{result=ok," + name + "}":                4,
		"svckit.cache.loads{result=not_found," + name + "}":         1,
		"svckit.cache.loads{result=error," + name + "}":             1,
		"svckit.cache.fills.rejected{" + name + "}":                 1,
		"svckit.cache.store.errors{operation=get," + name + "}":     1,
		"svckit.cache.fallbacks{" + name + "}":                      1,
		"svckit.dedupe.calls{role=leader,svckit.dedupe.name=users}": 6, // each fill led by its caller
	}, sdk.Sums(t), "every outcome counted once under its result, never with a key")

	var loads, failed int
	for _, s := range sdk.Spans.GetSpans() {
		if s.Name != cache.SpanLoad {
			continue
		}
		loads++
		assert.Equal(t, map[string]string{cache.AttrName: "users"}, withoutError(telemetrytest.SpanAttrs(s)), "load span attributes: the cache name, no key")
		assert.True(t, s.Parent.IsValid(), "a load span is a child of the caller's span")
		if s.Status.Code == codes.Error {
			failed++
			assert.Equal(t, "*errors.errorString", telemetrytest.SpanAttrs(s)["error.type"], "error type, not message")
		}
	}
	assert.Equal(t, 6, loads, "one span per loader call")
	assert.Equal(t, 1, failed, "only the failed load is an error; not found is an answer")
}

func withoutError(m map[string]string) map[string]string {
	delete(m, "error.type")
	return m
}

func TestAsideTelemetryStaleServe(t *testing.T) {
	sdk := telemetrytest.New(t)
	a, clk := swr(t, cache.Options[string]{Name: "stale", MeterProvider: sdk.Meters, TracerProvider: sdk.Tracers})
	ctx := context.Background()
	_, err := a.Get(ctx, "k", func(context.Context) (int, error) { return 1, nil })
	require.NoError(t, err, "load")
	clk.Advance(2 * time.Minute)
	_, err = a.Get(ctx, "k", func(context.Context) (int, error) { return 2, nil })
	require.NoError(t, err, "stale hit")
	a.WaitRefreshes()
	sums := sdk.Sums(t)
	assert.Equal(t, int64(1), sums["svckit.cache.stale_serves{svckit.cache.name=stale}"], "one stale serve")
	assert.Equal(t, int64(2), sums["svckit.cache.loads{result=ok,svckit.cache.name=stale}"], "the first load and the refresh")
	assert.Empty(t, sdk.Spans.GetSpans(), "no span without a traced caller")
}

// TestAsideHitAllocs proves that the instrumentation adds no allocation to
// a hit, with no provider installed (the global no-op) and with the SDK.
func TestAsideHitAllocs(t *testing.T) {
	ctx := context.Background()
	sdk := telemetrytest.New(t)
	for _, tc := range []struct {
		name string
		opts cache.Options[string]
	}{
		{"no provider", cache.Options[string]{}},
		{"sdk", cache.Options[string]{Name: "users", MeterProvider: sdk.Meters, TracerProvider: sdk.Tracers}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := cache.NewAside[string, string](newMemory[string](t, cache.MemoryOptions[string]{}), tc.opts)
			_, err := a.Get(ctx, "k", constLoad("v"))
			require.NoError(t, err, "warm")
			load := constLoad("w")
			allocs := testing.AllocsPerRun(1000, func() { _, _ = a.Get(ctx, "k", load) })
			t.Logf("allocs per hit: %v", allocs)
			assert.Zero(t, allocs, "a hit allocates nothing")
		})
	}
}

// opStore is a Memory store whose operations fail one by one, as the test
// says: set, delete, decode (Get finds an undecodable entry), and, through
// leaseStore, lease and release.
type opStore struct {
	*cache.Memory[string]
	failSet, failDelete, undecodable atomic.Bool
}

func (s *opStore) Get(ctx context.Context, k string) (cache.Entry[string], bool, error) {
	if s.undecodable.Load() {
		return cache.Entry[string]{}, false, fmt.Errorf("codec: %w", cache.ErrUndecodable)
	}
	return s.Memory.Get(ctx, k)
}

func (s *opStore) Set(ctx context.Context, k string, e cache.Entry[string], ttl time.Duration) error {
	if s.failSet.Load() {
		return errStoreDown
	}
	return s.Memory.Set(ctx, k, e, ttl)
}

func (s *opStore) Delete(ctx context.Context, ks ...string) error {
	if s.failDelete.Load() {
		return errStoreDown
	}
	return s.Memory.Delete(ctx, ks...)
}

// leaseStore adds a Leaser to opStore whose Lease or Release fail as the
// test says; otherwise every lease is granted and every fill stored.
type leaseStore struct {
	*opStore
	failLease, failRelease atomic.Bool
}

func (s *leaseStore) Lease(context.Context, string, time.Duration) (cache.Entry[string], bool, uint64, error) {
	if s.failLease.Load() {
		return cache.Entry[string]{}, false, 0, errStoreDown
	}
	return cache.Entry[string]{}, false, 1, nil
}

func (s *leaseStore) Fill(ctx context.Context, k string, _ uint64, e cache.Entry[string], ttl time.Duration) (bool, error) {
	return true, s.Set(ctx, k, e, ttl)
}

func (s *leaseStore) Release(context.Context, string, uint64) error {
	if s.failRelease.Load() {
		return errStoreDown
	}
	return nil
}

func (s *leaseStore) LeaseRefresh(context.Context, string, cache.Entry[string], int64) (bool, error) {
	return false, nil
}

// TestAsideTelemetryStoreErrorsByOperation fails each store operation in
// turn and finds it counted under its operation, with a fallback only for
// a read the loader served instead (here the lease; the get is in
// TestAsideTelemetry).
func TestAsideTelemetryStoreErrorsByOperation(t *testing.T) {
	sdk := telemetrytest.New(t)
	ctx := context.Background()
	opts := cache.Options[string]{Name: "ops", MeterProvider: sdk.Meters, DeleteRetries: 1}
	plain := &opStore{Memory: newMemory[string](t, cache.MemoryOptions[string]{})}
	a := cache.NewAside[string, string](plain, opts)

	plain.failSet.Store(true)
	_, err := a.Get(ctx, "set", constLoad("v"))
	require.NoError(t, err, "a failed set still answers from the loader")
	plain.failSet.Store(false)
	plain.undecodable.Store(true)
	_, err = a.Get(ctx, "decode", constLoad("v"))
	require.NoError(t, err, "an undecodable entry is reloaded")
	plain.undecodable.Store(false)
	plain.failDelete.Store(true)
	require.ErrorIs(t, a.Delete(ctx, "set"), errStoreDown, "a failed invalidation is reported")
	plain.failDelete.Store(false)

	leased := &leaseStore{opStore: &opStore{Memory: newMemory[string](t, cache.MemoryOptions[string]{})}}
	l := cache.NewAside[string, string](leased, opts)
	leased.failLease.Store(true)
	_, err = l.Get(ctx, "lease", constLoad("v"))
	require.NoError(t, err, "a failed lease falls back to the loader")
	leased.failLease.Store(false)
	leased.failRelease.Store(true)
	boom := errors.New("boom")
	_, err = l.Get(ctx, "release", func(context.Context) (string, error) { return "", boom })
	require.ErrorIs(t, err, boom, "the load failed, then the release")

	got := map[string]int64{}
	for k, v := range sdk.Sums(t) {
		if strings.HasPrefix(k, cache.MetricStoreErrors) || strings.HasPrefix(k, cache.MetricFallbacks) {
			got[k] = v
		}
	}
	name := "svckit.cache.name=ops"
	assert.Equal(t, map[string]int64{
		"svckit.cache.store.errors{operation=set," + name + "}": 1,
		// Get reads the entry, then the fill reads it again under the
		// dedupe group: both reads fail to decode it.
		"svckit.cache.store.errors{operation=decode," + name + "}":  2,
		"svckit.cache.store.errors{operation=delete," + name + "}":  1,
		"svckit.cache.store.errors{operation=lease," + name + "}":   1,
		"svckit.cache.store.errors{operation=release," + name + "}": 1,
		"svckit.cache.fallbacks{" + name + "}":                      1,
	}, got, "each failed operation under its name; a fallback only for the failed lease")
}
