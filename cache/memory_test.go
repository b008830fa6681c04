package cache_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/cache/internal/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a clock tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time                   { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration)          { c.ns.Add(int64(d)) }
func (c *fakeClock) advanceFunc() func(time.Duration) { return c.Advance }

func newMemory[V any](t *testing.T, opts cache.MemoryOptions[V]) *cache.Memory[V] {
	t.Helper()
	m := cache.NewMemory(opts)
	t.Cleanup(func() { require.NoError(t, m.Close(), "close memory store") })
	return m
}

func TestMemoryContract(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T) (cache.Store[storetest.User], func(time.Duration)) {
			clk := newFakeClock()
			return newMemory(t, cache.MemoryOptions[storetest.User]{Now: clk.Now}), clk.advanceFunc()
		},
	})
}

func TestMemoryRealClock(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		opts cache.MemoryOptions[int]
	}{
		{"default resolution", cache.MemoryOptions[int]{}},
		{"coarse", cache.MemoryOptions[int]{Resolution: time.Millisecond}},
		{"precise", cache.MemoryOptions[int]{Resolution: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemory(t, tt.opts)
			require.NoError(t, m.Set(ctx, "k", cache.Entry[int]{Value: 1}, time.Hour), "set")
			require.NoError(t, m.Set(ctx, "gone", cache.Entry[int]{Value: 1}, -1), "negative TTL: no expiry")
			v, ok, err := m.Get(ctx, "k")
			require.NoError(t, err, "get")
			assert.True(t, ok, "found")
			assert.Equal(t, 1, v.Value, "value")
			assert.Equal(t, 2, m.Len(), "two entries")
			m.Clear()
			_, ok, _ = m.Get(ctx, "k")
			assert.False(t, ok, "Clear empties the store")
		})
	}
}

func TestMemoryBounds(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		opts cache.MemoryOptions[[]byte]
		n    int // entries written
		max  int // entries the bound allows
	}{
		{"max entries", cache.MemoryOptions[[]byte]{MaxEntries: 1000}, 5000, 1000},
		{"max bytes", cache.MemoryOptions[[]byte]{
			MaxBytes: 100 * 1000,
			Weigher:  func(k string, v []byte) uint32 { return uint32(len(k) + len(v)) },
		}, 5000, 1000},
		{"default bound", cache.MemoryOptions[[]byte]{}, cache.DefaultMaxEntries * 2, cache.DefaultMaxEntries},
	}
	// The bound is enforced as otter drains its write buffer: it may lag
	// by a few hundred entries.
	const slack = 512
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemory(t, tt.opts)
			val := make([]byte, 96)
			for i := range tt.n {
				require.NoError(t, m.Set(ctx, fmt.Sprintf("k%05d", i), cache.Entry[[]byte]{Value: val}, 0), "set %d", i)
			}
			present := 0
			for i := range tt.n {
				if _, ok, _ := m.Get(ctx, fmt.Sprintf("k%05d", i)); ok {
					present++
				}
			}
			assert.LessOrEqual(t, present, tt.max+slack, "the bound holds")
			assert.Positive(t, present, "recent entries are kept")
		})
	}
}

func TestMemoryMaxBytesNeedsWeigher(t *testing.T) {
	assert.PanicsWithValue(t, "cache: MemoryOptions.MaxBytes needs a Weigher", func() {
		cache.NewMemory(cache.MemoryOptions[string]{MaxBytes: 1})
	}, "MaxBytes without a Weigher is a programming error")
}

func TestMemoryPointerValuesShared(t *testing.T) {
	ctx := context.Background()
	type user struct{ Name string }
	m := newMemory[*user](t, cache.MemoryOptions[*user]{})
	u := &user{Name: "ann"}
	require.NoError(t, m.Set(ctx, "u", cache.Entry[*user]{Value: u}, time.Minute), "set pointer")
	got, ok, _ := m.Get(ctx, "u")
	require.True(t, ok, "found")
	assert.Same(t, u, got.Value, "pointer values are stored as they are, not copied")
}

func TestMemoryGetDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	type user struct{ Name string }
	m := newMemory[*user](t, cache.MemoryOptions[*user]{})
	require.NoError(t, m.Set(ctx, "u", cache.Entry[*user]{Value: &user{"ann"}}, time.Hour), "set")
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok, _ := m.Get(ctx, "u"); !ok {
			panic("miss")
		}
	})
	assert.Zero(t, allocs, "a hit allocates nothing")

	a := cache.NewAside[string, *user](m, cache.Options[string]{})
	load := func(context.Context) (*user, error) { return nil, nil }
	allocs = testing.AllocsPerRun(100, func() {
		if u, err := a.Get(ctx, "u", load); err != nil || u == nil {
			panic("miss")
		}
	})
	assert.Zero(t, allocs, "an Aside hit with string keys allocates nothing")
}
