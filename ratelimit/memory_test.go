package ratelimit

import (
	"context"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestLimitValidate(t *testing.T) {
	tests := []struct {
		name  string
		limit Limit
		ok    bool
	}{
		{"per second", PerSecond(10), true},
		{"per minute", PerMinute(600), true},
		{"burst", Limit{Rate: 1, Period: time.Second, Burst: 5}, true},
		{"zero rate", Limit{Period: time.Second}, false},
		{"negative rate", Limit{Rate: -1, Period: time.Second}, false},
		{"zero period", Limit{Rate: 1}, false},
		{"negative burst", Limit{Rate: 1, Period: time.Second, Burst: -1}, false},
		{"span of exactly MaxSpan", Limit{Rate: 1, Period: MaxSpan / 10, Burst: 10}, true},
		{"once ever", Limit{Rate: 1, Period: math.MaxInt64}, false},
		{"ten per largest period", Limit{Rate: 10, Period: math.MaxInt64}, false},
		{"burst spanning centuries", Limit{Rate: 1, Period: 24 * time.Hour, Burst: 200_000}, false},
		{"largest burst", Limit{Rate: 1, Period: time.Second, Burst: math.MaxInt}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.limit.Validate()
			if tt.ok {
				assert.NoError(t, err, "limit %v should be valid", tt.limit)
			} else {
				assert.Error(t, err, "limit %+v should be invalid", tt.limit)
			}
			l := New(tt.limit, nil) // every limit is accepted; see TestNewNormalizesLimits
			defer l.Close()
			if tt.ok {
				assert.Equal(t, tt.limit, l.Limit(), "a valid limit is enforced as it is")
			}
		})
	}
}

// TestNewNormalizesLimits: New accepts every Limit; one that allows no
// event denies without asking the store, a negative burst is the rate and a
// span above MaxSpan is cut to it.
func TestNewNormalizesLimits(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		limit   Limit
		allowed bool
		want    Limit
	}{
		{"zero rate allows nothing", Limit{Period: time.Second}, false, Limit{Period: time.Second}},
		{"negative period allows nothing", Limit{Rate: 5, Period: -time.Second}, false, Limit{Rate: 5, Period: -time.Second}},
		{"negative burst is the rate", Limit{Rate: 2, Period: time.Second, Burst: -3}, true, Limit{Rate: 2, Period: time.Second}},
		{"once ever is once per MaxSpan", Limit{Rate: 1, Period: math.MaxInt64}, true, Limit{Rate: 1, Period: MaxSpan}},
		{"largest burst is cut to MaxSpan", Limit{Rate: 1, Period: time.Second, Burst: math.MaxInt}, true, Limit{Rate: 1, Period: time.Second, Burst: int(MaxSpan / time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(tt.limit, nil)
			defer l.Close()
			assert.Equal(t, tt.want, l.Limit(), "enforced limit")
			res, err := l.Allow(ctx, "k")
			require.NoError(t, err, "Allow")
			assert.Equal(t, tt.allowed, res.Allowed, "first event")
			if !tt.allowed {
				assert.Equal(t, MaxSpan, res.RetryAfter, "a limit that allows nothing never will")
				assert.Equal(t, MaxSpan, res.Refill(), "nor does the window end")
			}
		})
	}
}

func TestLimitHelpers(t *testing.T) {
	l := Limit{Rate: 3, Period: time.Second}
	assert.Equal(t, 333333333*time.Nanosecond, l.Interval(), "interval is period/rate")
	assert.Equal(t, 3, l.BurstSize(), "zero burst means rate")
	assert.Equal(t, "3/1s", l.String(), "string without burst")
	l.Burst = 7
	assert.Equal(t, 7, l.BurstSize(), "explicit burst")
	assert.Equal(t, "3/1s burst 7", l.String(), "string with burst")
	assert.Equal(t, time.Nanosecond, Limit{Rate: 10, Period: 1}.Interval(), "interval is at least 1ns")
}

func TestMemoryGCRA(t *testing.T) {
	type step struct {
		advance   time.Duration
		allowed   bool
		remaining int
		retry     time.Duration
		reset     time.Duration
	}
	tests := []struct {
		name  string
		limit Limit
		steps []step
	}{
		{
			name:  "burst then one per interval",
			limit: Limit{Rate: 3, Period: 3 * time.Second},
			steps: []step{
				{0, true, 2, 0, 1 * time.Second},
				{0, true, 1, 0, 2 * time.Second},
				{0, true, 0, 0, 3 * time.Second},
				{0, false, 0, 1 * time.Second, 3 * time.Second},
				{400 * time.Millisecond, false, 0, 600 * time.Millisecond, 2600 * time.Millisecond},
				{600 * time.Millisecond, true, 0, 0, 3 * time.Second},
				{0, false, 0, 1 * time.Second, 3 * time.Second},
				{10 * time.Second, true, 2, 0, 1 * time.Second},
			},
		},
		{
			name:  "burst larger than rate",
			limit: Limit{Rate: 1, Period: time.Second, Burst: 2},
			steps: []step{
				{0, true, 1, 0, 1 * time.Second},
				{0, true, 0, 0, 2 * time.Second},
				{0, false, 0, 1 * time.Second, 2 * time.Second},
				{1 * time.Second, true, 0, 0, 2 * time.Second},
			},
		},
		{
			name:  "burst of one",
			limit: Limit{Rate: 10, Period: time.Second, Burst: 1},
			steps: []step{
				{0, true, 0, 0, 100 * time.Millisecond},
				{50 * time.Millisecond, false, 0, 50 * time.Millisecond, 50 * time.Millisecond},
				{50 * time.Millisecond, true, 0, 0, 100 * time.Millisecond},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			l := New(tt.limit, NewMemory(MemoryOptions{Now: clock.Now}))
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				res, err := l.Allow(context.Background(), "k")
				require.NoError(t, err, "memory store never fails")
				assert.Equal(t, Result{
					Allowed: s.allowed, Limit: tt.limit, Remaining: s.remaining,
					RetryAfter: s.retry, ResetAfter: s.reset,
				}, res, "step %d", i)
			}
		})
	}
}

func TestMemoryKeysIndependent(t *testing.T) {
	clock := newFakeClock()
	l := New(Limit{Rate: 1, Period: time.Minute}, NewMemory(MemoryOptions{Now: clock.Now}))
	ctx := context.Background()
	for _, key := range []string{"a", "b", "c"} {
		res, _ := l.Allow(ctx, key)
		assert.True(t, res.Allowed, "first event of %q is allowed", key)
		res, _ = l.Allow(ctx, key)
		assert.False(t, res.Allowed, "second event of %q is denied", key)
	}
}

func TestMemoryZeroValue(t *testing.T) {
	var s Memory
	l := New(PerMinute(2), &s)
	ctx := context.Background()
	for i, want := range []bool{true, true, false} {
		res, err := l.Allow(ctx, "k")
		require.NoError(t, err, "zero store never fails")
		assert.Equal(t, want, res.Allowed, "event %d", i)
	}
	assert.Equal(t, 1, s.Len(), "one key held")
}

// TestMemoryConcurrentExact runs 200 clients against one key with the
// clock stopped: exactly the burst is allowed, then one more interval lets
// exactly one more through, and a full period restores the whole burst.
func TestMemoryConcurrentExact(t *testing.T) {
	clock := newFakeClock()
	limit := Limit{Rate: 100, Period: time.Minute}
	l := New(limit, NewMemory(MemoryOptions{Now: clock.Now}))

	round := func() int {
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(func() {
				for range 5 {
					res, err := l.Allow(context.Background(), "shared")
					if err == nil && res.Allowed {
						allowed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		return int(allowed.Load())
	}
	assert.Equal(t, 100, round(), "exactly the burst is allowed among 1000 concurrent events")
	clock.Advance(limit.Interval())
	assert.Equal(t, 1, round(), "one interval later exactly one more event")
	clock.Advance(limit.Period)
	assert.Equal(t, 100, round(), "a full period later the whole burst again")
}

// TestMemoryHugeMaxKeys takes MaxKeys as large as an int goes, the way
// one asks for "no bound".
func TestMemoryHugeMaxKeys(t *testing.T) {
	s := NewMemory(MemoryOptions{MaxKeys: math.MaxInt})
	res, err := s.Allow(context.Background(), "k", PerSecond(1))
	require.NoError(t, err, "memory store never fails")
	assert.True(t, res.Allowed, "allowed")
}

// TestMemoryExtremeLimits takes decisions at the edge of MaxSpan and
// with the shortest interval: nothing overflows, so the limits hold.
func TestMemoryExtremeLimits(t *testing.T) {
	tests := []struct {
		name  string
		limit Limit
	}{
		{"once in MaxSpan", Limit{Rate: 1, Period: MaxSpan}},
		{"burst spanning MaxSpan", Limit{Rate: 1, Period: MaxSpan / 1000, Burst: 1000}},
		{"a billion a second", Limit{Rate: 1_000_000_000, Period: time.Second, Burst: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.limit.Validate(), "valid")
			clock := newFakeClock()
			s := NewMemory(MemoryOptions{Now: clock.Now})
			allowed := 0
			for range tt.limit.BurstSize() + 5 {
				if res, _ := s.Allow(context.Background(), "k", tt.limit); res.Allowed {
					allowed++
				}
			}
			assert.Equal(t, tt.limit.BurstSize(), allowed, "exactly the burst")
		})
	}
}

// TestMemoryBounded feeds one million distinct keys and checks the
// entry count stays within the bound while the store keeps working. It
// counts entries rather than measuring the heap, so it is exact and fast.
func TestMemoryBounded(t *testing.T) {
	clock := newFakeClock()
	const maxKeys = 1 << 16
	s := NewMemory(MemoryOptions{MaxKeys: maxKeys, Now: clock.Now})
	limit := Limit{Rate: 1, Period: time.Hour}
	ctx := context.Background()
	key := make([]byte, 0, 16)
	denied := 0
	for i := range 1_000_000 {
		key = strconv.AppendInt(key[:0], int64(i), 36)
		if res, _ := s.Allow(ctx, string(key), limit); !res.Allowed {
			denied++
		}
		if i%100_000 == 0 {
			clock.Advance(time.Millisecond)
		}
	}
	assert.Zero(t, denied, "every new key is allowed")
	n := s.Len()
	assert.LessOrEqual(t, n, maxKeys, "entries stay within MaxKeys after a million keys")
	assert.Greater(t, n, maxKeys/2, "the store keeps using its capacity")

	res, _ := s.Allow(ctx, "fresh", limit)
	assert.True(t, res.Allowed, "a fresh key is allowed")
	res, _ = s.Allow(ctx, "fresh", limit)
	assert.False(t, res.Allowed, "and keeps its state in a full store")
	assert.LessOrEqual(t, s.Len(), maxKeys, "still bounded")
}

// TestMemoryEvictsClosestToExpiry checks the eviction order: a client
// being limited (far from expiry) survives a flood of one-off keys.
func TestMemoryEvictsClosestToExpiry(t *testing.T) {
	clock := newFakeClock()
	s := NewMemory(MemoryOptions{MaxKeys: numShards * 64, Now: clock.Now})
	limit := Limit{Rate: 100, Period: time.Hour}
	ctx := context.Background()
	for range 100 {
		_, _ = s.Allow(ctx, "victim", limit)
	}
	res, _ := s.Allow(ctx, "victim", limit)
	require.False(t, res.Allowed, "the victim spent its budget")
	for i := range 100_000 {
		_, _ = s.Allow(ctx, "flood"+strconv.Itoa(i), limit)
	}
	res, _ = s.Allow(ctx, "victim", limit)
	assert.False(t, res.Allowed, "flooding new keys does not reset a limited client")
}

// TestMemoryIdleKeysExpire checks that idle keys make room before live
// ones are evicted.
func TestMemoryIdleKeysExpire(t *testing.T) {
	clock := newFakeClock()
	s := NewMemory(MemoryOptions{MaxKeys: numShards, Now: clock.Now})
	limit := Limit{Rate: 1, Period: time.Minute}
	ctx := context.Background()
	for i := range 10 * numShards {
		_, _ = s.Allow(ctx, "old"+strconv.Itoa(i), limit)
	}
	require.LessOrEqual(t, s.Len(), numShards, "bounded")
	clock.Advance(time.Minute)
	for i := range 10 * numShards {
		_, _ = s.Allow(ctx, "new"+strconv.Itoa(i), limit)
	}
	assert.LessOrEqual(t, s.Len(), numShards, "still bounded after the old keys expired")
	res, _ := s.Allow(ctx, "old0", limit)
	assert.True(t, res.Allowed, "an expired key starts afresh")
}

func TestDefaultStore(t *testing.T) {
	l := New(PerSecond(1), nil)
	assert.Equal(t, PerSecond(1), l.Limit(), "limit is kept")
	res, err := l.Allow(context.Background(), "k")
	require.NoError(t, err, "default store never fails")
	assert.True(t, res.Allowed, "first event allowed")
}

func BenchmarkMemory(b *testing.B) {
	l := New(Limit{Rate: 1_000_000, Period: time.Second}, nil)
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = "203.0.113." + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_, _ = l.Allow(context.Background(), keys[i%len(keys)])
			i++
		}
	})
}
