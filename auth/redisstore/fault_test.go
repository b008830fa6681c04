package redisstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/auth/redisstore"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/internal/testdb"
)

func newToken(i int) auth.RefreshToken {
	now := time.Now()
	return auth.RefreshToken{Hash: auth.HashJTI(fmt.Sprint("fault-", i)), Family: fmt.Sprint("fam-", i), Subject: "dave",
		ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(2 * time.Hour)}
}

// TestHungRedisIsUnavailable SIGSTOPs a redis-server of the test's own:
// every call fails within a bound of its deadline with an error that
// reports errkind.Unavailable (503), never hangs; after SIGCONT the store
// works again without a restart.
func TestHungRedisIsUnavailable(t *testing.T) {
	srv := testdb.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { client.Close() })
	const timeout = 100 * time.Millisecond
	s := redisstore.New(client, redisstore.Options{Prefix: "t:", Timeout: timeout})
	ctx := context.Background()
	require.NoError(t, s.Create(ctx, newToken(0)), "Create while Redis answers")

	srv.Stop(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var worst time.Duration
	for i := range 10 {
		wg.Go(func() {
			for j := range 5 {
				start := time.Now()
				err := s.Create(ctx, newToken(100+10*i+j))
				d := time.Since(start)
				mu.Lock()
				worst = max(worst, d)
				mu.Unlock()
				assert.ErrorIs(t, err, redisstore.ErrUnavailable, "a hung Redis makes the store unavailable")
				assert.Equal(t, errkind.Unavailable, errkind.Of(err), "which renders as 503")
			}
		})
	}
	wg.Wait()
	// Create makes two calls; each is bounded by the timeout.
	t.Logf("hung Redis, 50 creates from 10 goroutines, deadline %v: worst %v", timeout, worst)
	assert.Less(t, worst, 2*timeout+time.Second, "no call waits much past its deadline (generous bound for a loaded machine)")
	err := s.RevokeSubject(ctx, "dave", time.Now())
	assert.ErrorIs(t, err, redisstore.ErrUnavailable, "RevokeSubject too")
	r, ok := errkind.Inspect(err)
	require.True(t, ok, "the error reports through errkind")
	assert.Equal(t, time.Second, r.RetryAfter, "with a Retry-After")

	srv.Continue(t)
	require.Eventually(t, func() bool { return s.Create(ctx, newToken(1)) == nil }, 5*time.Second, 20*time.Millisecond,
		"the store works again after SIGCONT, without a restart")
	child := newToken(2)
	child.Family = "fam-1"
	require.NoError(t, s.Rotate(ctx, auth.Rotation{Old: newToken(1).Hash, Child: child, Now: time.Now()}),
		"a family created after the outage rotates")
}

func TestClosedPortIsUnavailable(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", testdb.FreePort(t)), ContextTimeoutEnabled: true})
	t.Cleanup(func() { client.Close() })
	s := redisstore.New(client, redisstore.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"create", func() error { return s.Create(ctx, newToken(0)) }},
		{"rotate", func() error {
			return s.Rotate(ctx, auth.Rotation{Old: newToken(0).Hash, Child: newToken(0), Now: time.Now()})
		}},
		{"revoke family", func() error { return s.RevokeFamily(ctx, "fam-0", time.Now()) }},
		{"revoke subject", func() error { return s.RevokeSubject(ctx, "dave", time.Now()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			assert.ErrorIs(t, err, redisstore.ErrUnavailable, "no Redis, no refresh tokens")
			assert.Equal(t, errkind.Unavailable, errkind.Of(err), "503, never 500")
		})
	}
}
