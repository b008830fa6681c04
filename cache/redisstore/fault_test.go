package redisstore_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/internal/testdb"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestHungRedisFallsBackToTheLoader SIGSTOPs a redis-server of the test's
// own under an Aside: every read still succeeds from the loader within a
// bound of the read deadline, the breaker keeps the rest from waiting, the
// outage is logged once, and after SIGCONT reads hit Redis again.
func TestHungRedisFallsBackToTheLoader(t *testing.T) {
	srv := testdb.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	logs := &syncBuf{}
	const timeout = 50 * time.Millisecond
	store := redisstore.New[string](rdb, redisstore.Options{Prefix: "c:", Timeout: timeout,
		WriteTimeout: timeout, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	aside := cache.NewAside[string, string](store, cache.Options[string]{})
	ctx := context.Background()
	var loads atomic.Int64
	load := func(context.Context) (string, error) { loads.Add(1); return "row", nil }
	_, err := aside.Get(ctx, "k", load)
	require.NoError(t, err, "first read loads and fills Redis")

	srv.Stop(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var worst time.Duration
	for range 20 {
		wg.Go(func() {
			for range 10 {
				start := time.Now()
				v, err := aside.Get(ctx, "k", load)
				d := time.Since(start)
				mu.Lock()
				worst = max(worst, d)
				mu.Unlock()
				assert.NoError(t, err, "reads succeed from the loader")
				assert.Equal(t, "row", v)
			}
		})
	}
	wg.Wait()
	// A read may wait for the GET's deadline and then the fill's.
	t.Logf("hung Redis, 200 reads from 20 goroutines, deadline %v: worst %v, loads %d", timeout, worst, loads.Load())
	assert.Less(t, worst, 2*timeout+time.Second, "no read waits much past its deadlines (generous bound for a loaded machine)")
	assert.Greater(t, loads.Load(), int64(1), "reads went to the loader")

	srv.Continue(t)
	require.Eventually(t, func() bool {
		before := loads.Load()
		_, err := aside.Get(ctx, "k", load)
		return err == nil && loads.Load() == before
	}, 5*time.Second, 20*time.Millisecond, "after SIGCONT reads hit Redis again, without a restart")
	out := logs.String()
	assert.Equal(t, 1, strings.Count(out, "redis unavailable"), "one warning for the outage:\n%s", out)
	assert.Equal(t, 1, strings.Count(out, "answers again"), "one notice for the recovery:\n%s", out)
}
