package redisstore_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/auth/internal/storetest"
	"github.com/svckit/svckit/auth/redisstore"
	"github.com/svckit/svckit/internal/keyhash"
	"github.com/svckit/svckit/internal/testdb"
)

// testTimeout replaces the default deadline in the tests of what the store
// does: a test machine under load can take longer than 250 ms, and the
// fault tests check the deadline itself.
const testTimeout = 10 * time.Second

func TestContract(t *testing.T) {
	testdb.EachRedis(t, func(t *testing.T, client redis.UniversalClient, prefix string) {
		storetest.Run(t, func(t *testing.T) auth.RefreshStore {
			return redisstore.New(client, redisstore.Options{Prefix: prefix + testdb.Suffix() + ":", Timeout: testTimeout})
		})
	})
}

func TestKeysHoldHashesAndExpire(t *testing.T) {
	testdb.EachRedis(t, func(t *testing.T, client redis.UniversalClient, prefix string) {
		ctx := context.Background()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		s := redisstore.New(client, redisstore.Options{Prefix: prefix, Now: func() time.Time { return now }, Margin: time.Second, Timeout: testTimeout})
		tok := auth.RefreshToken{Hash: auth.HashJTI("the-jti"), Family: "fam", Subject: "alice",
			ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(2 * time.Hour)}
		require.NoError(t, s.Create(ctx, tok), "Create")

		// The layout of the package doc.
		fam, sub := "{"+keyhash.Sum("fam")+"}", "{"+keyhash.Sum("alice")+"}"
		tokenKey := prefix + "rt:" + fam + ":" + tok.Hash.String()
		keys := map[string]time.Duration{
			tokenKey:             time.Hour + time.Second,
			prefix + "rf:" + fam: 2*time.Hour + time.Second,
			prefix + "rs:" + sub: 2*time.Hour + time.Second,
		}
		for key, want := range keys {
			ttl, err := client.PTTL(ctx, key).Result()
			require.NoError(t, err, "PTTL %s", key)
			assert.InDelta(t, float64(want), float64(ttl), float64(time.Minute), "%s must exist and expire with its record plus the margin", key)
		}
		if c, ok := client.(*redis.ClusterClient); ok {
			assert.Equal(t, slot(t, c, tokenKey), slot(t, c, prefix+"rf:"+fam), "a family's keys share its slot")
		}
		vals, err := client.HGetAll(ctx, tokenKey).Result()
		require.NoError(t, err, "HGETALL")
		for _, v := range vals {
			assert.NotContains(t, v, "the-jti", "no raw jti may be stored")
		}
	})
}

// TestKeysHideUsersAndSpread: subjects and family ids a caller chose,
// emails with a hash tag in them, appear in no key, and their families
// still spread over every master of a cluster.
func TestKeysHideUsersAndSpread(t *testing.T) {
	testdb.EachRedis(t, func(t *testing.T, client redis.UniversalClient, prefix string) {
		ctx := context.Background()
		s := redisstore.New(client, redisstore.Options{Prefix: prefix, Timeout: testTimeout})
		now := time.Now()
		for i := range 60 {
			require.NoError(t, s.Create(ctx, auth.RefreshToken{Hash: auth.HashJTI(fmt.Sprint("jti-", i)),
				Family: fmt.Sprintf("{x}family-%d", i), Subject: fmt.Sprintf("{x}user%d@example.com", i),
				ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(time.Hour)}), "Create")
		}
		byNode := testdb.RedisKeys(t, client, prefix)
		n := 0
		for node, keys := range byNode {
			for _, k := range keys {
				n++
				assert.NotContains(t, k, "@", "%s: no subject in clear", node)
				assert.NotContains(t, k, "{x}", "%s: no hash tag of the caller's", node)
			}
		}
		assert.Equal(t, 3*60, n, "a family, its token and its subject's index per Create")
		if _, ok := client.(*redis.ClusterClient); ok {
			assert.Len(t, byNode, 3, "families whose ids and subjects hold the same {x} spread over every master")
		}
	})
}

func TestNewPanics(t *testing.T) {
	assert.PanicsWithValue(t, "redisstore: New needs a client", func() { redisstore.New(nil, redisstore.Options{}) },
		"a nil client is a programmer error")
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	assert.Panics(t, func() { redisstore.New(c, redisstore.Options{Prefix: "{auth}:"}) },
		"a hash tag in the prefix would put every family on one shard")
}

// TestRevokeSubjectAcrossShards gives one user 60 families, which land on
// every master of the cluster, and revokes them all in one call.
func TestRevokeSubjectAcrossShards(t *testing.T) {
	testdb.EachRedis(t, func(t *testing.T, client redis.UniversalClient, prefix string) {
		ctx := context.Background()
		s := redisstore.New(client, redisstore.Options{Prefix: prefix, Timeout: testTimeout})
		now := time.Now()
		var toks []auth.RefreshToken
		slots := map[int64]bool{}
		cluster, _ := client.(*redis.ClusterClient)
		for i := range 60 {
			tok := auth.RefreshToken{Hash: auth.HashJTI(fmt.Sprint("jti", i)), Family: fmt.Sprint("family-", i), Subject: "bob",
				ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(2 * time.Hour)}
			require.NoError(t, s.Create(ctx, tok), "Create family %d", i)
			toks = append(toks, tok)
			if cluster != nil {
				slots[slot(t, cluster, prefix+"rf:{"+tok.Family+"}")] = true
			}
		}
		if cluster != nil {
			assert.Greater(t, len(slots), 40, "the families are spread over many slots")
		}
		other := auth.RefreshToken{Hash: auth.HashJTI("other"), Family: "carol-1", Subject: "carol",
			ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(2 * time.Hour)}
		require.NoError(t, s.Create(ctx, other))

		require.NoError(t, s.RevokeSubject(ctx, "bob", now), "revoking families on every shard needs no CROSSSLOT command")
		for _, tok := range append(toks, other) {
			child := auth.RefreshToken{Hash: auth.HashJTI("child-" + tok.Family), Family: tok.Family, Subject: tok.Subject,
				ExpiresAt: now.Add(time.Hour)}
			err := s.Rotate(ctx, auth.Rotation{Old: tok.Hash, Child: child, Now: now})
			if tok.Subject == "bob" {
				assert.ErrorIs(t, err, auth.ErrRevoked, "family %s of bob is revoked", tok.Family)
			} else {
				assert.NoError(t, err, "carol's family is untouched")
			}
		}
	})
}

// slot asks the cluster for key's hash slot.
func slot(t *testing.T, c *redis.ClusterClient, key string) int64 {
	t.Helper()
	n, err := c.ClusterKeySlot(context.Background(), key).Result()
	require.NoError(t, err, "CLUSTER KEYSLOT")
	return n
}

// TestKeySpread creates 10 000 families on the cluster and counts each
// master's keys: every master holds its share, within ±10 % of the mean.
func TestKeySpread(t *testing.T) {
	client, prefix := testdb.RedisCluster(t)
	ctx := context.Background()
	s := redisstore.New(client, redisstore.Options{Prefix: prefix, Timeout: 10 * time.Second})
	now := time.Now()
	const families, workers = 10_000, 16
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < families; i += workers {
				tok := auth.RefreshToken{Hash: auth.HashJTI(fmt.Sprint("jti-", i)), Family: testdb.Suffix(),
					Subject: fmt.Sprint("user-", i%2500), ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(2 * time.Hour)}
				if err := s.Create(ctx, tok); err != nil {
					t.Errorf("Create %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed())

	var mu sync.Mutex
	perMaster := map[string]int64{}
	require.NoError(t, client.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		var n int64
		iter := m.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			n++
		}
		mu.Lock()
		perMaster[m.Options().Addr] = n
		mu.Unlock()
		return iter.Err()
	}), "count keys on every master")
	var total int64
	var addrs []string
	for a, n := range perMaster {
		total += n
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	require.Equal(t, int64(2*families+2500), total, "a family key and a token key per family, an index per user")
	mean := float64(total) / float64(len(perMaster))
	var table strings.Builder
	fmt.Fprintf(&table, "| master | keys | vs mean |\n| --- | --- | --- |\n")
	for _, a := range addrs {
		n := perMaster[a]
		dev := (float64(n) - mean) / mean
		fmt.Fprintf(&table, "| %s | %d | %+.1f %% |\n", a, n, 100*dev)
		assert.InDelta(t, 0, dev, 0.10, "master %s holds %d keys, mean %.0f", a, n, mean)
	}
	t.Logf("key spread of %d families over %d masters:\n%s", families, len(perMaster), table.String())
}
