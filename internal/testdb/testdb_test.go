package testdb

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEachCreatesIsolatedDatabases(t *testing.T) {
	Each(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		_, err := db.DB.ExecContext(ctx, "CREATE TABLE probe (id INTEGER PRIMARY KEY, name VARCHAR(20))")
		require.NoError(t, err, "a fresh database accepts DDL")
		_, err = db.DB.ExecContext(ctx, "INSERT INTO probe (id, name) VALUES (1, 'a')")
		require.NoError(t, err)
		var n int
		require.NoError(t, db.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM probe").Scan(&n))
		require.Equal(t, 1, n, "the table holds exactly the row this test inserted")
	})
}

func TestRedisPrefixIsCleanedUp(t *testing.T) {
	client, prefix := Redis(t)
	ctx := context.Background()
	require.NoError(t, client.Set(ctx, prefix+"k", "v", 0).Err())
	require.Equal(t, "v", client.Get(ctx, prefix+"k").Val())
}

func TestMySQLDSN(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"mysql://root@127.0.0.1:3306/test", "root@tcp(127.0.0.1:3306)/test?parseTime=true"},
		{"mysql://u:p@db/x", "u:p@tcp(db:3306)/x?parseTime=true"},
		{"root@tcp(127.0.0.1:3306)/test", "root@tcp(127.0.0.1:3306)/test?parseTime=true"},
	} {
		got, err := MySQLDSN(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}

func TestRedisClusterPrefixSpreadsAndIsCleanedUp(t *testing.T) {
	ctx := context.Background()
	var client *redis.ClusterClient
	var prefix string
	t.Run("use", func(t *testing.T) {
		client, prefix = RedisCluster(t)
		for i := range 300 {
			require.NoError(t, client.Set(ctx, fmt.Sprintf("%sk%d", prefix, i), "v", time.Minute).Err(), "SET on the cluster")
		}
		perMaster := countPrefix(t, client, prefix)
		require.Len(t, perMaster, 3, "the keys of one prefix land on every master")
		for addr, n := range perMaster {
			assert.Greater(t, n, 50, "master %s holds its share of 300 keys", addr)
		}
	})
	other, _ := RedisCluster(t)
	assert.Empty(t, countPrefix(t, other, prefix), "cleanup deleted the prefix on every master")
}

func countPrefix(t *testing.T, c *redis.ClusterClient, prefix string) map[string]int {
	t.Helper()
	var mu sync.Mutex
	counts := map[string]int{}
	err := c.ForEachMaster(context.Background(), func(ctx context.Context, m *redis.Client) error {
		keys, err := m.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			mu.Lock()
			counts[m.Options().Addr] = len(keys)
			mu.Unlock()
		}
		return err
	})
	require.NoError(t, err, "KEYS on every master")
	return counts
}

func TestStartRedisStopsAndContinues(t *testing.T) {
	p := StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: p.Addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	defer c.Close()
	ctx := context.Background()
	require.NoError(t, c.Ping(ctx).Err(), "the test's own server answers")
	p.Stop(t)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	start := time.Now()
	err := c.Ping(short).Err()
	cancel()
	require.Error(t, err, "a stopped server answers nothing")
	assert.Less(t, time.Since(start), 2*time.Second, "the context's deadline ends the wait")
	p.Continue(t)
	require.Eventually(t, func() bool { return c.Ping(ctx).Err() == nil }, 5*time.Second, 20*time.Millisecond,
		"the server answers again after SIGCONT")
}

func TestStartRedisCluster(t *testing.T) {
	cl := StartRedisCluster(t, 3)
	opts, err := redis.ParseClusterURL(cl.URL)
	require.NoError(t, err, "the URL parses with go-redis's own parser")
	require.ElementsMatch(t, cl.Addrs(), opts.Addrs, "the URL names every node")
	c := redis.NewClusterClient(opts)
	defer c.Close()
	ctx := context.Background()
	for i := range 30 {
		require.NoError(t, c.Set(ctx, fmt.Sprint("k", i), i, 0).Err(), "SET on the test's own cluster")
	}
}
