package ratelimit

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoryIdleKeysSwept checks that idle keys are dropped once the clock
// has moved past their reset, without the store ever being full: decisions
// sweep one shard each time one is due.
func TestMemoryIdleKeysSwept(t *testing.T) {
	hour := Limit{Rate: 1, Period: time.Hour}
	minute := Limit{Rate: 10, Period: time.Minute}
	tests := []struct {
		name string
		// limits of the keys stored, one key per entry and index.
		limits []Limit
		// advance moves the clock at once, then steps decisions follow,
		// each after the clock moved by step.
		advance     time.Duration
		steps       int
		step        time.Duration
		wantEntries int
	}{
		{"a day later, one round of catch-up decisions", []Limit{minute, minute, hour}, 24 * time.Hour, numShards, 0, 1},
		{"a day later, too few decisions to reach every shard", []Limit{minute}, 24 * time.Hour, 16, 0, -1},
		{"the clock at a usual pace, a minute after the keys went idle", []Limit{minute, hour}, 6 * time.Second, numShards + 1, SweepPeriod / numShards, 1 + 1000},
		{"not yet back at full burst", []Limit{hour}, 30 * time.Minute, numShards, 0, 1 + 1000},
		{"only the keys back at full burst", []Limit{minute, hour}, 2 * time.Minute, numShards, 0, 1 + 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			s := NewMemory(MemoryOptions{Now: clock.Now})
			ctx := context.Background()
			for i := range 1000 {
				for j, limit := range tt.limits {
					res, _ := s.Allow(ctx, "k"+strconv.Itoa(j)+":"+strconv.Itoa(i), limit)
					require.True(t, res.Allowed, "a new key is allowed")
				}
			}
			require.Equal(t, 1000*len(tt.limits), s.Len(), "every key held, far below MaxKeys")
			clock.Advance(tt.advance)
			for range tt.steps {
				clock.Advance(tt.step)
				_, _ = s.Allow(ctx, "probe", hour)
			}
			if tt.wantEntries < 0 {
				assert.Greater(t, s.Len(), 1, "a decision sweeps one shard, not the whole store")
				assert.Less(t, s.Len(), 1+1000*len(tt.limits), "the shards due were swept")
				return
			}
			assert.Equal(t, tt.wantEntries, s.Len(), "idle keys are dropped, keys with state are kept")
		})
	}
}

// TestMemoryIdleKeyStartsAfresh checks that a swept key behaves as a new one
// and a limited key keeps its state through sweeps.
func TestMemoryIdleKeyStartsAfresh(t *testing.T) {
	clock := newFakeClock()
	s := NewMemory(MemoryOptions{Now: clock.Now})
	ctx := context.Background()
	limit := Limit{Rate: 2, Period: time.Minute}
	for range 2 {
		_, _ = s.Allow(ctx, "idle", limit)
	}
	long := Limit{Rate: 1, Period: 24 * time.Hour}
	_, _ = s.Allow(ctx, "limited", long)
	clock.Advance(2 * SweepPeriod)
	for range numShards {
		_, _ = s.Allow(ctx, "probe", limit)
	}
	res, _ := s.Allow(ctx, "limited", long)
	assert.False(t, res.Allowed, "a limited key survives sweeps")
	res, _ = s.Allow(ctx, "idle", limit)
	assert.True(t, res.Allowed, "an idle key starts afresh")
	assert.Equal(t, 1, res.Remaining, "with its full burst")
}

// TestMemoryHeapBoundedByKeyBytes floods a store with keys of 1 MiB and
// measures the live heap after a collection. The bound: the flood may leave
// at most 1 MiB more live heap than before, for 200 MiB of keys. Before keys
// were bounded, the store held every key whole (200 MiB).
func TestMemoryHeapBoundedByKeyBytes(t *testing.T) {
	const (
		keys    = 200
		keySize = 1 << 20
		bound   = 1 << 20
	)
	limit := Limit{Rate: 1, Period: time.Hour}
	tests := []struct {
		name  string
		store func() (allow func(ctx context.Context, key string) (Result, error), s *Memory)
		key   func(i int) string
	}{
		{
			name: "limiter over its own store, 1 MiB keys",
			store: func() (func(context.Context, string) (Result, error), *Memory) {
				l := New(limit, nil)
				return l.Allow, l.own
			},
			key: func(i int) string { return strconv.Itoa(i) + strings.Repeat("a", keySize) },
		},
		{
			name: "memory store called directly, 1 MiB keys",
			store: func() (func(context.Context, string) (Result, error), *Memory) {
				s := NewMemory(MemoryOptions{})
				return func(ctx context.Context, key string) (Result, error) { return s.Allow(ctx, key, limit) }, s
			},
			key: func(i int) string { return strings.Repeat("a", keySize) + strconv.Itoa(i) },
		},
		{
			name: "short keys cut from 1 MiB strings",
			store: func() (func(context.Context, string) (Result, error), *Memory) {
				s := NewMemory(MemoryOptions{})
				return func(ctx context.Context, key string) (Result, error) { return s.Allow(ctx, key, limit) }, s
			},
			key: func(i int) string { return (strconv.Itoa(i) + ":" + strings.Repeat("a", keySize))[:MaxKeyLen] },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allow, s := tt.store()
			defer s.Close()
			ctx := context.Background()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i := range keys {
				res, err := allow(ctx, tt.key(i))
				require.NoError(t, err, "memory store never fails")
				require.True(t, res.Allowed, "key %d is new", i)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("live heap grew by %d bytes for %d keys of %d bytes", growth, keys, keySize)
			assert.Less(t, growth, int64(bound), "a flood of %d MiB of keys leaves less than %d bytes", keys*keySize>>20, bound)
			assert.Equal(t, keys, s.Len(), "every key is held, as a bounded copy")
			res, _ := allow(ctx, tt.key(0))
			assert.False(t, res.Allowed, "a long key keeps its own budget")
			runtime.KeepAlive(s)
		})
	}
}

// TestKeyLength checks how keys are stored: up to MaxKeyLen bytes as they
// are, longer ones as a fixed-size digest that tells them apart.
func TestKeyLength(t *testing.T) {
	long := strings.Repeat("x", MaxKeyLen)
	tests := []struct {
		name    string
		a, b    string
		samePot bool
	}{
		{"empty and short", "", "a", false},
		{"at MaxKeyLen, differing in the last byte", long[:MaxKeyLen-1] + "a", long[:MaxKeyLen-1] + "b", false},
		{"one past MaxKeyLen, differing in the last byte", long + "a", long + "b", false},
		{"the same long key twice", long + "a", long + "a", true},
		{"a long key and its first MaxKeyLen bytes", long + "a", long, false},
		{"1 MiB keys differing in the last byte", strings.Repeat("y", 1<<20) + "a", strings.Repeat("y", 1<<20) + "b", false},
		{"a long key and its digest form", long + "a", BoundKey(long + "a"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(Limit{Rate: 1, Period: time.Hour}, NewMemory(MemoryOptions{ExactClock: true}))
			ctx := context.Background()
			res, _ := l.Allow(ctx, tt.a)
			require.True(t, res.Allowed, "first key allowed")
			res, _ = l.Allow(ctx, tt.b)
			assert.Equal(t, !tt.samePot, res.Allowed, "the second key shares the first's budget: %v", tt.samePot)
		})
	}
	d := BoundKey(long + "a")
	assert.Len(t, d, 44, "a digest form is 44 bytes")
	assert.LessOrEqual(t, len(d), MaxKeyLen, "a digest form is itself stored as it is")
}
