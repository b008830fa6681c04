package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
	"github.com/svckit/svckit/internal/testdb"
)

func TestNewRedisClient(t *testing.T) {
	for _, tc := range []struct {
		url     string
		cluster []string // nil: one server
		addr    string
		bad     bool
	}{
		{url: "redis://cache:6379/1", addr: "cache:6379"},
		{url: "rediss://u:p@cache:6380/0", addr: "cache:6380"},
		{url: "redis+cluster://10.0.0.1:7000?addr=10.0.0.2:7000&addr=10.0.0.3:7000",
			cluster: []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"}},
		{url: "rediss+cluster://u:p@10.0.0.1:7000", cluster: []string{"10.0.0.1:7000"}},
		{url: "redis+cluster://10.0.0.1:7000?nosuch=1", bad: true},
		{url: "http://nope", bad: true},
	} {
		t.Run(tc.url, func(t *testing.T) {
			c, err := app.NewRedisClient(tc.url)
			if tc.bad {
				require.ErrorIs(t, err, app.ErrConfig, "a bad REDIS_URL is a configuration error")
				return
			}
			require.NoError(t, err)
			defer c.Close()
			if tc.cluster != nil {
				cc, ok := c.(*redis.ClusterClient)
				require.True(t, ok, "the cluster form gives a cluster client")
				assert.Equal(t, tc.cluster, cc.Options().Addrs, "every seed node")
				assert.True(t, cc.Options().ContextTimeoutEnabled, "calls honour their deadlines")
				return
			}
			sc, ok := c.(*redis.Client)
			require.True(t, ok, "the plain form gives a one-server client")
			assert.Equal(t, tc.addr, sc.Options().Addr)
			assert.True(t, sc.Options().ContextTimeoutEnabled, "calls honour their deadlines")
		})
	}
}

// TestRedisOptionalAtStart (issue 27, audit item 8): with REDIS_URL
// pointing where no Redis listens, the service starts anyway, degraded:
// readiness says redis "down", and every route is served from its
// fallbacks. Once a Redis answers there (one the test starts itself, after
// the service, and stops by its PID at cleanup), readiness says ready and
// the cache and rate limits use it again, without a restart.
func TestRedisOptionalAtStart(t *testing.T) {
	port := testdb.FreePort(t)
	logs := &logBuffer{}
	prefix := "svckit-start-" + testdb.Suffix() + ":"
	s := serve(t, func(c *app.Config) {
		c.RedisURL = fmt.Sprintf("redis://127.0.0.1:%d/0", port)
		c.RedisPrefix = prefix
		c.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	})
	readiness := func() app.Readiness {
		var body struct{ Data app.Readiness }
		r := s.expect(t, req{Method: "GET", Path: "/readyz"}, 200, "")
		require.NoError(t, json.Unmarshal(r.Raw, &body), "readiness: %s", r.Raw)
		return body.Data
	}
	ready := readiness()
	assert.Equal(t, "degraded", ready.Status, "degraded without Redis")
	assert.Equal(t, "down", ready.Checks["redis"], "redis down")
	var warned bool
	for _, l := range logs.lines() {
		warned = warned || (l["level"] == "WARN" && strings.Contains(fmt.Sprint(l["msg"]), "redis"))
	}
	assert.True(t, warned, "the start without Redis is logged")

	u, token := s.newUser(t, "early")
	s.expect(t, req{Method: "GET", Path: "/v1/users/" + u.ID, Token: token}, 200, "")
	s.newAccount(t, token, "EUR", 100)

	srv := testdb.StartRedisAt(t, port) // killed by its PID at cleanup
	direct := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { direct.Close() })
	require.Eventually(t, func() bool {
		r := readiness()
		return r.Status == "ready" && r.Checks["redis"] == "ok"
	}, 10*time.Second, 20*time.Millisecond, "ready once Redis answers")
	require.Eventually(t, func() bool {
		s.expect(t, req{Method: "GET", Path: "/v1/users/" + u.ID, Token: token}, 200, "")
		keys, err := direct.Keys(context.Background(), prefix+"*").Result()
		return err == nil && len(keys) > 0
	}, 10*time.Second, 20*time.Millisecond, "requests use Redis again (cache entries and rate-limit keys under %s)", prefix)
}
