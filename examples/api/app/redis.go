package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
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

// RouteRedisLogs sends go-redis's own log lines (a dial that keeps
// failing, a connection it drops) to l, as WARN records with the message
// "redis client" and the line in "detail", instead of go-redis's default
// standard logger on stderr, so that they carry the service's format and
// its trace ids. While Redis is down go-redis writes a line per failed
// dial, several a second: at most one record per redisLogEvery goes out,
// with the number of lines left out since the last in "suppressed".
// go-redis has one logger per process: call it once, before New, as main
// does; tests leave it alone.
func RouteRedisLogs(l *slog.Logger) { redis.SetLogger(newRedisLog(l)) }

// redisLogEvery is the least time between two records of go-redis lines.
const redisLogEvery = 10 * time.Second

// redisLog is go-redis's logger interface over a *slog.Logger, thinned
// to one record per every. It is safe for concurrent use.
type redisLog struct {
	l     *slog.Logger
	every time.Duration
	now   func() time.Time

	mu         sync.Mutex
	next       time.Time // no record before then
	suppressed int       // lines left out since the last record
}

func newRedisLog(l *slog.Logger) *redisLog {
	return &redisLog{l: l, every: redisLogEvery, now: time.Now}
}

// Printf logs one go-redis line, unless a record went out less than every
// ago.
func (r *redisLog) Printf(ctx context.Context, format string, v ...any) {
	now := r.now()
	r.mu.Lock()
	if now.Before(r.next) {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	suppressed := r.suppressed
	r.next, r.suppressed = now.Add(r.every), 0
	r.mu.Unlock()
	attrs := []any{"detail", strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	r.l.WarnContext(ctx, "redis client", attrs...)
}
