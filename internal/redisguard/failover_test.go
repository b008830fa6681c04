package redisguard_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	authredis "github.com/svckit/svckit/auth/redisstore"
	"github.com/svckit/svckit/cache"
	cacheredis "github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/ratelimit"
	rlredis "github.com/svckit/svckit/ratelimit/redisstore"
)

// TestClusterMasterFailure runs the three Redis stores on a Redis Cluster
// of the test's own and SIGSTOPs one master for a few seconds: first its
// slots hang (calls end at their deadlines), then, after the node timeout,
// the other masters declare the cluster down (CLUSTERDOWN on every slot).
// Throughout, the stores degrade as documented, within bounded latency and
// without a panic: the cache reads from its loader, the rate limiter
// decides in memory, the refresh-token store answers errkind.Unavailable
// (503) for what it cannot reach. After SIGCONT all three use the cluster
// again without a restart.
func TestClusterMasterFailure(t *testing.T) {
	cl := testdb.StartRedisCluster(t, 3)
	opts, err := redis.ParseClusterURL(cl.URL)
	require.NoError(t, err)
	opts.ContextTimeoutEnabled = true
	client := redis.NewClusterClient(opts)
	t.Cleanup(func() { client.Close() })
	ctx := context.Background()

	const timeout = 100 * time.Millisecond
	caches := cacheredis.New[string](client, cacheredis.Options{Prefix: "c:", Timeout: timeout, WriteTimeout: timeout})
	aside := cache.NewAside[string, string](caches, cache.Options[string]{})
	var loads atomic.Int64
	load := func(context.Context) (string, error) { loads.Add(1); return "row", nil }
	limits := rlredis.New(client, rlredis.Options{Prefix: "rl:", Timeout: timeout, Fallback: ratelimit.NewMemory(ratelimit.MemoryOptions{})})
	limit := ratelimit.Limit{Rate: 1_000_000, Period: time.Hour}
	tokens := authredis.New(client, authredis.Options{Prefix: "a:", Timeout: timeout})
	family := func(i int) auth.RefreshToken {
		now := time.Now()
		return auth.RefreshToken{Hash: auth.HashJTI(fmt.Sprint("jti-", i)), Family: fmt.Sprint("fam-", i), Subject: fmt.Sprint("user-", i),
			ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(2 * time.Hour)}
	}

	const keys = 30
	for i := range keys {
		_, err := aside.Get(ctx, fmt.Sprint("k", i), load)
		require.NoError(t, err, "warm the cache")
		_, err = limits.Allow(ctx, fmt.Sprint("k", i), limit)
		require.NoError(t, err, "a decision in Redis")
		require.NoError(t, tokens.Create(ctx, family(i)), "a family")
	}
	require.Zero(t, limits.Errors(), "every decision was Redis's while the cluster is healthy")

	victim := cl.Nodes[1]
	victim.Stop(t)
	stopped := time.Now()
	var worst time.Duration
	var unavailable, served int
	sawClusterDown := false
	healthy := redis.NewClient(&redis.Options{Addr: cl.Nodes[0].Addr})
	t.Cleanup(func() { healthy.Close() })
	rounds := 0
	for ; rounds < 3 || time.Since(stopped) < 4*time.Second; rounds++ {
		round := rounds
		for i := range keys {
			start := time.Now()
			v, err := aside.Get(ctx, fmt.Sprint("k", i), load)
			require.NoError(t, err, "cache reads never fail: the loader answers")
			require.Equal(t, "row", v)
			_, err = limits.Allow(ctx, fmt.Sprint("k", i), limit)
			require.NoError(t, err, "the memory fallback decides")
			err = tokens.Create(ctx, family(1000*round+i+keys))
			if err != nil {
				require.ErrorIs(t, err, authredis.ErrUnavailable, "a token store fault is Unavailable, never anything else")
				require.Equal(t, errkind.Unavailable, errkind.Of(err), "503")
				unavailable++
			} else {
				served++
			}
			worst = max(worst, time.Since(start))
		}
		if info, err := healthy.ClusterInfo(ctx).Result(); err == nil && strings.Contains(info, "cluster_state:fail") {
			sawClusterDown = true
		}
	}
	assert.True(t, sawClusterDown, "the outage reached CLUSTERDOWN (the other masters marked the stopped one failed)")
	assert.Positive(t, unavailable, "calls to the stopped master's slots were refused as Unavailable")
	assert.Positive(t, limits.Errors(), "the rate limiter fell back")
	// One iteration makes up to four guarded calls with their deadlines.
	assert.Less(t, worst, 4*timeout+time.Second, "an iteration never waits much past its deadlines (generous bound)")
	t.Logf("outage of %v, %d rounds over %d keys: %d creates refused, %d served (before the cluster went down), worst iteration %v",
		time.Since(stopped).Round(time.Millisecond), rounds, keys, unavailable, served, worst)

	victim.Continue(t)
	cl.WaitOK(t, 20*time.Second)
	require.Eventually(t, func() bool {
		before, beforeErrs := loads.Load(), limits.Errors()
		ok := true
		for i := range keys {
			if _, err := aside.Get(ctx, fmt.Sprint("k", i), load); err != nil {
				ok = false
			}
			if _, err := limits.Allow(ctx, fmt.Sprint("k", i), limit); err != nil {
				ok = false
			}
		}
		return ok && loads.Load() == before && limits.Errors() == beforeErrs
	}, 10*time.Second, 50*time.Millisecond, "after SIGCONT the cache hits Redis and Redis decides the limits again")
	require.Eventually(t, func() bool {
		for i := range keys {
			if err := tokens.Create(ctx, family(900_000+i)); err != nil {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, "after SIGCONT families are created on every shard again")
	child := family(1)
	child.Hash = auth.HashJTI("child")
	err = tokens.Rotate(ctx, auth.Rotation{Old: family(1).Hash, Child: child, Now: time.Now()})
	assert.False(t, errors.Is(err, authredis.ErrUnavailable), "a family from before the outage rotates: %v", err)
}
