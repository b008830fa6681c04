package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/cache/internal/storetest"
	"github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/internal/testdb"
)

// testOptions are the store options of the functional tests: generous
// deadlines, since these tests check behaviour, not deadlines, on a busy
// machine.
func testOptions(prefix string) redisstore.Options {
	return redisstore.Options{Prefix: prefix, Timeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
}

func TestClusterContract(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T) (cache.Store[storetest.User], func(time.Duration)) {
			rdb, prefix := testdb.RedisCluster(t)
			opts := testOptions(prefix)
			return redisstore.New[storetest.User](rdb, opts), nil
		},
	})
}

func newClusterTwoLevel[V any](t *testing.T, rdb redis.UniversalClient, prefix string) *redisstore.TwoLevel[V] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tl, err := redisstore.NewTwoLevel(ctx, rdb, redisstore.TwoLevelOptions[V]{Options: testOptions(prefix)})
	require.NoError(t, err, "subscribe")
	t.Cleanup(func() { require.NoError(t, tl.Close(), "close") })
	return tl
}

func TestClusterTwoLevelContract(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T) (cache.Store[storetest.User], func(time.Duration)) {
			rdb, prefix := testdb.RedisCluster(t)
			return newClusterTwoLevel[storetest.User](t, rdb, prefix), nil
		},
	})
}

// TestClusterTwoLevelInvalidatesOtherProcesses runs two TwoLevels on two
// cluster clients (two processes): invalidations of keys in every slot
// reach the other's local copies, over a sharded channel.
func TestClusterTwoLevelInvalidatesOtherProcesses(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testdb.RedisCluster(t)
	opts, err := redis.ParseClusterURL(testdb.RedisClusterURL(t))
	require.NoError(t, err)
	opts.ContextTimeoutEnabled = true
	other := redis.NewClusterClient(opts)
	t.Cleanup(func() { other.Close() })

	a := newClusterTwoLevel[int](t, rdb, prefix)
	b := newClusterTwoLevel[int](t, other, prefix)
	bMsgs := invalidations(b)

	channel := prefix + "invalidate"
	shard, err := rdb.MasterForKey(ctx, channel)
	require.NoError(t, err, "the channel's shard")
	subs, err := shard.PubSubShardNumSub(ctx, channel).Result()
	require.NoError(t, err, "PUBSUB SHARDNUMSUB")
	assert.Equal(t, int64(2), subs[channel], "both processes subscribe to the sharded channel on its shard")
	require.NoError(t, rdb.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		classic, err := m.PubSubNumSub(ctx, channel).Result()
		assert.Zero(t, classic[channel], "no classic subscription on %s, which every node would forward to", m.Options().Addr)
		return err
	}), "PUBSUB NUMSUB on every master")

	const keys = 12
	for i := range keys {
		k := fmt.Sprint("k", i)
		require.NoError(t, a.Set(ctx, k, ent(i), time.Hour), "A writes %s", k)
		<-bMsgs
		v, ok, err := b.Get(ctx, k)
		require.NoError(t, err)
		require.True(t, ok, "B finds %s", k)
		assert.Equal(t, i, v.Value)
	}
	behind := redisstore.New[int](rdb, testOptions(prefix))
	for i := range keys {
		k := fmt.Sprint("k", i)
		require.NoError(t, behind.Set(ctx, k, ent(100), time.Hour), "write to Redis alone")
		v, _, _ := b.Get(ctx, k)
		assert.Equal(t, i, v.Value, "B serves its local copy of %s", k)
		require.NoError(t, a.Delete(ctx, k), "A deletes %s", k)
		<-bMsgs
		_, ok, err := b.Get(ctx, k)
		require.NoError(t, err)
		assert.False(t, ok, "A's delete of %s reached B's local copy", k)
	}
	assert.False(t, redisstore.Degraded(b), "the subscription is healthy")
}
