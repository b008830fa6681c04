package redisstore_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/keyhash"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/ratelimit"
	"github.com/svckit/svckit/ratelimit/redisstore"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestHungRedis stops a redis-server of the test's own with SIGSTOP (it
// keeps its connections and answers nothing). Every decision returns within
// a bound of its deadline, fail-open decides per instance and fail-closed
// denies; after SIGCONT Redis decides again without a restart.
func TestHungRedis(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fallback bool
	}{{"fail open", true}, {"fail closed", false}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testdb.StartRedis(t)
			client := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
			t.Cleanup(func() { client.Close() })
			logs := &syncBuf{}
			const timeout = 50 * time.Millisecond
			opts := redisstore.Options{Prefix: "rl:", Timeout: timeout, Logger: slog.New(slog.NewTextHandler(logs, nil))}
			if tc.fallback {
				opts.Fallback = ratelimit.NewMemory(ratelimit.MemoryOptions{})
			}
			store := redisstore.New(client, opts)
			limit := ratelimit.Limit{Rate: 1000, Period: time.Hour}
			ctx := context.Background()
			res, err := store.Allow(ctx, "k", limit)
			require.NoError(t, err, "Redis decides while it answers")
			require.Equal(t, 999, res.Remaining)

			srv.Stop(t)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var worst time.Duration
			for range 20 {
				wg.Go(func() {
					for range 10 {
						start := time.Now()
						res, err := store.Allow(ctx, "k", limit)
						d := time.Since(start)
						mu.Lock()
						worst = max(worst, d)
						mu.Unlock()
						if tc.fallback {
							assert.NoError(t, err, "the fallback decides")
							assert.True(t, res.Allowed, "allowed by the per-instance limit")
						} else {
							assert.ErrorIs(t, err, ratelimit.ErrUnavailable, "fail closed")
							assert.False(t, res.Allowed, "denied")
						}
					}
				})
			}
			wg.Wait()
			t.Logf("hung Redis, 200 decisions from 20 goroutines, deadline %v: worst %v", timeout, worst)
			assert.Less(t, worst, timeout+time.Second, "no decision waits much past its deadline (generous bound for a loaded machine; a hung Redis used to stall 5 s or more)")
			assert.Equal(t, uint64(200), store.Errors(), "every decision Redis did not take is counted")

			srv.Continue(t)
			require.Eventually(t, func() bool {
				before := store.Errors()
				_, err := store.Allow(ctx, "k", limit)
				return err == nil && store.Errors() == before
			}, 5*time.Second, 20*time.Millisecond, "Redis decides again after SIGCONT (no fallback counted)")
			n, err := client.Get(ctx, "rl:"+keyhash.Sum("k")).Int64()
			require.NoError(t, err, "the key is in Redis again")
			assert.Positive(t, n, "with a theoretical arrival time")
			out := logs.String()
			assert.Equal(t, 1, strings.Count(out, "redis unavailable"), "one warning for the outage:\n%s", out)
			assert.Equal(t, 1, strings.Count(out, "answers again"), "one notice for the recovery:\n%s", out)
		})
	}
}
