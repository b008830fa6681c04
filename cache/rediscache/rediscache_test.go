package rediscache_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/cache/rediscache"
	"github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/internal/testdb"
)

// TestForwards checks that the deprecated path is the new one: New gives a
// *redisstore.Store that reads what another redisstore.Store wrote under
// the same prefix, and the defaults are the same values.
func TestForwards(t *testing.T) {
	client, prefix := testdb.Redis(t)
	ctx := context.Background()
	var old *redisstore.Store[string] = rediscache.New[string](client, rediscache.Options{Prefix: prefix})
	current := redisstore.New[string](client, redisstore.Options{Prefix: prefix})
	require.NoError(t, current.Set(ctx, "k", cache.Entry[string]{Value: "v"}, time.Minute), "Set through redisstore")
	e, found, err := old.Get(ctx, "k")
	require.NoError(t, err, "Get through rediscache")
	assert.True(t, found, "the same store, the same keys")
	assert.Equal(t, "v", e.Value, "the same encoding")
	assert.Equal(t, redisstore.DefaultTimeout, time.Duration(rediscache.DefaultTimeout), "DefaultTimeout")
	assert.Equal(t, redisstore.DefaultWriteTimeout, time.Duration(rediscache.DefaultWriteTimeout), "DefaultWriteTimeout")
	assert.Equal(t, redisstore.DefaultLocalTTL, time.Duration(rediscache.DefaultLocalTTL), "DefaultLocalTTL")
}
