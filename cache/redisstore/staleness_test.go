package redisstore_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/internal/testdb"
)

// TestTwoLevelStalenessBound measures two-level mode's staleness bound: the
// time from the start of Delete in one process until every other process
// has dropped its local copy of the key. SVCKIT_STALENESS_ROUNDS sets the
// number of rounds (default 200). The figures are logged; the test fails
// only on a bound far beyond any healthy network (p99 over 250 ms) or a
// copy that was never dropped.
func TestTwoLevelStalenessBound(t *testing.T) {
	ctx := context.Background()
	rounds := 200
	if n, err := strconv.Atoi(os.Getenv("SVCKIT_STALENESS_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	rdb, prefix := testdb.Redis(t)
	const procs = 4
	tls := make([]*redisstore.TwoLevel[int], procs)
	msgs := make([]<-chan struct{}, procs)
	for i := range tls {
		c := rdb
		if i > 0 {
			c = secondClient(t)
		}
		tls[i] = newTwoLevel[int](t, c, prefix)
		if i > 0 {
			ch := make(chan struct{}, 1)
			msgs[i] = ch
			redisstore.OnInvalidation(tls[i], func() { ch <- struct{}{} })
		}
	}
	writer := tls[0]
	delays := make([]time.Duration, 0, rounds)
	for r := range rounds {
		key := "k" + strconv.Itoa(r)
		require.NoError(t, writer.Set(ctx, key, cache.Entry[int]{Value: r}, time.Minute), "write")
		for i := 1; i < procs; i++ {
			<-msgs[i] // the write's own invalidation
			e, ok, err := tls[i].Get(ctx, key)
			require.NoError(t, err, "read")
			require.True(t, ok && e.Value == r, "process %d keeps a copy", i)
		}
		start := time.Now()
		require.NoError(t, writer.Delete(ctx, key), "invalidate")
		var worst time.Duration
		for i := 1; i < procs; i++ {
			select {
			case <-msgs[i]:
			case <-time.After(5 * time.Second):
				t.Fatalf("process %d never dropped its copy", i)
			}
			worst = max(worst, time.Since(start))
			_, ok, err := tls[i].Get(ctx, key)
			require.NoError(t, err, "read after the invalidation")
			require.False(t, ok, "process %d dropped its copy", i)
		}
		delays = append(delays, worst)
	}
	slices.Sort(delays)
	p50, p99 := delays[len(delays)/2], delays[len(delays)*99/100]
	t.Logf("two-level staleness over %d rounds, %d processes: p50 %.3f ms, p99 %.3f ms, max %.3f ms",
		rounds, procs, ms(p50), ms(p99), ms(delays[len(delays)-1]))
	assert.Less(t, p99, 250*time.Millisecond, "staleness bound p99")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
