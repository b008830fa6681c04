package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/auth/internal/storetest"
	"github.com/svckit/svckit/auth/redisstore"
	"github.com/svckit/svckit/internal/testdb"
)

func TestContract(t *testing.T) {
	client, prefix := testdb.Redis(t)
	storetest.Run(t, func(t *testing.T) auth.RefreshStore {
		return redisstore.New(client, redisstore.Options{Prefix: prefix + testdb.Suffix() + ":"})
	})
}

func TestKeysHoldHashesAndExpire(t *testing.T) {
	ctx := context.Background()
	client, prefix := testdb.Redis(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := redisstore.New(client, redisstore.Options{Prefix: prefix, Now: func() time.Time { return now }, Margin: time.Second})
	tok := auth.RefreshToken{Hash: auth.HashJTI("the-jti"), Family: "fam", Subject: "alice",
		ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(2 * time.Hour)}
	require.NoError(t, s.Create(ctx, tok), "Create")

	keys, err := client.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err, "list keys")
	assert.ElementsMatch(t, []string{prefix + "rt:" + tok.Hash.String(), prefix + "rf:fam", prefix + "rs:alice"}, keys,
		"the store must key tokens by the jti's hash")
	for key, want := range map[string]time.Duration{
		prefix + "rt:" + tok.Hash.String(): time.Hour + time.Second,
		prefix + "rf:fam":                  2*time.Hour + time.Second,
		prefix + "rs:alice":                2*time.Hour + time.Second,
	} {
		ttl, err := client.PTTL(ctx, key).Result()
		require.NoError(t, err, "PTTL %s", key)
		assert.InDelta(t, float64(want), float64(ttl), float64(time.Minute), "%s must expire with its record plus the margin", key)
	}
	vals, err := client.HGetAll(ctx, prefix+"rt:"+tok.Hash.String()).Result()
	require.NoError(t, err, "HGETALL")
	for _, v := range vals {
		assert.NotContains(t, v, "the-jti", "no raw jti may be stored")
	}
}

func TestNewPanicsWithoutClient(t *testing.T) {
	assert.PanicsWithValue(t, "redisstore: New needs a client", func() { redisstore.New(nil, redisstore.Options{}) },
		"a nil client is a programmer error")
}
