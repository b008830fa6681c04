package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/svckit/svckit/internal/keyhash"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/ratelimit"
	"github.com/svckit/svckit/ratelimit/redisstore"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestSequence(t *testing.T) { testdb.EachRedis(t, testSequence) }

func testSequence(t *testing.T, client redis.UniversalClient, prefix string) {
	// A long period keeps the server clock from refilling the budget while
	// the test runs.
	limit := ratelimit.Limit{Rate: 3, Period: time.Hour}
	l := ratelimit.New(limit, redisstore.New(client, redisstore.Options{Prefix: prefix, Timeout: 10 * time.Second}))
	ctx := context.Background()

	for i, wantRemaining := range []int{2, 1, 0} {
		res, err := l.Allow(ctx, "k")
		require.NoError(t, err, "event %d", i)
		assert.True(t, res.Allowed, "event %d within the burst", i)
		assert.Equal(t, wantRemaining, res.Remaining, "remaining after event %d", i)
		assert.Equal(t, limit, res.Limit, "limit reported")
		assert.InDelta(t, float64(time.Duration(i+1)*20*time.Minute), float64(res.ResetAfter), float64(time.Second),
			"reset after event %d", i)
	}
	res, err := l.Allow(ctx, "k")
	require.NoError(t, err, "denied event")
	assert.False(t, res.Allowed, "fourth event denied")
	assert.Equal(t, 0, res.Remaining, "nothing remains")
	assert.InDelta(t, float64(20*time.Minute), float64(res.RetryAfter), float64(time.Second), "next event in one interval")

	pttl, err := client.PTTL(ctx, prefix+keyhash.Sum("k")).Result()
	require.NoError(t, err, "read expiry")
	assert.Greater(t, pttl, 59*time.Minute, "the key expires when the budget is full again")
	assert.LessOrEqual(t, pttl, time.Hour, "never later than one period")

	other, err := l.Allow(ctx, "other")
	require.NoError(t, err, "other key")
	assert.True(t, other.Allowed, "keys are independent")
}

// TestConcurrentExact runs 200 clients against one key: the allowed count is
// the burst, give or take the one event the server clock may refill. The
// Timeout is generous: 200 clients queue for the pool on a busy test machine.
func TestConcurrentExact(t *testing.T) { testdb.EachRedis(t, testConcurrentExact) }

func testConcurrentExact(t *testing.T, client redis.UniversalClient, prefix string) {
	limit := ratelimit.Limit{Rate: 100, Period: time.Hour}
	l := ratelimit.New(limit, redisstore.New(client, redisstore.Options{Prefix: prefix, Timeout: 10 * time.Second}))

	var allowed, failed atomic.Int64
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			for range 3 {
				res, err := l.Allow(context.Background(), "shared")
				switch {
				case err != nil:
					failed.Add(1)
				case res.Allowed:
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	require.Zero(t, failed.Load(), "no Redis errors")
	assert.InDelta(t, 100, allowed.Load(), 1, "the burst is allowed, ±1 at an interval boundary")
}

// TestSharedBudget checks that two stores (two service instances) on one
// Redis spend from the same budget.
func TestSharedBudget(t *testing.T) { testdb.EachRedis(t, testSharedBudget) }

func testSharedBudget(t *testing.T, client redis.UniversalClient, prefix string) {
	second := secondClient(client)
	t.Cleanup(func() { second.Close() })

	limit := ratelimit.Limit{Rate: 50, Period: time.Hour}
	a := ratelimit.New(limit, redisstore.New(client, redisstore.Options{Prefix: prefix, Timeout: 10 * time.Second}))
	b := ratelimit.New(limit, redisstore.New(second, redisstore.Options{Prefix: prefix, Timeout: 10 * time.Second}))

	var allowed atomic.Int64
	var wg sync.WaitGroup
	for i := range 100 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			for range 2 {
				res, err := l.Allow(context.Background(), "user:1")
				if err == nil && res.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.InDelta(t, 50, allowed.Load(), 1, "both instances share one budget of 50")
}

// secondClient opens another client like client: another instance.
func secondClient(client redis.UniversalClient) redis.UniversalClient {
	if c, ok := client.(*redis.ClusterClient); ok {
		return redis.NewClusterClient(c.Options())
	}
	return redis.NewClient(client.(*redis.Client).Options())
}

// deadClient returns a client for a port nothing listens on.
func deadClient(t *testing.T) *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second,
		DialerRetries: 1, DialerRetryTimeout: time.Millisecond,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRedisDown(t *testing.T) {
	tests := []struct {
		name     string
		fallback bool
	}{
		{"deny", false},
		{"fallback to memory", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			opts := redisstore.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			if tt.fallback {
				opts.Fallback = ratelimit.NewMemory(ratelimit.MemoryOptions{})
			}
			store := redisstore.New(deadClient(t), opts)
			l := ratelimit.New(ratelimit.PerMinute(2), store)

			var allowed int
			for range 8 {
				res, err := l.Allow(context.Background(), "k")
				if tt.fallback {
					require.NoError(t, err, "the fallback decides")
				} else {
					require.ErrorIs(t, err, ratelimit.ErrUnavailable, "fail closed")
					assert.False(t, res.Allowed, "denied when Redis is down")
				}
				if res.Allowed {
					allowed++
				}
			}
			if tt.fallback {
				assert.Equal(t, 2, allowed, "the fallback enforces the limit")
			}
			assert.Equal(t, uint64(8), store.Errors(), "every failure is counted")
			assert.Equal(t, 1, strings.Count(logs.String(), "redis unavailable"), "reported once: %s", logs.String())
		})
	}
}

func TestCancelledContext(t *testing.T) { testdb.EachRedis(t, testCancelledContext) }

func testCancelledContext(t *testing.T, client redis.UniversalClient, prefix string) {
	store := redisstore.New(client, redisstore.Options{Prefix: prefix, Timeout: 10 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := store.Allow(ctx, "k", ratelimit.PerSecond(1))
	require.ErrorIs(t, err, context.Canceled, "the context error is returned")
	assert.Zero(t, store.Errors(), "a cancelled request is not a Redis failure")
}

// TestOutageAndRecovery cuts the connection to Redis, then restores it: the
// outage and the recovery are each logged once, the fallback decides in
// between, and the shared budget is used again afterwards.
func TestOutageAndRecovery(t *testing.T) {
	client, prefix := testdb.Redis(t)
	var down atomic.Bool
	opts := *client.Options()
	dial := opts.Dialer
	if dial == nil {
		var d net.Dialer
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}
	}
	opts.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if down.Load() {
			return nil, errCut
		}
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &cuttableConn{Conn: c, down: &down}, nil
	}
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.DialerRetryTimeout = time.Millisecond
	flaky := redis.NewClient(&opts)
	t.Cleanup(func() { flaky.Close() })

	var logs bytes.Buffer
	store := redisstore.New(flaky, redisstore.Options{
		Prefix:   prefix,
		Fallback: ratelimit.NewMemory(ratelimit.MemoryOptions{}),
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
		Timeout:  10 * time.Second,
	})
	l := ratelimit.New(ratelimit.Limit{Rate: 10, Period: time.Hour}, store)
	ctx := context.Background()

	res, err := l.Allow(ctx, "k")
	require.NoError(t, err, "Redis up")
	assert.Equal(t, 9, res.Remaining, "one event spent in Redis")
	assert.Empty(t, logs.String(), "nothing to report while Redis answers")

	down.Store(true)
	for range 6 {
		res, err = l.Allow(ctx, "k")
		require.NoError(t, err, "the fallback decides")
		assert.True(t, res.Allowed, "allowed by the fallback")
	}
	assert.Equal(t, 4, res.Remaining, "the fallback has its own budget")
	assert.Equal(t, uint64(6), store.Errors(), "six failures counted")

	down.Store(false)
	require.Eventually(t, func() bool {
		res, err = l.Allow(ctx, "k")
		return err == nil && res.Remaining == 8
	}, 5*time.Second, 20*time.Millisecond, "the breaker closes by itself and Redis decides again: its second event leaves 8")
	assert.Equal(t, 1, strings.Count(logs.String(), "redis unavailable"), "outage logged once: %s", logs.String())
	assert.Equal(t, 1, strings.Count(logs.String(), "answers again"), "recovery logged once: %s", logs.String())
	assert.Panics(t, func() { redisstore.New(nil, redisstore.Options{}) }, "a nil client is a programming error")
}

var errCut = errors.New("connection cut by the test")

// cuttableConn fails every read and write while down is set, as a network
// partition would.
type cuttableConn struct {
	net.Conn
	down *atomic.Bool
}

func (c *cuttableConn) Read(b []byte) (int, error) {
	if c.down.Load() {
		return 0, errCut
	}
	return c.Conn.Read(b)
}

func (c *cuttableConn) Write(b []byte) (int, error) {
	if c.down.Load() {
		return 0, errCut
	}
	return c.Conn.Write(b)
}
