package testdb

import (
	"context"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis returns a client on SVCKIT_REDIS_URL and a key prefix unique to this
// test ("svckit-test:<random>:"). Every key under the prefix is deleted and
// the client closed at cleanup. The client has ContextTimeoutEnabled set, as
// svckit's Redis stores ask of every client.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	opts, err := redis.ParseURL(RedisURL(t))
	if err != nil {
		t.Fatalf("testdb: %s: %v", RedisEnv, err)
	}
	opts.ContextTimeoutEnabled = true
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		t.Fatalf("testdb: ping redis at %s: %v", RedisEnv, err)
	}
	prefix := "svckit-test:" + Suffix() + ":"
	t.Cleanup(func() {
		defer client.Close()
		deletePrefix(t, client, prefix)
	})
	return client, prefix
}

// RedisURL returns SVCKIT_REDIS_URL, skipping (or failing) when it is unset.
func RedisURL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv(RedisEnv)
	if raw == "" {
		missing(t, RedisEnv, "Redis")
	}
	return raw
}

// RedisClusterURL returns SVCKIT_REDIS_CLUSTER_URL, skipping (or failing)
// when it is unset.
func RedisClusterURL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv(RedisClusterEnv)
	if raw == "" {
		missing(t, RedisClusterEnv, "Redis Cluster")
	}
	return raw
}

// RedisCluster returns a cluster client on SVCKIT_REDIS_CLUSTER_URL and a key
// prefix unique to this test ("svckit-test:<random>:", no hash tag, so keys
// spread over every master). At cleanup every key under the prefix is
// deleted on every master and the client closed.
func RedisCluster(t testing.TB) (*redis.ClusterClient, string) {
	t.Helper()
	opts, err := redis.ParseClusterURL(RedisClusterURL(t))
	if err != nil {
		t.Fatalf("testdb: %s: %v", RedisClusterEnv, err)
	}
	opts.ContextTimeoutEnabled = true
	client := redis.NewClusterClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		return c.Ping(ctx).Err()
	}); err != nil {
		client.Close()
		t.Fatalf("testdb: ping every master of %s: %v", RedisClusterEnv, err)
	}
	prefix := "svckit-test:" + Suffix() + ":"
	t.Cleanup(func() {
		defer client.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := client.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			deletePrefix(t, c, prefix)
			return nil
		})
		if err != nil {
			t.Errorf("testdb: clean up cluster prefix %s: %v", prefix, err)
		}
	})
	return client, prefix
}

// EachRedis runs fn as a subtest "standalone" on SVCKIT_REDIS_URL and a
// subtest "cluster" on SVCKIT_REDIS_CLUSTER_URL, each with a client and a
// fresh key prefix (see Redis and RedisCluster). A subtest whose URL is
// unset skips (or fails, see Required).
func EachRedis(t *testing.T, fn func(t *testing.T, client redis.UniversalClient, prefix string)) {
	t.Helper()
	t.Run("standalone", func(t *testing.T) {
		client, prefix := Redis(t)
		fn(t, client, prefix)
	})
	t.Run("cluster", func(t *testing.T) {
		client, prefix := RedisCluster(t)
		fn(t, client, prefix)
	})
}

// deletePrefix deletes every key under prefix on one server, one DEL per key
// (keys of a cluster node may sit in different slots).
func deletePrefix(t testing.TB, c *redis.Client, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("testdb: scan redis prefix %s: %v", prefix, err)
		return
	}
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys[:n] {
				p.Del(ctx, k)
			}
			return nil
		})
		if err != nil {
			t.Errorf("testdb: delete redis keys: %v", err)
			return
		}
		keys = keys[n:]
	}
}

// RedisKeys returns the keys under prefix by the address of the server
// holding them: one entry for a standalone server, one per master of a
// cluster that holds any. Tests of a store's key layout read it.
func RedisKeys(t testing.TB, client redis.UniversalClient, prefix string) map[string][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := map[string][]string{}
	var mu sync.Mutex
	scan := func(ctx context.Context, c *redis.Client) error {
		keys, err := c.Keys(ctx, prefix+"*").Result()
		if err != nil || len(keys) == 0 {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		out[c.Options().Addr] = keys
		return nil
	}
	var err error
	switch c := client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	default:
		t.Fatalf("testdb: RedisKeys of a %T", client)
	}
	if err != nil {
		t.Fatalf("testdb: list keys under %s: %v", prefix, err)
	}
	return out
}

// CheckDigestKeys fails t unless the keys under prefix are exactly want,
// none holds '@' or '{' after the prefix (no email in clear, no hash tag
// of a client's), and, on a cluster, they sit on every master: the key
// layout of svckit's stores that keep a digest per client key.
func CheckDigestKeys(t testing.TB, client redis.UniversalClient, prefix string, want map[string]bool) {
	t.Helper()
	byNode := RedisKeys(t, client, prefix)
	n := 0
	for node, keys := range byNode {
		for _, k := range keys {
			n++
			if !want[k] {
				t.Errorf("%s: key %q is not one of the keys wanted", node, k)
			}
			if strings.ContainsAny(k[len(prefix):], "@{") {
				t.Errorf("%s: key %q holds an email or a hash tag of a client's", node, k)
			}
		}
	}
	if n != len(want) {
		t.Errorf("%d keys under %s, want %d", n, prefix, len(want))
	}
	if c, ok := client.(*redis.ClusterClient); ok {
		var masters atomic.Int64 // ForEachMaster calls fn concurrently
		_ = c.ForEachMaster(context.Background(), func(context.Context, *redis.Client) error { masters.Add(1); return nil })
		if int64(len(byNode)) != masters.Load() {
			t.Errorf("keys on %d of %d masters: %v", len(byNode), masters.Load(), byNode)
		}
	}
}
