package ratelimit

import (
	"context"
	"hash/maphash"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoryLockFreeUnderChurn runs limited clients on hot keys while
// other goroutines flood the store with new keys, so that tables grow, are
// rebuilt and lose entries to eviction while decisions on the hot keys go on
// without the lock. With the clock stopped, every hot key is allowed exactly
// its burst: no decision is lost or taken twice.
func TestMemoryLockFreeUnderChurn(t *testing.T) {
	clock := newFakeClock()
	s := NewMemory(MemoryOptions{MaxKeys: numShards * 64, Now: clock.Now})
	const burst = 50
	limit := Limit{Rate: burst, Period: time.Hour}
	ctx := context.Background()

	hot := make([]string, 8)
	for i := range hot {
		hot[i] = "hot" + strconv.Itoa(i)
	}
	allowed := make([]int, len(hot))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 100_000 / 16 {
				// Flood keys are each spent by two goroutines, racing
				// with their eviction.
				_, _ = s.Allow(ctx, "flood"+strconv.Itoa((g/2)*100_000+i), limit)
				if i%50 == 0 {
					k := (g + i) % len(hot)
					if res, _ := s.Allow(ctx, hot[k], limit); res.Allowed {
						mu.Lock()
						allowed[k]++
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	for k := range hot {
		for {
			res, _ := s.Allow(ctx, hot[k], limit)
			if !res.Allowed {
				break
			}
			allowed[k]++
		}
	}
	for k, n := range allowed {
		assert.Equal(t, burst, n, "hot key %d is allowed exactly its burst", k)
	}
	assert.LessOrEqual(t, s.Len(), numShards*64, "bounded")
}

// TestMemoryDroppedEntry replays the window in which a decision has
// found an entry that eviction is dropping: the decision sees the entry dead,
// waits for the shard's lock and decides again on a fresh entry.
func TestMemoryDroppedEntry(t *testing.T) {
	clock := newFakeClock()
	s := NewMemory(MemoryOptions{Now: clock.Now})
	limit := Limit{Rate: 1, Period: time.Hour}
	ctx := context.Background()
	res, _ := s.Allow(ctx, "k", limit)
	require.True(t, res.Allowed, "first event allowed")

	h := maphash.String(s.seed, "k")
	sh := &s.shards[h%numShards]
	tab := sh.table.Load()
	e := tab.find(tagOf(h), "k")
	require.NotNil(t, e, "entry found")

	// Drop the entry as evict does, in two steps under the lock, with a
	// decision arriving in between: it finds the entry marked dead before
	// the slot is emptied.
	sawDead := make(chan struct{})
	s.foundDropped = sync.OnceFunc(func() { close(sawDead) })
	sh.mu.Lock()
	require.True(t, e.tat.CompareAndSwap(e.tat.Load(), dead), "marked dead")
	done := make(chan Result)
	go func() {
		res, _ := s.Allow(ctx, "k", limit)
		done <- res
	}()
	<-sawDead // the decision saw the entry dead and goes for the lock we hold
	for i := range tab.slots {
		if sl := &tab.slots[i]; sl.entry.Load() == e {
			sh.drop(sl)
		}
	}
	sh.mu.Unlock()

	assert.True(t, (<-done).Allowed, "a dropped key starts afresh")
	res, _ = s.Allow(ctx, "k", limit)
	assert.False(t, res.Allowed, "and keeps its new state")
	assert.Equal(t, int64(dead), e.tat.Load(), "the dead entry is never revived")
	assert.Equal(t, 1, s.Len(), "one entry")
}

// TestMemoryBoundUnderContention fills one shard with hot keys that
// goroutines keep deciding on, without the lock, while others insert new
// keys into the same shard: eviction must make room although the entries it
// samples keep changing under it, so the shard never holds more than its
// share of MaxKeys.
func TestMemoryBoundUnderContention(t *testing.T) {
	s := NewMemory(MemoryOptions{MaxKeys: 2 * numShards})
	limit := Limit{Rate: 1_000_000_000, Period: time.Second}
	ctx := context.Background()
	inShard := func(prefix string, n int) []string {
		var keys []string
		for i := 0; len(keys) < n; i++ {
			if k := prefix + strconv.Itoa(i); maphash.String(s.seed, k)%numShards == 0 {
				keys = append(keys, k)
			}
		}
		return keys
	}
	hot, flood := inShard("hot", 2), inShard("flood", 2_000)
	sh := &s.shards[0]

	stop := make(chan struct{})
	var deciders, watcher sync.WaitGroup
	for g := range 4 {
		deciders.Go(func() {
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = s.Allow(ctx, hot[i%len(hot)], limit)
			}
		})
	}
	over := 0
	watcher.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			sh.mu.Lock()
			if sh.live > s.maxPerShard {
				over++
			}
			sh.mu.Unlock()
			runtime.Gosched()
		}
	})
	var inserters sync.WaitGroup
	for g := range 4 {
		inserters.Go(func() {
			for i := g; i < len(flood); i += 4 {
				_, _ = s.Allow(ctx, flood[i], limit)
			}
		})
	}
	inserters.Wait()
	close(stop)
	deciders.Wait()
	watcher.Wait()
	assert.Zero(t, over, "the shard never held more than its share of MaxKeys")
	assert.LessOrEqual(t, sh.live, s.maxPerShard, "bounded at the end")
}
