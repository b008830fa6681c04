// Package redisstore is a ratelimit.Store in Redis, so that every instance of
// a service spends from one shared budget per key:
//
//	store := redisstore.New(client, redisstore.Options{ // any redis.UniversalClient
//		Prefix:   "myapp:rl:",
//		Fallback: ratelimit.NewMemory(ratelimit.MemoryOptions{}), // while Redis is down
//	})
//	logins := ratelimit.New(ratelimit.PerMinute(5), store)
//
// Each decision is one atomic Lua script (EVALSHA, falling back to EVAL once
// when the server does not know the script yet): one round trip. The script
// reads the clock of the Redis server (TIME), so instances with skewed clocks
// still agree, and it sets each key's expiry to the moment it is back at its
// full burst, so idle keys disappear by themselves.
//
// Every decision has its own deadline (Options.Timeout, 50 ms by default),
// whatever the caller's context says, and the Store sits behind a circuit
// breaker: after five failed decisions in a row, or within a second (at
// least half of those made), it stops asking Redis for 500 ms, then lets
// one probe through, and closes again when the probe succeeds. While Redis fails, hangs
// or the breaker is open, the Fallback decides (fail open to a per-instance
// limit), or, without one, the event is denied (fail closed). On Redis
// Cluster the breaker is one per master, so while one master is down the
// keys on the others are decided by Redis as before (given
// cluster-require-full-coverage no on the servers). The deadline
// needs a client with ContextTimeoutEnabled (the Store logs a warning when
// it sees a client without it).
//
// Each key is one Redis key, the prefix and the digest of the limiter's key:
//
//	<Prefix><43 bytes: unpadded base64url SHA-256 of the key>
//	ratelimit:T6eUI-8vx94X7n0m4zc7HQ3-k7mcjybSM00cdME-r4s   (the key "ip:192.0.2.1")
//
// So a key of any length costs Redis one bounded key, an email in a key is
// not written in clear, and a hash tag in a key ("{x}kate@example.com")
// does not gather the keys of many clients on one slot: the Store works
// unchanged on Redis Cluster and its keys spread over every shard. Give
// the prefix no hash tag. (Before this layout the key was stored as it
// was: budgets kept under it are not read any more, and start afresh.)
package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"

	"github.com/svckit/svckit/internal/keyhash"
	"github.com/svckit/svckit/internal/opt"
	"github.com/svckit/svckit/internal/redisguard"
	"github.com/svckit/svckit/ratelimit"
)

// gcraScript takes one GCRA decision in microseconds of server time.
// KEYS[1]: the key. ARGV: period (µs), rate, burst.
// Returns {allowed (0|1), remaining, retry after (µs), reset after (µs)}.
// Redis before 5 needs effect replication to write after TIME; later
// versions replicate effects anyway.
const gcraScript = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = math.floor(tonumber(ARGV[1]) / tonumber(ARGV[2]))
if interval < 1 then interval = 1 end
local tolerance = interval * tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - tolerance
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((now - allow_at) / interval), 0, new_tat - now}
`

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Prefix is put before every key. Zero means "ratelimit:". Give each
	// limiter sharing a Redis database its own prefix.
	Prefix string
	// Fallback takes the decisions while Redis cannot be reached, typically
	// a ratelimit.Memory, so each instance keeps limiting on its own.
	// Nil means fail closed: Allow returns an error wrapping
	// ratelimit.ErrUnavailable and the event is denied.
	Fallback ratelimit.Store
	// Logger receives one warning when Redis becomes unreachable and one
	// notice when it answers again, never one line per request. Nil means
	// no logging.
	Logger *slog.Logger
	// Timeout bounds each decision's call to Redis, also when the caller's
	// context has no deadline. Zero means DefaultTimeout.
	Timeout time.Duration
	// MeterProvider receives MetricFailures. Nil means otel's global
	// provider.
	MeterProvider metric.MeterProvider
}

// DefaultTimeout is the deadline of one decision's Redis call: a rate
// limit is worth a few milliseconds of a request, not seconds.
const DefaultTimeout = 50 * time.Millisecond

// Store is a ratelimit.Store in Redis. It is safe for concurrent use. It does
// not own the client: close the client, not the Store.
type Store struct {
	client   redis.UniversalClient
	script   *redis.Script
	prefix   string
	fallback ratelimit.Store
	guard    *redisguard.Guard
	failures failureCounts
}

var _ ratelimit.Store = (*Store)(nil)

// New returns a Store that runs its script on client: a *redis.Client,
// *redis.ClusterClient, a Sentinel-backed client or any other
// redis.UniversalClient. It panics on a nil client.
func New(client redis.UniversalClient, opts Options) *Store {
	if client == nil {
		panic("redisstore: nil client")
	}
	s := &Store{
		client:   client,
		script:   redis.NewScript(gcraScript),
		prefix:   opts.Prefix,
		fallback: opts.Fallback,
		failures: newFailureCounts(opts.MeterProvider),
	}
	if s.prefix == "" {
		s.prefix = "ratelimit:"
	}
	mode := "denying every event"
	if s.fallback != nil {
		mode = "limiting per instance"
	}
	s.guard = redisguard.New(client, redisguard.Options{Name: "ratelimit/redisstore", Timeout: opt.PositiveOr(opts.Timeout, DefaultTimeout),
		Fallback: mode, Logger: opts.Logger})
	return s
}

// Allow implements ratelimit.Store with one script call. When Redis fails,
// does not answer within the Timeout, or the breaker is open, it counts the
// error and asks the Fallback store, or, without one, returns an error
// wrapping ratelimit.ErrUnavailable. A cancelled ctx is returned as is and
// does not count as Redis being down.
func (s *Store) Allow(ctx context.Context, key string, limit ratelimit.Limit) (ratelimit.Result, error) {
	rkey := s.prefix + keyhash.Sum(key)
	cctx, call, err := s.guard.BeginKey(ctx, rkey, s.guard.Timeout())
	if err != nil {
		return s.failed(ctx, key, limit, err)
	}
	vals, err := s.script.Run(cctx, s.client, []string{rkey},
		limit.Period.Microseconds(), limit.Rate, limit.BurstSize()).Int64Slice()
	s.guard.End(ctx, call, err)
	if err == nil && len(vals) != 4 {
		err = fmt.Errorf("redisstore: script returned %d values", len(vals))
	}
	if err != nil {
		if ctx.Err() != nil {
			return ratelimit.Result{}, ctx.Err()
		}
		return s.failed(ctx, key, limit, err)
	}
	return ratelimit.Result{
		Allowed:    vals[0] == 1,
		Remaining:  int(vals[1]),
		RetryAfter: time.Duration(vals[2]) * time.Microsecond,
		ResetAfter: time.Duration(vals[3]) * time.Microsecond,
	}, nil
}

func (s *Store) failed(ctx context.Context, key string, limit ratelimit.Limit, err error) (ratelimit.Result, error) {
	s.guard.Fallback()
	if s.fallback != nil {
		s.failures.fallback.Inc(ctx)
		return s.fallback.Allow(ctx, key, limit)
	}
	s.failures.unavailable.Inc(ctx)
	return ratelimit.Result{}, fmt.Errorf("%w: %w", ratelimit.ErrUnavailable, err)
}

// Errors returns how many decisions were not taken by Redis since the Store
// was created: it failed, timed out, or the breaker was open.
func (s *Store) Errors() uint64 { return s.guard.Fallbacks() }
