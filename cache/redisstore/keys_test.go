package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/internal/keyhash"
	"github.com/svckit/svckit/internal/testdb"
)

// rkey is the Redis key of a cache key, as the package doc gives it.
func rkey(prefix, key string) string { return prefix + keyhash.Sum(key) }

// TestKeyLayout checks the key layout of the package doc: every entry
// under the prefix and the digest of its cache key, so a 1 MiB key costs
// Redis a bounded key, a client's email is not written in clear, and keys
// that all hold the same hash tag ("{x}") spread over every master of a
// cluster.
func TestKeyLayout(t *testing.T) {
	testdb.EachRedis(t, func(t *testing.T, rdb redis.UniversalClient, prefix string) {
		ctx := context.Background()
		a := cache.NewAside[string, string](redisstore.New[string](rdb, testOptions(prefix)), cache.Options[string]{Prefix: "user:"})
		t.Cleanup(func() { require.NoError(t, a.Close(), "close") })
		keys := []string{strings.Repeat("k", 1<<20)}
		for i := range 60 {
			keys = append(keys, fmt.Sprintf("{x}kate%d@example.com", i))
		}
		want := map[string]bool{}
		for _, k := range keys {
			v, err := a.Get(ctx, k, func(context.Context) (string, error) { return "row", nil })
			require.NoError(t, err, "load")
			require.Equal(t, "row", v, "value")
			v, err = a.Get(ctx, k, func(context.Context) (string, error) { return "", fmt.Errorf("a hit must not load") })
			require.NoError(t, err, "hit")
			require.Equal(t, "row", v, "the entry is found under its stored key")
			want[rkey(prefix, "user:"+k)] = true
		}
		testdb.CheckDigestKeys(t, rdb, prefix, want)
	})
}
