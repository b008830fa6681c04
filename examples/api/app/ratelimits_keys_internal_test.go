package app

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/testdb"
)

// TestLoginThrottleKeysHashed: the login throttle keys its budgets by the
// client's email; in Redis they are digests (ratelimit/redisstore's key
// layout), so no email is written in clear, and an email holding a hash
// tag ("{x}") does not pin its keys to one slot's name.
func TestLoginThrottleKeysHashed(t *testing.T) {
	client, prefix := testdb.Redis(t)
	a := instances(t, 1, testdb.SQLite(t), testdb.RedisURL(t), prefix)[0]
	ctx := context.Background()
	for _, email := range []string{"kate@example.com", "{x}ann@example.com"} {
		r := httptest.NewRequest("POST", "/v1/auth/login", nil)
		require.NoError(t, a.limits.login.allow(ctx, r, email), "a first attempt is allowed")
	}
	keys, err := client.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err, "KEYS")
	require.NotEmpty(t, keys, "the budgets live in Redis")
	for _, k := range keys {
		assert.False(t, strings.ContainsAny(k[len(prefix):], "@{}"), "%s: no email and no hash tag in a key", k)
	}
}
