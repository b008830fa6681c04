package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/cache/internal/storetest"
	"github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/internal/testdb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRedisContract(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T) (cache.Store[storetest.User], func(time.Duration)) {
			rdb, prefix := testdb.Redis(t)
			return redisstore.New[storetest.User](rdb, testOptions(prefix)), nil
		},
	})
}

func TestRedisTTLAndPrefix(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testdb.Redis(t)
	s := redisstore.New[string](rdb, testOptions(prefix))
	tests := []struct {
		name    string
		set     func(key string) error
		wantTTL func(t *testing.T, ttl time.Duration)
	}{
		{"set with ttl", func(k string) error { return s.Set(ctx, k, cache.Entry[string]{Value: "v"}, time.Minute) }, func(t *testing.T, ttl time.Duration) {
			assert.Greater(t, ttl, 50*time.Second, "TTL set")
			assert.LessOrEqual(t, ttl, time.Minute, "TTL not extended")
		}},
		{"set without ttl", func(k string) error { return s.Set(ctx, k, cache.Entry[string]{Value: "v"}, 0) }, func(t *testing.T, ttl time.Duration) {
			assert.Equal(t, time.Duration(-1), ttl, "no expiry")
		}},
		{"sub-millisecond ttl rounds up", func(k string) error { return s.Set(ctx, k, cache.Entry[string]{Value: "v"}, time.Microsecond) }, func(t *testing.T, ttl time.Duration) {
			assert.LessOrEqual(t, ttl, time.Millisecond, "TTL of at most a millisecond")
		}},
		{"set if absent with ttl", func(k string) error {
			_, err := s.SetIfAbsent(ctx, k, cache.Entry[string]{Value: "v"}, time.Minute)
			return err
		}, func(t *testing.T, ttl time.Duration) {
			assert.Greater(t, ttl, 50*time.Second, "TTL set by SET NX")
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := "k" + strconv.Itoa(i)
			require.NoError(t, tt.set(k), "write")
			ttl, err := rdb.PTTL(ctx, rkey(prefix, k)).Result()
			require.NoError(t, err, "the key lives under the prefix")
			if ttl != -2 { // already expired (sub-millisecond case)
				tt.wantTTL(t, ttl)
			}
		})
	}
}

// upperJSON is a codec that shows the store uses the one it is given.
type upperJSON struct{ calls *int }

func (c upperJSON) Marshal(v any) ([]byte, error)   { *c.calls++; return json.Marshal(v) }
func (c upperJSON) Unmarshal(b []byte, v any) error { *c.calls++; return json.Unmarshal(b, v) }

func TestRedisCodec(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testdb.Redis(t)
	calls := 0
	s := redisstore.New[map[string]int](rdb, redisstore.Options{Prefix: prefix, Codec: upperJSON{&calls}})
	require.NoError(t, s.Set(ctx, "m", cache.Entry[map[string]int]{Value: map[string]int{"a": 1}}, time.Minute), "set")
	got, ok, err := s.Get(ctx, "m")
	require.NoError(t, err, "get")
	require.True(t, ok, "found")
	assert.Equal(t, map[string]int{"a": 1}, got.Value, "round trip")
	assert.Equal(t, 2, calls, "the custom codec encoded and decoded")

	require.NoError(t, s.Set(ctx, "bad", cache.Entry[map[string]int]{Value: map[string]int{"a": 1}}, time.Minute), "set")
	_, _, err = redisstore.New[int](rdb, testOptions(prefix)).Get(ctx, "bad")
	var typeErr *json.UnmarshalTypeError
	assert.ErrorAs(t, err, &typeErr, "a value the codec cannot decode is an error")
	assert.ErrorIs(t, err, cache.ErrUndecodable, "... wrapping cache.ErrUndecodable")

	_, err = redisstore.New[func()](rdb, testOptions(prefix)).SetIfAbsent(ctx, "f", cache.Entry[func()]{Value: func() {}}, 0)
	var unsupported *json.UnsupportedTypeError
	assert.ErrorAs(t, err, &unsupported, "an unencodable value is an error")
}

func TestNewRejectsNilClient(t *testing.T) {
	assert.PanicsWithValue(t, "redisstore: New with a nil client", func() { redisstore.New[int](nil, redisstore.Options{}) },
		"a nil client is a programming error")
}

// deadRedis is a client on a loopback port nothing listens on.
func deadRedis(t *testing.T) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func TestRedisDown(t *testing.T) {
	ctx := context.Background()
	s := redisstore.New[int](deadRedis(t), redisstore.Options{})
	_, _, err := s.Get(ctx, "k")
	assert.Error(t, err, "get fails")
	assert.Error(t, s.Set(ctx, "k", cache.Entry[int]{Value: 1}, time.Minute), "set fails")
	_, err = s.SetIfAbsent(ctx, "k", cache.Entry[int]{Value: 1}, time.Minute)
	assert.Error(t, err, "set if absent fails")
	assert.Error(t, s.Delete(ctx, "k"), "delete one fails")
	assert.Error(t, s.Delete(ctx, "a", "b"), "delete many fails")
	assert.NoError(t, s.Delete(ctx), "delete nothing makes no call")
}

// recorder is a slog.Handler counting records.
type recorder struct {
	mu sync.Mutex
	n  int
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(context.Context, slog.Record) error {
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func TestAsideSurvivesRedisGoingDown(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testdb.Redis(t)
	live := redisstore.New[string](rdb, testOptions(prefix))
	dead := redisstore.New[string](deadRedis(t), testOptions(prefix))
	rec := &recorder{}
	opts := cache.Options[string]{Logger: slog.New(rec)}

	up := cache.NewAside[string, string](live, opts)
	v, err := up.Get(ctx, "k", func(context.Context) (string, error) { return "from db", nil })
	require.NoError(t, err, "read with Redis up")
	assert.Equal(t, "from db", v, "loaded")

	// "Redis killed mid-test": the same keys, now behind a closed port.
	down := cache.NewAside[string, string](dead, opts)
	loads := 0
	for range 5 {
		v, err := down.Get(ctx, "k", func(context.Context) (string, error) { loads++; return "from db", nil })
		require.NoError(t, err, "reads still succeed through the loader")
		assert.Equal(t, "from db", v, "value from the loader")
	}
	assert.Equal(t, 5, loads, "every read loads while Redis is down")
	assert.Equal(t, uint64(5), down.Stats().StoreErrors, "the outage is counted")
	assert.Equal(t, 1, rec.n, "the outage is logged once")

	_, err = cache.NewAside[string, string](dead, cache.Options[string]{FailOnStoreError: true}).
		Get(ctx, "k", func(context.Context) (string, error) { return "x", nil })
	assert.Error(t, err, "configured to fail, Get returns the store error")
	assert.False(t, errors.Is(err, cache.ErrNotFound), "a store error is not a miss")
}

// TestRedisStoresEntryFrames checks what an Aside leaves in Redis: format
// 1's header (magic, kind, version, refresh time), then the value as plain
// JSON.
func TestRedisStoresEntryFrames(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testdb.Redis(t)
	s := redisstore.New[storetest.User](rdb, testOptions(prefix))
	require.NoError(t, s.Set(ctx, "u", cache.Entry[storetest.User]{Value: storetest.User{ID: 1, Name: "alice"}}, time.Minute), "set")
	raw, err := rdb.Get(ctx, rkey(prefix, "u")).Bytes()
	require.NoError(t, err, "raw get")
	require.Greater(t, len(raw), 11, "header and value")
	assert.Equal(t, []byte{0xE2, 0}, raw[:2], "header: format 1, a value")
	assert.NotZero(t, raw[2:10], "a version")
	assert.Equal(t, byte(0), raw[10], "no refresh time")
	assert.JSONEq(t, `{"id":1,"name":"alice"}`, string(raw[11:]), "the value as plain JSON")
}

// TestRedisUndecodableEntryIsReplaced writes bytes the store cannot decode,
// as an older version would have: the Aside counts a store error, serves from
// the loader and overwrites the bad entry, so the next read hits.
func TestRedisUndecodableEntryIsReplaced(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testdb.Redis(t)
	store := redisstore.New[storetest.User](rdb, testOptions(prefix))
	load := func(context.Context) (storetest.User, error) { return storetest.User{ID: 1, Name: "alice"}, nil }

	t.Run("served and overwritten", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, rkey(prefix, "u:1"), `{"v":{"id":1}}`, time.Minute).Err(), "plant")
		_, _, err := store.Get(ctx, "u:1")
		require.ErrorIs(t, err, cache.ErrUndecodable, "the store reports the bytes undecodable")

		a := cache.NewAside[string, storetest.User](store, cache.Options[string]{})
		u, err := a.Get(ctx, "u:1", load)
		require.NoError(t, err, "served from the loader")
		assert.Equal(t, "alice", u.Name, "loaded value")
		u, err = a.Get(ctx, "u:1", load)
		require.NoError(t, err, "second read")
		assert.Equal(t, "alice", u.Name, "cached value")
		st := a.Stats()
		assert.Equal(t, uint64(1), st.Loads, "one load: the bad entry was overwritten")
		assert.Equal(t, uint64(1), st.Hits, "the second read hit")
		assert.Equal(t, uint64(1), st.StoreErrors, "the bad entry counted")
	})
	t.Run("fail on store error", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, rkey(prefix, "u:2"), "garbage", time.Minute).Err(), "plant")
		a := cache.NewAside[string, storetest.User](store, cache.Options[string]{FailOnStoreError: true})
		_, err := a.Get(ctx, "u:2", load)
		assert.ErrorIs(t, err, cache.ErrUndecodable, "the error is returned")
		assert.Zero(t, a.Stats().Loads, "nothing loaded")
	})
}
