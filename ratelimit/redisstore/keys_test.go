package redisstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/ratelimit"
	"github.com/svckit/svckit/ratelimit/redisstore"
)

// TestLongKeysBounded checks that a client-made key of any length costs
// Redis a key of at most the prefix and ratelimit.MaxKeyLen bytes, with a
// budget of its own.
func TestLongKeysBounded(t *testing.T) { testdb.EachRedis(t, testLongKeysBounded) }

func testLongKeysBounded(t *testing.T, client redis.UniversalClient, prefix string) {
	l := ratelimit.New(ratelimit.Limit{Rate: 1, Period: time.Hour},
		redisstore.New(client, redisstore.Options{Prefix: prefix, Timeout: 10 * time.Second}))
	ctx := context.Background()
	keys := []string{strings.Repeat("a", 1<<20), strings.Repeat("a", 1<<20-1) + "b", strings.Repeat("c", ratelimit.MaxKeyLen)}
	for i, key := range keys {
		res, err := l.Allow(ctx, key)
		require.NoError(t, err, "key %d", i)
		assert.True(t, res.Allowed, "key %d has a budget of its own", i)
		res, err = l.Allow(ctx, key)
		require.NoError(t, err, "key %d again", i)
		assert.False(t, res.Allowed, "key %d keeps its state", i)

		stored := prefix + ratelimit.BoundKey(key)
		n, err := client.Exists(ctx, stored).Result()
		require.NoError(t, err, "EXISTS")
		assert.EqualValues(t, 1, n, "key %d is held under its bounded form", i)
		assert.LessOrEqual(t, len(stored), len(prefix)+ratelimit.MaxKeyLen, "key %d costs Redis a bounded key", i)
	}
}
