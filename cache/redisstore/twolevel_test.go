package redisstore_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
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

func newTwoLevel[V any](t *testing.T, rdb redis.UniversalClient, prefix string) *redisstore.TwoLevel[V] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tl, err := redisstore.NewTwoLevel(ctx, rdb, redisstore.TwoLevelOptions[V]{Options: testOptions(prefix)})
	require.NoError(t, err, "subscribe")
	t.Cleanup(func() { require.NoError(t, tl.Close(), "close") })
	return tl
}

// secondClient opens another connection pool to the same Redis, standing
// for another process.
func secondClient(t *testing.T) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(testdb.RedisURL(t))
	require.NoError(t, err, "parse redis url")
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// invalidations returns a channel receiving a value per message tl applies.
func invalidations[V any](tl *redisstore.TwoLevel[V]) <-chan struct{} {
	ch := make(chan struct{}, 64)
	redisstore.OnInvalidation(tl, func() { ch <- struct{}{} })
	return ch
}

func TestTwoLevelContract(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T) (cache.Store[storetest.User], func(time.Duration)) {
			rdb, prefix := testdb.Redis(t)
			return newTwoLevel[storetest.User](t, rdb, prefix), nil
		},
	})
}

func TestTwoLevelInvalidatesOtherProcesses(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testdb.Redis(t)
	a := newTwoLevel[int](t, rdb, prefix)
	b := newTwoLevel[int](t, secondClient(t), prefix)
	bMsgs := invalidations(b)

	require.NoError(t, a.Set(ctx, "k", ent(1), time.Hour), "A writes")
	<-bMsgs
	v, ok, err := b.Get(ctx, "k")
	require.NoError(t, err, "B reads")
	require.True(t, ok, "B finds A's write in Redis")
	assert.Equal(t, 1, v.Value, "B reads A's value")

	// Change Redis behind everyone's back: B's local copy answers.
	behind := redisstore.New[int](rdb, testOptions(prefix))
	require.NoError(t, behind.Set(ctx, "k", ent(2), time.Hour), "write to Redis alone")
	v, _, _ = b.Get(ctx, "k")
	assert.Equal(t, 1, v.Value, "B serves its local copy without a round trip")

	require.NoError(t, a.Delete(ctx, "k"), "A deletes")
	<-bMsgs
	_, ok, err = b.Get(ctx, "k")
	require.NoError(t, err, "B reads after the delete")
	assert.False(t, ok, "A's delete reached B's local copy")

	require.NoError(t, a.Set(ctx, "k", ent(3), time.Hour), "A writes again")
	_, ok, _ = b.Get(ctx, "k") // may fill B's copy before the message lands
	assert.True(t, ok, "B finds the new value")
	<-bMsgs
	v, _, _ = b.Get(ctx, "k")
	assert.Equal(t, 3, v.Value, "B serves the new value")

	set, err := a.SetIfAbsent(ctx, "nx", ent(4), time.Hour)
	require.NoError(t, err, "set if absent")
	assert.True(t, set, "absent key set")
	<-bMsgs
	set, err = b.SetIfAbsent(ctx, "nx", ent(5), time.Hour)
	require.NoError(t, err, "set if absent on a present key")
	assert.False(t, set, "present key refused")
	v, _, _ = b.Get(ctx, "nx")
	assert.Equal(t, 4, v.Value, "the first value stays")
	assert.False(t, redisstore.Degraded(b), "the subscription is healthy")
}

func TestTwoLevelAsideAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testdb.Redis(t)
	ta := newTwoLevel[string](t, rdb, prefix)
	tb := newTwoLevel[string](t, secondClient(t), prefix)
	bMsgs := invalidations(tb)
	a := cache.NewAside[string, string](ta, cache.Options[string]{})
	b := cache.NewAside[string, string](tb, cache.Options[string]{})
	row := "v1"
	load := func(context.Context) (string, error) { return row, nil }

	v, err := a.Get(ctx, "k", load)
	require.NoError(t, err, "A loads")
	assert.Equal(t, "v1", v, "A's value")
	// A filled under its lease: no message, as no process held a copy.
	v, err = b.Get(ctx, "k", func(context.Context) (string, error) {
		t.Error("B must hit the entry A stored")
		return "", nil
	})
	require.NoError(t, err, "B hits")
	assert.Equal(t, "v1", v, "B's value")

	row = "v2"
	require.NoError(t, a.Delete(ctx, "k"), "A updates and invalidates")
	<-bMsgs
	v, err = b.Get(ctx, "k", load)
	require.NoError(t, err, "B reads after the update")
	assert.Equal(t, "v2", v, "B does not serve its old local copy")
}

func TestTwoLevelRedisDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := redisstore.NewTwoLevel[int](ctx, deadRedis(t), redisstore.TwoLevelOptions[int]{})
	assert.Error(t, err, "no subscription without Redis")
	assert.Panics(t, func() { _, _ = redisstore.NewTwoLevel[int](ctx, nil, redisstore.TwoLevelOptions[int]{}) }, "nil client")
}

func TestTwoLevelCloseTwice(t *testing.T) {
	rdb, prefix := testdb.Redis(t)
	tl := newTwoLevel[int](t, rdb, prefix)
	require.NoError(t, tl.Close(), "first close")
	require.NoError(t, tl.Close(), "second close does nothing")
}

// signal is a slog.Handler sending each record's level on a channel.
type signal chan slog.Level

func (s signal) Enabled(context.Context, slog.Level) bool { return true }
func (s signal) Handle(_ context.Context, r slog.Record) error {
	s <- r.Level
	return nil
}
func (s signal) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s signal) WithGroup(string) slog.Handler      { return s }

func TestTwoLevelSubscriptionBreak(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testdb.Redis(t)
	opts, err := redis.ParseURL(testdb.RedisURL(t))
	require.NoError(t, err, "parse redis url")
	name := "svckit-test-" + testdb.Suffix()
	opts.ClientName = name
	other := redis.NewClient(opts)
	t.Cleanup(func() { other.Close() })
	logs := make(signal, 8)
	b, err := redisstore.NewTwoLevel(ctx, other, redisstore.TwoLevelOptions[int]{
		Options: testOptions(prefix),
		Logger:  slog.New(logs),
	})
	require.NoError(t, err, "subscribe")
	t.Cleanup(func() { require.NoError(t, b.Close(), "close") })

	require.NoError(t, b.Set(ctx, "k", ent(1), time.Hour), "B writes, keeping a local copy")

	// Break B's subscription: kill its pub/sub connection, found by name.
	list, err := rdb.ClientList(ctx).Result()
	require.NoError(t, err, "client list")
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " name="+name+" ") || !strings.Contains(line, "sub=1") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if id, ok := strings.CutPrefix(f, "id="); ok {
				n, err := strconv.ParseInt(id, 10, 64)
				require.NoError(t, err, "client id")
				require.NoError(t, rdb.ClientKillByFilter(ctx, "ID", strconv.FormatInt(n, 10)).Err(), "kill")
				killed++
			}
		}
	}
	require.Equal(t, 1, killed, "B's subscription connection found")
	assert.Equal(t, slog.LevelWarn, <-logs, "the break is reported")

	// Meanwhile writes reach Redis without B hearing of them; B reads
	// through to Redis rather than trusting its copies.
	behind := redisstore.New[int](rdb, testOptions(prefix))
	require.NoError(t, behind.Set(ctx, "k", ent(2), time.Hour), "write B does not hear about")
	assert.Equal(t, slog.LevelInfo, <-logs, "the subscription comes back")
	v, ok, err := b.Get(ctx, "k")
	require.NoError(t, err, "read after the break")
	require.True(t, ok, "found")
	assert.Equal(t, 2, v.Value, "copies from before the break are dropped")
	assert.False(t, redisstore.Degraded(b), "healthy again")
}

// ent is an entry holding v.
func ent(v int) cache.Entry[int] { return cache.Entry[int]{Value: v} }
