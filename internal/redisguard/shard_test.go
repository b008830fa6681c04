package redisguard_test

import (
	"context"
	"fmt"
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
	"github.com/svckit/svckit/internal/keyhash"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/ratelimit"
	rlredis "github.com/svckit/svckit/ratelimit/redisstore"
)

// TestClusterOneShardDown runs the three Redis stores on a cluster of the
// test's own whose masters keep serving their slots while another is down
// (cluster-require-full-coverage no), and SIGSTOPs one master. The calls
// to the stopped master's slots fail (at their deadline, then at once when
// that node's breaker is open), and the calls to the other masters' slots
// go on: at least 99 % of them are answered by Redis while the shard is
// down. Which master holds a key is read from the cluster, with the key
// layouts the stores document.
func TestClusterOneShardDown(t *testing.T) {
	cl := testdb.StartRedisCluster(t, 3, "--cluster-require-full-coverage", "no")
	opts, err := redis.ParseClusterURL(cl.URL)
	require.NoError(t, err)
	opts.ContextTimeoutEnabled = true
	client := redis.NewClusterClient(opts)
	t.Cleanup(func() { client.Close() })
	ctx := context.Background()

	const timeout = 100 * time.Millisecond
	aside := cache.NewAside[string, string](cacheredis.New[string](client, cacheredis.Options{Prefix: "c:", Timeout: timeout, WriteTimeout: timeout}),
		cache.Options[string]{})
	t.Cleanup(func() { aside.Close() })
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

	victim := cl.Nodes[1]
	// onVictim reports whether the cluster maps redisKey to the stopped master.
	onVictim := func(redisKey string) bool {
		m, err := client.MasterForKey(ctx, redisKey)
		require.NoError(t, err, "the master of %s", redisKey)
		return m.Options().Addr == victim.Addr
	}
	const keys = 300
	for i := range keys {
		_, err := aside.Get(ctx, fmt.Sprint("k", i), load)
		require.NoError(t, err, "warm the cache")
	}
	loadsBefore := loads.Load()
	require.EqualValues(t, keys, loadsBefore, "one load per key")

	victim.Stop(t)
	type tally struct{ ok, all int }
	var cacheHealthy, limitHealthy, tokenHealthy, tokenVictim tally
	stopped := time.Now()
	for round := 0; round < 3 || time.Since(stopped) < 3*time.Second; round++ {
		for i := range keys {
			k := fmt.Sprint("k", i)
			if !onVictim("c:" + keyhash.Sum(k)) {
				before := loads.Load()
				v, err := aside.Get(ctx, k, load)
				require.NoError(t, err, "cache reads never fail")
				require.Equal(t, "row", v)
				cacheHealthy.all++
				if loads.Load() == before {
					cacheHealthy.ok++
				}
			}
			if !onVictim("rl:" + keyhash.Sum(k)) {
				before := limits.Errors()
				_, err := limits.Allow(ctx, k, limit)
				require.NoError(t, err, "the limiter always decides")
				limitHealthy.all++
				if limits.Errors() == before {
					limitHealthy.ok++
				}
			}
			f := family(round*keys + i)
			healthy := !onVictim("a:rs:{"+keyhash.Sum(f.Subject)+"}") && !onVictim("a:rf:{"+keyhash.Sum(f.Family)+"}")
			err := tokens.Create(ctx, f)
			if err != nil {
				require.ErrorIs(t, err, authredis.ErrUnavailable, "a token store fault is Unavailable")
			}
			tally := &tokenVictim
			if healthy {
				tally = &tokenHealthy
			}
			tally.all++
			if err == nil {
				tally.ok++
			}
		}
	}
	t.Logf("one master of three stopped for %v; answered by Redis on the healthy shards: cache %d/%d, limiter %d/%d, token creates %d/%d; token creates touching the stopped shard: %d/%d",
		time.Since(stopped).Round(time.Millisecond), cacheHealthy.ok, cacheHealthy.all, limitHealthy.ok, limitHealthy.all,
		tokenHealthy.ok, tokenHealthy.all, tokenVictim.ok, tokenVictim.all)
	for _, c := range []struct {
		name string
		t    tally
	}{{"cache hits", cacheHealthy}, {"rate-limit decisions", limitHealthy}, {"token creates", tokenHealthy}} {
		require.Positive(t, c.t.all, "%s: some keys sit on the healthy shards", c.name)
		assert.GreaterOrEqual(t, float64(c.t.ok), 0.99*float64(c.t.all), "%s on the healthy shards keep working while one shard is down", c.name)
	}
	require.Positive(t, tokenVictim.all, "some families touch the stopped shard")
	assert.Less(t, tokenVictim.ok, tokenVictim.all, "the stopped shard's families are refused")
	victim.Continue(t)
}
