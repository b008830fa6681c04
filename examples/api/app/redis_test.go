package app_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
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
