package redisstore_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/internal/testdb"
)

// TestClusterTwoLevelSlotMove moves the slot of the invalidation channel to
// another master of a cluster of the test's own. The old shard keeps the
// subscription but hears nothing more (Redis 7.0 sends no SUNSUBSCRIBE
// here): the TwoLevel's probe does not come back, so it drops and bypasses
// its local copies, subscribes on the new shard, and invalidations reach it
// again.
func TestClusterTwoLevelSlotMove(t *testing.T) {
	cl := testdb.StartRedisCluster(t, 3)
	opts, err := redis.ParseClusterURL(cl.URL)
	require.NoError(t, err)
	opts.ContextTimeoutEnabled = true
	writer := redis.NewClusterClient(opts)
	t.Cleanup(func() { writer.Close() })
	reader := redis.NewClusterClient(opts)
	t.Cleanup(func() { reader.Close() })
	ctx := context.Background()

	logs := make(signal, 16)
	a := newTestTwoLevel[int](t, writer, "p:", nil)
	b := newTestTwoLevel[int](t, reader, "p:", slog.New(logs))
	bMsgs := invalidations(b)
	require.NoError(t, a.Set(ctx, "k", ent(1), time.Hour))
	<-bMsgs
	v, ok, err := b.Get(ctx, "k")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 1, v.Value, "B keeps a local copy")

	// Move the channel's slot from its master to another one.
	channel := "p:invalidate"
	slot, err := writer.ClusterKeySlot(ctx, channel).Result()
	require.NoError(t, err)
	from, err := writer.MasterForKey(ctx, channel)
	require.NoError(t, err)
	var to *redis.Client
	for _, addr := range cl.Addrs() {
		if addr != from.Options().Addr {
			to = redis.NewClient(&redis.Options{Addr: addr})
			t.Cleanup(func() { to.Close() })
			break
		}
	}
	fromID, err := from.ClusterMyID(ctx).Result()
	require.NoError(t, err)
	toID, err := to.ClusterMyID(ctx).Result()
	require.NoError(t, err)
	require.NoError(t, to.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", fromID).Err())
	require.NoError(t, from.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", toID).Err())
	require.NoError(t, to.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", toID).Err())
	require.NoError(t, from.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", toID).Err())

	assert.Equal(t, slog.LevelWarn, next(t, logs), "B notices its subscription went deaf")
	assert.Equal(t, slog.LevelInfo, next(t, logs), "and subscribes again, on the new shard")
	require.Eventually(t, func() bool { return !redisstore.Degraded(b) }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		subs, err := to.PubSubShardNumSub(ctx, channel).Result()
		return err == nil && subs[channel] >= 1
	}, 10*time.Second, 10*time.Millisecond, "B subscribes on the slot's new master")

	// Invalidations reach B again.
	v, _, _ = b.Get(ctx, "k")
	require.Equal(t, 1, v.Value)
	require.Eventually(t, func() bool {
		return a.Set(ctx, "k", ent(2), time.Hour) == nil
	}, 10*time.Second, 50*time.Millisecond, "A publishes on the new shard")
	deadline := time.After(10 * time.Second)
	for {
		v, _, _ = b.Get(ctx, "k")
		if v.Value == 2 {
			break
		}
		select {
		case <-bMsgs:
		case <-deadline:
			t.Fatalf("B never saw A's write after the move: %d", v.Value)
		}
	}
}

func newTestTwoLevel[V any](t *testing.T, rdb redis.UniversalClient, prefix string, log *slog.Logger) *redisstore.TwoLevel[V] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tl, err := redisstore.NewTwoLevel(ctx, rdb, redisstore.TwoLevelOptions[V]{Options: testOptions(prefix), Logger: log})
	require.NoError(t, err, "subscribe")
	t.Cleanup(func() { require.NoError(t, tl.Close(), "close") })
	return tl
}

// next returns the next log level, failing the test after 10 s.
func next(t *testing.T, logs signal) slog.Level {
	t.Helper()
	select {
	case l := <-logs:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no log record within 10 s")
		return 0
	}
}
