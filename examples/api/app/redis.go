package app

import (
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisTimeout bounds a Redis dial, read, write or wait for a pooled
// connection when REDIS_URL does not say otherwise.
const redisTimeout = 500 * time.Millisecond

// NewRedisClient returns a client for REDIS_URL:
//
//	redis://[user:pass@]host:port/db          one server (go-redis's ParseURL)
//	redis+cluster://host:port?addr=host:port&addr=host:port
//	                                          a Redis Cluster (go-redis's ParseClusterURL;
//	                                          any one node is enough, the others are found)
//
// with rediss and rediss+cluster for TLS. Every call honours its context's
// deadline (ContextTimeoutEnabled), which svckit's Redis stores set per
// call; the client's own timeouts, 500 ms unless the URL sets them, are a
// backstop.
func NewRedisClient(raw string) (redis.UniversalClient, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if ok && (scheme == "redis+cluster" || scheme == "rediss+cluster") {
		opts, err := redis.ParseClusterURL(strings.TrimSuffix(scheme, "+cluster") + "://" + rest)
		if err != nil {
			return nil, fmt.Errorf("%w: REDIS_URL: %w", ErrConfig, err)
		}
		opts.ContextTimeoutEnabled = true
		backstop(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.PoolTimeout)
		return redis.NewClusterClient(opts), nil
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: REDIS_URL: %w", ErrConfig, err)
	}
	opts.ContextTimeoutEnabled = true
	backstop(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.PoolTimeout)
	return redis.NewClient(opts), nil
}

// backstop sets each unset timeout to redisTimeout.
func backstop(ds ...*time.Duration) {
	for _, d := range ds {
		if *d == 0 {
			*d = redisTimeout
		}
	}
}
