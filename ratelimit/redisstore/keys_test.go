package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/keyhash"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/ratelimit"
	"github.com/svckit/svckit/ratelimit/redisstore"
)

// TestKeyLayout checks the key layout the package doc gives: the prefix and
// the digest of the limiter's key, so a key of any length costs Redis a
// bounded key with a budget of its own, no email is written in clear, and
// keys whose users put a hash tag in them ("{x}kate@example.com") still
// spread over every master of a cluster.
func TestKeyLayout(t *testing.T) { testdb.EachRedis(t, testKeyLayout) }

func testKeyLayout(t *testing.T, client redis.UniversalClient, prefix string) {
	l := ratelimit.New(ratelimit.Limit{Rate: 1, Period: time.Hour},
		redisstore.New(client, redisstore.Options{Prefix: prefix, Timeout: 10 * time.Second}))
	ctx := context.Background()
	keys := []string{strings.Repeat("a", 1<<20), strings.Repeat("a", 1<<20-1) + "b", strings.Repeat("c", ratelimit.MaxKeyLen)}
	for i := range 60 {
		keys = append(keys, fmt.Sprintf("login-email:email:{x}user%d@example.com", i))
	}
	want := map[string]bool{}
	for i, key := range keys {
		res, err := l.Allow(ctx, key)
		require.NoError(t, err, "key %d", i)
		assert.True(t, res.Allowed, "key %d has a budget of its own", i)
		res, err = l.Allow(ctx, key)
		require.NoError(t, err, "key %d again", i)
		assert.False(t, res.Allowed, "key %d keeps its state", i)
		want[prefix+keyhash.Sum(key)] = true
	}
	testdb.CheckDigestKeys(t, client, prefix, want)
}
